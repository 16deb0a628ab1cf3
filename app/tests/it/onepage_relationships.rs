//! OnePage relationship types and relationships between contacts.

use crate::common;

use common::{App, apps, assert_error};
use reqwest::Method;
use serde_json::{Value, json};

async fn data(app: &App, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
    let r = app.op(method.clone(), path, body).await;
    assert_eq!(r.status.as_u16(), status, "{} {method} {path}: {}", app.label, r.body);
    r.body["data"].clone()
}

async fn contact(app: &App, last: &str) -> String {
    let c = data(app, Method::POST, "/contacts", Some(json!({"first_name": "Pat", "last_name": last})), 201).await;
    c["contact"]["id"].as_str().expect("id").to_owned()
}

fn variant(t: &Value, i: usize) -> String {
    t["relationship_variants"][i]["id"].as_str().expect("variant").to_owned()
}

#[tokio::test]
async fn types_and_relationships() {
    for app in apps().await {
        let partner =
            data(&app, Method::POST, "/relationship_types", Some(json!({"variants": [{"name": "Partner"}]})), 201)
                .await;
        let partner = partner["relationship_types"][0]["relationship_type"].clone();
        assert_eq!(partner["symmetrical"], true);
        let boss = data(
            &app,
            Method::POST,
            "/relationship_types",
            Some(json!({"variants": [{"name": "Manager"}, {"name": "Reports to"}]})),
            201,
        )
        .await;
        let boss = boss["relationship_types"][0]["relationship_type"].clone();
        assert_eq!(boss["symmetrical"], false);
        let bad = json!({"variants": [{"name": "a"}, {"name": "b"}, {"name": "c"}]});
        assert_error(&app.op(Method::POST, "/relationship_types", Some(bad)).await, 400, "invalid_request_data");
        let long = json!({"variants": [{"name": "x".repeat(36)}]});
        assert_error(&app.op(Method::POST, "/relationship_types", Some(long)).await, 400, "invalid_request_data");
        assert_eq!(data(&app, Method::GET, "/relationship_types", None, 200).await["total_count"], 2);
        let one =
            data(&app, Method::GET, &format!("/relationship_types/{}", boss["id"].as_str().unwrap_or("")), None, 200)
                .await;
        assert_eq!(one["relationship_type"]["relationship_variants"][1]["name"], "Reports to");

        // Renaming needs the full set of variant ids.
        let bid = boss["id"].as_str().expect("id").to_owned();
        let renamed = data(
            &app,
            Method::PUT,
            &format!("/relationship_types/{bid}"),
            Some(json!({"variants": [{"id": variant(&boss, 0), "name": "Boss"}, {"id": variant(&boss, 1), "name": "Works for"}]})),
            200,
        )
        .await;
        assert_eq!(renamed["relationship_type"]["relationship_variants"][1]["name"], "Works for");
        let r = app
            .op(
                Method::PUT,
                &format!("/relationship_types/{bid}"),
                Some(json!({"variants": [{"id": variant(&boss, 0), "name": "Boss"}]})),
            )
            .await;
        assert_error(&r, 400, "invalid_request_data");

        let (ann, bob, cat) = (contact(&app, "Ann").await, contact(&app, "Bob").await, contact(&app, "Cat").await);
        let body = |t: &Value, a: &str, va: String, b: &str, vb: String| json!({"relationship_type_id": t["id"], "related_contacts": [{"contact_id": a, "variant_id": va}, {"contact_id": b, "variant_id": vb}]});
        let r = data(
            &app,
            Method::POST,
            &format!("/contacts/{ann}/relationships"),
            Some(body(&boss, &ann, variant(&boss, 0), &bob, variant(&boss, 1))),
            201,
        )
        .await;
        let rid = r["relationship"]["id"].as_str().expect("id").to_owned();
        assert_eq!(r["relationship"]["related_contacts"][0]["variant_name"], "Boss");
        assert_eq!(r["relationship"]["related_contacts"][1]["last_name"], "Bob");
        // Seen from either end; not from a third contact.
        assert_eq!(
            data(&app, Method::GET, &format!("/contacts/{bob}/relationships"), None, 200).await["total_count"],
            1
        );
        data(&app, Method::GET, &format!("/contacts/{bob}/relationships/{rid}"), None, 200).await;
        assert_error(
            &app.op(Method::GET, &format!("/contacts/{cat}/relationships/{rid}"), None).await,
            400,
            "invalid_request_data",
        );
        // One relationship per pair; a directional type takes both variants; the path contact is a party.
        let again = body(&partner, &bob, variant(&partner, 0), &ann, variant(&partner, 0));
        assert_error(
            &app.op(Method::POST, &format!("/contacts/{bob}/relationships"), Some(again)).await,
            409,
            "conflict",
        );
        let same = body(&boss, &ann, variant(&boss, 0), &cat, variant(&boss, 0));
        assert_error(
            &app.op(Method::POST, &format!("/contacts/{ann}/relationships"), Some(same)).await,
            400,
            "invalid_request_data",
        );
        let outside = body(&partner, &bob, variant(&partner, 0), &cat, variant(&partner, 0));
        assert_error(
            &app.op(Method::POST, &format!("/contacts/{ann}/relationships"), Some(outside)).await,
            400,
            "invalid_request_data",
        );

        // Replace: the type can change and one contact swap, but the path contact stays.
        let replaced = data(
            &app,
            Method::PUT,
            &format!("/contacts/{ann}/relationships/{rid}"),
            Some(body(&partner, &ann, variant(&partner, 0), &cat, variant(&partner, 0))),
            200,
        )
        .await;
        assert_eq!(replaced["relationship"]["related_contacts"][1]["last_name"], "Cat");
        assert_eq!(
            data(&app, Method::GET, &format!("/contacts/{bob}/relationships"), None, 200).await["total_count"],
            0
        );

        // Delete and undo; deleting the type takes its relationships along.
        data(&app, Method::DELETE, &format!("/contacts/{ann}/relationships/{rid}"), None, 200).await;
        assert_eq!(
            data(&app, Method::GET, &format!("/contacts/{ann}/relationships"), None, 200).await["total_count"],
            0
        );
        data(&app, Method::DELETE, &format!("/contacts/{ann}/relationships/{rid}?undo=true"), None, 200).await;
        let pid = partner["id"].as_str().expect("id");
        data(&app, Method::DELETE, &format!("/relationship_types/{pid}"), None, 200).await;
        assert_eq!(
            data(&app, Method::GET, &format!("/contacts/{ann}/relationships"), None, 200).await["total_count"],
            0
        );
        let rival = app.other_account().await;
        assert_error(
            &app.op_as(&rival, Method::GET, &format!("/relationship_types/{bid}"), None).await,
            404,
            "resource_not_found",
        );
        assert_error(
            &app.op_as(&rival, Method::GET, &format!("/contacts/{ann}/relationships"), None).await,
            404,
            "resource_not_found",
        );
        app.finish().await;
    }
}
