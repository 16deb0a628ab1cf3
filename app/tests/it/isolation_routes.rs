//! Isolation over every route of every dialect, read from the dialects' own route tables (so a
//! new route is covered without editing this test): account A gets one record of every kind,
//! then account B's key replays every routed method of every path with A's ids in every path
//! parameter. No answer may be a success, none may carry one of A's ids, and A's rows are the
//! same, byte for byte, afterwards.

use std::collections::HashSet;

use kith_store::{EntitySpec, ListQuery, Visibility};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{self, App};

const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// Every table the model and the store declare.
fn tables() -> Vec<&'static EntitySpec> {
    let mut all: Vec<&'static EntitySpec> = kith_store::system::SPECS.to_vec();
    all.extend(kith_domain::model::specs());
    all
}

/// Every row of the account in every table, soft-deleted ones included.
async fn rows_of(app: &App, account: i64) -> Vec<(&'static str, kith_store::Row)> {
    let mut out = Vec::new();
    for spec in tables() {
        let mut q = ListQuery::all().sort(kith_store::Sort::asc("id"));
        q.visibility = Visibility::All;
        let rows = app.crm.store().list(account, spec, &q).await.expect("list").rows;
        out.extend(rows.into_iter().map(|r| (spec.table, r)));
    }
    out
}

/// The rows, rendered: what must not change.
fn snapshot(rows: &[(&'static str, kith_store::Row)]) -> Vec<String> {
    rows.iter().map(|(table, r)| format!("{table}: {r:?}")).collect()
}

/// One id of each kind of record, and every id.
fn ids_of(rows: &[(&'static str, kith_store::Row)]) -> (Vec<(&'static str, i64)>, HashSet<i64>) {
    let mut one: Vec<(&'static str, i64)> = Vec::new();
    for (table, r) in rows {
        if one.last().is_none_or(|(t, _)| t != table) {
            one.push((table, r.id));
        }
    }
    (one, rows.iter().map(|(_, r)| r.id).collect())
}

/// A request to dialect `name` as the holder of `key` (`user` for OnePage's Basic auth).
fn request(app: &App, dialect: &str, method: Method, url: &str, user: &str, key: &str) -> reqwest::RequestBuilder {
    let req = app.client.request(method, url);
    match dialect {
        "onepage" => req.basic_auth(user, Some(key)),
        "sell" => req.bearer_auth(key).header(reqwest::header::USER_AGENT, common::sell::UA),
        "apideck" => {
            req.bearer_auth(key).header("x-apideck-consumer-id", "isolation").header("x-apideck-app-id", "isolation")
        }
        "jsend" => req.bearer_auth(key),
        "upsales" => req.header(reqwest::header::COOKIE, format!("token={key}")),
        other => panic!("no credentials known for the {other} dialect: add how it authenticates"),
    }
}

/// `method url` to dialect `name` as B, with a body unless it is a GET or a DELETE.
async fn send(app: &App, name: &str, method: &Method, url: String, user: &str, key: &str) -> common::Reply {
    let req = request(app, name, method.clone(), &url, user, key);
    let req = if matches!(*method, Method::GET | Method::DELETE) { req } else { req.json(&body(name)) };
    app.send(req, None).await
}

/// Whether B's key still works.
async fn authenticates(app: &App, user: &str, key: &str) -> bool {
    let url = format!("{}/api/v3/contacts?per_page=1", app.base);
    app.send(request(app, "onepage", Method::GET, &url, user, key), None).await.status == 200
}

/// A body a create or update might accept, in the dialect's envelope.
fn body(dialect: &str) -> Value {
    let fields =
        json!({"name": "B was here", "last_name": "B was here", "first_name": "B", "text": "B was here", "title": "B"});
    match dialect {
        "sell" => json!({ "data": fields }),
        _ => fields,
    }
}

/// Whether `v` names, under an id-like key, one of `ids` as `show` writes them.
fn names_any(v: &Value, ids: &HashSet<String>) -> Option<String> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let id_like = k == "id" || k.ends_with("_id") || k.ends_with("Id");
            let hit = match v {
                Value::String(s) if id_like && ids.contains(s) => Some(format!("{k}: {s}")),
                Value::Number(n) if id_like && ids.contains(&n.to_string()) => Some(format!("{k}: {n}")),
                _ => None,
            };
            hit.or_else(|| names_any(v, ids))
        }),
        Value::Array(items) => items.iter().find_map(|v| names_any(v, ids)),
        _ => None,
    }
}

