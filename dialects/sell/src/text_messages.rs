//! `/text_messages`: text messages users exchanged with contacts and leads. Read-only, as in
//! Sell: the telephony integration logs them (`Crm::log_text_message`).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::model::TextMessage;
use kith_domain::query::{Dir, Field, Sort};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{Params, RecordQuery, path_id};
use crate::resources::{self, CONTACT, LEAD};
use crate::wire::{ApiError, ApiResult, collection, one, time};

const TYPES: &[&str] = &[CONTACT, LEAD];
/// Sortable attributes and their columns.
const SORTS: &[(&str, &str)] =
    &[("id", "id"), ("sent_at", "sent_at"), ("created_at", "created_at"), ("updated_at", "updated_at")];

pub fn routes() -> Routes {
    Routes::new().route("/text_messages", get(list)).route("/text_messages/{id}", get(get_one))
}

fn render(m: &TextMessage) -> Value {
    let mut v = json!({
        "id": m.id,
        "user_id": m.user_id,
        "content": m.content,
        "incoming": m.incoming,
        "resource_phone_number": m.resource_phone_number,
        "user_phone_number": m.user_phone_number,
        "sent_at": time(m.sent_at),
        "associated_deal_ids": m.deal_ids.0,
        "created_at": time(m.created_at),
        "updated_at": time(m.updated_at),
    });
    resources::put(&mut v, m.links());
    v
}

async fn get_one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let m = st.crm.get::<TextMessage>(actor, path_id(&id, "text message")?).await?;
    Ok(one(StatusCode::OK, "text_message", render(&m)))
}

/// `sort_by`: a comma-separated list of `field[:asc|:desc]`, each descending unless it says
/// otherwise (Sell's default is `id:desc`).
fn sorts(params: &Params) -> ApiResult<Vec<Sort>> {
    let Some(raw) = params.get("sort_by").filter(|s| !s.is_empty()) else { return Ok(vec![Sort::desc("id")]) };
    raw.split(',')
        .map(|part| {
            let part = part.trim();
            let (name, dir) = match part.rsplit_once(':') {
                Some((n, "asc")) => (n, Dir::Asc),
                Some((n, "desc")) => (n, Dir::Desc),
                _ => (part, Dir::Desc),
            };
            let column = SORTS.iter().find(|(api, _)| *api == name).map(|(_, col)| *col).ok_or_else(|| {
                let names: Vec<&str> = SORTS.iter().map(|(a, _)| *a).collect();
                ApiError::bad_request(format!("sort_by fields must be among {}", names.join(", ")))
            })?;
            Ok(Sort { field: Field::col(column), dir })
        })
        .collect()
}

/// `GET /text_messages`: filters `ids` and `resource_type` with `resource_id` (each needs the
/// other); `sort_by` `id`, `sent_at`, `created_at`, `updated_at`, newest first by default.
async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["resource_type", "resource_id"])?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    if let Some(f) = resources::filter(&params, TYPES, true, false)? {
        q = q.filter(f);
    }
    for s in sorts(&params)? {
        q = q.sort(s);
    }
    let mut rows = st.crm.list::<TextMessage>(actor, &q).await?.rows;
    let links = paging.links("/v2/text_messages", &mut rows);
    Ok(collection("text_message", rows.iter().map(render).collect(), links))
}

/// The Sync API's view of a text message: `("text_message", data)` while it is live.
#[allow(dead_code, reason = "the Sync API's to call")]
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    Ok(st.crm.find::<TextMessage>(actor, id).await?.map(|m| ("text_message", render(&m))))
}
