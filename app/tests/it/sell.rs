//! The Zendesk Sell dialect at `/v2` on both backends: its envelope, errors, auth and
//! `User-Agent` rule, the account and users, contacts as persons and organisations, and one
//! contact seen through both dialects.

use crate::common;

use common::sell::{UA, assert_sell_error, sell, sell_as};
use common::{Reply, apps};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn envelope_auth_and_user_agent() {
    for app in apps().await {
        // No User-Agent: 400 invalid_user_agent, before credentials are even looked at.
        let req = app.client.get(format!("{}/v2/users/self", app.base)).bearer_auth(&app.owner.key.secret);
        assert_sell_error(&app.send(req, None).await, 400, "invalid_user_agent");
        let req = app.client.get(format!("{}/v2/users/self", app.base)).header(reqwest::header::USER_AGENT, UA);
        assert_sell_error(&app.send(req, None).await, 401, "unauthorized");
        let req = app
            .client
            .get(format!("{}/v2/users/self", app.base))
            .header(reqwest::header::USER_AGENT, UA)
            .bearer_auth("x".repeat(64));
        assert_sell_error(&app.send(req, None).await, 401, "unauthorized");

        let r = sell(&app, Method::GET, "/accounts/self", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["meta"]["type"], "account");
        assert_eq!(r.body["data"]["id"], app.owner.account_id);
        assert_eq!(r.body["data"]["name"], "Acme");
        let r = sell(&app, Method::GET, "/users/self", None).await;
        assert_eq!(r.body["meta"]["type"], "user");
        assert_eq!(r.body["data"]["id"], app.owner.user_id);
        assert_eq!(r.body["data"]["email"], "owner@acme.test");
        assert_eq!(r.body["data"]["role"], "admin");
        let r = sell(&app, Method::GET, "/users", None).await;
        assert_eq!(r.body["meta"]["type"], "collection");
        assert_eq!(r.body["meta"]["count"], 1);
        assert_eq!(r.body["items"][0]["meta"]["type"], "user");
        let r = sell(&app, Method::GET, &format!("/users/{}", app.owner.user_id), None).await;
        assert_eq!(r.status, 200);
        // Another account's user is not found.
        let rival = app.other_account().await;
        let r = sell_as(&app, &rival, Method::GET, &format!("/users/{}", app.owner.user_id), None).await;
        assert_sell_error(&r, 404, "not_found");
        let missing = sell(&app, Method::GET, "/no_such_resource", None).await;
        assert_sell_error(&missing, 404, "not_found");
        // An error's logref is the request's id, as the response header gives it.
        let request_id = missing.headers.get("request-id").and_then(|v| v.to_str().ok()).unwrap_or("none");
        assert_eq!(missing.body["meta"]["logref"], request_id);
        app.finish().await;
    }
}

