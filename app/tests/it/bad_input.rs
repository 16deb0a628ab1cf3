//! Input that once reached the store and answered 500: numbers past what the database holds,
//! text with NUL characters, and unknown paths answered before credentials were checked. Each
//! is now a client error in the dialect's own shape, on both backends.

use crate::common;

use common::sell::{UA, assert_sell_error, sell};
use common::{App, apps, assert_error};
use reqwest::Method;
use serde_json::{Value, json};

/// Pages from 2^63 up (and past u64) are refused where they are parsed; the deepest page
/// accepted is answered from the database as an empty page.
#[tokio::test]
async fn page_numbers_past_the_database_range_are_refused() {
    for app in apps().await {
        for path in ["/contacts", "/deals", "/leads", "/notes", "/tasks"] {
            for page in ["9223372036854775808", "18446744073709551615", "99999999999999999999999", "1000000001"] {
                let r = sell(&app, Method::GET, &format!("{path}?page={page}"), None).await;
                assert_sell_error(&r, 400, "bad_request");
            }
            let r = sell(&app, Method::GET, &format!("{path}?page=1000000000&per_page=100"), None).await;
            assert_eq!(r.status, 200, "{}: {path}: {}", app.label, r.body);
            assert_eq!(r.body["items"], json!([]), "{}: {path}", app.label);
        }
        for path in ["/contacts", "/deals", "/actions", "/notes"] {
            for page in ["9223372036854775808", "100000000000000000", "1000000001"] {
                let r = app.op(Method::GET, &format!("{path}?page={page}&per_page=100"), None).await;
                assert_error(&r, 400, "invalid_request_data");
            }
        }
        app.finish().await;
    }
}

/// Times a backend cannot keep (PostgreSQL's range ends before chrono's; neither has year 0)
/// are refused as invalid on both, in queries and in bodies, never a 500.
#[tokio::test]
async fn times_past_the_database_range_are_refused() {
    for app in apps().await {
        for q in ["modified_since=-1000000000000", "modified_since=100000000000000", "unmodified_since=-62167219201"] {
            let r = app.op(Method::GET, &format!("/contacts?{q}"), None).await;
            assert_error(&r, 400, "invalid_request_data");
        }
        let r = app.op(Method::GET, "/contacts?modified_since=0", None).await;
        assert_eq!(r.status, 200, "{}: {}", app.label, r.body);
        for since in ["0000-01-01T00:00:00Z", "-1000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"] {
            let r =
                common::apideck::apideck(&app, Method::GET, &format!("/contacts?filter[updated_since]={since}"), None)
                    .await;
            assert_eq!(r.status, 400, "{}: {since}: {}", app.label, r.body);
        }
        app.finish().await;
    }
}

fn contacts_total(body: &Value) -> u64 {
    body["data"]["total_count"].as_u64().expect("total_count")
}

/// PostgreSQL cannot keep a NUL character, so no backend does: bodies and query strings holding
/// one are refused as invalid, naming the field, and nothing is written.
#[tokio::test]
async fn nul_characters_are_refused_in_bodies_and_query_strings() {
    for app in apps().await {
        let before = contacts_total(&app.op(Method::GET, "/contacts", None).await.body);
        let r = app.op(Method::POST, "/contacts", Some(json!({"first_name": "a\u{0}b", "last_name": "X"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        assert!(r.body["errors"]["first_name"].is_string(), "{}: {}", app.label, r.body);
        let r = app
            .op(
                Method::POST,
                "/contacts",
                Some(json!({"last_name": "X", "emails": [{"type": "work", "value": "a\u{0}@b.c"}]})),
            )
            .await;
        assert_error(&r, 400, "invalid_request_data");
        assert!(r.body["errors"]["emails[0].value"].is_string(), "{}: {}", app.label, r.body);
        assert_eq!(contacts_total(&app.op(Method::GET, "/contacts", None).await.body), before, "{}", app.label);

        let made = app.op(Method::POST, "/contacts", Some(json!({"first_name": "Ada", "last_name": "Byron"}))).await;
        assert_eq!(made.status, 201, "{}: {}", app.label, made.body);
        let id = made.body["data"]["contact"]["id"].as_str().expect("id").to_owned();
        for method in [Method::PUT, Method::PATCH] {
            let r = app.op(method, &format!("/contacts/{id}?partial=true"), Some(json!({"last_name": "B\u{0}"}))).await;
            assert_error(&r, 400, "invalid_request_data");
        }
        let r = app.op(Method::POST, "/notes", Some(json!({"contact_id": id, "text": "hello\u{0}"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        let got = app.op(Method::GET, &format!("/contacts/{id}"), None).await;
        assert_eq!(got.body["data"]["contact"]["last_name"], "Byron", "{}", app.label);
        for path in ["/contacts?search=a%00b", "/deals?search=a%00b", "/contacts?sort_by=%00"] {
            let r = app.op(Method::GET, path, None).await;
            assert_error(&r, 400, "invalid_request_data");
        }

        let r =
            sell(&app, Method::POST, "/contacts", Some(json!({"data": {"is_organization": true, "name": "a\u{0}b"}})))
                .await;
        assert_sell_error(&r, 422, "validation_failed");
        assert_eq!(r.body["errors"][0]["error"]["field"], "/data/name", "{}: {}", app.label, r.body);
        let org =
            sell(&app, Method::POST, "/contacts", Some(json!({"data": {"is_organization": true, "name": "Acme"}})))
                .await;
        assert_eq!(org.status, 200, "{}: {}", app.label, org.body);
        let org_id = org.body["data"]["id"].as_i64().expect("id");
        let r = sell(&app, Method::PUT, &format!("/contacts/{org_id}"), Some(json!({"data": {"name": "\u{0}"}}))).await;
        assert_sell_error(&r, 422, "validation_failed");
        let r = sell(&app, Method::GET, "/contacts?name=a%00b", None).await;
        assert_sell_error(&r, 400, "bad_request");
        let r = sell(&app, Method::GET, &format!("/contacts/{org_id}"), None).await;
        assert_eq!(r.body["data"]["name"], "Acme", "{}", app.label);
        app.finish().await;
    }
}

async fn anonymous(app: &App, method: Method, path: &str, user_agent: bool) -> common::Reply {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    if user_agent {
        req = req.header(reqwest::header::USER_AGENT, UA);
    }
    app.send(req, None).await
}

/// A path no dialect route serves answers 401 to a caller without credentials, as the vendors
/// do, and 404 only once the caller is known.
#[tokio::test]
async fn credentials_are_checked_before_unknown_paths() {
    for app in apps().await {
        for (method, path) in [
            (Method::GET, "/api/v3/predefined_action_groups"),
            (Method::GET, "/api/v3/no/such/path.json"),
            (Method::DELETE, "/api/v3/contacts"),
        ] {
            let r = anonymous(&app, method, path, false).await;
            assert_error(&r, 401, "authorization_data_not_found");
        }
        let r = app.op(Method::GET, "/predefined_action_groups", None).await;
        assert_error(&r, 404, "resource_not_found");

        let r = anonymous(&app, Method::GET, "/v2/no_such_resource", false).await;
        assert_sell_error(&r, 400, "invalid_user_agent");
        for (method, path) in [(Method::GET, "/v2/no_such_resource"), (Method::PATCH, "/v2/contacts")] {
            let r = anonymous(&app, method, path, true).await;
            assert_sell_error(&r, 401, "unauthorized");
        }
        let r = sell(&app, Method::GET, "/no_such_resource", None).await;
        assert_sell_error(&r, 404, "not_found");
        app.finish().await;
    }
}
