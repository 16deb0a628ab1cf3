//! Rules the domain holds once, seen the same through both dialects: a company renamed over
//! one is renamed on its contacts over the other, one company-name limit, and one deal deletion.

use crate::common;

use common::sell::{assert_sell_error, created, sell};
use common::{App, apps, assert_error};
use kith_domain::Actor;
use kith_domain::companies::COMPANY_NAME_MAX;
use kith_domain::model::DealContact;
use kith_onepage::wire::hex_id;
use kith_store::Filter;
use reqwest::Method;
use serde_json::json;

fn id(v: &serde_json::Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

fn owner(app: &App) -> Actor {
    Actor { account_id: app.owner.account_id, user_id: app.owner.user_id }
}

#[tokio::test]
async fn an_organisation_renamed_over_sell_is_renamed_on_its_contacts_over_onepage() {
    for app in apps().await {
        let org =
            id(&created(&app, "/contacts", json!({ "is_organization": true, "name": "Analytical Engines" })).await);
        let ada = id(&created(&app, "/contacts", json!({ "last_name": "Lovelace", "contact_id": org })).await);
        // A OnePage contact naming the company joins it.
        let r = app
            .op(
                Method::POST,
                "/contacts",
                Some(json!({ "last_name": "Babbage", "company_name": "analytical engines" })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["data"]["contact"]["company_id"], hex_id(org));
        let babbage = r.body["data"]["contact"]["id"].as_str().expect("id").to_owned();

        let body = json!({ "data": { "name": "Difference Engines", "industry": "Computing" } });
        let r = sell(&app, Method::PUT, &format!("/contacts/{org}"), Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            (r.body["data"]["name"].as_str(), r.body["data"]["industry"].as_str()),
            (Some("Difference Engines"), Some("Computing"))
        );

        for contact in [hex_id(ada), babbage] {
            let r = app.op(Method::GET, &format!("/contacts/{contact}"), None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["data"]["contact"]["company_name"], "Difference Engines", "{}", r.body);
        }
        let r = app.op(Method::GET, &format!("/companies/{}", hex_id(org)), None).await;
        assert_eq!(r.body["data"]["company"]["name"], "Difference Engines");

        // The company rules check what Sell sends too: its owner must be a user of the account.
        let rival = app.other_account().await;
        let body = json!({ "data": { "owner_id": rival.user_id } });
        let r = sell(&app, Method::PUT, &format!("/contacts/{org}"), Some(body)).await;
        assert_sell_error(&r, 422, "validation_failed");
        assert_eq!(r.body["errors"][0]["error"]["field"], "/data/owner_id", "{}", r.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn one_company_name_limit_in_both_dialects() {
    for app in apps().await {
        let fits = "n".repeat(COMPANY_NAME_MAX);
        let long = "n".repeat(COMPANY_NAME_MAX + 1);
        let sell_invalid = |r: &common::Reply, field: &str| {
            assert_sell_error(r, 422, "validation_failed");
            assert_eq!(r.body["errors"][0]["error"]["field"], format!("/data/{field}"), "{}", r.body);
        };

        // Sell: an organisation's name and a lead's organisation name.
        let r =
            sell(&app, Method::POST, "/contacts", Some(json!({ "data": { "is_organization": true, "name": long } })))
                .await;
        sell_invalid(&r, "name");
        let org = id(&created(&app, "/contacts", json!({ "is_organization": true, "name": fits })).await);
        let r = sell(&app, Method::PUT, &format!("/contacts/{org}"), Some(json!({ "data": { "name": long } }))).await;
        sell_invalid(&r, "name");
        let r = sell(&app, Method::POST, "/leads", Some(json!({ "data": { "organization_name": long } }))).await;
        sell_invalid(&r, "organization_name");

        // What Sell made fits OnePage's document (every OnePage answer here is checked against it).
        let r = app.op(Method::GET, &format!("/companies/{}", hex_id(org)), None).await;
        assert_eq!(r.body["data"]["company"]["name"], fits.as_str());

        // OnePage: a company's name and a contact's company name.
        let r = app.op(Method::PUT, &format!("/companies/{}", hex_id(org)), Some(json!({ "name": long }))).await;
        assert_error(&r, 400, "invalid_request_data");
        let r = app.op(Method::POST, "/contacts", Some(json!({ "last_name": "Lovelace", "company_name": long }))).await;
        assert_error(&r, 400, "invalid_request_data");
        app.finish().await;
    }
}

#[tokio::test]
async fn a_deal_deleted_over_onepage_ends_its_associations_as_over_sell() {
    for app in apps().await {
        let ada = id(&created(&app, "/contacts", json!({ "last_name": "Lovelace" })).await);
        let bob = id(&created(&app, "/contacts", json!({ "last_name": "Babbage" })).await);
        let deal = id(&created(&app, "/deals", json!({ "name": "Engine", "contact_id": ada })).await);
        created(&app, &format!("/deals/{deal}/associated_contacts"), json!({ "contact_id": bob })).await;
        let links = || app.crm.all::<DealContact>(owner(&app), Some(Filter::eq("deal_id", deal)));
        assert_eq!(links().await.expect("associations").len(), 1);

        let r = app.op(Method::DELETE, &format!("/deals/{}", hex_id(deal)), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(links().await.expect("associations").is_empty(), "the association ended with the deal");
        assert_sell_error(&sell(&app, Method::GET, &format!("/deals/{deal}"), None).await, 404, "not_found");

        // OnePage's undo brings the deal back (without the association, which Sell has no undo for).
        let r = app.op(Method::DELETE, &format!("/deals/{}?undo=true", hex_id(deal)), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(sell(&app, Method::GET, &format!("/deals/{deal}"), None).await.status, 200);
        app.finish().await;
    }
}
