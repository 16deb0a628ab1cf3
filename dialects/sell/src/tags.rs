//! `/tags`: the tag lists of contacts (persons and organisations), leads and deals. Names are
//! unique within a type; renaming or deleting a tag does the same to every record carrying it
//! (see `kith_domain::tags`). Records' own `tags` arrays make tags on first use.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::model::Tag;
use kith_domain::query::{Filter, Op, Sort};
use kith_domain::tags::{TAG_NAME_MAX, TAG_TYPES};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::wire::{ApiError, ApiResult, collection, one, time};

pub fn routes() -> Routes {
    Routes::new().route("/tags", get(list).post(create)).route("/tags/{id}", get(fetch).put(update).delete(delete))
}

fn render(t: &Tag) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "resource_type": t.resource_type,
        "creator_id": t.creator_id,
        "created_at": time(t.created_at),
        "updated_at": time(t.updated_at),
    })
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    let name = data.text("name", TAG_NAME_MAX).flatten();
    let resource_type = data.text("resource_type", 20).flatten();
    if name.is_none() {
        data.error("name", "can't be blank");
    }
    if resource_type.is_none() {
        data.error("resource_type", "can't be blank");
    }
    data.finish()?;
    let tag = st.crm.create_tag(actor, &name.unwrap_or_default(), &resource_type.unwrap_or_default()).await?;
    Ok(one(StatusCode::OK, "tag", render(&tag)))
}

async fn fetch(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, _: RecordQuery) -> ApiResult {
    let tag = st.crm.get::<Tag>(actor, path_id(&id, "tag")?).await?;
    Ok(one(StatusCode::OK, "tag", render(&tag)))
}

/// `PUT`: renames the tag (and the records carrying it); `resource_type` may be sent but not
/// changed.
async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, body: Body) -> ApiResult {
    let tag = st.crm.get::<Tag>(actor, path_id(&id, "tag")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let name = match data.text("name", TAG_NAME_MAX) {
        Some(None) => {
            data.error("name", "can't be blank");
            None
        }
        other => other.flatten(),
    };
    if let Some(rt) = data.text("resource_type", 20)
        && rt.as_deref() != Some(tag.resource_type.as_str())
    {
        data.error("resource_type", "cannot be changed");
    }
    data.finish()?;
    let tag = match name {
        Some(name) => st.crm.rename_tag(actor, tag.id, &name).await?,
        None => tag,
    };
    Ok(one(StatusCode::OK, "tag", render(&tag)))
}

/// Removes the tag from every record carrying it, then deletes it.
async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    st.crm.delete_tag(actor, path_id(&id, "tag")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /tags`: filters `ids`, `name` (exact), `resource_type`, `creator_id`; `sort_by` `id`,
/// `name`, `created_at`, `updated_at` (by default `updated_at`, as Sell documents).
async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["name", "resource_type", "creator_id"])?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    if let Some(name) = params.get("name").filter(|s| !s.is_empty()) {
        q = q.filter(Filter::cmp("name", Op::Eq, name));
    }
    if let Some(rt) = params.get("resource_type").filter(|s| !s.is_empty()) {
        if !TAG_TYPES.contains(&rt) {
            return Err(ApiError::bad_request(format!("resource_type must be one of {}", TAG_TYPES.join(", "))));
        }
        q = q.filter(Filter::eq("resource_type", rt));
    }
    if let Some(creator) = params.int("creator_id")? {
        q = q.filter(Filter::eq("creator_id", creator));
    }
    let sort = params
        .sort(&[("id", "id"), ("name", "name"), ("created_at", "created_at"), ("updated_at", "updated_at")], |_| {
            None
        })?;
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("updated_at")));
    let mut rows = st.crm.list::<Tag>(actor, &q).await?.rows;
    let links = paging.links("/v2/tags", &mut rows);
    Ok(collection("tag", rows.iter().map(render).collect(), links))
}

/// A tag, rendered, for the Sync API.
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    Ok(st.crm.find::<Tag>(actor, id).await?.map(|t| ("tag", render(&t))))
}
