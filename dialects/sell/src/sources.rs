//! `/lead_sources`, `/deal_sources` and the older `/sources` (deal sources too): where leads and
//! deals come from. Names are unique per kind, ignoring case.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::model::LeadSource;
use kith_domain::sources::{DEAL_SOURCES, LEAD_SOURCES, SOURCE_NAME_MAX, kind_filter};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::wire::{ApiError, ApiResult, collection, one, time};

/// A list as Sell serves it: its path, the `meta.type` of its items and the sources' kind.
struct Served {
    path: &'static str,
    kind: &'static str,
    resource_type: &'static str,
}

const LEADS: Served = Served { path: "/v2/lead_sources", kind: "lead_source", resource_type: LEAD_SOURCES };
const DEALS: Served = Served { path: "/v2/deal_sources", kind: "deal_source", resource_type: DEAL_SOURCES };
const OLD: Served = Served { path: "/v2/sources", kind: "source", resource_type: DEAL_SOURCES };

macro_rules! handlers {
    ($served:expr, $list:ident, $create:ident, $get:ident, $update:ident, $delete:ident) => {
        async fn $list(State(st): State<AppState>, Caller(a): Caller, RawQuery(raw): RawQuery) -> ApiResult {
            list(st, a, raw, $served).await
        }
        async fn $create(State(st): State<AppState>, Caller(a): Caller, body: Body) -> ApiResult {
            create(st, a, body, $served).await
        }
        async fn $get(
            State(st): State<AppState>,
            Caller(a): Caller,
            Path(id): Path<String>,
            _: RecordQuery,
        ) -> ApiResult {
            get_one(st, a, id, $served).await
        }
        async fn $update(
            State(st): State<AppState>,
            Caller(a): Caller,
            Path(id): Path<String>,
            body: Body,
        ) -> ApiResult {
            update(st, a, id, body, $served).await
        }
        async fn $delete(
            State(st): State<AppState>,
            Caller(a): Caller,
            Path(id): Path<String>,
        ) -> ApiResult<StatusCode> {
            delete(st, a, id, $served).await
        }
    };
}

handlers!(LEADS, list_lead, create_lead, get_lead, update_lead, delete_lead);
handlers!(DEALS, list_deal, create_deal, get_deal, update_deal, delete_deal);
handlers!(OLD, list_old, create_old, get_old, update_old, delete_old);

pub fn routes() -> Routes {
    Routes::new()
        .route("/lead_sources", get(list_lead).post(create_lead))
        .route("/lead_sources/{id}", get(get_lead).put(update_lead).delete(delete_lead))
        .route("/deal_sources", get(list_deal).post(create_deal))
        .route("/deal_sources/{id}", get(get_deal).put(update_deal).delete(delete_deal))
        .route("/sources", get(list_old).post(create_old))
        .route("/sources/{id}", get(get_old).put(update_old).delete(delete_old))
}

fn render(s: &LeadSource) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "resource_type": s.kind(),
        "creator_id": s.creator_id,
        "created_at": time(s.created_at),
        "updated_at": time(s.updated_at),
    })
}

/// `GET`: filters `ids`, `name`; `sort_by` `id`, `name`, `created_at`, `updated_at`.
async fn list(st: AppState, actor: Actor, raw: Option<String>, served: Served) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["name"])?;
    let paging = params.paging()?;
    let q = params.named_list_query(&paging, crate::params::NAMED_SORTS)?.filter(kind_filter(served.resource_type));
    let mut rows = st.crm.list::<LeadSource>(actor, &q).await?.rows;
    let links = paging.links(served.path, &mut rows);
    Ok(collection(served.kind, rows.iter().map(render).collect(), links))
}

/// Reads `name` (required when `required`) and checks a `resource_type` sent matches the path's.
fn read_body(data: &mut Data, served: &Served, required: bool) -> Option<String> {
    if let Some(t) = data.text("resource_type", 32).flatten()
        && t != served.resource_type
    {
        data.error("resource_type", format!("must be {} here", served.resource_type));
    }
    match data.text("name", SOURCE_NAME_MAX) {
        Some(Some(n)) => Some(n),
        Some(None) => {
            data.error("name", "can't be blank");
            None
        }
        None => {
            if required && !data.has("name") {
                data.error("name", "can't be blank");
            }
            None
        }
    }
}

fn not_found(e: kith_domain::DomainError) -> ApiError {
    match e {
        kith_domain::DomainError::NotFound { .. } => ApiError::not_found("source"),
        other => other.into(),
    }
}

async fn create(st: AppState, actor: Actor, body: Body, served: Served) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    let name = read_body(&mut data, &served, true);
    data.finish()?;
    let s = st.crm.create_source(actor, served.resource_type, &name.unwrap_or_default()).await?;
    Ok(one(StatusCode::OK, served.kind, render(&s)))
}

async fn get_one(st: AppState, actor: Actor, id: String, served: Served) -> ApiResult {
    let s = st.crm.source(actor, served.resource_type, path_id(&id, "source")?).await.map_err(not_found)?;
    Ok(one(StatusCode::OK, served.kind, render(&s)))
}

async fn update(st: AppState, actor: Actor, id: String, body: Body, served: Served) -> ApiResult {
    let id = path_id(&id, "source")?;
    let current = st.crm.source(actor, served.resource_type, id).await.map_err(not_found)?;
    let mut data = Data::new(read_data(&st, body).await?);
    let name = read_body(&mut data, &served, false);
    data.finish()?;
    let s = match name {
        Some(name) => st.crm.rename_source(actor, served.resource_type, id, &name).await.map_err(not_found)?,
        None => current,
    };
    Ok(one(StatusCode::OK, served.kind, render(&s)))
}

async fn delete(st: AppState, actor: Actor, id: String, served: Served) -> ApiResult<StatusCode> {
    let id = path_id(&id, "source")?;
    st.crm.delete_source(actor, served.resource_type, id).await.map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A live lead or deal source as the Sync API sends it.
pub(crate) async fn sync_record(
    st: &AppState,
    actor: Actor,
    id: i64,
) -> ApiResult<Option<(&'static str, serde_json::Value)>> {
    let Some(s) = st.crm.find::<LeadSource>(actor, id).await? else { return Ok(None) };
    let kind = if s.kind() == DEAL_SOURCES { DEALS.kind } else { LEADS.kind };
    Ok(Some((kind, render(&s))))
}
