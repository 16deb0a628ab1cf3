//! OnePage operations on contacts, bulk delete, cascade, companies and the company lifecycle.

use crate::common;

use common::{App, apps, assert_error};
use kith_onepage::wire::hex_id;
use reqwest::Method;
use serde_json::{Value, json};

async fn create(app: &App, body: Value) -> Value {
    let r = app.op(Method::POST, "/contacts", Some(body)).await;
    assert_eq!(r.status, 201, "{}: {}", app.label, r.body);
    r.body["data"]["contact"].clone()
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

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn tags_status_owner_and_stars() {
    for app in apps().await {
        let c = id(&create(&app, json!({"last_name": "Tagged", "tags": ["vip"]})).await);
        let d = put(&app, &format!("/contacts/{c}/assign_tag/Hot%20lead"), None).await;
        assert_eq!(d["contact"]["tags"], json!(["vip", "Hot lead"]));
        let d = put(&app, &format!("/contacts/{c}/assign_tag/VIP"), None).await;
        assert_eq!(d["contact"]["tags"], json!(["vip", "Hot lead"]), "tags match ignoring case");
        assert_eq!(get(&app, "/contacts?tag=hot%20lead").await["total_count"], 1, "assigned tags are filterable");
        let d = put(&app, &format!("/contacts/{c}/unassign_tag/VIP"), None).await;
        assert_eq!(d["contact"]["tags"], json!(["Hot lead"]));
        assert_eq!(get(&app, "/contacts?tag=vip").await["total_count"], 0);

        let lk = app.crm.contact_lookups(actor(&app)).await.expect("lookups");
        let customer = lk.statuses.values().find(|s| s.key == "customer").expect("customer status");
        let d = put(&app, &format!("/contacts/{c}/change_status/{}", hex_id(customer.id)), None).await;
        assert_eq!(d["contact"]["status"], "Customer");
        let r = app.op(Method::PUT, &format!("/contacts/{c}/change_status/{}", hex_id(12_345_678)), None).await;
        assert_error(&r, 404, "resource_not_found");

        let (colleague, _) = app.crm.add_user(app.owner.account_id, "col@acme.test", "user").await.expect("user");
        let d = put(&app, &format!("/contacts/{c}/change_owner/{}", hex_id(colleague.id)), None).await;
        assert_eq!(d["contact"]["owner_id"], hex_id(colleague.id));
        let rival = app.other_account().await;
        let r = app.op(Method::PUT, &format!("/contacts/{c}/change_owner/{}", hex_id(rival.user_id)), None).await;
        assert_error(&r, 404, "resource_not_found");

        assert_eq!(put(&app, &format!("/contacts/{c}/star"), None).await["contact"]["starred"], true);
        assert_eq!(get(&app, "/contacts?starred=true").await["total_count"], 1);
        assert_eq!(put(&app, &format!("/contacts/{c}/unstar"), None).await["contact"]["starred"], false);

        // Another account cannot touch the contact.
        for path in [format!("/contacts/{c}/star"), format!("/contacts/{c}/assign_tag/x")] {
            assert_error(&app.op_as(&rival, Method::PUT, &path, None).await, 404, "resource_not_found");
        }
        app.finish().await;
    }
}

fn actor(app: &App) -> kith_domain::Actor {
    kith_domain::Actor { account_id: app.owner.account_id, user_id: app.owner.user_id }
}

#[tokio::test]
async fn sales_cycle_closes_per_user() {
    for app in apps().await {
        let c = id(&create(&app, json!({"last_name": "Cycle"})).await);
        let r = app.op(Method::POST, &format!("/contacts/{c}/actions"), Some(json!({"text": "Follow up"}))).await;
        assert_eq!(r.status, 201, "{}", r.body);

        // Open actions of mine block a plain close.
        let r = app
            .op(Method::PUT, &format!("/contacts/{c}/close_sales_cycle"), Some(json!({"comment": "No budget"})))
            .await;
        assert_error(&r, 409, "conflict");
        let r = app
            .op(Method::PUT, &format!("/contacts/{c}/close_sales_cycle"), Some(json!({"comment": "x".repeat(141)})))
            .await;
        assert_error(&r, 400, "invalid_request_data");

        // Forcing deletes them first.
        let d =
            put(&app, &format!("/contacts/{c}/force_close_sales_cycle"), Some(json!({"comment": "No budget"}))).await;
        assert_eq!(d["contact"]["sales_closed_for"], json!([hex_id(app.owner.user_id)]));
        assert_eq!(d["contact"]["closed_sales"][0]["comment"], "No budget");
        assert_eq!(d["next_actions"], json!([]));
        assert_eq!(get(&app, &format!("/contacts/{c}/actions")).await["total_count"], 0);

        let d = put(&app, &format!("/contacts/{c}/reopen_sales_cycle"), None).await;
        assert_eq!(d["contact"]["sales_closed_for"], json!([]));
        // Without actions a plain close works.
        let d = put(&app, &format!("/contacts/{c}/close_sales_cycle"), Some(json!({}))).await;
        assert_eq!(d["contact"]["sales_closed_for"], json!([hex_id(app.owner.user_id)]));
        app.finish().await;
    }
}

#[tokio::test]
async fn a_company_lives_only_with_its_contacts() {
    for app in apps().await {
        let a = create(&app, json!({"last_name": "First", "company_name": "Solo Ltd"})).await;
        let b = create(&app, json!({"last_name": "Second", "company_name": "solo ltd"})).await;
        let company = a["company_id"].as_str().expect("company").to_owned();
        assert_eq!(b["company_id"], company);
        let co = get(&app, &format!("/companies/{company}")).await;
        assert_eq!(co["company"]["name"], "Solo Ltd");
        assert_eq!(co["company"]["contacts_count"], 2);

        // Splitting one away keeps the company; the last one away deletes it.
        let d = put(&app, &format!("/contacts/{}/split", id(&a)), Some(json!({"company_name": "New Co"}))).await;
        assert_eq!(d["contact"]["company_name"], "New Co");
        assert_eq!(get(&app, &format!("/companies/{company}")).await["company"]["contacts_count"], 1);
        let d = put(&app, &format!("/contacts/{}/split", id(&b)), Some(json!({}))).await;
        assert!(d["contact"].get("company_id").is_none(), "{}", d["contact"]);
        assert_error(&app.op(Method::GET, &format!("/companies/{company}"), None).await, 404, "resource_not_found");

        // Deleting the last contact deletes the company; undo brings both back.
        let c = create(&app, json!({"last_name": "Only", "company_name": "Fragile Inc"})).await;
        let fragile = c["company_id"].as_str().expect("company").to_owned();
        assert_eq!(app.op(Method::DELETE, &format!("/contacts/{}", id(&c)), None).await.status, 200);
        assert_error(&app.op(Method::GET, &format!("/companies/{fragile}"), None).await, 404, "resource_not_found");
        assert_eq!(app.op(Method::DELETE, &format!("/contacts/{}?undo=true", id(&c)), None).await.status, 200);
        assert_eq!(get(&app, &format!("/companies/{fragile}")).await["company"]["name"], "Fragile Inc");

        // Renaming a company renames it on its contacts.
        let co = put(
            &app,
            &format!("/companies/{fragile}"),
            Some(json!({"name": "Sturdy Inc", "phone": "123", "address": {"city": "Cork", "country_code": "ie"}})),
        )
        .await;
        assert_eq!(co["company"]["name"], "Sturdy Inc");
        assert_eq!(co["company"]["address"]["country_code"], "IE");
        assert_eq!(get(&app, &format!("/contacts/{}", id(&c))).await["contact"]["company_name"], "Sturdy Inc");
        let r =
            app.op(Method::PUT, &format!("/companies/{fragile}"), Some(json!({"name": "", "description": 5}))).await;
        assert_error(&r, 400, "invalid_request_data");
        let r = app.op(Method::PUT, &format!("/companies/{fragile}"), Some(json!({"name": "n".repeat(56)}))).await;
        assert_error(&r, 400, "invalid_request_data");

        // Listing, filtering and sorting companies.
        let list = get(&app, "/companies?sort_by=name&order=desc").await;
        let names: Vec<&str> = list["companies"]
            .as_array()
            .expect("companies")
            .iter()
            .map(|c| c["company"]["name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(names, vec!["Sturdy Inc", "New Co"]);
        assert_eq!(get(&app, "/companies?name=sturdy").await["total_count"], 1);
        assert_eq!(get(&app, "/companies?letter=n").await["total_count"], 1);
        assert_error(&app.op(Method::GET, "/companies?sort_by=size", None).await, 400, "invalid_request_data");
        let rival = app.other_account().await;
        assert_error(
            &app.op_as(&rival, Method::GET, &format!("/companies/{fragile}"), None).await,
            404,
            "resource_not_found",
        );
        assert_eq!(app.op_as(&rival, Method::GET, "/companies", None).await.body["data"]["total_count"], 0);
        app.finish().await;
    }
}

#[tokio::test]
async fn synced_status_keeps_a_company_on_one_status() {
    for app in apps().await {
        let a = create(&app, json!({"last_name": "A", "company_name": "Synced"})).await;
        let b = create(&app, json!({"last_name": "B", "company_name": "Synced"})).await;
        let company = a["company_id"].as_str().expect("company").to_owned();
        let lk = app.crm.contact_lookups(actor(&app)).await.expect("lookups");
        let status = |key: &str| hex_id(lk.statuses.values().find(|s| s.key == key).expect("status").id);
        let r = app
            .op(
                Method::POST,
                &format!("/companies/{company}/synced_status"),
                Some(json!({"status_id": status("prospect")})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["data"]["company"]["syncing_status"], true);
        assert_eq!(get(&app, &format!("/contacts/{}", id(&b))).await["contact"]["status"], "Prospect");
        put(&app, &format!("/contacts/{}/change_status/{}", id(&a), status("customer")), None).await;
        assert_eq!(get(&app, &format!("/contacts/{}", id(&b))).await["contact"]["status"], "Customer", "peers follow");
        let r = app.op(Method::DELETE, &format!("/companies/{company}/synced_status"), None).await;
        assert_eq!(r.body["data"]["company"]["syncing_status"], false, "{}", r.body);
        put(&app, &format!("/contacts/{}/change_status/{}", id(&a), status("lead")), None).await;
        assert_eq!(get(&app, &format!("/contacts/{}", id(&b))).await["contact"]["status"], "Customer");
        let r = app.op(Method::POST, &format!("/companies/{company}/synced_status"), Some(json!({}))).await;
        assert_error(&r, 400, "invalid_request_data");
        app.finish().await;
    }
}

#[tokio::test]
async fn bulk_delete_and_cascade() {
    for app in apps().await {
        let mut ids = Vec::new();
        for i in 0..105 {
            let r = app.op(Method::POST, "/contacts", Some(json!({"last_name": format!("Bulk {i:03}")}))).await;
            ids.push(r.body["data"]["contact"]["id"].as_str().expect("id").to_owned());
        }
        let first = get(&app, "/contacts/cascade").await;
        assert_eq!(first["contacts"].as_array().map(Vec::len), Some(100));
        assert_eq!(first["total_count"], 105);
        let last = first["contacts"][99]["contact"]["id"].as_str().expect("id").to_owned();
        let rest = get(&app, &format!("/contacts/cascade/{last}")).await;
        let rest_ids: Vec<&str> = rest["contacts"]
            .as_array()
            .expect("contacts")
            .iter()
            .map(|c| c["contact"]["id"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(rest_ids, ids[100..].iter().map(String::as_str).collect::<Vec<_>>());

        // All or nothing: an unknown id deletes none.
        let r = app.op(Method::DELETE, &format!("/contacts/delete?ids={},{}", ids[0], hex_id(98_765_432)), None).await;
        assert_error(&r, 404, "resource_not_found");
        assert_eq!(get(&app, "/contacts").await["total_count"], 105);
        let r = app.op(Method::DELETE, &format!("/contacts/delete?ids={},{}", ids[0], ids[1]), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(get(&app, "/contacts").await["total_count"], 103);
        assert_error(&app.op(Method::DELETE, "/contacts/delete?ids=nope", None).await, 400, "invalid_request_data");
        assert_error(&app.op(Method::DELETE, "/contacts/delete", None).await, 400, "invalid_request_data");
        let rival = app.other_account().await;
        let r = app.op_as(&rival, Method::DELETE, &format!("/contacts/delete?ids={}", ids[2]), None).await;
        assert_error(&r, 404, "resource_not_found");
        assert_eq!(app.op_as(&rival, Method::GET, "/contacts/cascade", None).await.body["data"]["total_count"], 0);
        app.finish().await;
    }
}

#[tokio::test]
async fn linked_contacts_of_a_company() {
    for app in apps().await {
        let insider = create(&app, json!({"last_name": "Insider", "company_name": "Hub Ltd"})).await;
        let company = insider["company_id"].as_str().expect("company").to_owned();
        let outsider = id(&create(&app, json!({"last_name": "Outsider", "company_name": "Elsewhere"})).await);
        let r = app
            .op(Method::POST, &format!("/companies/{company}/linked_contacts"), Some(json!({"contact_id": outsider})))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["data"]["linked_contact"]["contact"]["last_name"], "Outsider");
        assert_eq!(r.body["data"]["linked_contact"]["linked_with"], json!([id(&insider)]));
        let r = app
            .op(Method::POST, &format!("/companies/{company}/linked_contacts"), Some(json!({"contact_id": outsider})))
            .await;
        assert_error(&r, 409, "conflict");
        let r = app
            .op(
                Method::POST,
                &format!("/companies/{company}/linked_contacts"),
                Some(json!({"contact_id": id(&insider)})),
            )
            .await;
        assert_error(&r, 400, "invalid_request_data");
        assert_error(
            &app.op(Method::POST, &format!("/companies/{company}/linked_contacts"), Some(json!({}))).await,
            400,
            "invalid_request_data",
        );
        let list = get(&app, &format!("/companies/{company}/linked_contacts")).await;
        assert_eq!(list["total_count"], 1);
        let r = app.op(Method::DELETE, &format!("/companies/{company}/linked_contacts/{outsider}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(get(&app, &format!("/companies/{company}/linked_contacts")).await["total_count"], 0);
        assert_error(
            &app.op(Method::DELETE, &format!("/companies/{company}/linked_contacts/{outsider}"), None).await,
            404,
            "resource_not_found",
        );
        let rival = app.other_account().await;
        assert_error(
            &app.op_as(&rival, Method::GET, &format!("/companies/{company}/linked_contacts"), None).await,
            404,
            "resource_not_found",
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn stars_are_per_user() {
    for app in apps().await {
        let (col, col_key) = app.crm.add_user(app.owner.account_id, "col@acme.test", "user").await.expect("user");
        let colleague = kith_domain::NewAccount { account_id: app.owner.account_id, user_id: col.id, key: col_key };
        let c = id(&create(&app, json!({"last_name": "Starry", "starred": true})).await);
        create(&app, json!({"last_name": "Plain"})).await;
        assert_eq!(get(&app, &format!("/contacts/{c}")).await["contact"]["starred"], true);
        let theirs = app.op_as(&colleague, Method::GET, &format!("/contacts/{c}"), None).await;
        assert_eq!(theirs.body["data"]["contact"]["starred"], false, "my star is mine");
        assert_eq!(
            app.op_as(&colleague, Method::GET, "/contacts?starred=true", None).await.body["data"]["total_count"],
            0
        );
        assert_eq!(
            app.op_as(&colleague, Method::GET, "/contacts?starred=false", None).await.body["data"]["total_count"],
            2
        );
        let r = app.op_as(&colleague, Method::PUT, &format!("/contacts/{c}/star"), None).await;
        assert_eq!(r.body["data"]["contact"]["starred"], true, "{}", r.body);
        put(&app, &format!("/contacts/{c}/unstar"), None).await;
        assert_eq!(get(&app, "/contacts?starred=true").await["total_count"], 0);
        assert_eq!(
            app.op_as(&colleague, Method::GET, "/contacts?starred=true", None).await.body["data"]["total_count"],
            1
        );
        // A partial update that does not mention the star keeps it.
        app.op_as(
            &colleague,
            Method::PUT,
            &format!("/contacts/{c}?partial=true"),
            Some(json!({"job_title": "Astronomer"})),
        )
        .await;
        assert_eq!(
            app.op_as(&colleague, Method::GET, &format!("/contacts/{c}"), None).await.body["data"]["contact"]["starred"],
            true
        );
        app.finish().await;
    }
}
