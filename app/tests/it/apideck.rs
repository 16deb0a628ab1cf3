//! The Apideck dialect at `/crm`: envelopes, errors, signed keyset cursors, filters, sorts,
//! sparse fieldsets, each resource over the shared model, and isolation between accounts. Every
//! answer is checked against Apideck's OpenAPI document.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::apideck::{apideck, apideck_as, assert_apideck_error, created, ids};
use crate::common::sell::sell;
use crate::common::{apps, openapi};

#[tokio::test]
async fn contacts_are_created_read_changed_and_deleted_in_apideck_envelopes() {
    for app in apps().await {
        let id = created(
            &app,
            "/contacts?raw=false",
            json!({
                "first_name": "Ada", "last_name": "Lovelace", "title": "Analyst",
                "company_name": "Analytical Engines",
                "emails": [{"email": "ada@engines.test", "type": "primary"}],
                "phone_numbers": [{"number": "+44 20 7946 0000", "type": "work"}],
                "addresses": [{"type": "primary", "line1": "1 Engine St", "city": "London", "country": "GB"}],
                "tags": ["vip"],
            }),
        )
        .await;
        let r = apideck(&app, Method::GET, &format!("/contacts/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.headers.get("request-id").is_some());
        assert_eq!(r.headers.get("x-apideck-consumer-id").and_then(|v| v.to_str().ok()), Some("test-consumer"));
        assert_eq!(r.body["resource"], "contacts");
        assert_eq!(r.body["operation"], "one");
        assert_eq!(r.body["service"], "kith");
        let c = &r.body["data"];
        assert_eq!(c["id"], id.as_str());
        assert_eq!(c["name"], "Ada Lovelace");
        assert_eq!(c["emails"], json!([{"email": "ada@engines.test", "type": "primary"}]));
        assert_eq!(c["company_name"], "Analytical Engines");
        assert!(c["company_id"].is_string());
        assert_eq!(c["addresses"][0]["city"], "London");
        assert!(c["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));

        // PATCH is partial: only what is sent changes.
        let r = apideck(&app, Method::PATCH, &format!("/contacts/{id}"), Some(json!({"title": "Countess"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["operation"], "update");
        assert_eq!(r.body["data"]["id"], id.as_str());
        let r = apideck(&app, Method::GET, &format!("/contacts/{id}?fields=title,emails.email"), None).await;
        assert_eq!(r.body["data"], json!({"id": id, "title": "Countess", "emails": [{"email": "ada@engines.test"}]}));

        // raw=true adds `_raw`.
        let r = apideck(&app, Method::GET, &format!("/contacts/{id}?raw=true"), None).await;
        assert!(r.body["_raw"].is_object(), "{}", r.body);

        let r = apideck(&app, Method::DELETE, &format!("/contacts/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["id"], id.as_str());
        assert_apideck_error(
            &apideck(&app, Method::GET, &format!("/contacts/{id}"), None).await,
            404,
            "EntityNotFoundError",
        );
        assert_apideck_error(&apideck(&app, Method::GET, "/contacts/abc", None).await, 404, "EntityNotFoundError");
        app.finish().await;
    }
}

#[tokio::test]
async fn bad_requests_get_apideck_errors() {
    for app in apps().await {
        // Credentials and the consumer header are required.
        let bare = app.client.get(format!("{}/crm/contacts", app.base));
        let r = app.send(bare, None).await;
        assert_apideck_error(&r, 401, "UnauthorizedError");
        let no_consumer = app
            .client
            .get(format!("{}/crm/contacts", app.base))
            .bearer_auth(&app.owner.key.secret)
            .header("x-apideck-app-id", "a");
        assert_apideck_error(&app.send(no_consumer, None).await, 401, "UnauthorizedError");
        let wrong_key = app
            .client
            .get(format!("{}/crm/contacts", app.base))
            .bearer_auth("not-a-key")
            .header("x-apideck-consumer-id", "c")
            .header("x-apideck-app-id", "a");
        assert_apideck_error(&app.send(wrong_key, None).await, 401, "UnauthorizedError");

        assert_apideck_error(
            &apideck(&app, Method::GET, "/contacts?filter[colour]=red", None).await,
            400,
            "UnsupportedFiltersError",
        );
        assert_apideck_error(
            &apideck(&app, Method::GET, "/notes?filter[title]=x", None).await,
            400,
            "UnsupportedFiltersError",
        );
        assert_apideck_error(
            &apideck(&app, Method::GET, "/contacts?sort[by]=colour", None).await,
            400,
            "UnsupportedSortFieldError",
        );
        assert_apideck_error(
            &apideck(&app, Method::GET, "/contacts?sort[by]=name&sort[direction]=up", None).await,
            400,
            "RequestValidationError",
        );
        for limit in ["0", "201", "x", "-1", "99999999999999999999"] {
            let r = apideck(&app, Method::GET, &format!("/contacts?limit={limit}"), None).await;
            assert_apideck_error(&r, 400, "RequestValidationError");
        }
        for cursor in ["abc", "Y3Vyc29yOjI%3D", "a.b", "%00"] {
            let r = apideck(&app, Method::GET, &format!("/contacts?cursor={cursor}"), None).await;
            assert_eq!(r.status, 400, "{cursor}: {}", r.body);
        }
        assert_apideck_error(
            &apideck(&app, Method::GET, "/contacts?cursor=abc", None).await,
            400,
            "InvalidCursorError",
        );
        assert_apideck_error(
            &apideck(&app, Method::GET, "/contacts?filter[updated_since]=yesterday", None).await,
            400,
            "RequestValidationError",
        );
        assert_apideck_error(
            &apideck(&app, Method::GET, "/contacts?raw=maybe", None).await,
            400,
            "RequestValidationError",
        );

        // Bodies: not JSON, not an object, wrong types, NUL characters.
        let r = app
            .send(
                app.client
                    .post(format!("{}/crm/contacts", app.base))
                    .bearer_auth(&app.owner.key.secret)
                    .header("x-apideck-consumer-id", "c")
                    .header("x-apideck-app-id", "a")
                    .header("content-type", "application/json")
                    .body("{not json"),
                None,
            )
            .await;
        assert_apideck_error(&r, 400, "RequestValidationError");
        for body in [
            json!([1, 2]),
            json!({"last_name": 5}),
            json!({"last_name": "A", "emails": "x"}),
            json!({"last_name": "A", "emails": [5]}),
            json!({"last_name": "A", "owner_id": "abc"}),
            json!({"last_name": "A\u{0}B"}),
            json!({"last_name": "A", "custom_fields": [{"name": "nope", "value": 1}]}),
            json!({"last_name": "A", "tags": [1]}),
        ] {
            let r = apideck(&app, Method::POST, "/contacts", Some(body.clone())).await;
            assert_apideck_error(&r, 400, "RequestValidationError");
        }
        let r = apideck(&app, Method::POST, "/opportunities", Some(json!({"title": "No contact"}))).await;
        assert_apideck_error(&r, 400, "RequestValidationError");
        let r = apideck(
            &app,
            Method::POST,
            "/opportunities",
            Some(json!({"title": "X", "primary_contact_id": "999999999"})),
        )
        .await;
        assert_apideck_error(&r, 400, "RequestValidationError");
        let r = apideck(&app, Method::POST, "/companies", Some(json!({"name": ""}))).await;
        assert_apideck_error(&r, 400, "RequestValidationError");

        // What Kith does not serve answers Apideck's 404.
        assert_apideck_error(&apideck(&app, Method::GET, "/tickets", None).await, 404, "EntityNotFoundError");
        assert_apideck_error(
            &apideck(&app, Method::PUT, "/contacts/1", Some(json!({}))).await,
            404,
            "EntityNotFoundError",
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn lists_page_by_signed_keyset_cursors_with_filters_and_sorts() {
    for app in apps().await {
        let names = ["Cho", "Abe", "Eve", "Bo", "Dee"];
        let mut made = Vec::new();
        for (i, last) in names.iter().enumerate() {
            made.push(
                created(
                    &app,
                    "/contacts",
                    json!({"first_name": "P", "last_name": last, "emails": [{"email": format!("p{i}@x.test")}]}),
                )
                .await,
            );
        }
        // Default order: creation; pages of two, `next` null on the last.
        let mut seen = Vec::new();
        let mut path = "/contacts?limit=2".to_owned();
        let mut pages = 0;
        loop {
            let r = apideck(&app, Method::GET, &path, None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["operation"], "all");
            assert_eq!(r.body["meta"]["items_on_page"], ids(&r).len());
            assert!(r.body["links"]["current"].as_str().is_some_and(|l| l.starts_with("http://")));
            seen.extend(ids(&r));
            pages += 1;
            match r.body["meta"]["cursors"]["next"].as_str() {
                Some(next) => {
                    let link = r.body["links"]["next"].as_str().unwrap_or_default();
                    assert!(link.starts_with(&format!("{}/crm/contacts?", app.base)), "{link}");
                    path = format!("/contacts?limit=2&cursor={next}");
                }
                None => {
                    assert!(r.body["links"]["next"].is_null());
                    break;
                }
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, made);

        // Sorted by last name, descending, in pages; the cursor belongs to that sort.
        let r = apideck(&app, Method::GET, "/contacts?limit=3&sort[by]=last_name&sort[direction]=desc", None).await;
        let last: Vec<Value> =
            r.body["data"].as_array().into_iter().flatten().map(|c| c["last_name"].clone()).collect();
        assert_eq!(last, vec![json!("Eve"), json!("Dee"), json!("Cho")]);
        let next = r.body["meta"]["cursors"]["next"].as_str().unwrap_or_default().to_owned();
        let r2 = apideck(
            &app,
            Method::GET,
            &format!("/contacts?limit=3&sort[by]=last_name&sort[direction]=desc&cursor={next}"),
            None,
        )
        .await;
        let last: Vec<Value> =
            r2.body["data"].as_array().into_iter().flatten().map(|c| c["last_name"].clone()).collect();
        assert_eq!(last, vec![json!("Bo"), json!("Abe")]);
        assert_eq!(r2.body["meta"]["cursors"]["current"], next.as_str());
        // The same cursor on another sort, or with a changed character, is refused.
        let r = apideck(&app, Method::GET, &format!("/contacts?limit=3&cursor={next}"), None).await;
        assert_apideck_error(&r, 400, "InvalidCursorError");
        let mut forged = next.clone().into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap_or_default();
        let r = apideck(
            &app,
            Method::GET,
            &format!("/contacts?limit=3&sort[by]=last_name&sort[direction]=desc&cursor={forged}"),
            None,
        )
        .await;
        assert_apideck_error(&r, 400, "InvalidCursorError");

        // Filters.
        let r = apideck(&app, Method::GET, "/contacts?filter[email]=p2@x.test", None).await;
        assert_eq!(ids(&r), vec![made[2].clone()]);
        let r = apideck(&app, Method::GET, "/contacts?filter[last_name]=Bo", None).await;
        assert_eq!(ids(&r), vec![made[3].clone()]);
        let r = apideck(&app, Method::GET, "/contacts?filter[name]=p%20dee", None).await;
        assert_eq!(ids(&r), vec![made[4].clone()]);
        let r = apideck(&app, Method::GET, "/contacts?filter[created_since]=2000-01-01T00:00:00Z&sort[by]=name", None)
            .await;
        assert_eq!(ids(&r).len(), 5);
        let r = apideck(&app, Method::GET, "/contacts?filter[updated_since]=2999-01-01T00:00:00Z", None).await;
        assert!(ids(&r).is_empty());
        assert!(r.body["meta"]["cursors"]["next"].is_null());
        // `fields=` on lists.
        let r = apideck(&app, Method::GET, "/contacts?limit=1&fields=last_name", None).await;
        assert_eq!(r.body["data"][0], json!({"id": made[0], "last_name": "Cho"}));
        app.finish().await;
    }
}

#[tokio::test]
async fn another_accounts_ids_are_not_found_and_its_cursors_refused() {
    for app in apps().await {
        let rival = app.other_account().await;
        for i in 0..3 {
            created(&app, "/contacts", json!({"last_name": format!("Mine{i}")})).await;
        }
        let id = created(&app, "/contacts", json!({"last_name": "Secret"})).await;
        let company = created(&app, "/companies", json!({"name": "Hidden Ltd"})).await;
        for path in [format!("/contacts/{id}"), format!("/companies/{company}")] {
            assert_apideck_error(&apideck_as(&app, &rival, Method::GET, &path, None).await, 404, "EntityNotFoundError");
            let r = apideck_as(&app, &rival, Method::PATCH, &path, Some(json!({"name": "Mine now"}))).await;
            assert_apideck_error(&r, 404, "EntityNotFoundError");
            assert_apideck_error(
                &apideck_as(&app, &rival, Method::DELETE, &path, None).await,
                404,
                "EntityNotFoundError",
            );
        }
        let r = apideck_as(&app, &rival, Method::GET, "/contacts", None).await;
        assert!(ids(&r).is_empty(), "{}", r.body);
        // A cursor of the first account means nothing to the rival.
        let r = apideck(&app, Method::GET, "/contacts?limit=1", None).await;
        let next = r.body["meta"]["cursors"]["next"].as_str().unwrap_or_default().to_owned();
        assert!(!next.is_empty());
        let r = apideck_as(&app, &rival, Method::GET, &format!("/contacts?limit=1&cursor={next}"), None).await;
        assert_apideck_error(&r, 400, "InvalidCursorError");
        assert_eq!(apideck(&app, Method::GET, &format!("/contacts/{id}"), None).await.status, 200);
        app.finish().await;
    }
}

#[tokio::test]
async fn a_contact_made_over_apideck_is_the_one_onepage_and_sell_change() {
    for app in apps().await {
        let id = created(
            &app,
            "/contacts",
            json!({"first_name": "Grace", "last_name": "Hopper", "emails": [{"email": "grace@navy.test", "type": "work"}]}),
        )
        .await;
        let n: i64 = id.parse().unwrap_or_default();
        let hex = kith_onepage::wire::hex_id(n);

        let r = app.op(Method::GET, &format!("/contacts/{hex}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["contact"]["last_name"], "Hopper");
        let r = app
            .op(Method::PUT, &format!("/contacts/{hex}?partial=true"), Some(json!({"job_title": "Rear Admiral"})))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);

        let r = sell(&app, Method::GET, &format!("/contacts/{n}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["title"], "Rear Admiral");
        let r =
            sell(&app, Method::PUT, &format!("/contacts/{n}"), Some(json!({"data": {"description": "COBOL"}}))).await;
        assert_eq!(r.status, 200, "{}", r.body);

        let r = apideck(&app, Method::GET, &format!("/contacts/{id}"), None).await;
        assert_eq!(r.body["data"]["title"], "Rear Admiral");
        assert_eq!(r.body["data"]["description"], "COBOL");
        assert_eq!(r.body["data"]["emails"][0]["email"], "grace@navy.test");
        app.finish().await;
    }
}

#[tokio::test]
async fn companies_opportunities_leads_and_notes_over_the_shared_model() {
    for app in apps().await {
        // A company field to carry custom values.
        let def = app
            .crm
            .create_custom_field(
                kith_domain::Actor { account_id: app.owner.account_id, user_id: app.owner.user_id },
                kith_domain::custom_fields::NewCustomField {
                    entity_kind: "company".into(),
                    name: "Tier".into(),
                    kind: kith_domain::custom_fields::FieldKind::Text,
                    choices: vec![],
                    position: None,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let company = created(
            &app,
            "/companies",
            json!({
                "name": "Initech", "industry": "Software",
                "websites": [{"url": "https://initech.test", "type": "primary"}],
                "custom_fields": [{"name": "Tier", "value": "Gold"}],
            }),
        )
        .await;
        let r = apideck(&app, Method::GET, &format!("/companies/{company}"), None).await;
        assert_eq!(r.body["data"]["name"], "Initech");
        assert_eq!(r.body["data"]["websites"][0]["url"], "https://initech.test");
        assert_eq!(
            r.body["data"]["custom_fields"],
            json!([{"id": def.id.to_string(), "name": "Tier", "value": "Gold"}])
        );
        let r =
            apideck(&app, Method::PATCH, &format!("/companies/{company}"), Some(json!({"description": "TPS"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::GET, "/companies?filter[name]=initech&sort[by]=name&sort[direction]=desc", None)
            .await;
        assert_eq!(ids(&r), vec![company.clone()]);
        assert_eq!(r.body["data"][0]["description"], "TPS");

        let person = created(&app, "/contacts", json!({"last_name": "Lumbergh", "company_id": company})).await;
        let deal = created(
            &app,
            "/opportunities",
            json!({"title": "Upgrade", "primary_contact_id": person, "monetary_amount": 1250.5, "currency": "USD", "win_probability": 40}),
        )
        .await;
        let r = apideck(&app, Method::GET, &format!("/opportunities/{deal}"), None).await;
        let d = &r.body["data"];
        assert_eq!(d["title"], "Upgrade");
        assert_eq!(d["monetary_amount"], 1250.5);
        assert_eq!(d["currency"], "USD");
        assert_eq!(d["primary_contact_id"], person.as_str());
        assert_eq!(d["company_id"], company.as_str());
        assert_eq!(d["status"], "open");
        let r =
            apideck(&app, Method::PATCH, &format!("/opportunities/{deal}"), Some(json!({"monetary_amount": 99}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::GET, "/opportunities?filter[monetary_amount]=99&sort[by]=monetary_amount", None)
            .await;
        assert_eq!(ids(&r), vec![deal.clone()]);
        let r = apideck(
            &app,
            Method::GET,
            &format!("/opportunities?filter[primary_contact_id]={person}&filter[status]=open"),
            None,
        )
        .await;
        assert_eq!(ids(&r), vec![deal.clone()]);
        // The same deal over Sell.
        let r = sell(&app, Method::GET, &format!("/deals/{deal}"), None).await;
        assert_eq!(r.body["data"]["name"], "Upgrade", "{}", r.body);

        let lead = created(
            &app,
            "/leads",
            json!({"name": "Milton Waddams", "company_name": "Initech", "emails": [{"email": "milton@initech.test"}]}),
        )
        .await;
        let r = apideck(&app, Method::GET, &format!("/leads/{lead}"), None).await;
        assert_eq!(r.body["data"]["first_name"], "Milton");
        assert_eq!(r.body["data"]["last_name"], "Waddams");
        assert_eq!(r.body["data"]["name"], "Milton Waddams");
        let r = apideck(&app, Method::PATCH, &format!("/leads/{lead}"), Some(json!({"title": "Collator"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::GET, "/leads?filter[email]=milton@initech.test&sort[by]=last_name", None).await;
        assert_eq!(ids(&r), vec![lead.clone()]);
        assert_eq!(r.body["data"][0]["title"], "Collator");

        let note = created(&app, "/notes", json!({"content": "Stapler missing", "contact_id": person})).await;
        let r =
            apideck(&app, Method::PATCH, &format!("/notes/{note}"), Some(json!({"content": "Stapler found"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::GET, &format!("/notes/{note}"), None).await;
        assert_eq!(r.body["data"]["content"], "Stapler found");
        assert_eq!(r.body["data"]["contact_id"], person.as_str());
        let r = apideck(&app, Method::GET, &format!("/notes?filter[owner_id]={}", app.owner.user_id), None).await;
        assert_eq!(ids(&r), vec![note.clone()]);

        for path in [format!("/notes/{note}"), format!("/leads/{lead}"), format!("/opportunities/{deal}")] {
            let r = apideck(&app, Method::DELETE, &path, None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            assert_apideck_error(&apideck(&app, Method::GET, &path, None).await, 404, "EntityNotFoundError");
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn users_and_pipelines_are_listed_with_stages() {
    for app in apps().await {
        let r = apideck(&app, Method::GET, "/users", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let me = app.owner.user_id.to_string();
        assert_eq!(ids(&r), vec![me.clone()]);
        assert_eq!(r.body["data"][0]["emails"][0]["email"], "owner@acme.test");
        let r = apideck(&app, Method::GET, "/users?filter[email]=owner@acme.test", None).await;
        assert_eq!(ids(&r), vec![me.clone()]);
        let r = apideck(&app, Method::GET, "/users?filter[email]=nobody@acme.test", None).await;
        assert!(ids(&r).is_empty());
        let r = apideck(&app, Method::GET, &format!("/users/{me}"), None).await;
        assert_eq!(r.body["data"]["id"], me.as_str());

        let r = apideck(&app, Method::GET, "/pipelines", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let pipeline = &r.body["data"][0];
        assert!(pipeline["stages"].as_array().is_some_and(|s| !s.is_empty()), "{}", r.body);
        let pid = pipeline["id"].as_str().unwrap_or_default().to_owned();
        let r = apideck(&app, Method::GET, &format!("/pipelines/{pid}"), None).await;
        assert_eq!(r.body["data"]["stages"], pipeline["stages"]);
        app.finish().await;
    }
}

#[test]
fn the_document_is_read() {
    assert!(openapi::APIDECK.template("/crm/contacts/1").is_some());
}
