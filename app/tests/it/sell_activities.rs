//! Sell notes, tasks, calls, text messages and visits on both backends: what each is about (a
//! person, an organisation, a lead, a deal or nothing), their filters and sorts, bad input,
//! tenancy, and the same records seen through OnePage.

use crate::common;

use chrono::{Duration, Utc};
use common::sell::{assert_sell_error, ids, items, sell, sell_as};
use common::{App, apps, assert_error};
use kith_domain::Actor;
use kith_domain::choices::{CALL_OUTCOMES, VISIT_OUTCOMES};
use kith_domain::engagements::{MeetingDraft, Subject};
use kith_domain::model::{Action, Deal, Note};
use kith_domain::text_messages::TextMessageDraft;
use kith_onepage::wire::hex_id;
use reqwest::Method;
use serde_json::{Value, json};

fn owner(app: &App) -> Actor {
    Actor { account_id: app.owner.account_id, user_id: app.owner.user_id }
}

/// POSTs `data` to a Sell path and returns the record made.
async fn made(app: &App, path: &str, data: Value) -> Value {
    let r = sell(app, Method::POST, path, Some(json!({ "data": data }))).await;
    assert_eq!(r.status, 200, "{} POST {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("integer id")
}

/// The subjects every test uses: a person, an organisation, a lead, a deal with the person as its
/// primary contact, and a deal of the organisation alone.
struct Subjects {
    person: i64,
    org: i64,
    lead: i64,
    deal: i64,
    org_deal: i64,
}

/// A pending deal of a person (deals are made through the domain: their Sell endpoints are
/// another module's).
fn deal_draft(contact_id: i64, owner_id: i64) -> kith_domain::deals::DealDraft {
    kith_domain::deals::DealDraft {
        amount_minor: 100_000,
        ..kith_domain::deals::DealDraft::new(contact_id, owner_id, "Difference engine")
    }
}

async fn subjects(app: &App) -> Subjects {
    let org = id(&made(app, "/contacts", json!({ "is_organization": true, "name": "Analytical Engines" })).await);
    let person = id(&made(app, "/contacts", json!({ "first_name": "Ada", "last_name": "Lovelace" })).await);
    let lead = id(&made(app, "/leads", json!({ "first_name": "Charles", "last_name": "Babbage" })).await);
    let deal = app.crm.create_deal(owner(app), deal_draft(person, app.owner.user_id)).await.expect("deal");
    let org_deal =
        Deal { id: 0, name: "Analytical engine".into(), contact_id: None, company_id: Some(org), ..deal.clone() };
    let org_deal = app.crm.create(owner(app), org_deal).await.expect("organisation's deal");
    Subjects { person, org, lead, deal: deal.id, org_deal: org_deal.id }
}

/// The `/data/…` fields of a 422.
fn fields(r: &common::Reply) -> Vec<String> {
    assert_sell_error(r, 422, "validation_failed");
    r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["error"]["field"].as_str().map(str::to_owned))
        .collect()
}

