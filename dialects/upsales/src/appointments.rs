//! `/appointments`: Upsales' meetings, the shared model's meetings — the rows OnePage shows as
//! meetings and Sell as visits. An appointment is about its opportunity, else its first contact,
//! else its client (which then reads as the contact's company); its first user holds it;
//! `date` and `endDate` are when it starts and ends, `location` where.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::appointments::AppointmentDraft;
use kith_domain::engagements::{ENGAGEMENT_TEXT_MAX, MEETING_PLACE_MAX, MeetingDraft, Subject};
use kith_domain::model::Meeting;
use kith_http::{AppState, Routes};
use serde_json::{Value, json};

use crate::accounts::{CLIENT, client_ref};
use crate::auth::Caller;
use crate::query::{self, Attr, Kind, Resource, col, constant, link};
use crate::shapes::{self, Body_, Labels, Refs};
use crate::wire::{self, ApiResult, opt_time, path_id, time};

const ATTRS: &[Attr] = &[
    col("id", "id", Kind::Int),
    col("description", "text", Kind::Text),
    col("location", "place", Kind::Text),
    col("date", "starts_at", Kind::Time),
    col("endDate", "ends_at", Kind::Time),
    col("regDate", "created_at", Kind::Time),
    col("modDate", "updated_at", Kind::Time),
    col("client.id", "company_id", Kind::Int),
    col("contacts.id", "contact_id", Kind::Int),
    col("contact.id", "contact_id", Kind::Int),
    col("opportunity.id", "deal_id", Kind::Int),
    col("users.id", "author_id", Kind::Int),
    col("user.id", "author_id", Kind::Int),
    constant("isAppointment", Some(1)),
    constant("private", Some(0)),
    link("activityType.id", kith_domain::links::TYPE),
    link("project.id", kith_domain::links::CAMPAIGN),
    link("projects.id", kith_domain::links::CAMPAIGN),
];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[CLIENT], custom_kind: None };

pub fn routes() -> Routes {
    Routes::new()
        .route("/appointments", get(list).post(create))
        .route("/appointments/{id}", get(one).put(update).delete(delete))
}

async fn refs(st: &AppState, actor: Actor, rows: &[Meeting]) -> ApiResult<Refs> {
    let links: Vec<_> = rows.iter().map(|r| (r.company_id, r.contact_id, r.author_id)).collect();
    shapes::refs(st, actor, &links).await
}

fn render(m: &Meeting, r: &Refs, labels: &Labels) -> Value {
    let contacts: Vec<Value> =
        m.contact_id.and_then(|id| r.contacts.get(&id)).map(shapes::contact_ref).into_iter().collect();
    let host = shapes::user_ref(&r.users, Some(m.author_id));
    json!({
        "id": m.id,
        "description": m.text,
        "notes": null,
        "date": time(m.starts_at),
        "endDate": opt_time(m.ends_at),
        "location": m.place,
        "client": client_ref(&r.companies, &r.users, m.company_id),
        "contacts": contacts,
        "users": if host.is_null() { json!([]) } else { json!([host]) },
        "regBy": host,
        "opportunity": m.deal_id.map(|id| json!({ "id": id })),
        "project": labels.project(m.id),
        "activityType": match labels.choice(m.id, kith_domain::links::TYPE) {
            Value::Object(mut t) => {
                t.insert("first".into(), json!(0));
                Value::Object(t)
            }
            other => other,
        },
        "clientConnection": null,
        "private": 0,
        "isAppointment": 1,
        "regDate": time(m.created_at),
        "modDate": time(m.updated_at),
        "custom": [],
        "userRemovable": true,
        "userEditable": true,
    })
}

async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let (p, page) = query::fetch::<Meeting>(&st, actor, q.as_deref(), &RESOURCE).await?;
    let r = refs(&st, actor, &page.rows).await?;
    let labels = Labels::of(&st, actor, page.rows.iter().map(|m| m.id)).await?;
    let rows = page.rows.iter().map(|m| render(m, &r, &labels)).collect();
    Ok(wire::page(rows, page.total.unwrap_or(0), p.limit, p.offset))
}

async fn answer(st: &AppState, actor: Actor, m: &Meeting) -> ApiResult {
    let r = refs(st, actor, std::slice::from_ref(m)).await?;
    let labels = Labels::of(st, actor, [m.id]).await?;
    Ok(wire::one(render(m, &r, &labels)))
}

async fn one(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let m = st.crm.get::<Meeting>(actor, path_id(&raw, "appointment")?).await?;
    answer(&st, actor, &m).await
}

fn apply(b: &mut Body_, d: &mut AppointmentDraft) {
    if let Some(v) = b.text("description", ENGAGEMENT_TEXT_MAX) {
        d.meeting.text = v;
    }
    if let Some(v) = b.text("location", MEETING_PLACE_MAX) {
        d.meeting.place = v;
    }
    match shapes::time_in(b, "date") {
        Some(Some(t)) => d.meeting.starts_at = Some(t),
        Some(None) => b.error("date", "is required"),
        None => {}
    }
    if let Some(v) = shapes::time_in(b, "endDate") {
        d.ends_at = v;
    }
    if let Some(users) = shapes::relations(b, "users")
        && let Some(first) = users.first()
    {
        d.host_id = *first;
    }
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut b = shapes::read(&st, body).await?;
    let subject = shapes::subject(&mut b, None).flatten();
    if subject.is_none() {
        b.error("client", "is required (or contacts, or opportunity)");
    }
    // Without a subject the body's errors are reported before the draft is used.
    let subject = subject.unwrap_or(Subject::Company(0));
    let mut d = AppointmentDraft { meeting: MeetingDraft::about(subject), ends_at: None, host_id: actor.user_id };
    if !b.has("date") {
        b.error("date", "is required");
    }
    apply(&mut b, &mut d);
    let links = shapes::type_and_project_in(&mut b);
    b.finish()?;
    let m = st.crm.create_appointment_linked(actor, d, &links).await?;
    answer(&st, actor, &m).await
}

async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>, body: Body) -> ApiResult {
    let m = st.crm.get::<Meeting>(actor, path_id(&raw, "appointment")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let Some(mut d) = m.appointment_draft() else {
        return Err(wire::ApiError::field("client", "the appointment is about no one"));
    };
    if let Some(Some(subject)) = shapes::subject(&mut b, Some(d.meeting.subject)) {
        d.meeting.subject = subject;
    }
    apply(&mut b, &mut d);
    let links = shapes::type_and_project_in(&mut b);
    b.finish()?;
    let m = st.crm.update_appointment_linked(actor, m.id, d, &links).await?;
    answer(&st, actor, &m).await
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    st.crm.delete::<Meeting>(actor, path_id(&raw, "appointment")?).await?;
    Ok(wire::deleted())
}
