//! `/loss_reasons`: why deals are lost (`kith_domain::loss_reasons`: names unique within the account).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::Actor;
use kith_domain::loss_reasons::LOSS_REASON_NAME_MAX;
use kith_domain::model::LossReason;
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::wire::{ApiResult, collection, one, time};

fn render(r: &LossReason, creator: i64) -> Value {
    json!({
        "id": r.id,
        "creator_id": creator,
        "name": r.name,
        "created_at": time(r.created_at),
        "updated_at": time(r.updated_at),
    })
}

/// The `name` of a body: `None` when it is not sent (or not text).
fn read_name(data: &mut Data) -> Option<String> {
    match data.text("name", LOSS_REASON_NAME_MAX)? {
        Some(n) => Some(n),
        None => {
            data.error("name", "can't be blank");
            None
        }
    }
}

pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["name"])?;
    let paging = params.paging()?;
    let q = params.named_list_query(&paging, &[("id", "id"), ("name", "name"), ("updated_at", "updated_at")])?;
    let mut rows = st.crm.list::<LossReason>(actor, &q).await?.rows;
    let links = paging.links("/v2/loss_reasons", &mut rows);
    Ok(collection("loss_reason", rows.iter().map(|r| render(r, actor.user_id)).collect(), links))
}

pub async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    let name = read_name(&mut data);
    if !data.has("name") {
        data.error("name", "can't be blank");
    }
    data.finish()?;
    let r = st.crm.create_loss_reason(actor, name.as_deref().unwrap_or_default()).await?;
    Ok(one(StatusCode::OK, "loss_reason", render(&r, actor.user_id)))
}

pub async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let r = st.crm.get::<LossReason>(actor, path_id(&id, "loss reason")?).await?;
    Ok(one(StatusCode::OK, "loss_reason", render(&r, actor.user_id)))
}

/// A loss reason as the Sync API hands it out; `None` when it is not live.
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    Ok(st.crm.find::<LossReason>(actor, id).await?.map(|r| ("loss_reason", render(&r, actor.user_id))))
}

pub async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let mut r = st.crm.get::<LossReason>(actor, path_id(&id, "loss reason")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let name = read_name(&mut data);
    data.finish()?;
    if let Some(name) = name {
        r = st.crm.rename_loss_reason(actor, r.id, &name).await?;
    }
    Ok(one(StatusCode::OK, "loss_reason", render(&r, actor.user_id)))
}

pub async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    st.crm.delete_loss_reason(actor, path_id(&id, "loss reason")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
