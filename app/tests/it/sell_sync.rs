//! Sell's Sync API and lead conversion on both backends: a device's first sync, what later
//! syncs bring (updates, deletions, what was not acknowledged), devices and accounts kept apart,
//! paging, two server processes writing while a device syncs; converting leads into persons,
//! organisations and deals; the lead's unqualified reason and source.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use common::sell::{UA, assert_sell_error, ids, items, sell, sell_as};
use common::{App, Reply, apps};
use kith_domain::conversions::ConversionDraft;
use kith_domain::custom_fields::{FieldKind, NewCustomField};
use kith_domain::model::{Action, Call, Contact, Deal, LeadSource, Meeting, Note, Stage};
use kith_domain::{Actor, ContactDraft, Crm, NewAccount};
use kith_store::Json;
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
    common::sell::created(app, path, data).await
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
        let fleeting = post(&app, "/contacts", json!({ "last_name": "Fleeting" })).await;
        assert_eq!(sell(&app, Method::DELETE, &format!("/contacts/{}", fleeting["id"]), None).await.status, 204);
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

// ---------------------------------------------------------------------------------------------
// Lead conversion
// ---------------------------------------------------------------------------------------------

async fn custom_field(crm: &Crm, who: Actor, kind: &str, name: &str) {
    let field = NewCustomField {
        entity_kind: kind.into(),
        name: name.into(),
        kind: FieldKind::Text,
        choices: Vec::new(),
        position: None,
    };
    crm.create_custom_field(who, field).await.expect("custom field");
}

fn note(who: Actor, lead_id: i64) -> Note {
    let t = Utc::now();
    Note {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        author_id: who.user_id,
        contact_id: None,
        company_id: None,
        deal_id: None,
        lead_id: Some(lead_id),
        text: "Met at the fair".into(),
        date: None,
    }
}

fn task(who: Actor, lead_id: i64) -> Action {
    let t = Utc::now();
    Action {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        contact_id: None,
        deal_id: None,
        lead_id: Some(lead_id),
        assignee_id: who.user_id,
        text: "Call back".into(),
        status: "asap".into(),
        date: None,
        exact_time: None,
        done_at: None,
        position: 0,
        status_before_done: None,
        company_id: None,
        remind_at: None,
        creator_id: Some(who.user_id),
        stream_key: String::new(),
    }
}

fn call(who: Actor, lead_id: i64) -> Call {
    let t = Utc::now();
    Call {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        author_id: who.user_id,
        contact_id: None,
        deal_id: None,
        lead_id: Some(lead_id),
        text: None,
        call_result: None,
        phone_number: None,
        incoming: false,
        duration_seconds: None,
        called_at: t,
        recording_url: None,
        via: None,
        company_id: None,
        missed: false,
        external_id: None,
        associated_deal_ids: Json(Vec::new()),
    }
}

fn meeting(who: Actor, lead_id: i64) -> Meeting {
    let t = Utc::now();
    Meeting {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        author_id: who.user_id,
        contact_id: None,
        deal_id: None,
        lead_id: Some(lead_id),
        text: None,
        place: None,
        starts_at: t,
        ends_at: None,
        outcome: None,
        company_id: None,
        outcome_id: None,
    }
}

