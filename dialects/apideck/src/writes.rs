//! The one shape of a resource's writes: a create reads its body into the domain's changes,
//! makes the record once per idempotency key and answers 201 `data: {id}`; an update reads the
//! changes and answers 200 `data: {id}`; a delete answers 200 `data: {id}`.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kith_domain::Actor;
use kith_http::AppState;
use serde_json::json;

use crate::params;
use crate::shapes::{self, Body_};
use crate::wire::{ApiResult, envelope, id};

/// Reads a body into changes with `read`, failing with every invalid field.
async fn changes<C>(st: &AppState, body: Body, read: fn(&mut Body_) -> C) -> ApiResult<C> {
    let mut b = shapes::read(st, body).await?;
    let c = read(&mut b);
    b.finish()?;
    Ok(c)
}

/// A create of `resource`: `make` makes the record from the changes and gives its id. `scope`
/// names the idempotency keys' resource (a path below the mount).
#[allow(clippy::too_many_arguments)]
pub async fn create<C>(
    st: &AppState,
    actor: Actor,
    headers: &HeaderMap,
    q: Option<String>,
    body: Body,
    (resource, scope): (&str, &str),
    read: fn(&mut Body_) -> C,
    make: impl AsyncFnOnce(C) -> ApiResult<i64>,
) -> Response {
    params::idempotent_create(st, actor, headers, scope, body, async |body| {
        let common = params::one(q.as_deref())?;
        let record = make(changes(st, body, read).await?).await?;
        Ok(envelope(StatusCode::CREATED, resource, "add", json!({ "id": id(record) }), common.raw))
    })
    .await
}

/// An update of `resource`: `make` applies the changes and gives the record's id.
pub async fn update<C>(
    st: &AppState,
    q: Option<String>,
    body: Body,
    resource: &str,
    read: fn(&mut Body_) -> C,
    make: impl AsyncFnOnce(C) -> ApiResult<i64>,
) -> ApiResult {
    let common = params::one(q.as_deref())?;
    let record = make(changes(st, body, read).await?).await?;
    Ok(envelope(StatusCode::OK, resource, "update", json!({ "id": id(record) }), common.raw))
}

/// A delete of record `record` of `resource`, which `make` deletes.
pub async fn delete(
    q: Option<String>,
    resource: &str,
    record: i64,
    make: impl AsyncFnOnce() -> ApiResult<()>,
) -> ApiResult {
    let common = params::one(q.as_deref())?;
    make().await?;
    Ok(envelope(StatusCode::OK, resource, "delete", json!({ "id": id(record) }), common.raw))
}
