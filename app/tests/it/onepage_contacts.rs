//! The OnePage contacts endpoints in the wire format of the OnePage v3 document.

use crate::common;

use common::{App, apps, assert_error};
use reqwest::Method;
use serde_json::{Value, json};

async fn create(app: &App, body: Value) -> Value {
    let r = app.op(Method::POST, "/contacts", Some(body)).await;
    assert_eq!(r.status, 201, "{}: {}", app.label, r.body);
    r.body["data"]["contact"].clone()
}

fn names(body: &Value) -> Vec<String> {
    body["data"]["contacts"]
        .as_array()
        .expect("contacts array")
        .iter()
        .map(|c| c["contact"]["last_name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn create_get_update_delete_and_undo() {
    for app in apps().await {
        let r = app
            .op(
                Method::POST,
                "/contacts.json",
                Some(json!({
                    "title": "Ms", "first_name": "  Ada ", "last_name": "Lovelace", "job_title": "Analyst",
                    "company_name": "Analytical Engines", "starred": true,
                    "emails": [{"type": "work", "value": "ada@engines.test"}],
                    "phones": [{"type": "mobile", "value": "+353 1 234"}],
                    "urls": [{"type": "website", "value": "https://engines.test"}],
                    "address_list": [{"address": "1 Main St", "city": "London", "country_code": "gb", "type": "work"}],
                    "tags": ["VIP", "vip", "math"], "lead_source_id": "email_web", "background": "Met at a conference"
                })),
            )
            .await;
        assert_eq!(r.status, 201, "{}: {}", app.label, r.body);
        assert_eq!(r.body["status"], 0);
        assert_eq!(r.body["message"], "OK");
        assert!(r.body["timestamp"].as_i64().is_some_and(|t| t > 1_700_000_000));
        let c = &r.body["data"]["contact"];
        let id = c["id"].as_str().expect("id").to_owned();
        assert_eq!(id.len(), 24);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(c["first_name"], "Ada", "strings are trimmed");
        assert_eq!(c["title"], "Ms");
        assert_eq!(c["starred"], true);
        assert_eq!(c["company_name"], "Analytical Engines");
        assert_eq!(c["company_size"], 1);
        assert_eq!(c["status"], "Lead", "new contacts get the lead status");
        assert_eq!(c["owner_id"], kith_onepage::wire::hex_id(app.owner.user_id));
        assert_eq!(c["tags"], json!(["VIP", "math"]), "duplicate tags ignoring case are dropped");
        assert_eq!(c["lead_source_id"], "email_web");
        assert_eq!(c["lead_source"], "Email or Web");
        assert_eq!(c["letter"], "l");
        assert_eq!(c["emails"], json!([{"type": "work", "value": "ada@engines.test"}]));
        assert_eq!(c["address_list"][0]["country_code"], "GB");
        assert!(c["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));

        // A second contact naming the same company (other case) joins it.
        let bob =
            create(&app, json!({"first_name": "Bob", "last_name": "Babbage", "company_name": "analytical engines"}))
                .await;
        assert_eq!(bob["company_id"], c["company_id"]);
        let got = app.op(Method::GET, &format!("/contacts/{id}.json"), None).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.body["data"]["contact"]["company_size"], 2);

        // Partial update changes only what is sent; arrays replace.
        let r = app
            .op(
                Method::PUT,
                &format!("/contacts/{id}?partial=true"),
                Some(json!({"job_title": "Countess", "tags": ["poet"]})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let c2 = &r.body["data"]["contact"];
        assert_eq!(c2["job_title"], "Countess");
        assert_eq!(c2["first_name"], "Ada");
        assert_eq!(c2["tags"], json!(["poet"]));
        assert_eq!(c2["company_name"], "Analytical Engines");

        // A full update clears what is left out.
        let r = app.op(Method::PUT, &format!("/contacts/{id}"), Some(json!({"last_name": "King"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let c3 = &r.body["data"]["contact"];
        assert_eq!(c3["last_name"], "King");
        assert_eq!(c3["first_name"], "");
        assert_eq!(c3["tags"], json!([]));
        assert_eq!(c3["emails"], json!([]));
        assert_eq!(c3["company_id"], Value::Null);
        assert_eq!(c3["starred"], false);

        // Delete, then it is gone; undo brings it back.
        let r = app.op(Method::DELETE, &format!("/contacts/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"], json!({}));
        assert_error(&app.op(Method::GET, &format!("/contacts/{id}"), None).await, 404, "resource_not_found");
        assert_error(&app.op(Method::DELETE, &format!("/contacts/{id}"), None).await, 404, "resource_not_found");
        let r = app.op(Method::DELETE, &format!("/contacts/{id}?undo=true"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["contact"]["last_name"], "King");
        assert_eq!(app.op(Method::GET, &format!("/contacts/{id}"), None).await.status, 200);
        // Undo of a contact that is not deleted is a 404.
        assert_error(
            &app.op(Method::DELETE, &format!("/contacts/{id}?undo=true"), None).await,
            404,
            "resource_not_found",
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn list_filters_sorts_and_pages() {
    for app in apps().await {
        for (first, last, company, tag, starred) in [
            ("Ann", "Zed", Some("Acme"), "red", false),
            ("bob", "young", None, "blue", true),
            ("Cid", "Xu", Some("Beta"), "red", false),
            ("Dee", "walsh", Some("Acme"), "green", true),
            ("Eve", "Vance", None, "RED", false),
        ] {
            let mut body = json!({"first_name": first, "last_name": last, "tags": [tag], "starred": starred,
                "emails": [{"type": "work", "value": format!("{}@example.test", first.to_lowercase())},
                           {"type": "home", "value": format!("{}@Home.test", first.to_lowercase())}],
                "urls": [{"type": "website", "value": format!("https://{}.example.org", last.to_lowercase())}]});
            if let Some(c) = company {
                body["company_name"] = json!(c);
            }
            create(&app, body).await;
        }
        let list = |q: &str| {
            let app = &app;
            let q = q.to_owned();
            async move {
                let r = app.op(Method::GET, &format!("/contacts{q}"), None).await;
                assert_eq!(r.status, 200, "{} {q}: {}", app.label, r.body);
                r.body
            }
        };
        // Default: by name (last name, ignoring case), 10 per page.
        let all = list("").await;
        assert_eq!(names(&all), ["Vance", "walsh", "Xu", "young", "Zed"]);
        assert_eq!(all["data"]["total_count"], 5);
        assert_eq!(all["data"]["per_page"], 10);
        assert_eq!(all["data"]["max_page"], 1);
        assert_eq!(names(&list("?sort_by=first_name&order=desc").await), ["Vance", "walsh", "Xu", "young", "Zed"]);
        assert_eq!(names(&list("?sort_by=last_name&order=desc").await), ["Zed", "young", "Xu", "walsh", "Vance"]);
        // Tags match ignoring case.
        assert_eq!(names(&list("?tag=red").await), ["Vance", "Xu", "Zed"]);
        assert_eq!(names(&list("?starred=true").await), ["walsh", "young"]);
        assert_eq!(names(&list("?search=acm").await), ["walsh", "Zed"]);
        assert_eq!(names(&list("?search=dee%20acme").await), ["walsh"]);
        assert_eq!(names(&list("?email=cid@example.test").await), ["Xu"]);
        // Any of a contact's addresses matches, ignoring case, but only whole.
        assert_eq!(names(&list("?email=CID@home.test").await), ["Xu"]);
        assert_eq!(names(&list("?email=id@home.test").await), Vec::<String>::new());
        assert_eq!(names(&list("?url=walsh.example").await), ["walsh"]);
        assert_eq!(names(&list("?letter=W").await), ["walsh"]);
        // Paging: page 2 of 2 per page, with totals.
        let p2 = list("?per_page=2&page=2").await;
        assert_eq!(names(&p2), ["Xu", "young"]);
        assert_eq!(p2["data"]["page"], 2);
        assert_eq!(p2["data"]["max_page"], 3);
        assert_eq!(p2["data"]["total_count"], 5);
        assert_eq!(names(&list("?per_page=2&page=9").await), Vec::<String>::new());
        // Filters by id: company and owner.
        let acme = list("?search=acme").await["data"]["contacts"][0]["contact"]["company_id"].clone();
        assert_eq!(names(&list(&format!("?company_id={}", acme.as_str().expect("id"))).await), ["walsh", "Zed"]);
        let me = kith_onepage::wire::hex_id(app.owner.user_id);
        assert_eq!(list(&format!("?owner_id={me}")).await["data"]["total_count"], 5);
        // Date ranges.
        assert_eq!(list("?date_filter=created_at&since=2000-01-01").await["data"]["total_count"], 5);
        assert_eq!(list("?modified_since=2999-01-01").await["data"]["total_count"], 0);
        assert_eq!(list("?unmodified_since=2999-01-01").await["data"]["total_count"], 5);
        app.finish().await;
    }
}

#[tokio::test]
async fn custom_fields_are_typed_and_filterable() {
    for app in apps().await {
        let actor = kith_domain::Actor { account_id: app.owner.account_id, user_id: app.owner.user_id };
        let size = app
            .crm
            .create_custom_field(
                actor,
                kith_domain::custom_fields::NewCustomField {
                    entity_kind: "contact".into(),
                    name: "Size".into(),
                    kind: kith_domain::custom_fields::FieldKind::Dropdown,
                    choices: vec!["Small".into(), "Large".into()],
                    position: None,
                },
            )
            .await
            .expect("custom field");
        let size_id = kith_onepage::wire::hex_id(size.id);
        let c = create(
            &app,
            json!({"last_name": "Big", "custom_fields": [{"custom_field": {"id": size_id}, "value": "Large"}]}),
        )
        .await;
        assert_eq!(c["custom_fields"][0]["value"], "Large");
        assert_eq!(c["custom_fields"][0]["custom_field"]["type"], "select_box");
        create(
            &app,
            json!({"last_name": "Small", "custom_fields": [{"custom_field": {"name": "size"}, "value": "Small"}]}),
        )
        .await;
        let r = app
            .op(
                Method::POST,
                "/contacts",
                Some(
                    json!({"last_name": "Bad", "custom_fields": [{"custom_field": {"id": size_id}, "value": "Huge"}]}),
                ),
            )
            .await;
        assert_error(&r, 400, "invalid_request_data");
        let r =
            app.op(Method::GET, &format!("/contacts?custom_field_id={size_id}&custom_field_value=Large"), None).await;
        assert_eq!(names(&r.body), ["Big"]);
        app.finish().await;
    }
}

#[tokio::test]
async fn bad_input_gets_onepage_errors_never_500() {
    for app in apps().await {
        let cases: Vec<(Value, &str)> = vec![
            (json!({}), "last_name"),
            (json!({"first_name": "Only"}), "last_name"),
            (json!({"last_name": 5}), "last_name"),
            (json!({"last_name": "x".repeat(26)}), "last_name"),
            (json!({"last_name": "A", "title": "Sir"}), "title"),
            (json!({"last_name": "A", "emails": [{"type": "fax", "value": "a@b.test"}]}), "emails[0].type"),
            (json!({"last_name": "A", "emails": [{"type": "work", "value": "not-an-email"}]}), "emails[0].value"),
            (json!({"last_name": "A", "emails": "a@b.test"}), "emails"),
            (json!({"last_name": "A", "status_id": "zz"}), "status_id"),
            (json!({"last_name": "A", "status_id": "000000000000000000000001"}), "status_id"),
            (json!({"last_name": "A", "lead_source_id": "carrier_pigeon"}), "lead_source_id"),
            (json!({"last_name": "A", "starred": "yes"}), "starred"),
            (json!({"last_name": "A", "address_list": [{}, {}, {}]}), "address_list"),
            (json!({"last_name": "A", "owner_id": "000000000000000000000001"}), "owner_id"),
        ];
        for (body, field) in cases {
            let r = app.op(Method::POST, "/contacts", Some(body.clone())).await;
            assert_error(&r, 400, "invalid_request_data");
            assert!(r.body["errors"].get(field).is_some(), "{}: {body} should flag {field}: {}", app.label, r.body);
        }
        // Malformed JSON, non-object JSON.
        for raw in ["{\"last_name\": ", "[1,2]", "\"x\""] {
            let req = app
                .client
                .post(format!("{}/api/v3/contacts", app.base))
                .basic_auth(kith_onepage::wire::hex_id(app.owner.user_id), Some(&app.owner.key.secret))
                .header("content-type", "application/json")
                .body(raw);
            assert_error(&app.send(req, None).await, 400, "invalid_request_data");
        }
        // Too large a body.
        let big = json!({"last_name": "A", "background": "x".repeat(100 * 1024)});
        assert_error(&app.op(Method::POST, "/contacts", Some(big)).await, 413, "request_entity_too_large");
        // Unknown and malformed ids, bad list parameters.
        assert_error(&app.op(Method::GET, "/contacts/000000000000000000000001", None).await, 404, "resource_not_found");
        assert_error(&app.op(Method::GET, "/contacts/not-an-id", None).await, 404, "resource_not_found");
        assert_error(&app.op(Method::GET, "/contacts/ffffffffffffffffffffffff", None).await, 404, "resource_not_found");
        for q in [
            "per_page=101",
            "per_page=0",
            "page=0",
            "page=x",
            "sort_by=salary",
            "order=up",
            "starred=maybe",
            "since=2020-01-01",
            "date_filter=created_at&since=yesterday",
            "status_id=123",
        ] {
            assert_error(&app.op(Method::GET, &format!("/contacts?{q}"), None).await, 400, "invalid_request_data");
        }
        assert_error(&app.op(Method::GET, "/nowhere", None).await, 404, "resource_not_found");
        assert_error(
            &app.op(Method::POST, "/contacts/000000000000000000000001", None).await,
            405,
            "method_not_allowed",
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn authentication_is_http_basic_user_id_and_key() {
    for app in apps().await {
        let url = format!("{}/api/v3/contacts", app.base);
        let user = kith_onepage::wire::hex_id(app.owner.user_id);
        let ok = app.send(app.client.get(&url).basic_auth(&user, Some(&app.owner.key.secret)), None).await;
        assert_eq!(ok.status, 200);
        for req in [
            app.client.get(&url),
            app.client.get(&url).basic_auth(&user, Some("wrong")),
            app.client.get(&url).basic_auth("000000000000000000000001", Some(&app.owner.key.secret)),
            app.client.get(&url).basic_auth("nonsense", Some(&app.owner.key.secret)),
            app.client.get(&url).bearer_auth(&app.owner.key.secret),
        ] {
            assert_error(&app.send(req, None).await, 401, "authorization_data_not_found");
        }
        // A rotated key stops working at once; the new one works.
        let new = app.crm.rotate_key(app.owner.account_id, app.owner.key.key_id).await.expect("rotate");
        let old = app.send(app.client.get(&url).basic_auth(&user, Some(&app.owner.key.secret)), None).await;
        assert_error(&old, 401, "authorization_data_not_found");
        let fresh = app.send(app.client.get(&url).basic_auth(&user, Some(&new.secret)), None).await;
        assert_eq!(fresh.status, 200);
        app.crm.revoke_key(app.owner.account_id, new.key_id).await.expect("revoke");
        let revoked = app.send(app.client.get(&url).basic_auth(&user, Some(&new.secret)), None).await;
        assert_error(&revoked, 401, "authorization_data_not_found");
        app.finish().await;
    }
}
