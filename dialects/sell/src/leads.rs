//! `/leads`: prospects not yet qualified into contacts and deals. A lead is a person
//! (`last_name`) or an organisation (`organization_name`); one of the two is required.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::Actor;
use kith_domain::companies::COMPANY_NAME_MAX;
use kith_domain::leads::{LEAD_DESCRIPTION_MAX, LEAD_TEXT_MAX, LEAD_WEBSITE_MAX, LeadDraft};
use kith_domain::model::{CustomFieldDefinition, Lead};
use kith_domain::query::{Filter, Op, Sort};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::contacts::{read_address, read_custom, render_address, render_custom};
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::wire::{ApiResult, collection, one, time};

fn render(l: &Lead, defs: &[CustomFieldDefinition]) -> Value {
    json!({
        "id": l.id,
        "creator_id": l.owner_id,
        "owner_id": l.owner_id,
        "first_name": l.first_name,
        "last_name": l.last_name,
        "organization_name": l.organization_name,
        "status": l.status,
        "source_id": l.source_id,
        "unqualified_reason_id": l.unqualified_reason_id,
        "title": l.title,
        "description": l.description,
        "industry": l.industry,
        "website": l.website,
        "email": l.email,
        "phone": l.phone,
        "mobile": l.mobile,
        "fax": l.fax,
        "twitter": l.twitter,
        "facebook": l.facebook,
        "linkedin": l.linkedin,
        "skype": l.skype,
        "address": render_address(l.address.0.as_ref()),
        "tags": l.tags.0,
        "custom_fields": render_custom(&l.custom_fields.0, defs),
        "created_at": time(l.created_at),
        "updated_at": time(l.updated_at),
    })
}

/// Applies the attributes sent to a lead's draft; `current` holds its stored custom values (by
/// definition id), over which `custom_fields` (by name) is read.
fn apply(data: &mut Data, defs: &[CustomFieldDefinition], current: &BTreeMap<String, Value>, d: &mut LeadDraft) {
    for (key, slot) in [
        ("first_name", &mut d.first_name),
        ("last_name", &mut d.last_name),
        ("status", &mut d.status),
        ("title", &mut d.title),
        ("industry", &mut d.industry),
        ("email", &mut d.email),
        ("phone", &mut d.phone),
        ("mobile", &mut d.mobile),
        ("fax", &mut d.fax),
        ("twitter", &mut d.twitter),
        ("facebook", &mut d.facebook),
        ("linkedin", &mut d.linkedin),
        ("skype", &mut d.skype),
    ] {
        if let Some(v) = data.text(key, LEAD_TEXT_MAX) {
            *slot = v;
        }
    }
    if let Some(v) = data.text("organization_name", COMPANY_NAME_MAX) {
        d.organization_name = v;
    }
    if let Some(v) = data.text("description", LEAD_DESCRIPTION_MAX) {
        d.description = v;
    }
    if let Some(v) = data.text("website", LEAD_WEBSITE_MAX) {
        d.website = v;
    }
    // A null owner leaves the lead's owner as it is.
    if let Some(Some(v)) = data.id("owner_id") {
        d.owner_id = Some(v);
    }
    if let Some(v) = data.id("source_id") {
        d.source_id = v;
    }
    if let Some(v) = data.id("unqualified_reason_id") {
        d.unqualified_reason_id = v;
    }
    if let Some(a) = read_address(data, d.address.clone()) {
        d.address = a;
    }
    if let Some(tags) = data.tags("tags") {
        d.tags = tags;
    }
    let mut custom = current.clone();
    read_custom(data, defs, &mut custom);
    d.custom_fields = custom.into_iter().filter_map(|(k, v)| k.parse().ok().map(|k| (k, v))).collect();
}

/// A lead as the Sync API hands it out; `None` when it is not live (converted leads are not).
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    let Some(lead) = st.crm.find::<Lead>(actor, id).await? else { return Ok(None) };
    let defs = st.crm.custom_fields(actor, "lead").await?;
    Ok(Some(("lead", render(&lead, &defs))))
}

pub async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    let defs = st.crm.custom_fields(actor, "lead").await?;
    let mut draft = LeadDraft::new();
    apply(&mut data, &defs, &BTreeMap::new(), &mut draft);
    data.finish()?;
    let lead = st.crm.create_lead(actor, draft).await?;
    Ok(one(StatusCode::OK, "lead", render(&lead, &defs)))
}

pub async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let lead = st.crm.get::<Lead>(actor, path_id(&id, "lead")?).await?;
    let defs = st.crm.custom_fields(actor, "lead").await?;
    Ok(one(StatusCode::OK, "lead", render(&lead, &defs)))
}

/// `PUT`: changes only the attributes sent; `tags` replaces the whole set.
pub async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let lead = st.crm.get::<Lead>(actor, path_id(&id, "lead")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let defs = st.crm.custom_fields(actor, "lead").await?;
    let mut draft = lead.draft();
    apply(&mut data, &defs, &lead.custom_fields.0, &mut draft);
    data.finish()?;
    let lead = st.crm.update_lead(actor, lead.id, draft).await?;
    Ok(one(StatusCode::OK, "lead", render(&lead, &defs)))
}

pub async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    st.crm.delete_lead(actor, path_id(&id, "lead")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /leads`: filters `ids`, `owner_id`, `source_id`, `status`, `email`, `first_name`,
/// `last_name`, `organization_name`; `sort_by` `id`, `first_name`, `last_name`,
/// `organization_name`, `created_at`, `updated_at`.
pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let known: &[&str] = &[
        "owner_id",
        "creator_id",
        "source_id",
        "status",
        "email",
        "first_name",
        "last_name",
        "organization_name",
        "custom_fields[]",
    ];
    let params = Params::list(raw.as_deref(), &[known, crate::contacts::ADDRESS_FILTERS].concat())?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    for f in crate::contacts::address_filters(&params, "address", &[])? {
        q = q.filter(f);
    }
    // A lead's creator is shown as its owner (the model keeps no creator for leads).
    for (key, column) in [("owner_id", "owner_id"), ("creator_id", "owner_id"), ("source_id", "source_id")] {
        if let Some(v) = params.int(key)? {
            q = q.filter(Filter::eq(column, v));
        }
    }
    for key in ["status", "email", "first_name", "last_name", "organization_name"] {
        if let Some(v) = params.get(key).filter(|s| !s.is_empty()) {
            q = q.filter(Filter::cmp(key, Op::Eq, v));
        }
    }
    let defs = st.crm.custom_fields(actor, "lead").await?;
    q = params.with_custom_filters(q, &defs, "lead")?;
    let sort = params.sort(
        &[
            ("id", "id"),
            ("first_name", "first_name"),
            ("last_name", "last_name"),
            ("organization_name", "organization_name"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
        ],
        crate::params::custom_sort(&defs),
    )?;
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("id")));
    let mut rows = st.crm.list::<Lead>(actor, &q).await?.rows;
    let links = paging.links("/v2/leads", &mut rows);
    Ok(collection("lead", rows.iter().map(|l| render(l, &defs)).collect(), links))
}
