//! OnePage authenticates with HTTP Basic `user_id:api_key`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kith_domain::Actor;
use kith_http::{AppState, AuthFailure, Scheme};

use crate::wire::{ApiError, parse_id};

/// The authenticated caller of a OnePage request.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match kith_http::authenticate(&state.crm, &parts.headers, parts.uri.query(), &[Scheme::Basic], parse_id).await {
            Ok(actor) => Ok(Caller(actor)),
            Err(AuthFailure::Internal(e)) => Err(e.into()),
            Err(AuthFailure::Missing | AuthFailure::Invalid) => Err(ApiError::unauthorized()),
        }
    }
}
