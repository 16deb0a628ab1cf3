//! JSend authenticates with the raw key, `Authorization: <key>` (`Bearer <key>` too).

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use kith_domain::Actor;
use kith_http::{AppState, AuthFailure, Scheme};

use crate::wire::ApiError;

/// The authenticated caller of a request.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let schemes = [Scheme::Bare, Scheme::Bearer];
        match kith_http::authenticate(&state.crm, &parts.headers, parts.uri.query(), &schemes, |_| None).await {
            Ok(actor) => Ok(Caller(actor)),
            Err(AuthFailure::Internal(e)) => Err(e.into()),
            Err(AuthFailure::Missing | AuthFailure::Invalid) => Err(kith_http::WireError::unauthorized()),
        }
    }
}

/// A caller with administrative permissions (an owner or admin key): what uploads need.
pub struct Admin(pub Actor);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(actor) = Caller::from_request_parts(parts, state).await?;
        let me = state.crm.get::<kith_domain::model::User>(actor, actor.user_id).await?;
        if matches!(me.role.as_str(), "owner" | "admin") {
            Ok(Admin(actor))
        } else {
            Err(ApiError::error(StatusCode::FORBIDDEN, "Forbidden: uploads need Administrative permissions."))
        }
    }
}
