//! `/notes`, `/calls`, `/call_results` and `/meetings`, with their per-contact and per-company lists.
//!
//! OnePage's notes, calls and meetings are each with a person. Records made elsewhere about no
//! person (a Sell note on an organisation, a lead, or a deal without a primary contact) are not
//! OnePage's to see: lists leave them out and their ids are not found here.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::engagements::{CALL_RESULTS, CALL_VIAS, CallDraft, MeetingDraft, NoteDraft, Subject};
use kith_domain::model::{Call, Company, Contact, Meeting, Note};
use kith_domain::query::{Field, Filter, Sort};
use kith_domain::{Actor, DomainError, Entity};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Input;
use crate::params::{Params, path_id, read_input};
use crate::render::common::users;
use crate::render::engagement::{
    Kind, call_data, context, ids_of, meeting_data, note_data, render_call, render_meeting, render_note,
};
use crate::wire::{ApiResult, hex_id, ok};

/// A record OnePage can show: one with a person.
fn with_person<E>(record: E, contact_id: Option<i64>, kind: Kind) -> ApiResult<E> {
    match contact_id {
        Some(_) => Ok(record),
        None => Err(DomainError::NotFound { kind: kind.one() }.into()),
    }
}

async fn note_of(st: &AppState, actor: Actor, id: i64) -> ApiResult<Note> {
    let n = st.crm.get::<Note>(actor, id).await?;
    let contact = n.contact_id;
    with_person(n, contact, Kind::Note)
}

async fn call_of(st: &AppState, actor: Actor, id: i64) -> ApiResult<Call> {
    let c = st.crm.get::<Call>(actor, id).await?;
    let contact = c.contact_id;
    with_person(c, contact, Kind::Call)
}

async fn meeting_of(st: &AppState, actor: Actor, id: i64) -> ApiResult<Meeting> {
    let m = st.crm.get::<Meeting>(actor, id).await?;
    let contact = m.contact_id;
    with_person(m, contact, Kind::Meeting)
}

/// Where a new engagement's contact comes from: the path, or the body's `contact_id`.
fn contact_of(input: &mut Input, from_path: Option<i64>) -> i64 {
    match (from_path, input.id("contact_id")) {
        (Some(id), _) => id,
        (None, Some(Some(id))) => id,
        (None, Some(None) | None) => {
            if !input.has("contact_id") {
                input.error("contact_id", "is required");
            }
            0
        }
    }
}

fn read_note(input: &mut Input, mut d: NoteDraft) -> NoteDraft {
    if let Some(v) = input.text("text", kith_domain::engagements::ENGAGEMENT_TEXT_MAX) {
        d.text = v.unwrap_or_default();
    }
    if let Some(v) = input.date("date") {
        d.date = v;
    }
    if let Some(v) = input.id("linked_deal_id") {
        d.deal_id = v;
    }
    d
}

fn read_call(input: &mut Input, mut d: CallDraft) -> CallDraft {
    if let Some(v) = input.text("text", kith_domain::engagements::ENGAGEMENT_TEXT_MAX) {
        d.text = v;
    }
    if let Some(v) = input.text("call_result", 100) {
        d.call_result = v;
    }
    if let Some(v) = input.unix_time("call_time_int") {
        d.called_at = v;
    }
    if let Some(v) = input.one_of("via", CALL_VIAS) {
        d.via = v;
    }
    if let Some(v) = input.text("phone_number", 100) {
        d.phone_number = v;
    }
    if let Some(v) = input.text("recording_link", 2048) {
        d.recording_url = v;
    }
    d
}

fn read_meeting(input: &mut Input, mut d: MeetingDraft) -> MeetingDraft {
    if let Some(v) = input.text("text", kith_domain::engagements::ENGAGEMENT_TEXT_MAX) {
        d.text = v;
    }
    if let Some(v) = input.text("place", kith_domain::engagements::MEETING_PLACE_MAX) {
        d.place = v;
    }
    if let Some(v) = input.unix_time("meeting_time_int") {
        d.starts_at = v;
    }
    d
}

async fn create_for(st: &AppState, actor: Actor, kind: Kind, from_path: Option<i64>, body: Body) -> ApiResult {
    let mut input = read_input(st, body).await?;
    let contact_id = contact_of(&mut input, from_path);
    let data = match kind {
        Kind::Note => {
            let empty =
                NoteDraft { subject: Subject::Contact(contact_id), text: String::new(), date: None, deal_id: None };
            let d = read_note(&mut input, empty);
            input.finish()?;
            let n = st.crm.create_note(actor, d).await?;
            note_data(&st.crm, actor, &n).await?
        }
        Kind::Call => {
            let d = read_call(&mut input, CallDraft::about(Some(Subject::Contact(contact_id)), actor.user_id));
            input.finish()?;
            let c = st.crm.create_call(actor, d).await?;
            call_data(&st.crm, actor, &c).await?
        }
        Kind::Meeting => {
            let d = read_meeting(&mut input, MeetingDraft::about(Subject::Contact(contact_id)));
            input.finish()?;
            let m = st.crm.create_meeting(actor, d).await?;
            meeting_data(&st.crm, actor, &m).await?
        }
    };
    Ok(ok(StatusCode::CREATED, data))
}

