//! `/calls`: calls with a contact or a lead, or with a number not yet matched to anyone (a call
//! can be attached, or moved, later). The outcome is a call outcome's id (`/call_outcomes`); the
//! model keeps the outcome's key as the call's result, which OnePage shows.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::choices::CALL_OUTCOMES;
use kith_domain::engagements::{
    CallDraft, ENGAGEMENT_TEXT_MAX, EXTERNAL_ID_MAX, PHONE_NUMBER_MAX, RECORDING_URL_MAX, Subject,
};
use kith_domain::model::{Call, Choice};
use kith_domain::query::Sort;
use kith_domain::{Actor, Crm};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::resources::{self, CONTACT, LEAD, read_count, read_ids, read_time, same_second, sell_error};
use crate::wire::{ApiError, ApiResult, collection, one, time};

const TYPES: &[&str] = &[CONTACT, LEAD];
const RENAMES: &[(&str, &str)] = &[
    ("author_id", "user_id"),
    ("text", "summary"),
    ("recording_link", "recording_url"),
    ("call_result", "outcome_id"),
];

pub fn routes() -> Routes {
    Routes::new().route("/calls", get(list).post(create)).route("/calls/{id}", get(get_one).put(update).delete(delete))
}

/// The account's call outcomes by key (what the model keeps) and by id (what Sell sends).
struct Outcomes(Vec<Choice>);

impl Outcomes {
    async fn of(crm: &Crm, actor: Actor) -> ApiResult<Self> {
        Ok(Outcomes(crm.choices(actor, CALL_OUTCOMES).await?))
    }

    fn id_of(&self, key: Option<&str>) -> Option<i64> {
        let key = key?;
        self.0.iter().find(|c| c.key == key).map(|c| c.id)
    }

    fn key_of(&self, id: i64) -> Option<String> {
        self.0.iter().find(|c| c.id == id).map(|c| c.key.clone())
    }
}

fn render(c: &Call, outcomes: &Outcomes) -> Value {
    let mut v = json!({
        "id": c.id,
        "user_id": c.author_id,
        "summary": c.text,
        "recording_url": c.recording_url,
        "outcome_id": outcomes.id_of(c.call_result.as_deref()),
        "duration": c.duration_seconds,
        "phone_number": c.phone_number,
        "incoming": c.incoming,
        "missed": c.missed,
        "associated_deal_ids": c.associated_deal_ids.0,
        "made_at": time(c.called_at),
        "external_id": c.external_id,
        "created_at": time(c.created_at),
        "updated_at": time(c.updated_at),
    });
    resources::put(&mut v, c.links());
    v
}

/// Applies the attributes sent to `d`; `current` is what the call is about now.
async fn apply(
    st: &AppState,
    actor: Actor,
    data: &mut Data,
    outcomes: &Outcomes,
    d: &mut CallDraft,
    current: Option<Subject>,
) -> ApiResult<()> {
    match data.id("user_id") {
        Some(Some(user)) => d.author_id = user,
        Some(None) => data.error("user_id", "can't be blank"),
        None => {}
    }
    if let Some(v) = data.text("summary", ENGAGEMENT_TEXT_MAX) {
        d.text = v;
    }
    if let Some(v) = data.text("recording_url", RECORDING_URL_MAX) {
        d.recording_url = v;
    }
    if let Some(v) = data.text("phone_number", PHONE_NUMBER_MAX) {
        d.phone_number = v;
    }
    match data.raw("external_id") {
        // Telephony systems' ids are often numbers.
        Some(Value::Number(n)) => d.external_id = Some(n.to_string()),
        Some(_) => {
            if let Some(v) = data.text("external_id", EXTERNAL_ID_MAX) {
                d.external_id = v;
            }
        }
        None => {}
    }
    match data.id("outcome_id") {
        Some(Some(id)) => match outcomes.key_of(id) {
            Some(key) => d.call_result = Some(key),
            None => data.error("outcome_id", "is not a call outcome of this account"),
        },
        Some(None) => d.call_result = None,
        None => {}
    }
    if let Some(v) = read_count(data, "duration") {
        d.duration_seconds = v;
    }
    if let Some(v) = data.boolean("incoming") {
        d.incoming = v;
    }
    if let Some(v) = data.boolean("missed") {
        d.missed = v;
    }
    if let Some(ids) = read_ids(data, "associated_deal_ids") {
        d.associated_deal_ids = ids;
    }
    match read_time(data, "made_at") {
        Some(Some(t)) => d.called_at = Some(d.called_at.map_or(t, |now| same_second(t, now))),
        Some(None) => data.error("made_at", "can't be blank"),
        None => {}
    }
    if let Some(subject) = resources::read(&st.crm, actor, data, TYPES, current).await? {
        d.subject = subject;
    }
    Ok(())
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    let outcomes = Outcomes::of(&st.crm, actor).await?;
    let mut d = CallDraft::about(None, actor.user_id);
    apply(&st, actor, &mut data, &outcomes, &mut d, None).await?;
    data.finish()?;
    let call = st.crm.create_call(actor, d).await.map_err(|e| sell_error(e, RENAMES))?;
    Ok(one(StatusCode::OK, "call", render(&call, &outcomes)))
}

async fn get_one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let call = st.crm.get::<Call>(actor, path_id(&id, "call")?).await?;
    let outcomes = Outcomes::of(&st.crm, actor).await?;
    Ok(one(StatusCode::OK, "call", render(&call, &outcomes)))
}

/// `PUT`: changes only the attributes sent, what the call is about included.
async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, body: Body) -> ApiResult {
    let call = st.crm.get::<Call>(actor, path_id(&id, "call")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let outcomes = Outcomes::of(&st.crm, actor).await?;
    let mut d = call.draft();
    apply(&st, actor, &mut data, &outcomes, &mut d, call.links().subject()).await?;
    data.finish()?;
    let call = st.crm.reattach_call(actor, call.id, d).await.map_err(|e| sell_error(e, RENAMES))?;
    Ok(one(StatusCode::OK, "call", render(&call, &outcomes)))
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    st.crm.delete::<Call>(actor, path_id(&id, "call")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /calls`: filters `ids`, `resource_type`, `resource_id`. Sell always lists calls by
/// `made_at`, newest first; `sort_by=made_at[:asc|:desc]` is accepted, nothing else.
async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["resource_type", "resource_id"])?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    if let Some(f) = resources::filter(&params, TYPES, false, true)? {
        q = q.filter(f);
    }
    let sort = match params.get("sort_by").filter(|s| !s.is_empty()) {
        None | Some("made_at:desc") => Sort::desc("called_at"),
        Some("made_at" | "made_at:asc") => Sort::asc("called_at"),
        Some(_) => return Err(ApiError::bad_request("calls are sorted by made_at only")),
    };
    let mut rows = st.crm.list::<Call>(actor, &q.sort(sort)).await?.rows;
    let links = paging.links("/v2/calls", &mut rows);
    let outcomes = Outcomes::of(&st.crm, actor).await?;
    Ok(collection("call", rows.iter().map(|c| render(c, &outcomes)).collect(), links))
}

/// The Sync API's view of a call: `("call", data)` while it is live.
#[allow(dead_code, reason = "the Sync API's to call")]
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    let Some(call) = st.crm.find::<Call>(actor, id).await? else { return Ok(None) };
    let outcomes = Outcomes::of(&st.crm, actor).await?;
    Ok(Some(("call", render(&call, &outcomes))))
}
