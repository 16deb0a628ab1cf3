//! `/crm/activities`: the shared model's calls (`type: call`), meetings (`meeting`) and tasks
//! (`task`, the model's actions) as one resource, as OnePage and Sell show them. Ids are unique
//! across the database, so an activity's id names its record whatever its type. Notes are
//! served at `/crm/notes`; other types (`email`, `deadline`, …) have no record in the model and
//! are refused on create.
//!
//! A list is three keyset pages (one per type, each paged in the database after the same
//! cursor, in the same order) merged: at most three times `limit` rows are read, at any depth.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use chrono::{DateTime, Utc};
use kith_domain::Actor;
use kith_domain::actions::TaskDraft;
use kith_domain::engagements::{CallDraft, MeetingDraft, Subject};
use kith_domain::model::{Action, Call, Meeting};
use kith_domain::query::{Cursor, Dir, Filter, ListQuery, Op, Page, Sort, Value as Key};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{self, ListParams, ListSpec, by, filter_id, since};
use crate::shapes;
use crate::wire::{ApiError, ApiResult, envelope, id, opt_id, path_id, time};

const SPEC: ListSpec = ListSpec {
    resource: "activities",
    filters: &["company_id", "owner_id", "contact_id", "updated_since", "type"],
    sorts: &["created_at", "updated_at"],
};

/// The types Kith keeps, and those Apideck names that it does not.
const SERVED: &[&str] = &["call", "meeting", "task"];
const NOT_KEPT: &[&str] = &["email", "note", "deadline", "send-letter", "send-quote", "other"];

pub fn routes() -> Routes {
    Routes::new()
        .route("/activities", get(list).post(create))
        .route("/activities/{id}", get(one).patch(update).delete(delete))
}

/// One activity, of whichever record.
enum Activity {
    Call(Call),
    Meeting(Meeting),
    Task(Action),
}

impl Activity {
    fn id(&self) -> i64 {
        match self {
            Activity::Call(c) => c.id,
            Activity::Meeting(m) => m.id,
            Activity::Task(a) => a.id,
        }
    }

    /// The time the list is sorted by (`created_at` or `updated_at`).
    fn key(&self, by: &str) -> DateTime<Utc> {
        let (created, updated) = match self {
            Activity::Call(c) => (c.created_at, c.updated_at),
            Activity::Meeting(m) => (m.created_at, m.updated_at),
            Activity::Task(a) => (a.created_at, a.updated_at),
        };
        if by == "updated_at" { updated } else { created }
    }
}

fn seconds_between(a: DateTime<Utc>, b: Option<DateTime<Utc>>) -> Value {
    b.map_or(Value::Null, |b| json!((b - a).num_seconds().max(0)))
}

fn render(a: &Activity) -> Value {
    match a {
        Activity::Call(c) => json!({
            "id": id(c.id),
            "type": "call",
            "title": null,
            "description": c.text,
            "activity_datetime": time(c.called_at),
            "duration_seconds": c.duration_seconds,
            "owner_id": id(c.author_id),
            "user_id": id(c.author_id),
            "contact_id": opt_id(c.contact_id),
            "company_id": opt_id(c.company_id),
            "opportunity_id": opt_id(c.deal_id),
            "lead_id": opt_id(c.lead_id),
            "done": true,
            "created_by": id(c.author_id),
            "updated_by": null,
            "updated_at": time(c.updated_at),
            "created_at": time(c.created_at),
        }),
        Activity::Meeting(m) => json!({
            "id": id(m.id),
            "type": "meeting",
            "title": null,
            "description": m.text,
            "location": m.place,
            "activity_datetime": time(m.starts_at),
            "start_datetime": time(m.starts_at),
            "end_datetime": m.ends_at.map(time),
            "duration_seconds": seconds_between(m.starts_at, m.ends_at),
            "owner_id": id(m.author_id),
            "user_id": id(m.author_id),
            "contact_id": opt_id(m.contact_id),
            "company_id": opt_id(m.company_id),
            "opportunity_id": opt_id(m.deal_id),
            "lead_id": opt_id(m.lead_id),
            "created_by": id(m.author_id),
            "updated_by": null,
            "updated_at": time(m.updated_at),
            "created_at": time(m.created_at),
        }),
        Activity::Task(t) => json!({
            "id": id(t.id),
            "type": "task",
            "title": t.text,
            "description": null,
            "activity_datetime": t.due_at().map(time),
            "done": t.status == "done",
            "reminder_datetime": t.remind_at.map(time),
            "reminder_set": t.remind_at.is_some(),
            "owner_id": id(t.assignee_id),
            "user_id": id(t.assignee_id),
            "contact_id": opt_id(t.contact_id),
            "company_id": opt_id(t.company_id),
            "opportunity_id": opt_id(t.deal_id),
            "lead_id": opt_id(t.lead_id),
            "created_by": opt_id(t.creator_id),
            "updated_by": null,
            "updated_at": time(t.updated_at),
            "created_at": time(t.created_at),
        }),
    }
}

