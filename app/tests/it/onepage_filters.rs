//! Saved filters (created by the operator, run over OnePage) and notifications.

use crate::common;

use common::{App, apps, assert_error};
use kith_domain::saved_filters::Condition;
use kith_onepage::wire::hex_id;
use reqwest::Method;
use serde_json::{Value, json};

async fn data(app: &App, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
    let r = app.op(method.clone(), path, body).await;
    assert_eq!(r.status.as_u16(), status, "{} {method} {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

fn conditions(list: &[&str]) -> Vec<Condition> {
    list.iter().map(|c| Condition::parse(c).expect("condition")).collect()
}

fn last_names(d: &Value) -> Vec<String> {
    d["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .map(|c| c["contact"]["last_name"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn saved_filters_run_as_contact_queries() {
    for app in apps().await {
        data(
            &app,
            Method::POST,
            "/custom_fields",
            Some(json!({"name": "Tier", "type": "select_box", "choices": ["gold", "silver"]})),
            201,
        )
        .await;
        for (last, tags, tier) in [
            ("Adams", vec!["hot"], "gold"),
            ("Baker", vec!["hot"], "silver"),
            ("Clark", vec!["cold"], "gold"),
            ("Dunn", vec!["hot"], "gold"),
        ] {
            data(&app, Method::POST, "/contacts", Some(json!({"last_name": last, "tags": tags, "custom_fields": [{"custom_field": {"name": "Tier"}, "value": tier}]})), 201).await;
        }
        // Dunn has a next action, so the stream order puts Dunn first.
        let dunn =
            data(&app, Method::GET, "/contacts?search=dunn", None, 200).await["contacts"][0]["contact"]["id"].clone();
        data(&app, Method::POST, "/actions", Some(json!({"contact_id": dunn, "text": "Call", "status": "asap"})), 201)
            .await;

        let f = app
            .crm
            .create_saved_filter(
                app.owner.account_id,
                "Hot gold",
                conditions(&["tag eq hot", "custom:Tier eq gold", "status eq lead"]),
            )
            .await
            .expect("filter");
        let fid = hex_id(f.id);
        let list = data(&app, Method::GET, "/filters", None, 200).await;
        assert_eq!(list["total_count"], 1);
        assert_eq!(list["filters"][0]["filter"]["conditions"][0], json!(["tag", "eq", "hot"]));

        let run = data(&app, Method::GET, &format!("/contacts/filters/{fid}?per_page=1"), None, 200).await;
        assert_eq!(last_names(&run), vec!["Dunn", "Adams"], "stream order first, then by name");
        assert_eq!(run["per_page"], 25, "fixed at 25 per page");
        assert_eq!(run["filter"]["name"], "Hot gold");
        let run = data(&app, Method::GET, &format!("/filters/{fid}?per_page=1&page=2"), None, 200).await;
        assert_eq!(last_names(&run), vec!["Adams"]);
        assert_eq!(run["total_count"], 2);

        // Conditions that name nothing are refused when saving.
        for bad in [&["status eq nope"][..], &["colour eq red"], &["tag gt hot"], &["created_at gt yesterday"]] {
            assert!(
                app.crm.create_saved_filter(app.owner.account_id, "Bad", conditions(bad)).await.is_err(),
                "{bad:?}"
            );
        }
        assert_error(&app.op(Method::GET, "/filters/000000000000000000000bad", None).await, 404, "resource_not_found");
        let rival = app.other_account().await;
        assert_error(
            &app.op_as(&rival, Method::GET, &format!("/contacts/filters/{fid}"), None).await,
            404,
            "resource_not_found",
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn assignments_by_others_notify() {
    for app in apps().await {
        let (col, col_key) = app.crm.add_user(app.owner.account_id, "col@acme.test", "user").await.expect("user");
        let colleague = kith_domain::NewAccount { account_id: app.owner.account_id, user_id: col.id, key: col_key };
        let c = data(&app, Method::POST, "/contacts", Some(json!({"last_name": "Shared"})), 201).await["contact"]["id"]
            .clone();
        // My own action notifies nobody; the colleague's action for me and their contact handover do.
        data(&app, Method::POST, "/actions", Some(json!({"contact_id": c, "text": "Mine"})), 201).await;
        let owner_hex = hex_id(app.owner.user_id);
        let r = app
            .op_as(
                &colleague,
                Method::POST,
                "/actions",
                Some(json!({"contact_id": c, "text": "For you", "assignee_id": owner_hex})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = app
            .op_as(
                &colleague,
                Method::PUT,
                &format!("/contacts/{}/change_owner/{}", c.as_str().unwrap_or(""), hex_id(col.id)),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = app
            .op_as(
                &colleague,
                Method::PUT,
                &format!("/contacts/{}/change_owner/{owner_hex}", c.as_str().unwrap_or("")),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);

        let mine = data(&app, Method::GET, "/notifications", None, 200).await;
        assert_eq!(mine["total_count"], 2, "{mine}");
        let types: Vec<&str> = mine["notifications"]
            .as_array()
            .expect("list")
            .iter()
            .map(|n| n["notification"]["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(types, vec!["contact_assigned", "assigned_action"]);
        assert_eq!(mine["notifications"][0]["notification"]["by"], "col@acme.test");
        assert_eq!(mine["notifications"][0]["notification"]["contact_id"], c);
        let nid = mine["notifications"][1]["notification"]["id"].as_str().expect("id").to_owned();
        let one = data(&app, Method::GET, &format!("/notifications/{nid}"), None, 200).await;
        assert_eq!(one["notification"]["type"], "assigned_action");
        assert_eq!(one["notification"]["read"], false);
        let read = data(&app, Method::POST, &format!("/notifications/{nid}/mark_as_read"), None, 201).await;
        assert_eq!(read["notification"]["read"], true);
        // Someone else's notification is not found.
        assert_error(
            &app.op_as(&colleague, Method::GET, &format!("/notifications/{nid}"), None).await,
            404,
            "resource_not_found",
        );
        data(&app, Method::POST, "/notifications/mark_all_as_read", None, 201).await;
        let all = data(&app, Method::GET, "/notifications", None, 200).await;
        assert!(all["notifications"].as_array().expect("list").iter().all(|n| n["notification"]["read"] == true));
        app.finish().await;
    }
}

#[tokio::test]
async fn list_parameters_that_need_the_database() {
    for app in apps().await {
        let ids: Vec<Value> = {
            let mut v = Vec::new();
            for (last, tag) in [("Hot", "hot"), ("Warm", "warm"), ("Cold", "cold")] {
                let c = data(
                    &app,
                    Method::POST,
                    "/contacts",
                    Some(json!({"last_name": last, "tags": [tag], "company_name": format!("{last} Co")})),
                    201,
                )
                .await;
                v.push(c["contact"]["id"].clone());
            }
            v
        };
        let f = app
            .crm
            .create_saved_filter(app.owner.account_id, "Hot only", conditions(&["tag eq hot"]))
            .await
            .expect("filter");
        let fid = hex_id(f.id);
        assert_eq!(
            last_names(&data(&app, Method::GET, &format!("/contacts?filter_id={fid}"), None, 200).await),
            vec!["Hot"]
        );
        assert_error(
            &app.op(Method::GET, "/contacts?filter_id=000000000000000000000bad", None).await,
            404,
            "resource_not_found",
        );

        // action_stream and has_actions_today.
        data(
            &app,
            Method::POST,
            "/actions",
            Some(json!({"contact_id": ids[1], "text": "Later", "date": "2999-01-01"})),
            201,
        )
        .await;
        data(&app, Method::POST, "/actions", Some(json!({"contact_id": ids[2], "text": "Now", "status": "asap"})), 201)
            .await;
        assert_eq!(
            last_names(&data(&app, Method::GET, "/contacts?action_stream=true", None, 200).await),
            vec!["Cold", "Warm"]
        );
        assert_eq!(
            last_names(&data(&app, Method::GET, "/contacts?has_actions_today=true", None, 200).await),
            vec!["Cold"]
        );
        assert_eq!(
            last_names(&data(&app, Method::GET, &format!("/action_stream?filter_id={fid}"), None, 200).await),
            Vec::<String>::new()
        );

        // not_linked_with.
        let hub = data(&app, Method::GET, &format!("/contacts/{}", ids[0].as_str().unwrap_or("")), None, 200).await["contact"]["company_id"].clone();
        let hub = hub.as_str().expect("company");
        data(
            &app,
            Method::POST,
            &format!("/companies/{hub}/linked_contacts"),
            Some(json!({"contact_id": ids[1]})),
            201,
        )
        .await;
        assert_eq!(
            last_names(&data(&app, Method::GET, &format!("/contacts?not_linked_with={hub}"), None, 200).await),
            vec!["Cold", "Hot"]
        );

        // fields=…(all) nests full records; deals take filter_id, fields=contacts(all), include_history.
        data(&app, Method::POST, "/deals", Some(json!({"contact_id": ids[0], "name": "Big one", "stage": 40})), 201)
            .await;
        data(&app, Method::POST, "/deals", Some(json!({"contact_id": ids[2], "name": "Small one"})), 201).await;
        data(&app, Method::POST, "/notes", Some(json!({"contact_id": ids[0], "text": "Keen"})), 201).await;
        let with = data(
            &app,
            Method::GET,
            &format!("/contacts?filter_id={fid}&fields=deals(all),notes(all),calls(all)"),
            None,
            200,
        )
        .await;
        assert_eq!(with["contacts"][0]["deals"][0]["name"], "Big one");
        assert_eq!(with["contacts"][0]["notes"][0]["text"], "Keen");
        assert_eq!(with["contacts"][0]["calls"], json!([]));
        assert_error(&app.op(Method::GET, "/contacts?fields=emails(all)", None).await, 400, "invalid_request_data");
        let deals = data(
            &app,
            Method::GET,
            &format!("/deals?filter_id={fid}&fields=contacts(all)&include_history=true"),
            None,
            200,
        )
        .await;
        assert_eq!(deals["total_count"], 1);
        assert_eq!(deals["deals"][0]["contacts"][0]["last_name"], "Hot");
        let pipeline = deals["deals"][0]["deal"]["pipeline_id"].as_str().expect("pipeline").to_owned();
        assert_eq!(deals["deals"][0]["deal"]["previous_pipeline_stages"][pipeline], 40);
        app.finish().await;
    }
}