async fn put(app: &App, path: &str, data: Value) -> Value {
    let r = sell(app, Method::PUT, path, Some(json!({ "data": data }))).await;
    assert_eq!(r.status, 200, "{} PUT {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

async fn get(app: &App, path: &str) -> common::Reply {
    let r = sell(app, Method::GET, path, None).await;
    assert_eq!(r.status, 200, "{} GET {path}: {}", app.label, r.body);
    r
}

/// Asserts that PUT of a record exactly as GET rendered it succeeds and changes nothing but
/// `updated_at`.
async fn put_back_unchanged(app: &App, path: &str) {
    let before = get(app, path).await.body["data"].clone();
    let after = put(app, path, before.clone()).await;
    let strip = |mut v: Value| {
        v["updated_at"] = Value::Null;
        v
    };
    assert_eq!(strip(after), strip(before), "{} PUT {path} of its own rendering", app.label);
}

fn time_in(days: i64) -> String {
    (Utc::now() + Duration::days(days)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[tokio::test]
async fn notes_on_every_subject_filters_sorts_and_onepage() {
    for app in apps().await {
        let s = subjects(&app).await;
        let on = |t: &str, id: i64, text: &str| json!({ "content": text, "resource_type": t, "resource_id": id });
        let person_note = made(&app, "/notes", on("contact", s.person, "Met Ada about engines")).await;
        assert_eq!(person_note["resource_type"], "contact");
        assert_eq!(person_note["resource_id"], s.person);
        assert_eq!(person_note["creator_id"], app.owner.user_id);
        assert_eq!(person_note["content"], "Met Ada about engines");
        assert!(person_note["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
        let org_note = made(&app, "/notes", on("contact", s.org, "The organisation's note")).await;
        assert_eq!(
            (org_note["resource_type"].as_str(), org_note["resource_id"].as_i64()),
            (Some("contact"), Some(s.org))
        );
        let lead_note = made(&app, "/notes", on("lead", s.lead, "A lead's note")).await;
        assert_eq!(
            (lead_note["resource_type"].as_str(), lead_note["resource_id"].as_i64()),
            (Some("lead"), Some(s.lead))
        );
        let deal_note = made(&app, "/notes", on("deal", s.deal, "Deal engines")).await;
        assert_eq!(
            (deal_note["resource_type"].as_str(), deal_note["resource_id"].as_i64()),
            (Some("deal"), Some(s.deal))
        );
        let org_deal_note = made(&app, "/notes", on("deal", s.org_deal, "An organisation's deal")).await;
        assert_eq!(org_deal_note["resource_type"], "deal");
        // The deal's note carries the deal's primary contact, for OnePage.
        let stored: Note = app.crm.get(owner(&app), id(&deal_note)).await.expect("note");
        assert_eq!((stored.contact_id, stored.deal_id), (Some(s.person), Some(s.deal)));

        // OnePage shows the person's note and the deal's note (linked to the deal) with the person,
        // and nothing without a person.
        let r = app.op(Method::GET, &format!("/contacts/{}/notes", hex_id(s.person)), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let notes = r.body["data"]["notes"].as_array().expect("notes").clone();
        let texts: Vec<&str> = notes.iter().filter_map(|n| n["note"]["text"].as_str()).collect();
        assert_eq!(notes.len(), 2, "{texts:?}");
        assert!(texts.contains(&"Met Ada about engines") && texts.contains(&"Deal engines"), "{texts:?}");
        let linked = notes.iter().find(|n| n["note"]["text"] == "Deal engines").expect("deal note");
        assert_eq!(linked["note"]["linked_deal_id"], hex_id(s.deal));
        let all = app.op(Method::GET, "/notes?per_page=100", None).await;
        assert_eq!(all.body["data"]["total_count"], 2, "{}", all.body);
        for hidden in [&org_note, &lead_note, &org_deal_note] {
            let r = app.op(Method::GET, &format!("/notes/{}", hex_id(id(hidden))), None).await;
            assert_error(&r, 404, "resource_not_found");
            let r = app.op(Method::DELETE, &format!("/notes/{}", hex_id(id(hidden))), None).await;
            assert_error(&r, 404, "resource_not_found");
        }
        // A note OnePage makes shows over Sell as the person's.
        let r = app
            .op(Method::POST, "/notes", Some(json!({ "contact_id": hex_id(s.person), "text": "From OnePage" })))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let op_note = i64::from_str_radix(r.body["data"]["note"]["id"].as_str().expect("id"), 16).expect("hex");
        let r = get(&app, &format!("/notes/{op_note}")).await;
        assert_eq!(
            (r.body["data"]["resource_type"].as_str(), r.body["data"]["resource_id"].as_i64()),
            (Some("contact"), Some(s.person))
        );

        // Filters.
        let every = [id(&person_note), id(&org_note), id(&lead_note), id(&deal_note), id(&org_deal_note), op_note];
        let r = get(&app, "/notes?per_page=100").await;
        assert_eq!(ids(&r), every.to_vec(), "updated_at ascending by default");
        let r = get(&app, "/notes?resource_type=contact").await;
        assert_eq!(ids(&r), vec![id(&person_note), id(&org_note), op_note]);
        let r = get(&app, &format!("/notes?resource_type=contact&resource_id={}", s.org)).await;
        assert_eq!(ids(&r), vec![id(&org_note)]);
        let r = get(&app, "/notes?resource_type=deal").await;
        assert_eq!(ids(&r), vec![id(&deal_note), id(&org_deal_note)]);
        let r = get(&app, &format!("/notes?resource_id={}", s.lead)).await;
        assert_eq!(ids(&r), vec![id(&lead_note)]);
        let r = get(&app, &format!("/notes?resource_type=lead&resource_id={}", s.person)).await;
        assert!(ids(&r).is_empty());
        let r = get(&app, "/notes?q=ENGINES").await;
        assert_eq!(ids(&r), vec![id(&person_note), id(&deal_note)]);
        let r = get(&app, &format!("/notes?ids={},{}", id(&lead_note), op_note)).await;
        assert_eq!(ids(&r), vec![id(&lead_note), op_note]);
        let (colleague, key) = app.crm.add_user(app.owner.account_id, "grace@acme.test", "user").await.expect("user");
        let grace = kith_domain::NewAccount { account_id: app.owner.account_id, user_id: colleague.id, key };
        let r =
            sell_as(&app, &grace, Method::POST, "/notes", Some(json!({ "data": on("lead", s.lead, "Grace's") }))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let graces = id(&r.body["data"]);
        let r = get(&app, &format!("/notes?creator_id={}", colleague.id)).await;
        assert_eq!(ids(&r), vec![graces]);

        // Sorts.
        let r = get(&app, "/notes?sort_by=id:desc&per_page=2").await;
        assert_eq!(ids(&r), vec![graces, op_note]);
        assert!(r.body["meta"]["links"]["next_page"].is_string());
        let r = get(&app, "/notes?sort_by=created_at&per_page=1&page=2").await;
        assert_eq!(ids(&r), vec![id(&org_note)]);
        let r = get(&app, "/notes?sort_by=resource_type").await;
        assert_eq!(
            ids(&r),
            vec![id(&person_note), id(&org_note), op_note, id(&deal_note), id(&org_deal_note), id(&lead_note), graces]
        );
        let r = get(&app, "/notes?sort_by=resource_type:desc&per_page=3&page=2").await;
        assert_eq!(ids(&r), vec![id(&org_deal_note), id(&person_note), id(&org_note)]);
        assert_sell_error(&sell(&app, Method::GET, "/notes?sort_by=content", None).await, 400, "bad_request");
        assert_sell_error(&sell(&app, Method::GET, "/notes?resource_type=task", None).await, 400, "bad_request");
        assert_sell_error(&sell(&app, Method::GET, "/notes?resource_id=x", None).await, 400, "bad_request");
        assert_sell_error(&sell(&app, Method::GET, "/notes?per_page=101", None).await, 400, "bad_request");

        // Updates: the content changes; the resource may be sent only as it is.
        for n in [&person_note, &deal_note, &org_note] {
            put_back_unchanged(&app, &format!("/notes/{}", id(n))).await;
        }
        let path = format!("/notes/{}", id(&deal_note));
        let u = put(&app, &path, json!({ "content": "Deal engines, signed" })).await;
        assert_eq!(u["content"], "Deal engines, signed");
        assert_eq!(u["resource_type"], "deal");
        let r = sell(
            &app,
            Method::PUT,
            &path,
            Some(json!({ "data": { "resource_type": "contact", "resource_id": s.person } })),
        )
        .await;
        assert_eq!(fields(&r), vec!["/data/resource_id"]);
        let r = sell(&app, Method::PUT, &path, Some(json!({ "data": { "resource_id": s.org_deal } }))).await;
        assert_eq!(fields(&r), vec!["/data/resource_id"]);
        let r = sell(&app, Method::PUT, &path, Some(json!({ "data": { "content": "  " } }))).await;
        assert_eq!(fields(&r), vec!["/data/content"]);
        // OnePage edits the deal's note as the person's note linked to the deal.
        let r = app
            .op(
                Method::PUT,
                &format!("/notes/{}?partial=true", hex_id(id(&deal_note))),
                Some(json!({ "text": "Edited in OnePage" })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(get(&app, &path).await.body["data"]["resource_type"], "deal");

        // Bad input.
        let r = sell(&app, Method::POST, "/notes", Some(json!({ "data": {} }))).await;
        let mut f = fields(&r);
        f.sort();
        assert_eq!(f, vec!["/data/content", "/data/resource_id", "/data/resource_type"]);
        let r = sell(&app, Method::POST, "/notes", Some(json!({ "data": on("task", s.person, "x") }))).await;
        assert_eq!(fields(&r), vec!["/data/resource_type"]);
        let r = sell(&app, Method::POST, "/notes", Some(json!({ "data": on("contact", 99_999_999, "x") }))).await;
        assert_eq!(fields(&r), vec!["/data/resource_id"]);
        let r = sell(&app, Method::POST, "/notes", Some(json!({ "data": on("deal", s.lead, "x") }))).await;
        assert_eq!(fields(&r), vec!["/data/resource_id"]);
        let r = sell(&app, Method::POST, "/notes", Some(json!({ "data": on("contact", s.person, "x") }))).await;
        assert_eq!(r.status, 200);
        let r = sell(
            &app,
            Method::POST,
            "/notes",
            Some(json!({ "data": { "content": 5, "resource_type": "contact", "resource_id": "abc" } })),
        )
        .await;
        let mut f = fields(&r);
        f.sort();
        assert_eq!(f, vec!["/data/content", "/data/resource_id"]);
        let r = sell(
            &app,
            Method::POST,
            "/notes",
            Some(json!({ "data": { "content": "x".repeat(7169), "resource_type": "lead", "resource_id": s.lead } })),
        )
        .await;
        assert_eq!(fields(&r), vec!["/data/content"]);
        assert_sell_error(&sell(&app, Method::POST, "/notes", Some(json!([1]))).await, 400, "bad_request");
        assert_sell_error(&sell(&app, Method::GET, "/notes/abc", None).await, 404, "not_found");

        // Another account: its subjects are unknown here, and this account's notes are not found there.
        let rival = app.other_account().await;
        let theirs =
            sell_as(&app, &rival, Method::POST, "/contacts", Some(json!({ "data": { "last_name": "Rival" } }))).await;
        let theirs = id(&theirs.body["data"]);
        let r = sell(&app, Method::POST, "/notes", Some(json!({ "data": on("contact", theirs, "x") }))).await;
        assert_eq!(fields(&r), vec!["/data/resource_id"]);
        let r = sell_as(&app, &rival, Method::POST, "/notes", Some(json!({ "data": on("deal", s.deal, "x") }))).await;
        assert_eq!(fields(&r), vec!["/data/resource_id"]);
        for m in [Method::GET, Method::PUT, Method::DELETE] {
            let body = (m == Method::PUT).then(|| json!({ "data": { "content": "mine" } }));
            let r = sell_as(&app, &rival, m, &path, body).await;
            assert_sell_error(&r, 404, "not_found");
        }
        assert!(items(&sell_as(&app, &rival, Method::GET, "/notes", None).await).is_empty());

        let r = sell(&app, Method::DELETE, &path, None).await;
        assert_eq!(r.status, 204);
        assert_sell_error(&sell(&app, Method::GET, &path, None).await, 404, "not_found");
        assert_sell_error(&sell(&app, Method::DELETE, &path, None).await, 404, "not_found");
        app.finish().await;
    }
}

#[tokio::test]
async fn tasks_due_dates_completion_filters_and_onepage() {
    for app in apps().await {
        let s = subjects(&app).await;
        let due = time_in(3);
        let t = made(
            &app,
            "/tasks",
            json!({ "content": "Send the plans", "due_date": due, "remind_at": time_in(2),
                    "resource_type": "contact", "resource_id": s.person }),
        )
        .await;
        let task = id(&t);
        assert_eq!(t["content"], "Send the plans");
        assert_eq!(t["due_date"], due);
        assert_eq!(t["owner_id"], app.owner.user_id);
        assert_eq!(t["creator_id"], app.owner.user_id);
        assert_eq!((t["completed"].as_bool(), t["overdue"].as_bool()), (Some(false), Some(false)));
        assert!(t["completed_at"].is_null());
        // OnePage sees a timed next action of the person.
        let r = app.op(Method::GET, &format!("/actions/{}", hex_id(task)), None).await;
        assert_eq!(r.body["data"]["action"]["status"], "date_time", "{}", r.body);
        assert_eq!(r.body["data"]["action"]["contact_id"], hex_id(s.person));

        // An undated task is a waiting action: the person's ASAP action stays ASAP.
        let r = app
            .op(
                Method::POST,
                "/actions",
                Some(json!({ "contact_id": hex_id(s.person), "text": "Now!", "status": "asap" })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let asap = r.body["data"]["action"]["id"].as_str().expect("id").to_owned();
        let undated =
            made(&app, "/tasks", json!({ "content": "Some day", "resource_type": "contact", "resource_id": s.person }))
                .await;
        assert!(undated["due_date"].is_null());
        let stored: Action = app.crm.get(owner(&app), id(&undated)).await.expect("action");
        assert_eq!(stored.status, kith_domain::actions::UNDATED_TASK_STATUS);
        let r = app.op(Method::GET, &format!("/actions/{asap}"), None).await;
        assert_eq!(r.body["data"]["action"]["status"], "asap");
        let asap_id = i64::from_str_radix(&asap, 16).expect("hex");
        let r = get(&app, &format!("/tasks/{asap_id}")).await;
        assert!(r.body["data"]["due_date"].is_null());
        put_back_unchanged(&app, &format!("/tasks/{asap_id}")).await;
        assert_eq!(
            app.op(Method::GET, &format!("/actions/{asap}"), None).await.body["data"]["action"]["status"],
            "asap"
        );

        // Every kind of subject, and none.
        let floating = made(&app, "/tasks", json!({ "content": "Floating", "due_date": time_in(-2) })).await;
        assert!(floating["resource_type"].is_null() && floating["resource_id"].is_null());
        assert_eq!(floating["overdue"], true);
        let org_task =
            made(&app, "/tasks", json!({ "content": "Org", "resource_type": "contact", "resource_id": s.org })).await;
        let lead_task =
            made(&app, "/tasks", json!({ "content": "Lead", "resource_type": "lead", "resource_id": s.lead })).await;
        let deal_task =
            made(&app, "/tasks", json!({ "content": "Deal", "resource_type": "deal", "resource_id": s.deal })).await;
        assert_eq!(
            (deal_task["resource_type"].as_str(), deal_task["resource_id"].as_i64()),
            (Some("deal"), Some(s.deal))
        );
        let stored: Action = app.crm.get(owner(&app), id(&deal_task)).await.expect("action");
        assert_eq!(stored.contact_id, Some(s.person), "a deal's task carries its primary contact");
        // OnePage lists only the actions with a person.
        let r = app.op(Method::GET, "/actions?per_page=100", None).await;
        assert_eq!(r.body["data"]["total_count"], 4, "{}", r.body);
        for hidden in [&floating, &org_task, &lead_task] {
            let r = app.op(Method::GET, &format!("/actions/{}", hex_id(id(hidden))), None).await;
            assert_error(&r, 404, "resource_not_found");
            let r = app.op(Method::PUT, &format!("/actions/{}/mark_as_done", hex_id(id(hidden))), None).await;
            assert_error(&r, 404, "resource_not_found");
        }

        // Completion keeps the status to return to; un-completing returns to it.
        let path = format!("/tasks/{task}");
        let done = put(&app, &path, json!({ "completed": true })).await;
        assert_eq!(done["completed"], true);
        assert!(done["completed_at"].is_string());
        assert_eq!(done["due_date"], due);
        assert_eq!(
            app.op(Method::GET, &format!("/actions/{}", hex_id(task)), None).await.body["data"]["action"]["status"],
            "done"
        );
        put_back_unchanged(&app, &path).await;
        let open = put(&app, &path, json!({ "completed": false })).await;
        assert_eq!((open["completed"].as_bool(), open["completed_at"].is_null()), (Some(false), true));
        let r = app.op(Method::GET, &format!("/actions/{}", hex_id(task)), None).await;
        assert_eq!(r.body["data"]["action"]["status"], "date_time");
        // A completion OnePage makes shows over Sell, and Sell can undo it.
        let r = app.op(Method::PUT, &format!("/actions/{}/mark_as_done", hex_id(task)), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(get(&app, &path).await.body["data"]["completed"], true);
        put(&app, &path, json!({ "completed": false })).await;
        // A dated OnePage action: due at the start of its day, and PUT back keeps it dated.
        let r = app
            .op(
                Method::POST,
                "/actions",
                Some(
                    json!({ "contact_id": hex_id(s.person), "text": "Dated", "status": "date", "date": "2020-01-02" }),
                ),
            )
            .await;
        let dated = i64::from_str_radix(r.body["data"]["action"]["id"].as_str().expect("id"), 16).expect("hex");
        let r = get(&app, &format!("/tasks/{dated}")).await;
        assert_eq!(r.body["data"]["due_date"], "2020-01-02T00:00:00Z");
        assert_eq!(r.body["data"]["overdue"], true);
        put_back_unchanged(&app, &format!("/tasks/{dated}")).await;
        let r = app.op(Method::GET, &format!("/actions/{}", hex_id(dated)), None).await;
        assert_eq!(r.body["data"]["action"]["status"], "date");
        // Moving the due date makes it timed; clearing it makes it undated.
        let moved = put(&app, &format!("/tasks/{dated}"), json!({ "due_date": "2030-05-06T07:08:09+02:00" })).await;
        assert_eq!(
            (moved["due_date"].as_str(), moved["overdue"].as_bool()),
            (Some("2030-05-06T05:08:09Z"), Some(false))
        );
        let cleared = put(&app, &format!("/tasks/{dated}"), json!({ "due_date": null })).await;
        assert!(cleared["due_date"].is_null());
        // The subject can change.
        let r =
            put(&app, &format!("/tasks/{}", id(&org_task)), json!({ "resource_type": "lead", "resource_id": s.lead }))
                .await;
        assert_eq!((r["resource_type"].as_str(), r["resource_id"].as_i64()), (Some("lead"), Some(s.lead)));
        let r = put(&app, &format!("/tasks/{}", id(&org_task)), json!({ "resource_type": null, "resource_id": null }))
            .await;
        assert!(r["resource_type"].is_null());
        put(&app, &format!("/tasks/{}", id(&org_task)), json!({ "resource_type": "contact", "resource_id": s.org }))
            .await;

        // Filters.
        let (colleague, key) = app.crm.add_user(app.owner.account_id, "grace@acme.test", "user").await.expect("user");
        let grace = kith_domain::NewAccount { account_id: app.owner.account_id, user_id: colleague.id, key };
        let body = json!({ "data": { "content": "For Grace", "owner_id": colleague.id, "remind_at": time_in(1) } });
        let r = sell_as(&app, &grace, Method::POST, "/tasks", Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let graces = r.body["data"].clone();
        assert_eq!(graces["creator_id"], colleague.id);
        put(&app, &format!("/tasks/{}", id(&lead_task)), json!({ "completed": true })).await;
        let r = get(&app, &format!("/tasks?owner_id={}", colleague.id)).await;
        assert_eq!(ids(&r), vec![id(&graces)]);
        let r = get(&app, &format!("/tasks?creator_id={}", colleague.id)).await;
        assert_eq!(ids(&r), vec![id(&graces)]);
        let r = get(&app, &format!("/tasks?creator_id={}&per_page=100", app.owner.user_id)).await;
        assert_eq!(ids(&r).len(), 8, "tasks made through Sell and OnePage alike");
        let r = get(&app, "/tasks?completed=true").await;
        assert_eq!(ids(&r), vec![id(&lead_task)]);
        let r = get(&app, "/tasks?completed=false&per_page=100").await;
        assert_eq!(ids(&r).len(), 8);
        let r = get(&app, "/tasks?overdue=true&sort_by=id").await;
        assert_eq!(ids(&r), vec![id(&floating)]);
        let r = get(&app, "/tasks?overdue=false&per_page=100").await;
        assert_eq!(ids(&r).len(), 8);
        let r = get(&app, "/tasks?remind=true&sort_by=id").await;
        assert_eq!(ids(&r), vec![task, id(&graces)]);
        let r = get(&app, "/tasks?remind=false&per_page=100").await;
        assert_eq!(ids(&r).len(), 7);
        let r = get(&app, "/tasks?type=floating&sort_by=id").await;
        assert_eq!(ids(&r), vec![id(&floating), id(&graces)]);
        let r = get(&app, "/tasks?type=related&per_page=100").await;
        assert_eq!(ids(&r).len(), 7);
        let r = get(&app, "/tasks?q=GRACE").await;
        assert_eq!(ids(&r), vec![id(&graces)]);
        let r = get(&app, &format!("/tasks?resource_type=contact&resource_id={}", s.org)).await;
        assert_eq!(ids(&r), vec![id(&org_task)]);
        let r = get(&app, &format!("/tasks?resource_type=deal&resource_id={}", s.deal)).await;
        assert_eq!(ids(&r), vec![id(&deal_task)]);
        let r = get(&app, &format!("/tasks?ids={},{}&sort_by=id", id(&deal_task), task)).await;
        assert_eq!(ids(&r), vec![task, id(&deal_task)]);
        for bad in
            ["type=someday", "completed=maybe", "overdue=1", "owner_id=me", "sort_by=content", "resource_type=call"]
        {
            assert_sell_error(&sell(&app, Method::GET, &format!("/tasks?{bad}"), None).await, 400, "bad_request");
        }

        // An action from before creators were recorded: its assignee made it, as far as Sell can tell.
        let template: Action = app.crm.get(owner(&app), id(&undated)).await.expect("action");
        let old = Action { id: 0, creator_id: None, assignee_id: colleague.id, text: "Old".into(), ..template };
        let old = app.crm.create(owner(&app), old).await.expect("old action");
        assert_eq!(get(&app, &format!("/tasks/{}", old.id)).await.body["data"]["creator_id"], colleague.id);
        let r = get(&app, &format!("/tasks?creator_id={}&sort_by=id", colleague.id)).await;
        assert_eq!(ids(&r), vec![id(&graces), old.id]);

        // Sorts.
        let r = get(&app, "/tasks?sort_by=due_date&per_page=2").await;
        assert_eq!(ids(&r), vec![id(&floating), task], "undated last");
        let r = get(&app, "/tasks?sort_by=completed_at&per_page=1").await;
        assert_eq!(ids(&r), vec![id(&lead_task)]);
        let r = get(&app, "/tasks?sort_by=resource_type:desc&per_page=100").await;
        let types: Vec<Value> = items(&r).iter().map(|t| t["resource_type"].clone()).collect();
        assert_eq!(types.first(), Some(&Value::Null), "no subject first descending: {types:?}");
        assert_eq!(types.last(), Some(&json!("contact")));
        let r = get(&app, "/tasks?per_page=100").await;
        let stamps: Vec<String> = items(&r).iter().map(|t| t["updated_at"].as_str().unwrap_or("").to_owned()).collect();
        assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "updated_at ascending by default: {stamps:?}");

        // Bad input.
        let r = sell(&app, Method::POST, "/tasks", Some(json!({ "data": { "content": "x".repeat(141) } }))).await;
        assert_eq!(fields(&r), vec!["/data/content"]);
        let r =
            sell(&app, Method::POST, "/tasks", Some(json!({ "data": { "due_date": "tomorrow", "completed": "yes" } })))
                .await;
        let mut f = fields(&r);
        f.sort();
        assert_eq!(f, vec!["/data/completed", "/data/content", "/data/due_date"]);
        let rival = app.other_account().await;
        let r =
            sell(&app, Method::POST, "/tasks", Some(json!({ "data": { "content": "x", "owner_id": rival.user_id } })))
                .await;
        assert_eq!(fields(&r), vec!["/data/owner_id"]);
        let r =
            sell(&app, Method::POST, "/tasks", Some(json!({ "data": { "content": "x", "resource_type": "lead" } })))
                .await;
        assert_eq!(fields(&r), vec!["/data/resource_id"]);
        let r =
            sell(&app, Method::PUT, &path, Some(json!({ "data": { "resource_type": "deal", "resource_id": s.lead } })))
                .await;
        assert_eq!(fields(&r), vec!["/data/resource_id"]);

        // Tenancy.
        let r = sell_as(
            &app,
            &rival,
            Method::POST,
            "/tasks",
            Some(json!({ "data": { "content": "x", "resource_type": "contact", "resource_id": s.person } })),
        )
        .await;
        assert_eq!(fields(&r), vec!["/data/resource_id"]);
        for m in [Method::GET, Method::PUT, Method::DELETE] {
            let body = (m == Method::PUT).then(|| json!({ "data": { "completed": true } }));
            assert_sell_error(&sell_as(&app, &rival, m, &path, body).await, 404, "not_found");
        }
        assert!(items(&sell_as(&app, &rival, Method::GET, "/tasks", None).await).is_empty());
        assert_eq!(sell(&app, Method::DELETE, &path, None).await.status, 204);
        assert_sell_error(&sell(&app, Method::GET, &path, None).await, 404, "not_found");
        app.finish().await;
    }
}

#[tokio::test]
async fn calls_outcomes_subjects_and_onepage() {
    for app in apps().await {
        let s = subjects(&app).await;
        let outcomes = items(&get(&app, "/call_outcomes").await);
        let outcome = |name: &str| outcomes.iter().find(|o| o["name"] == name).map(id).expect("outcome");
        let interested = outcome("Interested");
        let made_at = "2024-03-04T05:06:07Z";
        let c = made(
            &app,
            "/calls",
            json!({
                "summary": "Talked engines", "outcome_id": interested, "duration": 125, "incoming": true,
                "missed": false, "phone_number": "+44 20 1234", "external_id": 987654, "made_at": made_at,
                "recording_url": "https://rec.example/1", "associated_deal_ids": [s.deal],
                "resource_type": "contact", "resource_id": s.person,
            }),
        )
        .await;
        let call = id(&c);
        assert_eq!(c["user_id"], app.owner.user_id);
        assert_eq!(c["summary"], "Talked engines");
        assert_eq!(c["outcome_id"], interested);
        assert_eq!(
            (c["duration"].as_i64(), c["incoming"].as_bool(), c["missed"].as_bool()),
            (Some(125), Some(true), Some(false))
        );
        assert_eq!(c["external_id"], "987654");
        assert_eq!(c["made_at"], made_at);
        assert_eq!(c["associated_deal_ids"], json!([s.deal]));
        assert_eq!(c["recording_url"], "https://rec.example/1");
        assert_eq!((c["resource_type"].as_str(), c["resource_id"].as_i64()), (Some("contact"), Some(s.person)));
        // OnePage shows the outcome as the call's result.
        let r = app.op(Method::GET, &format!("/calls/{}", hex_id(call)), None).await;
        assert_eq!(r.body["data"]["call"]["call_result"], "interested", "{}", r.body);
        // And a OnePage call's result is its outcome over Sell.
        let r = app
            .op(
                Method::POST,
                "/calls",
                Some(json!({ "contact_id": hex_id(s.person), "text": "From OnePage", "call_result": "no_answer" })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let op_call = i64::from_str_radix(r.body["data"]["call"]["id"].as_str().expect("id"), 16).expect("hex");
        let r = get(&app, &format!("/calls/{op_call}")).await;
        assert_eq!(r.body["data"]["outcome_id"], outcome("No answer"));
        let r = app
            .op(
                Method::PUT,
                &format!("/calls/{}?partial=true", hex_id(op_call)),
                Some(json!({ "call_result": "interested" })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(get(&app, &format!("/calls/{op_call}")).await.body["data"]["outcome_id"], interested);
        put_back_unchanged(&app, &format!("/calls/{op_call}")).await;
        // OnePage's full replace keeps what it does not know of.
        let r = app.op(Method::PUT, &format!("/calls/{}", hex_id(call)), Some(json!({ "text": "Replaced" }))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = get(&app, &format!("/calls/{call}")).await;
        assert_eq!(
            (r.body["data"]["duration"].as_i64(), r.body["data"]["external_id"].as_str()),
            (Some(125), Some("987654"))
        );
        assert!(r.body["data"]["outcome_id"].is_null());

        // A lead's call, and a call with no one yet, attached later.
        let lead_call =
            made(&app, "/calls", json!({ "resource_type": "lead", "resource_id": s.lead, "missed": true })).await;
        assert_eq!(lead_call["resource_type"], "lead");
        let unknown = made(&app, "/calls", json!({ "phone_number": "+1 555 0100" })).await;
        assert!(unknown["resource_type"].is_null() && unknown["resource_id"].is_null());
        assert!(unknown["made_at"].is_string());
        let r = app.op(Method::GET, "/calls?per_page=100", None).await;
        assert_eq!(r.body["data"]["total_count"], 2, "OnePage lists calls with a person only: {}", r.body);
        assert_error(
            &app.op(Method::GET, &format!("/calls/{}", hex_id(id(&unknown))), None).await,
            404,
            "resource_not_found",
        );
        let path = format!("/calls/{}", id(&unknown));
        put_back_unchanged(&app, &path).await;
        let attached = put(&app, &path, json!({ "resource_type": "contact", "resource_id": s.org })).await;
        assert_eq!(attached["resource_id"], s.org);
        let attached = put(&app, &path, json!({ "resource_type": "contact", "resource_id": s.person })).await;
        assert_eq!(attached["resource_id"], s.person);
        assert_eq!(attached["phone_number"], "+1 555 0100");
        assert_eq!(app.op(Method::GET, &format!("/calls/{}", hex_id(id(&unknown))), None).await.status, 200);

        // Filters and the one order.
        let r = get(&app, "/calls").await;
        let when: Vec<String> = items(&r).iter().map(|c| c["made_at"].as_str().unwrap_or("").to_owned()).collect();
        assert!(when.windows(2).all(|w| w[0] >= w[1]), "newest first: {when:?}");
        assert_eq!(ids(&r).last(), Some(&call));
        let r = get(&app, "/calls?sort_by=made_at:asc&per_page=1").await;
        assert_eq!(ids(&r), vec![call]);
        let r = get(&app, &format!("/calls?resource_type=lead&resource_id={}", s.lead)).await;
        assert_eq!(ids(&r), vec![id(&lead_call)]);
        let r = get(&app, &format!("/calls?ids={call},{}", id(&lead_call))).await;
        assert_eq!(ids(&r), vec![id(&lead_call), call]);
        for bad in ["sort_by=id", "resource_type=deal", "ids=a"] {
            assert_sell_error(&sell(&app, Method::GET, &format!("/calls?{bad}"), None).await, 400, "bad_request");
        }

        // Bad input, each on its attribute.
        let visit_outcome = app.crm.choices(owner(&app), VISIT_OUTCOMES).await.expect("visit outcomes")[0].id;
        let rival = app.other_account().await;
        let rival_deal = {
            let p =
                sell_as(&app, &rival, Method::POST, "/contacts", Some(json!({ "data": { "last_name": "R" } }))).await;
            let a = Actor { account_id: rival.account_id, user_id: rival.user_id };
            app.crm.create_deal(a, deal_draft(id(&p.body["data"]), rival.user_id)).await.expect("rival deal").id
        };
        for (data, field) in [
            (json!({ "outcome_id": 99_999_999 }), "/data/outcome_id"),
            (json!({ "outcome_id": visit_outcome }), "/data/outcome_id"),
            (json!({ "duration": -1 }), "/data/duration"),
            (json!({ "duration": "long" }), "/data/duration"),
            (json!({ "incoming": "yes" }), "/data/incoming"),
            (json!({ "made_at": "yesterday" }), "/data/made_at"),
            (json!({ "associated_deal_ids": [rival_deal] }), "/data/associated_deal_ids"),
            (json!({ "associated_deal_ids": "1" }), "/data/associated_deal_ids"),
            (json!({ "user_id": rival.user_id }), "/data/user_id"),
            (json!({ "resource_type": "deal", "resource_id": s.deal }), "/data/resource_type"),
            (json!({ "resource_type": "contact", "resource_id": s.lead }), "/data/resource_id"),
            (json!({ "summary": ["x"] }), "/data/summary"),
        ] {
            let r = sell(&app, Method::POST, "/calls", Some(json!({ "data": data }))).await;
            assert_eq!(fields(&r), vec![field], "{data}");
        }
        // Call outcomes the account adds are outcomes too.
        let added = app.crm.create_choice(owner(&app), CALL_OUTCOMES, "Call back later").await.expect("outcome");
        let r = made(&app, "/calls", json!({ "outcome_id": added.id })).await;
        assert_eq!(r["outcome_id"], added.id);

        // Tenancy.
        for m in [Method::GET, Method::PUT, Method::DELETE] {
            let body = (m == Method::PUT).then(|| json!({ "data": { "summary": "mine" } }));
            assert_sell_error(&sell_as(&app, &rival, m, &format!("/calls/{call}"), body).await, 404, "not_found");
        }
        assert!(items(&sell_as(&app, &rival, Method::GET, "/calls", None).await).is_empty());
        assert_eq!(sell(&app, Method::DELETE, &format!("/calls/{call}"), None).await.status, 204);
        assert_sell_error(&sell(&app, Method::GET, &format!("/calls/{call}"), None).await, 404, "not_found");
        app.finish().await;
    }
}

#[tokio::test]
async fn text_messages_are_read_only_and_logged_with_checks() {
    for app in apps().await {
        let s = subjects(&app).await;
        let log = |subject: Option<Subject>, content: &str, sent_days_ago: i64| TextMessageDraft {
            subject,
            user_id: app.owner.user_id,
            content: content.into(),
            incoming: sent_days_ago % 2 == 0,
            resource_phone_number: Some("+44 7700 1234".into()),
            user_phone_number: Some("+44 20 0000".into()),
            sent_at: Some(Utc::now() - Duration::days(sent_days_ago)),
            deal_ids: Vec::new(),
        };
        let a = owner(&app);
        let to_person = app
            .crm
            .log_text_message(
                a,
                TextMessageDraft { deal_ids: vec![s.deal], ..log(Some(Subject::Contact(s.person)), "Hello Ada", 1) },
            )
            .await
            .expect("message");
        let to_org =
            app.crm.log_text_message(a, log(Some(Subject::Company(s.org)), "Hello org", 3)).await.expect("message");
        let to_lead =
            app.crm.log_text_message(a, log(Some(Subject::Lead(s.lead)), "Hello lead", 2)).await.expect("message");
        let unknown = app.crm.log_text_message(a, log(None, "Who is this?", 4)).await.expect("message");
        // The subject and the user are checked.
        let rival = app.other_account().await;
        let theirs =
            id(&sell_as(&app, &rival, Method::POST, "/contacts", Some(json!({ "data": { "last_name": "R" } })))
                .await
                .body["data"]);
        for (subject, user, field) in [
            (Some(Subject::Contact(theirs)), app.owner.user_id, "contact_id"),
            (Some(Subject::Company(s.person)), app.owner.user_id, "company_id"),
            (Some(Subject::Deal(s.deal)), app.owner.user_id, "deal_id"),
            (None, rival.user_id, "user_id"),
        ] {
            match app.crm.log_text_message(a, TextMessageDraft { user_id: user, ..log(subject, "x", 0) }).await {
                Err(kith_domain::DomainError::Invalid(f)) => assert_eq!(f[0].field, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        match app.crm.log_text_message(a, log(None, "  ", 0)).await {
            Err(kith_domain::DomainError::Invalid(f)) => assert_eq!(f[0].field, "content"),
            other => panic!("{other:?}"),
        }

        let r = get(&app, &format!("/text_messages/{}", to_person.id)).await;
        assert_eq!(r.body["meta"]["type"], "text_message");
        let m = &r.body["data"];
        assert_eq!((m["resource_type"].as_str(), m["resource_id"].as_i64()), (Some("contact"), Some(s.person)));
        assert_eq!(m["content"], "Hello Ada");
        assert_eq!(m["user_id"], app.owner.user_id);
        assert_eq!(m["incoming"], false);
        assert_eq!(m["resource_phone_number"], "+44 7700 1234");
        assert_eq!(m["user_phone_number"], "+44 20 0000");
        assert_eq!(m["associated_deal_ids"], json!([s.deal]));
        assert!(m["sent_at"].is_string());
        let r = get(&app, &format!("/text_messages/{}", unknown.id)).await;
        assert!(r.body["data"]["resource_type"].is_null());

        let r = get(&app, "/text_messages").await;
        assert_eq!(ids(&r), vec![unknown.id, to_lead.id, to_org.id, to_person.id], "id:desc by default");
        let r = get(&app, "/text_messages?sort_by=sent_at").await;
        assert_eq!(ids(&r), vec![to_person.id, to_lead.id, to_org.id, unknown.id], "descending unless :asc");
        let r = get(&app, "/text_messages?sort_by=sent_at:asc,id").await;
        assert_eq!(ids(&r), vec![unknown.id, to_org.id, to_lead.id, to_person.id]);
        let r = get(&app, &format!("/text_messages?resource_type=contact&resource_id={}", s.org)).await;
        assert_eq!(ids(&r), vec![to_org.id]);
        let r = get(&app, &format!("/text_messages?resource_type=lead&resource_id={}", s.lead)).await;
        assert_eq!(ids(&r), vec![to_lead.id]);
        let r = get(&app, &format!("/text_messages?ids={},{}", to_org.id, unknown.id)).await;
        assert_eq!(ids(&r), vec![unknown.id, to_org.id]);
        let r = get(&app, "/text_messages?per_page=1&page=2").await;
        assert_eq!(ids(&r), vec![to_lead.id]);
        for bad in [
            "resource_type=contact".to_owned(),
            format!("resource_id={}", s.person),
            format!("resource_type=deal&resource_id={}", s.deal),
            "sort_by=content".into(),
            "per_page=0".into(),
        ] {
            assert_sell_error(
                &sell(&app, Method::GET, &format!("/text_messages?{bad}"), None).await,
                400,
                "bad_request",
            );
        }
        // Read-only.
        let r = sell(&app, Method::POST, "/text_messages", Some(json!({ "data": { "content": "x" } }))).await;
        assert_sell_error(&r, 405, "method_not_allowed");
        let r = sell(&app, Method::DELETE, &format!("/text_messages/{}", to_org.id), None).await;
        assert_sell_error(&r, 405, "method_not_allowed");
        // Tenancy.
        let r = sell_as(&app, &rival, Method::GET, &format!("/text_messages/{}", to_org.id), None).await;
        assert_sell_error(&r, 404, "not_found");
        assert!(items(&sell_as(&app, &rival, Method::GET, "/text_messages", None).await).is_empty());
        app.finish().await;
    }
}

#[tokio::test]
async fn visits_are_meetings_with_outcomes() {
    for app in apps().await {
        let s = subjects(&app).await;
        let a = owner(&app);
        let outcomes = items(&get(&app, "/visit_outcomes").await);
        let successful = outcomes.iter().find(|o| o["name"] == "Successful").map(id).expect("outcome");
        let meet = |subject: Subject, days_ago: i64, outcome: Option<i64>| MeetingDraft {
            text: Some(format!("Visit {days_ago}")),
            place: Some("1 Merrion Square, Dublin".into()),
            starts_at: Some(Utc::now() - Duration::days(days_ago)),
            outcome_id: outcome,
            ..MeetingDraft::about(subject)
        };
        let at_org =
            app.crm.create_meeting(a, meet(Subject::Company(s.org), 1, Some(successful))).await.expect("visit");
        let at_lead = app.crm.create_meeting(a, meet(Subject::Lead(s.lead), 3, None)).await.expect("visit");
        // A OnePage meeting is a visit with its person.
        let r = app
            .op(
                Method::POST,
                "/meetings",
                Some(json!({ "contact_id": hex_id(s.person), "text": "Tea", "place": "The office",
                             "meeting_time_int": (Utc::now() - Duration::days(2)).timestamp() })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let with_person = i64::from_str_radix(r.body["data"]["meeting"]["id"].as_str().expect("id"), 16).expect("hex");
        // Outcomes come from the visit outcome list of the account.
        let call_outcome = app.crm.choices(a, CALL_OUTCOMES).await.expect("call outcomes")[0].id;
        match app.crm.create_meeting(a, meet(Subject::Contact(s.person), 0, Some(call_outcome))).await {
            Err(kith_domain::DomainError::Invalid(f)) => assert_eq!(f[0].field, "outcome_id"),
            other => panic!("{other:?}"),
        }
        match app.crm.create_meeting(a, meet(Subject::Lead(s.person), 0, None)).await {
            Err(kith_domain::DomainError::Invalid(f)) => assert_eq!(f[0].field, "lead_id"),
            other => panic!("{other:?}"),
        }
        // OnePage's full replace keeps the outcome it does not know of.
        let follow_up = outcomes.iter().find(|o| o["name"] == "Follow-up needed").map(id).expect("outcome");
        let mut d = meet(Subject::Contact(s.person), 2, Some(follow_up));
        d.text = Some("Tea".into());
        app.crm.update_meeting(a, with_person, d).await.expect("outcome set");
        let r =
            app.op(Method::PUT, &format!("/meetings/{}", hex_id(with_person)), Some(json!({ "text": "Tea" }))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(get(&app, &format!("/visits/{with_person}")).await.body["data"]["outcome_id"], follow_up);
        // OnePage's lists leave out visits without a person.
        let r = app.op(Method::GET, "/meetings", None).await;
        assert_eq!(r.body["data"]["total_count"], 1, "{}", r.body);
        assert_error(
            &app.op(Method::GET, &format!("/meetings/{}", hex_id(at_org.id)), None).await,
            404,
            "resource_not_found",
        );

        let r = get(&app, &format!("/visits/{}", at_org.id)).await;
        assert_eq!(r.body["meta"]["type"], "visit");
        let v = &r.body["data"];
        assert_eq!((v["resource_type"].as_str(), v["resource_id"].as_i64()), (Some("contact"), Some(s.org)));
        assert_eq!(v["outcome_id"], successful);
        assert_eq!(v["creator_id"], app.owner.user_id);
        assert_eq!(v["resource_address"], "1 Merrion Square, Dublin");
        assert_eq!(v["summary"], "Visit 1");
        assert_eq!(v["rep_location_verification_status"], "unverified");
        assert!(v["visited_at"].is_string());
        let r = get(&app, &format!("/visits/{with_person}")).await;
        assert_eq!(
            (r.body["data"]["resource_id"].as_i64(), r.body["data"]["summary"].as_str()),
            (Some(s.person), Some("Tea"))
        );

        let r = get(&app, "/visits").await;
        assert_eq!(ids(&r), vec![at_org.id, at_lead.id, with_person], "id ascending by default");
        let r = get(&app, "/visits?sort_by=visited_at").await;
        assert_eq!(ids(&r), vec![at_lead.id, with_person, at_org.id]);
        let r = get(&app, "/visits?sort_by=visited_at:desc&per_page=1&page=3").await;
        assert_eq!(ids(&r), vec![at_lead.id]);
        let r = get(&app, &format!("/visits?outcome_id={successful}")).await;
        assert_eq!(ids(&r), vec![at_org.id]);
        let r = get(&app, &format!("/visits?creator_id={}", app.owner.user_id)).await;
        assert_eq!(ids(&r).len(), 3);
        let r = get(&app, &format!("/visits?resource_type=lead&resource_id={}", s.lead)).await;
        assert_eq!(ids(&r), vec![at_lead.id]);
        let r = get(&app, &format!("/visits?resource_type=contact&resource_id={}", s.person)).await;
        assert_eq!(ids(&r), vec![with_person]);
        let r = get(&app, "/visits?rep_location_verification_status=unverified").await;
        assert_eq!(ids(&r).len(), 3);
        let r = get(&app, "/visits?rep_location_verification_status=verified").await;
        assert!(ids(&r).is_empty());
        for bad in ["resource_type=lead", "sort_by=summary", "outcome_id=x", "creator_id=x"] {
            assert_sell_error(&sell(&app, Method::GET, &format!("/visits?{bad}"), None).await, 400, "bad_request");
        }
        assert_sell_error(
            &sell(&app, Method::POST, "/visits", Some(json!({ "data": {} }))).await,
            405,
            "method_not_allowed",
        );
        let rival = app.other_account().await;
        let r = sell_as(&app, &rival, Method::GET, &format!("/visits/{}", at_org.id), None).await;
        assert_sell_error(&r, 404, "not_found");
        assert!(items(&sell_as(&app, &rival, Method::GET, "/visits", None).await).is_empty());
        assert_sell_error(&sell(&app, Method::GET, "/visits/0", None).await, 404, "not_found");
        app.finish().await;
    }
}
