//! `/crm/notes`: the shared model's `Note`, about an opportunity, a lead, a contact or a company
//! (the first of those a body names). Kith's notes have no title: `title` is always null, and
//! `filter[title]` is answered as an unsupported filter.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use kith_domain::engagements::{NoteDraft, Subject};
use kith_domain::model::Note;
use kith_domain::query::{Dir, Filter, Op};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{self, ListParams, ListSpec, by, filter_id, since};
use crate::shapes;
use crate::wire::{ApiError, ApiResult, envelope, id, opt_id, path_id, time};

/// The filters Kith serves (`title` is documented but notes have none).
const SPEC: ListSpec =
    ListSpec { resource: "notes", filters: &["owner_id", "updated_since", "created_since"], sorts: &[] };

pub fn routes() -> Routes {
    Routes::new().route("/notes", get(list).post(create)).route("/notes/{id}", get(one).patch(update).delete(delete))
}

pub fn render(n: &Note) -> Value {
    json!({
        "id": id(n.id),
        "title": null,
        "content": n.text,
        "owner_id": id(n.author_id),
        "contact_id": opt_id(n.contact_id),
        "company_id": opt_id(n.company_id),
        "opportunity_id": opt_id(n.deal_id),
        "lead_id": opt_id(n.lead_id),
        "active": true,
        "updated_by": null,
        "created_by": id(n.author_id),
        "updated_at": time(n.updated_at),
        "created_at": time(n.created_at),
    })
}

fn filter(p: &ListParams) -> ApiResult<Option<Filter>> {
    let mut all = Vec::new();
    for (name, value) in &p.filters {
        if value.is_empty() {
            continue;
        }
        all.push(match name.as_str() {
            "owner_id" => Filter::eq("author_id", filter_id(name, value)?),
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
    let mut query = p.query(&st, actor, SPEC.resource, vec![by("created_at", Dir::Asc)]).await?;
    query.filter = filter(&p)?;
    let page = st.crm.list::<Note>(actor, &query).await?;
    let previous = p.previous::<Note>(&st, actor, &query).await?;
    let rows = page.rows.iter().map(render).collect();
    params::answer(&st, actor, &headers, &p, SPEC.resource, rows, (page.next, previous)).await
}

async fn one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let note = st.crm.get::<Note>(actor, path_id(&raw, "note")?).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "one", params::sparse(render(&note), c.fields.as_deref()), c.raw))
}

/// The subject a body names: its opportunity, else lead, else contact, else company.
fn subject(b: &mut shapes::Body_) -> Option<Subject> {
    let deal = b.id("opportunity_id").flatten().map(Subject::Deal);
    let lead = b.id("lead_id").flatten().map(Subject::Lead);
    let contact = b.id("contact_id").flatten().map(Subject::Contact);
    let company = b.id("company_id").flatten().map(Subject::Company);
    deal.or(lead).or(contact).or(company)
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
    let text = b.text("content", 100_000).flatten();
    let subject = subject(&mut b);
    if subject.is_none() {
        b.error("contact_id", "a note is about an opportunity, lead, contact or company: give one of their ids");
    }
    b.finish()?;
    let Some(subject) = subject else { return Err(ApiError::bad_request("no subject")) };
    let d = NoteDraft { subject, text: text.unwrap_or_default(), date: None, deal_id: None };
    let note = st.crm.create_note(actor, d).await?;
    Ok(envelope(StatusCode::CREATED, SPEC.resource, "add", json!({ "id": id(note.id) }), c.raw))
}

async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let note = st.crm.get::<Note>(actor, path_id(&raw, "note")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let text = b.text("content", 100_000);
    let given = subject(&mut b);
    b.finish()?;
    let Some(subject) = given.or_else(|| note.links().subject()) else {
        return Err(ApiError::field("contact_id", "the note has no subject"));
    };
    let d = NoteDraft {
        subject,
        text: text.map_or_else(|| note.text.clone(), Option::unwrap_or_default),
        date: note.date.clone(),
        deal_id: note.deal_id,
    };
    let note = st.crm.update_note(actor, note.id, d).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "update", json!({ "id": id(note.id) }), c.raw))
}

async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let note_id = path_id(&raw, "note")?;
    st.crm.delete::<Note>(actor, note_id).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "delete", json!({ "id": id(note_id) }), c.raw))
}
