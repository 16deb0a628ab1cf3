//! Sell authenticates with `Authorization: Bearer <token>` (Kith's 64-character keys) and turns
//! away requests without a `User-Agent` before anything else.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kith_domain::Actor;
use kith_http::{AppState, AuthFailure, Scheme};

use crate::wire::ApiError;

/// The authenticated caller of a Sell request.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let agent = parts.headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok());
        if agent.is_none_or(|a| a.trim().is_empty()) {
            return Err(ApiError::invalid_user_agent());
        }
        match kith_http::authenticate(&state.crm, &parts.headers, parts.uri.query(), &[Scheme::Bearer], |_| None).await
        {
            Ok(actor) => {
                let _ = crate::wire::CALLER.try_with(|c| *c.borrow_mut() = Some((actor, state.clone())));
                Ok(Caller(actor))
            }
            Err(AuthFailure::Internal(e)) => Err(e.into()),
            Err(AuthFailure::Missing | AuthFailure::Invalid) => Err(ApiError::unauthorized()),
        }
    }
}
