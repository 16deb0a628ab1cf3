//! The Sync API: `POST /sync/start`, `GET /sync/{session}/queues/main`, `POST /sync/ack`, for a
//! device named by the `X-Basecrm-Device-UUID` header (required: 400 without it).
//!
//! A device first receives every live record of the kinds below as `created`, then what changed
//! since it acknowledged: `updated`, or `deleted` with `{id}` only. The rules are the domain's
//! (`kith_domain::sync`); this module says which records Sell shows and how.

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_domain::Actor;
use kith_domain::sync::{SyncEvent, SyncItem, valid_device};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::read_data;
use crate::wire::{ApiError, ApiResult};

/// Items per page of the queue.
pub const PAGE_SIZE: usize = 100;

/// The model kinds the Sync API hands out, each with the Sell type of its deleted records (a
/// deleted record is handed out as `{id}` and its row may be gone). Every kind here has an arm in
/// `record`; kinds that are not here (taggings, events, keys, webhooks, files, notifications,
/// saved filters, …) never reach a device.
const SYNCED: &[(&str, &str)] = &[
    ("action", "task"),
    ("call", "call"),
    // Only deal unqualified reasons can be deleted; the other lists are read-only.
    ("choice", "deal_unqualified_reason"),
    ("company", "contact"),
    ("contact", "contact"),
    ("deal", "deal"),
    ("deal_contact", "associated_contact"),
    ("deal_item", "line_item"),
    ("lead", "lead"),
    // Lead or deal source: `deleted_type` reads which.
    ("lead_source", "lead_source"),
    ("loss_reason", "loss_reason"),
    ("meeting", "visit"),
    ("note", "note"),
    ("order", "order"),
    ("pipeline", "pipeline"),
    ("predefined_item", "product"),
    ("stage", "stage"),
    ("tag", "tag"),
    ("text_message", "text_message"),
    ("user", "user"),
];

fn kinds() -> Vec<&'static str> {
    SYNCED.iter().map(|(kind, _)| *kind).collect()
}

/// A live record of a synced kind as its own GET renders it, with its Sell type; `None` when it
/// is not live (or not of a kind Sell shows).
pub(crate) async fn record(
    st: &AppState,
    actor: Actor,
    kind: &str,
    id: i64,
) -> ApiResult<Option<(&'static str, Value)>> {
    match kind {
        "contact" | "company" => crate::contacts::sync_record(st, actor, id).await,
        "lead" => crate::leads::sync_record(st, actor, id).await,
        "user" => crate::accounts::sync_record(st, actor, id).await,
        "loss_reason" => crate::reasons::sync_record(st, actor, id).await,
        "choice" => crate::choices::sync_record(st, actor, id).await,
        "deal" => crate::deals::sync_record(st, actor, id).await,
        "deal_contact" => crate::deals::sync_associated_contact(st, actor, id).await,
        "pipeline" => crate::pipelines::sync_pipeline(st, actor, id).await,
        "stage" => crate::pipelines::sync_stage(st, actor, id).await,
        "lead_source" => crate::sources::sync_record(st, actor, id).await,
        "note" => crate::notes::sync_record(st, actor, id).await,
        "action" => crate::tasks::sync_record(st, actor, id).await,
        "call" => crate::calls::sync_record(st, actor, id).await,
        "text_message" => crate::text_messages::sync_record(st, actor, id).await,
        "meeting" => crate::visits::sync_record(st, actor, id).await,
        "predefined_item" => crate::products::sync_record(st, actor, id).await,
        "order" | "deal_item" => crate::orders::sync_record(st, actor, id).await,
        "tag" => crate::tags::sync_record(st, actor, id).await,
        _ => Ok(None),
    }
}

/// The Sell type of a deleted record: its kind's, but for sources, which are lead or deal
/// sources by their (soft-deleted) row.
async fn deleted_type(st: &AppState, actor: Actor, kind: &str, id: i64) -> ApiResult<&'static str> {
    if kind == "lead_source" {
        let source = st.crm.find_any::<kith_domain::model::LeadSource>(actor, id).await?;
        if source.is_some_and(|s| s.kind() == kith_domain::sources::DEAL_SOURCES) {
            return Ok("deal_source");
        }
    }
    Ok(SYNCED.iter().find(|(k, _)| *k == kind).map_or("", |(_, t)| *t))
}

