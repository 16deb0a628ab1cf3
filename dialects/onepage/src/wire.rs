//! OnePage's wire conventions: 24-hex ids, the `{status, message, timestamp, data}` envelope,
//! its error body, and its time format.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use kith_domain::{DomainError, FieldError};
use serde_json::{Value, json};

/// Renders an id as OnePage's 24 lowercase hex characters.
pub fn hex_id(id: i64) -> String {
    format!("{id:024x}")
}

/// Parses a 24-hex id; `None` for anything else (such an id cannot exist).
pub fn parse_id(s: &str) -> Option<i64> {
    if s.len() != 24 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(s, 16).ok().and_then(|v| i64::try_from(v).ok()).filter(|v| *v > 0)
}

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A successful response in OnePage's envelope.
pub fn ok(status: StatusCode, data: Value) -> Response {
    let body = json!({
        "status": 0,
        "message": "OK",
        "timestamp": Utc::now().timestamp(),
        "data": data,
    });
    (status, Json(body)).into_response()
}

/// An error in OnePage's error body.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: &'static str,
    pub error_name: &'static str,
    pub error_message: String,
    pub errors: serde_json::Map<String, Value>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        message: &'static str,
        error_name: &'static str,
        error_message: impl Into<String>,
    ) -> Self {
        ApiError { status, message, error_name, error_message: error_message.into(), errors: Default::default() }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Authorization data not found",
            "authorization_data_not_found",
            "Cannot find suitable authorization data or data provided is not complete.",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Resource not found",
            "resource_not_found",
            format!("Could not find the requested {what}."),
        )
    }

    pub fn bad_request(error_message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Invalid request data", "invalid_request_data", error_message)
    }

    /// 400 with one entry per invalid field.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let mut e = Self::bad_request(
            fields.iter().map(|f| format!("{} {}", f.field, f.message)).collect::<Vec<_>>().join("; "),
        );
        for f in fields {
            e.errors.insert(f.field, Value::String(f.message));
        }
        e
    }

    pub fn conflict(error_message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", "conflict", error_message)
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request entity too large",
            "request_entity_too_large",
            "The request body is too large.",
        )
    }

    pub fn unsupported_media_type(error_message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", "unsupported_media_type", error_message)
    }

    pub fn unprocessable(error_message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Unprocessable entity", "unprocessable_entity", error_message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            "internal_server_error",
            "Something went wrong on our side.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "status": self.status.as_u16(),
            "message": self.message,
            "error_name": self.error_name,
            "error_message": self.error_message,
            "errors": self.errors,
        });
        (self.status, Json(body)).into_response()
    }
}

impl kith_http::WireError for ApiError {
    fn not_found(kind: &str) -> Self {
        ApiError::not_found(kind)
    }
    fn invalid(fields: Vec<FieldError>) -> Self {
        ApiError::invalid(fields)
    }
    fn bad_request(message: String) -> Self {
        ApiError::bad_request(message)
    }
    fn conflict(message: String) -> Self {
        ApiError::conflict(message)
    }
    fn forbidden(message: String) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "Forbidden", "forbidden", message)
    }
    fn unauthorized() -> Self {
        ApiError::unauthorized()
    }
    fn payload_too_large() -> Self {
        ApiError::payload_too_large()
    }
    fn internal() -> Self {
        ApiError::internal()
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        kith_http::from_domain(e)
    }
}

/// OnePage's wire format for the kit's body reader: ids are 24-hex strings (blank is none),
/// and `"true"`/`"false"` strings are booleans.
pub struct OnePageWire;

impl kith_http::WireFormat for OnePageWire {
    type Error = ApiError;
    const TEXT_BOOLEANS: bool = true;

    fn read_id(value: &Value) -> Result<Option<i64>, &'static str> {
        match value {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => parse_id(s.trim()).map(Some).ok_or("is not a valid id"),
            _ => Err("must be an id string"),
        }
    }
}

pub type ApiResult<T = Response> = Result<T, ApiError>;
