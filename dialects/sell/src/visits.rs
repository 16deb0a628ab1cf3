//! `/visits`: the model's meetings, as Sell's field visits: a user met a contact or a lead
//! (OnePage's meetings are each with a person) at a place, with an outcome from the visit
//! outcome list. Read-only, as in Sell.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::model::Meeting;
use kith_domain::query::{Filter, Sort};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{Params, RecordQuery, path_id};
use crate::resources::{self, CONTACT, DEAL, LEAD};
use crate::wire::{ApiResult, collection, one, time};

const TYPES: &[&str] = &[CONTACT, LEAD, DEAL];
/// Sell verifies where the rep's device was when a visit was logged; Kith never does, so every
/// visit has this status.
pub const LOCATION_NOT_VERIFIED: &str = "unverified";

pub fn routes() -> Routes {
    Routes::new().route("/visits", get(list)).route("/visits/{id}", get(get_one))
}

fn render(m: &Meeting) -> Value {
    let mut v = json!({
        "id": m.id,
        "creator_id": m.author_id,
        "outcome_id": m.outcome_id,
        "resource_address": m.place,
        "rep_location_verification_status": LOCATION_NOT_VERIFIED,
        "summary": m.text,
        "visited_at": time(m.starts_at),
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
    let m = st.crm.get::<Meeting>(actor, path_id(&id, "visit")?).await?;
    Ok(one(StatusCode::OK, "visit", render(&m)))
}

/// `GET /visits`: filters `outcome_id`, `creator_id`, `resource_type` with `resource_id` (each
/// needs the other) and `rep_location_verification_status`; `sort_by` `id` (the default) and
/// `visited_at`.
async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(
        raw.as_deref(),
        &["outcome_id", "creator_id", "resource_type", "resource_id", "rep_location_verification_status"],
    )?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    if let Some(outcome) = params.int("outcome_id")? {
        q = q.filter(Filter::eq("outcome_id", outcome));
    }
    if let Some(creator) = params.int("creator_id")? {
        q = q.filter(Filter::eq("author_id", creator));
    }
    if let Some(f) = resources::filter(&params, TYPES, true, true)? {
        q = q.filter(f);
    }
    if let Some(status) = params.get("rep_location_verification_status").filter(|s| !s.is_empty())
        && status != LOCATION_NOT_VERIFIED
    {
        q = q.filter(Filter::Any(Vec::new()));
    }
    let sort = params.sort(&[("id", "id"), ("visited_at", "starts_at")], |_| None)?;
    let mut rows = st.crm.list::<Meeting>(actor, &q.sort(sort.unwrap_or_else(|| Sort::asc("id")))).await?.rows;
    let links = paging.links("/v2/visits", &mut rows);
    Ok(collection("visit", rows.iter().map(render).collect(), links))
}

/// The Sync API's view of a visit: `("visit", data)` while it is live.
#[allow(dead_code, reason = "the Sync API's to call")]
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    Ok(st.crm.find::<Meeting>(actor, id).await?.map(|m| ("visit", render(&m))))
}
