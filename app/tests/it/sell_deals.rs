//! Sell deals, their associated contacts, pipelines and stages, and lead and deal sources, on
//! both backends; and a deal's stage and status agreeing across the Sell and OnePage dialects.

use crate::common;

use std::collections::HashMap;

use chrono::Utc;
use common::sell::{assert_sell_error, ids, items, sell, sell_as};
use common::{App, Reply, apps};
use kith_domain::model::{DealContact, Pipeline, Stage};
use kith_domain::{Actor, NewAccount};
use kith_onepage::wire::{hex_id, parse_id};
use reqwest::Method;
use serde_json::{Value, json};

fn envelope(data: Value) -> Option<Value> {
    Some(json!({ "data": data }))
}

/// A Sell request that must answer 200; its `data`.
async fn ok(app: &App, method: Method, path: &str, data: Option<Value>) -> Value {
    let r = sell(app, method.clone(), path, data.and_then(envelope)).await;
    assert_eq!(r.status, 200, "{} {method} {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

async fn get(app: &App, path: &str) -> Value {
    ok(app, Method::GET, path, None).await
}

/// A Sell list that must answer 200.
async fn list(app: &App, path: &str) -> Reply {
    let r = sell(app, Method::GET, path, None).await;
    assert_eq!(r.status, 200, "{} GET {path}: {}", app.label, r.body);
    assert_eq!(r.body["meta"]["type"], "collection");
    r
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("integer id")
}

async fn person(app: &App, last: &str, org: Option<i64>) -> i64 {
    let body = json!({ "first_name": "Pat", "last_name": last, "contact_id": org });
    id(&ok(app, Method::POST, "/contacts", Some(body)).await)
}

async fn organization(app: &App, name: &str) -> i64 {
    id(&ok(app, Method::POST, "/contacts", Some(json!({ "is_organization": true, "name": name }))).await)
}

async fn deal(app: &App, body: Value) -> Value {
    ok(app, Method::POST, "/deals", Some(body)).await
}

/// The default pipeline's stages by name.
async fn stage_ids(app: &App) -> HashMap<String, i64> {
    let p = items(&list(app, "/pipelines?name=Sales%20pipeline").await)[0].clone();
    let r = list(app, &format!("/stages?pipeline_id={}", id(&p))).await;
    items(&r).iter().map(|s| (s["name"].as_str().expect("name").to_owned(), id(s))).collect()
}

fn owner(app: &App) -> Actor {
    Actor { account_id: app.owner.account_id, user_id: app.owner.user_id }
}

/// A 422 naming exactly `fields` (in any order).
fn assert_invalid(r: &Reply, fields: &[&str]) {
    assert_sell_error(r, 422, "validation_failed");
    let mut got: Vec<String> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["error"]["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    got.sort();
    let mut want: Vec<String> = fields.iter().map(|f| format!("/data/{f}")).collect();
    want.sort();
    assert_eq!(got, want, "{}", r.body);
}

async fn post_invalid(app: &App, path: &str, data: Value, fields: &[&str]) {
    assert_invalid(&sell(app, Method::POST, path, envelope(data)).await, fields);
}

fn today() -> String {
    Utc::now().date_naive().format("%Y-%m-%d").to_string()
}

/// A OnePage deal's `data.deal`.
async fn op_deal(app: &App, id: i64) -> Value {
    let r = app.op(Method::GET, &format!("/deals/{}", hex_id(id)), None).await;
    assert_eq!(r.status, 200, "{}: {}", app.label, r.body);
    r.body["data"]["deal"].clone()
}

async fn op_put_deal(app: &App, id: i64, body: Value) -> Value {
    let r = app.op(Method::PUT, &format!("/deals/{}?partial=true", hex_id(id)), Some(body)).await;
    assert_eq!(r.status, 200, "{}: {}", app.label, r.body);
    r.body["data"]["deal"].clone()
}

/// A second pipeline with two open stages and a won one (made through the domain: Sell's
/// pipelines are read-only).
async fn second_pipeline(app: &App) -> (Pipeline, Vec<Stage>) {
    let t = Utc::now();
    let p = Pipeline {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        name: "Renewals".into(),
        position: 1,
        is_default: false,
    };
    let p = app.crm.create(owner(app), p).await.expect("pipeline");
    let mut stages = Vec::new();
    for (i, (name, probability, category)) in
        [("Up for renewal", 40, "open"), ("Negotiating", 70, "open"), ("Renewed", 100, "won")].into_iter().enumerate()
    {
        let s = Stage {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            pipeline_id: p.id,
            name: name.into(),
            position: i as i64,
            probability,
            category: category.into(),
        };
        stages.push(app.crm.create(owner(app), s).await.expect("stage"));
    }
    (p, stages)
}

#[tokio::test]
async fn deals_create_render_update_and_delete() {
    for app in apps().await {
        let org = organization(&app, "Analytical Engines").await;
        let ada = person(&app, "Lovelace", Some(org)).await;
        let stages = stage_ids(&app).await;
        let r = app.op(Method::POST, "/deal_fields", Some(json!({"name": "Seats", "type": "number"}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let source = id(&ok(&app, Method::POST, "/deal_sources", Some(json!({ "name": "Word of mouth" }))).await);
        let reason = id(&ok(&app, Method::POST, "/loss_reasons", Some(json!({ "name": "Too expensive" }))).await);

        // The fewest attributes: the defaults.
        let d = deal(&app, json!({ "name": "Engine", "contact_id": ada })).await;
        assert_eq!(d["owner_id"], app.owner.user_id);
        assert_eq!(d["creator_id"], app.owner.user_id);
        assert_eq!(d["currency"], "USD");
        assert_eq!(d["value"], "0.00");
        assert_eq!(d["hot"], false);
        assert_eq!(d["stage_id"], stages["Incoming"], "the first stage of the default pipeline");
        assert_eq!(d["contact_id"], ada);
        assert_eq!(d["organization_id"], org, "the person's organisation");
        assert_eq!(d["last_stage_change_by_id"], app.owner.user_id);
        assert!(d["last_stage_change_at"].is_string(), "{d}");
        assert_eq!(d["dropbox_email"], Value::Null);
        assert_eq!(d["added_at"], d["created_at"]);
        assert_eq!(d["last_activity_at"], d["updated_at"]);
        assert_eq!(d["tags"], json!([]));
        assert_eq!(d["custom_fields"], json!({}));
        for key in [
            "source_id",
            "loss_reason_id",
            "unqualified_reason_id",
            "estimated_close_date",
            "customized_win_likelihood",
        ] {
            assert_eq!(d[key], Value::Null, "{key}");
        }

        // Everything, as the client's own tests send it and more.
        let full = deal(
            &app,
            json!({
                "name": "Website Redesign", "contact_id": ada, "currency": "EUR", "value": "1599.99",
                "hot": true, "tags": ["important", "web"], "stage_id": stages["Quote"],
                "source_id": source, "loss_reason_id": reason, "estimated_close_date": "2031-05-04",
                "customized_win_likelihood": 40, "custom_fields": { "Seats": 12 },
                "dropbox_email": "ignored@example.test", "unknown": "ignored",
            }),
        )
        .await;
        let fid = id(&full);
        assert_eq!(full["value"], "1599.99");
        assert_eq!(full["currency"], "EUR");
        assert_eq!(full["hot"], true);
        assert_eq!(full["tags"], json!(["important", "web"]));
        assert_eq!(full["stage_id"], stages["Quote"]);
        assert_eq!(full["source_id"], source);
        assert_eq!(full["loss_reason_id"], reason);
        assert_eq!(full["estimated_close_date"], "2031-05-04");
        assert_eq!(full["customized_win_likelihood"], 40);
        assert_eq!(full["custom_fields"], json!({ "Seats": "12" }));
        assert_eq!(full["dropbox_email"], Value::Null);
        let read = get(&app, &format!("/deals/{fid}")).await;
        assert_eq!(read, full, "GET renders what POST answered");

        // Writing a deal back exactly as read changes nothing.
        let back = ok(&app, Method::PUT, &format!("/deals/{fid}"), Some(read.clone())).await;
        for (key, value) in read.as_object().expect("object") {
            if key != "updated_at" && key != "last_activity_at" {
                assert_eq!(&back[key], value, "{key}");
            }
        }

        // Values: numbers and strings, exactly; whole numbers get the currency's digits.
        for (value, currency, want) in [
            (json!(1000), "EUR", "1000.00"),
            (json!(12.5), "USD", "12.50"),
            (json!("0.30"), "USD", "0.30"),
            (json!("1000"), "JPY", "1000"),
            (json!("1.5"), "KWD", "1.500"),
        ] {
            let d = deal(&app, json!({ "name": "V", "contact_id": ada, "value": value, "currency": currency })).await;
            assert_eq!(d["value"], want, "{value} {currency}");
        }

        // A partial update; tags replace the set; another currency keeps the amount.
        let u = ok(
            &app,
            Method::PUT,
            &format!("/deals/{fid}"),
            Some(
                json!({ "name": "Website Refresh", "tags": ["vip"], "hot": false, "customized_win_likelihood": null }),
            ),
        )
        .await;
        assert_eq!(u["name"], "Website Refresh");
        assert_eq!(u["tags"], json!(["vip"]));
        assert_eq!(u["hot"], false);
        assert_eq!(u["customized_win_likelihood"], Value::Null);
        assert_eq!(u["value"], "1599.99", "untouched");
        assert_eq!(u["custom_fields"], json!({ "Seats": "12" }), "untouched");
        let u = ok(&app, Method::PUT, &format!("/deals/{fid}"), Some(json!({ "currency": "jpy" }))).await;
        assert_eq!((u["currency"].as_str(), u["value"].as_str()), (Some("JPY"), Some("1600")));
        let u = ok(&app, Method::PUT, &format!("/deals/{fid}"), Some(json!({ "currency": "USD", "value": 25 }))).await;
        assert_eq!(u["value"], "25.00");
        let u =
            ok(&app, Method::PUT, &format!("/deals/{fid}"), Some(json!({ "added_at": "2020-02-03T04:05:06Z" }))).await;
        assert_eq!(u["added_at"], "2020-02-03T04:05:06Z");

        // An organisation as the primary contact; the primary contact may change.
        let o = deal(&app, json!({ "name": "Org deal", "contact_id": org })).await;
        assert_eq!((o["contact_id"].as_i64(), o["organization_id"].as_i64()), (Some(org), Some(org)));
        let other = organization(&app, "Difference Engines").await;
        let charles = person(&app, "Babbage", Some(other)).await;
        let moved = ok(&app, Method::PUT, &format!("/deals/{fid}"), Some(json!({ "contact_id": charles }))).await;
        assert_eq!((moved["contact_id"].as_i64(), moved["organization_id"].as_i64()), (Some(charles), Some(other)));
        let moved = ok(&app, Method::PUT, &format!("/deals/{fid}"), Some(json!({ "contact_id": other }))).await;
        assert_eq!((moved["contact_id"].as_i64(), moved["organization_id"].as_i64()), (Some(other), Some(other)));

        // Another user of the account may own a deal.
        let (colleague, _) = app.crm.add_user(app.owner.account_id, "col@acme.test", "user").await.expect("user");
        let u = ok(&app, Method::PUT, &format!("/deals/{fid}"), Some(json!({ "owner_id": colleague.id }))).await;
        assert_eq!(u["owner_id"], colleague.id);

        // A deal unqualified reason.
        let unq = id(&ok(&app, Method::POST, "/deal_unqualified_reasons", Some(json!({ "name": "No fit" }))).await);
        let u = ok(&app, Method::PUT, &format!("/deals/{fid}"), Some(json!({ "unqualified_reason_id": unq }))).await;
        assert_eq!(u["unqualified_reason_id"], unq);

        // Bad input: one error per field.
        post_invalid(&app, "/deals", json!({}), &["name", "contact_id"]).await;
        post_invalid(&app, "/deals", json!({ "name": " ", "contact_id": null }), &["name", "contact_id"]).await;
        let rival = app.other_account().await;
        let rival_contact = {
            let r = sell_as(&app, &rival, Method::POST, "/contacts", envelope(json!({ "last_name": "Spy" }))).await;
            id(&r.body["data"])
        };
        let rival_stage = {
            let r = sell_as(&app, &rival, Method::GET, "/stages", None).await;
            id(&items(&r)[0])
        };
        let lead_source = id(&items(&list(&app, "/lead_sources").await)[0]);
        let call_outcome = id(&items(&list(&app, "/call_outcomes").await)[0]);
        for (body, field) in [
            (json!({ "contact_id": 999_999_999 }), "contact_id"),
            (json!({ "contact_id": rival_contact }), "contact_id"),
            (json!({ "contact_id": "abc" }), "contact_id"),
            (json!({ "stage_id": 999_999_999 }), "stage_id"),
            (json!({ "stage_id": rival_stage }), "stage_id"),
            (json!({ "stage_id": "first" }), "stage_id"),
            (json!({ "source_id": lead_source }), "source_id"),
            (json!({ "source_id": 999_999_999 }), "source_id"),
            (json!({ "loss_reason_id": 999_999_999 }), "loss_reason_id"),
            (json!({ "unqualified_reason_id": call_outcome }), "unqualified_reason_id"),
            (json!({ "owner_id": 999_999_999 }), "owner_id"),
            (json!({ "owner_id": rival.user_id }), "owner_id"),
            (json!({ "owner_id": null }), "owner_id"),
            (json!({ "value": "-1" }), "value"),
            (json!({ "value": -3.5 }), "value"),
            (json!({ "value": "lots" }), "value"),
            (json!({ "value": [1] }), "value"),
            (json!({ "currency": "EURO" }), "currency"),
            (json!({ "currency": "E1R" }), "currency"),
            (json!({ "currency": 978 }), "currency"),
            (json!({ "hot": "yes" }), "hot"),
            (json!({ "name": 5 }), "name"),
            (json!({ "name": "x".repeat(256) }), "name"),
            (json!({ "tags": "vip" }), "tags"),
            (json!({ "estimated_close_date": "tomorrow" }), "estimated_close_date"),
            (json!({ "customized_win_likelihood": 150 }), "customized_win_likelihood"),
            (json!({ "customized_win_likelihood": "likely" }), "customized_win_likelihood"),
            (json!({ "last_stage_change_at": "yesterday" }), "last_stage_change_at"),
            (json!({ "custom_fields": { "Seats": "many" } }), "custom_fields/Seats"),
            (json!({ "custom_fields": { "Nope": 1 } }), "custom_fields/Nope"),
        ] {
            let mut create = json!({ "name": "Bad", "contact_id": ada });
            let mut update = json!({});
            for (k, v) in body.as_object().expect("object") {
                create[k] = v.clone();
                update[k] = v.clone();
            }
            post_invalid(&app, "/deals", create, &[field]).await;
            let r = sell(&app, Method::PUT, &format!("/deals/{fid}"), envelope(update)).await;
            assert_invalid(&r, &[field]);
        }
        assert_sell_error(&sell(&app, Method::POST, "/deals", Some(json!({ "name": "x" }))).await, 400, "bad_request");
        let r = sell(&app, Method::PUT, &format!("/deals/{fid}"), envelope(json!({ "stage_id": null }))).await;
        assert_invalid(&r, &["stage_id"]);
        let after = get(&app, &format!("/deals/{fid}")).await;
        assert_eq!(after["value"], "25.00", "failed writes change nothing");

        // Other accounts and unknown ids: 404.
        let path = format!("/deals/{fid}");
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let r = sell_as(&app, &rival, method.clone(), &path, envelope(json!({ "name": "Stolen" }))).await;
            assert_sell_error(&r, 404, "not_found");
        }
        assert_sell_error(&sell(&app, Method::GET, "/deals/999999999", None).await, 404, "not_found");
        assert_sell_error(&sell(&app, Method::GET, "/deals/abc", None).await, 404, "not_found");
        let r = sell_as(&app, &rival, Method::POST, "/deals", envelope(json!({ "name": "Steal", "contact_id": ada })))
            .await;
        assert_invalid(&r, &["contact_id"]);

        // Delete: 204, then gone.
        let r = sell(&app, Method::DELETE, &path, None).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_sell_error(&sell(&app, Method::GET, &path, None).await, 404, "not_found");
        assert_sell_error(&sell(&app, Method::DELETE, &path, None).await, 404, "not_found");
        app.finish().await;
    }
}

#[tokio::test]
async fn stage_decides_status_across_dialects() {
    for app in apps().await {
        let ada = person(&app, "Lovelace", None).await;
        let stages = stage_ids(&app).await;
        let d = deal(&app, json!({ "name": "Engine", "contact_id": ada, "stage_id": stages["Qualified"] })).await;
        let did = id(&d);
        let op = op_deal(&app, did).await;
        assert_eq!((op["status"].as_str(), op["stage"].as_i64()), (Some("pending"), Some(25)));

        // Won over Sell: won over OnePage, closed today, at the won stage's probability.
        let won = ok(&app, Method::PUT, &format!("/deals/{did}"), Some(json!({ "stage_id": stages["Won"] }))).await;
        assert_eq!(won["stage_id"], stages["Won"]);
        assert_eq!(won["last_stage_change_by_id"], app.owner.user_id);
        let op = op_deal(&app, did).await;
        assert_eq!(op["status"], "won");
        assert_eq!(op["close_date"], today());
        assert_eq!(op["stage"], 100);

        // Lost, and unqualified (lost too), then open again.
        ok(&app, Method::PUT, &format!("/deals/{did}"), Some(json!({ "stage_id": stages["Lost"] }))).await;
        assert_eq!(op_deal(&app, did).await["status"], "lost");
        ok(&app, Method::PUT, &format!("/deals/{did}"), Some(json!({ "stage_id": stages["Unqualified"] }))).await;
        assert_eq!(op_deal(&app, did).await["status"], "lost");
        ok(&app, Method::PUT, &format!("/deals/{did}"), Some(json!({ "stage_id": stages["Quote"] }))).await;
        let op = op_deal(&app, did).await;
        assert_eq!((op["status"].as_str(), op["stage"].as_i64()), (Some("pending"), Some(50)));
        assert!(op.get("close_date").is_none(), "{op}");

        // A time given for the move is kept; one not given is now.
        let when = "2020-01-02T03:04:05Z";
        let moved = ok(
            &app,
            Method::PUT,
            &format!("/deals/{did}"),
            Some(json!({ "stage_id": stages["Closure"], "last_stage_change_at": when })),
        )
        .await;
        assert_eq!(moved["last_stage_change_at"], when);
        let moved = ok(&app, Method::PUT, &format!("/deals/{did}"), Some(json!({ "stage_id": stages["Quote"] }))).await;
        assert_ne!(moved["last_stage_change_at"], when);
        let stayed = ok(&app, Method::PUT, &format!("/deals/{did}"), Some(json!({ "name": "Engine 2" }))).await;
        assert_eq!(stayed["last_stage_change_at"], moved["last_stage_change_at"], "no move, no change");
        let set = ok(&app, Method::PUT, &format!("/deals/{did}"), Some(json!({ "last_stage_change_at": when }))).await;
        assert_eq!(set["last_stage_change_at"], when, "writable on its own");

        // OnePage status changes move the Sell stage.
        op_put_deal(&app, did, json!({ "status": "won" })).await;
        assert_eq!(get(&app, &format!("/deals/{did}")).await["stage_id"], stages["Won"]);
        op_put_deal(&app, did, json!({ "status": "lost" })).await;
        let sd = get(&app, &format!("/deals/{did}")).await;
        assert_eq!(sd["stage_id"], stages["Lost"]);
        assert_eq!(sd["last_stage_change_by_id"], app.owner.user_id);
        // Pending again: back to the open stage at the deal's OnePage stage (50, Quote).
        op_put_deal(&app, did, json!({ "status": "pending" })).await;
        assert_eq!(get(&app, &format!("/deals/{did}")).await["stage_id"], stages["Quote"]);
        // OnePage's stage percentage names an open stage.
        op_put_deal(&app, did, json!({ "stage": 75 })).await;
        assert_eq!(get(&app, &format!("/deals/{did}")).await["stage_id"], stages["Closure"]);
        // Won over Sell (probability 100), pending over OnePage: the first open stage.
        ok(&app, Method::PUT, &format!("/deals/{did}"), Some(json!({ "stage_id": stages["Won"] }))).await;
        op_put_deal(&app, did, json!({ "status": "pending" })).await;
        assert_eq!(get(&app, &format!("/deals/{did}")).await["stage_id"], stages["Incoming"]);
        // A lost deal in the unqualified stage stays there while OnePage keeps it lost.
        ok(&app, Method::PUT, &format!("/deals/{did}"), Some(json!({ "stage_id": stages["Unqualified"] }))).await;
        op_put_deal(&app, did, json!({ "status": "lost", "text": "Not a fit" })).await;
        assert_eq!(get(&app, &format!("/deals/{did}")).await["stage_id"], stages["Unqualified"]);

        // Deals made over OnePage have a stage too.
        let c = hex_id(ada);
        let r = app.op(Method::POST, "/deals", Some(json!({ "contact_id": c, "name": "Op", "stage": 25 }))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let op_id = parse_id(r.body["data"]["deal"]["id"].as_str().expect("id")).expect("hex id");
        let sd = get(&app, &format!("/deals/{op_id}")).await;
        assert_eq!(sd["stage_id"], stages["Qualified"]);
        let r =
            app.op(Method::POST, "/deals", Some(json!({ "contact_id": c, "name": "Op won", "status": "won" }))).await;
        let won_id = parse_id(r.body["data"]["deal"]["id"].as_str().expect("id")).expect("hex id");
        assert_eq!(get(&app, &format!("/deals/{won_id}")).await["stage_id"], stages["Won"]);

        // A stage of another pipeline: the deal's pipeline follows.
        let (renewals, renewal_stages) = second_pipeline(&app).await;
        ok(&app, Method::PUT, &format!("/deals/{did}"), Some(json!({ "stage_id": renewal_stages[1].id }))).await;
        let op = op_deal(&app, did).await;
        assert_eq!(op["pipeline_id"], hex_id(renewals.id));
        assert_eq!((op["status"].as_str(), op["stage"].as_i64()), (Some("pending"), Some(70)));
        op_put_deal(&app, did, json!({ "status": "won" })).await;
        assert_eq!(get(&app, &format!("/deals/{did}")).await["stage_id"], renewal_stages[2].id);

        // A stage of a deleted pipeline is no stage.
        app.crm.delete::<Pipeline>(owner(&app), renewals.id).await.expect("delete pipeline");
        let r =
            sell(&app, Method::PUT, &format!("/deals/{op_id}"), envelope(json!({ "stage_id": renewal_stages[0].id })))
                .await;
        assert_invalid(&r, &["stage_id"]);
        app.finish().await;
    }
}

#[tokio::test]
async fn deal_filters_sorts_and_paging() {
    for app in apps().await {
        let org = organization(&app, "Engines").await;
        let ada = person(&app, "Lovelace", Some(org)).await;
        let bob = person(&app, "Loner", None).await;
        let stages = stage_ids(&app).await;
        let r = app.op(Method::POST, "/deal_fields", Some(json!({"name": "Seats", "type": "number"}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let source = id(&ok(&app, Method::POST, "/deal_sources", Some(json!({ "name": "Fair" }))).await);
        let (colleague, key) = app.crm.add_user(app.owner.account_id, "col@acme.test", "user").await.expect("user");
        let col = NewAccount { account_id: app.owner.account_id, user_id: colleague.id, key };

        let a = id(&deal(
            &app,
            json!({ "name": "Bravo", "contact_id": ada, "value": "300", "hot": true, "source_id": source,
                "estimated_close_date": "2030-01-01", "custom_fields": { "Seats": 5 } }),
        )
        .await);
        let b = id(&deal(
            &app,
            json!({ "name": "alpha", "contact_id": bob, "value": "1000.50", "stage_id": stages["Quote"],
                "estimated_close_date": "2029-06-30", "custom_fields": { "Seats": 20 }, "owner_id": colleague.id }),
        )
        .await);
        let c = {
            let r = sell_as(
                &app,
                &col,
                Method::POST,
                "/deals",
                envelope(json!({ "name": "Charlie", "contact_id": org, "value": 20 })),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            id(&r.body["data"])
        };
        // A later stage move, to sort on.
        ok(&app, Method::PUT, &format!("/deals/{a}"), Some(json!({ "stage_id": stages["Closure"] }))).await;

        let by = |q: &str| format!("/deals?{q}");
        for (q, want) in [
            ("", vec![a, b, c]),
            (&format!("ids={c},{a}") as &str, vec![a, c]),
            (&format!("contact_id={ada}"), vec![a]),
            (&format!("contact_id={org}"), vec![c]),
            (&format!("organization_id={org}"), vec![a, c]),
            (&format!("creator_id={}", colleague.id), vec![c]),
            (&format!("creator_id={}", app.owner.user_id), vec![a, b]),
            (&format!("owner_id={}", colleague.id), vec![b, c]),
            ("hot=true", vec![a]),
            ("hot=false", vec![b, c]),
            (&format!("source_id={source}"), vec![a]),
            (&format!("stage_id={}", stages["Quote"]), vec![b]),
            (&format!("stage_id={}", stages["Incoming"]), vec![c]),
            ("estimated_close_date=2029-06-30", vec![b]),
            ("custom_fields[Seats]=20", vec![b]),
            ("sort_by=id:desc", vec![c, b, a]),
            ("sort_by=name", vec![b, a, c]),
            ("sort_by=name:desc", vec![c, a, b]),
            ("sort_by=value", vec![c, a, b]),
            ("sort_by=value:desc", vec![b, a, c]),
            ("sort_by=created_at", vec![a, b, c]),
            ("sort_by=updated_at:desc", vec![a, c, b]),
            ("sort_by=estimated_close_date", vec![b, a, c]),
            ("sort_by=last_stage_change_at:desc", vec![a, c, b]),
            ("sort_by=custom_fields:Seats:desc", vec![c, b, a]),
            ("sort_by=custom_fields:Seats", vec![a, b, c]),
        ] {
            assert_eq!(ids(&list(&app, &by(q)).await), want, "{}: {q}", app.label);
        }
        let page = list(&app, "/deals?per_page=2&page=2").await;
        assert_eq!(ids(&page), vec![c]);
        assert_eq!(page.body["meta"]["links"]["prev_page"], "/v2/deals?page=1&per_page=2");
        let page = list(&app, "/deals?per_page=2").await;
        assert_eq!(page.body["meta"]["links"]["next_page"], "/v2/deals?page=2&per_page=2");
        assert_eq!(page.body["items"][0]["meta"]["type"], "deal");
        for q in [
            "per_page=101",
            "page=0",
            "sort_by=stage",
            "sort_by=custom_fields:Nope",
            "hot=maybe",
            "estimated_close_date=soon",
            "contact_id=abc",
            "custom_fields[Nope]=1",
            "custom_fields[Seats]=many",
            "ids=1,x",
        ] {
            assert_sell_error(&sell(&app, Method::GET, &by(q), None).await, 400, "bad_request");
        }
        let rival = app.other_account().await;
        let r = sell_as(&app, &rival, Method::GET, "/deals", None).await;
        assert_eq!(ids(&r), Vec::<i64>::new(), "another account's deals are not listed");
        app.finish().await;
    }
}

#[tokio::test]
async fn associated_contacts() {
    for app in apps().await {
        let org = organization(&app, "Engines").await;
        let ada = person(&app, "Lovelace", Some(org)).await;
        let bob = person(&app, "Babbage", None).await;
        let did = id(&deal(&app, json!({ "name": "Engine", "contact_id": ada })).await);
        let path = format!("/deals/{did}/associated_contacts");

        let r = sell(&app, Method::POST, &path, envelope(json!({ "contact_id": bob }))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["meta"]["type"], "associated_contact");
        let a = &r.body["data"];
        assert_eq!((a["contact_id"].as_i64(), a["role"].as_str()), (Some(bob), Some("involved")));
        assert!(a["created_at"].is_string() && a["updated_at"].is_string(), "{a}");
        let o = ok(&app, Method::POST, &path, Some(json!({ "contact_id": org, "role": "involved" }))).await;
        assert_eq!(o["contact_id"], org, "an organisation may be involved");

        let r = list(&app, &path).await;
        assert_eq!(items(&r).iter().map(|i| i["contact_id"].as_i64()).collect::<Vec<_>>(), vec![Some(bob), Some(org)]);
        assert_eq!(r.body["items"][0]["meta"]["type"], "associated_contact");
        let r = list(&app, &format!("{path}?per_page=1&page=2")).await;
        assert_eq!(items(&r)[0]["contact_id"], org);
        assert_sell_error(&sell(&app, Method::GET, &format!("{path}?per_page=101"), None).await, 400, "bad_request");

        // Bad input.
        let rival = app.other_account().await;
        let rival_contact = {
            let r = sell_as(&app, &rival, Method::POST, "/contacts", envelope(json!({ "last_name": "Spy" }))).await;
            id(&r.body["data"])
        };
        post_invalid(&app, &path, json!({ "contact_id": bob }), &["contact_id"]).await;
        post_invalid(&app, &path, json!({}), &["contact_id"]).await;
        post_invalid(&app, &path, json!({ "contact_id": "x" }), &["contact_id"]).await;
        post_invalid(&app, &path, json!({ "contact_id": 999_999_999 }), &["contact_id"]).await;
        post_invalid(&app, &path, json!({ "contact_id": rival_contact }), &["contact_id"]).await;
        post_invalid(&app, &path, json!({ "contact_id": ada, "role": "boss" }), &["role"]).await;
        post_invalid(&app, &path, json!({ "contact_id": ada, "role": 3 }), &["role"]).await;

        // Unknown deals and other accounts' deals: 404.
        let unknown = "/deals/999999999/associated_contacts";
        for method in [Method::GET, Method::POST] {
            let r = sell(&app, method, unknown, envelope(json!({ "contact_id": bob }))).await;
            assert_sell_error(&r, 404, "not_found");
        }
        let r = sell(&app, Method::DELETE, &format!("{unknown}/{bob}"), None).await;
        assert_sell_error(&r, 404, "not_found");
        for method in [Method::GET, Method::POST] {
            let r = sell_as(&app, &rival, method, &path, envelope(json!({ "contact_id": rival_contact }))).await;
            assert_sell_error(&r, 404, "not_found");
        }
        let r = sell_as(&app, &rival, Method::DELETE, &format!("{path}/{bob}"), None).await;
        assert_sell_error(&r, 404, "not_found");

        // Removing: 204, then 404; one never associated is 404.
        assert_eq!(sell(&app, Method::DELETE, &format!("{path}/{bob}"), None).await.status, 204);
        assert_sell_error(&sell(&app, Method::DELETE, &format!("{path}/{bob}"), None).await, 404, "not_found");
        assert_sell_error(&sell(&app, Method::DELETE, &format!("{path}/{ada}"), None).await, 404, "not_found");
        assert_eq!(items(&list(&app, &path).await).len(), 1);
        // Again after removal.
        ok(&app, Method::POST, &path, Some(json!({ "contact_id": bob }))).await;

        // Deleting the deal removes its associations.
        let links = || app.crm.all::<DealContact>(owner(&app), Some(kith_store::Filter::eq("deal_id", did)));
        assert_eq!(links().await.expect("links").len(), 2);
        assert_eq!(sell(&app, Method::DELETE, &format!("/deals/{did}"), None).await.status, 204);
        assert_eq!(links().await.expect("links").len(), 0);
        assert_sell_error(&sell(&app, Method::GET, &path, None).await, 404, "not_found");
        app.finish().await;
    }
}

#[tokio::test]
async fn pipelines_and_stages() {
    for app in apps().await {
        let r = list(&app, "/pipelines").await;
        let default = items(&r)[0].clone();
        assert_eq!(r.body["items"][0]["meta"]["type"], "pipeline");
        assert_eq!(default["name"], "Sales pipeline");
        assert_eq!(default["disabled"], false);
        assert!(default["created_at"].is_string() && default["updated_at"].is_string());
        let pid = id(&default);
        let (renewals, _) = second_pipeline(&app).await;
        let r = sell(&app, Method::GET, &format!("/pipelines/{pid}"), None).await;
        assert_eq!((r.status.as_u16(), r.body["meta"]["type"].as_str()), (200, Some("pipeline")));
        assert_eq!(r.body["data"], default);
        for (q, want) in [
            ("", vec![pid, renewals.id]),
            (&format!("ids={}", renewals.id) as &str, vec![renewals.id]),
            ("name=Renewals", vec![renewals.id]),
            ("sort_by=name", vec![renewals.id, pid]),
            ("sort_by=name:desc", vec![pid, renewals.id]),
            ("sort_by=id:desc", vec![renewals.id, pid]),
            ("sort_by=created_at", vec![pid, renewals.id]),
            ("sort_by=updated_at:desc", vec![renewals.id, pid]),
            ("per_page=1&page=2", vec![renewals.id]),
        ] {
            assert_eq!(ids(&list(&app, &format!("/pipelines?{q}")).await), want, "{q}");
        }

        // The default pipeline's stages, in Sell's categories.
        let r = list(&app, &format!("/stages?pipeline_id={pid}&sort_by=position")).await;
        assert_eq!(r.body["items"][0]["meta"]["type"], "stage");
        let got: Vec<(String, String, bool, i64)> = items(&r)
            .iter()
            .map(|s| {
                assert_eq!(s["pipeline_id"], pid);
                (
                    s["name"].as_str().unwrap_or_default().to_owned(),
                    s["category"].as_str().unwrap_or_default().to_owned(),
                    s["active"].as_bool().unwrap_or_default(),
                    s["likelihood"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        let want: Vec<(String, String, bool, i64)> = [
            ("Incoming", "incoming", true, 10),
            ("Qualified", "in_progress", true, 25),
            ("Quote", "in_progress", true, 50),
            ("Closure", "in_progress", true, 75),
            ("Won", "won", false, 100),
            ("Lost", "lost", false, 0),
            ("Unqualified", "unqualified", false, 0),
        ]
        .iter()
        .map(|(n, c, a, l)| ((*n).to_owned(), (*c).to_owned(), *a, *l))
        .collect();
        assert_eq!(got, want);
        let positions: Vec<i64> = items(&r).iter().map(|s| s["position"].as_i64().unwrap_or(-1)).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        let stage_ids: Vec<i64> = ids(&r);
        let all = ids(&list(&app, "/stages?per_page=100").await);
        assert_eq!(all.len(), 10, "both pipelines' stages");
        assert!(all.windows(2).all(|w| w[0] < w[1]), "by id");
        for (q, want) in [
            (format!("pipeline_id={}&sort_by=position:desc", renewals.id), 3),
            (format!("pipeline_id={pid}&active=true"), 4),
            (format!("pipeline_id={pid}&active=false"), 3),
            ("name=Won".to_owned(), 1),
            ("name=Renewed".to_owned(), 1),
            (format!("ids={},{}", stage_ids[0], stage_ids[1]), 2),
            ("per_page=4&page=3".to_owned(), 2),
        ] {
            assert_eq!(items(&list(&app, &format!("/stages?{q}")).await).len(), want, "{q}");
        }
        let by_name = ids(&list(&app, &format!("/stages?pipeline_id={pid}&sort_by=name")).await);
        assert_eq!(by_name[0], stage_ids[3], "Closure sorts first");
        let renewal = items(&list(&app, &format!("/stages?pipeline_id={}&sort_by=position", renewals.id)).await);
        assert_eq!(renewal[0]["category"], "incoming");
        assert_eq!(renewal[1]["category"], "in_progress");
        assert_eq!(renewal[2]["category"], "won");
        let s = get(&app, &format!("/stages/{}", stage_ids[4])).await;
        assert_eq!((s["name"].as_str(), s["category"].as_str()), (Some("Won"), Some("won")));

        // Bad input and other accounts.
        for q in [
            "/pipelines?sort_by=position",
            "/stages?sort_by=likelihood",
            "/stages?active=maybe",
            "/stages?pipeline_id=x",
        ] {
            assert_sell_error(&sell(&app, Method::GET, q, None).await, 400, "bad_request");
        }
        let rival = app.other_account().await;
        for p in [format!("/pipelines/{pid}"), format!("/stages/{}", stage_ids[0]), "/stages/999999999".to_owned()] {
            assert_sell_error(&sell_as(&app, &rival, Method::GET, &p, None).await, 404, "not_found");
        }
        assert_eq!(
            ids(&sell_as(&app, &rival, Method::GET, &format!("/stages?pipeline_id={pid}"), None).await),
            Vec::<i64>::new()
        );
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let r = sell(&app, method, &format!("/pipelines/{pid}"), envelope(json!({ "name": "x" }))).await;
            assert_eq!(r.status, 405, "read-only");
        }

        // OnePage still shows the open stages and the won column only.
        let r = app.op(Method::GET, &format!("/pipelines/{}", hex_id(pid)), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let p = &r.body["data"]["pipeline"];
        let labels: Vec<&str> =
            p["stages"].as_array().expect("stages").iter().filter_map(|s| s["label"].as_str()).collect();
        assert_eq!(labels, vec!["Incoming", "Qualified", "Quote", "Closure"]);
        assert_eq!(p["won_column_name"], "Won");

        // A deleted pipeline's stages are not served.
        app.crm.delete::<Pipeline>(owner(&app), renewals.id).await.expect("delete");
        assert_eq!(ids(&list(&app, "/stages?per_page=100").await).len(), 7);
        assert_sell_error(
            &sell(&app, Method::GET, &format!("/pipelines/{}", renewals.id), None).await,
            404,
            "not_found",
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn lead_and_deal_sources() {
    for app in apps().await {
        // Lead sources: OnePage's are there.
        let r = list(&app, "/lead_sources?per_page=100").await;
        assert_eq!(r.body["items"][0]["meta"]["type"], "lead_source");
        let names: Vec<String> = items(&r).iter().map(|s| s["name"].as_str().unwrap_or_default().to_owned()).collect();
        assert!(names.contains(&"Referral".to_owned()), "{names:?}");
        assert!(items(&r).iter().all(|s| s["resource_type"] == "lead"));
        assert_eq!(list(&app, "/deal_sources").await.body["meta"]["count"], 0);

        let lead = ok(&app, Method::POST, "/lead_sources", Some(json!({ "name": "Trade show" }))).await;
        assert_eq!(lead["resource_type"], "lead");
        assert_eq!(lead["creator_id"], app.owner.user_id);
        assert!(lead["created_at"].is_string() && lead["updated_at"].is_string());
        let lid = id(&lead);
        let r = sell(
            &app,
            Method::POST,
            "/deal_sources",
            envelope(json!({ "name": "Trade Show", "resource_type": "deal" })),
        )
        .await;
        assert_eq!((r.status.as_u16(), r.body["meta"]["type"].as_str()), (200, Some("deal_source")));
        let deal_source = r.body["data"].clone();
        assert_eq!(deal_source["resource_type"], "deal");
        let did = id(&deal_source);
        // The same name as a OnePage lead source is fine for a deal source.
        let referral = id(&ok(&app, Method::POST, "/deal_sources", Some(json!({ "name": "Referral" }))).await);
        // The older /sources are deal sources.
        let r = sell(&app, Method::POST, "/sources", envelope(json!({ "name": "Word of mouth" }))).await;
        assert_eq!((r.status.as_u16(), r.body["meta"]["type"].as_str()), (200, Some("source")));
        let old = id(&r.body["data"]);
        assert_eq!(ids(&list(&app, "/sources").await), vec![did, referral, old]);
        assert_eq!(ids(&list(&app, "/deal_sources").await), vec![did, referral, old]);
        assert_eq!(list(&app, "/sources").await.body["items"][0]["meta"]["type"], "source");
        // A deal source is no contact's source over OnePage, by its key or otherwise.
        let key = kith_domain::sources::LEAD_SOURCES;
        let deal_keys: Vec<String> = app
            .crm
            .all::<kith_domain::model::LeadSource>(
                kith_domain::Actor { account_id: app.owner.account_id, user_id: app.owner.user_id },
                None,
            )
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s.kind() != key)
            .map(|s| s.key)
            .collect();
        assert_eq!(deal_keys.len(), 3, "{deal_keys:?}");
        let r =
            app.op(Method::POST, "/contacts", Some(json!({"last_name": "A", "lead_source_id": deal_keys[0]}))).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body["errors"].get("lead_source_id").is_some(), "{}", r.body);
        let r = app.op(Method::GET, "/lead_sources", None).await;
        assert!(!r.body.to_string().contains(&deal_keys[0]), "{}", r.body);

        // Names are unique per kind, ignoring case; the kind must be the path's.
        for (path, body, field) in [
            ("/lead_sources", json!({ "name": "trade SHOW" }), "name"),
            ("/lead_sources", json!({ "name": "referral" }), "name"),
            ("/deal_sources", json!({ "name": "TRADE SHOW" }), "name"),
            ("/sources", json!({ "name": "Trade show" }), "name"),
            ("/lead_sources", json!({}), "name"),
            ("/lead_sources", json!({ "name": "" }), "name"),
            ("/lead_sources", json!({ "name": 7 }), "name"),
            ("/deal_sources", json!({ "name": "x".repeat(256) }), "name"),
            ("/lead_sources", json!({ "name": "Fresh", "resource_type": "deal" }), "resource_type"),
            ("/deal_sources", json!({ "name": "Fresh", "resource_type": "lead" }), "resource_type"),
            ("/sources", json!({ "name": "Fresh", "resource_type": "lead" }), "resource_type"),
        ] {
            post_invalid(&app, path, body, &[field]).await;
        }
        let r = sell(&app, Method::POST, "/lead_sources", envelope(json!({ "name": "referral" }))).await;
        assert_eq!(r.body["errors"][0]["error"]["details"], "has already been taken");

        // Read, rename, write back as read.
        assert_eq!(get(&app, &format!("/lead_sources/{lid}")).await, lead);
        let renamed = ok(&app, Method::PUT, &format!("/deal_sources/{did}"), Some(json!({ "name": "Expo" }))).await;
        assert_eq!(renamed["name"], "Expo");
        let back = ok(&app, Method::PUT, &format!("/deal_sources/{did}"), Some(renamed.clone())).await;
        assert_eq!(back["name"], "Expo");
        ok(&app, Method::PUT, &format!("/lead_sources/{lid}"), Some(lead.clone())).await;
        let r = sell(&app, Method::PUT, &format!("/deal_sources/{did}"), envelope(json!({ "name": "referral" }))).await;
        assert_invalid(&r, &["name"]);
        let r = sell(&app, Method::PUT, &format!("/lead_sources/{lid}"), envelope(json!({ "resource_type": "deal" })))
            .await;
        assert_invalid(&r, &["resource_type"]);
        assert_eq!(get(&app, &format!("/sources/{did}")).await["name"], "Expo");

        // Filters and sorts.
        for (q, want) in [
            (format!("ids={old},{did}"), vec![did, old]),
            ("name=Referral".to_owned(), vec![referral]),
            ("sort_by=name".to_owned(), vec![did, referral, old]),
            ("sort_by=name:desc".to_owned(), vec![old, referral, did]),
            ("sort_by=id:desc".to_owned(), vec![old, referral, did]),
            ("sort_by=created_at".to_owned(), vec![did, referral, old]),
            ("sort_by=updated_at:desc".to_owned(), vec![did, old, referral]),
            ("per_page=1&page=3".to_owned(), vec![old]),
        ] {
            assert_eq!(ids(&list(&app, &format!("/deal_sources?{q}")).await), want, "{q}");
        }
        assert_eq!(ids(&list(&app, "/lead_sources?name=Trade%20show").await), vec![lid]);
        for q in ["/deal_sources?sort_by=key", "/lead_sources?per_page=101", "/sources?ids=a"] {
            assert_sell_error(&sell(&app, Method::GET, q, None).await, 400, "bad_request");
        }

        // A source of the other kind, or of another account, is not found.
        for p in [format!("/deal_sources/{lid}"), format!("/sources/{lid}"), format!("/lead_sources/{did}")] {
            assert_sell_error(&sell(&app, Method::GET, &p, None).await, 404, "not_found");
            assert_sell_error(&sell(&app, Method::DELETE, &p, None).await, 404, "not_found");
        }
        let rival = app.other_account().await;
        for p in [format!("/deal_sources/{did}"), format!("/lead_sources/{lid}")] {
            for method in [Method::GET, Method::PUT, Method::DELETE] {
                let r = sell_as(&app, &rival, method, &p, envelope(json!({ "name": "Mine" }))).await;
                assert_sell_error(&r, 404, "not_found");
            }
        }
        assert_eq!(ids(&sell_as(&app, &rival, Method::GET, "/deal_sources", None).await), Vec::<i64>::new());

        // OnePage sees the Sell lead source (keyed by its name) and not the deal sources.
        let r = app.op(Method::GET, "/lead_sources", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let op: Vec<(String, String)> = r.body["data"]
            .as_array()
            .expect("array")
            .iter()
            .map(|s| {
                (s["id"].as_str().unwrap_or_default().to_owned(), s["text"].as_str().unwrap_or_default().to_owned())
            })
            .collect();
        assert!(op.contains(&("trade_show".to_owned(), "Trade show".to_owned())), "{op:?}");
        assert!(!op.iter().any(|(_, t)| t == "Expo" || t == "Word of mouth"), "{op:?}");
        assert_eq!(op.iter().filter(|(_, t)| t == "Referral").count(), 1, "{op:?}");
        let r = app.op(Method::GET, "/lead_sources/deal_referral", None).await;
        assert_eq!(r.status, 404, "a deal source is no OnePage lead source: {}", r.body);
        let r = app.op(Method::POST, "/lead_sources", Some(json!({ "text": "Expo" }))).await;
        assert_eq!(r.status, 201, "a deal source's name is free for a lead source: {}", r.body);

        // Delete: 204, then gone; a deleted lead source is cleared from contacts (as OnePage does).
        let c = app
            .op(Method::POST, "/contacts", Some(json!({ "last_name": "Visitor", "lead_source_id": "trade_show" })))
            .await;
        assert_eq!(c.status, 201, "{}", c.body);
        let cid = c.body["data"]["contact"]["id"].as_str().expect("id").to_owned();
        for p in [format!("/lead_sources/{lid}"), format!("/deal_sources/{did}"), format!("/sources/{old}")] {
            assert_eq!(sell(&app, Method::DELETE, &p, None).await.status, 204, "{p}");
            assert_sell_error(&sell(&app, Method::GET, &p, None).await, 404, "not_found");
        }
        let r = app.op(Method::GET, &format!("/contacts/{cid}"), None).await;
        assert_eq!(r.body["data"]["contact"]["lead_source_id"], Value::Null, "{}", r.body);
        // A deleted source's name is free again, and its key is not reused.
        let again = ok(&app, Method::POST, "/lead_sources", Some(json!({ "name": "Trade show" }))).await;
        assert_ne!(id(&again), lid);
        let r = app.op(Method::GET, "/lead_sources/trade_show_2", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn onepage_lists_leave_out_organization_deals() {
    for app in apps().await {
        let org = organization(&app, "Engines").await;
        let ada = person(&app, "Lovelace", Some(org)).await;
        let with_person = id(&deal(&app, json!({ "name": "Person deal", "contact_id": ada })).await);
        let with_org = id(&deal(&app, json!({ "name": "Org deal", "contact_id": org })).await);

        let listed = |r: &Reply| -> Vec<String> {
            r.body["data"]["deals"]
                .as_array()
                .expect("deals")
                .iter()
                .filter_map(|d| d["deal"]["id"].as_str().map(str::to_owned))
                .collect()
        };
        for path in ["/deals".to_owned(), format!("/companies/{}/deals", hex_id(org)), "/deals?search=deal".to_owned()]
        {
            let r = app.op(Method::GET, &path, None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            assert_eq!(listed(&r), vec![hex_id(with_person)], "{path}");
            assert_eq!(r.body["data"]["total_count"], 1, "{path}");
        }
        // By id it still answers, and a OnePage update keeps the organisation as primary contact.
        let d = op_deal(&app, with_org).await;
        assert_eq!(d["name"], "Org deal");
        let d = op_put_deal(&app, with_org, json!({ "status": "won" })).await;
        assert_eq!(d["status"], "won");
        let s = get(&app, &format!("/deals/{with_org}")).await;
        assert_eq!((s["contact_id"].as_i64(), s["organization_id"].as_i64()), (Some(org), Some(org)));
        let r = app
            .op(
                Method::PUT,
                &format!("/deals/{}?partial=true", hex_id(with_org)),
                Some(json!({ "contact_id": hex_id(ada) })),
            )
            .await;
        assert_eq!(r.status, 400, "the primary contact cannot change over OnePage: {}", r.body);
        app.finish().await;
    }
}
