//! `/contacts`: Upsales' contacts, the shared model's persons. A contact's `client` is its
//! company. On writes, `name` is split into first and last name unless the request says
//! `usingFirstnameLastname`, when `firstName` and `lastName` are taken as given.

use kith_http::Routes;
use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use kith_domain::contacts::split_full_name;
use kith_domain::model::{Channel, Company, Contact, User};
use kith_domain::{CompanyLink, ContactDraft};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::accounts::{CLIENT, client_ref};
use crate::auth::Caller;
use crate::query::{Attr, Kind, ListParams, Resource, col, constant, link};
use crate::shapes::{self, Body_, Labels};
use crate::wire::{self, ApiResult, flag, path_id, time};

pub const ATTRS: &[Attr] = &[
    col("id", "id", Kind::Int),
    col("firstName", "first_name", Kind::Text),
    col("lastName", "last_name", Kind::Text),
    col("email", "email", Kind::Text),
    col("phone", "phone", Kind::Text),
    col("title", "job_title", Kind::Text),
    col("salutation", "salutation", Kind::Text),
    col("notes", "background", Kind::Text),
    col("regDate", "created_at", Kind::Time),
    col("modDate", "updated_at", Kind::Time),
    col("client.id", "company_id", Kind::Int),
    col("user.id", "owner_id", Kind::Int),
    constant("active", Some(1)),
    constant("score", Some(0)),
    link("categories.id", kith_domain::links::CATEGORY),
    link("projects.id", kith_domain::links::CAMPAIGN),
];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[CLIENT], custom_kind: Some("contact") };

const MOBILE: &str = "mobile";

pub fn routes() -> Routes {
    Routes::new()
        .route("/contacts", get(list).post(create))
        .route("/contacts/{id}", get(one).put(update).delete(delete))
}

pub fn first_phone(c: &Contact, mobile: bool) -> Option<&str> {
    c.phones.0.iter().find(|p| (p.kind == MOBILE) == mobile).map(|p| p.value.as_str())
}

pub fn render(c: &Contact, companies: &HashMap<i64, Company>, users: &HashMap<i64, User>, labels: &Labels) -> Value {
    json!({
        "id": c.id,
        "name": c.display_name(),
        "firstName": c.first_name,
        "lastName": c.last_name,
        "salutation": c.salutation,
        "phone": first_phone(c, false),
        "phoneCountryCode": null,
        "cellPhone": first_phone(c, true),
        "cellPhoneCountryCode": null,
        "email": c.email,
        "title": c.job_title,
        "notes": c.background,
        "client": client_ref(companies, users, c.company_id),
        "regDate": time(c.created_at),
        "regBy": shapes::user_ref(users, Some(c.owner_id)),
        "active": flag(true),
        "modDate": time(c.updated_at),
        "categories": labels.categories(c.id),
        "custom": shapes::custom(&c.custom_fields.0),
        "projects": labels.projects(c.id),
        "segments": [],
        "unsubscribed": null,
        "score": 0,
        "scoreUpdateDate": null,
        "journeyStep": "lead",
        "linkedin": null,
        "optins": [],
        "userRemovable": true,
        "userEditable": true,
    })
}

async fn render_all(st: &AppState, actor: kith_domain::Actor, rows: &[Contact]) -> ApiResult<Vec<Value>> {
    let companies = shapes::by_ids::<Company>(st, actor, rows.iter().map(|c| c.company_id)).await?;
    let owners = rows.iter().map(|c| Some(c.owner_id)).chain(companies.values().map(|c| c.owner_id));
    let users = shapes::users(st, actor, owners).await?;
    let labels = Labels::of(st, actor, rows.iter().map(|c| c.id)).await?;
    Ok(rows.iter().map(|c| render(c, &companies, &users, &labels)).collect())
}

async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let p = ListParams::parse(q.as_deref())?;
    let defs = p.defs(&st, actor, &RESOURCE).await?;
    let query = p.query(&RESOURCE, &defs)?;
    let page = st.crm.list::<Contact>(actor, &query).await?;
    let rows = render_all(&st, actor, &page.rows).await?;
    Ok(wire::page(rows, page.total.unwrap_or(0), p.limit, p.offset))
}

