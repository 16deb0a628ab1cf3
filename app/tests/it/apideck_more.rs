//! The Apideck dialect's idempotent creates, activities (calls, meetings and tasks as one
//! resource) and previous-page cursors, on every backend, each answer checked against Apideck's
//! OpenAPI document.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::apideck::{apideck, apideck_as, assert_apideck_error, check, created, ids};
use crate::common::{App, Reply, apps};

/// A create with an idempotency key in `header`, as `who`.
async fn keyed(app: &App, who: &kith_domain::NewAccount, header: &str, key: &str, path: &str, body: Value) -> Reply {
    let req = app
        .client
        .post(format!("{}/crm{path}", app.base))
        .bearer_auth(&who.key.secret)
        .header("x-apideck-consumer-id", "test-consumer")
        .header("x-apideck-app-id", "test-app")
        .header(header, key);
    let r = app.send(req, Some(body)).await;
    check(app, &Method::POST, path, &r);
    r
}

async fn count(app: &App, path: &str) -> usize {
    ids(&apideck(app, Method::GET, path, None).await).len()
}

#[tokio::test]
async fn a_retried_create_with_a_key_returns_the_first_answer_and_creates_nothing() {
    for app in apps().await {
        let owner = app.owner.clone();
        let body = json!({"first_name": "Ada", "last_name": "Lovelace"});
        let first = keyed(&app, &owner, "x-unique-transaction-id", "tx-1", "/contacts", body.clone()).await;
        assert_eq!(first.status, 201, "{}", first.body);
        assert!(first.headers.get("idempotent-replayed").is_none());
        // The same body again (keys in another order): the first answer, nothing new.
        let again = json!({"last_name": "Lovelace", "first_name": "Ada"});
        let retry = keyed(&app, &owner, "x-unique-transaction-id", "tx-1", "/contacts", again).await;
        assert_eq!(retry.status, 201, "{}", retry.body);
        assert_eq!(retry.body, first.body);
        assert_eq!(retry.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
        assert_eq!(count(&app, "/contacts?filter[last_name]=Lovelace").await, 1);

        // The key with another body, or on another resource: 422, nothing created.
        let other =
            keyed(&app, &owner, "x-unique-transaction-id", "tx-1", "/contacts", json!({"last_name": "Byron"})).await;
        assert_apideck_error(&other, 422, "InvalidStateError");
        let other = keyed(&app, &owner, "x-unique-transaction-id", "tx-1", "/companies", json!({"name": "Ada"})).await;
        assert_apideck_error(&other, 422, "InvalidStateError");
        assert_eq!(count(&app, "/contacts?filter[last_name]=Byron").await, 0);

        // `Idempotency-Key` works the same; keys are per account.
        let r = keyed(&app, &owner, "idempotency-key", "k-2", "/companies", json!({"name": "Engines"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r2 = keyed(&app, &owner, "idempotency-key", "k-2", "/companies", json!({"name": "Engines"})).await;
        assert_eq!(r2.body["data"]["id"], r.body["data"]["id"]);
        let rival = app.other_account().await;
        let theirs = keyed(&app, &rival, "x-unique-transaction-id", "tx-1", "/contacts", body.clone()).await;
        assert_eq!(theirs.status, 201, "{}", theirs.body);
        assert_ne!(theirs.body["data"]["id"], first.body["data"]["id"]);
        assert!(theirs.headers.get("idempotent-replayed").is_none());

        // A failed create frees its key: the corrected request may use it.
        let bad = keyed(&app, &owner, "idempotency-key", "k-3", "/opportunities", json!({"title": "No contact"})).await;
        assert_eq!(bad.status, 400, "{}", bad.body);
        let contact = first.body["data"]["id"].as_str().unwrap_or_default().to_owned();
        let good = json!({"title": "Engines", "primary_contact_id": contact});
        let ok = keyed(&app, &owner, "idempotency-key", "k-3", "/opportunities", good).await;
        assert_eq!(ok.status, 201, "{}", ok.body);

        // Keys that are no keys.
        let long = "k".repeat(256);
        for key in [long.as_str(), "two words"] {
            let r = keyed(&app, &owner, "idempotency-key", key, "/contacts", body.clone()).await;
            assert_apideck_error(&r, 400, "RequestValidationError");
        }
        let req = app
            .client
            .post(format!("{}/crm/contacts", app.base))
            .bearer_auth(&owner.key.secret)
            .header("x-apideck-consumer-id", "c")
            .header("x-apideck-app-id", "a")
            .header("idempotency-key", "a")
            .header("x-unique-transaction-id", "b");
        assert_apideck_error(&app.send(req, Some(body.clone())).await, 400, "RequestValidationError");
        app.finish().await;
    }
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_once() {
    for app in apps().await {
        let mut handles = Vec::new();
        for _ in 0..8 {
            let client = app.client.clone();
            let url = format!("{}/crm/contacts", app.base);
            let secret = app.owner.key.secret.clone();
            handles.push(tokio::spawn(async move {
                let r = client
                    .post(url)
                    .bearer_auth(secret)
                    .header("x-apideck-consumer-id", "c")
                    .header("x-apideck-app-id", "a")
                    .header("x-unique-transaction-id", "race")
                    .json(&json!({"last_name": "Racer"}))
                    .send()
                    .await
                    .expect("request");
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }));
        }
        let mut created_ids = Vec::new();
        for h in handles {
            let (status, body) = h.await.expect("task");
            match status {
                201 => created_ids.push(body["data"]["id"].clone()),
                409 => assert_eq!(body["type_name"], "InvalidStateError", "{body}"),
                other => panic!("{}: {other}: {body}", app.label),
            }
        }
        assert!(!created_ids.is_empty());
        assert!(created_ids.iter().all(|id| *id == created_ids[0]), "{created_ids:?}");
        assert_eq!(count(&app, "/contacts?filter[last_name]=Racer").await, 1, "{}", app.label);
        app.finish().await;
    }
}

#[tokio::test]
async fn activities_are_the_calls_meetings_and_tasks_of_the_shared_model() {
    for app in apps().await {
        let contact = created(&app, "/contacts", json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
        let call = created(
            &app,
            "/activities",
            json!({"type": "call", "contact_id": contact, "description": "Discussed engines",
                   "activity_datetime": "2026-01-02T10:00:00Z", "duration_seconds": 300}),
        )
        .await;
        let meeting = created(
            &app,
            "/activities",
            json!({"type": "meeting", "contact_id": contact, "description": "Demo", "location": "London",
                   "start_datetime": "2026-01-03T09:30:00.000Z"}),
        )
        .await;
        let task = created(
            &app,
            "/activities",
            json!({"type": "task", "contact_id": contact, "title": "Send the notes",
                   "activity_datetime": "2026-01-04T12:00:00Z"}),
        )
        .await;

        let r = apideck(&app, Method::GET, &format!("/activities/{call}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let a = &r.body["data"];
        assert_eq!(a["type"], "call");
        assert_eq!(a["description"], "Discussed engines");
        assert_eq!(a["duration_seconds"], 300);
        assert_eq!(a["activity_datetime"], "2026-01-02T10:00:00.000Z");
        assert_eq!(a["contact_id"], contact.as_str());
        let r = apideck(&app, Method::GET, &format!("/activities/{meeting}"), None).await;
        assert_eq!(r.body["data"]["type"], "meeting");
        assert_eq!(r.body["data"]["location"], "London");
        assert_eq!(r.body["data"]["start_datetime"], "2026-01-03T09:30:00.000Z");
        let r = apideck(&app, Method::GET, &format!("/activities/{task}"), None).await;
        assert_eq!(r.body["data"]["type"], "task");
        assert_eq!(r.body["data"]["title"], "Send the notes");
        assert_eq!(r.body["data"]["done"], false);

        // The same records through Sell and OnePage: a call, a task on the person.
        let sell_calls = crate::common::sell::sell(&app, Method::GET, "/calls", None).await;
        assert!(sell_calls.body.to_string().contains("Discussed engines"), "{}", sell_calls.body);

        // PATCH is partial; the type cannot change.
        let r = apideck(&app, Method::PATCH, &format!("/activities/{task}"), Some(json!({"done": true}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::GET, &format!("/activities/{task}"), None).await;
        assert_eq!(r.body["data"]["done"], true);
        assert_eq!(r.body["data"]["title"], "Send the notes");
        let r =
            apideck(&app, Method::PATCH, &format!("/activities/{meeting}"), Some(json!({"location": "Paris"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::GET, &format!("/activities/{meeting}"), None).await;
        assert_eq!(r.body["data"]["location"], "Paris");
        assert_eq!(r.body["data"]["description"], "Demo");
        let r = apideck(&app, Method::PATCH, &format!("/activities/{call}"), Some(json!({"type": "task"}))).await;
        assert_apideck_error(&r, 400, "RequestValidationError");

        // Lists: all three in creation order, filtered by type (any case), owner and contact.
        let r = apideck(&app, Method::GET, "/activities", None).await;
        assert_eq!(ids(&r), vec![call.clone(), meeting.clone(), task.clone()]);
        let r = apideck(&app, Method::GET, "/activities?filter[type]=Task", None).await;
        assert_eq!(ids(&r), vec![task.clone()]);
        let r = apideck(&app, Method::GET, "/activities?filter[type]=email", None).await;
        assert!(ids(&r).is_empty());
        let owner = app.owner.user_id.to_string();
        let r = apideck(
            &app,
            Method::GET,
            &format!("/activities?filter[owner_id]={owner}&filter[contact_id]={contact}"),
            None,
        )
        .await;
        assert_eq!(ids(&r).len(), 3);
        let r = apideck(&app, Method::GET, "/activities?sort[by]=updated_at&sort[direction]=desc", None).await;
        assert_eq!(ids(&r)[0], meeting, "last changed first");
        assert_apideck_error(
            &apideck(&app, Method::GET, "/activities?sort[by]=title", None).await,
            400,
            "UnsupportedSortFieldError",
        );

        // Bad input: no type, a type Kith keeps no record of, a meeting about nothing, bad times.
        for body in [
            json!({"title": "x"}),
            json!({"type": "email", "title": "x"}),
            json!({"type": "meeting", "title": "x"}),
            json!({"type": "call", "activity_datetime": "soon"}),
            json!({"type": "task", "contact_id": "abc"}),
        ] {
            let r = apideck(&app, Method::POST, "/activities", Some(body.clone())).await;
            assert_apideck_error(&r, 400, "RequestValidationError");
        }

        // Another account sees none of them.
        let rival = app.other_account().await;
        for id in [&call, &meeting, &task] {
            let path = format!("/activities/{id}");
            assert_apideck_error(&apideck_as(&app, &rival, Method::GET, &path, None).await, 404, "EntityNotFoundError");
            let r = apideck_as(&app, &rival, Method::PATCH, &path, Some(json!({"title": "mine"}))).await;
            assert_apideck_error(&r, 404, "EntityNotFoundError");
            assert_apideck_error(
                &apideck_as(&app, &rival, Method::DELETE, &path, None).await,
                404,
                "EntityNotFoundError",
            );
        }
        assert!(ids(&apideck_as(&app, &rival, Method::GET, "/activities", None).await).is_empty());

        for id in [&call, &meeting, &task] {
            let r = apideck(&app, Method::DELETE, &format!("/activities/{id}"), None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["data"]["id"], id.as_str());
        }
        assert!(ids(&apideck(&app, Method::GET, "/activities", None).await).is_empty());
        app.finish().await;
    }
}

/// Walks a list forward with `limit`, then back with `previous`; the pages must match.
async fn walk_both_ways(app: &App, path: &str, limit: usize) -> Vec<Vec<String>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut pages = Vec::new();
    let mut url = format!("{path}{sep}limit={limit}");
    loop {
        let r = apideck(app, Method::GET, &url, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if pages.is_empty() {
            assert!(r.body["meta"]["cursors"]["previous"].is_null(), "{}", r.body);
            assert!(r.body["links"]["previous"].is_null());
        }
        pages.push(ids(&r));
        match r.body["meta"]["cursors"]["next"].as_str() {
            Some(next) => url = format!("{path}{sep}limit={limit}&cursor={next}"),
            None => {
                // Back, page by page, to the first.
                let mut back = vec![ids(&r)];
                let mut body = r.body.clone();
                while let Some(prev) = body["meta"]["cursors"]["previous"].as_str() {
                    assert!(body["links"]["previous"].as_str().is_some_and(|l| l.contains("cursor=")));
                    let r = apideck(app, Method::GET, &format!("{path}{sep}limit={limit}&cursor={prev}"), None).await;
                    assert_eq!(r.status, 200, "{}", r.body);
                    back.push(ids(&r));
                    body = r.body;
                }
                back.reverse();
                assert_eq!(back, pages, "{path}: pages walked back");
                return pages;
            }
        }
    }
}

#[tokio::test]
async fn previous_cursors_walk_back_page_by_page() {
    for app in apps().await {
        let names = ["Cho", "Abe", "Eve", "Bo", "Dee", "Fay", "Gus"];
        for last in names {
            created(&app, "/contacts", json!({"first_name": "P", "last_name": last})).await;
        }
        let pages = walk_both_ways(&app, "/contacts", 3).await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3, 1]);
        walk_both_ways(&app, "/contacts?sort[by]=last_name&sort[direction]=desc", 2).await;
        walk_both_ways(&app, "/contacts?sort[by]=name", 3).await;

        let contact = created(&app, "/contacts", json!({"last_name": "Talker"})).await;
        for i in 0..7 {
            let t = ["call", "meeting", "task"][i % 3];
            created(&app, "/activities", json!({"type": t, "contact_id": contact, "title": format!("a{i}")})).await;
        }
        let pages = walk_both_ways(&app, "/activities", 3).await;
        assert_eq!(pages.concat().len(), 7);
        walk_both_ways(&app, "/activities?sort[by]=created_at&sort[direction]=desc", 2).await;
        app.finish().await;
    }
}
