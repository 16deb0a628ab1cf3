//! `kith seed`: the generated data is valid CRM data that the API serves, consistent with
//! itself, scoped per account, and the same for the same seed.

use crate::common;

use common::*;
use kith::seed::{SeedOptions, seed};
use kith_domain::NewAccount;
use reqwest::Method;
use serde_json::Value;

fn opts(rng_seed: u64) -> SeedOptions {
    SeedOptions {
        contacts: 700,
        other_accounts: 1,
        other_contacts: 40,
        users: 3,
        batch: 250,
        rng_seed,
        progress: false,
    }
}

/// The seeded owner, with a second key of theirs (the harness needs an issued key).
async fn as_account(app: &App, account_id: i64, user: &str) -> NewAccount {
    let user_id = kith_onepage::wire::parse_id(user).expect("hex user id");
    let key = app.crm.create_key(account_id, user_id, "test").await.expect("key");
    NewAccount { account_id, user_id, key }
}

#[tokio::test]
async fn seeded_accounts_are_complete_and_served() {
    for app in apps().await {
        let l = app.label;
        let accounts = seed(&app.crm, &opts(7)).await.expect("seed");
        assert_eq!(accounts.len(), 2, "{l}");
        let main = as_account(&app, accounts[0].account_id, &accounts[0].user_id).await;
        let other = as_account(&app, accounts[1].account_id, &accounts[1].user_id).await;

        // The printed key works as it is.
        let r = app
            .send(
                app.client
                    .get(format!("{}/api/v3/contacts?per_page=1", app.base))
                    .basic_auth(&accounts[0].user_id, Some(&accounts[0].api_key)),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["data"]["total_count"], 700, "{l}");

        // Each account sees its own contacts only.
        let r = app.op_as(&other, Method::GET, "/contacts?per_page=100", None).await;
        assert_eq!(r.body["data"]["total_count"], 40, "{l}");

        // Contacts carry companies, emails, phones, tags, a status and the dropdown value.
        let r = app.op_as(&main, Method::GET, "/contacts?per_page=100", None).await;
        let contacts = r.body["data"]["contacts"].as_array().expect("contacts").clone();
        assert_eq!(contacts.len(), 100, "{l}");
        let all = |f: &dyn Fn(&Value) -> bool| contacts.iter().all(|c| f(&c["contact"]));
        let some = |f: &dyn Fn(&Value) -> bool| contacts.iter().any(|c| f(&c["contact"]));
        assert!(all(&|c| c["emails"][0]["value"].as_str().is_some_and(|e| e.contains('@'))), "{l}");
        assert!(all(&|c| c["phones"].as_array().is_some_and(|p| !p.is_empty())), "{l}");
        assert!(all(&|c| c["status_id"].is_string() && c["last_name"].is_string()), "{l}");
        assert!(some(&|c| c["company_name"].as_str().is_some_and(|n| !n.is_empty())), "{l}");
        assert!(some(&|c| c["tags"].as_array().is_some_and(|t| !t.is_empty())), "{l}");
        assert!(
            all(&|c| c["custom_fields"]
                .as_array()
                .is_some_and(|f| f.iter().any(|v| v["custom_field"]["name"] == "Segment"))),
            "{l}"
        );

        // The custom-field and status handles the seed prints filter real contacts.
        let a = &accounts[0];
        let path = format!(
            "/contacts?per_page=10&custom_field_id={}&custom_field_value={}",
            a.custom_field_id, a.custom_field_value
        );
        let by_field =
            app.op_as(&main, Method::GET, &path, None).await.body["data"]["total_count"].as_u64().unwrap_or(0);
        let path = format!("/contacts?per_page=10&status_id={}", a.status_id);
        let by_status =
            app.op_as(&main, Method::GET, &path, None).await.body["data"]["total_count"].as_u64().unwrap_or(0);
        assert!(by_field > 50 && by_field < 700, "{l}: {by_field} contacts in one segment");
        assert!(by_status > 100 && by_status < 700, "{l}: {by_status} contacts with the lead status");

        // Tagged contacts are found by tag (taggings were written with the contacts).
        let tag = contacts
            .iter()
            .find_map(|c| c["contact"]["tags"][0].as_str().map(str::to_owned))
            .expect("a tagged contact");
        let r = app.op_as(&main, Method::GET, &format!("/contacts?per_page=1&tag={tag}"), None).await;
        assert!(r.body["data"]["total_count"].as_u64().unwrap_or(0) > 0, "{l}");

        // Deals, next actions and notes exist, tied to the account's contacts.
        let r = app.op_as(&main, Method::GET, "/deals?per_page=5", None).await;
        assert!(r.body["data"]["total_count"].as_u64().unwrap_or(0) > 100, "{l}: {}", r.body);
        let r = app.op_as(&main, Method::GET, "/action_stream?per_page=5", None).await;
        assert!(r.body["data"]["total_count"].as_u64().unwrap_or(0) > 0, "{l}: {}", r.body);
        let r = app.op_as(&main, Method::GET, "/notes?per_page=5", None).await;
        assert!(r.body["data"]["total_count"].as_u64().unwrap_or(0) > 100, "{l}: {}", r.body);

        // A company's size counts the contacts linked to it.
        let c = contacts.iter().find(|c| c["contact"]["company_id"].is_string()).expect("linked contact");
        let company = c["contact"]["company_id"].as_str().unwrap_or_default();
        let r = app.op_as(&main, Method::GET, &format!("/contacts?per_page=100&company_id={company}"), None).await;
        assert_eq!(r.body["data"]["total_count"], c["contact"]["company_size"], "{l}");
        app.finish().await;
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_data() {
    let mut names = Vec::new();
    for _ in 0..2 {
        let app = apps().await.into_iter().next().expect("sqlite app");
        let accounts = seed(&app.crm, &SeedOptions { contacts: 50, other_accounts: 0, ..opts(3) }).await.expect("seed");
        let main = as_account(&app, accounts[0].account_id, &accounts[0].user_id).await;
        let r = app.op_as(&main, Method::GET, "/contacts?per_page=100", None).await;
        let list: Vec<String> = r.body["data"]["contacts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!("{} {} {}", c["contact"]["first_name"], c["contact"]["last_name"], c["contact"]["emails"]))
            .collect();
        assert_eq!(list.len(), 50);
        names.push(list);
        app.finish().await;
    }
    assert_eq!(names[0], names[1]);
}
