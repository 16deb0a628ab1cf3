//! The Upsales API v2 dialect, mounted at `/api/v2`: the account's secret key as `?token=`
//! (or a `token` cookie, or a Bearer header), integer ids, the `{error, metadata, data}`
//! envelopes, Upsales' query language over every list (`limit`/`offset`, `attr=op:value`
//! filters, relations, custom fields, `sort`), and a rate limit shared by every replica.
//!
//! Paths are matched as Upsales' server matches them: ignoring case and a trailing slash
//! (`/orderStages/`, `/orderstages`). Unknown paths answer `404 NotFound` once the caller is
//! authenticated.

mod accounts;
mod activities;
mod appointments;
mod auth;
mod catalog;
mod categories;
mod contacts;
mod custom;
mod lists;
mod orders;
mod phone_calls;
mod projects;
mod query;
mod shapes;
mod stages;
mod users;
pub mod wire;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kith_http::Routes;

use crate::wire::ApiError;

/// Where the dialect is mounted.
pub const MOUNT: &str = "/api/v2";

/// The Upsales dialect, as the server mounts it.
pub struct Upsales;

impl kith_http::Dialect for Upsales {
    fn name(&self) -> &'static str {
        "upsales"
    }
    fn mount(&self) -> &'static str {
        MOUNT
    }
    fn router(&self) -> Routes {
        router()
    }
    fn rewrite_path(&self, path: &str) -> Option<String> {
        normalize(path)
    }
    fn bad_request(&self, message: String) -> Response {
        ApiError::validation(message).into_response()
    }
    fn timed_out(&self, message: String, _request_id: Option<&str>) -> Response {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ServerError", 3, message).into_response()
    }
    fn try_it(&self, base_url: &str, _user_id: i64, api_key: &str) -> Option<String> {
        Some(format!("curl '{base_url}{MOUNT}/self?token={api_key}'"))
    }
}

/// The path to route for an Upsales path: lower-cased, without a trailing slash; `None` for
/// paths of other mounts and paths already in that form.
pub fn normalize(path: &str) -> Option<String> {
    let head = path.get(..MOUNT.len())?;
    if !head.eq_ignore_ascii_case(MOUNT) || !matches!(path.as_bytes().get(MOUNT.len()), None | Some(b'/')) {
        return None;
    }
    let mut out = path.to_ascii_lowercase();
    while out.len() > MOUNT.len() && out.ends_with('/') {
        out.pop();
    }
    (out != path).then_some(out)
}

pub fn router() -> Routes {
    Routes::new()
        .merge(accounts::routes())
        .merge(activities::routes())
        .merge(contacts::routes())
        .merge(orders::routes())
        .merge(stages::routes())
        .merge(users::routes())
        .merge(custom::routes())
        .merge(catalog::routes())
        .merge(appointments::routes())
        .merge(phone_calls::routes())
        .merge(lists::routes())
        .merge(projects::routes())
        .merge(categories::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn(auth::rate_headers))
}

/// A path or method Kith does not serve: Upsales' 404, once the caller is known.
async fn not_found(_: auth::Caller) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NotFound", 4, "No such endpoint")
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn paths_ignore_case_and_a_trailing_slash() {
        assert_eq!(normalize("/api/v2/orderStages/").as_deref(), Some("/api/v2/orderstages"));
        assert_eq!(normalize("/API/V2/accounts/12/").as_deref(), Some("/api/v2/accounts/12"));
        assert_eq!(normalize("/api/v2/accounts"), None);
        assert_eq!(normalize("/api/v2"), None);
        assert_eq!(normalize("/api/v3/contacts/"), None);
        assert_eq!(normalize("/api/v22/x"), None);
        assert_eq!(normalize("/a"), None);
    }
}
