//! `/tasks`: the model's actions seen as Sell tasks. A task is *related* (about a contact, a lead
//! or a deal) or *floating* (about nothing). A `due_date` makes a timed action (OnePage's
//! `date_time`); none makes an undated open one (`actions::UNDATED_TASK_STATUS`). `completed`
//! completes the action, keeping the status it returns to when un-completed.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use chrono::Utc;
use kith_domain::Actor;
use kith_domain::actions::{ACTION_TEXT_MAX, TaskDraft, overdue_filter};
use kith_domain::engagements::no_subject_filter;
use kith_domain::model::Action;
use kith_domain::query::{Field, Filter, Op, Sort};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::resources::{self, CONTACT, DEAL, LEAD, read_time, sell_error};
use crate::wire::{ApiError, ApiResult, collection, one, time};

const TYPES: &[&str] = &[CONTACT, LEAD, DEAL];
const RENAMES: &[(&str, &str)] = &[("text", "content"), ("assignee_id", "owner_id")];

pub fn routes() -> Routes {
    Routes::new().route("/tasks", get(list).post(create)).route("/tasks/{id}", get(get_one).put(update).delete(delete))
}

fn render(a: &Action) -> Value {
    let mut v = json!({
        "id": a.id,
        // Actions made before creators were recorded: their assignee made them, as far as is known.
        "creator_id": a.creator_id.unwrap_or(a.assignee_id),
        "owner_id": a.assignee_id,
        "content": a.text,
        "completed": a.status == "done",
        "completed_at": a.done_at.map(time),
        "due_date": a.due_at().map(time),
        "overdue": a.is_overdue(Utc::now()),
        "remind_at": a.remind_at.map(time),
        "created_at": time(a.created_at),
        "updated_at": time(a.updated_at),
    });
    resources::put(&mut v, a.links());
    v
}

/// Applies the attributes sent to `d`; `current` is what the task is about now.
async fn apply(
    st: &AppState,
    actor: Actor,
    data: &mut Data,
    d: &mut TaskDraft,
    current: Option<kith_domain::engagements::Subject>,
) -> ApiResult<()> {
    match data.text("content", ACTION_TEXT_MAX) {
        Some(Some(c)) => d.text = c,
        Some(None) => data.error("content", "can't be blank"),
        None => {}
    }
    match data.id("owner_id") {
        Some(Some(owner)) => d.assignee_id = owner,
        Some(None) => data.error("owner_id", "can't be blank"),
        None => {}
    }
    if let Some(v) = data.boolean("completed") {
        d.completed = v;
    }
    if let Some(due) = read_time(data, "due_date") {
        d.due = due;
    }
    if let Some(remind) = read_time(data, "remind_at") {
        d.remind_at = match (remind, d.remind_at) {
            (Some(sent), Some(now)) => Some(resources::same_second(sent, now)),
            (sent, _) => sent,
        };
    }
    if let Some(subject) = resources::read(&st.crm, actor, data, TYPES, current).await? {
        d.subject = subject;
    }
    Ok(())
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    if !data.has("content") {
        data.error("content", "can't be blank");
    }
    let mut d = TaskDraft {
        subject: None,
        assignee_id: actor.user_id,
        text: String::new(),
        due: None,
        completed: false,
        remind_at: None,
    };
    apply(&st, actor, &mut data, &mut d, None).await?;
    data.finish()?;
    let task = st.crm.create_task(actor, d).await.map_err(|e| sell_error(e, RENAMES))?;
    Ok(one(StatusCode::OK, "task", render(&task)))
}

async fn get_one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let task = st.crm.get::<Action>(actor, path_id(&id, "task")?).await?;
    Ok(one(StatusCode::OK, "task", render(&task)))
}

