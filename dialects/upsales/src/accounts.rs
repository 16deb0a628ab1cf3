//! `/accounts`: Upsales' companies, the shared model's `Company` (the organisation OnePage,
//! Sell and Apideck show).

use kith_http::Routes;
use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use kith_domain::Entity;
use kith_domain::companies::{COMPANY_DESCRIPTION_MAX, COMPANY_PHONE_MAX, COMPANY_URL_MAX, CompanyDraft};
use kith_domain::links::LinkDraft;
use kith_domain::model::{Address, Company, User};
use kith_domain::query::Filter;
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::query::{Attr, Kind, ListParams, Relation, Resource, col, constant, link, never};
use crate::shapes::{self, Body_, Labels};
use crate::wire::{self, ApiResult, flag, path_id, time};

pub const ATTRS: &[Attr] = &[
    col("id", "id", Kind::Int),
    col("name", "name", Kind::Text),
    col("phone", "phone", Kind::Text),
    col("webpage", "url", Kind::Text),
    col("notes", "description", Kind::Text),
    col("regDate", "created_at", Kind::Time),
    col("modDate", "updated_at", Kind::Time),
    col("user.id", "owner_id", Kind::Int),
    col("users.id", "owner_id", Kind::Int),
    col("noEmployees", "employees", Kind::Int),
    col("turnover", "annual_revenue_minor", Kind::Money),
    col("currency", "currency", Kind::Text),
    constant("active", Some(1)),
    constant("isExternal", Some(0)),
    constant("score", Some(0)),
    never("scoreUpdateDate", Kind::Time),
    constant("parent.id", None),
    link("categories.id", kith_domain::links::CATEGORY),
    link("projects.id", kith_domain::links::CAMPAIGN),
];

/// The account of a record (`client.…` filters of contacts and orders).
pub fn client(f: Filter) -> Filter {
    Filter::Related { via: "company_id".into(), target: Company::SPEC, filter: Box::new(f) }
}

/// What lists of records with a client may filter on through it.
pub const CLIENT: Relation = Relation { name: "client", wrap: client, attrs: ATTRS, custom_kind: Some("company") };

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[], custom_kind: Some("company") };

pub fn routes() -> Routes {
    Routes::new()
        .route("/accounts", get(list).post(create))
        .route("/accounts/{id}", get(one).put(update).delete(delete))
}

fn address(a: &Address) -> Value {
    json!({
        "type": a.kind.as_deref().unwrap_or("Visit"),
        "address": a.address,
        "zipcode": a.zip_code,
        "city": a.city,
        "state": a.state,
        "country": a.country_code,
        "latitude": null,
        "longitude": null,
    })
}

pub fn render(c: &Company, users: &HashMap<i64, User>, labels: &Labels) -> Value {
    let addresses: Vec<Value> = c.address.0.iter().map(address).collect();
    let owner = shapes::user_ref(users, c.owner_id);
    json!({
        "id": c.id,
        "name": c.name,
        "phone": c.phone,
        "phoneCountryCode": null,
        "fax": null,
        "webpage": c.url,
        "notes": c.description,
        "parent": null,
        "operationalAccount": null,
        "active": flag(true),
        "currency": c.currency,
        "users": if owner.is_null() { json!([]) } else { json!([owner]) },
        "regDate": time(c.created_at),
        "regBy": null,
        "modDate": time(c.updated_at),
        "dunsNo": null,
        "orgNo": null,
        "projects": labels.projects(c.id),
        "categories": labels.categories(c.id),
        "addresses": addresses,
        "mailAddress": c.address.0.as_ref().map_or(json!({}), address),
        "custom": shapes::custom(&c.custom_fields.0),
        "noEmployees": c.employees,
        "turnover": c.annual_revenue_minor.map(|m| shapes::money(m, c.currency.as_deref().unwrap_or("USD"))),
        "score": 0,
        "scoreUpdateDate": null,
        "isExternal": 0,
        "journeyStep": "lead",
        "registrationDate": null,
        "status": null,
        "profit": null,
        "companyForm": null,
        "creditRating": null,
        "facebook": null,
        "twitter": null,
        "linkedin": null,
        "deactivationReason": null,
        "deactivationDate": null,
        "deactivatedBy": null,
        "userRemovable": true,
        "userEditable": true,
    })
}