/// The types a list reads, from `filter[type]` (any case; a type Kith keeps no record of lists
/// nothing).
fn types(p: &ListParams) -> Vec<&'static str> {
    match p.filter("type") {
        None => SERVED.to_vec(),
        Some(t) => SERVED.iter().copied().filter(|s| s.eq_ignore_ascii_case(t.trim())).collect(),
    }
}

/// The filter of `filter[...]` for the records of one type.
fn filter(p: &ListParams, kind: &str) -> ApiResult<Option<Filter>> {
    let owner = if kind == "task" { "assignee_id" } else { "author_id" };
    let mut all = Vec::new();
    for (name, value) in &p.filters {
        if value.is_empty() {
            continue;
        }
        all.push(match name.as_str() {
            "owner_id" => Filter::eq(owner, filter_id(name, value)?),
            "contact_id" => Filter::eq("contact_id", filter_id(name, value)?),
            "company_id" => Filter::eq("company_id", filter_id(name, value)?),
            "updated_since" => Filter::cmp("updated_at", Op::Gte, since(name, value)?),
            _ => continue,
        });
    }
    Ok((!all.is_empty()).then_some(Filter::All(all)))
}

/// The rows of one type for `q` (its cursor and order), and whether more follow.
async fn branch(st: &AppState, actor: Actor, kind: &str, q: &ListQuery) -> ApiResult<(Vec<Activity>, bool)> {
    Ok(match kind {
        "call" => {
            let page = st.crm.list::<Call>(actor, q).await?;
            (page.rows.into_iter().map(Activity::Call).collect(), page.next.is_some())
        }
        "meeting" => {
            let page = st.crm.list::<Meeting>(actor, q).await?;
            (page.rows.into_iter().map(Activity::Meeting).collect(), page.next.is_some())
        }
        _ => {
            let page = st.crm.list::<Action>(actor, q).await?;
            (page.rows.into_iter().map(Activity::Task).collect(), page.next.is_some())
        }
    })
}

/// The first `limit` rows of every type's page for `q`, merged in `q`'s order (`by` then the
/// id, ascending unless `id_desc`), and whether any row follows them.
async fn merged(
    st: &AppState,
    actor: Actor,
    p: &ListParams,
    q: &ListQuery,
    by_column: &str,
    dir: Dir,
    id_desc: bool,
) -> ApiResult<(Vec<Activity>, bool)> {
    let limit = match q.page {
        Page::After { limit, .. } | Page::Offset { limit, .. } => limit as usize,
    };
    let mut rows = Vec::new();
    let mut more = false;
    for kind in types(p) {
        let mut bq = q.clone();
        bq.filter = filter(p, kind)?;
        let (r, m) = branch(st, actor, kind, &bq).await?;
        rows.extend(r);
        more |= m;
    }
    rows.sort_by(|a, b| {
        let (ka, kb) = (a.key(by_column), b.key(by_column));
        let o = if dir == Dir::Asc { ka.cmp(&kb) } else { kb.cmp(&ka) };
        o.then_with(|| if id_desc { b.id().cmp(&a.id()) } else { a.id().cmp(&b.id()) })
    });
    if rows.len() > limit {
        more = true;
        rows.truncate(limit);
    }
    Ok((rows, more))
}

fn position(a: &Activity, by_column: &str) -> Cursor {
    Cursor { keys: vec![Key::Time(a.key(by_column))], id: a.id() }
}

async fn list(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = ListParams::parse(q.as_deref(), &SPEC)?;
    let (column, dir) = p.sort.unwrap_or(("created_at", Dir::Asc));
    let sorts: Vec<Sort> = vec![by(column, dir)];
    let query = p.query(&st, actor, SPEC.resource, sorts).await?;
    let (rows, more) = merged(&st, actor, &p, &query, column, dir, false).await?;
    let next = if more { rows.last().map(|a| position(a, column)) } else { None };
    // The page before: the rows before the cursor, read backwards in every type and merged.
    let previous = match params::reversed(&query) {
        None => None,
        Some(rq) => {
            let (back, more_back) = merged(&st, actor, &p, &rq, column, params::flip(dir), true).await?;
            let limit = p.limit as usize;
            Some(match back.get(limit.saturating_sub(1)) {
                Some(a) if more_back && back.len() == limit => position(a, column),
                _ => params::start(),
            })
        }
    };
    let rendered = rows.iter().map(render).collect();
    params::answer(&st, actor, &headers, &p, SPEC.resource, rendered, (next, previous)).await
}

