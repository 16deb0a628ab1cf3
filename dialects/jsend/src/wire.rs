//! JSend on the wire: `{status: "success", data}`; `{status: "fail", data: {field: message}}` for
//! input the client must fix (400); `{status: "error", message, code}` for credentials,
//! permissions, missing records and server trouble. Record ids are UUIDs: the 64-bit id in the
//! first twelve bytes of a version-8 UUID, so every id reads back exactly.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kith_domain::FieldError;
use serde_json::{Map, Value, json};

/// A success answer.
pub fn success(status: StatusCode, data: Value) -> Response {
    (status, Json(json!({ "status": "success", "data": data }))).into_response()
}

/// An answer that is not a success.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// `fail`: these fields and what is wrong with each; `error`: none.
    pub fail: Option<Map<String, Value>>,
    pub message: String,
}

pub type ApiResult<T = Response> = Result<T, ApiError>;

impl ApiError {
    pub fn error(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, fail: None, message: message.into() }
    }
    /// A 400 `fail` naming one field.
    pub fn fail(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut data = Map::new();
        data.insert(field.to_owned(), Value::String(message.clone()));
        ApiError { status: StatusCode::BAD_REQUEST, fail: Some(data), message }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fail {
            Some(data) => {
                let parts: Vec<String> =
                    data.iter().map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default())).collect();
                write!(f, "{}", parts.join("; "))
            }
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.fail {
            Some(data) => json!({ "status": "fail", "data": data }),
            None => json!({ "status": "error", "message": self.message, "code": self.status.as_u16() }),
        };
        (self.status, Json(body)).into_response()
    }
}

impl kith_http::WireError for ApiError {
    fn not_found(kind: &str) -> Self {
        ApiError::error(StatusCode::NOT_FOUND, format!("The {kind} was not found."))
    }
    fn invalid(fields: Vec<FieldError>) -> Self {
        let mut data = Map::new();
        for f in fields {
            data.entry(f.field).or_insert(Value::String(f.message));
        }
        ApiError { status: StatusCode::BAD_REQUEST, fail: Some(data), message: "invalid input".into() }
    }
    fn bad_request(message: String) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            fail: Some(Map::from_iter([("request".into(), json!(message))])),
            message,
        }
    }
    fn conflict(message: String) -> Self {
        ApiError::error(StatusCode::CONFLICT, message)
    }
    fn forbidden(message: String) -> Self {
        ApiError::error(StatusCode::FORBIDDEN, message)
    }
    fn unauthorized() -> Self {
        ApiError::error(StatusCode::UNAUTHORIZED, "Unauthorized: the API key is missing or invalid.")
    }
    fn payload_too_large() -> Self {
        ApiError::error(StatusCode::PAYLOAD_TOO_LARGE, "The file is too large: 20 MB at the most.")
    }
    fn internal() -> Self {
        ApiError::error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error: we had a problem with our server.")
    }
}

impl From<kith_domain::DomainError> for ApiError {
    fn from(e: kith_domain::DomainError) -> Self {
        kith_http::from_domain(e)
    }
}

/// The bytes of a version-8 UUID that carry no id: its version and variant, and the tail.
const UUID_VERSION: u8 = 0x80;
const UUID_VARIANT: u8 = 0x80;

/// An id as JSend writes it: `xxxxxxxx-xxxx-8xxx-8xxx-xxxxxxxxxxxx`, the id's eight bytes in
/// bytes 0–5 and 10–11, so ids in order give UUIDs in order.
pub fn uuid_id(id: i64) -> String {
    let b = id.to_be_bytes();
    let mut u = [0u8; 16];
    u[..6].copy_from_slice(&b[..6]);
    u[6] = UUID_VERSION;
    u[8] = UUID_VARIANT;
    u[10..12].copy_from_slice(&b[6..]);
    uuid::Uuid::from_bytes(u).hyphenated().to_string()
}

/// An id written by `uuid_id`, read back; `None` for anything else.
pub fn parse_uuid_id(raw: &str) -> Option<i64> {
    let u = uuid::Uuid::try_parse(raw.trim()).ok()?;
    let b = u.as_bytes();
    if b[6] != UUID_VERSION || b[7] != 0 || b[8] != UUID_VARIANT || b[9] != 0 || b[12..].iter().any(|x| *x != 0) {
        return None;
    }
    let mut id = [0u8; 8];
    id[..6].copy_from_slice(&b[..6]);
    id[6..].copy_from_slice(&b[10..12]);
    Some(i64::from_be_bytes(id)).filter(|id| *id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_that_read_back() {
        for id in [1, 42, 1 << 40, i64::MAX] {
            let text = uuid_id(id);
            assert_eq!(uuid::Uuid::try_parse(&text).map(|u| u.get_version_num()), Ok(8), "{text}");
            assert_eq!(parse_uuid_id(&text), Some(id));
            assert_eq!(parse_uuid_id(&text.to_uppercase()), Some(id));
        }
        assert!(uuid_id(1) < uuid_id(2));
        for bad in
            ["", "42", "a9799007-8ed2-4261-b5a8-1efbdc8bbc2b", "not-a-uuid", "00000000-0000-8000-8000-000000000000"]
        {
            assert_eq!(parse_uuid_id(bad), None, "{bad}");
        }
    }
}
