//! `/actions`, the per-contact and per-company action lists, `/action_stream` and `/team_stream`.
//!
//! OnePage's actions are each with a person. Tasks made elsewhere about no person (a Sell task on
//! an organisation or a lead, or on nothing) are not OnePage's to see: lists leave them out and
//! their ids are not found here.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::actions::{ACTION_STATUSES, ActionDraft, StreamOf, StreamQuery, stream_sorts};
use kith_domain::companies::about_people_of;
use kith_domain::model::{Action, Company, Contact};
use kith_domain::query::{Field, Filter, ListQuery, Op};
use kith_domain::{Actor, DomainError};
use kith_http::AppState;
use serde_json::json;

use crate::auth::Caller;
use crate::input::Input;
use crate::params::{Params, path_id, read_input};
use crate::render::action::{action_data, render_action};
use crate::wire::{ApiError, ApiResult, ok};

/// One action OnePage can show: one with a person.
async fn action_of(st: &AppState, actor: Actor, id: i64) -> ApiResult<Action> {
    let action = st.crm.get::<Action>(actor, id).await?;
    match action.contact_id {
        Some(_) => Ok(action),
        None => Err(DomainError::NotFound { kind: "action" }.into()),
    }
}

/// Reads an action body over `base`: with `partial`, absent fields keep `base`'s values;
/// otherwise they take their defaults.
fn read_draft(input: &mut Input, actor: Actor, base: ActionDraft, partial: bool) -> ActionDraft {
    let mut d = if partial {
        base
    } else {
        ActionDraft {
            contact_id: base.contact_id,
            assignee_id: actor.user_id,
            text: String::new(),
            status: "date".into(),
            date: None,
            exact_time: None,
            position: 0,
        }
    };
    if let Some(v) = input.id("contact_id") {
        match v {
            Some(id) => d.contact_id = id,
            None => input.error("contact_id", "is required"),
        }
    }
    if let Some(v) = input.id("assignee_id") {
        d.assignee_id = v.unwrap_or(actor.user_id);
    }
    if let Some(v) = input.text("text", kith_domain::actions::ACTION_TEXT_MAX) {
        d.text = v.unwrap_or_default();
    }
    if let Some(v) = input.one_of("status", ACTION_STATUSES) {
        d.status = v.unwrap_or_else(|| "date".into());
    }
    if let Some(v) = input.date("date") {
        d.date = v;
    }
    if let Some(v) = input.unix_time("exact_time") {
        d.exact_time = v;
    }
    if let Some(v) = input.integer("position") {
        d.position = v.unwrap_or(0);
    }
    d
}

async fn create_for(st: &AppState, actor: Actor, contact_id: Option<i64>, body: Body) -> ApiResult {
    let mut input = read_input(st, body).await?;
    let base = ActionDraft {
        contact_id: contact_id.unwrap_or_default(),
        assignee_id: actor.user_id,
        text: String::new(),
        status: "date".into(),
        date: None,
        exact_time: None,
        position: 0,
    };
    if contact_id.is_none() && !input.has("contact_id") {
        input.error("contact_id", "is required");
    }
    let mut d = read_draft(&mut input, actor, base, false);
    if let Some(id) = contact_id {
        d.contact_id = id;
    }
    input.finish()?;
    let action = st.crm.create_action(actor, d).await?;
    Ok(ok(StatusCode::CREATED, action_data(&action)))
}

pub async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    create_for(&st, actor, None, body).await
}

pub async fn create_for_contact(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let contact = st.crm.get::<Contact>(actor, path_id(&id, "contact")?).await?;
    create_for(&st, actor, Some(contact.id), body).await
}

pub async fn get(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let action = action_of(&st, actor, path_id(&id, "action")?).await?;
    Ok(ok(StatusCode::OK, action_data(&action)))
}

pub async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let id = path_id(&id, "action")?;
    let partial = params.flag("partial")?.unwrap_or(false);
    let done = params.flag("done")?.unwrap_or(false);
    let existing = action_of(&st, actor, id).await?;
    let mut input = read_input(&st, body).await?;
    let mut d = read_draft(&mut input, actor, existing.draft(), partial);
    input.finish()?;
    if done {
        d.status = "done".into();
    }
    let action = st.crm.update_action(actor, id, d).await?;
    Ok(ok(StatusCode::OK, action_data(&action)))
}

