//! Upsales authenticates with the account's secret key: `?token=<key>` on every request (the
//! documented form), a `Cookie: token=<key>` (what the web app sends) or `Authorization:
//! Bearer <key>`. Each authenticated request counts against the key's rate limit, which is
//! kept in the database so that every replica shares it; the `X-RateLimit-*` headers go on
//! every answer to an authenticated request, and `429 ThrottleLimit` past the limit.

use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use kith_domain::rate_limits::RateState;
use kith_domain::{Actor, DomainError};
use kith_http::{AppState, AuthFailure, Presented, Scheme};

use crate::wire::ApiError;

/// The authenticated caller of an Upsales request.
pub struct Caller(pub Actor);

/// Where the caller's extractor leaves the key's rate state for `rate_headers`.
#[derive(Clone, Default)]
struct RateSlot(Arc<Mutex<Option<RateState>>>);

/// The key a request presents, in any form Upsales takes.
fn presented(parts: &Parts) -> Option<String> {
    if let Some(Presented::Bearer(k)) = kith_http::authorization(&parts.headers) {
        return Some(k);
    }
    match kith_http::token(&parts.headers, parts.uri.query()) {
        Some(Presented::Token(k)) => Some(k),
        _ => None,
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let schemes = [Scheme::Bearer, Scheme::Token];
        let actor = match kith_http::authenticate(&st.crm, &parts.headers, parts.uri.query(), &schemes, |_| None).await
        {
            Ok(actor) => actor,
            Err(AuthFailure::Internal(e)) => return Err(e.into()),
            Err(AuthFailure::Missing | AuthFailure::Invalid) => return Err(ApiError::unauthorized()),
        };
        let key = presented(parts).ok_or_else(ApiError::unauthorized)?;
        let rate = st
            .crm
            .hit_rate_limit(actor, &key, st.config.rate_limit)
            .await
            .map_err(|e: DomainError| ApiError::from(e))?;
        if let Some(slot) = parts.extensions.get::<RateSlot>() {
            *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(rate);
        }
        if !rate.allowed {
            return Err(ApiError::throttled());
        }
        Ok(Caller(actor))
    }
}

/// Adds the key's rate-limit headers (and `Retry-After` on a 429) to the answer.
pub async fn rate_headers(mut req: Request, next: Next) -> Response {
    let slot = RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut response = next.run(req).await;
    let state = *slot.0.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = state {
        let h = response.headers_mut();
        let set = |h: &mut axum::http::HeaderMap, name: &'static str, v: u32| {
            h.insert(HeaderName::from_static(name), HeaderValue::from(v));
        };
        set(h, "x-ratelimit-limit", s.limit);
        set(h, "x-ratelimit-remaining", s.remaining);
        set(h, "x-ratelimit-reset", s.reset_secs);
        if !s.allowed {
            set(h, "retry-after", s.reset_secs);
        }
    }
    response
}
