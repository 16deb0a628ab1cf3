//! The Apideck dialect's writes of the account's team and pipelines, its lists (saved contact
//! filters) with their members, and custom object schemas with their objects, on every backend,
//! each answer checked against Apideck's OpenAPI document.

use kith_domain::NewAccount;
use kith_domain::saved_filters::Condition;
use reqwest::Method;
use serde_json::json;

use crate::common::apideck::{apideck, apideck_as, assert_apideck_error, created, ids};
use crate::common::sell::sell;
use crate::common::{App, apps};

/// Every id of a list, walked page by page with `limit`.
async fn walk(app: &App, path: &str, limit: usize) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut url = format!("{path}{sep}limit={limit}");
    loop {
        let r = apideck(app, Method::GET, &url, None).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        let page = ids(&r);
        assert!(page.len() <= limit);
        out.extend(page);
        match r.body["meta"]["cursors"]["next"].as_str() {
            Some(next) => {
                assert!(
                    r.body["links"]["next"].as_str().is_some_and(|l| l.contains(path.split('?').next().unwrap_or("")))
                );
                url = format!("{path}{sep}limit={limit}&cursor={next}");
            }
            None => return out,
        }
    }
}

async fn member_of(app: &App, email: &str, role: &str) -> NewAccount {
    let (user, key) = app.crm.add_user(app.owner.account_id, email, role).await.expect("add user");
    NewAccount { account_id: app.owner.account_id, user_id: user.id, key }
}