pub async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = path_id(&id, "action")?;
    if st.crm.find_any::<Action>(actor, id).await?.and_then(|a| a.contact_id).is_none() {
        return Err(DomainError::NotFound { kind: "action" }.into());
    }
    if Params::parse(raw.as_deref()).flag("undo")?.unwrap_or(false) {
        let action = st.crm.restore::<Action>(actor, id).await?;
        return Ok(ok(StatusCode::OK, action_data(&action)));
    }
    st.crm.delete::<Action>(actor, id).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

/// The operations `PUT /actions/{id}/<operation>`.
#[derive(Clone, Copy)]
pub enum Operation {
    Unassign,
    MarkAsDone,
    UndoCompletion,
    Unlink,
    Promote,
    RevertPromotion,
    Swap,
}

pub async fn operate(st: AppState, actor: Actor, id: String, op: Operation) -> ApiResult {
    let id = path_id(&id, "action")?;
    action_of(&st, actor, id).await?;
    let crm = &st.crm;
    let action = match op {
        Operation::Unassign => crm.unassign_action(actor, id).await?,
        Operation::MarkAsDone => crm.complete_action(actor, id).await?,
        Operation::UndoCompletion => crm.undo_action_completion(actor, id).await?,
        Operation::Promote => crm.promote_action(actor, id).await?,
        Operation::Swap => crm.swap_action(actor, id).await?,
        // Kith's actions never mirror an external event, and a promotion cannot be reverted (as
        // on OnePage): both answer with the action unchanged.
        Operation::Unlink | Operation::RevertPromotion => crm.get::<Action>(actor, id).await?,
    };
    Ok(ok(StatusCode::OK, action_data(&action)))
}

/// `GET /actions` and its per-contact and per-company forms.
async fn list_actions(st: &AppState, actor: Actor, params: &Params, scope: Option<Filter>) -> ApiResult {
    let paging = params.paging()?;
    let mut q = ListQuery::all().filter(Filter::IsNotNull(Field::col("contact_id")));
    if let Some(f) = scope {
        q = q.filter(f);
    }
    match params.flag("done")? {
        Some(true) => q = q.filter(Filter::eq("status", "done")),
        Some(false) => q = q.filter(Filter::cmp("status", Op::Ne, "done")),
        None => {}
    }
    if let Some(s) = params.get("status") {
        if !ACTION_STATUSES.contains(&s) {
            return Err(ApiError::bad_request(format!("status must be one of: {}", ACTION_STATUSES.join(", "))));
        }
        q = q.filter(Filter::eq("status", s));
    }
    if let Some(id) = params.id("assignee_id")? {
        q = q.filter(Filter::eq("assignee_id", id));
    }
    if let Some(id) = params.id("contact_id")? {
        q = q.filter(Filter::eq("contact_id", id));
    }
    if let Some(id) = params.id("company_id")? {
        q = q.filter(about_people_of(id));
    }
    let (q, _) = params.date_filters(
        q,
        &[
            ("created_at", "created_at", false),
            ("modified_at", "updated_at", false),
            ("updated_at", "updated_at", false),
            ("date", "date", true),
            ("close_date", "done_at", false),
        ],
    )?;
    let sort = params.sort(&[("created_at", "created_at"), ("modified_at", "updated_at")])?;
    let mut paged = match sort {
        Some(s) => paging.query().sort(s),
        None => stream_sorts(paging.query()),
    };
    paged.filter = q.filter;
    let page = st.crm.list::<Action>(actor, &paged).await?;
    let items = page.rows.iter().map(action_data).collect();
    Ok(ok(StatusCode::OK, paging.envelope("actions", items, page.total.unwrap_or(0))))
}

pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    list_actions(&st, actor, &Params::parse(raw.as_deref()), None).await
}

pub async fn list_for_contact(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let contact = st.crm.get::<Contact>(actor, path_id(&id, "contact")?).await?;
    list_actions(&st, actor, &Params::parse(raw.as_deref()), Some(Filter::eq("contact_id", contact.id))).await
}

pub async fn list_for_company(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let company = st.crm.get::<Company>(actor, path_id(&id, "company")?).await?;
    list_actions(&st, actor, &Params::parse(raw.as_deref()), Some(about_people_of(company.id))).await
}

