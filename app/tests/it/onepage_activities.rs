//! OnePage actions, action streams, deals, notes, calls and meetings.

use crate::common;

use chrono::{Duration, Utc};
use common::{App, apps, assert_error};
use kith_onepage::wire::hex_id;
use reqwest::Method;
use serde_json::{Value, json};

async fn contact(app: &App, last: &str, company: Option<&str>) -> String {
    let mut body = json!({ "first_name": "Pat", "last_name": last });
    if let Some(c) = company {
        body["company_name"] = json!(c);
    }
    let r = app.op(Method::POST, "/contacts", Some(body)).await;
    assert_eq!(r.status, 201, "{}: {}", app.label, r.body);
    r.body["data"]["contact"]["id"].as_str().expect("id").to_owned()
}

async fn post(app: &App, path: &str, body: Value) -> Value {
    let r = app.op(Method::POST, path, Some(body)).await;
    assert_eq!(r.status, 201, "{} POST {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

async fn put(app: &App, path: &str, body: Option<Value>) -> Value {
    let r = app.op(Method::PUT, path, body).await;
    assert_eq!(r.status, 200, "{} PUT {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

async fn get(app: &App, path: &str) -> Value {
    let r = app.op(Method::GET, path, None).await;
    assert_eq!(r.status, 200, "{} GET {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

fn day(offset: i64) -> String {
    (Utc::now() + Duration::days(offset)).date_naive().format("%Y-%m-%d").to_string()
}

fn texts(list: &Value, key: &str, item: &str) -> Vec<String> {
    list[key]
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a[item]["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn actions_crud_validation_and_completion() {
    for app in apps().await {
        let c = contact(&app, "Actionable", None).await;
        let a = post(
            &app,
            "/actions.json",
            json!({"contact_id": c, "text": "Call back", "status": "date", "date": day(2)}),
        )
        .await["action"]
            .clone();
        let id = a["id"].as_str().expect("id").to_owned();
        assert_eq!(a["status"], "date");
        assert_eq!(a["date"], day(2));
        assert_eq!(a["done"], false);
        assert_eq!(a["assignee_id"], hex_id(app.owner.user_id), "assignee defaults to the caller");
        assert_eq!(a["contact_id"], c);

        // Defaults: status date, due today.
        let d = post(&app, "/actions", json!({"contact_id": c, "text": "Defaulted"})).await;
        assert_eq!(d["action"]["status"], "date");
        assert_eq!(d["action"]["date"], day(0));

        // date_time takes its date from exact_time.
        let t = (Utc::now() + Duration::days(3)).timestamp();
        let dt =
            post(&app, "/actions", json!({"contact_id": c, "text": "Timed", "status": "date_time", "exact_time": t}))
                .await;
        assert_eq!(dt["action"]["exact_time"], t);
        assert_eq!(dt["action"]["date"], day(3));

        // Partial update keeps the rest; a full update resets what it does not send.
        let u = put(&app, &format!("/actions/{id}?partial=true"), Some(json!({"text": "Call back soon"}))).await;
        assert_eq!(u["action"]["text"], "Call back soon");
        assert_eq!(u["action"]["date"], day(2));
        let u =
            put(&app, &format!("/actions/{id}"), Some(json!({"text": "Wait for reply", "status": "waiting"}))).await;
        assert_eq!(u["action"]["status"], "waiting");
        assert!(u["action"].get("date").is_none(), "waiting actions have no date: {}", u["action"]);

        // Completion and its undo restore the previous status.
        let done = put(&app, &format!("/actions/{id}/mark_as_done"), None).await;
        assert_eq!(done["action"]["status"], "done");
        assert_eq!(done["action"]["done"], true);
        assert_eq!(done["action"]["done_at"], day(0));
        let undone = put(&app, &format!("/actions/{id}/undo_completion"), None).await;
        assert_eq!(undone["action"]["status"], "waiting");
        assert_eq!(undone["action"]["done"], false);
        let r = app.op(Method::PUT, &format!("/actions/{id}/undo_completion"), None).await;
        assert_error(&r, 409, "conflict");
        // PUT ?done=true completes too.
        let done = put(&app, &format!("/actions/{id}?done=true&partial=true"), Some(json!({}))).await;
        assert_eq!(done["action"]["status"], "done");

        // Filters: done, status, contact.
        let open = get(&app, &format!("/actions?contact_id={c}&done=false")).await;
        assert_eq!(open["total_count"], 2);
        let finished = get(&app, "/actions?done=true").await;
        assert_eq!(texts(&finished, "actions", "action"), vec!["Wait for reply"]);
        let timed = get(&app, "/actions?status=date_time").await;
        assert_eq!(texts(&timed, "actions", "action"), vec!["Timed"]);

        // Bad input: 400 with field errors, never 500.
        let r = app
            .op(
                Method::POST,
                "/actions",
                Some(json!({"contact_id": c, "text": "x".repeat(141), "status": "someday", "date": "tomorrow"})),
            )
            .await;
        assert_error(&r, 400, "invalid_request_data");
        for field in ["text", "status", "date"] {
            assert!(r.body["errors"][field].is_string(), "{field}: {}", r.body);
        }
        let r = app.op(Method::POST, "/actions", Some(json!({"text": "No contact"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        assert!(r.body["errors"]["contact_id"].is_string(), "{}", r.body);
        let r = app.op(Method::POST, "/actions", Some(json!({"contact_id": hex_id(99_999_999), "text": "x"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        let r =
            app.op(Method::POST, "/actions", Some(json!({"contact_id": c, "text": "x", "status": "date_time"}))).await;
        assert!(r.body["errors"]["exact_time"].is_string(), "{}", r.body);
        let r = app.op(Method::POST, "/actions", Some(json!({"contact_id": c, "text": 5, "position": "first"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        let other = contact(&app, "Other", None).await;
        let r =
            app.op(Method::PUT, &format!("/actions/{id}"), Some(json!({"contact_id": other, "text": "Move"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        let r = app.op(Method::GET, "/actions?status=later", None).await;
        assert_error(&r, 400, "invalid_request_data");
        let r = app.op(Method::GET, "/actions/000000000000000000000bad", None).await;
        assert_error(&r, 404, "resource_not_found");

        // Delete and undo.
        let r = app.op(Method::DELETE, &format!("/actions/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_error(&app.op(Method::GET, &format!("/actions/{id}"), None).await, 404, "resource_not_found");
        let r = app.op(Method::DELETE, &format!("/actions/{id}?undo=true"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["action"]["id"], id);

        // Another account sees none of it.
        let rival = app.other_account().await;
        let r = app.op_as(&rival, Method::GET, &format!("/actions/{id}"), None).await;
        assert_error(&r, 404, "resource_not_found");
        let r = app.op_as(&rival, Method::PUT, &format!("/actions/{id}/mark_as_done"), None).await;
        assert_error(&r, 404, "resource_not_found");
        let r = app.op_as(&rival, Method::POST, &format!("/contacts/{c}/actions"), Some(json!({"text": "x"}))).await;
        assert_error(&r, 404, "resource_not_found");
        let r = app.op_as(&rival, Method::GET, "/actions", None).await;
        assert_eq!(r.body["data"]["total_count"], 0);
        app.finish().await;
    }
}

#[tokio::test]
async fn one_asap_per_contact_and_user_and_stream_order() {
    for app in apps().await {
        let c = contact(&app, "Ordered", None).await;
        let path = format!("/contacts/{c}/actions");
        post(&app, &path, json!({"text": "queued later", "status": "queued", "position": 2})).await;
        post(&app, &path, json!({"text": "queued first", "status": "queued", "position": 1})).await;
        post(&app, &path, json!({"text": "waiting", "status": "waiting"})).await;
        post(&app, &path, json!({"text": "next week", "date": day(7)})).await;
        post(&app, &path, json!({"text": "overdue", "date": day(-3)})).await;
        let first = post(&app, &path, json!({"text": "first asap", "status": "asap"})).await;
        post(&app, &path, json!({"text": "second asap", "status": "asap"})).await;

        // The second ASAP demoted the first to a dated action for today.
        let demoted = get(&app, &format!("/actions/{}", first["action"]["id"].as_str().expect("id"))).await;
        assert_eq!(demoted["action"]["status"], "date");
        assert_eq!(demoted["action"]["date"], day(0));

        let list = get(&app, &format!("{path}?per_page=100")).await;
        assert_eq!(
            texts(&list, "actions", "action"),
            vec!["second asap", "overdue", "first asap", "next week", "waiting", "queued first", "queued later"]
        );
        // Paging cuts the ordered list.
        let page2 = get(&app, &format!("{path}?per_page=3&page=2")).await;
        assert_eq!(texts(&page2, "actions", "action"), vec!["next week", "waiting", "queued first"]);
        assert_eq!(page2["max_page"], 3);
        app.finish().await;
    }
}

#[tokio::test]
async fn action_stream_orders_contacts_by_their_next_action() {
    for app in apps().await {
        let later = contact(&app, "Later", None).await;
        let sooner = contact(&app, "Sooner", Some("Soon Co")).await;
        let urgent = contact(&app, "Urgent", None).await;
        let idle = contact(&app, "Idle", None).await;
        post(&app, &format!("/contacts/{later}/actions"), json!({"text": "in a week", "date": day(7)})).await;
        post(&app, &format!("/contacts/{later}/actions"), json!({"text": "queued", "status": "queued"})).await;
        let q = post(
            &app,
            &format!("/contacts/{later}/actions"),
            json!({"text": "dated queued", "status": "queued_with_date", "date": day(1)}),
        )
        .await;
        post(&app, &format!("/contacts/{sooner}/actions"), json!({"text": "tomorrow", "date": day(1)})).await;
        post(&app, &format!("/contacts/{urgent}/actions"), json!({"text": "now", "status": "asap"})).await;
        post(&app, &format!("/contacts/{idle}/actions"), json!({"text": "only queued", "status": "queued"})).await;

        let s = get(&app, "/action_stream").await;
        assert_eq!(s["total_count"], 3, "contacts with only queued actions are not in the stream: {s}");
        let order: Vec<&str> = s["contacts"]
            .as_array()
            .expect("contacts")
            .iter()
            .map(|e| e["contact"]["last_name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(order, vec!["Urgent", "Sooner", "Later"]);
        let entry = &s["contacts"][2];
        assert_eq!(entry["next_action"]["text"], "in a week");
        assert_eq!(entry["queued_actions"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            entry["next_action_conflicts"][0]["text"], "dated queued",
            "a dated queued action due first conflicts"
        );

        // Contact filters apply to the stream.
        let s = get(&app, "/action_stream?search=soon").await;
        assert_eq!(s["total_count"], 1);

        // swap resolves the conflict; promote needs no next action.
        let qid = q["action"]["id"].as_str().expect("id").to_owned();
        let swapped = put(&app, &format!("/actions/{qid}/swap"), None).await;
        assert_eq!(swapped["action"]["status"], "date");
        let s = get(&app, &format!("/contacts/{later}/actions?status=queued_with_date")).await;
        assert_eq!(texts(&s, "actions", "action"), vec!["in a week"]);
        let r = app.op(Method::PUT, &format!("/actions/{qid}/swap"), None).await;
        assert_error(&r, 409, "conflict");
        let only = get(&app, &format!("/contacts/{idle}/actions")).await;
        let oid = only["actions"][0]["action"]["id"].as_str().expect("id").to_owned();
        let promoted = put(&app, &format!("/actions/{oid}/promote"), None).await;
        assert_eq!(promoted["action"]["status"], "date");
        assert_eq!(get(&app, "/action_stream").await["total_count"], 4);
        let r = app.op(Method::PUT, &format!("/actions/{oid}/promote"), None).await;
        assert_error(&r, 409, "conflict");
        // revert_promotion and unlink answer with the action unchanged.
        let same = put(&app, &format!("/actions/{oid}/revert_promotion"), None).await;
        assert_eq!(same["action"]["status"], "date");
        assert_eq!(put(&app, &format!("/actions/{oid}/unlink"), None).await["action"]["id"], oid);

        // Another user's actions: in the team stream, not in my stream; unassign brings it back.
        let (colleague, _) = app.crm.add_user(app.owner.account_id, "colleague@acme.test", "user").await.expect("user");
        let theirs = contact(&app, "Theirs", None).await;
        let a = post(
            &app,
            "/actions",
            json!({"contact_id": theirs, "text": "theirs", "status": "asap", "assignee_id": hex_id(colleague.id)}),
        )
        .await;
        assert_eq!(get(&app, "/action_stream").await["total_count"], 4);
        assert_eq!(get(&app, "/team_stream").await["total_count"], 5);
        let t = get(&app, &format!("/team_stream?user_id={}", hex_id(colleague.id))).await;
        assert_eq!(t["total_count"], 1);
        assert_eq!(t["contacts"][0]["contact"]["last_name"], "Theirs");
        let aid = a["action"]["id"].as_str().expect("id");
        let mine = put(&app, &format!("/actions/{aid}/unassign"), None).await;
        assert_eq!(mine["action"]["assignee_id"], hex_id(app.owner.user_id));
        assert_eq!(get(&app, "/action_stream").await["total_count"], 5);
        assert_error(&app.op(Method::GET, "/team_stream?user_id=xyz", None).await, 400, "invalid_request_data");
        app.finish().await;
    }
}

#[tokio::test]
async fn deals_with_items_feed_contact_totals() {
    for app in apps().await {
        let c = contact(&app, "Buyer", Some("Buyers Inc")).await;
        let d = post(
            &app,
            &format!("/contacts/{c}/deals"),
            json!({"name": "Solar panels", "amount": 100.5, "months": 3, "cost": 20, "stage": 50, "text": "Fingers crossed"}),
        )
        .await["deal"]
            .clone();
        let id = d["id"].as_str().expect("id").to_owned();
        assert_eq!(d["status"], "pending");
        assert_eq!(d["amount"], 100.5);
        assert_eq!(d["total_amount"], 301.5);
        assert_eq!(d["total_cost"], 60.0);
        assert_eq!(d["margin"], 80.5);
        assert_eq!(d["stage"], 50);
        assert_eq!(d["expected_close_date"], day(0));
        assert!(d.get("close_date").is_none());
        assert_eq!(d["contact_info"]["contact_name"], "Pat Buyer");
        assert_eq!(d["contact_info"]["company"], "Buyers Inc");
        assert_eq!(d["owner"]["id"], hex_id(app.owner.user_id));
        assert!(d["pipeline_id"].is_string(), "the default pipeline: {d}");

        // Items replace amount and cost with their sums.
        let with_items = post(
            &app,
            "/deals",
            json!({"contact_id": c, "name": "Bundle", "deal_items": [
                {"name": "Panel", "qty": 2, "price": 149.99, "cost": 95},
                {"name": "Inverter", "qty": 1, "price": 500, "cost": 300, "description": "5 kW"}
            ]}),
        )
        .await["deal"]
            .clone();
        assert_eq!(with_items["has_deal_items"], true);
        assert_eq!(with_items["amount"], 799.98);
        assert_eq!(with_items["cost"], 490.0);
        assert_eq!(with_items["deal_items"][0]["amount"], 299.98);
        assert_eq!(with_items["deal_items"][1]["description"], "5 kW");

        // The contact's pending figures.
        let contact = get(&app, &format!("/contacts/{c}")).await["contact"].clone();
        assert_eq!(contact["pending_deal"], true);
        assert_eq!(contact["total_pendings"], 301.5 + 799.98);

        // Winning sets the close date and leaves the pending totals.
        let won = put(&app, &format!("/deals/{id}?partial=true"), Some(json!({"status": "won"}))).await["deal"].clone();
        assert_eq!(won["status"], "won");
        assert_eq!(won["close_date"], day(0));
        assert_eq!(won["total_amount"], 301.5, "a partial update keeps the amount");
        let contact = get(&app, &format!("/contacts/{c}")).await["contact"].clone();
        assert_eq!(contact["total_pendings"], 799.98);

        // Lists and filters.
        assert_eq!(get(&app, "/deals?status=won").await["total_count"], 1);
        assert_eq!(get(&app, "/deals?search=bund").await["total_count"], 1);
        assert_eq!(get(&app, &format!("/contacts/{c}/deals")).await["total_count"], 2);
        let company_id = contact["company_id"].as_str().expect("company").to_owned();
        assert_eq!(get(&app, &format!("/companies/{company_id}/deals")).await["total_count"], 2);
        assert_eq!(get(&app, &format!("/deals?date_filter=close_date&since={}", day(-1))).await["total_count"], 1);

        // Bad input.
        let r = app
            .op(
                Method::POST,
                "/deals",
                Some(json!({"contact_id": c, "name": "x", "status": "maybe", "amount": "lots"})),
            )
            .await;
        assert_error(&r, 400, "invalid_request_data");
        for field in ["status", "amount"] {
            assert!(r.body["errors"][field].is_string(), "{field}: {}", r.body);
        }
        let r = app
            .op(Method::POST, "/deals", Some(json!({"contact_id": c, "name": "x", "stage": 150, "months": 0})))
            .await;
        assert_error(&r, 400, "invalid_request_data");
        assert!(r.body["errors"]["stage"].is_string() && r.body["errors"]["months"].is_string(), "{}", r.body);
        let r = app.op(Method::POST, "/deals", Some(json!({"contact_id": c}))).await;
        assert!(r.body["errors"]["name"].is_string(), "{}", r.body);
        let r = app.op(Method::GET, "/deals?sort_by=amount", None).await;
        assert_error(&r, 400, "invalid_request_data");
        let other = contact_id_of(&app, "Elsewhere").await;
        let r = app.op(Method::PUT, &format!("/deals/{id}"), Some(json!({"contact_id": other, "name": "Moved"}))).await;
        assert_error(&r, 400, "invalid_request_data");

        // Delete and undo; another account gets 404.
        assert_eq!(app.op(Method::DELETE, &format!("/deals/{id}"), None).await.status, 200);
        assert_error(&app.op(Method::GET, &format!("/deals/{id}"), None).await, 404, "resource_not_found");
        assert_eq!(app.op(Method::DELETE, &format!("/deals/{id}?undo=true"), None).await.status, 200);
        let rival = app.other_account().await;
        assert_error(&app.op_as(&rival, Method::GET, &format!("/deals/{id}"), None).await, 404, "resource_not_found");
        let r = app.op_as(&rival, Method::POST, "/deals", Some(json!({"contact_id": c, "name": "Steal"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        app.finish().await;
    }
}

async fn contact_id_of(app: &App, last: &str) -> String {
    contact(app, last, None).await
}

#[tokio::test]
async fn notes_calls_and_meetings() {
    for app in apps().await {
        let c = contact(&app, "Talker", Some("Talk Ltd")).await;
        let deal = post(&app, "/deals", json!({"contact_id": c, "name": "Talks"})).await["deal"]["id"].clone();
        let n = post(&app, "/notes", json!({"contact_id": c, "text": "Met at a fair", "linked_deal_id": deal})).await;
        let nid = n["note"]["id"].as_str().expect("id").to_owned();
        assert_eq!(n["note"]["linked_deal_name"], "Talks");
        assert_eq!(n["note"]["date"], day(0));
        assert_eq!(n["note"]["author"], "owner@acme.test", "a user without a name is shown by email");
        post(&app, &format!("/contacts/{c}/notes"), json!({"text": "Older", "date": day(-5)})).await;
        let list = get(&app, &format!("/contacts/{c}/notes")).await;
        assert_eq!(texts(&list, "notes", "note"), vec!["Met at a fair", "Older"]);
        let upd = put(&app, &format!("/notes/{nid}?partial=true"), Some(json!({"text": "Met at the fair"}))).await;
        assert_eq!(upd["note"]["text"], "Met at the fair");
        assert_eq!(upd["note"]["linked_deal_id"], deal);
        let r = app.op(Method::POST, "/notes", Some(json!({"contact_id": c, "text": ""}))).await;
        assert_error(&r, 400, "invalid_request_data");
        let r = app.op(Method::POST, "/notes", Some(json!({"contact_id": c, "text": "x".repeat(7169)}))).await;
        assert_error(&r, 400, "invalid_request_data");
        let r = app
            .op(
                Method::POST,
                "/notes",
                Some(json!({"contact_id": c, "text": "x", "linked_deal_id": hex_id(77_777_777)})),
            )
            .await;
        assert!(r.body["errors"]["linked_deal_id"].is_string(), "{}", r.body);

        let t = Utc::now().timestamp() - 3600;
        let call = post(
            &app,
            "/calls",
            json!({"contact_id": c, "text": "Keen", "call_result": "interested", "call_time_int": t, "via": "phone", "phone_number": "123"}),
        )
        .await;
        let cid = call["call"]["id"].as_str().expect("id").to_owned();
        assert_eq!(call["call"]["call_time_int"], t);
        assert_eq!(call["call"]["call_result"], "interested");
        let r = app.op(Method::POST, "/calls", Some(json!({"contact_id": c, "via": "pigeon"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        assert!(r.body["errors"]["via"].is_string(), "{}", r.body);
        let r = app.op(Method::POST, "/calls", Some(json!({"contact_id": c, "call_result": "ecstatic"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        assert!(r.body["errors"]["call_result"].is_string(), "{}", r.body);
        let results = get(&app, "/call_results").await;
        let interested = results.as_array().expect("array").iter().find(|r| r["call_result"]["result"] == "interested");
        let interested = interested.expect("interested");
        assert_eq!(interested["call_result"]["counts"], 1);
        assert_eq!(interested["call_result"]["total_counts"], 1);
        let full = put(&app, &format!("/calls/{cid}"), Some(json!({"text": "Replaced"}))).await;
        assert_eq!(full["call"]["call_result"], "", "a full update clears what it does not send");
        assert_eq!(get(&app, &format!("/calls?date_filter=call_time&since={}", day(-1))).await["total_count"], 1);

        let m = post(&app, &format!("/contacts/{c}/meetings"), json!({"place": "Room 1", "text": "Demo"})).await;
        let mid = m["meeting"]["id"].as_str().expect("id").to_owned();
        assert_eq!(m["meeting"]["place"], "Room 1");
        let r = app.op(Method::POST, "/meetings", Some(json!({"contact_id": c, "place": "p".repeat(101)}))).await;
        assert!(r.body["errors"]["place"].is_string(), "{}", r.body);

        assert_eq!(get(&app, &format!("/contacts/{c}/calls")).await["total_count"], 1);
        assert_eq!(get(&app, &format!("/contacts/{c}/meetings")).await["total_count"], 1);
        let moved = put(&app, &format!("/meetings/{mid}?partial=true"), Some(json!({"place": "Room 2"}))).await;
        assert_eq!(moved["meeting"]["place"], "Room 2");
        assert_eq!(moved["meeting"]["text"], "Demo");
        // Per-company lists see the company's contacts' records.
        let company =
            get(&app, &format!("/contacts/{c}")).await["contact"]["company_id"].as_str().expect("company").to_owned();
        assert_eq!(get(&app, &format!("/companies/{company}/notes")).await["total_count"], 2);
        assert_eq!(get(&app, &format!("/companies/{company}/calls")).await["total_count"], 1);
        assert_eq!(get(&app, &format!("/companies/{company}/meetings")).await["total_count"], 1);
        assert_eq!(get(&app, &format!("/companies/{company}/actions")).await["total_count"], 0);

        for path in [format!("/notes/{nid}"), format!("/calls/{cid}"), format!("/meetings/{mid}")] {
            assert_eq!(app.op(Method::DELETE, &path, None).await.status, 200);
            assert_error(&app.op(Method::GET, &path, None).await, 404, "resource_not_found");
            let r = app.op(Method::DELETE, &format!("{path}?undo=true"), None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let rival = app.other_account().await;
            assert_error(&app.op_as(&rival, Method::GET, &path, None).await, 404, "resource_not_found");
        }
        assert_error(
            &app.op(Method::GET, "/contacts/000000000000000000000bad/notes", None).await,
            404,
            "resource_not_found",
        );
        assert_error(
            &app.op(Method::GET, "/companies/000000000000000000000bad/calls", None).await,
            404,
            "resource_not_found",
        );
        app.finish().await;
    }
}
