//! The OnePageCRM API v3 dialect, mounted at `/api/v3`: HTTP Basic `user_id:api_key`,
//! 24-hex ids, the `{status, message, timestamp, data}` envelope.

mod actions;
mod attachments;
mod auth;
mod catalog;
mod companies;
mod contact_ops;
mod contact_query;
mod contacts;
mod deals;
mod engagements;
mod filters;
mod images;
mod input;
mod notifications;
mod params;
mod relationships;
mod render;
mod settings;
mod webhooks;
pub mod wire;

pub use webhooks::OnePageWebhooks;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kith_http::Routes;

use crate::wire::ApiError;

/// Where the dialect is mounted.
pub const MOUNT: &str = "/api/v3";

/// The OnePage dialect, as the server mounts it.
pub struct OnePage;

impl kith_http::Dialect for OnePage {
    fn name(&self) -> &'static str {
        "onepage"
    }
    fn mount(&self) -> &'static str {
        MOUNT
    }
    fn router(&self) -> Routes {
        router()
    }
    fn webhooks(&self) -> Option<std::sync::Arc<dyn kith_domain::webhooks::Render>> {
        Some(std::sync::Arc::new(OnePageWebhooks))
    }
    fn rewrite_path(&self, path: &str) -> Option<String> {
        strip_json_suffix(path)
    }
    fn bad_request(&self, message: String) -> Response {
        ApiError::bad_request(message).into_response()
    }
    fn timed_out(&self, message: String, _request_id: Option<&str>) -> Response {
        let mut e = ApiError::bad_request(message);
        e.status = StatusCode::SERVICE_UNAVAILABLE;
        e.message = "Service unavailable";
        e.error_name = "request_timeout";
        e.into_response()
    }
    fn show_id(&self, id: i64) -> String {
        wire::hex_id(id)
    }
    fn read_id(&self, raw: &str) -> Option<i64> {
        wire::parse_id(raw)
    }
    fn user_name(&self, user_id: i64) -> Option<String> {
        Some(wire::hex_id(user_id))
    }
    fn try_it(&self, base_url: &str, user_id: i64, api_key: &str) -> Option<String> {
        Some(format!("curl -u {}:{api_key} {base_url}{MOUNT}/contacts", wire::hex_id(user_id)))
    }
}

pub fn router() -> Routes {
    Routes::new()
        .merge(attachments::file_routes())
        .merge(attachments::routes())
        .merge(contacts::routes())
        .merge(relationships::routes())
        .merge(catalog::routes())
        .merge(filters::routes())
        .merge(notifications::routes())
        .merge(settings::routes())
        .merge(contact_ops::routes())
        .merge(companies::routes())
        .merge(actions::routes())
        .merge(deals::routes())
        .merge(engagements::routes())
        .merge(webhooks::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// A path OnePage does not have: a 404 once the caller is known (401 first, as OnePage does).
async fn not_found(_: auth::Caller) -> ApiError {
    ApiError::not_found("resource")
}

async fn method_not_allowed(_: auth::Caller) -> Response {
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
