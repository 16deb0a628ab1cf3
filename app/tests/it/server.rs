//! Request ids, health, metrics, and the event log behind the API.

use crate::common;

use common::apps;
use kith_store::{Filter, ListQuery, Sort, Value};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_response_has_a_request_id_and_health_and_metrics_answer() {
    for app in apps().await {
        let a = app.op(Method::GET, "/contacts", None).await;
        let b = app.send(app.client.get(format!("{}/api/v3/contacts", app.base)), None).await;
        let ids: Vec<String> = [&a, &b]
            .iter()
            .map(|r| r.headers.get("request-id").expect("request-id").to_str().expect("ascii").to_owned())
            .collect();
        assert_ne!(ids[0], ids[1]);
        // A client's own id is kept.
        let mine =
            app.send(app.client.get(format!("{}/healthz", app.base)).header("request-id", "abc-123"), None).await;
        assert_eq!(mine.headers["request-id"], "abc-123");
        assert_eq!(mine.status, 200);
        assert_eq!(mine.body, json!({"status": "ok"}));
        let m = app.client.get(format!("{}/metrics", app.base)).send().await.expect("metrics");
        assert_eq!(m.status(), 200);
        let text = m.text().await.expect("text");
        assert!(text.contains("kith_http_requests_total"), "{text}");
        assert!(text.contains("route=\"/api/v3/contacts\""), "{text}");
        assert!(text.contains("kith_http_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains("kith_db_pool_connections"), "{text}");
        app.finish().await;
    }
}

#[tokio::test]
async fn writes_append_events_with_actor_and_changed_fields() {
    for app in apps().await {
        let r = app.op(Method::POST, "/contacts", Some(json!({"last_name": "Event", "job_title": "Tester"}))).await;
        let hex = r.body["data"]["contact"]["id"].as_str().expect("id").to_owned();
        let id = kith_onepage::wire::parse_id(&hex).expect("hex id");
        app.op(Method::PUT, &format!("/contacts/{hex}?partial=true"), Some(json!({"job_title": "Lead tester"}))).await;
        app.op(Method::DELETE, &format!("/contacts/{hex}"), None).await;
        let q = ListQuery::all()
            .filter(Filter::All(vec![Filter::eq("entity_kind", "contact"), Filter::eq("entity_id", id)]))
            .sort(Sort::asc("id"));
        let events = app.crm.store().list(app.owner.account_id, &kith_store::system::EVENTS, &q).await.expect("events");
        let ops: Vec<&str> = events.rows.iter().map(|e| e.values[2].as_text().unwrap_or_default()).collect();
        assert_eq!(ops, ["created", "updated", "deleted"], "{}", app.label);
        for e in &events.rows {
            assert_eq!(e.values[3], Value::Int(app.owner.user_id), "actor");
        }
        assert_eq!(events.rows[1].values[4], Value::Json(json!(["job_title"])));
        // Another account's log holds none of it.
        let rival = app.other_account().await;
        let theirs = app.crm.store().list(rival.account_id, &kith_store::system::EVENTS, &q).await.expect("events");
        assert!(theirs.rows.is_empty());
        app.finish().await;
    }
}
