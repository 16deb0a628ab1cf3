//! What every dialect adapter needs from HTTP, whatever its wire format: the shared state,
//! credentials read from each vendor's auth scheme, body parsing, request metrics.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use kith_domain::Crm;

/// Settings the adapters read.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest JSON request body accepted, in bytes.
    pub json_body_limit: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { json_body_limit: 2 * 1024 * 1024 }
    }
}

/// The state every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub crm: Crm,
    pub config: Arc<HttpConfig>,
}

/// Credentials as a client presented them, before they are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// HTTP Basic `user:secret`.
    Basic { user: String, secret: String },
    /// `Authorization: Bearer <secret>`.
    Bearer(String),
    /// `Authorization: <secret>` with no scheme.
    Bare(String),
    /// `?token=<secret>` or a `token` header.
    Token(String),
}

/// Reads the `Authorization` header in any of the schemes Kith's dialects use.
pub fn authorization(headers: &HeaderMap) -> Option<Presented> {
    let raw = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = raw.split_once(' ').map_or((raw, ""), |(s, r)| (s, r.trim()));
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, secret) = text.split_once(':')?;
        return Some(Presented::Basic { user: user.to_owned(), secret: secret.to_owned() });
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty()).then(|| Presented::Bearer(rest.to_owned()));
    }
    (!raw.is_empty() && !raw.contains(' ')).then(|| Presented::Bare(raw.to_owned()))
}

/// Reads a `token` query parameter, or a `token` header.
pub fn token(headers: &HeaderMap, query: Option<&str>) -> Option<Presented> {
    if let Some(q) = query {
        for pair in q.split('&') {
            if let Some(v) = pair.strip_prefix("token=")
                && !v.is_empty()
            {
                return Some(Presented::Token(v.to_owned()));
            }
        }
    }
    let h = headers.get("token")?.to_str().ok()?.trim();
    (!h.is_empty()).then(|| Presented::Token(h.to_owned()))
}

/// A body that is not the JSON a handler expects, with a message fit for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadJson(pub String);

/// Parses a JSON request body; an empty body is `{}`.
pub fn parse_json_object(body: &Bytes) -> Result<serde_json::Map<String, serde_json::Value>, BadJson> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(BadJson("the request body must be a JSON object".into())),
        Err(e) => Err(BadJson(format!("the request body is not valid JSON: {e}"))),
    }
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads a request body up to `limit` bytes.
pub async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, BodyError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if err.is::<http_body_util::LengthLimitError>() {
                return BodyError::TooLarge;
            }
            source = err.source();
        }
        BodyError::Unreadable
    })
}

/// Query parameters, decoded leniently (a malformed pair is skipped, never an error).
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query.map_or_else(Vec::new, |q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
}

/// Counts requests and times them by route, method and status.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("kith_http_requests_total", &labels).increment(1);
    metrics::histogram!("kith_http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    response
}
