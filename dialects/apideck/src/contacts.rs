//! `/crm/contacts`: Apideck's contact is the shared model's person (`Contact`).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use kith_domain::model::{Contact, CustomFieldDefinition};
use kith_domain::query::{Dir, Filter, Op};
use kith_domain::{CompanyLink, ContactDraft, Lookups};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{self, ListParams, ListSpec, by, filter_id, since};
use crate::shapes;
use crate::wire::{ApiResult, envelope, id, opt_id, path_id, time};

const SPEC: ListSpec = ListSpec {
    resource: "contacts",
    filters: &[
        "name",
        "first_name",
        "last_name",
        "email",
        "phone_number",
        "company_id",
        "owner_id",
        "updated_since",
        "created_since",
    ],
    sorts: &["created_at", "updated_at", "name", "first_name", "last_name", "email"],
};

pub fn routes() -> Routes {
    Routes::new()
        .route("/contacts", get(list).post(create))
        .route("/contacts/{id}", get(one).patch(update).delete(delete))
}

pub fn render(c: &Contact, lookups: &Lookups) -> Value {
    let defs: &[CustomFieldDefinition] = &lookups.custom_fields;
    json!({
        "id": id(c.id),
        "name": c.display_name(),
        "owner_id": id(c.owner_id),
        "company_id": opt_id(c.company_id),
        "company_name": c.company_name,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "prefix": c.salutation,
        "title": c.job_title,
        "description": c.background,
        "lead_source": c.lead_source_id.and_then(|s| lookups.lead_sources.get(&s)).map(|s| s.name.clone()),
        "status": c.status_id.and_then(|s| lookups.statuses.get(&s)).map(|s| s.name.clone()),
        "active": true,
        "photo_url": c.photo_url,
        "emails": shapes::emails(&c.emails.0),
        "phone_numbers": shapes::phones(&c.phones.0),
        "websites": shapes::websites(&c.urls.0),
        "addresses": c.addresses.0.iter().map(shapes::address).collect::<Vec<_>>(),
        "tags": c.tags.0,
        "custom_fields": shapes::custom_fields(&c.custom_fields.0, defs),
        "updated_at": time(c.updated_at),
        "created_at": time(c.created_at),
    })
}

/// The filter of `filter[...]`, in the database.
fn filter(p: &ListParams) -> ApiResult<Option<Filter>> {
    let mut all = Vec::new();
    for (name, value) in &p.filters {
        let value = value.as_str();
        if value.is_empty() {
            continue;
        }
        all.push(match name.as_str() {
            // Every word of the name in the first or the last name.
            "name" => Filter::All(
                value
                    .split_whitespace()
                    .map(|w| {
                        Filter::Any(vec![
                            Filter::cmp("first_name", Op::Contains, w),
                            Filter::cmp("last_name", Op::Contains, w),
                        ])
                    })
                    .collect(),
            ),
            "first_name" => Filter::eq("first_name", value),
            "last_name" => Filter::eq("last_name", value),
            "email" => kith_domain::contacts::any_email_filter(value),
            "phone_number" => Filter::eq("phone", value),
            "company_id" => Filter::eq("company_id", filter_id(name, value)?),
            "owner_id" => Filter::eq("owner_id", filter_id(name, value)?),
            "updated_since" => Filter::cmp("updated_at", Op::Gte, since(name, value)?),
            "created_since" => Filter::cmp("created_at", Op::Gte, since(name, value)?),
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
    let sorts = match p.sort {
        None => vec![by("created_at", Dir::Asc)],
        Some(("name", d)) => vec![by("last_name", d), by("first_name", d)],
        Some((column, d)) => vec![by(column, d)],
    };
    let mut query = p.query(&st, actor, SPEC.resource, sorts).await?;
    query.filter = filter(&p)?;
    let page = st.crm.list::<Contact>(actor, &query).await?;
    let previous = p.previous::<Contact>(&st, actor, &query).await?;
    let lookups = st.crm.contact_lookups(actor).await?;
    let rows = page.rows.iter().map(|c| render(c, &lookups)).collect();
    params::answer(&st, actor, &headers, &p, SPEC.resource, rows, (page.next, previous)).await
}

async fn one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let contact = st.crm.get::<Contact>(actor, path_id(&raw, "contact")?).await?;
    let lookups = st.crm.contact_lookups(actor).await?;
    let data = params::sparse(render(&contact, &lookups), c.fields.as_deref());
    Ok(envelope(StatusCode::OK, SPEC.resource, "one", data, c.raw))
}

/// Applies the fields a body gives to a draft (absent fields stay as they are).
fn apply(b: &mut shapes::Body_, defs: &[CustomFieldDefinition], d: &mut ContactDraft) {
    for (key, slot) in [
        ("first_name", &mut d.first_name),
        ("last_name", &mut d.last_name),
        ("prefix", &mut d.salutation),
        ("title", &mut d.job_title),
    ] {
        if let Some(v) = b.text(key, 255) {
            *slot = v;
        }
    }
    if let Some(v) = b.text("description", 10_000) {
        d.background = v;
    }
    if let Some(owner) = b.id("owner_id") {
        d.owner_id = owner;
    }
    match b.id("company_id") {
        Some(Some(company)) => d.company = CompanyLink::Id(company),
        Some(None) if !b.has("company_name") => d.company = CompanyLink::None,
        _ => {
            if let Some(name) = b.text("company_name", kith_domain::companies::COMPANY_NAME_MAX) {
                d.company = name.map_or(CompanyLink::None, CompanyLink::Name);
            }
        }
    }
    if let Some(v) = shapes::channels(b, "emails", "email", "primary") {
        d.emails = v;
    }
    if let Some(v) = shapes::channels(b, "phone_numbers", "number", "primary") {
        d.phones = v;
    }
    if let Some(v) = shapes::channels(b, "websites", "url", "primary") {
        d.urls = v;
    }
    if let Some(v) = shapes::addresses(b) {
        d.addresses = v;
    }
    if let Some(v) = shapes::tags(b) {
        d.tags = v;
    }
    if let Some(v) = shapes::custom_values(b, defs) {
        for (k, value) in v {
            if value.is_null() {
                d.custom_fields.remove(&k);
            } else {
                d.custom_fields.insert(k, value);
            }
        }
    }
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
    let defs = st.crm.custom_fields(actor, "contact").await?;
    let mut d = ContactDraft::default();
    apply(&mut b, &defs, &mut d);
    b.finish()?;
    let contact = st.crm.create_contact(actor, d).await?;
    Ok(envelope(StatusCode::CREATED, SPEC.resource, "add", json!({ "id": id(contact.id) }), c.raw))
}

async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let contact = st.crm.get::<Contact>(actor, path_id(&raw, "contact")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let defs = st.crm.custom_fields(actor, "contact").await?;
    let mut d = contact.draft();
    apply(&mut b, &defs, &mut d);
    b.finish()?;
    let contact = st.crm.update_contact(actor, contact.id, d).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "update", json!({ "id": id(contact.id) }), c.raw))
}

async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let contact_id = path_id(&raw, "contact")?;
    st.crm.delete_contact(actor, contact_id).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "delete", json!({ "id": id(contact_id) }), c.raw))
}