pub fn routes() -> Routes {
    Routes::new()
        .route("/sync/start", post(start))
        .route("/sync/ack", post(ack))
        .route("/sync/{session}/queues/{queue}", get(fetch))
}

/// The device a request is for, from `X-Basecrm-Device-UUID`.
pub struct Device(String);

impl FromRequestParts<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        match parts.headers.get("x-basecrm-device-uuid").and_then(|v| v.to_str().ok()) {
            Some(d) if valid_device(d) => Ok(Device(d.trim().to_owned())),
            _ => Err(ApiError::bad_request("the X-Basecrm-Device-UUID header must name the device")),
        }
    }
}

/// `POST /sync/start`: 201 with the session and its one queue, or 204 when nothing waits.
async fn start(State(st): State<AppState>, Caller(actor): Caller, Device(device): Device) -> ApiResult {
    let Some(session) = st.crm.start_sync(actor, &device, &kinds()).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let pages = session.total_count.div_ceil(PAGE_SIZE as u64);
    let body = json!({
        "data": {
            "id": session.id,
            "queues": [{
                "data": { "name": "main", "pages": pages, "total_count": session.total_count },
                "meta": { "type": "sync_queue" },
            }],
        },
        "meta": { "type": "sync_session" },
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

fn item(i: &SyncItem, kind: &str, data: Value) -> Value {
    json!({
        "data": data,
        "meta": {
            "type": kind,
            "sync": { "event_type": i.event.as_str(), "ack_key": i.ack_key(), "revision": i.revision },
        },
    })
}

/// `GET /sync/{session}/queues/main`: the next page, or 204 once the session handed out
/// everything. Another account's or another device's session is a 404.
async fn fetch(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Device(device): Device,
    Path((session, queue)): Path<(String, String)>,
) -> ApiResult<Response> {
    if queue != "main" {
        return Err(ApiError::not_found("sync queue"));
    }
    let kinds = kinds();
    loop {
        let page = st.crm.sync_page(actor, &device, &session, &kinds, PAGE_SIZE).await.map_err(|e| match e {
            kith_domain::DomainError::NotFound { .. } => ApiError::not_found("sync session"),
            other => other.into(),
        })?;
        let Some(page) = page else { return Ok(StatusCode::NO_CONTENT.into_response()) };
        let mut items = Vec::with_capacity(page.len());
        for i in &page {
            if i.event == SyncEvent::Deleted {
                let kind = deleted_type(&st, actor, &i.kind, i.id).await?;
                items.push(item(i, kind, json!({ "id": i.id })));
                continue;
            }
            // Gone since the page was read: its deletion is a change the next session brings.
            if let Some((kind, data)) = record(&st, actor, &i.kind, i.id).await? {
                items.push(item(i, kind, data));
            }
        }
        if !items.is_empty() {
            let count = items.len();
            let body = json!({ "items": items, "meta": { "type": "collection", "count": count } });
            return Ok((StatusCode::OK, axum::Json(body)).into_response());
        }
    }
}

/// `POST /sync/ack` `{data: {ack_keys: [...]}}`: 202. Keys that are not ours are a 422 on
/// `/data/ack_keys`.
async fn ack(State(st): State<AppState>, Caller(actor): Caller, Device(device): Device, body: Body) -> ApiResult {
    let data = read_data(&st, body).await?;
    let keys: Vec<String> = match data.get("ack_keys") {
        Some(Value::Array(keys)) => keys
            .iter()
            .map(|k| k.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| ApiError::validation("ack_keys", "must be an array of strings"))?,
        Some(_) => return Err(ApiError::validation("ack_keys", "must be an array of strings")),
        None => return Err(ApiError::validation("ack_keys", "can't be blank")),
    };
    st.crm.ack_sync(actor, &device, &keys, &kinds()).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
