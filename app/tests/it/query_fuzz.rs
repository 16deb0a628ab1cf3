//! Property tests of every dialect's query-parameter parsers: list endpoints called with
//! arbitrary values (and arbitrary names) for their paging, sort and filter parameters. No answer
//! may be a 5xx; OnePage's and Apideck's answers must also match their vendors' documents (the
//! request helpers check each one), and every other answer must be JSON.
//!
//! The parameters come from the vendors' OpenAPI documents where there is one (OnePage, Apideck),
//! so an operation or parameter added there is fuzzed without editing this file; Sell's and
//! JSend's are listed here from their handlers.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;

use crate::common::{self, App, Reply, apideck, openapi, sell};

/// Cases per dialect: a few seconds each, every CI run (a longer run: `KITH_FUZZ_CASES`).
fn cases() -> u32 {
    std::env::var("KITH_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(160)
}

/// Values a parser might trip on: numbers of every size and sign, operator grammars, dates,
/// sort expressions, separators, and any text at all (control characters, NUL, emoji included).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>().prop_map(|s| s.chars().take(40).collect()),
        2 => "-?[0-9]{1,30}",
        1 => "-?[0-9]{0,6}\\.[0-9]{0,6}([eE][+-]?[0-9]{1,5})?",
        2 => "(eq|ne|gt|gte|lt|lte|in|is|xx)?:?[a-z0-9_.,: -]{0,24}",
        1 => "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}(T[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?)?",
        2 => "-?[a-z_.\\[\\]]{0,24}(:asc|:desc|,| desc| asc|\\[asc\\])?",
        1 => "(true|false|0|1|yes|null|undefined|NaN|Infinity|\\[\\]|\\{\\}|%|%%|%00|&|=|\\+|;)",
        1 => "[a-zA-Z0-9+/=_-]{0,80}(\\.[a-zA-Z0-9_-]{0,60})?",
    ]
}

/// Every byte not unreserved in a URL, percent-encoded: the value arrives as it was generated.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One list endpoint and the parameters it reads.
#[derive(Debug, Clone)]
struct Endpoint {
    path: String,
    params: Vec<String>,
}

/// A query over `endpoint`: one to four of its parameters (or an unknown one) with generated
/// values.
fn query(endpoints: Vec<Endpoint>) -> impl Strategy<Value = (String, String)> {
    let endpoints = Arc::new(endpoints);
    (0..endpoints.len()).prop_flat_map(move |i| {
        let e = endpoints[i].clone();
        let names = e.params.clone();
        let name = prop_oneof![
            8 => proptest::sample::select(names),
            1 => "[a-z_\\[\\].]{1,16}",
        ];
        proptest::collection::vec((name, value()), 1..=4).prop_map(move |pairs| {
            let q: Vec<String> = pairs.iter().map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect();
            (e.path.clone(), q.join("&"))
        })
    })
}

/// The GET operations without a path parameter in a vendor document, each with its query
/// parameters (a `deepObject` parameter as `name[property]` for each of its properties).
fn from_document(doc: &openapi::Document, prefix: &str) -> Vec<Endpoint> {
    doc.list_operations()
        .into_iter()
        .filter_map(|(path, params)| {
            let path = path.strip_prefix(prefix)?.to_owned();
            Some(Endpoint { path, params })
        })
        .filter(|e| !e.params.is_empty())
        .collect()
}

fn listed(paths: &[(&str, &[&str])], common: &[&str]) -> Vec<Endpoint> {
    paths
        .iter()
        .map(|(path, own)| Endpoint {
            path: (*path).to_owned(),
            params: common.iter().chain(own.iter()).map(|s| (*s).to_owned()).collect(),
        })
        .collect()
}

