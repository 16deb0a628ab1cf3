//! Apideck authenticates with `Authorization: Bearer <key>` and requires the
//! `x-apideck-consumer-id` and `x-apideck-app-id` headers. Kith maps one API key to one
//! account: the consumer id names the caller's end customer in Apideck, and Kith echoes it back
//! (in the `x-apideck-consumer-id` response header) without keeping it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kith_domain::Actor;
use kith_http::{AppState, AuthFailure, Scheme};

use crate::wire::ApiError;

pub const CONSUMER_ID: &str = "x-apideck-consumer-id";
pub const APP_ID: &str = "x-apideck-app-id";

/// The authenticated caller of an Apideck request.
pub struct Caller(pub Actor);

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor =
            match kith_http::authenticate(&state.crm, &parts.headers, parts.uri.query(), &[Scheme::Bearer], |_| None)
                .await
            {
                Ok(actor) => actor,
                Err(AuthFailure::Internal(e)) => return Err(e.into()),
                Err(AuthFailure::Missing) => {
                    return Err(ApiError::unauthorized("Missing authentication: send Authorization: Bearer <key>."));
                }
                Err(AuthFailure::Invalid) => return Err(ApiError::unauthorized("The API key is invalid or revoked.")),
            };
        if header(parts, CONSUMER_ID).is_none() {
            return Err(ApiError::unauthorized("Missing x-apideck-consumer-id header."));
        }
        if header(parts, APP_ID).is_none() {
            return Err(ApiError::unauthorized("Missing x-apideck-app-id header."));
        }
        Ok(Caller(actor))
    }
}
