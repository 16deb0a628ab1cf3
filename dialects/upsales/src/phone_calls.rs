//! `/phoneCall`: Upsales' logged phone calls, the shared model's calls — the rows OnePage shows
//! as calls and Sell as calls. A call is with its contact, else its client (or, when neither is
//! given, with no one yet); `user` made it; `date` is when, `durationInS` how long,
//! `conversationUrl` its recording. `status` 0 is a missed call, 1 an answered one.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::engagements::{CallDraft, EXTERNAL_ID_MAX, PHONE_NUMBER_MAX, RECORDING_URL_MAX, Subject};
use kith_domain::model::Call;
use kith_http::{AppState, Routes};
use serde_json::{Value, json};

use crate::accounts::CLIENT;
use crate::auth::Caller;
use crate::query::{self, Attr, Kind, Resource, col, constant};
use crate::shapes::{self, Body_, Refs};
use crate::wire::{self, ApiResult, path_id, time};

const ATTRS: &[Attr] = &[
    col("id", "id", Kind::Int),
    col("date", "called_at", Kind::Time),
    col("durationInS", "duration_seconds", Kind::Int),
    col("phoneNumber", "phone_number", Kind::Text),
    col("externalId", "external_id", Kind::Text),
    col("conversationUrl", "recording_url", Kind::Text),
    col("regDate", "created_at", Kind::Time),
    col("modDate", "updated_at", Kind::Time),
    col("user.id", "author_id", Kind::Int),
    col("contact.id", "contact_id", Kind::Int),
    col("client.id", "company_id", Kind::Int),
    constant("type", None),
];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[CLIENT], custom_kind: None };

pub fn routes() -> Routes {
    Routes::new()
        .route("/phonecall", get(list).post(create))
        .route("/phonecall/{id}", get(one).put(update).delete(delete))
}

async fn refs(st: &AppState, actor: Actor, rows: &[Call]) -> ApiResult<Refs> {
    let links: Vec<_> = rows.iter().map(|r| (r.company_id, r.contact_id, r.author_id)).collect();
    shapes::refs(st, actor, &links).await
}

fn render(c: &Call, r: &Refs) -> Value {
    json!({
        "id": c.id,
        "durationInS": c.duration_seconds.unwrap_or(0),
        "user": r.users.get(&c.author_id).map(|u| json!({ "id": u.id, "name": shapes::user_name(u) })),
        "type": null,
        "conversationUrl": c.recording_url,
        "contact": c.contact_id.and_then(|id| r.contacts.get(&id)).map(|p| json!({ "id": p.id, "name": p.display_name() })),
        "date": time(c.called_at),
        "status": i64::from(!c.missed),
        "phoneNumber": c.phone_number,
        "related": [],
        "client": c.company_id.and_then(|id| r.companies.get(&id)).map(|co| json!({ "id": co.id, "name": co.name })),
        "externalId": c.external_id,
        "regDate": time(c.created_at),
        "modDate": time(c.updated_at),
    })
}

async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let (p, page) = query::fetch::<Call>(&st, actor, q.as_deref(), &RESOURCE).await?;
    let r = refs(&st, actor, &page.rows).await?;
    let rows = page.rows.iter().map(|c| render(c, &r)).collect();
    Ok(wire::page(rows, page.total.unwrap_or(0), p.limit, p.offset))
}

async fn answer(st: &AppState, actor: Actor, c: &Call) -> ApiResult {
    let r = refs(st, actor, std::slice::from_ref(c)).await?;
    Ok(wire::one(render(c, &r)))
}

async fn one(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let c = st.crm.get::<Call>(actor, path_id(&raw, "phone call")?).await?;
    answer(&st, actor, &c).await
}

fn apply(b: &mut Body_, d: &mut CallDraft) {
    let contact = shapes::relation(b, "contact");
    let client = shapes::relation(b, "client");
    if contact.is_some() || client.is_some() {
        let current = d.subject;
        d.subject =
            contact.flatten().map(Subject::Contact).or_else(|| client.flatten().map(Subject::Company)).or_else(|| {
                // What was not sent stays.
                current.filter(|s| match s {
                    Subject::Contact(_) => contact.is_none(),
                    Subject::Company(_) => client.is_none(),
                    Subject::Deal(_) | Subject::Lead(_) => true,
                })
            });
    }
    if let Some(Some(user)) = shapes::relation(b, "user") {
        d.author_id = user;
    }
    match shapes::time_in(b, "date") {
        Some(Some(t)) => d.called_at = Some(t),
        Some(None) => b.error("date", "must be a time"),
        None => {}
    }
    if let Some(v) = b.integer("durationInS") {
        d.duration_seconds = v;
    }
    if let Some(v) = b.text("phoneNumber", PHONE_NUMBER_MAX) {
        d.phone_number = v;
    }
    if let Some(v) = b.text("externalId", EXTERNAL_ID_MAX) {
        d.external_id = v;
    }
    if let Some(v) = b.text("conversationUrl", RECORDING_URL_MAX) {
        d.recording_url = v;
    }
    if let Some(v) = b.integer("status") {
        match v {
            Some(0) => d.missed = true,
            Some(1) | None => d.missed = false,
            Some(_) => b.error("status", "must be 0 (missed) or 1 (answered)"),
        }
    }
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut b = shapes::read(&st, body).await?;
    let mut d = CallDraft::about(None, actor.user_id);
    d.via = Some("phone".into());
    apply(&mut b, &mut d);
    b.finish()?;
    let c = st.crm.create_call(actor, d).await?;
    answer(&st, actor, &c).await
}

async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>, body: Body) -> ApiResult {
    let c = st.crm.get::<Call>(actor, path_id(&raw, "phone call")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let mut d = c.draft();
    apply(&mut b, &mut d);
    b.finish()?;
    let c = st.crm.reattach_call(actor, c.id, d).await?;
    answer(&st, actor, &c).await
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    st.crm.delete::<Call>(actor, path_id(&raw, "phone call")?).await?;
    Ok(wire::deleted())
}
