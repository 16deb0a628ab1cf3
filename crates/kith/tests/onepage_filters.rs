//! Saved filters (created by the operator, run over OnePage) and notifications.

mod common;

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
