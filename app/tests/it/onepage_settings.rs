//! OnePage account settings: bootstrap, auth key change, users, statuses, lead sources,
//! custom/company/deal fields and pipelines.

use crate::common;

use common::{App, apps, assert_error};
use kith_onepage::wire::hex_id;
use reqwest::Method;
use serde_json::{Value, json};

async fn ok(app: &App, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
    let r = app.op(method.clone(), path, body).await;
    assert_eq!(r.status.as_u16(), status, "{} {method} {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

#[tokio::test]
async fn bootstrap_users_and_auth_key() {
    for app in apps().await {
        let b = ok(&app, Method::GET, "/bootstrap", None, 200).await;
        assert_eq!(b["user_id"], hex_id(app.owner.user_id));
        assert_eq!(b["user"]["email"], "owner@acme.test");
        assert_eq!(b["user"]["account_rights"], json!(["account_owner", "admin"]));
        assert_eq!(b["call_results_order"][0], "interested");
        assert!(b["settings"]["deal_stages"].as_array().is_some_and(|s| !s.is_empty()), "{b}");

        let (colleague, colleague_key) =
            app.crm.add_user(app.owner.account_id, "col@acme.test", "user").await.expect("user");
        let users = ok(&app, Method::GET, "/users", None, 200).await;
        assert_eq!(users.as_array().map(Vec::len), Some(2));
        let me = format!("/users/{}", hex_id(app.owner.user_id));
        let u = ok(
            &app,
            Method::PUT,
            &me,
            Some(json!({"first_name": "Ada", "last_name": "Owner", "company_name": "Acme"})),
            200,
        )
        .await;
        assert_eq!(u["user"]["first_name"], "Ada");
        assert_eq!(ok(&app, Method::GET, &me, None, 200).await["user"]["company_name"], "Acme");
        // An admin may change others; a plain user may not.
        ok(&app, Method::PUT, &format!("/users/{}", hex_id(colleague.id)), Some(json!({"first_name": "Col"})), 200)
            .await;
        let col =
            kith_domain::NewAccount { account_id: app.owner.account_id, user_id: colleague.id, key: colleague_key };
        let r = app.op_as(&col, Method::PUT, &me, Some(json!({"first_name": "Mallory"}))).await;
        assert_error(&r, 403, "forbidden");
        let r = app.op(Method::PUT, &me, Some(json!({"first_name": "x".repeat(101)}))).await;
        assert_error(&r, 400, "invalid_request_data");
        let rival = app.other_account().await;
        assert_error(&app.op_as(&rival, Method::GET, &me, None).await, 404, "resource_not_found");

        // change_auth_key: the new key works, the old one stops.
        let data = ok(&app, Method::POST, "/change_auth_key", None, 201).await;
        let new_key = data["auth_key"].as_str().expect("key").to_owned();
        assert_eq!(new_key.len(), 64);
        assert_error(&app.op(Method::GET, "/users", None).await, 401, "authorization_data_not_found");
        let rotated = kith_domain::NewAccount {
            key: kith_domain::IssuedKey { secret: new_key, ..app.owner.key.clone() },
            ..app.owner.clone()
        };
        let r = app.op_as(&rotated, Method::GET, "/users", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn statuses_and_lead_sources() {
    for app in apps().await {
        let list = ok(&app, Method::GET, "/statuses", None, 200).await;
        let keys: Vec<&str> =
            list.as_array().expect("statuses").iter().map(|s| s["status"]["status"].as_str().unwrap_or("")).collect();
        assert_eq!(keys, vec!["lead", "prospect", "customer", "inactive", "general"]);
        let s = ok(
            &app,
            Method::POST,
            "/statuses",
            Some(json!({"text": "Partner", "color": "009900", "description": "Resells"})),
            201,
        )
        .await;
        let sid = s["status"]["id"].as_str().expect("id").to_owned();
        assert_eq!(s["status"]["status"], "custom1");
        let r = app.op(Method::POST, "/statuses", Some(json!({"text": "x".repeat(21), "color": "123456"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        assert!(r.body["errors"]["text"].is_string() && r.body["errors"]["color"].is_string(), "{}", r.body);
        let u = ok(&app, Method::PUT, &format!("/statuses/{sid}?partial=true"), Some(json!({"text": "Partners"})), 200)
            .await;
        assert_eq!(u["status"]["color"], "009900");
        assert_eq!(u["status"]["description"], "Resells");
        let r = app.op(Method::PUT, &format!("/statuses/{sid}"), Some(json!({"text": "No colour"}))).await;
        assert_error(&r, 400, "invalid_request_data");

        // A contact on the status counts, and falls back to lead when the status goes.
        let c = ok(
            &app,
            Method::POST,
            "/contacts",
            Some(json!({"last_name": "Reseller", "status_id": sid, "lead_source_id": "referral"})),
            201,
        )
        .await;
        let cid = c["contact"]["id"].as_str().expect("id").to_owned();
        assert_eq!(ok(&app, Method::GET, &format!("/statuses/{sid}"), None, 200).await["status"]["total_count"], 1);
        ok(&app, Method::DELETE, &format!("/statuses/{sid}"), None, 200).await;
        assert_eq!(ok(&app, Method::GET, &format!("/contacts/{cid}"), None, 200).await["contact"]["status"], "Lead");
        let lead = list[0]["status"]["id"].as_str().expect("id").to_owned();
        assert_error(&app.op(Method::DELETE, &format!("/statuses/{lead}"), None).await, 409, "conflict");

        // Lead sources are addressed by their system id.
        let s = ok(&app, Method::GET, "/lead_sources/referral", None, 200).await;
        assert_eq!(s["total_count"], 1);
        let created = ok(&app, Method::POST, "/lead_sources", Some(json!({"text": "Trade Show 2026"})), 201).await;
        assert_eq!(created["id"], "trade_show_2026");
        let r = app.op(Method::POST, "/lead_sources", Some(json!({"text": "trade show 2026"}))).await;
        assert_error(&r, 409, "conflict");
        let r = app.op(Method::POST, "/lead_sources", Some(json!({"text": "x".repeat(41)}))).await;
        assert_error(&r, 400, "invalid_request_data");
        let renamed =
            ok(&app, Method::PUT, "/lead_sources/trade_show_2026", Some(json!({"text": "Trade shows"})), 200).await;
        assert_eq!(renamed["text"], "Trade shows");
        let names: Vec<String> = ok(&app, Method::GET, "/lead_sources", None, 200)
            .await
            .as_array()
            .expect("list")
            .iter()
            .map(|s| s["text"].as_str().unwrap_or("").to_lowercase())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "alphabetical");
        ok(&app, Method::DELETE, "/lead_sources/referral", None, 200).await;
        assert!(
            ok(&app, Method::GET, &format!("/contacts/{cid}"), None, 200).await["contact"]
                .get("lead_source_id")
                .is_none()
        );
        assert_error(&app.op(Method::GET, "/lead_sources/referral", None).await, 404, "resource_not_found");
        let rival = app.other_account().await;
        assert_error(
            &app.op_as(&rival, Method::GET, "/lead_sources/trade_show_2026", None).await,
            404,
            "resource_not_found",
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn custom_company_and_deal_fields() {
    for app in apps().await {
        for (path, one) in
            [("/custom_fields", "custom_field"), ("/company_fields", "company_field"), ("/deal_fields", "deal_field")]
        {
            let f = ok(
                &app,
                Method::POST,
                path,
                Some(json!({"name": "Size", "type": "select_box", "choices": ["S", "M", "L"]})),
                201,
            )
            .await;
            let id = f[one]["id"].as_str().expect("id").to_owned();
            assert_eq!(f[one]["type"], "select_box");
            ok(&app, Method::POST, path, Some(json!({"name": "Notes", "type": "multi_line_text"})), 201).await;
            let r = app.op(Method::POST, path, Some(json!({"name": "size", "type": "number"}))).await;
            assert_error(&r, 409, "conflict");
            let r = app.op(Method::POST, path, Some(json!({"name": "Bad", "type": "colour"}))).await;
            assert_error(&r, 400, "invalid_request_data");
            let r = app.op(Method::POST, path, Some(json!({"name": "Pick", "type": "select_box"}))).await;
            assert_error(&r, 400, "invalid_request_data");
            assert_eq!(ok(&app, Method::GET, &format!("{path}/{id}.json"), None, 200).await[one]["name"], "Size");
            let list = ok(&app, Method::GET, &format!("{path}?type=select_box"), None, 200).await;
            assert_eq!(list["total_count"], 1);
            let u = ok(
                &app,
                Method::PUT,
                &format!("{path}/{id}"),
                Some(json!({"name": "T-shirt size", "choices": ["S", "M", "L", "XL"]})),
                200,
            )
            .await;
            assert_eq!(u[one]["choices"], json!(["S", "M", "L", "XL"]));
            let r = app.op(Method::PUT, &format!("{path}/{id}"), Some(json!({"type": "number"}))).await;
            assert_error(&r, 400, "invalid_request_data");
            ok(&app, Method::DELETE, &format!("{path}/{id}"), None, 200).await;
            assert_error(&app.op(Method::GET, &format!("{path}/{id}"), None).await, 404, "resource_not_found");
        }
        // A contact field is not a company field.
        let f = ok(&app, Method::POST, "/custom_fields", Some(json!({"name": "Birthday", "type": "anniversary"})), 201)
            .await;
        let id = f["custom_field"]["id"].as_str().expect("id");
        assert_error(&app.op(Method::GET, &format!("/company_fields/{id}"), None).await, 404, "resource_not_found");
        // New contact fields are usable at once.
        let c = ok(
            &app,
            Method::POST,
            "/contacts",
            Some(
                json!({"last_name": "Fielded", "custom_fields": [{"custom_field": {"id": id}, "value": "1990-05-17"}]}),
            ),
            201,
        )
        .await;
        assert_eq!(c["contact"]["custom_fields"][0]["value"], "1990-05-17");
        let b = ok(&app, Method::GET, "/bootstrap", None, 200).await;
        assert_eq!(b["custom_fields"].as_array().map(Vec::len), Some(2));

        let p = ok(&app, Method::GET, "/pipelines", None, 200).await;
        assert_eq!(p["total_count"], 1);
        let pipeline = &p["pipelines"][0]["pipeline"];
        assert_eq!(pipeline["default"], true);
        let pid = pipeline["id"].as_str().expect("id");
        assert_eq!(
            ok(&app, Method::GET, &format!("/pipelines/{pid}"), None, 200).await["pipeline"]["name"],
            pipeline["name"]
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn predefined_actions_and_items() {
    for app in apps().await {
        let a =
            ok(&app, Method::POST, "/predefined_actions", Some(json!({"text": "Email [first name]", "days": 4})), 201)
                .await;
        let aid = a["predefined_action"]["id"].as_str().expect("id").to_owned();
        assert_eq!(a["predefined_action"]["days"], 4);
        for (body, field) in
            [(json!({"text": "x".repeat(141), "days": 1}), "text"), (json!({"text": "t", "days": -1}), "days")]
        {
            let r = app.op(Method::POST, "/predefined_actions", Some(body)).await;
            assert_error(&r, 400, "invalid_request_data");
            assert!(r.body["errors"][field].is_string(), "{}", r.body);
        }
        assert_error(
            &app.op(Method::POST, "/predefined_actions", Some(json!({"text": "No days"}))).await,
            400,
            "invalid_request_data",
        );
        let u =
            ok(&app, Method::PUT, &format!("/predefined_actions/{aid}?partial=true"), Some(json!({"days": 7})), 200)
                .await;
        assert_eq!(u["predefined_action"]["text"], "Email [first name]");
        assert_eq!(u["predefined_action"]["days"], 7);
        assert_eq!(
            ok(&app, Method::GET, "/predefined_actions", None, 200).await["predefined_actions"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        ok(&app, Method::DELETE, &format!("/predefined_actions/{aid}"), None, 200).await;
        assert_error(
            &app.op(Method::GET, &format!("/predefined_actions/{aid}"), None).await,
            404,
            "resource_not_found",
        );

        let i = ok(
            &app,
            Method::POST,
            "/predefined_items",
            Some(json!({"name": "Solar panel", "price": 149.99, "cost": 95, "description": "2019 model"})),
            201,
        )
        .await;
        let iid = i["predefined_item"]["id"].as_str().expect("id").to_owned();
        assert_eq!(i["predefined_item"]["price"], 149.99);
        assert_eq!(i["predefined_item"]["item_group_id"], "");
        let r = app.op(Method::POST, "/predefined_items", Some(json!({"name": "solar PANEL"}))).await;
        assert_error(&r, 409, "conflict");
        let r = app.op(Method::POST, "/predefined_items", Some(json!({"name": "Bad", "price": "cheap"}))).await;
        assert_error(&r, 400, "invalid_request_data");
        // A full update resets what it does not send; a partial one keeps it.
        let u = ok(
            &app,
            Method::PUT,
            &format!("/predefined_items/{iid}?partial=true"),
            Some(json!({"price": 139.99})),
            200,
        )
        .await;
        assert_eq!(u["predefined_item"]["cost"], 95.0);
        let u =
            ok(&app, Method::PUT, &format!("/predefined_items/{iid}"), Some(json!({"name": "Solar panel v2"})), 200)
                .await;
        assert_eq!(u["predefined_item"]["price"], 0.0);
        assert_eq!(u["predefined_item"]["description"], "");
        ok(&app, Method::POST, "/predefined_items", Some(json!({"name": "Inverter", "price": 500})), 201).await;
        let list = ok(&app, Method::GET, "/predefined_items?search=invert", None, 200).await;
        assert_eq!(list["total_count"], 1);
        let rival = app.other_account().await;
        assert_error(
            &app.op_as(&rival, Method::GET, &format!("/predefined_items/{iid}"), None).await,
            404,
            "resource_not_found",
        );
        ok(&app, Method::DELETE, &format!("/predefined_items/{iid}"), None, 200).await;
        assert_eq!(ok(&app, Method::GET, "/predefined_items", None, 200).await["total_count"], 1);
        app.finish().await;
    }
}

#[tokio::test]
async fn item_groups_and_countries() {
    for app in apps().await {
        let mut ids = Vec::new();
        for (name, price, cost) in [("Panel", 150, 90), ("Inverter", 500, 300), ("Cable", 10, 2)] {
            let i = ok(
                &app,
                Method::POST,
                "/predefined_items",
                Some(json!({"name": name, "price": price, "cost": cost})),
                201,
            )
            .await;
            ids.push(i["predefined_item"]["id"].as_str().expect("id").to_owned());
        }
        let g = ok(
            &app,
            Method::POST,
            "/predefined_item_groups",
            Some(json!({"name": "Solar kit", "deal_items": [ids[0], ids[1]]})),
            201,
        )
        .await;
        let gid = g["predefined_item"]["id"].as_str().expect("id").to_owned();
        assert_eq!(g["predefined_item"]["count"], 2);
        assert_eq!(g["predefined_item"]["price"], 650.0);
        assert_eq!(
            ok(&app, Method::GET, &format!("/predefined_items/{}", ids[0]), None, 200).await["predefined_item"]["item_group_id"],
            gid
        );
        let r = app.op(Method::POST, "/predefined_item_groups", Some(json!({"name": "solar KIT"}))).await;
        assert_error(&r, 409, "conflict");
        let r = app
            .op(
                Method::POST,
                "/predefined_item_groups",
                Some(json!({"name": "Ghost", "deal_items": ["000000000000000000000bad"]})),
            )
            .await;
        assert_error(&r, 400, "invalid_request_data");
        let list = ok(&app, Method::GET, "/predefined_item_groups?include_items=true", None, 200).await;
        assert_eq!(list["predefined_item_groups"][0]["predefined_item_group"]["item_ids"], json!([ids[0], ids[1]]));
        ok(&app, Method::GET, &format!("/predefined_item_groups/{gid}"), None, 200).await;
        ok(&app, Method::DELETE, &format!("/predefined_item_groups/{gid}"), None, 200).await;
        assert_eq!(
            ok(&app, Method::GET, &format!("/predefined_items/{}", ids[0]), None, 200).await["predefined_item"]["item_group_id"],
            "",
            "items stay, ungrouped"
        );
        assert_error(
            &app.op(Method::GET, &format!("/predefined_item_groups/{gid}"), None).await,
            404,
            "resource_not_found",
        );

        let c = ok(&app, Method::GET, "/countries", None, 200).await;
        let list = c["countries"].as_array().expect("countries");
        assert!(list.len() >= 240);
        let ie = list.iter().find(|c| c["country"]["code"] == "IE").expect("IE");
        assert_eq!(ie["country"]["phone_prefix"], "+353");
        assert_eq!(ie["country"]["name"], "Ireland");
        app.finish().await;
    }
}

#[tokio::test]
async fn company_and_deal_field_values() {
    for app in apps().await {
        let cf = ok(
            &app,
            Method::POST,
            "/company_fields",
            Some(json!({"name": "Size", "type": "select_box", "choices": ["S", "M", "L"]})),
            201,
        )
        .await;
        let cf_id = cf["company_field"]["id"].clone();
        let df = ok(&app, Method::POST, "/deal_fields", Some(json!({"name": "Seats", "type": "number"})), 201).await;
        let df_id = df["deal_field"]["id"].clone();
        let c =
            ok(&app, Method::POST, "/contacts", Some(json!({"last_name": "Valued", "company_name": "Valued Co"})), 201)
                .await;
        let (contact, company) =
            (c["contact"]["id"].clone(), c["contact"]["company_id"].as_str().expect("company").to_owned());

        let co = ok(
            &app,
            Method::PUT,
            &format!("/companies/{company}"),
            Some(json!({"company_fields": [{"company_field": {"id": cf_id}, "value": "M"}]})),
            200,
        )
        .await;
        assert_eq!(co["company"]["company_fields"][0]["value"], "M");
        assert_eq!(co["company"]["company_fields"][0]["company_field"]["name"], "Size");
        let r = app
            .op(
                Method::PUT,
                &format!("/companies/{company}"),
                Some(json!({"company_fields": [{"company_field": {"id": cf_id}, "value": "XXL"}]})),
            )
            .await;
        assert_error(&r, 400, "invalid_request_data");
        let r = app
            .op(
                Method::PUT,
                &format!("/companies/{company}"),
                Some(json!({"company_fields": [{"company_field": {"name": "Colour"}, "value": "red"}]})),
            )
            .await;
        assert_error(&r, 400, "invalid_request_data");
        // Other updates keep the value; null clears it.
        let co = ok(&app, Method::PUT, &format!("/companies/{company}"), Some(json!({"phone": "123"})), 200).await;
        assert_eq!(co["company"]["company_fields"][0]["value"], "M");
        let co = ok(
            &app,
            Method::PUT,
            &format!("/companies/{company}"),
            Some(json!({"company_fields": [{"company_field": {"name": "size"}, "value": null}]})),
            200,
        )
        .await;
        assert_eq!(co["company"]["company_fields"], json!([]));

        let d = ok(&app, Method::POST, "/deals", Some(json!({"contact_id": contact, "name": "Licences", "deal_fields": [{"deal_field": {"id": df_id}, "value": "25"}]})), 201).await;
        assert_eq!(d["deal"]["deal_fields"][0]["value"], "25");
        let r = app.op(Method::POST, "/deals", Some(json!({"contact_id": contact, "name": "Bad", "deal_fields": [{"deal_field": {"id": df_id}, "value": "many"}]}))).await;
        assert_error(&r, 400, "invalid_request_data");
        let id = d["deal"]["id"].as_str().expect("id");
        let d = ok(
            &app,
            Method::PUT,
            &format!("/deals/{id}?partial=true"),
            Some(json!({"deal_fields": [{"deal_field": {"id": df_id}, "value": 30}]})),
            200,
        )
        .await;
        assert_eq!(d["deal"]["deal_fields"][0]["value"], "30");
        app.finish().await;
    }
}
