//! Requests to the Sell dialect at `/v2`, and its error body.

use kith_domain::NewAccount;
use reqwest::Method;
use serde_json::Value;

use super::{App, Reply};

pub const UA: &str = "KithTests/1.0";

/// A Sell request as `who` (Bearer key, a `User-Agent`); `body` goes as JSON.
pub async fn sell_as(app: &App, who: &NewAccount, method: Method, path: &str, body: Option<Value>) -> Reply {
    let req = app
        .client
        .request(method, format!("{}/v2{path}", app.base))
        .bearer_auth(&who.key.secret)
        .header(reqwest::header::USER_AGENT, UA);
    app.send(req, body).await
}

/// A Sell request as the first account's owner.
pub async fn sell(app: &App, method: Method, path: &str, body: Option<Value>) -> Reply {
    sell_as(app, &app.owner, method, path, body).await
}

/// Asserts Sell's error body with the given status and first error code.
pub fn assert_sell_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.body["errors"][0]["error"]["code"], code, "body: {}", r.body);
    assert_eq!(r.body["errors"][0]["meta"]["type"], "error", "body: {}", r.body);
    assert!(r.body["errors"][0]["error"]["message"].is_string(), "body: {}", r.body);
    assert_eq!(r.body["meta"]["type"], "errors");
    assert!(r.body["meta"]["http_status"].as_str().is_some_and(|s| s.starts_with(&status.to_string())));
    assert!(r.body["meta"]["logref"].is_string());
}

/// Creates a record with a `POST` of `{"data": data}` (which must answer 200); its `data`.
pub async fn created(app: &App, path: &str, data: Value) -> Value {
    let r = sell(app, Method::POST, path, Some(serde_json::json!({ "data": data }))).await;
    assert_eq!(r.status, 200, "{}: POST {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

/// The `data` of each item of a collection.
pub fn items(r: &Reply) -> Vec<Value> {
    r.body["items"].as_array().map(|a| a.iter().map(|i| i["data"].clone()).collect()).unwrap_or_default()
}

/// The ids of a collection's items, in order.
pub fn ids(r: &Reply) -> Vec<i64> {
    items(r).iter().filter_map(|d| d["id"].as_i64()).collect()
}
