//! The `Dialect` trait: what the server needs to mount an adapter, and the guards every
//! mounted dialect gets from the kit.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use kith_domain::webhooks::Render;

use crate::{AppState, Routes};

/// One vendor's API, served at its own mount.
pub trait Dialect: Send + Sync + 'static {
    /// Its short name: the webhook format it renders, the name its documents go by.
    fn name(&self) -> &'static str;
    /// The path prefix it is served under (`/api/v3`).
    fn mount(&self) -> &'static str;
    /// Its routes, relative to the mount. Paths it does not serve answer in its own error shape.
    fn router(&self) -> Routes;
    /// The body of a webhook delivery in this dialect's format, when it has webhooks.
    fn webhooks(&self) -> Option<Arc<dyn Render>> {
        None
    }
    /// A path to route instead of `path`, for paths the vendor spells several ways (OnePage's
    /// optional `.json`); `None` leaves the path alone. Called for every request.
    fn rewrite_path(&self, _path: &str) -> Option<String> {
        None
    }
    /// A 400 in the dialect's error shape, for requests the kit refuses before any handler.
    fn bad_request(&self, message: String) -> Response;
    /// A 503 in the dialect's error shape for a request abandoned after the server's request
    /// time limit (`request_id` is the answer's `Request-Id`, for dialects that quote it).
    fn timed_out(&self, message: String, request_id: Option<&str>) -> Response;
    /// A record id as this dialect writes it (decimal unless the vendor's ids look otherwise).
    fn show_id(&self, id: i64) -> String {
        id.to_string()
    }
    /// A record id as this dialect writes it, read back; `None` when `raw` is not one.
    fn read_id(&self, raw: &str) -> Option<i64> {
        raw.parse().ok().filter(|id| *id > 0)
    }
    /// The user name this dialect's credentials pair with an API key (OnePage's HTTP Basic user
    /// id); `None` when a key alone authenticates.
    fn user_name(&self, _user_id: i64) -> Option<String> {
        None
    }
    /// A command line that calls this dialect at `base_url` (the server's address, without the
    /// mount) as `user_id` with `api_key`: what a first run prints to try the server.
    fn try_it(&self, _base_url: &str, _user_id: i64, _api_key: &str) -> Option<String> {
        None
    }
}

/// The dialect's router with the guards every dialect shares: query strings holding a NUL
/// character are refused (no backend keeps one; PostgreSQL cannot).
pub fn mounted(dialect: Arc<dyn Dialect>) -> Router<AppState> {
    let guard = dialect.clone();
    dialect.router().into_router().layer(axum::middleware::from_fn(move |req: Request, next: Next| {
        let guard = guard.clone();
        async move {
            if let Some(key) = nul_parameter(req.uri().query()) {
                return guard.bad_request(format!("the query parameter {key} must not contain NUL characters"));
            }
            next.run(req).await
        }
    }))
}

/// The first query parameter whose name or value decodes to text with a NUL character.
fn nul_parameter(query: Option<&str>) -> Option<String> {
    let query = query?;
    if !query.contains("%00") && !query.contains('\0') {
        return None;
    }
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| k.replace('\0', "\\u0000"))
}

#[cfg(test)]
mod tests {
    use super::nul_parameter;

    #[test]
    fn finds_nul_in_names_and_values() {
        assert_eq!(nul_parameter(Some("search=a%00b")), Some("search".into()));
        assert_eq!(nul_parameter(Some("a=1&na%00me=x")), Some("na\\u0000me".into()));
        assert_eq!(nul_parameter(Some("search=a%2500b")), None);
        assert_eq!(nul_parameter(Some("search=ab")), None);
        assert_eq!(nul_parameter(None), None);
    }
}
