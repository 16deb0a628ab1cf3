//! Requests to the Apideck dialect at `/crm`, each answer checked against Apideck's OpenAPI
//! document, and its error body.

use kith_domain::NewAccount;
use reqwest::Method;
use serde_json::Value;

use super::{App, Reply, openapi};

/// An Apideck request as `who` (Bearer key, consumer and app ids); `path` is below `/crm` and
/// may carry a query. Every answer is checked against the document.
pub async fn apideck_as(app: &App, who: &NewAccount, method: Method, path: &str, body: Option<Value>) -> Reply {
    let reply = unchecked(app, who, method.clone(), path, body).await;
    check(app, &method, path, &reply);
    reply
}

/// `apideck_as` without the document check: for sparse fieldsets (`fields=`), whose answers
/// leave out properties the document requires, as Apideck's own do.
pub async fn unchecked(app: &App, who: &NewAccount, method: Method, path: &str, body: Option<Value>) -> Reply {
    let req = app
        .client
        .request(method, format!("{}/crm{path}", app.base))
        .bearer_auth(&who.key.secret)
        .header("x-apideck-consumer-id", "test-consumer")
        .header("x-apideck-app-id", "test-app");
    app.send(req, body).await
}

/// Checks an answer against the document.
pub fn check(app: &App, method: &Method, path: &str, reply: &Reply) {
    let full = format!("/crm{}", path.split('?').next().unwrap_or_default());
    if let Err(e) = openapi::APIDECK.check(method.as_str(), &full, reply.status.as_u16(), &reply.body) {
        panic!("{}: {e}\nbody: {}", app.label, reply.body);
    }
}

/// An Apideck request as the first account's owner.
pub async fn apideck(app: &App, method: Method, path: &str, body: Option<Value>) -> Reply {
    apideck_as(app, &app.owner, method, path, body).await
}

/// Creates a record (which must answer 201 `data: {id}`); its id.
pub async fn created(app: &App, path: &str, body: Value) -> String {
    let r = apideck(app, Method::POST, path, Some(body)).await;
    assert_eq!(r.status, 201, "{}: POST {path}: {}", app.label, r.body);
    assert_eq!(r.body["status_code"], 201);
    assert_eq!(r.body["operation"], "add");
    r.body["data"]["id"].as_str().unwrap_or_else(|| panic!("no id: {}", r.body)).to_owned()
}

/// Asserts Apideck's error body with the given status and type name.
pub fn assert_apideck_error(r: &Reply, status: u16, type_name: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.body["status_code"], status, "body: {}", r.body);
    assert_eq!(r.body["type_name"], type_name, "body: {}", r.body);
    assert!(r.body["error"].is_string() && r.body["message"].is_string(), "body: {}", r.body);
    assert!(r.body["ref"].as_str().is_some_and(|s| s.starts_with("https://")), "body: {}", r.body);
}

/// The ids of a list page's records, in order.
pub fn ids(r: &Reply) -> Vec<String> {
    r.body["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}
