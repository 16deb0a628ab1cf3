//! The account's short lists: `/deal_unqualified_reasons` (which clients manage),
//! `/lead_unqualified_reasons`, `/call_outcomes` and `/visit_outcomes` (which they only read).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::choices::{CALL_OUTCOMES, DEAL_UNQUALIFIED_REASONS, LEAD_UNQUALIFIED_REASONS, VISIT_OUTCOMES};
use kith_domain::model::Choice;
use kith_domain::query::{Dir, Sort};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::wire::{ApiError, ApiResult, collection, one, time};

/// A list as Sell serves it: its path, the `meta.type` of its items and its domain list.
struct Served {
    path: &'static str,
    kind: &'static str,
    list: &'static str,
    what: &'static str,
}

const DEAL_REASONS: Served = Served {
    path: "/v2/deal_unqualified_reasons",
    kind: "deal_unqualified_reason",
    list: DEAL_UNQUALIFIED_REASONS,
    what: "deal unqualified reason",
};
const LEAD_REASONS: Served = Served {
    path: "/v2/lead_unqualified_reasons",
    kind: "lead_unqualified_reason",
    list: LEAD_UNQUALIFIED_REASONS,
    what: "lead unqualified reason",
};
const CALLS: Served =
    Served { path: "/v2/call_outcomes", kind: "call_outcome", list: CALL_OUTCOMES, what: "call outcome" };
const VISITS: Served =
    Served { path: "/v2/visit_outcomes", kind: "visit_outcome", list: VISIT_OUTCOMES, what: "visit outcome" };

pub fn routes() -> Routes {
    Routes::new()
        .route("/deal_unqualified_reasons", get(list_deal_reasons).post(create))
        .route("/deal_unqualified_reasons/{id}", get(get_deal_reason).put(update).delete(delete))
        .route("/lead_unqualified_reasons", get(list_lead_reasons))
        .route("/lead_unqualified_reasons/{id}", get(get_lead_reason))
        .route("/call_outcomes", get(list_call_outcomes))
        .route("/call_outcomes/{id}", get(get_call_outcome))
        .route("/visit_outcomes", get(list_visit_outcomes))
        .route("/visit_outcomes/{id}", get(get_visit_outcome))
}

pub(crate) fn render(c: &Choice) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "creator_id": c.creator_id,
        "created_at": time(c.created_at),
        "updated_at": time(c.updated_at),
    })
}

/// A value of one of the lists as the Sync API hands it out (typed by its list); `None` when it
/// is not live.
pub(crate) async fn sync_record(
    st: &AppState,
    actor: kith_domain::Actor,
    id: i64,
) -> ApiResult<Option<(&'static str, Value)>> {
    let Some(c) = st.crm.find::<Choice>(actor, id).await? else { return Ok(None) };
    let kind = [DEAL_REASONS, LEAD_REASONS, CALLS, VISITS].into_iter().find(|s| s.list == c.list).map(|s| s.kind);
    Ok(kind.map(|kind| (kind, render(&c))))
}

/// A page of a list, with `ids` and `name` filters and `sort_by` `id`, `name`, `updated_at`
/// (in list order when none is asked for).
async fn list(st: AppState, actor: kith_domain::Actor, raw: Option<String>, served: Served) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["name"])?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(ids) = params.ids()? {
        q = q.filter(ids);
    }
    if let Some(name) = params.get("name").filter(|s| !s.is_empty()) {
        q = q.filter(kith_domain::query::Filter::eq("name", name));
    }
    if let Some(raw_sort) = params.get("sort_by").filter(|s| !s.is_empty()) {
        let (field, dir) = match raw_sort.rsplit_once(':') {
            Some((f, "desc")) => (f, Dir::Desc),
            Some((f, "asc")) => (f, Dir::Asc),
            _ => (raw_sort, Dir::Asc),
        };
        if !matches!(field, "id" | "name" | "updated_at") {
            return Err(ApiError::bad_request("sort_by must be one of id, name, updated_at"));
        }
        // Ties go by id in the same direction.
        for column in [field, "id"] {
            q = q.sort(Sort { field: kith_domain::query::Field::col(column), dir });
        }
    }
    let mut page = st.crm.choices_page(actor, served.list, q).await?.rows;
    let links = paging.links(served.path, &mut page);
    Ok(collection(served.kind, page.iter().map(render).collect(), links))
}

async fn get_one(st: AppState, actor: kith_domain::Actor, id: String, served: Served) -> ApiResult {
    let id = path_id(&id, served.what)?;
    // Read the list first: its defaults may not be made yet.
    st.crm.choices(actor, served.list).await?;
    let c = st.crm.choice(actor, served.list, id).await.map_err(|_| ApiError::not_found(served.what))?;
    Ok(one(StatusCode::OK, served.kind, render(&c)))
}

async fn list_deal_reasons(State(st): State<AppState>, Caller(a): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    list(st, a, raw, DEAL_REASONS).await
}
async fn list_lead_reasons(State(st): State<AppState>, Caller(a): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    list(st, a, raw, LEAD_REASONS).await
}
async fn list_call_outcomes(State(st): State<AppState>, Caller(a): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    list(st, a, raw, CALLS).await
}
async fn list_visit_outcomes(State(st): State<AppState>, Caller(a): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    list(st, a, raw, VISITS).await
}
async fn get_deal_reason(
    State(st): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    get_one(st, a, id, DEAL_REASONS).await
}
async fn get_lead_reason(
    State(st): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    get_one(st, a, id, LEAD_REASONS).await
}
async fn get_call_outcome(
    State(st): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    get_one(st, a, id, CALLS).await
}
async fn get_visit_outcome(
    State(st): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    get_one(st, a, id, VISITS).await
}

/// The required `name` of a body.
fn read_name(data: &mut Data) -> Option<String> {
    match data.text("name", kith_domain::choices::CHOICE_NAME_MAX) {
        Some(Some(n)) => Some(n),
        Some(None) | None => {
            data.error("name", "can't be blank");
            None
        }
    }
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    let name = read_name(&mut data);
    data.finish()?;
    let c = st.crm.create_choice(actor, DEAL_UNQUALIFIED_REASONS, &name.unwrap_or_default()).await?;
    Ok(one(StatusCode::OK, DEAL_REASONS.kind, render(&c)))
}

async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, body: Body) -> ApiResult {
    let id = path_id(&id, DEAL_REASONS.what)?;
    let current =
        st.crm.choice(actor, DEAL_UNQUALIFIED_REASONS, id).await.map_err(|_| ApiError::not_found(DEAL_REASONS.what))?;
    let mut data = Data::new(read_data(&st, body).await?);
    let c = if data.has("name") {
        let name = read_name(&mut data);
        data.finish()?;
        st.crm.rename_choice(actor, DEAL_UNQUALIFIED_REASONS, id, &name.unwrap_or_default()).await?
    } else {
        current
    };
    Ok(one(StatusCode::OK, DEAL_REASONS.kind, render(&c)))
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = path_id(&id, DEAL_REASONS.what)?;
    st.crm.delete_choice(actor, DEAL_UNQUALIFIED_REASONS, id).await.map_err(|e| match e {
        kith_domain::DomainError::NotFound { .. } => ApiError::not_found(DEAL_REASONS.what),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}
