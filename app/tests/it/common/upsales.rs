//! Requests to the Upsales dialect at `/api/v2`, and its error body.

use kith_domain::NewAccount;
use reqwest::Method;
use serde_json::Value;

use super::{App, Reply};

/// An Upsales request as `who`, with the key as `?token=`; `path` is below `/api/v2` and may
/// carry a query.
pub async fn up_as(app: &App, who: &NewAccount, method: Method, path: &str, body: Option<Value>) -> Reply {
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = format!("{}/api/v2{path}{sep}token={}", app.base, who.key.secret);
    app.send(app.client.request(method, url), body).await
}

/// An Upsales request as the first account's owner.
pub async fn up(app: &App, method: Method, path: &str, body: Option<Value>) -> Reply {
    up_as(app, &app.owner, method, path, body).await
}

/// A GET that must answer 200 with `error: null`.
pub async fn get_ok(app: &App, path: &str) -> Value {
    let r = up(app, Method::GET, path, None).await;
    assert_eq!(r.status, 200, "{}: GET {path}: {}", app.label, r.body);
    assert!(r.body["error"].is_null(), "{}", r.body);
    r.body
}

/// Creates a record (which must answer 200 `{error: null, data}`); its `data`.
pub async fn created(app: &App, path: &str, body: Value) -> Value {
    let r = up(app, Method::POST, path, Some(body)).await;
    assert_eq!(r.status, 200, "{}: POST {path}: {}", app.label, r.body);
    assert!(r.body["error"].is_null(), "{}", r.body);
    assert!(r.body["data"]["id"].as_i64().is_some_and(|i| i > 0), "{}", r.body);
    r.body["data"].clone()
}

/// Asserts Upsales' error body with the given status and key.
pub fn assert_up_error(r: &Reply, status: u16, key: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.body["error"]["key"], key, "body: {}", r.body);
    assert_eq!(r.body["error"]["code"], status, "body: {}", r.body);
    assert!(r.body["error"]["errorCode"].is_u64() && r.body["error"]["msg"].is_string(), "body: {}", r.body);
    assert!(r.body["metadata"].is_null(), "body: {}", r.body);
}

/// The ids of a list page's records, in order.
pub fn ids(body: &Value) -> Vec<i64> {
    body["data"].as_array().map(|a| a.iter().filter_map(|d| d["id"].as_i64()).collect()).unwrap_or_default()
}
