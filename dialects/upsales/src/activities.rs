//! `/activities`: Upsales' tasks (to-dos and phone-call tasks), the shared model's actions — the
//! same rows OnePage shows as next actions and Sell as tasks. An activity is about its
//! opportunity, else its first contact, else its client; its first user is the assignee; a
//! `closeDate` closes it (null reopens it). `date` (and `time`) is when it is due.

use kith_http::Routes;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use kith_domain::Actor;
use kith_domain::actions::{ACTION_TEXT_MAX, TaskDraft};
use kith_domain::model::Action;
use kith_http::AppState;
use serde_json::{Value, json};

use crate::accounts::{CLIENT, client_ref};
use crate::auth::Caller;
use crate::query::{Attr, Kind, ListParams, Resource, col, constant, link};
use crate::shapes::{self, Body_, Labels, Refs};
use crate::wire::{self, ApiResult, path_id, time};

const ATTRS: &[Attr] = &[
    col("id", "id", Kind::Int),
    col("description", "text", Kind::Text),
    col("date", "date", Kind::Date),
    col("closeDate", "done_at", Kind::Time),
    col("regDate", "created_at", Kind::Time),
    col("modDate", "updated_at", Kind::Time),
    col("client.id", "company_id", Kind::Int),
    col("contacts.id", "contact_id", Kind::Int),
    col("contact.id", "contact_id", Kind::Int),
    col("opportunity.id", "deal_id", Kind::Int),
    col("users.id", "assignee_id", Kind::Int),
    col("user.id", "assignee_id", Kind::Int),
    constant("isAppointment", Some(0)),
    constant("priority", Some(0)),
    link("activityType.id", kith_domain::links::TYPE),
    link("project.id", kith_domain::links::CAMPAIGN),
    link("projects.id", kith_domain::links::CAMPAIGN),
];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[CLIENT], custom_kind: None };

pub fn routes() -> Routes {
    Routes::new()
        .route("/activities", get(list).post(create))
        .route("/activities/{id}", get(one).put(update).delete(delete))
}

async fn refs(st: &AppState, actor: Actor, rows: &[Action]) -> ApiResult<Refs> {
    let links: Vec<_> = rows.iter().map(|r| (r.company_id, r.contact_id, r.assignee_id)).collect();
    shapes::refs(st, actor, &links).await
}

fn render(a: &Action, r: &Refs, labels: &Labels) -> Value {
    let contacts: Vec<Value> = a
        .contact_id
        .and_then(|id| r.contacts.get(&id))
        .map(|p| json!({ "id": p.id, "name": p.display_name(), "email": p.email }))
        .into_iter()
        .collect();
    let user = shapes::user_ref(&r.users, Some(a.assignee_id));
    json!({
        "id": a.id,
        "description": a.text,
        "notes": null,
        "date": a.date,
        "time": a.exact_time.map(|t| t.format("%H:%M").to_string()),
        "closeDate": a.done_at.map(time),
        "closeTime": a.done_at.map(|t| t.format("%H:%M").to_string()),
        "client": client_ref(&r.companies, &r.users, a.company_id),
        "contacts": contacts,
        "users": if user.is_null() { json!([]) } else { json!([user]) },
        "opportunity": a.deal_id.map(|id| json!({ "id": id })),
        "project": labels.project(a.id),
        "activityType": labels.choice(a.id, kith_domain::links::TYPE),
        "regDate": time(a.created_at),
        "regBy": shapes::user_ref(&r.users, a.creator_id),
        "modDate": time(a.updated_at),
        "isAppointment": 0,
        "priority": 0,
        "custom": [],
        "outcomes": [],
        "phoneCalls": [],
        "lastOutcome": null,
        "parentActivityId": null,
        "parentAppointmentId": null,
        "userEditable": true,
        "userRemovable": true,
    })
}