#[tokio::test]
async fn converting_a_lead_makes_a_person_an_organization_and_a_deal() {
    for app in apps().await {
        let l = app.label;
        let who = actor(&app.owner);
        custom_field(&app.crm, who, "lead", "Budget").await;
        custom_field(&app.crm, who, "lead", "Only on leads").await;
        custom_field(&app.crm, who, "contact", "Budget").await;
        custom_field(&app.crm, who, "company", "Budget").await;
        let lead = post(
            &app,
            "/leads",
            json!({
                "first_name": "Mark", "last_name": "Johnson", "organization_name": "Design Services",
                "title": "CEO", "description": "I know him via Tom", "industry": "Design",
                "email": "mark@designservices.com", "phone": "508-778-6516", "mobile": "508-778-0000",
                "website": "www.designservices.com", "twitter": "mjohnson",
                "address": { "line1": "2726 Smith Street", "city": "Hyannis", "country": "US" },
                "tags": ["important"], "custom_fields": { "Budget": "1000", "Only on leads": "x" },
            }),
        )
        .await;
        let lead_id = lead["id"].as_i64().expect("id");
        let note = app.crm.create(who, note(who, lead_id)).await.expect("note");
        let task = app.crm.create(who, task(who, lead_id)).await.expect("task");
        let call = app.crm.create(who, call(who, lead_id)).await.expect("call");
        let meeting = app.crm.create(who, meeting(who, lead_id)).await.expect("meeting");
        // The device had the lead before the conversion.
        sync_and_ack(&app, &app.owner, DEVICE).await;

        let r = sell(&app, Method::POST, "/lead_conversions", Some(json!({ "data": { "lead_id": lead_id } }))).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["meta"]["type"], "lead_conversion");
        let conversion = r.body["data"].clone();
        assert_eq!(conversion["id"], lead_id, "{l}");
        assert_eq!(conversion["lead_id"], lead_id, "{l}");
        assert_eq!(conversion["creator_id"], app.owner.user_id, "{l}");
        assert!(conversion["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{l}");
        let person_id = conversion["individual_id"].as_i64().expect("person");
        let org_id = conversion["organization_id"].as_i64().expect("organization");
        let deal_id = conversion["deal_id"].as_i64().expect("deal");

        // The person and the organisation, with what they can hold of the lead.
        let person = sell(&app, Method::GET, &format!("/contacts/{person_id}"), None).await.body["data"].clone();
        assert_eq!(person["is_organization"], false);
        assert_eq!((&person["first_name"], &person["last_name"]), (&json!("Mark"), &json!("Johnson")), "{l}");
        assert_eq!(person["contact_id"], org_id, "{l}: the person works at the organisation");
        assert_eq!(person["title"], "CEO");
        assert_eq!(person["description"], "I know him via Tom");
        assert_eq!(person["email"], "mark@designservices.com");
        assert_eq!((&person["phone"], &person["mobile"]), (&json!("508-778-6516"), &json!("508-778-0000")));
        assert_eq!((&person["website"], &person["twitter"]), (&json!("www.designservices.com"), &json!("mjohnson")));
        assert_eq!(person["address"]["city"], "Hyannis");
        assert_eq!(person["tags"], json!(["important"]), "{l}");
        assert_eq!(person["custom_fields"], json!({ "Budget": "1000" }), "{l}: fields of the same name only");
        assert_eq!(person["owner_id"], app.owner.user_id);
        let org = sell(&app, Method::GET, &format!("/contacts/{org_id}"), None).await.body["data"].clone();
        assert_eq!(org["is_organization"], true);
        assert_eq!(org["name"], "Design Services", "{l}");
        assert_eq!((&org["industry"], &org["website"]), (&json!("Design"), &json!("www.designservices.com")));
        assert_eq!(org["tags"], json!(["important"]), "{l}");
        assert_eq!(org["custom_fields"], json!({ "Budget": "1000" }), "{l}");
        assert_eq!(ids(&sell(&app, Method::GET, "/contacts", None).await).len(), 2, "{l}");

        // The deal: named after the organisation, the person its contact, pending at 0 USD in the
        // default pipeline's first stage.
        let deal = app.crm.get::<Deal>(who, deal_id).await.expect("deal");
        assert_eq!(deal.name, "Design Services", "{l}");
        assert_eq!((deal.contact_id, deal.company_id), (Some(person_id), Some(org_id)), "{l}");
        assert_eq!((deal.status.as_str(), deal.value_minor, deal.currency.as_str()), ("pending", Some(0), "USD"));
        assert_eq!(deal.owner_id, app.owner.user_id);
        let stage = app.crm.get::<Stage>(who, deal.stage_id.expect("stage")).await.expect("stage");
        assert_eq!((stage.name.as_str(), Some(stage.pipeline_id)), ("Incoming", deal.pipeline_id), "{l}");

        // The lead's activities now belong to the person (and still name the lead).
        let note = app.crm.get::<Note>(who, note.id).await.expect("note");
        assert_eq!((note.contact_id, note.company_id, note.lead_id), (Some(person_id), Some(org_id), Some(lead_id)));
        let task = app.crm.get::<Action>(who, task.id).await.expect("task");
        assert_eq!((task.contact_id, task.lead_id), (Some(person_id), Some(lead_id)), "{l}");
        assert_eq!(app.crm.get::<Call>(who, call.id).await.expect("call").contact_id, Some(person_id));
        assert_eq!(app.crm.get::<Meeting>(who, meeting.id).await.expect("meeting").contact_id, Some(person_id));

        // The lead leaves the leads; a device hears it deleted, and of the new records.
        assert_sell_error(&sell(&app, Method::GET, &format!("/leads/{lead_id}"), None).await, 404, "not_found");
        assert!(!ids(&sell(&app, Method::GET, "/leads", None).await).contains(&lead_id), "{l}");
        let changes = sync_and_ack(&app, &app.owner, DEVICE).await;
        let got: BTreeSet<(String, i64, String)> = summary(&changes).into_iter().collect();
        for want in [
            ("lead".to_owned(), lead_id, "deleted".to_owned()),
            ("contact".to_owned(), person_id, "created".to_owned()),
            ("contact".to_owned(), org_id, "created".to_owned()),
        ] {
            assert!(got.contains(&want), "{l}: {want:?} in {got:?}");
        }

        // Reading conversions back: one, a list, filters and sorts.
        let r = sell(&app, Method::GET, &format!("/lead_conversions/{lead_id}"), None).await;
        assert_eq!((r.status.as_u16(), &r.body["data"]), (200, &conversion), "{l}");
        let r = sell(&app, Method::GET, "/lead_conversions", None).await;
        assert_eq!((ids(&r), &r.body["items"][0]["meta"]["type"]), (vec![lead_id], &json!("lead_conversion")), "{l}");
        for (query, want) in [
            (format!("individual_id={person_id}"), vec![lead_id]),
            (format!("organization_id={org_id}"), vec![lead_id]),
            (format!("deal_id={deal_id}"), vec![lead_id]),
            (format!("lead_id={lead_id}"), vec![lead_id]),
            (format!("creator_id={}", app.owner.user_id), vec![lead_id]),
            ("deal_id=1".to_owned(), vec![]),
            ("sort_by=created_at:desc".to_owned(), vec![lead_id]),
        ] {
            let r = sell(&app, Method::GET, &format!("/lead_conversions?{query}"), None).await;
            assert_eq!(ids(&r), want, "{l}: {query}");
        }
        for query in ["sort_by=name", "per_page=101", "deal_id=x"] {
            let r = sell(&app, Method::GET, &format!("/lead_conversions?{query}"), None).await;
            assert_sell_error(&r, 400, "bad_request");
        }

        // Converting it again, or a lead of another account, or none at all, is refused.
        let rival = app.other_account().await;
        let again =
            sell(&app, Method::POST, "/lead_conversions", Some(json!({ "data": { "lead_id": lead_id } }))).await;
        assert_sell_error(&again, 422, "validation_failed");
        assert_eq!(again.body["errors"][0]["error"]["field"], "/data/lead_id", "{l}");
        let other = post(&app, "/leads", json!({ "last_name": "Other" })).await;
        let body = json!({ "data": { "lead_id": other["id"] } });
        let r = sell_as(&app, &rival, Method::POST, "/lead_conversions", Some(body)).await;
        assert_sell_error(&r, 422, "validation_failed");
        assert_sell_error(
            &sell_as(&app, &rival, Method::GET, &format!("/lead_conversions/{lead_id}"), None).await,
            404,
            "not_found",
        );
        assert!(ids(&sell_as(&app, &rival, Method::GET, "/lead_conversions", None).await).is_empty(), "{l}");
        assert_sell_error(
            &sell(&app, Method::GET, &format!("/lead_conversions/{}", other["id"]), None).await,
            404,
            "not_found",
        );
        assert_sell_error(&sell(&app, Method::GET, "/lead_conversions/abc", None).await, 404, "not_found");
        for (data, field) in [
            (json!({}), "/data/lead_id"),
            (json!({ "lead_id": null }), "/data/lead_id"),
            (json!({ "lead_id": "x" }), "/data/lead_id"),
            (json!({ "lead_id": 1 }), "/data/lead_id"),
            (json!({ "lead_id": other["id"], "owner_id": rival.user_id }), "/data/owner_id"),
            (json!({ "lead_id": other["id"], "create_deal": "yes" }), "/data/create_deal"),
        ] {
            let r = sell(&app, Method::POST, "/lead_conversions", Some(json!({ "data": data }))).await;
            assert_sell_error(&r, 422, "validation_failed");
            assert_eq!(r.body["errors"][0]["error"]["field"], field, "{l}: {data}");
        }
        // The refused conversions left the lead as it was.
        assert_eq!(sell(&app, Method::GET, &format!("/leads/{}", other["id"]), None).await.status, 200);
        app.finish().await;
    }
}

