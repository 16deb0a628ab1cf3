//! OnePage authenticates with HTTP Basic `user_id:api_key`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kith_domain::{Actor, DomainError};
use kith_http::{AppState, Presented};

use crate::wire::{ApiError, parse_id};

/// The authenticated caller of a OnePage request.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(Presented::Basic { user, secret }) = kith_http::authorization(&parts.headers) else {
            return Err(ApiError::unauthorized());
        };
        let user_id = parse_id(user.trim()).ok_or_else(ApiError::unauthorized)?;
        match state.crm.authenticate(secret.trim(), Some(user_id)).await {
            Ok(actor) => Ok(Caller(actor)),
            Err(DomainError::Store(e)) => Err(DomainError::Store(e).into()),
            Err(_) => Err(ApiError::unauthorized()),
        }
    }
}
