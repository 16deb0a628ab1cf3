//! Sell's Sync API on both backends: a device's first sync, what later syncs bring (updates,
//! deletions, what was not acknowledged), devices and accounts kept apart, paging, and two server
//! processes writing while a device syncs.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::sell::{UA, assert_sell_error, items, sell};
use common::{App, Reply, apps};
use kith_domain::model::Contact;
use kith_domain::{Actor, ContactDraft, Crm, NewAccount};
use reqwest::Method;
use serde_json::{Value, json};

const DEVICE: &str = "6dadcec8-6e61-4691-b318-1aab27b8fecf";
const OTHER_DEVICE: &str = "0f6ad0c4-2b7e-4c1a-9a55-3c7f3b3f0f11";
/// Items per page of the sync queue.
const PAGE: usize = 100;

fn actor(who: &NewAccount) -> Actor {
    Actor { account_id: who.account_id, user_id: who.user_id }
}

/// A Sync API request as `who` from `device` (no device header when `None`).
async fn sync_req(
    app: &App,
    who: &NewAccount,
    device: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut req = app
        .client
        .request(method, format!("{}/v2{path}", app.base))
        .bearer_auth(&who.key.secret)
        .header(reqwest::header::USER_AGENT, UA);
    if let Some(d) = device {
        req = req.header("X-Basecrm-Device-UUID", d);
    }
    app.send(req, body).await
}

/// Starts a session: its id and total count, or `None` on 204.
async fn start(app: &App, who: &NewAccount, device: &str) -> Option<(String, u64)> {
    let r = sync_req(app, who, Some(device), Method::POST, "/sync/start", None).await;
    if r.status == 204 {
        assert_eq!(r.body, Value::Null, "{}: 204 has no body", app.label);
        return None;
    }
    assert_eq!(r.status, 201, "{}: {}", app.label, r.body);
    assert_eq!(r.body["meta"]["type"], "sync_session");
    let id = r.body["data"]["id"].as_str().expect("session id").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let queue = &r.body["data"]["queues"][0];
    assert_eq!(queue["meta"]["type"], "sync_queue");
    assert_eq!(queue["data"]["name"], "main");
    let total = queue["data"]["total_count"].as_u64().expect("total_count");
    assert_eq!(queue["data"]["pages"].as_u64(), Some(total.div_ceil(PAGE as u64)), "{}", r.body);
    Some((id, total))
}

/// One page of a session: its items, or `None` on 204.
async fn fetch(app: &App, who: &NewAccount, device: &str, session: &str) -> Option<Vec<Value>> {
    let r = sync_req(app, who, Some(device), Method::GET, &format!("/sync/{session}/queues/main"), None).await;
    if r.status == 204 {
        return None;
    }
    assert_eq!(r.status, 200, "{}: {}", app.label, r.body);
    assert_eq!(r.body["meta"]["type"], "collection");
    let list = r.body["items"].as_array().expect("items").clone();
    assert!(!list.is_empty() && list.len() <= PAGE, "{}: a page has items", app.label);
    assert_eq!(r.body["meta"]["count"], list.len());
    Some(list)
}

/// Every item of a session, page by page, without acknowledging any.
async fn drain(app: &App, who: &NewAccount, device: &str, session: &str) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(page) = fetch(app, who, device, session).await {
        out.extend(page);
    }
    // Once drained, a session stays drained.
    assert!(fetch(app, who, device, session).await.is_none(), "{}", app.label);
    out
}

async fn ack(app: &App, who: &NewAccount, device: &str, keys: &[String]) {
    let r = sync_req(app, who, Some(device), Method::POST, "/sync/ack", Some(json!({ "data": { "ack_keys": keys } })))
        .await;
    assert_eq!(r.status, 202, "{}: {}", app.label, r.body);
}

fn ack_keys(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["meta"]["sync"]["ack_key"].as_str().expect("ack_key").to_owned()).collect()
}

