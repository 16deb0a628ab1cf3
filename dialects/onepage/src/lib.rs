//! The OnePageCRM API v3 dialect, mounted at `/api/v3`: HTTP Basic `user_id:api_key`,
//! 24-hex ids, the `{status, message, timestamp, data}` envelope.

mod auth;
mod contacts;
mod input;
pub mod wire;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kith_http::AppState;

use crate::wire::ApiError;

/// Where the dialect is mounted.
pub const MOUNT: &str = "/api/v3";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route(
            "/contacts/{id}",
            get(contacts::get).put(contacts::update).patch(contacts::update).delete(contacts::delete),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> ApiError {
    ApiError::not_found("resource")
}

async fn method_not_allowed() -> Response {
    let mut e = ApiError::bad_request("This method is not allowed on this resource.");
    e.status = StatusCode::METHOD_NOT_ALLOWED;
    e.message = "Method not allowed";
    e.error_name = "method_not_allowed";
    e.into_response()
}

/// OnePage accepts an optional `.json` suffix on every path; this strips it before routing.
pub fn strip_json_suffix(path: &str) -> Option<String> {
    (path.starts_with(MOUNT) && path.ends_with(".json")).then(|| path.trim_end_matches(".json").to_owned())
}