/// `template` with every `{param}` replaced by `id`.
fn fill(template: &str, id: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
        out.push_str(id);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Records of kinds the seeder does not make, created by account A over the APIs.
async fn more_records(app: &App, user: &str, key: &str) {
    let base = &app.base;
    let made: Vec<(&str, &str, Value)> = vec![
        ("sell", "/v2/leads", json!({"data": {"last_name": "Lead of A", "organization_name": "A Org"}})),
        (
            "sell",
            "/v2/products",
            json!({"data": {"name": "A's product", "sku": "A-1", "prices": [{"amount": "10.00", "currency": "EUR"}]}}),
        ),
        ("sell", "/v2/tags", json!({"data": {"name": "a-tag", "resource_type": "contact"}})),
        (
            "onepage",
            "/api/v3/webhooks",
            json!({"url": "https://hooks.example/a", "name": "A", "secret": "s3cret-s3cret"}),
        ),
    ];
    for (dialect, path, b) in made {
        let r = request(app, dialect, Method::POST, &format!("{base}{path}"), user, key)
            .json(&b)
            .send()
            .await
            .expect("create");
        let status = r.status();
        if !status.is_success() {
            eprintln!(
                "{}: note: A could not create {path} ({status}): {}",
                app.label,
                r.text().await.unwrap_or_default()
            );
        }
    }
    // A company linked to a category (a link row), over Upsales.
    let post = |path: &str, b: Value| {
        request(app, "upsales", Method::POST, &format!("{base}/api/v2{path}"), user, key).json(&b).send()
    };
    let category = post("/clientcategories", json!({"name": "A's category"})).await.expect("create");
    let category: Value = category.json().await.unwrap_or_default();
    let body = json!({"name": "A's labelled company", "categories": [{"id": category["data"]["id"]}]});
    let r = post("/accounts", body).await.expect("create");
    assert!(r.status().is_success(), "{}: A's labelled company: {}", app.label, r.text().await.unwrap_or_default());
}

#[tokio::test]
async fn every_route_refuses_another_accounts_ids() {
    // Upsales' rate limit would answer most of B's requests 429 before they reach a handler.
    let mut config = common::test_config();
    config.http.rate_limit.requests = 1_000_000;
    for app in common::apps_with(config).await {
        let opts = kith::seed::SeedOptions {
            contacts: 12,
            other_accounts: 0,
            other_contacts: 0,
            users: 2,
            batch: 100,
            rng_seed: 11,
            progress: false,
        };
        assert_eq!(app.op(Method::GET, "/contacts", None).await.status, 200, "{}: B before the seed", app.label);
        let seeded = kith::seed::seed(&app.crm, &opts).await.expect("seed").remove(0);
        assert_eq!(app.op(Method::GET, "/contacts", None).await.status, 200, "{}: B after the seed", app.label);
        let a = seeded.account_id;
        more_records(&app, &seeded.user_id, &seeded.api_key).await;
        let hook = kith_domain::webhooks::NewWebhook {
            name: "A's hook".into(),
            url: "https://hooks.example/a".into(),
            secret: None,
            events: Vec::new(),
            format: "onepage".into(),
        };
        app.crm.create_webhook(a, hook).await.expect("A's webhook");
        let rows = rows_of(&app, a).await;
        let (samples, a_ids) = ids_of(&rows);
        assert!(samples.len() >= 12, "{}: too few kinds of records in A: {samples:?}", app.label);
        let before = snapshot(&rows);

        let b = &app.owner;
        let b_user = kith_onepage::wire::hex_id(b.user_id);
        let mut b_key = b.key.secret.clone();
        let (mut routes, mut requests, mut not_found) = (0, 0, 0);
        for dialect in kith::dialects() {
            let name = dialect.name();
            let shown: HashSet<String> = a_ids.iter().map(|id| dialect.show_id(*id)).collect();
            for template in dialect.router().paths() {
                routes += 1;
                let url_of = |id: &str| format!("{}{}{}", app.base, dialect.mount(), fill(template, id));
                let absent = dialect.show_id(999_999_999_999);
                for method in METHODS {
                    // A method the path does not route is not a question of isolation.
                    let probe = send(&app, name, &method, url_of(&absent), &b_user, &b_key).await;
                    if probe.status == 405 {
                        continue;
                    }
                    if !template.contains('{') {
                        requests += 1;
                        if let Some(hit) = names_any(&probe.body, &shown) {
                            panic!("{}: {method} {template} as B shows A's {hit}: {}", app.label, probe.body);
                        }
                        // A route that replaces the caller's own key (OnePage's
                        // `change_auth_key`) leaves B a key that no longer works: issue another.
                        if probe.status.is_success() && !authenticates(&app, &b_user, &b_key).await {
                            b_key = app.crm.create_key(b.account_id, b.user_id, "isolation").await.expect("key").secret;
                        }
                        continue;
                    }
                    // A parameter that is not a record id (a type name, a device uuid) answers
                    // the same whatever id is put in it: only A's ids showing up matter then.
                    let id_param = !probe.status.is_success();
                    for (table, id) in &samples {
                        let url = url_of(&dialect.show_id(*id));
                        let r = send(&app, name, &method, url.clone(), &b_user, &b_key).await;
                        requests += 1;
                        assert!(
                            r.status.as_u16() < 500,
                            "{}: {method} {url} (A's {table}) as B: {} {}",
                            app.label,
                            r.status,
                            r.body
                        );
                        if id_param {
                            assert!(
                                !r.status.is_success(),
                                "{}: {method} {url} (A's {table}) as B answered {}: {}",
                                app.label,
                                r.status,
                                r.body
                            );
                        }
                        if r.status == 404 {
                            not_found += 1;
                        }
                        if let Some(hit) = names_any(&r.body, &shown) {
                            panic!("{}: {method} {url} (A's {table}) as B shows A's {hit}: {}", app.label, r.body);
                        }
                    }
                }
            }
        }
        let after = snapshot(&rows_of(&app, a).await);
        assert_eq!(before.len(), after.len(), "{}: A's rows changed in number", app.label);
        for (x, y) in before.iter().zip(&after) {
            assert_eq!(x, y, "{}: A's row changed", app.label);
        }
        eprintln!(
            "{}: {routes} routes, {} kinds of A's records, {requests} requests as B, {not_found} not found, A unchanged",
            app.label,
            samples.len()
        );
        app.finish().await;
    }
}
