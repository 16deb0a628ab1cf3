//! `/deals` and `/deals/{id}/associated_contacts`. A deal's primary contact (`contact_id`) is a
//! person or an organisation; `organization_id` is the person's organisation, or the
//! organisation itself. The stage decides the status (see `kith_domain::deals`). `value` is an
//! exact decimal string.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{self, get};
use chrono::{DateTime, NaiveDate, Utc};
use kith_domain::deals::DEAL_RECORD_NAME_MAX;
use kith_domain::model::{CustomFieldDefinition, Deal, DealContact};
use kith_domain::money::{from_major, parse_decimal, to_decimal};
use kith_domain::query::{Field, Filter, Json, Sort};
use kith_domain::{Actor, DomainError};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::contacts::{read_custom, render_custom};
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::wire::{ApiError, ApiResult, collection, one, time};

pub fn routes() -> Routes {
    Routes::new()
        .route("/deals", get(list).post(create))
        .route("/deals/{id}", get(get_one).put(update).delete(delete))
        .route("/deals/{id}/associated_contacts", get(list_associated).post(associate))
        .route("/deals/{id}/associated_contacts/{contact_id}", routing::delete(dissociate))
}

fn render(d: &Deal, defs: &[CustomFieldDefinition]) -> Value {
    json!({
        "id": d.id,
        "creator_id": d.author_id.unwrap_or(d.owner_id),
        "owner_id": d.owner_id,
        "name": d.name,
        "value": to_decimal(d.value_minor.unwrap_or(0), &d.currency),
        "currency": d.currency,
        "hot": d.hot,
        "stage_id": d.stage_id,
        "last_stage_change_at": d.last_stage_change_at.map(time),
        "last_stage_change_by_id": d.last_stage_change_by_id,
        "last_activity_at": time(d.updated_at),
        "source_id": d.source_id,
        "loss_reason_id": d.loss_reason_id,
        "unqualified_reason_id": d.unqualified_reason_id,
        // Kith receives no mail, so a deal has no dropbox address.
        "dropbox_email": null,
        "contact_id": d.contact_id.or(d.company_id),
        "organization_id": d.company_id,
        "estimated_close_date": d.expected_close_date,
        "customized_win_likelihood": d.win_likelihood,
        "tags": d.tags.0,
        "custom_fields": render_custom(&d.custom_fields.0, defs),
        "created_at": time(d.created_at),
        "updated_at": time(d.updated_at),
        "added_at": time(d.added_at.unwrap_or(d.created_at)),
    })
}

/// The domain's names for deal fields, as Sell calls them.
fn sell_field(model: &str) -> &str {
    match model {
        "win_likelihood" => "customized_win_likelihood",
        "expected_close_date" => "estimated_close_date",
        other => other,
    }
}

fn domain_error(e: DomainError) -> ApiError {
    match e {
        DomainError::Invalid(mut fields) => {
            for f in &mut fields {
                f.field = sell_field(&f.field).to_owned();
            }
            ApiError::invalid(fields)
        }
        other => other.into(),
    }
}

/// An ISO 8601 time; `Some(None)` when null.
fn read_time(data: &mut Data, key: &str) -> Option<Option<DateTime<Utc>>> {
    match data.raw(key)? {
        Value::Null => Some(None),
        Value::String(s) => match DateTime::parse_from_rfc3339(s.trim()) {
            Ok(t) => Some(Some(t.with_timezone(&Utc))),
            Err(_) => {
                data.error(key, "must be an ISO 8601 date and time");
                None
            }
        },
        _ => {
            data.error(key, "must be an ISO 8601 date and time");
            None
        }
    }
}

/// A calendar date (`2014-09-27`, or the date of an ISO 8601 time); `Some(None)` when null.
fn read_date(data: &mut Data, key: &str) -> Option<Option<String>> {
    let parsed = match data.raw(key)? {
        Value::Null => return Some(None),
        Value::String(s) if s.trim().is_empty() => return Some(None),
        Value::String(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .ok()
            .or_else(|| DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| t.date_naive())),
        _ => None,
    };
    match parsed {
        Some(d) => Some(Some(d.format("%Y-%m-%d").to_string())),
        None => {
            data.error(key, "must be a date (YYYY-MM-DD)");
            None
        }
    }
}

/// An integer; `Some(None)` when null.
fn read_int(data: &mut Data, key: &str) -> Option<Option<i64>> {
    match data.raw(key)? {
        Value::Null => Some(None),
        Value::Number(n) if n.as_i64().is_some() => Some(n.as_i64()),
        Value::String(s) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok().map(Some),
        _ => {
            data.error(key, "must be an integer");
            None
        }
    }
}

/// `value` in minor units of `currency`: a decimal string or a number (null is 0).
fn read_value(data: &mut Data, currency: &str) -> Option<i64> {
    let parsed = match data.raw("value")? {
        Value::Null => Some(0),
        Value::String(s) => parse_decimal(s, currency),
        Value::Number(n) => parse_decimal(&n.to_string(), currency).or_else(|| from_major(n.as_f64()?, currency)),
        _ => None,
    };
    if parsed.is_none() {
        data.error("value", "must be a decimal number");
    }
    parsed
}