/// `(type, id, event_type)` of each item.
fn summary(items: &[Value]) -> Vec<(String, i64, String)> {
    items
        .iter()
        .map(|i| {
            (
                i["meta"]["type"].as_str().unwrap_or_default().to_owned(),
                i["data"]["id"].as_i64().unwrap_or_default(),
                i["meta"]["sync"]["event_type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A full sync as the client's high-level loop does it: start, then fetch and acknowledge each
/// page until the queue is empty. Returns every item.
async fn sync_and_ack(app: &App, who: &NewAccount, device: &str) -> Vec<Value> {
    let Some((session, _)) = start(app, who, device).await else { return Vec::new() };
    let mut out = Vec::new();
    while let Some(page) = fetch(app, who, device, &session).await {
        ack(app, who, device, &ack_keys(&page)).await;
        out.extend(page);
    }
    out
}

async fn post(app: &App, path: &str, data: Value) -> Value {
    let r = sell(app, Method::POST, path, Some(json!({ "data": data }))).await;
    assert_eq!(r.status, 200, "{}: POST {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

#[tokio::test]
async fn first_sync_then_only_changes() {
    for app in apps().await {
        let l = app.label;
        let org = post(&app, "/contacts", json!({ "is_organization": true, "name": "Engines Ltd" })).await;
        let person = post(&app, "/contacts", json!({ "last_name": "Lovelace", "contact_id": org["id"] })).await;
        let lead = post(&app, "/leads", json!({ "last_name": "Babbage" })).await;
        let reason = post(&app, "/loss_reasons", json!({ "name": "Price" })).await;

        // The first sync hands out every live record of the synced kinds, each once, as created.
        let (session, total) = start(&app, &app.owner, DEVICE).await.expect("something to sync");
        let first = drain(&app, &app.owner, DEVICE, &session).await;
        assert_eq!(first.len() as u64, total, "{l}");
        let seen: BTreeSet<(String, i64)> = summary(&first).into_iter().map(|(t, id, _)| (t, id)).collect();
        assert_eq!(seen.len(), first.len(), "{l}: nothing twice in one session");
        assert!(summary(&first).iter().all(|(_, _, e)| e == "created"), "{l}");
        for (kind, id) in [
            ("contact", &org["id"]),
            ("contact", &person["id"]),
            ("lead", &lead["id"]),
            ("loss_reason", &reason["id"]),
            ("user", &json!(app.owner.user_id)),
        ] {
            assert!(seen.contains(&(kind.to_owned(), id.as_i64().unwrap_or_default())), "{l}: {kind} {id}");
        }
        let count = |t: &str| seen.iter().filter(|(k, _)| k == t).count();
        assert_eq!(
            [count("call_outcome"), count("visit_outcome"), count("lead_unqualified_reason")],
            [5, 4, 5],
            "{l}: every list's values"
        );
        // Each record as its own GET renders it, with its sync meta.
        let item = first.iter().find(|i| i["data"]["id"] == person["id"]).expect("person");
        let got = sell(&app, Method::GET, &format!("/contacts/{}", person["id"]), None).await;
        assert_eq!(item["data"], got.body["data"], "{l}");
        let meta = &item["meta"]["sync"];
        assert_eq!(meta["revision"], 1, "{l}");
        assert_eq!(meta["ack_key"], format!("Contact-{}-1", person["id"]), "{l}");
        let item = first.iter().find(|i| i["data"]["id"] == org["id"]).expect("organization");
        assert_eq!(item["meta"]["sync"]["ack_key"], format!("Company-{}-1", org["id"]), "{l}");
        assert_eq!(item["data"]["is_organization"], true);

        // Nothing acknowledged: the next session hands out the same again.
        let (again, total_again) = start(&app, &app.owner, DEVICE).await.expect("unacknowledged");
        assert_eq!(total_again, total, "{l}");
        assert_eq!(summary(&drain(&app, &app.owner, DEVICE, &again).await), summary(&first), "{l}");

        // Acknowledged, nothing is left.
        ack(&app, &app.owner, DEVICE, &ack_keys(&first)).await;
        assert_eq!(start(&app, &app.owner, DEVICE).await, None, "{l}");

        // Then only what changed: updated, deleted (as {id}) and created.
        let r = sell(
            &app,
            Method::PUT,
            &format!("/contacts/{}", person["id"]),
            Some(json!({"data": {"title": "Countess"}})),
        )
        .await;
        assert_eq!(r.status, 200, "{l}");
        assert_eq!(sell(&app, Method::DELETE, &format!("/leads/{}", lead["id"]), None).await.status, 204);
        let newer = post(&app, "/loss_reasons", json!({ "name": "Timing" })).await;
        // Made and deleted between two syncs: the device never hears of it.
        let brief = post(&app, "/contacts", json!({ "last_name": "Brief" })).await;
        assert_eq!(sell(&app, Method::DELETE, &format!("/contacts/{}", brief["id"]), None).await.status, 204);
        let (session, total) = start(&app, &app.owner, DEVICE).await.expect("changes");
        assert_eq!(total, 4, "{l}: three changes and the record made and deleted since");
        let changes = drain(&app, &app.owner, DEVICE, &session).await;
        let mut got = summary(&changes);
        got.sort();
        let id = |v: &Value| v["id"].as_i64().unwrap_or_default();
        let mut want = vec![
            ("contact".to_owned(), id(&person), "updated".to_owned()),
            ("lead".to_owned(), id(&lead), "deleted".to_owned()),
            ("loss_reason".to_owned(), id(&newer), "created".to_owned()),
        ];
        want.sort();
        assert_eq!(got, want, "{l}");
        let updated = changes.iter().find(|i| i["meta"]["type"] == "contact").expect("update");
        assert_eq!(updated["data"]["title"], "Countess", "{l}");
        assert_eq!(updated["meta"]["sync"]["revision"], 2, "{l}");
        let deleted = changes.iter().find(|i| i["meta"]["type"] == "lead").expect("deletion");
        assert_eq!(deleted["data"], json!({ "id": lead["id"] }), "{l}");
        assert_eq!(deleted["meta"]["sync"]["ack_key"], format!("Lead-{}-2-deleted", lead["id"]), "{l}");
        ack(&app, &app.owner, DEVICE, &ack_keys(&changes)).await;
        assert_eq!(start(&app, &app.owner, DEVICE).await, None, "{l}");

        // An acknowledgement of an older revision changes nothing.
        let stale = format!("Contact-{}-1", person["id"]);
        ack(&app, &app.owner, DEVICE, &[stale]).await;
        assert_eq!(start(&app, &app.owner, DEVICE).await, None, "{l}");
        app.finish().await;
    }
}

#[tokio::test]
async fn unacknowledged_items_come_back_in_the_next_session_only() {
    for app in apps().await {
        let l = app.label;
        let (session, _) = start(&app, &app.owner, DEVICE).await.expect("first");
        let all = drain(&app, &app.owner, DEVICE, &session).await;
        ack(&app, &app.owner, DEVICE, &ack_keys(&all)).await;
        let a = post(&app, "/loss_reasons", json!({ "name": "A" })).await;
        let b = post(&app, "/loss_reasons", json!({ "name": "B" })).await;

        // The session hands out both once, whether or not they are acknowledged.
        let (session, total) = start(&app, &app.owner, DEVICE).await.expect("two new");
        assert_eq!(total, 2, "{l}");
        let page = fetch(&app, &app.owner, DEVICE, &session).await.expect("page");
        assert_eq!(ids_of(&page), vec![a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap()], "{l}");
        ack(&app, &app.owner, DEVICE, &ack_keys(&page[..1])).await;
        // A change during the session to a record it handed out waits for the next session.
        let r =
            sell(&app, Method::PUT, &format!("/loss_reasons/{}", a["id"]), Some(json!({"data": {"name": "A2"}}))).await;
        assert_eq!(r.status, 200);
        assert!(fetch(&app, &app.owner, DEVICE, &session).await.is_none(), "{l}: not twice in one session");

        // The next session: the unacknowledged one, and the change made meanwhile.
        let (session, _) = start(&app, &app.owner, DEVICE).await.expect("left over");
        let next = drain(&app, &app.owner, DEVICE, &session).await;
        assert_eq!(
            summary(&next),
            vec![
                ("loss_reason".to_owned(), a["id"].as_i64().unwrap(), "updated".to_owned()),
                ("loss_reason".to_owned(), b["id"].as_i64().unwrap(), "created".to_owned()),
            ],
            "{l}"
        );
        assert_eq!(next[0]["data"]["name"], "A2");
        app.finish().await;
    }
}

fn ids_of(items: &[Value]) -> Vec<i64> {
    items.iter().filter_map(|i| i["data"]["id"].as_i64()).collect()
}

#[tokio::test]
async fn devices_and_accounts_are_apart_and_bad_requests_fail() {
    for app in apps().await {
        let l = app.label;
        let rival = app.other_account().await;
        post(&app, "/contacts", json!({ "last_name": "Only here" })).await;
        // One device syncs everything; another still starts from the beginning.
        let first = sync_and_ack(&app, &app.owner, DEVICE).await;
        assert!(!first.is_empty());
        assert_eq!(start(&app, &app.owner, DEVICE).await, None, "{l}");
        let (session, total) = start(&app, &app.owner, OTHER_DEVICE).await.expect("other device");
        assert_eq!(total as usize, first.len(), "{l}");
        // The rival account sees its own records only.
        let theirs = sync_and_ack(&app, &rival, DEVICE).await;
        assert!(!summary(&theirs).iter().any(|(t, _, _)| t == "contact"), "{l}: {theirs:?}");
        assert!(summary(&theirs).iter().any(|(t, id, _)| t == "user" && *id == rival.user_id), "{l}");

        // A session belongs to its account and device.
        let path = format!("/sync/{session}/queues/main");
        assert_sell_error(&sync_req(&app, &app.owner, Some(DEVICE), Method::GET, &path, None).await, 404, "not_found");
        assert_sell_error(
            &sync_req(&app, &rival, Some(OTHER_DEVICE), Method::GET, &path, None).await,
            404,
            "not_found",
        );
        for bad in [
            format!("/sync/{}/queues/main", uuid::Uuid::new_v4()),
            "/sync/not-a-session/queues/main".to_owned(),
            format!("/sync/{session}/queues/other"),
        ] {
            let r = sync_req(&app, &app.owner, Some(OTHER_DEVICE), Method::GET, &bad, None).await;
            assert_sell_error(&r, 404, "not_found");
        }
        // Still whole for its device after those.
        assert_eq!(drain(&app, &app.owner, OTHER_DEVICE, &session).await.len(), first.len(), "{l}");

        // The device header is required (and must name something).
        for device in [None, Some("  ")] {
            for (method, path) in
                [(Method::POST, "/sync/start"), (Method::GET, path.as_str()), (Method::POST, "/sync/ack")]
            {
                let body = json!({ "data": { "ack_keys": [] } });
                let r = sync_req(&app, &app.owner, device, method, path, Some(body)).await;
                assert_sell_error(&r, 400, "bad_request");
            }
        }
        let long = "d".repeat(256);
        assert_sell_error(
            &sync_req(&app, &app.owner, Some(&long), Method::POST, "/sync/start", None).await,
            400,
            "bad_request",
        );
        // No credentials, or no User-Agent: as everywhere.
        let req = app.client.post(format!("{}/v2/sync/start", app.base)).header("X-Basecrm-Device-UUID", DEVICE);
        assert_sell_error(&app.send(req, None).await, 400, "invalid_user_agent");

        // Acknowledgement keys: an array of keys this server gave out.
        let key = format!("Contact-{}-1", first[0]["data"]["id"]);
        for data in [
            json!({}),
            json!({ "ack_keys": "Contact-1-1" }),
            json!({ "ack_keys": [1] }),
            json!({ "ack_keys": [key, "nope"] }),
            json!({ "ack_keys": ["Contact-1-0"] }),
            json!({ "ack_keys": ["Tagging-1-1"] }),
            json!({ "ack_keys": ["contact-1-1"] }),
            json!({ "ack_keys": vec!["Contact-1-1"; 1001] }),
        ] {
            let r = sync_req(&app, &app.owner, Some(DEVICE), Method::POST, "/sync/ack", Some(json!({ "data": data })))
                .await;
            assert_sell_error(&r, 422, "validation_failed");
            assert_eq!(r.body["errors"][0]["error"]["field"], "/data/ack_keys", "{l}: {data}");
        }
        let r = sync_req(&app, &app.owner, Some(DEVICE), Method::POST, "/sync/ack", Some(json!({ "nodata": 1 }))).await;
        assert_sell_error(&r, 400, "bad_request");
        ack(&app, &app.owner, DEVICE, &[]).await;
        app.finish().await;
    }
}

#[tokio::test]
async fn a_session_pages_through_more_than_a_page() {
    for app in apps().await {
        let l = app.label;
        let who = actor(&app.owner);
        for i in 0..(PAGE + 20) {
            let draft = ContactDraft { last_name: Some(format!("Person {i:03}")), ..Default::default() };
            app.crm.create_contact(who, draft).await.expect("contact");
        }
        let (session, total) = start(&app, &app.owner, DEVICE).await.expect("session");
        assert!(total as usize > PAGE, "{l}");
        let first = fetch(&app, &app.owner, DEVICE, &session).await.expect("first page");
        assert_eq!(first.len(), PAGE, "{l}");
        // Only the first page is acknowledged.
        ack(&app, &app.owner, DEVICE, &ack_keys(&first)).await;
        let mut rest = Vec::new();
        while let Some(page) = fetch(&app, &app.owner, DEVICE, &session).await {
            rest.extend(page);
        }
        assert_eq!(first.len() + rest.len(), total as usize, "{l}");
        let all: BTreeSet<String> = ack_keys(&first).into_iter().chain(ack_keys(&rest)).collect();
        assert_eq!(all.len(), total as usize, "{l}: every record once");
        // The next session brings the pages that were not acknowledged, and nothing else.
        let (next, next_total) = start(&app, &app.owner, DEVICE).await.expect("rest");
        assert_eq!(next_total as usize, rest.len(), "{l}");
        let again = drain(&app, &app.owner, DEVICE, &next).await;
        assert_eq!(ack_keys(&again), ack_keys(&rest), "{l}");
        app.finish().await;
    }
}

/// What a device holds after applying items: `(type, id)` to data.
fn apply(held: &mut BTreeMap<(String, i64), Value>, items: &[Value]) {
    for i in items {
        let key = (i["meta"]["type"].as_str().unwrap_or_default().to_owned(), i["data"]["id"].as_i64().unwrap_or(0));
        match i["meta"]["sync"]["event_type"].as_str() {
            Some("created" | "updated") => {
                held.insert(key, i["data"].clone());
            }
            Some("deleted") => {
                assert!(held.remove(&key).is_some(), "deleted what the device does not hold: {i}");
            }
            other => panic!("event type {other:?}"),
        }
    }
}

/// Every person and organisation of the account, as `GET /contacts` renders them.
async fn all_contacts(app: &App) -> BTreeMap<(String, i64), Value> {
    let mut out = BTreeMap::new();
    for page in 1.. {
        let r = sell(app, Method::GET, &format!("/contacts?per_page=100&page={page}"), None).await;
        let got = items(&r);
        if got.is_empty() {
            break;
        }
        for c in got {
            out.insert(("contact".to_owned(), c["id"].as_i64().unwrap_or(0)), c);
        }
    }
    out
}

async fn write_contacts(crm: Crm, who: Actor, tag: &str, rounds: usize) -> Vec<i64> {
    let mut made = Vec::new();
    for i in 0..rounds {
        let draft = ContactDraft { last_name: Some(format!("{tag} {i}")), ..Default::default() };
        let c = crm.create_contact(who, draft).await.expect("create");
        made.push(c.id);
        if i % 3 == 2 {
            // Change an earlier one, and delete another.
            let mut d = crm.get::<Contact>(who, made[i - 1]).await.expect("read").draft();
            d.job_title = Some(format!("changed by {tag}"));
            crm.update_contact(who, made[i - 1], d).await.expect("update");
            crm.delete_contact_only(who, made[i - 2]).await.expect("delete");
        }
        tokio::task::yield_now().await;
    }
    made
}

#[tokio::test]
async fn two_replicas_writing_while_a_device_syncs_lose_nothing() {
    for app in apps().await {
        let l = app.label;
        let who = actor(&app.owner);
        // A second server process on the same database (its own pool, and on PostgreSQL its own
        // id blocks).
        let files = tempfile::tempdir().expect("dir");
        let replica = kith::open(&app.database_url, 2, kith::local_files(files.path(), &app.base)).await.expect("open");
        for i in 0..30 {
            let draft = ContactDraft { last_name: Some(format!("Before {i}")), ..Default::default() };
            app.crm.create_contact(who, draft).await.expect("contact");
        }
        let mut held = BTreeMap::new();
        apply(&mut held, &sync_and_ack(&app, &app.owner, DEVICE).await);

        // Both processes write while the device syncs again and again.
        let one = tokio::spawn(write_contacts(app.crm.clone(), who, "one", 45));
        let two = tokio::spawn(write_contacts(replica.clone(), who, "two", 45));
        let mut rounds = 0;
        while !(one.is_finished() && two.is_finished()) || rounds < 2 {
            apply(&mut held, &sync_and_ack(&app, &app.owner, DEVICE).await);
            rounds += 1;
        }
        one.await.expect("writer one");
        two.await.expect("writer two");
        // Once the writes are over, a sync brings the device level with the server.
        apply(&mut held, &sync_and_ack(&app, &app.owner, DEVICE).await);
        assert_eq!(start(&app, &app.owner, DEVICE).await, None, "{l}");
        held.retain(|(t, _), _| t == "contact");
        let server = all_contacts(&app).await;
        assert_eq!(server.len(), 30 + 2 * (45 - 15), "{l}");
        assert_eq!(held, server, "{l}: the device holds exactly what the server has");
        replica.store().close().await;
        app.finish().await;
    }
}