async fn answer(st: &AppState, actor: kith_domain::Actor, c: Contact) -> ApiResult {
    let mut rows = render_all(st, actor, std::slice::from_ref(&c)).await?;
    Ok(wire::one(rows.pop().unwrap_or(Value::Null)))
}

async fn one(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let contact = st.crm.get::<Contact>(actor, path_id(&raw, "contact")?).await?;
    answer(&st, actor, contact).await
}

/// Replaces the first phone of one kind (work or mobile), keeping the others.
fn set_phone(phones: &mut Vec<Channel>, mobile: bool, value: Option<String>) {
    let at = phones.iter().position(|p| (p.kind == MOBILE) == mobile);
    match (at, value) {
        (Some(i), Some(v)) => phones[i].value = v,
        (Some(i), None) => {
            phones.remove(i);
        }
        (None, Some(v)) => phones.push(Channel { kind: if mobile { MOBILE } else { "work" }.into(), value: v }),
        (None, None) => {}
    }
}

fn apply(b: &mut Body_, d: &mut ContactDraft, by_parts: bool) {
    let first = b.text("firstName", 100);
    let last = b.text("lastName", 100);
    let name = b.text("name", 200);
    if by_parts || name.is_none() {
        if let Some(v) = first {
            d.first_name = v;
        }
        if let Some(v) = last {
            d.last_name = v;
        }
    } else if let Some(name) = name {
        let (first, last) = split_full_name(name.as_deref().unwrap_or_default());
        d.first_name = first;
        d.last_name = last;
    }
    if let Some(v) = b.text("salutation", 50) {
        d.salutation = v;
    }
    if let Some(v) = b.text("title", 255) {
        d.job_title = v;
    }
    if let Some(v) = b.text("notes", 10_240) {
        d.background = v;
    }
    if let Some(v) = b.text("email", 255) {
        match (d.emails.is_empty(), v) {
            (true, Some(email)) => d.emails.push(Channel { kind: "work".into(), value: email }),
            (false, Some(email)) => d.emails[0].value = email,
            (false, None) => {
                d.emails.remove(0);
            }
            (true, None) => {}
        }
    }
    if let Some(v) = b.text("phone", 100) {
        set_phone(&mut d.phones, false, v);
    }
    if let Some(v) = b.text("cellPhone", 100) {
        set_phone(&mut d.phones, true, v);
    }
    if let Some(client) = shapes::relation(b, "client") {
        d.company = client.map_or(CompanyLink::None, CompanyLink::Id);
    }
    if let Some(user) = shapes::relation(b, "user").flatten() {
        d.owner_id = Some(user);
    }
    if let Some(v) = shapes::custom_in(b) {
        for (id, value) in v {
            if value.is_null() {
                d.custom_fields.remove(&id);
            } else {
                d.custom_fields.insert(id, value);
            }
        }
    }
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery, body: Body) -> ApiResult {
    let by_parts = ListParams::flag(q.as_deref(), "usingFirstnameLastname");
    let mut b = shapes::read(&st, body).await?;
    let mut d = ContactDraft::default();
    apply(&mut b, &mut d, by_parts);
    let links = crate::accounts::labels_in(&mut b);
    if d.first_name.is_none() && d.last_name.is_none() {
        b.error("name", "is required");
    }
    b.finish()?;
    let contact = st.crm.create_contact_linked(actor, d, &links).await?;
    answer(&st, actor, contact).await
}

async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let by_parts = ListParams::flag(q.as_deref(), "usingFirstnameLastname");
    let contact = st.crm.get::<Contact>(actor, path_id(&raw, "contact")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let mut d = contact.draft();
    apply(&mut b, &mut d, by_parts);
    let links = crate::accounts::labels_in(&mut b);
    b.finish()?;
    let contact = st.crm.update_contact_linked(actor, contact.id, d, &links).await?;
    answer(&st, actor, contact).await
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    st.crm.delete_contact(actor, path_id(&raw, "contact")?).await?;
    Ok(wire::deleted())
}