/// A required id: `Some` when sent as an id, an error when sent as null.
fn required_id(data: &mut Data, key: &str) -> Option<i64> {
    match data.id(key)? {
        Some(id) => Some(id),
        None => {
            data.error(key, "can't be blank");
            None
        }
    }
}

/// Applies the attributes sent to `deal`; returns the primary contact when a different one is sent.
fn apply(data: &mut Data, defs: &[CustomFieldDefinition], deal: &mut Deal) -> Option<i64> {
    if let Some(v) = data.text("name", DEAL_RECORD_NAME_MAX) {
        match v {
            Some(name) => deal.name = name,
            None => data.error("name", "can't be blank"),
        }
    }
    let primary = required_id(data, "contact_id").filter(|id| Some(*id) != deal.contact_id.or(deal.company_id));
    if let Some(owner) = required_id(data, "owner_id") {
        deal.owner_id = owner;
    }
    let old_currency = deal.currency.clone();
    if let Some(v) = data.text("currency", 16) {
        match v {
            Some(c) => deal.currency = c.to_ascii_uppercase(),
            None => data.error("currency", "can't be blank"),
        }
    }
    if data.has("value") {
        if let Some(v) = read_value(data, &deal.currency) {
            deal.value_minor = Some(v);
        }
    } else if deal.currency != old_currency {
        // The same amount in the new currency's minor units.
        let amount = to_decimal(deal.value_minor.unwrap_or(0), &old_currency);
        deal.value_minor = parse_decimal(&amount, &deal.currency);
    }
    if let Some(hot) = data.boolean("hot") {
        deal.hot = hot;
    }
    for (key, slot) in [
        ("stage_id", &mut deal.stage_id),
        ("source_id", &mut deal.source_id),
        ("loss_reason_id", &mut deal.loss_reason_id),
        ("unqualified_reason_id", &mut deal.unqualified_reason_id),
    ] {
        if let Some(v) = data.id(key) {
            *slot = v;
        }
    }
    // Times come back at whole seconds: one equal to the stored time as rendered is no change.
    if let Some(Some(t)) = read_time(data, "last_stage_change_at")
        && deal.last_stage_change_at.map(time) != Some(time(t))
    {
        deal.last_stage_change_at = Some(t);
    }
    for key in ["added_at", "added_on"] {
        match read_time(data, key) {
            Some(Some(t)) if time(t) != time(deal.added_at.unwrap_or(deal.created_at)) => deal.added_at = Some(t),
            Some(None) => deal.added_at = None,
            _ => {}
        }
    }
    if let Some(v) = read_date(data, "estimated_close_date") {
        deal.expected_close_date = v;
    }
    if let Some(v) = read_int(data, "customized_win_likelihood") {
        deal.win_likelihood = v;
    }
    if let Some(tags) = data.tags("tags") {
        deal.tags = Json(tags);
    }
    read_custom(data, defs, &mut deal.custom_fields.0);
    primary
}

pub async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    let defs = st.crm.custom_fields(actor, "deal").await?;
    for key in ["name", "contact_id"] {
        if !data.has(key) {
            data.error(key, "can't be blank");
        }
    }
    let mut deal = Deal::new_by(actor);
    let primary = apply(&mut data, &defs, &mut deal);
    data.finish()?;
    let primary = primary.ok_or_else(|| ApiError::validation("contact_id", "can't be blank"))?;
    let deal = st.crm.create_deal_record(actor, deal, primary).await.map_err(domain_error)?;
    Ok(one(StatusCode::OK, "deal", render(&deal, &defs)))
}

pub async fn get_one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let deal = st.crm.get::<Deal>(actor, path_id(&id, "deal")?).await?;
    let defs = st.crm.custom_fields(actor, "deal").await?;
    Ok(one(StatusCode::OK, "deal", render(&deal, &defs)))
}

/// `PUT`: changes only the attributes sent; `tags` replaces the whole set.
pub async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let mut deal = st.crm.get::<Deal>(actor, path_id(&id, "deal")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let defs = st.crm.custom_fields(actor, "deal").await?;
    let primary = apply(&mut data, &defs, &mut deal);
    data.finish()?;
    let deal = st.crm.update_deal_record(actor, deal, primary).await.map_err(domain_error)?;
    Ok(one(StatusCode::OK, "deal", render(&deal, &defs)))
}

