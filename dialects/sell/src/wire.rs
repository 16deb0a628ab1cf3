//! Sell's wire conventions: `{data, meta: {type}}` around one record, `{items, meta}` around a
//! collection, integer ids, ISO 8601 UTC times, and the error body
//! `{errors: [{error: {code, message, details}, meta: {type: "error"}}], meta: {type: "errors",
//! http_status, logref}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use kith_domain::{DomainError, FieldError};
use serde_json::{Value, json};

tokio::task_local! {
    /// The `Request-Id` of the request being answered: error bodies give it as their `logref`,
    /// so a client's report of an error finds the server's log line.
    pub static REQUEST_ID: String;
    /// Who the request being answered is from, once authenticated, with the server's state:
    /// what `includes` needs after the handler has answered.
    pub static CALLER: std::cell::RefCell<Option<(kith_domain::Actor, kith_http::AppState)>>;
}

/// The current request's id, or a fresh one outside a request.
fn logref() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .ok()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One record in its envelope.
pub fn one(status: StatusCode, kind: &str, data: Value) -> Response {
    (status, Json(json!({ "data": data, "meta": { "type": kind } }))).into_response()
}

/// A page of records in the collection envelope; `links` has `self` and, when there are more
/// pages, `next_page`.
pub fn collection(kind: &str, items: Vec<Value>, links: Value) -> Response {
    let count = items.len();
    let items: Vec<Value> = items.into_iter().map(|d| json!({ "data": d, "meta": { "type": kind } })).collect();
    let body = json!({ "items": items, "meta": { "type": "collection", "count": count, "links": links } });
    (StatusCode::OK, Json(body)).into_response()
}

/// One error of an error response.
#[derive(Debug, Clone)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
    pub details: Option<String>,
    /// The field, as a JSON pointer (`/data/name`).
    pub field: Option<String>,
}

/// An error response in Sell's shape.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub problems: Vec<Problem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, problems: vec![Problem { code, message: message.into(), details: None, field: None }] }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn invalid_user_agent() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_user_agent",
            "Every request must carry a User-Agent header naming the client (e.g. `ClientName/1.0`).",
        )
    }
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "The access token is missing, invalid or revoked.")
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("The {what} could not be found."))
    }
    pub fn payload_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "request_entity_too_large", "The request body is too large.")
    }
    /// 422 with one problem per invalid field.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            problems: fields
                .into_iter()
                .map(|f| Problem {
                    code: "validation_failed",
                    message: format!("{} {}", f.field, f.message),
                    details: Some(f.message),
                    field: Some(format!("/data/{}", f.field)),
                })
                .collect(),
        }
    }
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let errors: Vec<Value> = self
            .problems
            .iter()
            .map(|p| {
                let mut e = json!({ "code": p.code, "message": p.message });
                if let Some(d) = &p.details {
                    e["details"] = json!(d);
                }
                if let Some(f) = &p.field {
                    e["field"] = json!(f);
                }
                json!({ "error": e, "meta": { "type": "error" } })
            })
            .collect();
        let http_status = format!("{} {}", self.status.as_u16(), self.status.canonical_reason().unwrap_or(""));
        let body = json!({
            "errors": errors,
            "meta": { "type": "errors", "http_status": http_status.trim(), "logref": logref() },
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
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }
    fn forbidden(message: String) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    fn unauthorized() -> Self {
        ApiError::unauthorized()
    }
    fn payload_too_large() -> Self {
        ApiError::payload_too_large()
    }
    fn internal() -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_server_error", "Something went wrong.")
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        kith_http::from_domain(e)
    }
}

/// Sell's wire format for the kit's body reader: ids are positive integers (numbers or
/// numeric strings); booleans are JSON booleans only.
pub struct SellWire;

impl kith_http::WireFormat for SellWire {
    type Error = ApiError;

    fn read_id(value: &Value) -> Result<Option<i64>, &'static str> {
        const NOT_AN_ID: &str = "must be a positive integer id";
        match value {
            Value::Null => Ok(None),
            Value::Number(n) => n.as_i64().filter(|i| *i > 0).map(Some).ok_or(NOT_AN_ID),
            Value::String(s) => s.trim().parse::<i64>().ok().filter(|i| *i > 0).map(Some).ok_or(NOT_AN_ID),
            _ => Err(NOT_AN_ID),
        }
    }
}

pub type ApiResult<T = Response> = Result<T, ApiError>;