pub async fn create(st: AppState, actor: Actor, kind: Kind, body: Body) -> ApiResult {
    create_for(&st, actor, kind, None, body).await
}

pub async fn create_for_contact(st: AppState, actor: Actor, kind: Kind, id: String, body: Body) -> ApiResult {
    let contact = st.crm.get::<Contact>(actor, path_id(&id, "contact")?).await?;
    create_for(&st, actor, kind, Some(contact.id), body).await
}

pub async fn get(st: AppState, actor: Actor, kind: Kind, id: String) -> ApiResult {
    let id = path_id(&id, kind.one())?;
    let data = match kind {
        Kind::Note => note_data(&st.crm, actor, &note_of(&st, actor, id).await?).await?,
        Kind::Call => call_data(&st.crm, actor, &call_of(&st, actor, id).await?).await?,
        Kind::Meeting => meeting_data(&st.crm, actor, &meeting_of(&st, actor, id).await?).await?,
    };
    Ok(ok(StatusCode::OK, data))
}

/// `PUT`: a full replace unless `?partial=true`; the contact cannot change. What OnePage does not
/// know of a record (a call's duration, a meeting's outcome) is kept either way.
pub async fn update(st: AppState, actor: Actor, kind: Kind, id: String, raw: Option<String>, body: Body) -> ApiResult {
    let id = path_id(&id, kind.one())?;
    let partial = Params::parse(raw.as_deref()).flag("partial")?.unwrap_or(false);
    let data = match kind {
        Kind::Note => {
            let n = note_of(&st, actor, id).await?;
            let mut input = read_input(&st, body).await?;
            let contact_id = input.id("contact_id").flatten().unwrap_or(n.contact_id.unwrap_or_default());
            let subject = Subject::Contact(contact_id);
            let base = if partial {
                NoteDraft { subject, text: n.text.clone(), date: n.date.clone(), deal_id: n.deal_id }
            } else {
                NoteDraft { subject, text: String::new(), date: None, deal_id: None }
            };
            let d = read_note(&mut input, base);
            input.finish()?;
            let n = st.crm.update_note(actor, id, d).await?;
            note_data(&st.crm, actor, &n).await?
        }
        Kind::Call => {
            let c = call_of(&st, actor, id).await?;
            let mut input = read_input(&st, body).await?;
            let contact_id = input.id("contact_id").flatten().unwrap_or(c.contact_id.unwrap_or_default());
            let subject = Some(Subject::Contact(contact_id));
            let base = if partial {
                CallDraft { subject, ..c.draft() }
            } else {
                CallDraft {
                    subject,
                    text: None,
                    call_result: None,
                    called_at: None,
                    via: None,
                    phone_number: None,
                    recording_url: None,
                    ..c.draft()
                }
            };
            let d = read_call(&mut input, base);
            input.finish()?;
            let c = st.crm.update_call(actor, id, d).await?;
            call_data(&st.crm, actor, &c).await?
        }
        Kind::Meeting => {
            let m = meeting_of(&st, actor, id).await?;
            let mut input = read_input(&st, body).await?;
            let contact_id = input.id("contact_id").flatten().unwrap_or(m.contact_id.unwrap_or_default());
            let subject = Subject::Contact(contact_id);
            let base = if partial {
                MeetingDraft {
                    subject,
                    text: m.text.clone(),
                    place: m.place.clone(),
                    starts_at: Some(m.starts_at),
                    outcome_id: m.outcome_id,
                }
            } else {
                MeetingDraft { outcome_id: m.outcome_id, ..MeetingDraft::about(subject) }
            };
            let d = read_meeting(&mut input, base);
            input.finish()?;
            let m = st.crm.update_meeting(actor, id, d).await?;
            meeting_data(&st.crm, actor, &m).await?
        }
    };
    Ok(ok(StatusCode::OK, data))
}

