//! Apideck's wire conventions: the envelope `{status_code, status, service, resource, operation,
//! data, meta, links}`, string ids, ISO 8601 UTC times with milliseconds, and the error body
//! `{status_code, error, type_name, message, detail, ref}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use kith_domain::{DomainError, FieldError};
use serde_json::{Value, json};

/// The service id Kith answers with (Apideck names the downstream connector here).
pub const SERVICE: &str = "kith";

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An id as Apideck writes it: a string.
pub fn id(id: i64) -> Value {
    Value::String(id.to_string())
}

pub fn opt_id(id: Option<i64>) -> Value {
    id.map_or(Value::Null, self::id)
}

fn status_text(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("")
}

/// One answer in the envelope. `raw` (the `raw=true` parameter) adds `_raw`: Kith is its own
/// downstream, so the raw answer is the unified one.
pub fn envelope(status: StatusCode, resource: &str, operation: &str, data: Value, raw: bool) -> Response {
    let mut body = json!({
        "status_code": status.as_u16(),
        "status": status_text(status),
        "service": SERVICE,
        "resource": resource,
        "operation": operation,
        "data": data,
    });
    if raw {
        body["_raw"] = json!({ "data": body["data"].clone() });
    }
    (status, Json(body)).into_response()
}

/// A page of a list: the envelope with `meta` (cursors) and `links` (absolute URLs).
pub fn page(resource: &str, data: Vec<Value>, meta: Value, links: Value, raw: bool) -> Response {
    let mut body = json!({
        "status_code": 200,
        "status": "OK",
        "service": SERVICE,
        "resource": resource,
        "operation": "all",
        "data": data,
        "meta": meta,
        "links": links,
    });
    if raw {
        body["_raw"] = json!({ "data": body["data"].clone() });
    }
    (StatusCode::OK, Json(body)).into_response()
}

/// An error in Apideck's shape.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub type_name: &'static str,
    pub message: String,
    pub detail: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, type_name: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, type_name, message: message.into(), detail: Value::Null }
    }
    pub fn with_detail(mut self, detail: impl Into<Value>) -> Self {
        self.detail = detail.into();
        self
    }
    /// 400 `RequestValidationError`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "RequestValidationError", message)
    }
    pub fn unsupported_filter(name: &str, supported: &[&str]) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "UnsupportedFiltersError", format!("Unsupported filter: {name}"))
            .with_detail(json!({ "unsupported": [name], "supported": supported }))
    }
    pub fn unsupported_sort(name: &str, supported: &[&str]) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "UnsupportedSortFieldError", format!("Unsupported sort field: {name}"))
            .with_detail(json!({ "unsupported": name, "supported": supported }))
    }
    pub fn invalid_cursor() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidCursorError", "Invalid cursor")
            .with_detail("The cursor was not made by this server for this list and account.")
    }
    pub fn unauthorized(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UnauthorizedError", "Unauthorized Request").with_detail(detail)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "EntityNotFoundError", "Unknown Entity")
            .with_detail(format!("The {what} could not be found."))
    }
    /// 409: a retry of a create whose first request has not finished.
    pub fn in_progress(message: String) -> Self {
        Self::new(StatusCode::CONFLICT, "InvalidStateError", message)
    }
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }
    /// 400 `RequestValidationError` naming each invalid field.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => format!("{} {}", one.field, one.message),
            _ => "Invalid Params".to_owned(),
        };
        let detail: Vec<Value> = fields.iter().map(|f| json!({ "field": f.field, "message": f.message })).collect();
        Self::new(StatusCode::BAD_REQUEST, "RequestValidationError", message).with_detail(json!({ "invalid": detail }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "status_code": self.status.as_u16(),
            "error": status_text(self.status),
            "type_name": self.type_name,
            "message": self.message,
            "ref": format!("https://developers.apideck.com/errors#{}", self.type_name.to_ascii_lowercase()),
        });
        if !self.detail.is_null() {
            body["detail"] = self.detail;
        }
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
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidStateError", message)
    }
    fn forbidden(message: String) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "ForbiddenError", message)
    }
    fn unauthorized() -> Self {
        ApiError::unauthorized("The API key is missing, invalid or revoked.")
    }
    fn payload_too_large() -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestValidationError", "The request body is too large.")
    }
    fn internal() -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "UnexpectedError", "Something went wrong.")
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        kith_http::from_domain(e)
    }
}

/// Apideck's wire format for the kit's body reader: ids are strings (of Kith's positive integer
/// ids); a number is taken too. An empty string is no id.
pub struct ApideckWire;

impl kith_http::WireFormat for ApideckWire {
    type Error = ApiError;

    fn read_id(value: &Value) -> Result<Option<i64>, &'static str> {
        const NOT_AN_ID: &str = "must be an id of this account";
        match value {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s.trim().parse::<i64>().ok().filter(|i| *i > 0).map(Some).ok_or(NOT_AN_ID),
            Value::Number(n) => n.as_i64().filter(|i| *i > 0).map(Some).ok_or(NOT_AN_ID),
            _ => Err(NOT_AN_ID),
        }
    }
}

pub type ApiResult<T = Response> = Result<T, ApiError>;

/// A path id: anything but a Kith id names no record.
pub fn path_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.trim().parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| ApiError::not_found(what))
}