/// The activity with this id, of whichever type.
async fn find(st: &AppState, actor: Actor, raw: &str) -> ApiResult<Activity> {
    let id = path_id(raw, "activity")?;
    if let Some(c) = st.crm.find::<Call>(actor, id).await? {
        return Ok(Activity::Call(c));
    }
    if let Some(m) = st.crm.find::<Meeting>(actor, id).await? {
        return Ok(Activity::Meeting(m));
    }
    if let Some(a) = st.crm.find::<Action>(actor, id).await? {
        return Ok(Activity::Task(a));
    }
    Err(ApiError::not_found("activity"))
}

async fn one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let a = find(&st, actor, &raw).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "one", params::sparse(render(&a), c.fields.as_deref()), c.raw))
}

/// The subject a body names: its opportunity, else lead, else contact, else company.
fn subject(b: &mut shapes::Body_) -> Option<Subject> {
    let deal = b.id("opportunity_id").flatten().map(Subject::Deal);
    let lead = b.id("lead_id").flatten().map(Subject::Lead);
    let contact = b.id("contact_id").flatten().map(Subject::Contact);
    let company = b.id("company_id").flatten().map(Subject::Company);
    deal.or(lead).or(contact).or(company)
}

/// An ISO 8601 date-time field (a date alone is its midnight, UTC); `Some(None)` when null.
fn datetime(b: &mut shapes::Body_, key: &str) -> Option<Option<DateTime<Utc>>> {
    let text = b.text(key, 64)?;
    match text {
        None => Some(None),
        Some(t) => match params::since(key, &t) {
            Ok(v) => Some(Some(v)),
            Err(_) => {
                b.error(key, "must be an ISO 8601 date-time");
                None
            }
        },
    }
}

/// The `type` a body gives, checked: one Kith keeps.
fn kind(b: &mut shapes::Body_) -> Option<Option<&'static str>> {
    let t = b.text("type", 50)?;
    match t.as_deref().map(str::to_ascii_lowercase) {
        None => Some(None),
        Some(t) => match SERVED.iter().find(|s| **s == t) {
            Some(s) => Some(Some(s)),
            None => {
                let why = if NOT_KEPT.contains(&t.as_str()) {
                    "is not kept as an activity by Kith: activities are calls, meetings and tasks (notes are at /crm/notes)"
                } else {
                    "must be call, meeting or task"
                };
                b.error("type", why);
                None
            }
        },
    }
}

/// What a body says of an activity; absent fields are `None`.
struct Given {
    subject: Option<Subject>,
    title: Option<Option<String>>,
    description: Option<Option<String>>,
    note: Option<Option<String>>,
    location: Option<Option<String>>,
    activity_at: Option<Option<DateTime<Utc>>>,
    start_at: Option<Option<DateTime<Utc>>>,
    end_at: Option<Option<DateTime<Utc>>>,
    reminder_at: Option<Option<DateTime<Utc>>>,
    duration_seconds: Option<Option<i64>>,
    owner_id: Option<Option<i64>>,
    done: Option<bool>,
}

fn given(b: &mut shapes::Body_) -> Given {
    Given {
        subject: subject(b),
        title: b.text("title", 10_000),
        description: b.text("description", 10_000),
        note: b.text("note", 10_000),
        location: b.text("location", 1000),
        activity_at: datetime(b, "activity_datetime"),
        start_at: datetime(b, "start_datetime"),
        end_at: datetime(b, "end_datetime"),
        reminder_at: datetime(b, "reminder_datetime"),
        duration_seconds: b.integer("duration_seconds"),
        owner_id: b.id("owner_id"),
        done: b.boolean("done"),
    }
}

impl Given {
    /// The text of a call or meeting: the description, else the title, else the note.
    fn text(&self) -> Option<Option<String>> {
        self.description.clone().or_else(|| self.title.clone()).or_else(|| self.note.clone())
    }
    /// When a call happened or a meeting starts.
    fn at(&self) -> Option<Option<DateTime<Utc>>> {
        self.start_at.or(self.activity_at)
    }
}

fn call_draft(g: &Given, mut d: CallDraft) -> CallDraft {
    if g.subject.is_some() {
        d.subject = g.subject;
    }
    if let Some(owner) = g.owner_id.flatten() {
        d.author_id = owner;
    }
    if let Some(t) = g.text() {
        d.text = t;
    }
    if let Some(at) = g.activity_at.or(g.start_at).flatten() {
        d.called_at = Some(at);
    }
    if let Some(s) = g.duration_seconds {
        d.duration_seconds = s;
    }
    d
}

