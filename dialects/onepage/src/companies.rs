//! `/companies`, one company, and its synced status.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::Actor;
use kith_domain::companies::{COMPANY_DESCRIPTION_MAX, COMPANY_NAME_MAX, CompanyDraft};
use kith_domain::model::{Address, Company};
use kith_domain::query::{Filter, Op, Sort};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{Params, path_id, read_input};
use crate::render::company::{company_data, render_company};
use crate::wire::{ApiResult, hex_id, ok};

pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(name) = params.get("name") {
        q = q.filter(Filter::cmp("name", Op::Contains, name));
    }
    if let Some(phone) = params.get("phone") {
        q = q.filter(Filter::cmp("phone", Op::Contains, phone));
    }
    if let Some(letter) = params.get("letter") {
        q = q.filter(Filter::cmp("name", Op::Prefix, letter));
    }
    let sort = params.sort(&[("created_at", "created_at"), ("modified_at", "updated_at"), ("name", "name")])?;
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("name")));
    let page = st.crm.list::<Company>(actor, &q).await?;
    let mut items = Vec::with_capacity(page.rows.len());
    for c in &page.rows {
        items.push(json!({ "company": render_company(&st.crm, actor, c).await? }));
    }
    Ok(ok(StatusCode::OK, paging.envelope("companies", items, page.total.unwrap_or(0))))
}

pub async fn get(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let company = st.crm.get::<Company>(actor, path_id(&id, "company")?).await?;
    Ok(ok(StatusCode::OK, company_data(&st.crm, actor, &company).await?))
}

/// `PUT /companies/{id}`: changes the fields sent (`?partial=true` or not: a company's name is
/// required, so a full replace would need it anyway).
pub async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "company")?;
    let company = st.crm.get::<Company>(actor, id).await?;
    let mut input = read_input(&st, body).await?;
    let mut d: CompanyDraft = company.draft();
    if let Some(v) = input.text("name", COMPANY_NAME_MAX) {
        match v {
            Some(n) => d.name = n,
            None => input.error("name", "is required"),
        }
    }
    if let Some(v) = input.text("description", COMPANY_DESCRIPTION_MAX) {
        d.description = v;
    }
    if let Some(v) = input.text("url", 2048) {
        d.url = v;
    }
    if let Some(v) = input.text("phone", 100) {
        d.phone = v;
    }
    if input.has("address") {
        match input.object("address") {
            Some(Some(a)) => {
                let text = |k: &str| {
                    a.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
                };
                d.address = Some(Address {
                    kind: None,
                    address: text("address"),
                    city: text("city"),
                    state: text("state"),
                    zip_code: text("zip_code"),
                    country_code: text("country_code").map(|c| c.to_ascii_uppercase()),
                });
            }
            Some(None) => d.address = None,
            None => {}
        }
    }
    let defs = st.crm.custom_fields(actor, "company").await?;
    d.custom_fields = crate::input::field_values(&mut input, "company_fields", "company_field", &defs);
    input.finish()?;
    let company = st.crm.update_company(actor, id, d).await?;
    Ok(ok(StatusCode::OK, company_data(&st.crm, actor, &company).await?))
}

pub async fn sync_status(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "company")?;
    let mut input = read_input(&st, body).await?;
    let status = input.required_id("status_id");
    input.finish()?;
    let company = st.crm.set_synced_status(actor, id, status).await?;
    Ok(ok(StatusCode::CREATED, company_data(&st.crm, actor, &company).await?))
}

pub async fn unsync_status(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let company = st.crm.set_synced_status(actor, path_id(&id, "company")?, None).await?;
    Ok(ok(StatusCode::OK, company_data(&st.crm, actor, &company).await?))
}

/// Linked contacts with the caller's actions and `linked_with`: the company's own contacts.
async fn linked_items(
    st: &AppState,
    actor: Actor,
    company: i64,
    contacts: &[kith_domain::model::Contact],
) -> ApiResult<Vec<Value>> {
    let own = st.crm.all::<kith_domain::model::Contact>(actor, Some(Filter::eq("company_id", company))).await?;
    let own: Vec<String> = own.iter().map(|c| hex_id(c.id)).collect();
    let lk = st.crm.contact_lookups(actor).await?;
    let items = crate::render::contact::contact_items(&st.crm, actor, &lk, contacts).await?;
    Ok(items
        .into_iter()
        .map(|mut item| {
            item["linked_with"] = json!(own);
            json!({ "linked_contact": item })
        })
        .collect())
}

pub async fn linked_contacts(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = path_id(&id, "company")?;
    let paging = Params::parse(raw.as_deref()).paging()?;
    let page = st.crm.linked_contacts(actor, id, paging.offset(), paging.per_page).await?;
    let items = linked_items(&st, actor, id, &page.rows).await?;
    Ok(ok(StatusCode::OK, paging.envelope("linked_contacts", items, page.total.unwrap_or(0))))
}

pub async fn link_contact(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "company")?;
    let mut input = read_input(&st, body).await?;
    let contact = input.required_id("contact_id");
    input.finish()?;
    let contact = st.crm.link_contact(actor, id, contact.unwrap_or_default()).await?;
    let mut items = linked_items(&st, actor, id, std::slice::from_ref(&contact)).await?;
    Ok(ok(StatusCode::CREATED, items.pop().unwrap_or_else(|| json!({}))))
}

pub async fn unlink_contact(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((id, contact)): Path<(String, String)>,
) -> ApiResult {
    st.crm.unlink_contact(actor, path_id(&id, "company")?, path_id(&contact, "contact")?).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/companies", routing::get(list))
        .route("/companies/{id}/linked_contacts", routing::get(linked_contacts).post(link_contact))
        .route("/companies/{id}/linked_contacts/{contact_id}", routing::delete(unlink_contact))
        .route("/companies/{id}", routing::get(get).put(update).patch(update))
        .route("/companies/{id}/synced_status", routing::post(sync_status).delete(unsync_status))
}
