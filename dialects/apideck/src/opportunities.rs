//! `/crm/opportunities`: the shared model's `Deal`. `monetary_amount` is a number in the
//! currency's major units (the spec types it as a number), kept as minor units; the status
//! (`open`, `won`, `lost`) follows the deal's stage, as the domain decides it.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use kith_domain::model::{CustomFieldDefinition, Deal};
use kith_domain::money;
use kith_domain::query::{Dir, Filter, Op};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{self, ListParams, ListSpec, by, filter_id};
use crate::shapes;
use crate::wire::{ApiError, ApiResult, envelope, id, opt_id, path_id, time};

const SPEC: ListSpec = ListSpec {
    resource: "opportunities",
    filters: &["title", "status", "monetary_amount", "win_probability", "company_id", "owner_id", "primary_contact_id"],
    sorts: &["created_at", "updated_at", "title", "win_probability", "monetary_amount", "status"],
};

pub fn routes() -> Routes {
    Routes::new()
        .route("/opportunities", get(list).post(create))
        .route("/opportunities/{id}", get(one).patch(update).delete(delete))
}

/// The model's deal status as Apideck writes it.
fn wire_status(status: &str) -> &str {
    match status {
        "pending" => "open",
        other => other,
    }
}

fn model_status(status: &str) -> Option<&'static str> {
    match status.to_ascii_lowercase().as_str() {
        "open" | "pending" => Some("pending"),
        "won" => Some("won"),
        "lost" => Some("lost"),
        _ => None,
    }
}

pub fn render(d: &Deal, defs: &[CustomFieldDefinition]) -> Value {
    json!({
        "id": id(d.id),
        "title": d.name,
        "primary_contact_id": opt_id(d.contact_id),
        "contact_id": opt_id(d.contact_id),
        "company_id": opt_id(d.company_id),
        "owner_id": id(d.owner_id),
        "description": d.description,
        "monetary_amount": d.value_minor.map(|m| money::to_major(m, &d.currency)),
        "currency": d.currency,
        "win_probability": d.win_likelihood,
        "close_date": d.expected_close_date,
        "loss_reason_id": opt_id(d.loss_reason_id),
        "pipeline_id": opt_id(d.pipeline_id),
        "pipeline_stage_id": opt_id(d.stage_id),
        "source_id": opt_id(d.source_id),
        "status": wire_status(&d.status),
        "tags": d.tags.0,
        "custom_fields": shapes::custom_fields(&d.custom_fields.0, defs),
        "stage_last_changed_at": d.last_stage_change_at.map(time),
        "updated_at": time(d.updated_at),
        "created_at": time(d.created_at),
    })
}

fn filter(p: &ListParams) -> ApiResult<Option<Filter>> {
    let mut all = Vec::new();
    for (name, value) in &p.filters {
        if value.is_empty() {
            continue;
        }
        let number =
            || value.parse::<f64>().map_err(|_| ApiError::field(&format!("filter[{name}]"), "must be a number"));
        all.push(match name.as_str() {
            "title" => Filter::cmp("name", Op::Contains, value.as_str()),
            "status" => match model_status(value) {
                Some(s) => Filter::eq("status", s),
                None => return Err(ApiError::field("filter[status]", "must be open, won or lost")),
            },
            // Amounts compare in minor units of a two-decimal currency.
            "monetary_amount" => match money::from_major(number()?, "USD") {
                Some(m) => Filter::eq("value_minor", m),
                None => return Err(ApiError::field("filter[monetary_amount]", "is out of range")),
            },
            "win_probability" => Filter::eq("win_likelihood", number()?.round() as i64),
            "company_id" => Filter::eq("company_id", filter_id(name, value)?),
            "owner_id" => Filter::eq("owner_id", filter_id(name, value)?),
            "primary_contact_id" => Filter::eq("contact_id", filter_id(name, value)?),
            _ => continue,
        });
    }
    Ok((!all.is_empty()).then_some(Filter::All(all)))
}

async fn list(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = ListParams::parse(q.as_deref(), &SPEC)?;
    let (name, dir) = p.sort.unwrap_or(("created_at", Dir::Asc));
    let column = match name {
        "title" => "name",
        "win_probability" => "win_likelihood",
        "monetary_amount" => "value_minor",
        other => other,
    };
    let mut query = p.query(&st, actor, SPEC.resource, vec![by(column, dir)]).await?;
    query.filter = filter(&p)?;
    let page = st.crm.list::<Deal>(actor, &query).await?;
    let previous = p.previous::<Deal>(&st, actor, &query).await?;
    let defs = st.crm.custom_fields(actor, "deal").await?;
    let rows = page.rows.iter().map(|d| render(d, &defs)).collect();
    params::answer(&st, actor, &headers, &p, SPEC.resource, rows, (page.next, previous)).await
}