fn meeting_draft(g: &Given, mut d: MeetingDraft) -> MeetingDraft {
    if let Some(t) = g.text() {
        d.text = t;
    }
    if let Some(place) = &g.location {
        d.place = place.clone();
    }
    if let Some(at) = g.at().flatten() {
        d.starts_at = Some(at);
    }
    d
}

fn task_draft(g: &Given, mut d: TaskDraft) -> TaskDraft {
    if g.subject.is_some() {
        d.subject = g.subject;
    }
    if let Some(owner) = g.owner_id.flatten() {
        d.assignee_id = owner;
    }
    if let Some(t) = g.title.clone().or_else(|| g.description.clone()) {
        d.text = t.unwrap_or_default();
    }
    if let Some(due) = g.activity_at.or(g.end_at) {
        d.due = due;
    }
    if let Some(done) = g.done {
        d.completed = done;
    }
    if let Some(r) = g.reminder_at {
        d.remind_at = r;
    }
    d
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

async fn add(st: &AppState, actor: Actor, q: Option<String>, body: Body) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let mut b = shapes::read(st, body).await?;
    let kind = kind(&mut b).flatten();
    if kind.is_none() && !b.has("type") {
        b.error("type", "is required (call, meeting or task)");
    }
    let g = given(&mut b);
    if kind == Some("meeting") && g.subject.is_none() {
        b.error("contact_id", "a meeting is with an opportunity, lead, contact or company: give one of their ids");
    }
    b.finish()?;
    let id = match kind {
        Some("call") => st.crm.create_call(actor, call_draft(&g, CallDraft::about(None, actor.user_id))).await?.id,
        Some("meeting") => {
            let Some(subject) = g.subject else { return Err(ApiError::field("contact_id", "is required")) };
            st.crm.create_meeting(actor, meeting_draft(&g, MeetingDraft::about(subject))).await?.id
        }
        Some(_) => {
            let d = TaskDraft {
                subject: None,
                assignee_id: actor.user_id,
                text: String::new(),
                due: None,
                completed: false,
                remind_at: None,
            };
            st.crm.create_task(actor, task_draft(&g, d)).await?.id
        }
        None => return Err(ApiError::field("type", "is required (call, meeting or task)")),
    };
    Ok(envelope(StatusCode::CREATED, SPEC.resource, "add", json!({ "id": id.to_string() }), c.raw))
}

async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let found = find(&st, actor, &raw).await?;
    let mut b = shapes::read(&st, body).await?;
    let kind = kind(&mut b).flatten();
    let g = given(&mut b);
    let current = match &found {
        Activity::Call(_) => "call",
        Activity::Meeting(_) => "meeting",
        Activity::Task(_) => "task",
    };
    if kind.is_some_and(|k| k != current) {
        b.error("type", format!("cannot be changed: the activity is a {current}"));
    }
    b.finish()?;
    let id = match found {
        Activity::Call(call) => {
            let d = call_draft(&g, call.draft());
            if g.subject.is_some() {
                st.crm.reattach_call(actor, call.id, d).await?.id
            } else {
                st.crm.update_call(actor, call.id, d).await?.id
            }
        }
        Activity::Meeting(m) => {
            let Some(subject) = g.subject.or_else(|| m.links().subject()) else {
                return Err(ApiError::field("contact_id", "the meeting has no subject"));
            };
            let d = MeetingDraft {
                subject,
                text: m.text.clone(),
                place: m.place.clone(),
                starts_at: Some(m.starts_at),
                outcome_id: m.outcome_id,
            };
            st.crm.update_meeting(actor, m.id, meeting_draft(&g, d)).await?.id
        }
        Activity::Task(a) => st.crm.update_task(actor, a.id, task_draft(&g, a.task_draft())).await?.id,
    };
    Ok(envelope(StatusCode::OK, SPEC.resource, "update", json!({ "id": id.to_string() }), c.raw))
}

async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let id = match find(&st, actor, &raw).await? {
        Activity::Call(call) => {
            st.crm.delete::<Call>(actor, call.id).await?;
            call.id
        }
        Activity::Meeting(m) => {
            st.crm.delete::<Meeting>(actor, m.id).await?;
            m.id
        }
        Activity::Task(a) => {
            st.crm.delete::<Action>(actor, a.id).await?;
            a.id
        }
    };
    Ok(envelope(StatusCode::OK, SPEC.resource, "delete", json!({ "id": id.to_string() }), c.raw))
}