pub async fn delete(st: AppState, actor: Actor, kind: Kind, id: String, raw: Option<String>) -> ApiResult {
    let id = path_id(&id, kind.one())?;
    let has_person = match kind {
        Kind::Note => st.crm.find_any::<Note>(actor, id).await?.map(|n| n.contact_id),
        Kind::Call => st.crm.find_any::<Call>(actor, id).await?.map(|c| c.contact_id),
        Kind::Meeting => st.crm.find_any::<Meeting>(actor, id).await?.map(|m| m.contact_id),
    };
    if has_person.flatten().is_none() {
        return Err(DomainError::NotFound { kind: kind.one() }.into());
    }
    if Params::parse(raw.as_deref()).flag("undo")?.unwrap_or(false) {
        let data = match kind {
            Kind::Note => note_data(&st.crm, actor, &st.crm.restore::<Note>(actor, id).await?).await?,
            Kind::Call => call_data(&st.crm, actor, &st.crm.restore::<Call>(actor, id).await?).await?,
            Kind::Meeting => meeting_data(&st.crm, actor, &st.crm.restore::<Meeting>(actor, id).await?).await?,
        };
        return Ok(ok(StatusCode::OK, data));
    }
    match kind {
        Kind::Note => st.crm.delete::<Note>(actor, id).await?,
        Kind::Call => st.crm.delete::<Call>(actor, id).await?,
        Kind::Meeting => st.crm.delete::<Meeting>(actor, id).await?,
    }
    Ok(ok(StatusCode::OK, json!({})))
}

/// Where a list is scoped: the whole account, one contact, or one company's contacts.
pub enum Scope {
    Account,
    Contact(String),
    Company(String),
}

async fn page_of<E: Entity>(
    st: &AppState,
    actor: Actor,
    kind: Kind,
    params: &Params,
    scope: Option<Filter>,
) -> ApiResult<(Vec<E>, u64, crate::params::Paging)> {
    let paging = params.paging()?;
    let mut q = paging.query().filter(Filter::IsNotNull(Field::col("contact_id")));
    if let Some(f) = scope {
        q = q.filter(f);
    }
    if let Some(id) = params.id("contact_id")? {
        q = q.filter(Filter::eq("contact_id", id));
    }
    if let Some(id) = params.id("company_id")? {
        q = q.filter(kith_domain::companies::about_people_of(id));
    }
    let (q, _) = params.date_filters(q, &kind.date_columns())?;
    let mut sorts = vec![("created_at", "created_at"), ("modified_at", "updated_at"), ("updated_at", "updated_at")];
    if kind == Kind::Note {
        sorts.push(("date", "date"));
    }
    let default = match kind {
        Kind::Note => Sort::desc("date"),
        Kind::Call => Sort::desc("called_at"),
        Kind::Meeting => Sort::desc("starts_at"),
    };
    let q = match params.sort(&sorts)? {
        Some(s) => q.sort(s),
        None => q.sort(default).sort(Sort::desc("created_at")),
    };
    let page = st.crm.list::<E>(actor, &q).await?;
    Ok((page.rows, page.total.unwrap_or(0), paging))
}

pub async fn list(st: AppState, actor: Actor, kind: Kind, scope: Scope, raw: Option<String>) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let filter = match scope {
        Scope::Account => None,
        Scope::Contact(id) => {
            let c = st.crm.get::<Contact>(actor, path_id(&id, "contact")?).await?;
            Some(Filter::eq("contact_id", c.id))
        }
        Scope::Company(id) => {
            let c = st.crm.get::<Company>(actor, path_id(&id, "company")?).await?;
            Some(kith_domain::companies::about_people_of(c.id))
        }
    };
    let (items, total, paging) = match kind {
        Kind::Note => {
            let (rows, total, paging) = page_of::<Note>(&st, actor, kind, &params, filter).await?;
            let cx =
                context(&st.crm, actor, kind, &ids_of(&rows), rows.iter().filter_map(|n| n.deal_id).collect()).await?;
            (rows.iter().map(|n| json!({ "note": render_note(n, &cx) })).collect(), total, paging)
        }
        Kind::Call => {
            let (rows, total, paging) = page_of::<Call>(&st, actor, kind, &params, filter).await?;
            let cx = context(&st.crm, actor, kind, &ids_of(&rows), Vec::new()).await?;
            (rows.iter().map(|c| json!({ "call": render_call(c, &cx) })).collect(), total, paging)
        }
        Kind::Meeting => {
            let (rows, total, paging) = page_of::<Meeting>(&st, actor, kind, &params, filter).await?;
            let cx = context(&st.crm, actor, kind, &ids_of(&rows), Vec::new()).await?;
            (rows.iter().map(|m| json!({ "meeting": render_meeting(m, &cx) })).collect(), total, paging)
        }
    };
    Ok(ok(StatusCode::OK, paging.envelope(kind.many(), items, total)))
}