/// Runs `cases()` generated queries through `send`; every reply passes `check`.
async fn fuzz<F, Fut>(app: &App, name: &str, endpoints: Vec<Endpoint>, send: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Reply>,
{
    assert!(!endpoints.is_empty(), "{name}: no endpoints to fuzz");
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    let result = runner.run(&query(endpoints), |(path, q)| {
        let url = format!("{path}?{q}");
        let reply = tokio::task::block_in_place(|| handle.block_on(send(url.clone())));
        if reply.status.is_server_error() {
            return Err(TestCaseError::fail(format!(
                "{} {name} GET {url}: {} {}",
                app.label, reply.status, reply.body
            )));
        }
        if reply.status.as_u16() != 200 && !reply.body.is_object() {
            return Err(TestCaseError::fail(format!(
                "{} {name} GET {url}: {} not JSON: {}",
                app.label, reply.status, reply.body
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onepage_query_parameters_never_fail_the_server() {
    for app in common::apps().await {
        let endpoints = from_document(&openapi::ONEPAGE, "");
        // The document's answers are checked by `op`, which panics (inside the case) on a mismatch.
        let a = &app;
        fuzz(a, "onepage", endpoints, move |url| async move { a.op(Method::GET, &url, None).await }).await;
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apideck_query_parameters_never_fail_the_server() {
    for app in common::apps().await {
        let endpoints = from_document(&openapi::APIDECK, "/crm");
        let a = &app;
        fuzz(a, "apideck", endpoints, move |url| async move {
            if url.contains("fields=") {
                apideck::unchecked(a, &a.owner, Method::GET, &url, None).await
            } else {
                apideck::apideck(a, Method::GET, &url, None).await
            }
        })
        .await;
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sell_query_parameters_never_fail_the_server() {
    let address = ["address[city]", "address[postal_code]", "address[country]", "address[state]", "city"];
    let contacts = ["is_organization", "owner_id", "contact_id", "email", "name", "first_name", "last_name"];
    let paths: &[(&str, &[&str])] = &[
        ("/contacts", &[&contacts[..], &address[..], &["custom_fields[x]"]].concat()),
        (
            "/leads",
            &[&["owner_id", "source_id", "status", "first_name", "last_name", "organization_name"][..], &address[..]]
                .concat(),
        ),
        (
            "/deals",
            &[
                "contact_id",
                "creator_id",
                "hot",
                "organization_id",
                "owner_id",
                "source_id",
                "stage_id",
                "estimated_close_date",
                "custom_fields[x]",
            ],
        ),
        ("/users", &["email", "name", "role", "status", "confirmed"]),
        ("/calls", &["resource_type", "resource_id"]),
        ("/notes", &["creator_id", "q", "resource_type", "resource_id"]),
        (
            "/tasks",
            &["completed", "creator_id", "owner_id", "overdue", "q", "remind", "type", "resource_type", "resource_id"],
        ),
        ("/visits", &["outcome_id", "creator_id", "resource_type", "resource_id", "rep_location_verification_status"]),
        ("/orders", &["deal_id"]),
        ("/products", &["name", "sku", "active", "organization_id", "owner_id"]),
        ("/stages", &["pipeline_id", "name", "active"]),
        ("/pipelines", &["name"]),
        ("/tags", &["name", "resource_type", "creator_id"]),
        ("/lead_conversions", &["lead_id", "individual_id", "organization_id", "deal_id", "creator_id"]),
        ("/text_messages", &["resource_type", "resource_id"]),
        ("/lead_sources", &["name"]),
        ("/loss_reasons", &["name"]),
    ];
    for app in common::apps().await {
        let endpoints = listed(paths, &["page", "per_page", "sort_by", "ids"]);
        let a = &app;
        fuzz(a, "sell", endpoints, move |url| async move { sell::sell(a, Method::GET, &url, None).await }).await;
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsend_query_parameters_never_fail_the_server() {
    let paths: &[(&str, &[&str])] = &[("/opportunities/my", &[]), ("/salestargets", &["month", "email"])];
    for app in common::apps().await {
        let endpoints = listed(paths, &["page", "per_page"]);
        fuzz(&app, "jsend", endpoints, |url| {
            let req = app.client.get(format!("{}/api/v1{url}", app.base)).bearer_auth(&app.owner.key.secret);
            app.send(req, None)
        })
        .await;
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upsales_query_parameters_never_fail_the_server() {
    let paths: &[(&str, &[&str])] = &[
        (
            "/accounts",
            &[
                "id",
                "name",
                "phone",
                "webpage",
                "regDate",
                "modDate",
                "user.id",
                "noEmployees",
                "turnover",
                "custom",
                "active",
                "parent.id",
            ],
        ),
        (
            "/contacts",
            &[
                "id",
                "name",
                "email",
                "phone",
                "title",
                "client.id",
                "client.name",
                "client.custom",
                "custom",
                "regDate",
                "active",
            ],
        ),
        (
            "/orders",
            &[
                "id",
                "description",
                "date",
                "probability",
                "value",
                "client.id",
                "user.id",
                "stage.id",
                "contacts.id",
                "custom",
                "client.custom",
            ],
        ),
        ("/opportunities", &["id", "description", "date", "probability", "value", "client.id", "user.id", "stage.id"]),
        ("/activities", &["id", "description", "date", "closeDate", "client.id", "user.id", "contacts.id"]),
        ("/products", &["id", "name", "active", "listPrice"]),
        ("/users", &["id", "name", "email", "active"]),
        ("/orderstages", &["id", "name", "probability"]),
    ];
    let mut config = common::test_config();
    config.http.rate_limit.requests = 1_000_000;
    for app in common::apps_with(config).await {
        let endpoints = listed(paths, &["limit", "offset", "sort", "q"]);
        fuzz(&app, "upsales", endpoints, |url| {
            let req = app
                .client
                .get(format!("{}/api/v2{url}", app.base))
                .header(reqwest::header::COOKIE, format!("token={}", app.owner.key.secret));
            app.send(req, None)
        })
        .await;
        app.finish().await;
    }
}
