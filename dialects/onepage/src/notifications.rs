//! `/notifications`: the caller's own notifications.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::model::{Notification, User};
use kith_domain::query::{Filter, Sort};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{Params, path_id};
use crate::render::common::short_name;
use crate::wire::{ApiResult, hex_id, ok, time};

fn render(n: &Notification, users: &[User]) -> Value {
    let by = n.actor_id.and_then(|a| users.iter().find(|u| u.id == a)).map(short_name).unwrap_or_default();
    let mut v = json!({
        "id": hex_id(n.id),
        "type": n.kind,
        "by": by,
        "read": n.read_at.is_some(),
        "user_id": hex_id(n.user_id),
        "created_at": time(n.created_at),
        "modified_at": time(n.updated_at),
    });
    if let Some(c) = n.entity_id.filter(|_| n.entity_kind.as_deref() == Some("contact")) {
        v["contact_id"] = json!(hex_id(c));
    }
    v
}

pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let paging = Params::parse(raw.as_deref()).paging()?;
    let q = paging
        .query()
        .filter(Filter::eq("user_id", actor.user_id))
        .sort(Sort::desc("created_at"))
        .sort(Sort::desc("id"));
    let page = st.crm.list::<Notification>(actor, &q).await?;
    let users = st.crm.all::<User>(actor, None).await?;
    let items = page.rows.iter().map(|n| json!({ "notification": render(n, &users) })).collect();
    Ok(ok(StatusCode::OK, paging.envelope("notifications", items, page.total.unwrap_or(0))))
}

pub async fn get(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let n = st.crm.notification(actor, path_id(&id, "notification")?).await?;
    let users = st.crm.all::<User>(actor, None).await?;
    Ok(ok(StatusCode::OK, json!({ "notification": render(&n, &users) })))
}

pub async fn mark_as_read(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let n = st.crm.mark_notification_read(actor, path_id(&id, "notification")?).await?;
    let users = st.crm.all::<User>(actor, None).await?;
    Ok(ok(StatusCode::CREATED, json!({ "notification": render(&n, &users) })))
}

pub async fn mark_all_as_read(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    st.crm.mark_all_notifications_read(actor).await?;
    Ok(ok(StatusCode::CREATED, json!({})))
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/notifications", routing::get(list))
        .route("/notifications/mark_all_as_read", routing::post(mark_all_as_read))
        .route("/notifications/{id}", routing::get(get))
        .route("/notifications/{id}/mark_as_read", routing::post(mark_as_read))
}