#[tokio::test]
async fn users_are_added_changed_and_removed_unless_they_own_records() {
    for app in apps().await {
        let id = created(
            &app,
            "/users",
            json!({"first_name": "Grace", "last_name": "Hopper", "emails": [{"email": "Grace@Acme.test", "type": "primary"}],
                   "phone_numbers": [{"number": "+1 555 0100"}], "company_name": "Navy", "password": "ignored"}),
        )
        .await;
        let r = apideck(&app, Method::GET, &format!("/users/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let u = &r.body["data"];
        assert_eq!(u["name"], "Grace Hopper");
        assert_eq!(u["emails"][0]["email"], "grace@acme.test");
        assert_eq!(u["phone_numbers"][0]["number"], "+1 555 0100");
        assert_eq!(u["status"], "active");
        assert!(u.get("password").is_none());
        // The same user Sell lists.
        let r = sell(&app, Method::GET, &format!("/users/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["email"], "grace@acme.test");

        // PATCH is partial.
        let r = apideck(
            &app,
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"title": "x", "last_name": "Murray Hopper"})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["operation"], "update");
        let r = apideck(&app, Method::GET, &format!("/users/{id}"), None).await;
        assert_eq!(r.body["data"]["first_name"], "Grace");
        assert_eq!(r.body["data"]["last_name"], "Murray Hopper");
        let r = apideck(&app, Method::PATCH, &format!("/users/{id}"), Some(json!({"status": "inactive"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::GET, &format!("/users/{id}"), None).await;
        assert_eq!(r.body["data"]["status"], "inactive");

        // Bad input and conflicts.
        let r = apideck(&app, Method::POST, "/users", Some(json!({"first_name": "No Email"}))).await;
        assert_apideck_error(&r, 400, "RequestValidationError");
        let r = apideck(&app, Method::POST, "/users", Some(json!({"emails": [{"email": "not-an-email"}]}))).await;
        assert_apideck_error(&r, 400, "RequestValidationError");
        let r = apideck(&app, Method::POST, "/users", Some(json!({"emails": [{"email": "grace@acme.test"}]}))).await;
        assert_apideck_error(&r, 422, "InvalidStateError");
        let r = apideck(&app, Method::PATCH, &format!("/users/{id}"), Some(json!({"status": "gone"}))).await;
        assert_apideck_error(&r, 400, "RequestValidationError");

        // A user who owns a contact stays until the contact goes to someone else.
        let contact = created(&app, "/contacts", json!({"last_name": "Owned", "owner_id": id})).await;
        let r = apideck(&app, Method::DELETE, &format!("/users/{id}"), None).await;
        assert_apideck_error(&r, 422, "InvalidStateError");
        assert!(r.body["message"].as_str().is_some_and(|m| m.contains("contacts")), "{}", r.body);
        let me = app.owner.user_id.to_string();
        let r = apideck(&app, Method::PATCH, &format!("/contacts/{contact}"), Some(json!({"owner_id": me}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::DELETE, &format!("/users/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["id"], id.as_str());
        assert_apideck_error(
            &apideck(&app, Method::GET, &format!("/users/{id}"), None).await,
            404,
            "EntityNotFoundError",
        );
        assert_eq!(ids(&apideck(&app, Method::GET, "/users", None).await), vec![me.clone()]);

        // No one removes themselves; a plain user adds and removes no one, and changes only
        // their own details.
        assert_apideck_error(
            &apideck(&app, Method::DELETE, &format!("/users/{me}"), None).await,
            422,
            "InvalidStateError",
        );
        let plain = member_of(&app, "plain@acme.test", "user").await;
        let r =
            apideck_as(&app, &plain, Method::POST, "/users", Some(json!({"emails": [{"email": "x@acme.test"}]}))).await;
        assert_apideck_error(&r, 403, "ForbiddenError");
        let r = apideck_as(&app, &plain, Method::DELETE, &format!("/users/{me}"), None).await;
        assert_apideck_error(&r, 403, "ForbiddenError");
        let r = apideck_as(&app, &plain, Method::PATCH, &format!("/users/{me}"), Some(json!({"first_name": "Hacked"})))
            .await;
        assert_apideck_error(&r, 403, "ForbiddenError");
        let path = format!("/users/{}", plain.user_id);
        let r = apideck_as(&app, &plain, Method::PATCH, &path, Some(json!({"first_name": "Plain"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // A removed user's key stops working.
        assert_eq!(apideck(&app, Method::DELETE, &path, None).await.status, 200);
        let r = apideck_as(&app, &plain, Method::GET, "/users", None).await;
        assert_apideck_error(&r, 401, "UnauthorizedError");

        // Another account's users are not found.
        let rival = app.other_account().await;
        let r =
            apideck_as(&app, &rival, Method::PATCH, &format!("/users/{me}"), Some(json!({"first_name": "X"}))).await;
        assert_apideck_error(&r, 404, "EntityNotFoundError");
        let r = apideck_as(&app, &rival, Method::DELETE, &format!("/users/{me}"), None).await;
        assert_apideck_error(&r, 404, "EntityNotFoundError");
        app.finish().await;
    }
}

#[tokio::test]
async fn pipelines_are_written_whole_with_their_stages() {
    for app in apps().await {
        let id = created(
            &app,
            "/pipelines",
            json!({"name": "Renewals", "currency": "EUR", "stages": [
                {"name": "Due", "win_probability": 20},
                {"name": "Quoted", "win_probability": 60},
                {"name": "Renewed", "win_probability": 100},
            ]}),
        )
        .await;
        let r = apideck(&app, Method::GET, &format!("/pipelines/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let stages = r.body["data"]["stages"].as_array().cloned().unwrap_or_default();
        let names: Vec<&str> = stages.iter().filter_map(|s| s["name"].as_str()).collect();
        assert_eq!(names, ["Due", "Quoted", "Renewed"]);
        assert_eq!(stages[1]["win_probability"], 60);
        let quoted = stages[1]["id"].as_str().unwrap_or_default().to_owned();
        // The same pipeline and stages Sell shows.
        let r = sell(&app, Method::GET, &format!("/stages?pipeline_id={id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["items"].as_array().map(Vec::len), Some(3), "{}", r.body);

        // A deal in a stage keeps that stage from being left out, and the pipeline from going.
        let contact = created(&app, "/contacts", json!({"last_name": "Buyer"})).await;
        let deal = created(
            &app,
            "/opportunities",
            json!({"title": "Renewal 2027", "primary_contact_id": contact, "pipeline_stage_id": quoted}),
        )
        .await;
        let r = apideck(&app, Method::PATCH, &format!("/pipelines/{id}"), Some(json!({"stages": [{"name": "Only"}]})))
            .await;
        assert_apideck_error(&r, 422, "InvalidStateError");
        assert_apideck_error(
            &apideck(&app, Method::DELETE, &format!("/pipelines/{id}"), None).await,
            422,
            "InvalidStateError",
        );

        // Stages with ids keep their rows; new ones are added, the rest removed; PATCH without
        // stages keeps them.
        let r = apideck(
            &app,
            Method::PATCH,
            &format!("/pipelines/{id}"),
            Some(json!({"name": "Renewals 2027", "stages": [
                {"id": quoted, "name": "Quote sent", "win_probability": 70, "display_order": 1},
                {"name": "Signed", "win_probability": 100, "display_order": 2},
                {"name": "Lead", "win_probability": 10, "display_order": 0},
            ]})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::PATCH, &format!("/pipelines/{id}"), Some(json!({"display_order": 7}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::GET, &format!("/pipelines/{id}"), None).await;
        let p = &r.body["data"];
        assert_eq!(p["name"], "Renewals 2027");
        assert_eq!(p["display_order"], 7);
        let names: Vec<&str> =
            p["stages"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect();
        assert_eq!(names, ["Lead", "Quote sent", "Signed"]);
        assert_eq!(p["stages"][1]["id"], quoted.as_str());
        let r = apideck(&app, Method::GET, &format!("/opportunities/{deal}"), None).await;
        assert_eq!(r.body["data"]["pipeline_stage_id"], quoted.as_str());

        // Bad input.
        for body in [
            json!({"name": ""}),
            json!({"stages": [{"name": "X", "win_probability": 101}]}),
            json!({"stages": [{"id": "999999999", "name": "X"}]}),
            json!({"stages": "no"}),
            json!({"display_order": "first"}),
        ] {
            let r = apideck(&app, Method::PATCH, &format!("/pipelines/{id}"), Some(body.clone())).await;
            assert_apideck_error(&r, 400, "RequestValidationError");
        }
        assert_apideck_error(
            &apideck(&app, Method::POST, "/pipelines", Some(json!({}))).await,
            400,
            "RequestValidationError",
        );

        // Once its deal is gone the pipeline may go; the account's last pipeline may not.
        assert_eq!(apideck(&app, Method::DELETE, &format!("/opportunities/{deal}"), None).await.status, 200);
        let r = apideck(&app, Method::DELETE, &format!("/pipelines/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_apideck_error(
            &apideck(&app, Method::GET, &format!("/pipelines/{id}"), None).await,
            404,
            "EntityNotFoundError",
        );
        let all = walk(&app, "/pipelines", 1).await;
        assert_eq!(all.len(), 1);
        assert_apideck_error(
            &apideck(&app, Method::DELETE, &format!("/pipelines/{}", all[0]), None).await,
            422,
            "InvalidStateError",
        );
        let rival = app.other_account().await;
        let r = apideck_as(&app, &rival, Method::PATCH, &format!("/pipelines/{}", all[0]), Some(json!({"name": "X"})))
            .await;
        assert_apideck_error(&r, 404, "EntityNotFoundError");
        app.finish().await;
    }
}

#[tokio::test]
async fn lists_are_saved_contact_filters_and_their_members_page_in_the_database() {
    for app in apps().await {
        for (i, last) in ["Adams", "Avery", "Baker", "Abbott", "Allen", "Cole", "Atkins"].iter().enumerate() {
            let tags = if i % 2 == 0 { json!(["vip"]) } else { json!([]) };
            created(&app, "/contacts", json!({"last_name": last, "tags": tags})).await;
        }
        let conditions = |text: &str| text.split(';').filter_map(Condition::parse).collect::<Vec<_>>();
        let a = app
            .crm
            .create_saved_filter(app.owner.account_id, "A names", conditions("last_name prefix A"))
            .await
            .expect("filter");
        let vip = app
            .crm
            .create_saved_filter(app.owner.account_id, "VIP A", conditions("last_name prefix A;tag eq vip"))
            .await
            .expect("filter");

        let r = apideck(&app, Method::GET, "/lists", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(ids(&r), vec![a.id.to_string(), vip.id.to_string()]);
        assert_eq!(r.body["data"][0]["type"], "dynamic");
        assert_eq!(r.body["data"][0]["object_type"], "contacts");
        assert_eq!(walk(&app, "/lists", 1).await.len(), 2);

        let r = apideck(&app, Method::GET, &format!("/lists/{}", a.id), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["name"], "A names");
        assert_eq!(r.body["data"]["record_count"], 5);

        let members = walk(&app, &format!("/lists/{}/members", a.id), 2).await;
        assert_eq!(members.len(), 5);
        let r = apideck(&app, Method::GET, &format!("/lists/{}/members", vip.id), None).await;
        assert_eq!(r.body["resource"], "list-members");
        assert_eq!(r.body["data"][0]["object_type"], "contacts");
        assert_eq!(ids(&r).len(), 3, "{}", r.body); // Adams, Allen and Atkins
        // A new contact that matches is a member at once.
        created(&app, "/contacts", json!({"last_name": "Ames"})).await;
        assert_eq!(walk(&app, &format!("/lists/{}/members", a.id), 4).await.len(), 6);

        // A cursor of one list's members is not another's.
        let r = apideck(&app, Method::GET, &format!("/lists/{}/members?limit=1", a.id), None).await;
        let next = r.body["meta"]["cursors"]["next"].as_str().unwrap_or_default().to_owned();
        let r = apideck(&app, Method::GET, &format!("/lists/{}/members?limit=1&cursor={next}", vip.id), None).await;
        assert_apideck_error(&r, 400, "InvalidCursorError");
        let r = apideck(&app, Method::GET, &format!("/lists/{}/members?filter[name]=x", a.id), None).await;
        assert_apideck_error(&r, 400, "UnsupportedFiltersError");
        let r = apideck(&app, Method::GET, "/lists?sort[by]=name", None).await;
        assert_apideck_error(&r, 400, "UnsupportedSortFieldError");

        // Not found: unknown ids, another account's lists, other kinds of records.
        let contact = created(&app, "/contacts", json!({"last_name": "Plain"})).await;
        for path in [format!("/lists/{contact}"), "/lists/999999999/members".to_owned(), "/lists/x".to_owned()] {
            assert_apideck_error(&apideck(&app, Method::GET, &path, None).await, 404, "EntityNotFoundError");
        }
        let rival = app.other_account().await;
        let r = apideck_as(&app, &rival, Method::GET, &format!("/lists/{}/members", a.id), None).await;
        assert_apideck_error(&r, 404, "EntityNotFoundError");
        assert!(ids(&apideck_as(&app, &rival, Method::GET, "/lists", None).await).is_empty());
        app.finish().await;
    }
}

#[tokio::test]
async fn custom_objects_follow_their_schema() {
    for app in apps().await {
        let schema = created(
            &app,
            "/custom-object-schemas",
            json!({"name": "project", "description": "A customer project", "visible": true, "fields": [
                {"name": "title", "type": "string", "required": true},
                {"name": "budget", "type": "currency"},
                {"name": "seats", "type": "integer", "default_value": "5"},
                {"name": "stage", "type": "select", "options": [{"value": "plan", "label": "Planning"}, {"value": "run"}]},
                {"name": "starts", "type": "date"},
                {"name": "public", "type": "boolean"},
            ]}),
        )
        .await;
        let r = apideck(&app, Method::GET, &format!("/custom-object-schemas/{schema}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let s = &r.body["data"];
        assert_eq!(s["name"], "project");
        assert_eq!(s["fields"].as_array().map(Vec::len), Some(6));
        assert_eq!(s["fields"][0]["id"], "title");
        assert_eq!(s["fields"][3]["options"][0], json!({"value": "plan", "label": "Planning"}));
        assert_eq!(s["created_by"], app.owner.user_id.to_string());

        let base = format!("/custom-objects/{schema}");
        let one = created(
            &app,
            &base,
            json!({"name": "Apollo", "fields": [
                {"name": "title", "value": "Moon"}, {"name": "budget", "value": 1250.5},
                {"name": "stage", "value": "plan"}, {"name": "public", "value": true},
            ]}),
        )
        .await;
        let r = apideck(&app, Method::GET, &format!("{base}/{one}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let o = &r.body["data"];
        assert_eq!(o["name"], "Apollo");
        assert_eq!(
            o["fields"],
            json!([{"name": "title", "value": "Moon"}, {"name": "budget", "value": "1250.5"},
                   {"name": "seats", "value": "5"}, {"name": "stage", "value": "plan"}, {"name": "public", "value": "true"}])
        );
        assert_eq!(o["owner_id"], app.owner.user_id.to_string());

        // Values are checked against the schema, on create and on update.
        for (fields, bad) in [
            (json!([{"name": "budget", "value": "1"}]), "fields.title"),
            (json!([{"name": "title", "value": "x"}, {"name": "seats", "value": "many"}]), "fields[1].value"),
            (json!([{"name": "title", "value": "x"}, {"name": "stage", "value": "done"}]), "fields[1].value"),
            (json!([{"name": "title", "value": "x"}, {"name": "starts", "value": "2026-13-01"}]), "fields[1].value"),
            (json!([{"name": "title", "value": "x"}, {"name": "colour", "value": "red"}]), "fields[1].name"),
        ] {
            let r = apideck(&app, Method::POST, &base, Some(json!({"name": "Bad", "fields": fields}))).await;
            assert_apideck_error(&r, 400, "RequestValidationError");
            let invalid = r.body["detail"]["invalid"].as_array().cloned().unwrap_or_default();
            assert!(invalid.iter().any(|e| e["field"] == bad), "{bad}: {}", r.body);
        }
        let r = apideck(
            &app,
            Method::PATCH,
            &format!("{base}/{one}"),
            Some(json!({"fields": [{"name": "title", "value": null}]})),
        )
        .await;
        assert_apideck_error(&r, 400, "RequestValidationError");
        // PATCH is partial.
        let r = apideck(
            &app,
            Method::PATCH,
            &format!("{base}/{one}"),
            Some(json!({"fields": [{"name": "seats", "value": "12"}]})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::GET, &format!("{base}/{one}"), None).await;
        assert_eq!(r.body["data"]["name"], "Apollo");
        assert_eq!(r.body["data"]["fields"][2], json!({"name": "seats", "value": "12"}));

        // Lists: paged by cursor, sorted in the database.
        for name in ["Gemini", "Artemis", "Mercury"] {
            created(&app, &base, json!({"name": name, "fields": [{"name": "title", "value": name}]})).await;
        }
        assert_eq!(walk(&app, &base, 3).await.len(), 4);
        let sorted = walk(&app, &format!("{base}?sort[by]=name&sort[direction]=desc"), 3).await;
        let r = apideck(&app, Method::GET, &format!("{base}?sort[by]=name&sort[direction]=desc"), None).await;
        let names: Vec<&str> =
            r.body["data"].as_array().into_iter().flatten().filter_map(|o| o["name"].as_str()).collect();
        assert_eq!(names, ["Mercury", "Gemini", "Artemis", "Apollo"]);
        assert_eq!(sorted, ids(&r));
        assert_apideck_error(
            &apideck(&app, Method::GET, &format!("{base}?sort[by]=budget"), None).await,
            400,
            "UnsupportedSortFieldError",
        );
        assert_apideck_error(
            &apideck(&app, Method::GET, &format!("{base}?filter[name]=x"), None).await,
            400,
            "UnsupportedFiltersError",
        );

        // Another schema's objects are apart; its path does not reach them.
        let other =
            created(&app, "/custom-object-schemas", json!({"name": "ticket", "fields": [{"name": "subject"}]})).await;
        assert!(ids(&apideck(&app, Method::GET, &format!("/custom-objects/{other}"), None).await).is_empty());
        let r = apideck(&app, Method::GET, &format!("/custom-objects/{other}/{one}"), None).await;
        assert_apideck_error(&r, 404, "EntityNotFoundError");
        assert_eq!(walk(&app, "/custom-object-schemas?sort[by]=name", 1).await, vec![schema.clone(), other.clone()]);

        // Schemas: names unique, fields checked, not deleted while they have objects.
        for body in [
            json!({"name": "Project"}),
            json!({"name": "x", "fields": [{"name": "a", "type": "colour"}]}),
            json!({"name": "x", "fields": [{"name": "a", "type": "select"}]}),
            json!({"name": "x", "fields": [{"name": "a"}, {"name": "A"}]}),
            json!({"name": "x", "fields": [{"name": "n", "type": "integer", "default_value": "lots"}]}),
            json!({"fields": []}),
        ] {
            let r = apideck(&app, Method::POST, "/custom-object-schemas", Some(body.clone())).await;
            assert!(r.status == 400 || r.status == 422, "{body}: {}", r.body);
        }
        let r = apideck(&app, Method::DELETE, &format!("/custom-object-schemas/{schema}"), None).await;
        assert_apideck_error(&r, 422, "InvalidStateError");
        let r = apideck(
            &app,
            Method::PATCH,
            &format!("/custom-object-schemas/{schema}"),
            Some(json!({"description": "Projects", "fields": [{"name": "title", "required": true}, {"name": "budget", "type": "currency"}]})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = apideck(&app, Method::GET, &format!("{base}/{one}"), None).await;
        assert_eq!(
            r.body["data"]["fields"],
            json!([{"name": "title", "value": "Moon"}, {"name": "budget", "value": "1250.5"}])
        );
        for id in walk(&app, &base, 10).await {
            assert_eq!(apideck(&app, Method::DELETE, &format!("{base}/{id}"), None).await.status, 200);
        }
        assert_apideck_error(
            &apideck(&app, Method::GET, &format!("{base}/{one}"), None).await,
            404,
            "EntityNotFoundError",
        );
        let r = apideck(&app, Method::DELETE, &format!("/custom-object-schemas/{schema}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_apideck_error(&apideck(&app, Method::GET, &base, None).await, 404, "EntityNotFoundError");

        // Another account sees none of it.
        let rival = app.other_account().await;
        assert!(ids(&apideck_as(&app, &rival, Method::GET, "/custom-object-schemas", None).await).is_empty());
        for (method, path) in [
            (Method::GET, format!("/custom-object-schemas/{other}")),
            (Method::GET, format!("/custom-objects/{other}")),
            (Method::POST, format!("/custom-objects/{other}")),
            (Method::DELETE, format!("/custom-object-schemas/{other}")),
        ] {
            let body = (method == Method::POST).then(|| json!({"fields": [{"name": "subject", "value": "x"}]}));
            assert_apideck_error(&apideck_as(&app, &rival, method, &path, body).await, 404, "EntityNotFoundError");
        }
        app.finish().await;
    }
}