#[tokio::test]
async fn leads_of_one_kind_convert_into_that_kind() {
    for app in apps().await {
        let l = app.label;
        let who = actor(&app.owner);
        // An organisation only, without a deal.
        let lead = post(&app, "/leads", json!({ "organization_name": "Looms Ltd", "email": "hi@looms.example" })).await;
        let body = json!({ "data": { "lead_id": lead["id"], "create_deal": false } });
        let r = sell(&app, Method::POST, "/lead_conversions", Some(body)).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        let c = &r.body["data"];
        assert_eq!((&c["individual_id"], &c["deal_id"]), (&Value::Null, &Value::Null), "{l}");
        let org = sell(&app, Method::GET, &format!("/contacts/{}", c["organization_id"]), None).await;
        assert_eq!(org.body["data"]["name"], "Looms Ltd", "{l}");
        assert_eq!(org.body["data"]["email"], "hi@looms.example", "{l}: a lone organisation takes the email");

        // A person only: the deal takes the person's name; another owner when asked.
        let lead = post(&app, "/leads", json!({ "first_name": "Ada", "last_name": "Byron" })).await;
        let body = json!({ "data": { "lead_id": lead["id"], "owner_id": app.owner.user_id } });
        let r = sell(&app, Method::POST, "/lead_conversions", Some(body)).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        let c = &r.body["data"];
        assert_eq!(c["organization_id"], Value::Null, "{l}");
        let person = sell(&app, Method::GET, &format!("/contacts/{}", c["individual_id"]), None).await;
        assert_eq!(person.body["data"]["contact_id"], Value::Null, "{l}");
        let deal = app.crm.get::<Deal>(who, c["deal_id"].as_i64().expect("deal")).await.expect("deal");
        assert_eq!(
            (deal.name.as_str(), deal.contact_id, deal.company_id),
            ("Ada Byron", c["individual_id"].as_i64(), None)
        );
        assert_eq!(ids(&sell(&app, Method::GET, "/lead_conversions", None).await).len(), 2, "{l}");
        app.finish().await;
    }
}