async fn one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let deal = st.crm.get::<Deal>(actor, path_id(&raw, "opportunity")?).await?;
    let defs = st.crm.custom_fields(actor, "deal").await?;
    let data = params::sparse(render(&deal, &defs), c.fields.as_deref());
    Ok(envelope(StatusCode::OK, SPEC.resource, "one", data, c.raw))
}

/// Applies a body to a deal; the primary contact it names (a person, or else the company), if any.
fn apply(b: &mut shapes::Body_, defs: &[CustomFieldDefinition], d: &mut Deal) -> Option<i64> {
    if let Some(v) = b.text("title", 255) {
        d.name = v.unwrap_or_default();
    }
    if let Some(v) = b.text("description", 10_000) {
        d.description = v;
    }
    if let Some(Some(v)) = b.text("currency", 3) {
        d.currency = v;
    }
    if let Some(amount) = b.number("monetary_amount") {
        match amount.map(|a| money::from_major(a, &d.currency)) {
            None => d.value_minor = None,
            Some(Some(m)) => d.value_minor = Some(m),
            Some(None) => b.error("monetary_amount", "is out of range"),
        }
    }
    if let Some(w) = b.number("win_probability") {
        d.win_likelihood = w.map(|w| w.round() as i64);
    }
    if let Some(v) = b.date("close_date") {
        d.expected_close_date = v;
    }
    if let Some(Some(owner)) = b.id("owner_id") {
        d.owner_id = owner;
    }
    if let Some(v) = b.id("pipeline_stage_id") {
        d.stage_id = v;
    }
    if let Some(v) = b.id("loss_reason_id") {
        d.loss_reason_id = v;
    }
    if let Some(v) = b.id("source_id") {
        d.source_id = v;
    }
    if let Some(v) = shapes::tags(b) {
        d.tags = kith_domain::query::Json(v);
    }
    if let Some(values) = shapes::custom_values(b, defs) {
        for (k, v) in values {
            let Some(def) = defs.iter().find(|def| def.id == k) else { continue };
            // The domain types each value by its definition.
            match kith_domain::custom_fields::coerce(def, &v) {
                Ok(Some(v)) => {
                    d.custom_fields.0.insert(k.to_string(), v);
                }
                Ok(None) => {
                    d.custom_fields.0.remove(&k.to_string());
                }
                Err(m) => b.error(format!("custom_fields.{}", def.name), m),
            }
        }
    }
    let contact = b.id("primary_contact_id").flatten();
    let company = b.id("company_id").flatten();
    contact.or(company)
}

async fn create(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> axum::response::Response {
    params::idempotent_create(&st, actor, &headers, SPEC.resource, body, async |body| add(&st, actor, q, body).await)
        .await
}

async fn add(st: &AppState, actor: kith_domain::Actor, q: Option<String>, body: Body) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let mut b = shapes::read(st, body).await?;
    let defs = st.crm.custom_fields(actor, "deal").await?;
    let mut deal = Deal::new_by(actor);
    let primary = apply(&mut b, &defs, &mut deal);
    if primary.is_none() {
        b.error("primary_contact_id", "is required (or company_id)");
    }
    b.finish()?;
    let deal = st.crm.create_deal_record(actor, deal, primary.unwrap_or_default()).await?;
    Ok(envelope(StatusCode::CREATED, SPEC.resource, "add", json!({ "id": id(deal.id) }), c.raw))
}

async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let mut deal = st.crm.get::<Deal>(actor, path_id(&raw, "opportunity")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let defs = st.crm.custom_fields(actor, "deal").await?;
    let primary = apply(&mut b, &defs, &mut deal);
    b.finish()?;
    let deal = st.crm.update_deal_record(actor, deal, primary).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "update", json!({ "id": id(deal.id) }), c.raw))
}

async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let deal_id = path_id(&raw, "opportunity")?;
    st.crm.delete_deal(actor, deal_id).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "delete", json!({ "id": id(deal_id) }), c.raw))
}