/// An account as relations show one: `{id, name, users}`.
pub fn client_ref(companies: &HashMap<i64, Company>, users: &HashMap<i64, User>, id: Option<i64>) -> Value {
    match id.and_then(|id| companies.get(&id)) {
        Some(c) => {
            let owner = shapes::user_ref(users, c.owner_id);
            json!({ "id": c.id, "name": c.name, "users": if owner.is_null() { json!([]) } else { json!([owner]) } })
        }
        None => Value::Null,
    }
}

async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let p = ListParams::parse(q.as_deref())?;
    let defs = p.defs(&st, actor, &RESOURCE).await?;
    let query = p.query(&RESOURCE, &defs)?;
    let page = st.crm.list::<Company>(actor, &query).await?;
    let users = shapes::users(&st, actor, page.rows.iter().map(|c| c.owner_id)).await?;
    let labels = Labels::of(&st, actor, page.rows.iter().map(|c| c.id)).await?;
    let rows = page.rows.iter().map(|c| render(c, &users, &labels)).collect();
    Ok(wire::page(rows, page.total.unwrap_or(0), p.limit, p.offset))
}

async fn answer(st: &AppState, actor: kith_domain::Actor, c: &Company) -> ApiResult {
    let users = shapes::users(st, actor, [c.owner_id]).await?;
    let labels = Labels::of(st, actor, [c.id]).await?;
    Ok(wire::one(render(c, &users, &labels)))
}

async fn one(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let company = st.crm.get::<Company>(actor, path_id(&raw, "account")?).await?;
    answer(&st, actor, &company).await
}

/// The categories and campaigns a body gives (`categories: [{id}]`, `projects: [{id}]`).
pub fn labels_in(b: &mut Body_) -> LinkDraft {
    LinkDraft {
        categories: shapes::relations(b, "categories"),
        campaigns: shapes::relations(b, "projects"),
        kind: None,
    }
}

fn apply(b: &mut Body_, d: &mut CompanyDraft) {
    if let Some(name) = b.text("name", 100) {
        d.name = name.unwrap_or_default();
    }
    if let Some(v) = b.text("phone", COMPANY_PHONE_MAX) {
        d.phone = v;
    }
    if let Some(v) = b.text("webpage", COMPANY_URL_MAX) {
        d.url = v;
    }
    if let Some(v) = b.text("notes", COMPANY_DESCRIPTION_MAX) {
        d.description = v;
    }
    if let Some(users) = shapes::relations(b, "users") {
        d.owner_id = users.first().copied();
    }
    if let Some(items) = b.objects("addresses", 20) {
        let mut first = None;
        for (i, m) in items.iter().enumerate() {
            let mut text = |key: &str, max: usize| match m.get(key).map(|v| kith_http::json_text(v, max)) {
                None | Some(Ok(None)) => None,
                Some(Ok(Some(t))) => Some(t),
                Some(Err(message)) => {
                    b.error(format!("addresses[{i}].{key}"), message);
                    None
                }
            };
            let a = Address {
                kind: text("type", 50),
                address: text("address", 1000),
                city: text("city", 255),
                state: text("state", 255),
                zip_code: text("zipcode", 50),
                country_code: text("country", 100),
            };
            first.get_or_insert(a);
        }
        d.address = first;
    }
    if let Some(v) = shapes::custom_in(b) {
        d.custom_fields = Some(v);
    }
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut b = shapes::read(&st, body).await?;
    let mut d = CompanyDraft::new_by(actor);
    apply(&mut b, &mut d);
    let links = labels_in(&mut b);
    if d.name.is_empty() && !b.has("name") {
        b.error("name", "is required");
    }
    b.finish()?;
    let company = st.crm.create_company_linked(actor, d, &links).await?;
    answer(&st, actor, &company).await
}

async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>, body: Body) -> ApiResult {
    let company = st.crm.get::<Company>(actor, path_id(&raw, "account")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let mut d = company.draft();
    apply(&mut b, &mut d);
    let links = labels_in(&mut b);
    b.finish()?;
    let company = st.crm.update_company_linked(actor, company.id, d, &links).await?;
    answer(&st, actor, &company).await
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    st.crm.delete::<Company>(actor, path_id(&raw, "account")?).await?;
    Ok(wire::deleted())
}