#[tokio::test]
async fn two_processes_converting_one_lead_convert_it_once() {
    for app in apps().await {
        let l = app.label;
        let who = actor(&app.owner);
        let files = tempfile::tempdir().expect("dir");
        let replica = kith::open(&app.database_url, 2, kith::local_files(files.path(), &app.base)).await.expect("open");
        for round in 0..5 {
            let lead =
                post(&app, "/leads", json!({ "last_name": format!("Race {round}"), "organization_name": "Race Ltd" }))
                    .await;
            let draft = ConversionDraft { lead_id: lead["id"].as_i64(), owner_id: None, create_deal: true };
            let (a, b) = tokio::join!(app.crm.convert_lead(who, draft.clone()), replica.convert_lead(who, draft));
            assert_eq!(u8::from(a.is_ok()) + u8::from(b.is_ok()), 1, "{l}: {a:?} {b:?}");
        }
        // One person, organisation and deal per lead.
        let contacts = sell(&app, Method::GET, "/contacts?per_page=100", None).await;
        assert_eq!(ids(&contacts).len(), 10, "{l}");
        assert_eq!(app.crm.all::<Deal>(who, None).await.expect("deals").len(), 5, "{l}");
        assert_eq!(ids(&sell(&app, Method::GET, "/lead_conversions", None).await).len(), 5, "{l}");
        replica.store().close().await;
        app.finish().await;
    }
}