async fn stream(st: &AppState, actor: Actor, params: &Params, of: StreamOf) -> ApiResult {
    let lk = st.crm.contact_lookups(actor).await?;
    let paging = params.paging()?;
    // The stream takes the contact list's filters; its order is the stream's own.
    let (contacts_query, _, _) = crate::contact_query::list_query(params.pairs(), &lk, actor.user_id)?;
    let mut contacts_filter = contacts_query.filter;
    for f in crate::contact_query::contact_scope(&st.crm, actor, params).await? {
        contacts_filter = Some(Filter::and(contacts_filter, f));
    }
    // Filters on the contact go to the database; only `waiting` looks at the actions.
    let for_me = params.flag("has_actions_for_me")?.unwrap_or(false);
    if for_me || params.flag("has_actions")?.unwrap_or(false) {
        contacts_filter = Some(Filter::and(contacts_filter, Filter::eq("owner_id", actor.user_id)));
    }
    if let Some(want) = params.flag("pending_deal")? {
        let pending = kith_domain::contacts::with_deal(Filter::eq("status", "pending"));
        let f = if want { pending } else { Filter::Not(Box::new(pending)) };
        contacts_filter = Some(Filter::and(contacts_filter, f));
    }
    let query = StreamQuery {
        of,
        contacts: contacts_filter,
        waiting: params.flag("waiting")?.unwrap_or(false),
        with_next_action_of: for_me.then_some(actor.user_id),
    };
    let page = st.crm.action_stream(actor, &query, paging.offset(), paging.per_page).await?;
    let total = page.total.unwrap_or(0);
    let page = page.rows;
    let contacts: Vec<Contact> = page.iter().map(|e| e.contact.clone()).collect();
    let rendered = crate::render::contact::render_contacts(&st.crm, actor, &lk, &contacts).await?;
    let items = page
        .iter()
        .zip(rendered)
        .map(|(e, c)| {
            let mut item = json!({
                "contact": c,
                "next_actions": e.next_actions.iter().map(render_action).collect::<Vec<_>>(),
                "queued_actions": e.queued_actions.iter().map(render_action).collect::<Vec<_>>(),
                "next_action_conflicts": e.conflicts.iter().map(render_action).collect::<Vec<_>>(),
            });
            if let Some(first) = e.next_actions.first() {
                item["next_action"] = render_action(first);
            }
            item
        })
        .collect();
    Ok(ok(StatusCode::OK, paging.envelope("contacts", items, total)))
}

pub async fn action_stream(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let of = if params.flag("team")?.unwrap_or(false) { StreamOf::Team } else { StreamOf::User(actor.user_id) };
    stream(&st, actor, &params, of).await
}

pub async fn team_stream(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let of = match params.id("user_id")? {
        Some(user) => {
            st.crm.get::<kith_domain::model::User>(actor, user).await?;
            StreamOf::User(user)
        }
        None => StreamOf::Team,
    };
    stream(&st, actor, &params, of).await
}

macro_rules! action_operations {
    ($($name:ident => $op:ident),* $(,)?) => {$(
        async fn $name(
            axum::extract::State(st): axum::extract::State<kith_http::AppState>,
            crate::auth::Caller(actor): crate::auth::Caller,
            axum::extract::Path(id): axum::extract::Path<String>,
        ) -> crate::wire::ApiResult {
            operate(st, actor, id, Operation::$op).await
        }
    )*};
}

action_operations! {
    action_op_unassign => Unassign,
    action_op_mark_as_done => MarkAsDone,
    action_op_undo_completion => UndoCompletion,
    action_op_unlink => Unlink,
    action_op_promote => Promote,
    action_op_revert_promotion => RevertPromotion,
    action_op_swap => Swap,
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/actions", routing::get(list).post(create))
        .route("/actions/{id}", routing::get(get).put(update).patch(update).delete(delete))
        .route("/actions/{id}/unassign", routing::put(action_op_unassign))
        .route("/actions/{id}/mark_as_done", routing::put(action_op_mark_as_done))
        .route("/actions/{id}/undo_completion", routing::put(action_op_undo_completion))
        .route("/actions/{id}/unlink", routing::put(action_op_unlink))
        .route("/actions/{id}/promote", routing::put(action_op_promote))
        .route("/actions/{id}/revert_promotion", routing::put(action_op_revert_promotion))
        .route("/actions/{id}/swap", routing::put(action_op_swap))
        .route("/action_stream", routing::get(action_stream))
        .route("/team_stream", routing::get(team_stream))
        .route("/contacts/{id}/actions", routing::get(list_for_contact).post(create_for_contact))
        .route("/companies/{id}/actions", routing::get(list_for_company))
}
