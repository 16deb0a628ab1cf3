//! The JSend opportunity API v1, mounted at `/api/v1`: the caller's open opportunities, and CSV
//! upserts of opportunities, the people on them and sales targets. `Authorization: <key>`,
//! UUID ids, JSend envelopes.

mod auth;
mod csv_file;
mod opportunities;
mod targets;
mod uploads;
pub mod wire;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_http::Routes;

pub use crate::uploads::{Import, Totals, import_file};
use crate::wire::ApiError;

/// Where the dialect is mounted.
pub const MOUNT: &str = "/api/v1";

/// The dialect, as the server mounts it.
pub struct JSend;

impl kith_http::Dialect for JSend {
    fn name(&self) -> &'static str {
        "jsend"
    }
    fn mount(&self) -> &'static str {
        MOUNT
    }
    fn router(&self) -> Routes {
        router()
    }
    fn bad_request(&self, message: String) -> Response {
        <ApiError as kith_http::WireError>::bad_request(message).into_response()
    }
    fn timed_out(&self, message: String, _request_id: Option<&str>) -> Response {
        ApiError::error(StatusCode::SERVICE_UNAVAILABLE, message).into_response()
    }
    fn show_id(&self, id: i64) -> String {
        wire::uuid_id(id)
    }
    fn read_id(&self, raw: &str) -> Option<i64> {
        wire::parse_uuid_id(raw)
    }
    fn try_it(&self, base_url: &str, _user_id: i64, api_key: &str) -> Option<String> {
        Some(format!("curl -H 'Authorization: {api_key}' {base_url}{MOUNT}/opportunities/my"))
    }
}

pub fn router() -> Routes {
    // A 20 MB file and the multipart framing around it.
    let uploads = Routes::new()
        .route("/admin/opportunities/upload", post(uploads::opportunities))
        .route("/admin/contacts/upload", post(uploads::contacts))
        .route("/admin/salestargets/upload", post(uploads::targets))
        .route("/admin/sales_targets/upload", post(uploads::targets))
        .route("/admin/targets/upload", post(uploads::targets))
        .layer(DefaultBodyLimit::max(uploads::MAX_UPLOAD_BYTES + 256 * 1024));
    Routes::new()
        .route("/opportunities/my", get(opportunities::mine))
        .route("/salestargets", get(targets::list))
        .route("/admin/uploads/{id}/errors.csv", get(uploads::error_file))
        .merge(uploads)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// A path the API does not have: a 404 once the caller is known.
async fn not_found(_: auth::Caller) -> ApiError {
    ApiError::error(StatusCode::NOT_FOUND, "Not Found: the resource was not found.")
}

async fn method_not_allowed(_: auth::Caller) -> ApiError {
    ApiError::error(StatusCode::METHOD_NOT_ALLOWED, "This method is not allowed here.")
}