/// `DELETE`: the deal and its associated contacts.
pub async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    st.crm.delete_deal(actor, path_id(&id, "deal")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /deals`: filters `ids`, `contact_id` (the primary contact), `creator_id`, `hot`,
/// `organization_id`, `owner_id`, `source_id`, `stage_id`, `estimated_close_date`,
/// `custom_fields[NAME]`; `sort_by` `id`, `name`, `value`, `created_at`, `updated_at`,
/// `estimated_close_date`, `last_stage_change_at`, `custom_fields:NAME`.
pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(
        raw.as_deref(),
        &[
            "contact_id",
            "creator_id",
            "hot",
            "organization_id",
            "owner_id",
            "source_id",
            "stage_id",
            "estimated_close_date",
            "custom_fields[]",
        ],
    )?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    for (key, column) in [
        ("creator_id", "author_id"),
        ("owner_id", "owner_id"),
        ("organization_id", "company_id"),
        ("source_id", "source_id"),
        ("stage_id", "stage_id"),
    ] {
        if let Some(v) = params.int(key)? {
            q = q.filter(Filter::eq(column, v));
        }
    }
    if let Some(id) = params.int("contact_id")? {
        // A person, or an organisation that is the primary contact itself.
        q = q.filter(Filter::Any(vec![
            Filter::eq("contact_id", id),
            Filter::All(vec![Filter::IsNull(Field::col("contact_id")), Filter::eq("company_id", id)]),
        ]));
    }
    if let Some(hot) = params.flag("hot")? {
        q = q.filter(Filter::eq("hot", hot));
    }
    if let Some(date) = params.get("estimated_close_date").filter(|s| !s.is_empty()) {
        if NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
            return Err(ApiError::bad_request("estimated_close_date must be a date (YYYY-MM-DD)"));
        }
        q = q.filter(Filter::eq("expected_close_date", date));
    }
    let defs = st.crm.custom_fields(actor, "deal").await?;
    q = params.with_custom_filters(q, &defs, "deal")?;
    let sort = params.sort(
        &[
            ("id", "id"),
            ("name", "name"),
            ("value", "value_minor"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
            ("estimated_close_date", "expected_close_date"),
            ("last_stage_change_at", "last_stage_change_at"),
        ],
        crate::params::custom_sort(&defs),
    )?;
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("id")));
    let mut rows = st.crm.list::<Deal>(actor, &q).await?.rows;
    let links = paging.links("/v2/deals", &mut rows);
    Ok(collection("deal", rows.iter().map(|d| render(d, &defs)).collect(), links))
}

fn render_associated(l: &DealContact) -> Value {
    json!({
        "contact_id": l.contact_id,
        "role": l.role,
        "created_at": time(l.created_at),
        "updated_at": time(l.updated_at),
    })
}

/// `GET /deals/{id}/associated_contacts`, oldest first.
pub async fn list_associated(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let deal_id = path_id(&id, "deal")?;
    let paging = Params::list(raw.as_deref(), &[])?.paging()?;
    let mut rows = st.crm.deal_contacts(actor, deal_id, paging.query()).await?;
    let links = paging.links(&format!("/v2/deals/{deal_id}/associated_contacts"), &mut rows);
    Ok(collection("associated_contact", rows.iter().map(render_associated).collect(), links))
}

/// `POST /deals/{id}/associated_contacts`: `contact_id` (a person or an organisation) and `role`
/// (`involved`, the default).
pub async fn associate(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let deal = st.crm.get::<Deal>(actor, path_id(&id, "deal")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    if !data.has("contact_id") {
        data.error("contact_id", "can't be blank");
    }
    let contact_id = required_id(&mut data, "contact_id");
    let role = data.text("role", 255).flatten();
    data.finish()?;
    let contact_id = contact_id.ok_or_else(|| ApiError::validation("contact_id", "can't be blank"))?;
    let link = st.crm.add_deal_contact(actor, deal.id, contact_id, role.as_deref()).await?;
    Ok(one(StatusCode::OK, "associated_contact", render_associated(&link)))
}

/// `DELETE /deals/{id}/associated_contacts/{contact_id}`.
pub async fn dissociate(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((id, contact_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let deal_id = path_id(&id, "deal")?;
    let contact_id = path_id(&contact_id, "associated contact")?;
    st.crm.remove_deal_contact(actor, deal_id, contact_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A live deal as the Sync API sends it.
pub(crate) async fn sync_record(
    st: &AppState,
    actor: Actor,
    id: i64,
) -> ApiResult<Option<(&'static str, serde_json::Value)>> {
    let Some(deal) = st.crm.find::<Deal>(actor, id).await? else { return Ok(None) };
    let defs = st.crm.custom_fields(actor, "deal").await?;
    Ok(Some(("deal", render(&deal, &defs))))
}

/// A live deal association as the Sync API sends it (with its deal's id).
pub(crate) async fn sync_associated_contact(
    st: &AppState,
    actor: Actor,
    id: i64,
) -> ApiResult<Option<(&'static str, serde_json::Value)>> {
    let Some(link) = st.crm.find::<DealContact>(actor, id).await? else { return Ok(None) };
    let mut data = render_associated(&link);
    data["deal_id"] = json!(link.deal_id);
    Ok(Some(("associated_contact", data)))
}