#[tokio::test]
async fn persons_and_organizations() {
    for app in apps().await {
        let org = sell(
            &app,
            Method::POST,
            "/contacts",
            Some(json!({ "data": {
                "is_organization": true, "name": "Analytical Engines", "industry": "Computing",
                "website": "https://engines.example", "tags": ["partner", "vip"],
                "address": { "line1": "1 Merrion Square", "city": "Dublin", "country": "Ireland" },
            }})),
        )
        .await;
        assert_eq!(org.status, 200, "{}", org.body);
        assert_eq!(org.body["meta"]["type"], "contact");
        let o = &org.body["data"];
        assert_eq!(o["is_organization"], true);
        assert_eq!(o["address"]["country"], "Ireland");
        assert_eq!(o["address"]["city"], "Dublin");
        let org_id = o["id"].as_i64().expect("integer id");

        let person = sell(
            &app,
            Method::POST,
            "/contacts",
            Some(json!({ "data": {
                "first_name": "Ada", "last_name": "Lovelace", "contact_id": org_id, "title": "Analyst",
                "email": "ada@engines.example", "phone": "+44 20 1234", "mobile": "+44 7700 1234",
                "twitter": "ada", "tags": ["vip"],
            }, "meta": { "type": "contact" } })),
        )
        .await;
        assert_eq!(person.status, 200, "{}", person.body);
        let p = &person.body["data"];
        assert_eq!(p["is_organization"], false);
        assert_eq!(p["contact_id"], org_id);
        assert_eq!(p["name"], "Ada Lovelace");
        assert_eq!(p["mobile"], "+44 7700 1234");
        assert_eq!(p["custom_fields"], json!({}));
        assert!(p["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
        let person_id = p["id"].as_i64().expect("integer id");

        // PUT changes only what it is sent; tags are replaced as a whole.
        let r = sell(
            &app,
            Method::PUT,
            &format!("/contacts/{person_id}"),
            Some(json!({ "data": { "title": "Countess", "tags": ["lead"] } })),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["title"], "Countess");
        assert_eq!(r.body["data"]["email"], "ada@engines.example");
        assert_eq!(r.body["data"]["tags"], json!(["lead"]));
        let r = sell(&app, Method::GET, &format!("/contacts/{person_id}"), None).await;
        assert_eq!(r.body["data"]["title"], "Countess");

        // Lists: both kinds by id, one kind, paging with links, ids, and sorting.
        for i in 0..3 {
            let body = json!({ "data": { "last_name": format!("Extra{i}") } });
            assert_eq!(sell(&app, Method::POST, "/contacts", Some(body)).await.status, 200);
        }
        let r = sell(&app, Method::GET, "/contacts", None).await;
        assert_eq!(r.body["meta"]["count"], 5, "{}", r.body);
        assert_eq!(r.body["items"][0]["data"]["id"], org_id);
        let r = sell(&app, Method::GET, "/contacts?is_organization=true", None).await;
        assert_eq!(r.body["meta"]["count"], 1);
        let r = sell(&app, Method::GET, "/contacts?per_page=2&page=2", None).await;
        assert_eq!(r.body["meta"]["count"], 2);
        assert!(r.body["meta"]["links"]["next_page"].is_string() && r.body["meta"]["links"]["prev_page"].is_string());
        let r = sell(&app, Method::GET, "/contacts?per_page=2&page=3", None).await;
        assert_eq!(r.body["meta"]["count"], 1);
        assert!(r.body["meta"]["links"].get("next_page").is_none());
        let r = sell(&app, Method::GET, &format!("/contacts?ids={person_id},{org_id}"), None).await;
        assert_eq!(r.body["meta"]["count"], 2);
        let r = sell(&app, Method::GET, &format!("/contacts?contact_id={org_id}"), None).await;
        assert_eq!(r.body["items"][0]["data"]["id"], person_id);
        assert_eq!(r.body["meta"]["count"], 1);
        let r = sell(&app, Method::GET, "/contacts?sort_by=name:desc&is_organization=false", None).await;
        let names: Vec<&str> =
            r.body["items"].as_array().expect("items").iter().filter_map(|i| i["data"]["last_name"].as_str()).collect();
        assert_eq!(names, ["Lovelace", "Extra2", "Extra1", "Extra0"]);
        let r = sell(&app, Method::GET, "/contacts?email=ada@engines.example", None).await;
        assert_eq!(r.body["meta"]["count"], 1);

        // Bad input, in Sell's error shape.
        assert_sell_error(&sell(&app, Method::GET, "/contacts?per_page=101", None).await, 400, "bad_request");
        assert_sell_error(&sell(&app, Method::GET, "/contacts?page=0", None).await, 400, "bad_request");
        assert_sell_error(&sell(&app, Method::GET, "/contacts?sort_by=shoe_size", None).await, 400, "bad_request");
        assert_sell_error(&sell(&app, Method::GET, "/contacts?ids=1,x", None).await, 400, "bad_request");
        assert_sell_error(
            &sell(&app, Method::POST, "/contacts", Some(json!({ "last_name": "NoEnvelope" }))).await,
            400,
            "bad_request",
        );
        let r = sell(&app, Method::POST, "/contacts", Some(json!({ "data": { "first_name": "OnlyFirst" } }))).await;
        assert_sell_error(&r, 422, "validation_failed");
        assert_eq!(r.body["errors"][0]["error"]["field"], "/data/last_name");
        let r = sell(&app, Method::POST, "/contacts", Some(json!({ "data": { "last_name": 7, "tags": "x" } }))).await;
        assert_sell_error(&r, 422, "validation_failed");
        assert_eq!(r.body["errors"].as_array().map(Vec::len), Some(2));
        let r = sell(
            &app,
            Method::POST,
            "/contacts",
            Some(json!({ "data": { "is_organization": true, "name": "X", "first_name": "Y" } })),
        )
        .await;
        assert_sell_error(&r, 422, "validation_failed");
        let r = sell(
            &app,
            Method::POST,
            "/contacts",
            Some(json!({ "data": { "last_name": "Z", "custom_fields": { "nope": "1" } } })),
        )
        .await;
        assert_sell_error(&r, 422, "validation_failed");
        let r = sell(
            &app,
            Method::POST,
            "/contacts",
            Some(json!({ "data": { "last_name": "Z", "address": { "country": "Atlantis" } } })),
        )
        .await;
        assert_sell_error(&r, 422, "validation_failed");
        let r = sell(
            &app,
            Method::PUT,
            &format!("/contacts/{org_id}"),
            Some(json!({ "data": { "is_organization": false } })),
        )
        .await;
        assert_sell_error(&r, 422, "validation_failed");
        assert_sell_error(&sell(&app, Method::GET, "/contacts/999999999", None).await, 404, "not_found");
        assert_sell_error(&sell(&app, Method::GET, "/contacts/abc", None).await, 404, "not_found");

        // Another account sees none of it.
        let rival = app.other_account().await;
        assert_sell_error(
            &sell_as(&app, &rival, Method::GET, &format!("/contacts/{person_id}"), None).await,
            404,
            "not_found",
        );
        let r = sell_as(
            &app,
            &rival,
            Method::PUT,
            &format!("/contacts/{person_id}"),
            Some(json!({ "data": { "title": "x" } })),
        )
        .await;
        assert_sell_error(&r, 404, "not_found");
        assert_sell_error(
            &sell_as(&app, &rival, Method::DELETE, &format!("/contacts/{org_id}"), None).await,
            404,
            "not_found",
        );
        assert_eq!(sell_as(&app, &rival, Method::GET, "/contacts", None).await.body["meta"]["count"], 0);

        // DELETE answers 204 with no body.
        let r = sell(&app, Method::DELETE, &format!("/contacts/{person_id}"), None).await;
        assert_eq!(r.status, 204);
        assert_eq!(r.body, Value::Null);
        assert_sell_error(&sell(&app, Method::GET, &format!("/contacts/{person_id}"), None).await, 404, "not_found");
        assert_eq!(sell(&app, Method::DELETE, &format!("/contacts/{org_id}"), None).await.status, 204);
        app.finish().await;
    }
}

#[tokio::test]
async fn one_contact_through_both_dialects() {
    for app in apps().await {
        // Created over Sell, read over OnePage.
        let r = sell(
            &app,
            Method::POST,
            "/contacts",
            Some(json!({ "data": { "first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.example" } })),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let id = r.body["data"]["id"].as_i64().expect("id");
        let hex = kith_onepage::wire::hex_id(id);
        let r = app.op(Method::GET, &format!("/contacts/{hex}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["contact"]["last_name"], "Hopper");
        assert_eq!(r.body["data"]["contact"]["emails"][0]["value"], "grace@navy.example");
        // And listed there.
        let r = app.op(Method::GET, "/contacts", None).await;
        let listed: Vec<&Value> = r.body["data"]["contacts"].as_array().into_iter().flatten().collect();
        assert!(listed.iter().any(|c| c["contact"]["id"] == hex.as_str()), "{}", r.body);

        // Created over OnePage (with its company), listed over Sell.
        let r = app
            .op(
                Method::POST,
                "/contacts",
                Some(json!({ "first_name": "Alan", "last_name": "Turing", "company_name": "Bletchley Park" })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = sell(&app, Method::GET, "/contacts?name=turing", None).await;
        assert_eq!(r.body["meta"]["count"], 1, "{}", r.body);
        let turing = &r.body["items"][0]["data"];
        assert_eq!(turing["first_name"], "Alan");
        let org = turing["contact_id"].as_i64().expect("organization");
        let r = sell(&app, Method::GET, &format!("/contacts/{org}"), None).await;
        assert_eq!(r.body["data"]["is_organization"], true);
        assert_eq!(r.body["data"]["name"], "Bletchley Park");

        // Custom fields by name: only assigned ones appear, list values must be a choice.
        let r = app
            .op(
                Method::POST,
                "/custom_fields",
                Some(json!({"name": "Tier", "type": "select_box", "choices": ["gold", "silver"]})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = app.op(Method::POST, "/custom_fields", Some(json!({"name": "Seats", "type": "number"}))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let body = json!({ "data": { "custom_fields": { "Tier": "gold", "Seats": 12 } } });
        let r = sell(&app, Method::PUT, &format!("/contacts/{id}"), Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["custom_fields"], json!({ "Tier": "gold", "Seats": "12" }));
        let body = json!({ "data": { "custom_fields": { "Tier": "bronze" } } });
        let r = sell(&app, Method::PUT, &format!("/contacts/{id}"), Some(body)).await;
        assert_sell_error(&r, 422, "validation_failed");
        let body = json!({ "data": { "custom_fields": { "Seats": null } } });
        let r = sell(&app, Method::PUT, &format!("/contacts/{id}"), Some(body)).await;
        assert_eq!(r.body["data"]["custom_fields"], json!({ "Tier": "gold" }));
        let r = app.op(Method::GET, &format!("/contacts/{hex}"), None).await;
        assert_eq!(r.body["data"]["contact"]["custom_fields"][0]["value"], "gold", "{}", r.body);

        // Filters and sorts on custom fields.
        for (last, tier, seats) in [("Knuth", "silver", 9), ("Liskov", "gold", 40), ("Hamilton", "gold", 3)] {
            let body = json!({ "data": { "last_name": last, "custom_fields": { "Tier": tier, "Seats": seats } } });
            assert_eq!(sell(&app, Method::POST, "/contacts", Some(body)).await.status, 200);
        }
        let last_names = |r: &Reply| -> Vec<String> {
            r.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter_map(|i| i["data"]["last_name"].as_str().map(str::to_owned))
                .collect()
        };
        let r = sell(&app, Method::GET, "/contacts?custom_fields[Tier]=gold&sort_by=last_name", None).await;
        assert_eq!(last_names(&r), ["Hamilton", "Hopper", "Liskov"], "{}", r.body);
        // Descending, contacts without a value come first (as every Kith sort orders nulls).
        let r = sell(&app, Method::GET, "/contacts?is_organization=false&sort_by=custom_fields:Seats:desc", None).await;
        assert_eq!(&last_names(&r)[2..], ["Liskov", "Knuth", "Hamilton"], "{}", r.body);
        let r = sell(&app, Method::GET, "/contacts?sort_by=custom_fields:Seats", None).await;
        assert_eq!(&last_names(&r)[..3], ["Hamilton", "Knuth", "Liskov"], "{}", r.body);
        assert_sell_error(&sell(&app, Method::GET, "/contacts?custom_fields[Nope]=1", None).await, 400, "bad_request");
        assert_sell_error(
            &sell(&app, Method::GET, "/contacts?custom_fields[Seats]=many", None).await,
            400,
            "bad_request",
        );
        assert_sell_error(
            &sell(&app, Method::GET, "/contacts?sort_by=custom_fields:Nope", None).await,
            400,
            "bad_request",
        );

        // An update over Sell shows over OnePage.
        let r =
            sell(&app, Method::PUT, &format!("/contacts/{id}"), Some(json!({ "data": { "title": "Rear Admiral" } })))
                .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = app.op(Method::GET, &format!("/contacts/{hex}"), None).await;
        assert_eq!(r.body["data"]["contact"]["job_title"], "Rear Admiral");
        app.finish().await;
    }
}

#[tokio::test]
async fn leads() {
    for app in apps().await {
        let body = json!({ "data": {
            "first_name": "Charles", "last_name": "Babbage", "organization_name": "Difference Engines",
            "status": "Working", "email": "charles@engines.example", "twitter": "cbabbage",
            "tags": ["engine", "hot"], "address": { "city": "London", "country": "GB" },
        }});
        let r = sell(&app, Method::POST, "/leads", Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["meta"]["type"], "lead");
        let lead = &r.body["data"];
        assert_eq!(lead["owner_id"], app.owner.user_id);
        assert_eq!(lead["twitter"], "cbabbage");
        assert_eq!(lead["address"]["city"], "London");
        let id = lead["id"].as_i64().expect("id");
        let r = sell(&app, Method::POST, "/leads", Some(json!({ "data": { "organization_name": "Jacquard Looms" } })))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["status"], "New");
        let loom = r.body["data"]["id"].as_i64().expect("id");

        let r = sell(
            &app,
            Method::PUT,
            &format!("/leads/{id}"),
            Some(json!({ "data": { "status": "Unqualified", "tags": [] } })),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["status"], "Unqualified");
        assert_eq!(r.body["data"]["tags"], json!([]));
        assert_eq!(r.body["data"]["email"], "charles@engines.example");

        let r = sell(&app, Method::GET, "/leads?status=Unqualified", None).await;
        assert_eq!(r.body["meta"]["count"], 1);
        assert_eq!(r.body["items"][0]["data"]["id"], id);
        let r = sell(&app, Method::GET, "/leads?sort_by=organization_name:desc", None).await;
        let ids: Vec<i64> =
            r.body["items"].as_array().expect("items").iter().filter_map(|i| i["data"]["id"].as_i64()).collect();
        assert_eq!(ids, [loom, id]);

        // Bad input.
        let r = sell(&app, Method::POST, "/leads", Some(json!({ "data": { "first_name": "Nameless" } }))).await;
        assert_sell_error(&r, 422, "validation_failed");
        let rival = app.other_account().await;
        let r =
            sell(&app, Method::PUT, &format!("/leads/{id}"), Some(json!({ "data": { "owner_id": rival.user_id } })))
                .await;
        assert_sell_error(&r, 422, "validation_failed");
        assert_eq!(r.body["errors"][0]["error"]["field"], "/data/owner_id");
        let r = sell(
            &app,
            Method::PUT,
            &format!("/leads/{id}"),
            Some(json!({ "data": { "last_name": null, "organization_name": null } })),
        )
        .await;
        assert_sell_error(&r, 422, "validation_failed");
        assert_sell_error(&sell(&app, Method::GET, "/leads?owner_id=me", None).await, 400, "bad_request");
        assert_sell_error(&sell(&app, Method::GET, "/leads?custom_fields[Nope]=1", None).await, 400, "bad_request");
        assert_sell_error(
            &sell(&app, Method::GET, "/leads?sort_by=custom_fields:Nope", None).await,
            400,
            "bad_request",
        );

        // Another account sees none of it; DELETE answers 204.
        assert_sell_error(&sell_as(&app, &rival, Method::GET, &format!("/leads/{id}"), None).await, 404, "not_found");
        assert_sell_error(
            &sell_as(&app, &rival, Method::DELETE, &format!("/leads/{id}"), None).await,
            404,
            "not_found",
        );
        assert_eq!(sell_as(&app, &rival, Method::GET, "/leads", None).await.body["meta"]["count"], 0);
        assert_eq!(sell(&app, Method::DELETE, &format!("/leads/{id}"), None).await.status, 204);
        assert_sell_error(&sell(&app, Method::GET, &format!("/leads/{id}"), None).await, 404, "not_found");
        app.finish().await;
    }
}

#[tokio::test]
async fn loss_reasons() {
    for app in apps().await {
        let r = sell(&app, Method::POST, "/loss_reasons", Some(json!({ "data": { "name": "Too expensive" } }))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["meta"]["type"], "loss_reason");
        let id = r.body["data"]["id"].as_i64().expect("id");
        assert_eq!(
            sell(&app, Method::POST, "/loss_reasons", Some(json!({ "data": { "name": "No budget" } }))).await.status,
            200
        );
        let r = sell(&app, Method::POST, "/loss_reasons", Some(json!({ "data": { "name": "too EXPENSIVE" } }))).await;
        assert_sell_error(&r, 422, "validation_failed");
        assert_sell_error(
            &sell(&app, Method::POST, "/loss_reasons", Some(json!({ "data": {} }))).await,
            422,
            "validation_failed",
        );
        let r =
            sell(&app, Method::PUT, &format!("/loss_reasons/{id}"), Some(json!({ "data": { "name": "Price" } }))).await;
        assert_eq!(r.body["data"]["name"], "Price", "{}", r.body);
        let r = sell(&app, Method::GET, "/loss_reasons?sort_by=name", None).await;
        let names: Vec<&str> =
            r.body["items"].as_array().expect("items").iter().filter_map(|i| i["data"]["name"].as_str()).collect();
        assert_eq!(names, ["No budget", "Price"]);
        let rival = app.other_account().await;
        assert_sell_error(
            &sell_as(&app, &rival, Method::GET, &format!("/loss_reasons/{id}"), None).await,
            404,
            "not_found",
        );
        assert_eq!(sell(&app, Method::DELETE, &format!("/loss_reasons/{id}"), None).await.status, 204);
        assert_sell_error(&sell(&app, Method::GET, &format!("/loss_reasons/{id}"), None).await, 404, "not_found");
        app.finish().await;
    }
}

#[tokio::test]
async fn outcome_and_reason_lists() {
    for app in apps().await {
        // Read-only lists start with their defaults, made on first read, once.
        let r = sell(&app, Method::GET, "/call_outcomes", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["items"][0]["meta"]["type"], "call_outcome");
        let names: Vec<Value> = common::sell::items(&r).iter().map(|d| d["name"].clone()).collect();
        assert_eq!(
            names,
            json!(["Interested", "Not interested", "Left message", "No answer", "Other"])
                .as_array()
                .cloned()
                .unwrap_or_default()
        );
        let again = sell(&app, Method::GET, "/call_outcomes", None).await;
        assert_eq!(common::sell::ids(&again), common::sell::ids(&r));
        let first = common::sell::ids(&r)[0];
        let one = sell(&app, Method::GET, &format!("/call_outcomes/{first}"), None).await;
        assert_eq!(one.body["data"]["name"], "Interested");
        for path in ["/visit_outcomes", "/lead_unqualified_reasons"] {
            let r = sell(&app, Method::GET, path, None).await;
            assert!(!common::sell::ids(&r).is_empty(), "{path}: {}", r.body);
        }
        // An id of another list is not found there.
        assert_sell_error(&sell(&app, Method::GET, &format!("/visit_outcomes/{first}"), None).await, 404, "not_found");
        // Read-only lists take no writes.
        let r = sell(&app, Method::POST, "/call_outcomes", Some(json!({"data": {"name": "x"}}))).await;
        assert_eq!(r.status, 405, "{}", r.body);

        // Deal unqualified reasons: CRUD with names unique ignoring case.
        let r = sell(&app, Method::GET, "/deal_unqualified_reasons", None).await;
        assert_eq!(r.body["meta"]["count"], 0, "{}", r.body);
        let made =
            sell(&app, Method::POST, "/deal_unqualified_reasons", Some(json!({"data": {"name": "Too expensive"}})))
                .await;
        assert_eq!(made.status, 200, "{}", made.body);
        assert_eq!(made.body["meta"]["type"], "deal_unqualified_reason");
        assert_eq!(made.body["data"]["creator_id"], app.owner.user_id);
        let id = made.body["data"]["id"].as_i64().unwrap_or_default();
        let dup =
            sell(&app, Method::POST, "/deal_unqualified_reasons", Some(json!({"data": {"name": "too EXPENSIVE"}})))
                .await;
        assert_sell_error(&dup, 422, "validation_failed");
        assert_eq!(dup.body["errors"][0]["error"]["field"], "/data/name");
        assert_sell_error(
            &sell(&app, Method::POST, "/deal_unqualified_reasons", Some(json!({"data": {}}))).await,
            422,
            "validation_failed",
        );
        assert_sell_error(
            &sell(&app, Method::POST, "/deal_unqualified_reasons", Some(json!({"data": {"name": 5}}))).await,
            422,
            "validation_failed",
        );
        let other =
            sell(&app, Method::POST, "/deal_unqualified_reasons", Some(json!({"data": {"name": "No budget"}}))).await;
        let other_id = other.body["data"]["id"].as_i64().unwrap_or_default();
        let renamed = sell(
            &app,
            Method::PUT,
            &format!("/deal_unqualified_reasons/{id}"),
            Some(json!({"data": {"name": "Price"}})),
        )
        .await;
        assert_eq!(renamed.body["data"]["name"], "Price", "{}", renamed.body);
        let clash = sell(
            &app,
            Method::PUT,
            &format!("/deal_unqualified_reasons/{other_id}"),
            Some(json!({"data": {"name": "price"}})),
        )
        .await;
        assert_sell_error(&clash, 422, "validation_failed");
        let sorted = sell(&app, Method::GET, "/deal_unqualified_reasons?sort_by=name:desc", None).await;
        assert_eq!(common::sell::ids(&sorted), vec![id, other_id]);
        let named = sell(&app, Method::GET, "/deal_unqualified_reasons?name=Price", None).await;
        assert_eq!(common::sell::ids(&named), vec![id]);
        assert_sell_error(
            &sell(&app, Method::GET, "/deal_unqualified_reasons?sort_by=colour", None).await,
            400,
            "bad_request",
        );
        // Another account sees none of them.
        let rival = app.other_account().await;
        let r = sell_as(&app, &rival, Method::GET, &format!("/deal_unqualified_reasons/{id}"), None).await;
        assert_sell_error(&r, 404, "not_found");
        let r = sell_as(&app, &rival, Method::DELETE, &format!("/deal_unqualified_reasons/{id}"), None).await;
        assert_sell_error(&r, 404, "not_found");
        let r = sell(&app, Method::DELETE, &format!("/deal_unqualified_reasons/{id}"), None).await;
        assert_eq!(r.status, 204);
        assert_sell_error(
            &sell(&app, Method::GET, &format!("/deal_unqualified_reasons/{id}"), None).await,
            404,
            "not_found",
        );
        // The name is free again.
        let again =
            sell(&app, Method::POST, "/deal_unqualified_reasons", Some(json!({"data": {"name": "Price"}}))).await;
        assert_eq!(again.status, 200, "{}", again.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn unknown_query_parameters_are_refused() {
    for app in apps().await {
        // As Sell does (its own client's test suite checks it): a 400, not a silent full list.
        for path in [
            "/users/self?unknown=param",
            "/users?colour=red",
            "/contacts?nam=Ada",
            "/contacts/1?fields=name",
            "/loss_reasons?unknown=1",
            "/accounts/self?x=1",
            "/deals?stage=1",
            "/deals/1?x=1",
            "/stages?pipeline=1",
            "/pipelines/1?x=1",
            "/deal_sources?x=1",
            "/call_outcomes?x=1",
            "/notes?content=x",
            "/tasks?due=today",
            "/calls?user_id=1",
            "/text_messages?x=1",
            "/visits?x=1",
            "/notes/1?x=1",
        ] {
            assert_sell_error(&sell(&app, Method::GET, path, None).await, 400, "bad_request");
        }
        // Known ones are fine, custom-field filters included.
        let r = sell(&app, Method::GET, "/users?email=owner@acme.test&confirmed=true&includes=", None).await;
        assert_eq!(common::sell::ids(&r), vec![app.owner.user_id], "{}", r.body);
        let r = sell(&app, Method::GET, "/users?confirmed=false", None).await;
        assert_eq!(r.body["meta"]["count"], 0, "{}", r.body);
        let name = sell(&app, Method::GET, "/users/self", None).await.body["data"]["name"].clone();
        let r = sell(&app, Method::GET, &format!("/users?name={}", name.as_str().unwrap_or_default()), None).await;
        assert_eq!(common::sell::ids(&r), vec![app.owner.user_id], "{}", r.body);
        let r = sell(&app, Method::GET, "/users?name=Nobody%20Here", None).await;
        assert_eq!(r.body["meta"]["count"], 0, "{}", r.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn address_and_multi_select_custom_values() {
    for app in apps().await {
        let a = kith_domain::Actor { account_id: app.owner.account_id, user_id: app.owner.user_id };
        let field = |name: &str, kind: kith_domain::custom_fields::FieldKind, choices: &[&str]| {
            kith_domain::custom_fields::NewCustomField {
                entity_kind: "contact".into(),
                name: name.into(),
                kind,
                choices: choices.iter().map(|c| (*c).to_owned()).collect(),
                position: None,
            }
        };
        use kith_domain::custom_fields::FieldKind;
        app.crm.create_custom_field(a, field("correspondence", FieldKind::Address, &[])).await.expect("field");
        app.crm
            .create_custom_field(a, field("sports", FieldKind::MultiSelect, &["baseball", "soccer"]))
            .await
            .expect("field");
        app.crm.create_custom_field(a, field("league", FieldKind::Dropdown, &["MLB", "NFL"])).await.expect("field");
        // The values as the seed document shows them: an address object, an array, a string.
        let values = json!({
            "correspondence": { "line1": "1060 W. Addison", "city": "Chicago", "postal_code": "60613",
                "state": "IL", "country": "United States" },
            "league": "MLB",
            "sports": ["baseball", "soccer"],
        });
        let r = sell(
            &app,
            Method::POST,
            "/contacts",
            Some(json!({"data": {"last_name": "Field", "custom_fields": values}})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let mut want = values.clone();
        want["correspondence"]["country"] = json!("United States");
        assert_eq!(r.body["data"]["custom_fields"], want);
        let id = r.body["data"]["id"].as_i64().unwrap_or_default();
        assert_eq!(sell(&app, Method::GET, &format!("/contacts/{id}"), None).await.body["data"]["custom_fields"], want);
        // OnePage reads the same address.
        let op = app.op(Method::GET, &format!("/contacts/{}", kith_onepage::wire::hex_id(id)), None).await;
        assert_eq!(op.status, 200, "{}", op.body);
        let field = &op.body["data"]["contact"]["custom_fields"][0];
        assert_eq!(field["custom_field"]["type"], "multi_line_text");
        assert_eq!(field["value"], "1060 W. Addison\nChicago\nIL\n60613\nUS");
        // Bad values: a choice not offered, an address that is not an object or has a bad part.
        for (bad, field) in [
            (json!({"sports": ["cricket"]}), "/data/custom_fields/sports"),
            (json!({"league": "NBA"}), "/data/custom_fields/league"),
            (json!({"correspondence": "Chicago"}), "/data/custom_fields/correspondence"),
            (json!({"correspondence": {"city": 5}}), "/data/custom_fields/correspondence/city"),
            (json!({"correspondence": {"country": "Atlantis"}}), "/data/custom_fields/correspondence/country"),
        ] {
            let r = sell(&app, Method::PUT, &format!("/contacts/{id}"), Some(json!({"data": {"custom_fields": bad}})))
                .await;
            assert_sell_error(&r, 422, "validation_failed");
            assert_eq!(r.body["errors"][0]["error"]["field"], field, "{}", r.body);
        }
        // An empty address clears the value; the others stay.
        let r = sell(
            &app,
            Method::PUT,
            &format!("/contacts/{id}"),
            Some(json!({"data": {"custom_fields": {"correspondence": {}}}})),
        )
        .await;
        assert_eq!(
            r.body["data"]["custom_fields"],
            json!({"league": "MLB", "sports": ["baseball", "soccer"]}),
            "{}",
            r.body
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn includes_load_related_records_alongside() {
    for app in apps().await {
        let post = |path: &'static str, data: Value| common::sell::created(&app, path, data);
        let org = post("/contacts", json!({"is_organization": true, "name": "Engines Ltd"})).await;
        let person = post("/contacts", json!({"last_name": "Lovelace", "contact_id": org["id"]})).await;
        let deal = post("/deals", json!({"name": "Big one", "contact_id": person["id"]})).await;
        let note = post("/notes", json!({"content": "Met", "resource_type": "deal", "resource_id": deal["id"]})).await;

        let r = sell(&app, Method::GET, &format!("/contacts/{}?includes=organization,owner", person["id"]), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["organization"]["name"], "Engines Ltd");
        assert_eq!(r.body["data"]["organization"]["is_organization"], true);
        assert_eq!(r.body["data"]["owner"]["email"], "owner@acme.test");
        // Everything else is as without includes.
        let plain = sell(&app, Method::GET, &format!("/contacts/{}", person["id"]), None).await;
        let mut trimmed = r.body["data"].clone();
        if let Some(o) = trimmed.as_object_mut() {
            o.remove("organization");
            o.remove("owner");
        }
        assert_eq!(trimmed, plain.body["data"]);

        // Lists: each item gets its own; none is null.
        let r = sell(&app, Method::GET, "/contacts?includes=organization&sort_by=id", None).await;
        let got = common::sell::items(&r);
        assert_eq!(got[0]["organization"], Value::Null, "{}", r.body);
        assert_eq!(got[1]["organization"]["id"], org["id"]);
        let r =
            sell(&app, Method::GET, &format!("/deals/{}?includes=contact,organization,stage", deal["id"]), None).await;
        assert_eq!(r.body["data"]["contact"]["last_name"], "Lovelace", "{}", r.body);
        assert_eq!(r.body["data"]["organization"]["id"], org["id"]);
        assert_eq!(r.body["data"]["stage"]["id"], deal["stage_id"]);
        assert_eq!(r.body["data"]["stage"]["category"], "incoming");
        let r = sell(&app, Method::GET, "/notes?includes=resource,creator", None).await;
        let n = &common::sell::items(&r)[0];
        assert_eq!(n["id"], note["id"]);
        assert_eq!(n["resource"]["name"], "Big one", "{}", r.body);
        assert_eq!(n["creator"]["id"], app.owner.user_id);

        // A relation the type does not have is a 400; failures stay as they were.
        let r = sell(&app, Method::GET, &format!("/contacts/{}?includes=colour", person["id"]), None).await;
        assert_sell_error(&r, 400, "bad_request");
        let r = sell(&app, Method::GET, "/contacts/999999999?includes=organization", None).await;
        assert_sell_error(&r, 404, "not_found");
        let r = sell(&app, Method::GET, "/users/self?includes=colour", None).await;
        assert_sell_error(&r, 400, "bad_request");
        app.finish().await;
    }
}

#[tokio::test]
async fn address_filters_on_contacts_and_leads() {
    for app in apps().await {
        let post = |path: &'static str, data: Value| {
            let app = &app;
            async move { common::sell::created(app, path, data).await["id"].as_i64().unwrap_or_default() }
        };
        let chicago = json!({"line1": "1060 W. Addison", "city": "Chicago", "postal_code": "60613", "country": "US"});
        let dublin = json!({"city": "Dublin", "postal_code": "D02", "country": "Ireland"});
        let person = post("/contacts", json!({"last_name": "A", "address": chicago})).await;
        let org = post("/contacts", json!({"is_organization": true, "name": "B", "address": chicago})).await;
        post("/contacts", json!({"last_name": "C", "address": dublin})).await;
        post("/contacts", json!({"last_name": "D"})).await;
        let lead = post("/leads", json!({"last_name": "E", "address": dublin})).await;
        post("/leads", json!({"last_name": "F", "address": chicago})).await;
        for (query, want) in [
            ("address[city]=Chicago", vec![person, org]),
            ("city=Chicago", vec![person, org]),
            ("address[postal_code]=60613&is_organization=false", vec![person]),
            ("address[country]=United%20States", vec![person, org]),
            ("address[country]=us&address[city]=Chicago&is_organization=true", vec![org]),
            ("address[city]=Boston", vec![]),
        ] {
            let r = sell(&app, Method::GET, &format!("/contacts?{query}&sort_by=id"), None).await;
            assert_eq!(common::sell::ids(&r), want, "{query}: {}", r.body);
        }
        let r = sell(&app, Method::GET, "/leads?address[country]=IE", None).await;
        assert_eq!(common::sell::ids(&r), vec![lead], "{}", r.body);
        let r = sell(&app, Method::GET, "/leads?address[city]=Dublin&address[postal_code]=D02", None).await;
        assert_eq!(common::sell::ids(&r), vec![lead], "{}", r.body);
        assert_sell_error(
            &sell(&app, Method::GET, "/contacts?address[country]=Atlantis", None).await,
            400,
            "bad_request",
        );
        assert_sell_error(&sell(&app, Method::GET, "/leads?address[street]=x", None).await, 400, "bad_request");
        app.finish().await;
    }
}
