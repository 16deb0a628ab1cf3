//! Upsales' wire conventions: the envelopes `{error, metadata, data}`, integer ids, times as
//! ISO 8601 UTC with milliseconds, 0/1 flags, and errors `{error: {key, code, errorCode, msg},
//! metadata: null}` — except a missing or bad key, a bare `401 Unauthorized` in plain text.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use kith_domain::{DomainError, FieldError};
use serde_json::{Value, json};

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(time(t)))
}

/// A flag as Upsales writes most of them: 1 or 0.
pub fn flag(b: bool) -> Value {
    Value::from(i64::from(b))
}

/// A list page: `{error: null, metadata: {total, limit, offset}, data: [...]}`.
pub fn page(data: Vec<Value>, total: u64, limit: u64, offset: u64) -> Response {
    Json(json!({
        "error": null,
        "metadata": { "total": total, "limit": limit, "offset": offset },
        "data": data,
    }))
    .into_response()
}

/// One record (reads, creates and updates all answer 200): `{error: null, data: {...}}`.
pub fn one(data: Value) -> Response {
    Json(json!({ "error": null, "data": data })).into_response()
}

/// A deletion: `{error: null}`.
pub fn deleted() -> Response {
    Json(json!({ "error": null })).into_response()
}

/// An error in Upsales' shape. `key` is Upsales' error name; `error_code` its number.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub key: &'static str,
    pub error_code: u32,
    pub msg: String,
}

impl ApiError {
    pub fn new(status: StatusCode, key: &'static str, error_code: u32, msg: impl Into<String>) -> Self {
        ApiError { status, key, error_code, msg: msg.into() }
    }
    /// 400 `FailedValidation` (Upsales' answer to an attribute it does not know, too).
    pub fn validation(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "FailedValidation", 26, msg)
    }
    pub fn no_attribute(name: &str) -> Self {
        Self::validation(format!("No such attribute: {name}"))
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", 4, format!("No such {what}"))
    }
    /// The plain-text 401 (see `IntoResponse`).
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", 1, "Unauthorized")
    }
    pub fn throttled() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "ThrottleLimit", 29, "Too many requests: slow down and retry")
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "ServerError", 3, "Server error")
    }
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }
    /// 400 `FailedValidation` naming each invalid field, as Upsales names it.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let parts: Vec<String> = fields.iter().map(|f| format!("{} {}", wire_field(&f.field), f.message)).collect();
        Self::validation(if parts.is_empty() { "Invalid input".to_owned() } else { parts.join("; ") })
    }
}

/// The model's field names as Upsales calls them, in validation messages.
fn wire_field(field: &str) -> String {
    let (head, rest) = field.split_once('.').map_or((field, ""), |(h, r)| (h, r));
    let head = match head {
        "name" => "name",
        "owner_id" => "user",
        "stage_id" => "stage",
        "contact_id" => "contact",
        "company_id" => "client",
        "first_name" => "firstName",
        "last_name" => "lastName",
        "job_title" => "title",
        "custom_fields" => "custom",
        "url" => "webpage",
        "emails" | "email" => "email",
        "phones" | "phone" => "phone",
        other => other,
    };
    if rest.is_empty() { head.to_owned() } else { format!("{head}.{rest}") }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::UNAUTHORIZED {
            let mut r = (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            return r;
        }
        let body = json!({
            "error": { "key": self.key, "code": self.status.as_u16(), "errorCode": self.error_code, "msg": self.msg },
            "metadata": null,
        });
        (self.status, Json(body)).into_response()
    }
}

impl kith_http::WireError for ApiError {
    fn not_found(kind: &str) -> Self {
        ApiError::not_found(&kind.replace('_', " "))
    }
    fn invalid(fields: Vec<FieldError>) -> Self {
        ApiError::invalid(fields)
    }
    fn bad_request(message: String) -> Self {
        ApiError::validation(message)
    }
    fn conflict(message: String) -> Self {
        ApiError::validation(message)
    }
    fn forbidden(message: String) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "NoAccess", 5, message)
    }
    fn unauthorized() -> Self {
        ApiError::unauthorized()
    }
    fn payload_too_large() -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "FailedValidation", 26, "The request body is too large")
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

/// Upsales' ids for the kit's body reader: integers (numeric strings are taken too), or a
/// relation `{id}`; 0 and null are no id.
pub struct UpsalesWire;

impl kith_http::WireFormat for UpsalesWire {
    type Error = ApiError;

    fn read_id(value: &Value) -> Result<Option<i64>, &'static str> {
        const NOT_AN_ID: &str = "must be an id of this account";
        match value {
            Value::Null => Ok(None),
            Value::Number(n) if n.as_i64() == Some(0) => Ok(None),
            Value::Number(n) => n.as_i64().filter(|i| *i > 0).map(Some).ok_or(NOT_AN_ID),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s.trim().parse::<i64>().ok().filter(|i| *i > 0).map(Some).ok_or(NOT_AN_ID),
            Value::Object(m) => match m.get("id") {
                Some(inner) if !inner.is_object() => Self::read_id(inner),
                _ => Err(NOT_AN_ID),
            },
            _ => Err(NOT_AN_ID),
        }
    }
}

pub type ApiResult<T = Response> = Result<T, ApiError>;

/// A path id: anything but a positive integer names no record.
pub fn path_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.trim().parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| ApiError::not_found(what))
}
