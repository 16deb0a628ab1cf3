//! Another account's key can neither read, list, update nor delete this account's records.

use crate::common;

use common::{apps, assert_error};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn another_account_sees_nothing_and_changes_nothing() {
    for app in apps().await {
        let created = app
            .op(
                Method::POST,
                "/contacts",
                Some(json!({"first_name": "Grace", "last_name": "Hopper", "company_name": "Navy"})),
            )
            .await;
        assert_eq!(created.status, 201, "{}: {}", app.label, created.body);
        let id = created.body["data"]["contact"]["id"].as_str().expect("id").to_owned();
        let before = app.op(Method::GET, &format!("/contacts/{id}"), None).await.body["data"]["contact"].clone();

        let rival = app.other_account().await;
        let r = app.op_as(&rival, Method::GET, &format!("/contacts/{id}"), None).await;
        assert_error(&r, 404, "resource_not_found");
        let r = app.op_as(&rival, Method::GET, "/contacts?search=Hopper", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["data"]["total_count"], 0, "{}: {}", app.label, r.body);
        let r = app.op_as(&rival, Method::GET, "/contacts", None).await;
        assert_eq!(r.body["data"]["contacts"], json!([]));
        let r = app
            .op_as(&rival, Method::PUT, &format!("/contacts/{id}?partial=true"), Some(json!({"last_name": "Pwned"})))
            .await;
        assert_error(&r, 404, "resource_not_found");
        let r = app.op_as(&rival, Method::DELETE, &format!("/contacts/{id}"), None).await;
        assert_error(&r, 404, "resource_not_found");
        let r = app.op_as(&rival, Method::DELETE, &format!("/contacts/{id}?undo=true"), None).await;
        assert_error(&r, 404, "resource_not_found");
        // Linking to the other account's company by id is refused too.
        let company = before["company_id"].as_str().expect("company id");
        let rival_contact = app.op_as(&rival, Method::POST, "/contacts", Some(json!({"last_name": "Spy"}))).await.body
            ["data"]["contact"]["id"]
            .as_str()
            .expect("rival id")
            .to_owned();
        let r = app
            .op_as(
                &rival,
                Method::PUT,
                &format!("/contacts/{rival_contact}?partial=true"),
                Some(json!({"company_id": company})),
            )
            .await;
        assert_eq!(r.status, 400, "{}: {}", app.label, r.body);

        // Nothing changed for the owner.
        let after = app.op(Method::GET, &format!("/contacts/{id}"), None).await;
        assert_eq!(after.status, 200);
        assert_eq!(after.body["data"]["contact"], before, "{}", app.label);
        // A key of one user does not authenticate as another user of the same id space.
        let r = app
            .send(
                app.client
                    .get(format!("{}/api/v3/contacts", app.base))
                    .basic_auth(kith_onepage::wire::hex_id(app.owner.user_id), Some(&rival.key.secret)),
                None,
            )
            .await;
        assert_error(&r, 401, "authorization_data_not_found");
        app.finish().await;
    }
}
