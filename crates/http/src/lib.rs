//! The dialect kit: what every dialect adapter needs, whatever its wire format — the shared
//! state, the `Dialect` trait the server mounts, credentials read from each vendor's auth
//! scheme, body readers generic over the id format, paging parameters bounded where they are
//! parsed, one mapping from domain errors to the dialect's error type, request metrics.
//! A dialect depends on this kit and the domain, never on the store.

pub mod body;
pub mod cursor;
pub mod dialect;
pub mod errors;
pub mod idempotency;
pub mod multipart;
pub mod paging;
pub mod routes;

pub use body::{
    BadJson, BodyError, Fields, WireFormat, json_text, parse_json_object, read_body, read_object, reject_nul,
};
pub use cursor::{sign_cursor, verify_cursor};
pub use dialect::{Dialect, mounted};
pub use errors::{WireError, from_domain};
pub use idempotency::idempotent;
pub use paging::{LimitOffset, PageNumber, PagingError, limit_offset, page_number};
pub use routes::Routes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use kith_domain::Crm;

/// Settings the adapters read, and the server's per-request limits.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest JSON request body accepted, in bytes.
    pub json_body_limit: usize,
    /// Longest a request may take, from its head being read to its response being ready (reading
    /// the body included); a request that takes longer is answered 503. `None`: no limit.
    pub request_timeout: Option<Duration>,
    /// Requests each API key may make per window, counted in the database (shared by every
    /// replica of one database); the dialects that limit answer past it in their own shape.
    pub rate_limit: kith_domain::rate_limits::RateLimit,
}

/// The default `HttpConfig::request_timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            json_body_limit: 2 * 1024 * 1024,
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            rate_limit: Default::default(),
        }
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

/// Reads a `token` query parameter, a `token` header, or a `token` cookie.
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
    if let Some(h) = headers.get("token").and_then(|v| v.to_str().ok()).map(str::trim).filter(|h| !h.is_empty()) {
        return Some(Presented::Token(h.to_owned()));
    }
    cookie(headers, "token").map(Presented::Token)
}

/// The value of cookie `name` in the request's `Cookie` headers (empty values are absent).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| k.trim() == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
}

/// The credential forms a dialect accepts, as its vendor does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// HTTP Basic `user_id:api_key` (OnePage); the user part must name the key's user.
    Basic,
    /// `Authorization: Bearer <key>` (Sell, Apideck).
    Bearer,
    /// `Authorization: <key>` (JSend).
    Bare,
    /// `?token=<key>`, a `token` header or a `token` cookie (Upsales).
    Token,
}

/// Why a request is not authenticated. Dialects answer 401 (or 500 for `Internal`) in their
/// own error shape, and never say which part was wrong.
#[derive(Debug)]
pub enum AuthFailure {
    Missing,
    Invalid,
    Internal(kith_domain::DomainError),
}

/// The one auth layer: finds credentials in the forms `accepted` lists and resolves them to
/// (account, user). `parse_user` reads the user part of Basic credentials in the dialect's id form.
pub async fn authenticate(
    crm: &Crm,
    headers: &HeaderMap,
    query: Option<&str>,
    accepted: &[Scheme],
    parse_user: fn(&str) -> Option<i64>,
) -> Result<kith_domain::Actor, AuthFailure> {
    let presented = authorization(headers)
        .filter(|p| match p {
            Presented::Basic { .. } => accepted.contains(&Scheme::Basic),
            Presented::Bearer(_) => accepted.contains(&Scheme::Bearer),
            Presented::Bare(_) => accepted.contains(&Scheme::Bare),
            Presented::Token(_) => false,
        })
        .or_else(|| if accepted.contains(&Scheme::Token) { token(headers, query) } else { None })
        .ok_or(AuthFailure::Missing)?;
    let (secret, user) = match &presented {
        Presented::Basic { user, secret } => {
            (secret.as_str(), Some(parse_user(user.trim()).ok_or(AuthFailure::Invalid)?))
        }
        Presented::Bearer(s) | Presented::Bare(s) | Presented::Token(s) => (s.as_str(), None),
    };
    crm.authenticate(secret.trim(), user).await.map_err(|e| match e {
        kith_domain::DomainError::Store(_) => AuthFailure::Internal(e),
        _ => AuthFailure::Invalid,
    })
}

/// A UNIX time in seconds a client sent, when it falls in years 1 to 9999 (what every backend
/// keeps; the store refuses anything else too).
pub fn unix_time(secs: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(secs, 0).filter(|t| (1..=9999).contains(&chrono::Datelike::year(t)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn reads_every_scheme() {
        let basic = base64::engine::general_purpose::STANDARD.encode("u1:s3cret");
        assert_eq!(
            authorization(&headers("authorization", &format!("Basic {basic}"))),
            Some(Presented::Basic { user: "u1".into(), secret: "s3cret".into() })
        );
        assert_eq!(authorization(&headers("authorization", "Bearer abc")), Some(Presented::Bearer("abc".into())));
        assert_eq!(authorization(&headers("authorization", "bearer abc")), Some(Presented::Bearer("abc".into())));
        assert_eq!(authorization(&headers("authorization", "abc")), Some(Presented::Bare("abc".into())));
        assert_eq!(token(&HeaderMap::new(), Some("a=1&token=xyz")), Some(Presented::Token("xyz".into())));
        assert_eq!(token(&headers("token", "xyz"), None), Some(Presented::Token("xyz".into())));
        assert_eq!(token(&headers("cookie", "a=1; token=xyz"), None), Some(Presented::Token("xyz".into())));
        assert_eq!(token(&headers("cookie", "token="), None), None);
    }

    #[test]
    fn malformed_credentials_are_absent() {
        assert_eq!(authorization(&HeaderMap::new()), None);
        assert_eq!(authorization(&headers("authorization", "Basic !!!")), None);
        let no_colon = base64::engine::general_purpose::STANDARD.encode("nocolon");
        assert_eq!(authorization(&headers("authorization", &format!("Basic {no_colon}"))), None);
        assert_eq!(authorization(&headers("authorization", "Bearer ")), None);
        assert_eq!(authorization(&headers("authorization", "Digest a b")), None);
        assert_eq!(token(&HeaderMap::new(), Some("token=")), None);
    }
}