/// `GET /call_results`: the account's call results with how often the caller, each user and the
/// whole account used them.
pub async fn call_results(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let calls = st.crm.all::<Call>(actor, Some(Filter::IsNotNull(Field::col("contact_id")))).await?;
    let mut per_user: HashMap<(&str, i64), u64> = HashMap::new();
    for c in &calls {
        if let Some(r) = c.call_result.as_deref() {
            *per_user.entry((r, c.author_id)).or_default() += 1;
        }
    }
    let users = users(&st.crm, actor).await?;
    let mut user_ids: Vec<i64> = users.keys().copied().collect();
    user_ids.sort_unstable();
    let data: Vec<Value> = CALL_RESULTS
        .iter()
        .map(|(key, text)| {
            let count = |u: i64| per_user.get(&(*key, u)).copied().unwrap_or(0);
            let total: u64 = per_user.iter().filter(|((r, _), _)| r == key).map(|(_, n)| n).sum();
            json!({ "call_result": {
                "result": key,
                "text": text,
                "counts": count(actor.user_id),
                "total_counts": total,
                "team_counts": user_ids.iter().map(|u| json!({ "user_id": hex_id(*u), "counts": count(*u) })).collect::<Vec<_>>(),
            }})
        })
        .collect();
    Ok(ok(StatusCode::OK, Value::Array(data)))
}

/// Handlers with the extractors axum needs, one per route and kind.
macro_rules! engagement_routes {
    ($module:ident, $kind:expr) => {
        pub mod $module {
            use super::*;

            pub async fn list(State(st): State<AppState>, Caller(a): Caller, RawQuery(q): RawQuery) -> ApiResult {
                super::list(st, a, $kind, Scope::Account, q).await
            }
            pub async fn create(State(st): State<AppState>, Caller(a): Caller, body: Body) -> ApiResult {
                super::create(st, a, $kind, body).await
            }
            pub async fn get(State(st): State<AppState>, Caller(a): Caller, Path(id): Path<String>) -> ApiResult {
                super::get(st, a, $kind, id).await
            }
            pub async fn update(
                State(st): State<AppState>,
                Caller(a): Caller,
                Path(id): Path<String>,
                RawQuery(q): RawQuery,
                body: Body,
            ) -> ApiResult {
                super::update(st, a, $kind, id, q, body).await
            }
            pub async fn delete(
                State(st): State<AppState>,
                Caller(a): Caller,
                Path(id): Path<String>,
                RawQuery(q): RawQuery,
            ) -> ApiResult {
                super::delete(st, a, $kind, id, q).await
            }
            pub async fn list_for_contact(
                State(st): State<AppState>,
                Caller(a): Caller,
                Path(id): Path<String>,
                RawQuery(q): RawQuery,
            ) -> ApiResult {
                super::list(st, a, $kind, Scope::Contact(id), q).await
            }
            pub async fn create_for_contact(
                State(st): State<AppState>,
                Caller(a): Caller,
                Path(id): Path<String>,
                body: Body,
            ) -> ApiResult {
                super::create_for_contact(st, a, $kind, id, body).await
            }
            pub async fn list_for_company(
                State(st): State<AppState>,
                Caller(a): Caller,
                Path(id): Path<String>,
                RawQuery(q): RawQuery,
            ) -> ApiResult {
                super::list(st, a, $kind, Scope::Company(id), q).await
            }
        }
    };
}

engagement_routes!(notes, Kind::Note);
engagement_routes!(calls, Kind::Call);
engagement_routes!(meetings, Kind::Meeting);

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/notes", routing::get(notes::list).post(notes::create))
        .route("/notes/{id}", routing::get(notes::get).put(notes::update).patch(notes::update).delete(notes::delete))
        .route("/contacts/{id}/notes", routing::get(notes::list_for_contact).post(notes::create_for_contact))
        .route("/companies/{id}/notes", routing::get(notes::list_for_company))
        .route("/calls", routing::get(calls::list).post(calls::create))
        .route("/calls/{id}", routing::get(calls::get).put(calls::update).patch(calls::update).delete(calls::delete))
        .route("/contacts/{id}/calls", routing::get(calls::list_for_contact).post(calls::create_for_contact))
        .route("/companies/{id}/calls", routing::get(calls::list_for_company))
        .route("/call_results", routing::get(call_results))
        .route("/meetings", routing::get(meetings::list).post(meetings::create))
        .route(
            "/meetings/{id}",
            routing::get(meetings::get).put(meetings::update).patch(meetings::update).delete(meetings::delete),
        )
        .route("/contacts/{id}/meetings", routing::get(meetings::list_for_contact).post(meetings::create_for_contact))
        .route("/companies/{id}/meetings", routing::get(meetings::list_for_company))
}