/// `PUT`: changes only the attributes sent; `completed: false` reopens a completed task.
async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, body: Body) -> ApiResult {
    let task = st.crm.get::<Action>(actor, path_id(&id, "task")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let mut d = task.task_draft();
    apply(&st, actor, &mut data, &mut d, task.links().subject()).await?;
    data.finish()?;
    let task = st.crm.update_task(actor, task.id, d).await.map_err(|e| sell_error(e, RENAMES))?;
    Ok(one(StatusCode::OK, "task", render(&task)))
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    st.crm.delete::<Action>(actor, path_id(&id, "task")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /tasks`: filters `ids`, `completed`, `creator_id`, `owner_id`, `overdue`, `q` (in the
/// content), `remind` (with or without a reminder), `type` (`floating` or `related`),
/// `resource_type`, `resource_id`; `sort_by` `id`, `created_at`, `updated_at` (the default),
/// `due_date`, `completed_at` and `resource_type`.
async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(
        raw.as_deref(),
        &["completed", "creator_id", "owner_id", "overdue", "q", "remind", "type", "resource_type", "resource_id"],
    )?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    match params.flag("completed")? {
        Some(true) => q = q.filter(Filter::eq("status", "done")),
        Some(false) => q = q.filter(Filter::cmp("status", Op::Ne, "done")),
        None => {}
    }
    if let Some(creator) = params.int("creator_id")? {
        // As rendered: an action without a recorded creator was made by its assignee.
        q = q.filter(Filter::Any(vec![
            Filter::eq("creator_id", creator),
            Filter::All(vec![Filter::IsNull(Field::col("creator_id")), Filter::eq("assignee_id", creator)]),
        ]));
    }
    if let Some(owner) = params.int("owner_id")? {
        q = q.filter(Filter::eq("assignee_id", owner));
    }
    match params.flag("overdue")? {
        Some(true) => q = q.filter(overdue_filter(Utc::now())),
        Some(false) => q = q.filter(Filter::Not(Box::new(overdue_filter(Utc::now())))),
        None => {}
    }
    if let Some(text) = params.get("q").filter(|s| !s.is_empty()) {
        q = q.filter(Filter::cmp("text", Op::Contains, text));
    }
    match params.flag("remind")? {
        Some(true) => q = q.filter(Filter::IsNotNull(Field::col("remind_at"))),
        Some(false) => q = q.filter(Filter::IsNull(Field::col("remind_at"))),
        None => {}
    }
    match params.get("type").filter(|s| !s.is_empty()) {
        None => {}
        Some("floating") => q = q.filter(no_subject_filter(true)),
        Some("related") => q = q.filter(Filter::Not(Box::new(no_subject_filter(true)))),
        Some(_) => return Err(ApiError::bad_request("type must be floating or related")),
    }
    if let Some(f) = resources::filter(&params, TYPES, false, true)? {
        q = q.filter(f);
    }
    let mut rows = match resources::type_sort(&params) {
        Some(dir) => resources::page_by_type(&st.crm, actor, &q, paging, dir).await?,
        None => {
            let allowed = [
                ("id", "id"),
                ("created_at", "created_at"),
                ("updated_at", "updated_at"),
                ("due_date", "date"),
                ("completed_at", "done_at"),
                ("resource_type", "id"),
            ];
            let sort = params.sort(&allowed, |_| None)?.unwrap_or_else(|| Sort::asc("updated_at"));
            // A due date is a day, then a time within it (dated actions have no time).
            let then =
                (sort.field == Field::col("date")).then(|| Sort { field: Field::col("exact_time"), dir: sort.dir });
            q = q.sort(sort);
            if let Some(then) = then {
                q = q.sort(then);
            }
            st.crm.list::<Action>(actor, &q).await?.rows
        }
    };
    let links = paging.links("/v2/tasks", &mut rows);
    Ok(collection("task", rows.iter().map(render).collect(), links))
}

/// The Sync API's view of a task: `("task", data)` while it is live.
#[allow(dead_code, reason = "the Sync API's to call")]
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    Ok(st.crm.find::<Action>(actor, id).await?.map(|a| ("task", render(&a))))
}