async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let p = ListParams::parse(q.as_deref())?;
    let defs = p.defs(&st, actor, &RESOURCE).await?;
    let query = p.query(&RESOURCE, &defs)?;
    let page = st.crm.list::<Action>(actor, &query).await?;
    let r = refs(&st, actor, &page.rows).await?;
    let labels = Labels::of(&st, actor, page.rows.iter().map(|a| a.id)).await?;
    let rows = page.rows.iter().map(|a| render(a, &r, &labels)).collect();
    Ok(wire::page(rows, page.total.unwrap_or(0), p.limit, p.offset))
}

async fn answer(st: &AppState, actor: Actor, a: &Action) -> ApiResult {
    let r = refs(st, actor, std::slice::from_ref(a)).await?;
    let labels = Labels::of(st, actor, [a.id]).await?;
    Ok(wire::one(render(a, &r, &labels)))
}

async fn one(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let a = st.crm.get::<Action>(actor, path_id(&raw, "activity")?).await?;
    answer(&st, actor, &a).await
}

/// A due time from `date` (a day or a full time) and `time` (`HH:MM`); a day alone is its noon
/// UTC, so it stays that day in every time zone a client shows it in.
fn due(b: &mut Body_, current: Option<chrono::DateTime<Utc>>) -> Option<Option<chrono::DateTime<Utc>>> {
    let date = match b.raw("date")? {
        Value::Null => return Some(None),
        Value::String(s) if s.trim().is_empty() => return Some(None),
        Value::String(s) => s.trim().to_owned(),
        _ => {
            b.error("date", "must be a date (YYYY-MM-DD)");
            return None;
        }
    };
    if let Some(t) = crate::query::time(&date).filter(|_| date.len() > 10) {
        return Some(Some(t));
    }
    let Ok(day) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
        b.error("date", "must be a date (YYYY-MM-DD)");
        return None;
    };
    let at = match b.text("time", 8).flatten() {
        Some(t) => {
            match NaiveTime::parse_from_str(&t, "%H:%M").or_else(|_| NaiveTime::parse_from_str(&t, "%H:%M:%S")) {
                Ok(t) => t,
                Err(_) => {
                    b.error("time", "must be a time (HH:MM)");
                    return None;
                }
            }
        }
        None => current.map(|c| c.time()).unwrap_or_else(|| NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default()),
    };
    Some(Some(Utc.from_utc_datetime(&day.and_time(at))))
}

fn apply(b: &mut Body_, d: &mut TaskDraft, current: Option<&Action>) {
    if let Some(v) = b.text("description", ACTION_TEXT_MAX * 4) {
        d.text = v.unwrap_or_default();
    }
    if let Some(users) = shapes::relations(b, "users")
        && let Some(first) = users.first()
    {
        d.assignee_id = *first;
    }
    if let Some(user) = shapes::relation(b, "user").flatten() {
        d.assignee_id = user;
    }
    if let Some(v) = due(b, current.and_then(Action::due_at)) {
        d.due = v;
    }
    if b.has("closeDate") {
        d.completed = !matches!(b.raw("closeDate"), Some(Value::Null));
    }
    if let Some(subject) = shapes::subject(b, current.and_then(|a| a.links().subject())) {
        d.subject = subject;
    }
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut b = shapes::read(&st, body).await?;
    let mut d = TaskDraft {
        subject: None,
        assignee_id: actor.user_id,
        text: String::new(),
        due: None,
        completed: false,
        remind_at: None,
    };
    apply(&mut b, &mut d, None);
    let links = shapes::type_and_project_in(&mut b);
    if !b.has("description") {
        b.error("description", "is required");
    }
    b.finish()?;
    let a = st.crm.create_task_linked(actor, d, &links).await?;
    answer(&st, actor, &a).await
}

async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>, body: Body) -> ApiResult {
    let a = st.crm.get::<Action>(actor, path_id(&raw, "activity")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let mut d = a.task_draft();
    apply(&mut b, &mut d, Some(&a));
    let links = shapes::type_and_project_in(&mut b);
    b.finish()?;
    let a = st.crm.update_task_linked(actor, a.id, d, &links).await?;
    answer(&st, actor, &a).await
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    st.crm.delete::<Action>(actor, path_id(&raw, "activity")?).await?;
    Ok(wire::deleted())
}