#[tokio::test]
async fn lead_unqualified_reasons_and_sources() {
    for app in apps().await {
        let l = app.label;
        let who = actor(&app.owner);
        let rival = app.other_account().await;
        let reasons = sell(&app, Method::GET, "/lead_unqualified_reasons", None).await;
        let reason = ids(&reasons)[0];
        let outcome = ids(&sell(&app, Method::GET, "/call_outcomes", None).await)[0];
        let theirs = ids(&sell_as(&app, &rival, Method::GET, "/lead_unqualified_reasons", None).await)[0];
        let sources = app.crm.all::<LeadSource>(who, None).await.expect("sources");
        let source = sources[0].id;
        let t = Utc::now();
        let deal_source = LeadSource {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            key: "deal_fair".into(),
            name: "Deal fair".into(),
            position: 99,
            resource_type: Some("deal".into()),
            creator_id: None,
        };
        let deal_source = app.crm.create(who, deal_source).await.expect("deal source").id;

        let lead =
            post(&app, "/leads", json!({ "last_name": "Q", "unqualified_reason_id": reason, "source_id": source }))
                .await;
        assert_eq!((&lead["unqualified_reason_id"], &lead["source_id"]), (&json!(reason), &json!(source)), "{l}");
        let path = format!("/leads/{}", lead["id"]);
        // Sending the lead back as it was read changes nothing.
        let r = sell(&app, Method::PUT, &path, Some(json!({ "data": lead }))).await;
        assert_eq!((r.status.as_u16(), &r.body["data"]), (200, &lead), "{l}");
        let r = sell(&app, Method::PUT, &path, Some(json!({ "data": { "unqualified_reason_id": null } }))).await;
        assert_eq!(r.body["data"]["unqualified_reason_id"], Value::Null, "{l}");

        for (data, field) in [
            (json!({ "unqualified_reason_id": outcome }), "/data/unqualified_reason_id"),
            (json!({ "unqualified_reason_id": theirs }), "/data/unqualified_reason_id"),
            (json!({ "unqualified_reason_id": "x" }), "/data/unqualified_reason_id"),
            (json!({ "source_id": deal_source }), "/data/source_id"),
            (json!({ "source_id": 1 }), "/data/source_id"),
            (json!({ "source_id": rival.user_id }), "/data/source_id"),
        ] {
            let r = sell(&app, Method::PUT, &path, Some(json!({ "data": data.clone() }))).await;
            assert_sell_error(&r, 422, "validation_failed");
            assert_eq!(r.body["errors"][0]["error"]["field"], field, "{l}: {data}");
            let mut create = data.clone();
            create["last_name"] = json!("New");
            let r = sell(&app, Method::POST, "/leads", Some(json!({ "data": create }))).await;
            assert_sell_error(&r, 422, "validation_failed");
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn every_sell_resource_syncs_with_its_type() {
    for app in apps().await {
        let l = app.label;
        let person = post(&app, "/contacts", json!({ "last_name": "Lovelace", "tags": ["vip"] })).await;
        let deal =
            post(&app, "/deals", json!({ "name": "Engines", "contact_id": person["id"], "value": "10.50" })).await;
        let note =
            post(&app, "/notes", json!({ "content": "Met", "resource_type": "contact", "resource_id": person["id"] }))
                .await;
        let task =
            post(&app, "/tasks", json!({ "content": "Call", "resource_type": "deal", "resource_id": deal["id"] }))
                .await;
        let call =
            post(&app, "/calls", json!({ "summary": "Rang", "resource_type": "contact", "resource_id": person["id"] }))
                .await;
        let product =
            post(&app, "/products", json!({ "name": "Plan", "prices": [{ "amount": "5.00", "currency": "USD" }] }))
                .await;
        let order = post(&app, "/orders", json!({ "deal_id": deal["id"] })).await;
        let line =
            post(&app, &format!("/orders/{}/line_items", order["id"]), json!({ "product_id": product["id"] })).await;
        let deal_source = post(&app, "/deal_sources", json!({ "name": "Fair" })).await;
        let tag = post(&app, "/tags", json!({ "name": "partner", "resource_type": "deal" })).await;
        let r = sell(
            &app,
            Method::POST,
            &format!("/deals/{}/associated_contacts", deal["id"]),
            Some(json!({ "data": { "contact_id": person["id"] } })),
        )
        .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        let who = actor(&app.owner);
        let message = app
            .crm
            .log_text_message(
                who,
                kith_domain::text_messages::TextMessageDraft {
                    subject: Some(kith_domain::engagements::Subject::Contact(
                        person["id"].as_i64().unwrap_or_default(),
                    )),
                    user_id: app.owner.user_id,
                    content: "Hi".into(),
                    incoming: true,
                    resource_phone_number: None,
                    user_phone_number: None,
                    sent_at: Some(Utc::now()),
                    deal_ids: Vec::new(),
                },
            )
            .await
            .expect("text message");

        let first = sync_and_ack(&app, &app.owner, DEVICE).await;
        let seen: BTreeSet<(String, i64)> = summary(&first).into_iter().map(|(t, id, _)| (t, id)).collect();
        for (kind, id) in [
            ("deal", &deal["id"]),
            ("note", &note["id"]),
            ("task", &task["id"]),
            ("call", &call["id"]),
            ("product", &product["id"]),
            ("order", &order["id"]),
            ("line_item", &line["id"]),
            ("deal_source", &deal_source["id"]),
            ("tag", &tag["id"]),
            ("text_message", &json!(message.id)),
        ] {
            assert!(seen.contains(&(kind.to_owned(), id.as_i64().unwrap_or_default())), "{l}: {kind} {id}");
        }
        let count = |t: &str| seen.iter().filter(|(k, _)| k == t).count();
        assert!(count("pipeline") >= 1 && count("stage") >= 5 && count("lead_source") >= 5, "{l}: {seen:?}");
        assert_eq!(count("associated_contact"), 1, "{l}");
        // A record is handed out as its own GET renders it.
        let item = first.iter().find(|i| i["meta"]["type"] == "deal").expect("deal");
        assert_eq!(item["data"], sell(&app, Method::GET, &format!("/deals/{}", deal["id"]), None).await.body["data"]);
        let item = first.iter().find(|i| i["meta"]["type"] == "task").expect("task");
        assert_eq!(item["data"], sell(&app, Method::GET, &format!("/tasks/{}", task["id"]), None).await.body["data"]);

        // Deletions keep their type, a deal source's included.
        for path in [
            format!("/deal_sources/{}", deal_source["id"]),
            format!("/notes/{}", note["id"]),
            format!("/orders/{}/line_items/{}", order["id"], line["id"]),
        ] {
            assert_eq!(sell(&app, Method::DELETE, &path, None).await.status, 204, "{l}: {path}");
        }
        let later = sync_and_ack(&app, &app.owner, DEVICE).await;
        let deleted: BTreeSet<(String, i64, String)> =
            summary(&later).into_iter().filter(|(_, _, e)| e == "deleted").collect();
        for (kind, id) in [("deal_source", &deal_source["id"]), ("note", &note["id"]), ("line_item", &line["id"])] {
            let key = (kind.to_owned(), id.as_i64().unwrap_or_default(), "deleted".to_owned());
            assert!(deleted.contains(&key), "{l}: {kind} {id} in {later:?}");
        }
        app.finish().await;
    }
}
