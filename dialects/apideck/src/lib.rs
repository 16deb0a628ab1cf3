//! The Apideck Unified CRM API dialect, mounted at `/crm`: `Authorization: Bearer` with the
//! `x-apideck-consumer-id` and `x-apideck-app-id` headers, string ids, the
//! `{status_code, status, service, resource, operation, data, meta, links}` envelope, signed
//! keyset cursors, and Apideck's error body. Operations not served answer Apideck's 404.
//!
//! Consumers: one API key is one Kith account; the consumer id a client sends is required and
//! echoed back in the `x-apideck-consumer-id` response header, and does not select an account.

mod activities;
mod auth;
mod companies;
mod contacts;
mod custom_objects;
mod directory;
mod leads;
mod lists;
mod notes;
mod opportunities;
mod params;
mod shapes;
pub mod webhooks;
pub mod wire;
mod writes;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kith_http::Routes;

use crate::wire::ApiError;

/// Where the dialect is mounted.
pub const MOUNT: &str = "/crm";

/// The Apideck dialect, as the server mounts it.
pub struct Apideck;

impl kith_http::Dialect for Apideck {
    fn name(&self) -> &'static str {
        "apideck"
    }
    fn mount(&self) -> &'static str {
        MOUNT
    }
    fn router(&self) -> Routes {
        router()
    }
    fn webhooks(&self) -> Option<std::sync::Arc<dyn kith_domain::webhooks::Render>> {
        Some(std::sync::Arc::new(webhooks::ApideckWebhooks))
    }
    fn bad_request(&self, message: String) -> Response {
        ApiError::bad_request(message).into_response()
    }
    fn timed_out(&self, message: String, _request_id: Option<&str>) -> Response {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "RequestTimeoutError", message).into_response()
    }
    fn try_it(&self, base_url: &str, _user_id: i64, api_key: &str) -> Option<String> {
        Some(format!(
            "curl -H 'Authorization: Bearer {api_key}' -H 'x-apideck-consumer-id: me' -H 'x-apideck-app-id: kith' \
             {base_url}{MOUNT}/contacts"
        ))
    }
}

pub fn router() -> Routes {
    Routes::new()
        .merge(companies::routes())
        .merge(contacts::routes())
        .merge(leads::routes())
        .merge(opportunities::routes())
        .merge(notes::routes())
        .merge(activities::routes())
        .merge(directory::routes())
        .merge(lists::routes())
        .merge(custom_objects::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn(echo_consumer))
}

/// Echoes the caller's consumer id on the answer.
async fn echo_consumer(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let consumer = req.headers().get(auth::CONSUMER_ID).cloned();
    let mut response = next.run(req).await;
    if let Some(v) = consumer.filter(|v: &HeaderValue| !v.is_empty()) {
        response.headers_mut().insert(auth::CONSUMER_ID, v);
    }
    response
}

/// A path or method Kith does not serve: Apideck's 404, once the caller is known.
async fn not_found(_: auth::Caller) -> ApiError {
    ApiError::not_found("resource")
}
