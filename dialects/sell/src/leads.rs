//! `/leads`: prospects not yet qualified into contacts and deals. A lead is a person
//! (`last_name`) or an organisation (`organization_name`); one of the two is required.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::choices::LEAD_UNQUALIFIED_REASONS;
use kith_domain::model::{CustomFieldDefinition, Lead, LeadSource};
use kith_domain::{Actor, DomainError, FieldError};
use kith_http::AppState;
use kith_store::{Filter, Json, Op, Sort};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::contacts::{read_address, read_custom, render_address, render_custom};
use crate::input::Data;
use crate::params::{Params, RecordQuery, check_owner, path_id, read_data};
use crate::wire::{ApiError, ApiResult, collection, one, time};

const TEXT_MAX: usize = 255;

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

/// Applies the attributes sent to `l`.
fn apply(data: &mut Data, defs: &[CustomFieldDefinition], l: &mut Lead) {
    for (key, slot) in [
        ("first_name", &mut l.first_name),
        ("last_name", &mut l.last_name),
        ("organization_name", &mut l.organization_name),
        ("status", &mut l.status),
        ("title", &mut l.title),
        ("industry", &mut l.industry),
        ("email", &mut l.email),
        ("phone", &mut l.phone),
        ("mobile", &mut l.mobile),
        ("fax", &mut l.fax),
        ("twitter", &mut l.twitter),
        ("facebook", &mut l.facebook),
        ("linkedin", &mut l.linkedin),
        ("skype", &mut l.skype),
    ] {
        if let Some(v) = data.text(key, TEXT_MAX) {
            *slot = v;
        }
    }
    if let Some(v) = data.text("description", 10_000) {
        l.description = v;
    }
    if let Some(v) = data.text("website", 2048) {
        l.website = v;
    }
    if let Some(v) = data.id("owner_id") {
        l.owner_id = v.unwrap_or(l.owner_id);
    }
    if let Some(v) = data.id("source_id") {
        l.source_id = v;
    }
    if let Some(v) = data.id("unqualified_reason_id") {
        l.unqualified_reason_id = v;
    }
    if let Some(a) = read_address(data, l.address.0.clone()) {
        l.address = Json(a);
    }
    if let Some(tags) = data.tags("tags") {
        l.tags = Json(tags);
    }
    read_custom(data, defs, &mut l.custom_fields.0);
    if l.last_name.is_none() && l.organization_name.is_none() {
        data.error("last_name", "or organization_name is required");
    }
}

/// The lead's source must be a lead source of the account (one for leads, not deals), and its
/// unqualified reason one of the account's lead unqualified reasons. Only references that change
/// are checked: a lead sent back as it was read is accepted.
async fn check_references(st: &AppState, actor: Actor, before: Option<&Lead>, lead: &Lead) -> ApiResult<()> {
    let mut errors = Vec::new();
    if let Some(id) = lead.source_id.filter(|id| before.is_none_or(|b| b.source_id != Some(*id))) {
        let usable = st
            .crm
            .find::<LeadSource>(actor, id)
            .await?
            .is_some_and(|s| s.resource_type.as_deref().is_none_or(|t| t == "lead"));
        if !usable {
            errors.push(FieldError::new("source_id", "is not a lead source of this account"));
        }
    }
    if let Some(id) =
        lead.unqualified_reason_id.filter(|id| before.is_none_or(|b| b.unqualified_reason_id != Some(*id)))
    {
        match st.crm.choice(actor, LEAD_UNQUALIFIED_REASONS, id).await {
            Ok(_) => {}
            Err(DomainError::NotFound { .. }) => errors
                .push(FieldError::new("unqualified_reason_id", "is not a lead unqualified reason of this account")),
            Err(e) => return Err(e.into()),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::invalid(errors)) }
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
    let t = chrono::Utc::now();
    let mut lead = Lead {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        first_name: None,
        last_name: None,
        organization_name: None,
        title: None,
        description: None,
        status: Some("New".into()),
        source_id: None,
        owner_id: actor.user_id,
        email: None,
        phone: None,
        mobile: None,
        website: None,
        address: Json(None),
        tags: Json(Vec::new()),
        custom_fields: Json(BTreeMap::new()),
        converted_at: None,
        converted_contact_id: None,
        converted_company_id: None,
        converted_deal_id: None,
        industry: None,
        fax: None,
        twitter: None,
        facebook: None,
        linkedin: None,
        skype: None,
        unqualified_reason_id: None,
        converted_by: None,
    };
    apply(&mut data, &defs, &mut lead);
    data.finish()?;
    if lead.owner_id != actor.user_id {
        check_owner(&st, actor, "owner_id", lead.owner_id).await?;
    }
    check_references(&st, actor, None, &lead).await?;
    let lead = st.crm.create(actor, lead).await?;
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
    let mut lead = st.crm.get::<Lead>(actor, path_id(&id, "lead")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let defs = st.crm.custom_fields(actor, "lead").await?;
    let before = lead.clone();
    apply(&mut data, &defs, &mut lead);
    data.finish()?;
    if lead.owner_id != before.owner_id {
        check_owner(&st, actor, "owner_id", lead.owner_id).await?;
    }
    check_references(&st, actor, Some(&before), &lead).await?;
    let lead = st.crm.save(actor, lead).await?;
    Ok(one(StatusCode::OK, "lead", render(&lead, &defs)))
}

pub async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    st.crm.delete::<Lead>(actor, path_id(&id, "lead")?).await?;
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
