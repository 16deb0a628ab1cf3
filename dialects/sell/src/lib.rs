//! The Zendesk Sell (Base CRM) API v2 dialect, mounted at `/v2`: `Authorization: Bearer`, a
//! required `User-Agent`, integer ids, and the `{data, meta}` envelope.
//!
//! Each resource's module holds its handlers and routes; paths Sell does not have answer Sell's
//! `404`.

mod accounts;
mod auth;
mod calls;
mod choices;
mod contacts;
mod conversions;
mod custom_fields;
mod deals;
mod includes;
mod input;
mod leads;
mod notes;
mod orders;
mod params;
mod pipelines;
mod products;
mod reasons;
mod resources;
mod sources;
mod sync;
mod tags;
mod tasks;
mod text_messages;
mod visits;
pub mod wire;

use axum::routing::get;
use kith_http::Routes;

use crate::wire::ApiError;

/// Where the dialect is mounted.
pub const MOUNT: &str = "/v2";

/// The Sell dialect, as the server mounts it.
pub struct Sell;

impl kith_http::Dialect for Sell {
    fn name(&self) -> &'static str {
        "sell"
    }
    fn mount(&self) -> &'static str {
        MOUNT
    }
    fn router(&self) -> Routes {
        router()
    }
    fn bad_request(&self, message: String) -> axum::response::Response {
        axum::response::IntoResponse::into_response(ApiError::bad_request(message))
    }
    fn timed_out(&self, message: String, request_id: Option<&str>) -> axum::response::Response {
        // Sell's error body gives the request id as its `logref`.
        let error = ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "request_timeout", message);
        wire::REQUEST_ID.sync_scope(request_id.unwrap_or_default().to_owned(), || {
            axum::response::IntoResponse::into_response(error)
        })
    }
    fn try_it(&self, base_url: &str, _user_id: i64, api_key: &str) -> Option<String> {
        Some(format!("curl -H 'Authorization: Bearer {api_key}' {base_url}{MOUNT}/contacts"))
    }
}

pub fn router() -> Routes {
    Routes::new()
        .route("/accounts/self", get(accounts::account))
        .route("/users", get(accounts::users))
        .route("/users/self", get(accounts::me))
        .route("/users/{id}", get(accounts::user))
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route("/contacts/{id}", get(contacts::get).put(contacts::update).delete(contacts::delete))
        .route("/leads", get(leads::list).post(leads::create))
        .route("/leads/{id}", get(leads::get).put(leads::update).delete(leads::delete))
        .route("/loss_reasons", get(reasons::list).post(reasons::create))
        .route("/loss_reasons/{id}", get(reasons::get).put(reasons::update).delete(reasons::delete))
        .merge(choices::routes())
        .merge(deals::routes())
        .merge(pipelines::routes())
        .merge(sources::routes())
        .merge(notes::routes())
        .merge(tasks::routes())
        .merge(calls::routes())
        .merge(text_messages::routes())
        .merge(visits::routes())
        .merge(products::routes())
        .merge(orders::routes())
        .merge(tags::routes())
        .merge(custom_fields::routes())
        .merge(sync::routes())
        .merge(conversions::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(per_request))
}

/// Runs the request with its `Request-Id` at hand for error bodies (see `wire::REQUEST_ID`) and
/// its caller for `includes=`, which it then adds to the answer.
async fn per_request(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let id = req.headers().get("request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let includes = (req.method() == axum::http::Method::GET).then(|| includes::requested(req.uri().query())).flatten();
    let answer = async move {
        let response = next.run(req).await;
        match includes {
            Some(names) => {
                let caller = wire::CALLER.try_with(|c| c.borrow_mut().take()).ok().flatten();
                includes::expand(response, names, caller).await
            }
            None => response,
        }
    };
    wire::REQUEST_ID.scope(id, wire::CALLER.scope(std::cell::RefCell::new(None), answer)).await
}

/// A path Sell does not have: a 404 once the caller is known (a missing `User-Agent` or
/// credentials are answered first, as Sell does).
async fn not_found(_: auth::Caller) -> ApiError {
    ApiError::not_found("resource")
}

async fn method_not_allowed(_: auth::Caller) -> ApiError {
    ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This method is not allowed here.")
}
