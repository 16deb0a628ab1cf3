//! `/crm/companies`: the shared model's `Company`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use kith_domain::companies::{COMPANY_NAME_MAX, CompanyDraft};
use kith_domain::model::{Channel, Company, CustomFieldDefinition};
use kith_domain::query::{Dir, Filter, Op};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{self, ListParams, ListSpec, by, since};
use crate::shapes;
use crate::wire::{ApiResult, envelope, id, opt_id, path_id, time};

const SPEC: ListSpec = ListSpec {
    resource: "companies",
    filters: &["name", "updated_since", "created_since"],
    sorts: &["created_at", "updated_at", "name"],
};

pub fn routes() -> Routes {
    Routes::new()
        .route("/companies", get(list).post(create))
        .route("/companies/{id}", get(one).patch(update).delete(delete))
}

fn one_channel(kind: &str, value: &Option<String>) -> Vec<Channel> {
    value.iter().map(|v| Channel { kind: kind.to_owned(), value: v.clone() }).collect()
}

pub fn render(c: &Company, defs: &[CustomFieldDefinition]) -> Value {
    json!({
        "id": id(c.id),
        "name": c.name,
        "owner_id": opt_id(c.owner_id),
        "image": c.photo_url,
        "description": c.description,
        "industry": c.industry,
        "currency": c.currency,
        "annual_revenue": c.annual_revenue_minor.map(|m| {
            kith_domain::money::to_decimal(m, c.currency.as_deref().unwrap_or("USD"))
        }),
        "number_of_employees": c.employees.map(|n| n.to_string()),
        "websites": shapes::websites(&one_channel("primary", &c.url)),
        "emails": shapes::emails(&one_channel("primary", &c.email)),
        "phone_numbers": shapes::phones(&one_channel("primary", &c.phone)),
        "addresses": c.address.0.iter().map(shapes::address).collect::<Vec<_>>(),
        "tags": c.tags.0,
        "custom_fields": shapes::custom_fields(&c.custom_fields.0, defs),
        "updated_at": time(c.updated_at),
        "created_at": time(c.created_at),
    })
}

fn filter(p: &ListParams) -> ApiResult<Option<Filter>> {
    let mut all = Vec::new();
    for (name, value) in &p.filters {
        if value.is_empty() {
            continue;
        }
        all.push(match name.as_str() {
            "name" => Filter::cmp("name", Op::Contains, value.as_str()),
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
    let (column, dir) = p.sort.unwrap_or(("created_at", Dir::Asc));
    let mut query = p.query(&st, actor, SPEC.resource, vec![by(column, dir)]).await?;
    query.filter = filter(&p)?;
    let page = st.crm.list::<Company>(actor, &query).await?;
    let previous = p.previous::<Company>(&st, actor, &query).await?;
    let defs = st.crm.custom_fields(actor, "company").await?;
    let rows = page.rows.iter().map(|c| render(c, &defs)).collect();
    params::answer(&st, actor, &headers, &p, SPEC.resource, rows, (page.next, previous)).await
}

async fn one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let company = st.crm.get::<Company>(actor, path_id(&raw, "company")?).await?;
    let defs = st.crm.custom_fields(actor, "company").await?;
    let data = params::sparse(render(&company, &defs), c.fields.as_deref());
    Ok(envelope(StatusCode::OK, SPEC.resource, "one", data, c.raw))
}

/// The first value of a channel list a body gives (`Some(None)` when it gives an empty list).
fn first(b: &mut shapes::Body_, key: &str, value_key: &str) -> Option<Option<String>> {
    shapes::channels(b, key, value_key, "primary").map(|list| list.into_iter().next().map(|c| c.value))
}

fn apply(b: &mut shapes::Body_, defs: &[CustomFieldDefinition], d: &mut CompanyDraft) {
    if let Some(name) = b.text("name", COMPANY_NAME_MAX) {
        d.name = name.unwrap_or_default();
    }
    if let Some(v) = b.text("description", kith_domain::companies::COMPANY_DESCRIPTION_MAX) {
        d.description = v;
    }
    if let Some(v) = b.text("industry", kith_domain::companies::COMPANY_INDUSTRY_MAX) {
        d.industry = v;
    }
    if let Some(owner) = b.id("owner_id") {
        d.owner_id = owner;
    }
    if let Some(v) = first(b, "websites", "url") {
        d.url = v;
    }
    if let Some(v) = first(b, "emails", "email") {
        d.email = v;
    }
    if let Some(v) = first(b, "phone_numbers", "number") {
        d.phone = v;
    }
    if let Some(v) = shapes::addresses(b) {
        d.address = v.into_iter().next();
    }
    if let Some(v) = shapes::tags(b) {
        d.tags = v;
    }
    if let Some(v) = shapes::custom_values(b, defs) {
        d.custom_fields = Some(v);
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
    let defs = st.crm.custom_fields(actor, "company").await?;
    let mut d = CompanyDraft::new_by(actor);
    apply(&mut b, &defs, &mut d);
    b.finish()?;
    let company = st.crm.create_company(actor, d).await?;
    Ok(envelope(StatusCode::CREATED, SPEC.resource, "add", json!({ "id": id(company.id) }), c.raw))
}

async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let company = st.crm.get::<Company>(actor, path_id(&raw, "company")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let defs = st.crm.custom_fields(actor, "company").await?;
    let mut d = company.draft();
    apply(&mut b, &defs, &mut d);
    b.finish()?;
    let company = st.crm.update_company(actor, company.id, d).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "update", json!({ "id": id(company.id) }), c.raw))
}

async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let company_id = path_id(&raw, "company")?;
    st.crm.delete::<Company>(actor, company_id).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "delete", json!({ "id": id(company_id) }), c.raw))
}
