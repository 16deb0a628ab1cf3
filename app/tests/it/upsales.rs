//! The Upsales dialect at `/api/v2`: auth, envelopes and errors, paths matched ignoring case
//! and a trailing slash, the query language over both backends, accounts, contacts, orders and
//! opportunities with their rows, stages, custom fields, users, the rate limit (in one server
//! and across two server processes on one PostgreSQL), and the same records over Sell.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::sell::sell;
use crate::common::upsales::{assert_up_error, created, get_ok, ids, up, up_as};
use crate::common::{apps, apps_with, test_config};

#[tokio::test]
async fn accounts_are_created_read_changed_and_deleted_in_upsales_envelopes() {
    for app in apps().await {
        let a = created(
            &app,
            "/accounts/",
            json!({
                "name": "  Pied Piper  ", "phone": "08-505 806 00", "webpage": "www.piedpiper.test",
                "notes": "Compression", "users": [{"id": app.owner.user_id}],
                "addresses": [{"type": "Mail", "address": "Sveavägen 21", "zipcode": "11134", "city": "Stockholm"}],
            }),
        )
        .await;
        let id = a["id"].as_i64().expect("id");
        assert_eq!(a["name"], "Pied Piper", "strings are trimmed");
        assert_eq!(a["users"][0]["id"], app.owner.user_id);
        assert_eq!(a["active"], 1);
        assert_eq!(a["isExternal"], 0);
        assert_eq!(a["addresses"][0]["city"], "Stockholm");
        assert!(a["regDate"].as_str().is_some_and(|t| t.len() == 24 && t.ends_with('Z')), "{a}");

        // Paths ignore case and a trailing slash.
        let r = get_ok(&app, &format!("/Accounts/{id}/")).await;
        assert_eq!(r["data"]["webpage"], "www.piedpiper.test");
        assert!(r.get("metadata").is_none(), "one record has no metadata: {r}");

        let r = up(&app, Method::PUT, &format!("/accounts/{id}/"), Some(json!({"notes": "Middle-out"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["notes"], "Middle-out");
        assert_eq!(r.body["data"]["phone"], "08-505 806 00", "PUT changes only what it sends");

        let list = get_ok(&app, "/accounts/?isExternal=0").await;
        assert_eq!(list["metadata"], json!({"total": 1, "limit": 1000, "offset": 0}));
        assert_eq!(ids(&list), vec![id]);

        let r = up(&app, Method::DELETE, &format!("/accounts/{id}/"), None).await;
        assert_eq!((r.status.as_u16(), r.body.clone()), (200, json!({"error": null})));
        assert_up_error(&up(&app, Method::GET, &format!("/accounts/{id}"), None).await, 404, "NotFound");
        assert_up_error(&up(&app, Method::GET, "/accounts/abc", None).await, 404, "NotFound");
        assert_up_error(
            &up(&app, Method::POST, "/accounts", Some(json!({"phone": "1"}))).await,
            400,
            "FailedValidation",
        );
        assert_up_error(&up(&app, Method::POST, "/accounts", Some(json!({"name": 5}))).await, 400, "FailedValidation");
        let bad = app.client.post(format!("{}/api/v2/accounts?token={}", app.base, app.owner.key.secret));
        let r = app.send(bad.header("content-type", "application/json").body("{nope"), None).await;
        assert_up_error(&r, 400, "FailedValidation");
        app.finish().await;
    }
}

#[tokio::test]
async fn keys_go_as_token_cookie_or_bearer_and_a_bad_one_is_a_plain_401() {
    for app in apps().await {
        let url = format!("{}/api/v2/self", app.base);
        let key = &app.owner.key.secret;
        for req in [
            app.client.get(format!("{url}?token={key}")),
            app.client.get(&url).header("cookie", format!("lang=sv; token={key}")),
            app.client.get(&url).bearer_auth(key),
        ] {
            let r = app.send(req, None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(r.body["errors"].is_null(), "/self spells it errors: {}", r.body);
            assert_eq!(r.body["data"]["id"], app.owner.user_id);
            assert_eq!(r.body["data"]["client"]["id"], app.owner.account_id);
        }
        for req in [
            app.client.get(&url),
            app.client.get(format!("{url}?token=nope")),
            app.client.get(format!("{}/api/v2/nowhere", app.base)),
        ] {
            let r = app.send(req, None).await;
            assert_eq!(r.status, 401);
            assert_eq!(r.body, json!("Unauthorized"));
            let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
            assert!(ct.starts_with("text/plain"), "{ct}");
            assert!(r.headers.get("x-ratelimit-limit").is_none());
        }
        // Once authenticated, an unknown path or method is Upsales' 404.
        assert_up_error(&up(&app, Method::GET, "/nowhere", None).await, 404, "NotFound");
        assert_up_error(&up(&app, Method::PATCH, "/accounts", None).await, 404, "NotFound");
        app.finish().await;
    }
}

/// Three accounts with a custom field, and contacts at two of them.
async fn fixture(app: &crate::common::App) -> (Vec<i64>, Vec<i64>, i64) {
    let field = created(app, "/customfields/account", json!({"name": "Tier", "datatype": "Integer"})).await;
    let field_id = field["id"].as_i64().expect("field id");
    assert_eq!(field["datatype"], "Integer");
    let mut accounts = Vec::new();
    for (name, phone, tier) in [("Alpha", "111", 1), ("Beta", "222", 2), ("Gamma", "333", 3)] {
        let a = created(
            app,
            "/accounts",
            json!({"name": name, "phone": phone, "custom": [{"fieldId": field_id, "value": tier.to_string()}]}),
        )
        .await;
        accounts.push(a["id"].as_i64().expect("id"));
    }
    let mut contacts = Vec::new();
    for (name, client) in
        [("Ada Lovelace", accounts[0]), ("Charles Babbage", accounts[0]), ("Grace Hopper", accounts[1])]
    {
        let c = created(
            app,
            "/contacts",
            json!({"name": name, "client": {"id": client}, "email": format!("{}@x.test", name.len())}),
        )
        .await;
        contacts.push(c["id"].as_i64().expect("id"));
    }
    (accounts, contacts, field_id)
}

#[tokio::test]
async fn the_query_language_filters_sorts_and_pages_in_the_database() {
    for app in apps().await {
        let (a, c, field) = fixture(&app).await;
        let list = |q: String| {
            let app = &app;
            async move { ids(&get_ok(app, &format!("/accounts?{q}")).await) }
        };
        // Every operator, on the id and on text.
        assert_eq!(list(format!("id={}", a[1])).await, vec![a[1]]);
        assert_eq!(list(format!("id=eq:{}", a[1])).await, vec![a[1]]);
        assert_eq!(list(format!("id=ne:{}&sort=id", a[1])).await, vec![a[0], a[2]]);
        assert_eq!(list(format!("id=gt:{}&sort=id", a[0])).await, vec![a[1], a[2]]);
        assert_eq!(list(format!("id=gte:{}&sort=id", a[1])).await, vec![a[1], a[2]]);
        assert_eq!(list(format!("id=lt:{}", a[1])).await, vec![a[0]]);
        assert_eq!(list(format!("id=lte:{}&sort=id", a[1])).await, vec![a[0], a[1]]);
        assert_eq!(list("name=Beta".into()).await, vec![a[1]]);
        assert_eq!(list("name=gte:Beta&sort=-name".into()).await, vec![a[2], a[1]]);
        // Comma lists are sets; repeated parameters are all required.
        assert_eq!(list(format!("id={},{}&sort=-id", a[0], a[2])).await, vec![a[2], a[0]]);
        assert_eq!(list(format!("id=ne:{},{}", a[0], a[2])).await, vec![a[1]]);
        assert_eq!(list(format!("id=gte:{}&id=lte:{}", a[1], a[1])).await, vec![a[1]]);
        assert_eq!(list("phone=111,333&name=ne:Alpha".into()).await, vec![a[2]]);
        // Dotted relations and constants.
        assert_eq!(list(format!("user.id={}&sort=id", app.owner.user_id)).await, a);
        assert_eq!(list("user.id=ne:1&sort=id".into()).await, a);
        assert_eq!(list("isExternal=0&sort=id".into()).await, a);
        assert!(list("isExternal=1".into()).await.is_empty());
        assert!(list("scoreUpdateDate=gte:2018-04-16".into()).await.is_empty());
        // Custom fields, by operator.
        assert_eq!(list(format!("custom=eq:{field}:2")).await, vec![a[1]]);
        assert_eq!(list(format!("custom=gt:{field}:1&sort=id")).await, vec![a[1], a[2]]);
        assert_eq!(list(format!("custom=lte:{field}:2&sort=id")).await, vec![a[0], a[1]]);
        assert_eq!(list(format!("custom=ne:{field}:2&sort=id")).await, vec![a[0], a[2]]);
        assert_eq!(list(format!("custom={field}:1,3&sort=id")).await, vec![a[0], a[2]]);
        // Dates.
        assert_eq!(list("regDate=gte:2000-01-01&sort=id".into()).await, a);
        assert!(list("modDate=lt:2000-01-01T00:00:00Z".into()).await.is_empty());

        // Relations from contacts: the client's id, name and custom fields.
        let contacts = |q: String| {
            let app = &app;
            async move { ids(&get_ok(app, &format!("/contacts?{q}")).await) }
        };
        assert_eq!(contacts(format!("client.id={}&sort=id", a[0])).await, vec![c[0], c[1]]);
        assert_eq!(contacts("client.name=Beta".into()).await, vec![c[2]]);
        assert_eq!(contacts(format!("client.custom=eq:{field}:2")).await, vec![c[2]]);
        assert_eq!(contacts(format!("client.custom=lt:{field}:2&sort=-id")).await, vec![c[1], c[0]]);
        assert_eq!(contacts("sort=lastName".into()).await, vec![c[1], c[2], c[0]]);

        // Pages: limit, offset and the total of the whole filter.
        let page = get_ok(&app, "/accounts?sort=name&limit=2&offset=1").await;
        assert_eq!(page["metadata"], json!({"total": 3, "limit": 2, "offset": 1}));
        assert_eq!(ids(&page), vec![a[1], a[2]]);
        // The full-scan idiom: sort by id, then id greater than the last one seen.
        let mut seen = Vec::new();
        let mut last = 0;
        loop {
            let page = get_ok(&app, &format!("/accounts?sort=id&limit=1&id=gt:{last}")).await;
            let got = ids(&page);
            let Some(l) = got.last().copied() else { break };
            seen.extend(got);
            last = l;
        }
        assert_eq!(seen, a);

        // What is not an attribute, operator or value is a 400, never ignored.
        for q in [
            "bogus=1",
            "client.bogus=1",
            "nosuch.id=1",
            "sort=bogus",
            "sort=-isExternal",
            "id=gt:1,2",
            "id=abc",
            "regDate=gte:yesterday",
            "custom=eq:999999:1",
            "custom=eq:nofield",
            "limit=2001",
            "limit=0",
            "offset=-1",
            "q=%7B%7D",
        ] {
            let r = up(&app, Method::GET, &format!("/accounts?{q}"), None).await;
            assert_up_error(&r, 400, "FailedValidation");
        }
        let r = up(&app, Method::GET, "/accounts?bogus=1", None).await;
        assert_eq!(r.body["error"]["msg"], "No such attribute: bogus");
        // Bounded: a list of 1001 values, or 101 parameters, is refused before any query.
        let many: Vec<String> = (1..=1001).map(|i| i.to_string()).collect();
        let r = up(&app, Method::GET, &format!("/accounts?id={}", many.join(",")), None).await;
        assert_up_error(&r, 400, "FailedValidation");
        let r = up(&app, Method::GET, &format!("/accounts?id={}", many[..1000].join(",")), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let repeated: Vec<String> = (0..101).map(|i| format!("id=gt:{i}")).collect();
        assert_up_error(
            &up(&app, Method::GET, &format!("/accounts?{}", repeated.join("&")), None).await,
            400,
            "FailedValidation",
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn contacts_split_names_unless_told_and_show_their_client() {
    for app in apps().await {
        let acme = created(&app, "/accounts", json!({"name": "Acme"})).await;
        let c = created(
            &app,
            "/contacts/",
            json!({"name": " Test Contact ", "client": {"id": acme["id"]}, "email": "t@acme.test", "cellPhone": "070"}),
        )
        .await;
        assert_eq!((c["firstName"].clone(), c["lastName"].clone()), (json!("Test"), json!("Contact")));
        assert_eq!(c["client"]["name"], "Acme");
        assert_eq!(c["cellPhone"], "070");
        let id = c["id"].as_i64().expect("id");
        let body = json!({"name": "ignored", "firstName": "Richard", "lastName": "Hendricks"});
        let r = up(&app, Method::PUT, &format!("/contacts/{id}?usingFirstnameLastname"), Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["name"], "Richard Hendricks");
        assert_eq!(r.body["data"]["email"], "t@acme.test");
        let by_parts = json!({"firstName": "Erlich", "lastName": "Bachman", "client": acme["id"]});
        let r = up(&app, Method::POST, "/contacts?usingFirstnameLastname=true", Some(by_parts)).await;
        assert_eq!(r.body["data"]["name"], "Erlich Bachman", "{}", r.body);
        assert_up_error(
            &up(&app, Method::POST, "/contacts", Some(json!({"email": "x@y.z"}))).await,
            400,
            "FailedValidation",
        );
        let r = up(&app, Method::DELETE, &format!("/contacts/{id}"), None).await;
        assert_eq!(r.body, json!({"error": null}));
        assert_up_error(&up(&app, Method::GET, &format!("/contacts/{id}"), None).await, 404, "NotFound");
        app.finish().await;
    }
}

#[tokio::test]
async fn orders_and_opportunities_carry_rows_value_and_weighted_value() {
    for app in apps().await {
        let client = created(&app, "/accounts", json!({"name": "Hooli"})).await;
        let product = created(&app, "/products", json!({"name": "Licence", "listPrice": 10000})).await;
        let stages = get_ok(&app, "/orderstages").await;
        assert!(stages["metadata"]["total"].as_u64().is_some_and(|n| n >= 5), "{stages}");
        let stage = created(&app, "/orderStages/", json!({"name": "Prospect 1", "probability": 25})).await;
        assert_eq!(stage["probability"], 25);

        let body = json!({
            "description": "10 licenses", "date": "2018-07-23",
            "user": {"id": app.owner.user_id}, "client": {"id": client["id"]}, "stage": {"id": stage["id"]},
            "probability": 25,
            "orderRow": [
                {"quantity": 1, "price": 9000, "listPrice": 10000, "purchaseCost": 4500, "product": {"id": product["id"]}},
                {"quantity": 2.5, "price": 100.5},
            ],
        });
        let o = created(&app, "/orders", body).await;
        let id = o["id"].as_i64().expect("id");
        assert_eq!(o["value"], json!(9251.25), "{o}");
        assert_eq!(o["weightedValue"], json!(2312.81));
        assert_eq!(o["stage"]["name"], "Prospect 1");
        assert_eq!(o["client"]["name"], "Hooli");
        assert_eq!(o["orderRow"][0]["product"]["name"], "Licence");
        assert_eq!(o["orderRow"][0]["listPrice"], 10000);
        assert_eq!(o["date"], "2018-07-23");
        assert!(o["closeDate"].is_null());

        // It is an opportunity, not an order.
        let opp = get_ok(&app, "/orders?probability=gte:1&probability=lte:99").await;
        assert_eq!(ids(&opp), vec![id]);
        assert_eq!(ids(&get_ok(&app, "/opportunities").await), vec![id]);
        assert!(ids(&get_ok(&app, "/orders?probability=100").await).is_empty());
        assert_eq!(ids(&get_ok(&app, "/orders?value=gt:9000&date=gte:2016-01-01").await), vec![id]);
        assert_eq!(ids(&get_ok(&app, &format!("/orders?client.name=Hooli&stage.id={}", stage["id"])).await), vec![id]);

        // Won: probability 100; the rows stay unless new ones are sent.
        let r = up(&app, Method::PUT, &format!("/orders/{id}"), Some(json!({"probability": 100}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["value"], json!(9251.25));
        assert_eq!(r.body["data"]["weightedValue"], json!(9251.25));
        assert!(r.body["data"]["closeDate"].is_string());
        assert_eq!(ids(&get_ok(&app, "/orders?probability=100").await), vec![id]);
        assert_up_error(&up(&app, Method::GET, &format!("/opportunities/{id}"), None).await, 404, "NotFound");
        let rows = json!({"orderRow": [{"quantity": 3, "price": 10}]});
        let r = up(&app, Method::PUT, &format!("/orders/{id}"), Some(rows)).await;
        assert_eq!(r.body["data"]["value"], 30, "{}", r.body);
        assert_eq!(r.body["data"]["orderRow"].as_array().map(Vec::len), Some(1));

        // The lists' rules.
        let at = |p: i64| json!({"description": "x", "client": client["id"], "probability": p});
        assert_up_error(&up(&app, Method::POST, "/opportunities", Some(at(100))).await, 400, "FailedValidation");
        assert_up_error(&up(&app, Method::POST, "/orders", Some(at(101))).await, 400, "FailedValidation");
        assert_up_error(
            &up(&app, Method::POST, "/orders", Some(json!({"description": "x"}))).await,
            400,
            "FailedValidation",
        );
        let bad_row = json!({"description": "x", "client": client["id"], "orderRow": [{"quantity": "lots"}]});
        assert_up_error(&up(&app, Method::POST, "/orders", Some(bad_row)).await, 400, "FailedValidation");
        let opp = created(&app, "/opportunities", at(50)).await;
        assert_eq!(opp["probability"], 50);

        assert_eq!(up(&app, Method::DELETE, &format!("/orders/{id}"), None).await.body, json!({"error": null}));
        assert_up_error(&up(&app, Method::GET, &format!("/orders/{id}"), None).await, 404, "NotFound");
        assert_eq!(up(&app, Method::DELETE, &format!("/orderstages/{}", stage["id"]), None).await.status, 200);
        app.finish().await;
    }
}

#[tokio::test]
async fn custom_fields_users_currencies_and_metadata() {
    for app in apps().await {
        let f = created(
            &app,
            "/customfields/contact",
            json!({"name": "Rating", "datatype": "Select", "default": ["AAA", "AA"], "visible": 1}),
        )
        .await;
        assert_eq!(f["default"], json!(["AAA", "AA"]));
        let id = f["id"].as_i64().expect("id");
        let r = up(&app, Method::PUT, &format!("/customfields/contact/{id}"), Some(json!({"name": "Credit"}))).await;
        assert_eq!(r.body["data"]["name"], "Credit", "{}", r.body);
        assert_eq!(ids(&get_ok(&app, "/customFields/contact").await), vec![id]);
        assert!(ids(&get_ok(&app, "/customfields/account").await).is_empty());
        assert!(ids(&get_ok(&app, "/customfields/activity").await).is_empty(), "kept nowhere: an empty list");
        assert_up_error(&up(&app, Method::GET, &format!("/customfields/account/{id}"), None).await, 404, "NotFound");
        assert_up_error(
            &up(&app, Method::POST, "/customfields/activity", Some(json!({"name": "x"}))).await,
            400,
            "FailedValidation",
        );
        assert_up_error(&up(&app, Method::GET, "/customfields/nothing", None).await, 404, "NotFound");
        let c = created(&app, "/contacts", json!({"name": "Ada Lovelace", "custom": [{"fieldId": id, "value": "AA"}]}))
            .await;
        assert_eq!(c["custom"][0]["fieldId"], id);
        assert_eq!(c["custom"][0]["value"], "AA");
        assert_up_error(
            &up(
                &app,
                Method::POST,
                "/contacts",
                Some(json!({"name": "X Y", "custom": [{"fieldId": id, "value": "B"}]})),
            )
            .await,
            400,
            "FailedValidation",
        );
        assert_eq!(
            ids(&get_ok(&app, &format!("/contacts?custom=eq:{id}:AA")).await),
            vec![c["id"].as_i64().expect("id")]
        );
        assert_eq!(
            up(&app, Method::DELETE, &format!("/customfields/contact/{id}"), None).await.body,
            json!({"error": null})
        );

        let users = get_ok(&app, "/users?active=1").await;
        assert_eq!(ids(&users), vec![app.owner.user_id]);
        assert_eq!(users["data"][0]["administrator"], 1);
        assert!(ids(&get_ok(&app, "/users?active=0").await).is_empty());
        assert_eq!(get_ok(&app, &format!("/users/{}", app.owner.user_id)).await["data"]["email"], "owner@acme.test");
        let cur = get_ok(&app, "/currencies").await;
        assert_eq!(cur["data"][0]["masterCurrency"], true);
        assert!(get_ok(&app, "/metadata").await["data"]["user"]["id"].is_i64());
        app.finish().await;
    }
}

#[tokio::test]
async fn an_account_made_over_upsales_is_the_company_sell_shows_and_changes() {
    for app in apps().await {
        let a = created(&app, "/accounts", json!({"name": "Initech", "phone": "555"})).await;
        let id = a["id"].as_i64().expect("id");
        let r = sell(&app, Method::GET, &format!("/contacts/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["is_organization"], true);
        assert_eq!(r.body["data"]["name"], "Initech");
        let r = sell(&app, Method::PUT, &format!("/contacts/{id}"), Some(json!({"data": {"name": "Initrode"}}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let back = get_ok(&app, &format!("/accounts/{id}")).await;
        assert_eq!(back["data"]["name"], "Initrode");
        assert_eq!(back["data"]["phone"], "555");
        // And a contact made over Sell at that company is one of its Upsales contacts.
        let body = json!({"data": {"first_name": "Peter", "last_name": "Gibbons", "contact_id": id}});
        let r = sell(&app, Method::POST, "/contacts", Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let list = get_ok(&app, &format!("/contacts?client.id={id}")).await;
        assert_eq!(list["data"][0]["name"], "Peter Gibbons", "{list}");
        app.finish().await;
    }
}

#[tokio::test]
async fn another_accounts_records_are_not_found() {
    for app in apps().await {
        let other = app.other_account().await;
        let a = created(&app, "/accounts", json!({"name": "Mine"})).await;
        let id = a["id"].as_i64().expect("id");
        for (m, p) in [
            (Method::GET, format!("/accounts/{id}")),
            (Method::PUT, format!("/accounts/{id}")),
            (Method::DELETE, format!("/accounts/{id}")),
        ] {
            let r = up_as(&app, &other, m, &p, Some(json!({"name": "Theirs"}))).await;
            assert_up_error(&r, 404, "NotFound");
        }
        let r = up_as(&app, &other, Method::GET, "/accounts", None).await;
        assert_eq!(r.body["metadata"]["total"], 0);
        let r =
            up_as(&app, &other, Method::POST, "/contacts", Some(json!({"name": "A B", "client": {"id": id}}))).await;
        assert!(r.status == 400 || r.status == 404, "{}", r.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn every_answer_carries_the_rate_limit_and_past_it_is_a_429() {
    let mut config = test_config();
    config.http.rate_limit = kith_domain::rate_limits::RateLimit { requests: 3, window_secs: 3600 };
    for app in apps_with(config).await {
        let mut remaining = Vec::new();
        for _ in 0..3 {
            let r = up(&app, Method::GET, "/accounts", None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let h = |n: &str| r.headers.get(n).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
            assert_eq!(h("x-ratelimit-limit"), Some(3));
            assert!(h("x-ratelimit-reset").is_some_and(|s| (1..=3600).contains(&s)));
            remaining.push(h("x-ratelimit-remaining").unwrap_or(99));
        }
        let r = up(&app, Method::GET, "/accounts", None).await;
        // A window may end between two requests (at most once an hour): then the count starts over.
        if remaining == vec![2, 1, 0] {
            assert_up_error(&r, 429, "ThrottleLimit");
            assert!(r.headers.get("retry-after").is_some());
            assert_eq!(r.headers.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok()), Some("0"));
            // The limit is per key: another key of the account has its own.
            let other = app.other_account().await;
            assert_eq!(up_as(&app, &other, Method::GET, "/accounts", None).await.status, 200);
        }
        app.finish().await;
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_kith");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(url: &str) -> Server {
    let listen = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BIN)
        .args([
            "--database",
            url,
            "serve",
            "--listen",
            &listen,
            "--rate-limit",
            "5",
            "--rate-limit-window-secs",
            "3600",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kith");
    let base = format!("http://{listen}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "kith serve did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Server(child, base)
}

#[tokio::test]
async fn two_server_processes_on_one_postgres_share_the_rate_limit() {
    let Some(admin) = kith_store::testing::pg_url() else {
        eprintln!("note: KITH_TEST_DATABASE_URL is not set; skipping");
        return;
    };
    let db = kith_store::testing::PgTestDatabase::create(&admin).await;
    let files = tempfile::tempdir().expect("tempdir");
    let crm = kith::open(&db.url, 2, kith::local_files(files.path(), "http://localhost")).await.expect("open");
    let acc = crm.create_account("Acme", "owner@acme.test").await.expect("account");
    crm.store().close().await;
    let (a, b) = (serve(&db.url).await, serve(&db.url).await);
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut remaining = Vec::new();
    for i in 0..7 {
        let base = if i % 2 == 0 { &a.1 } else { &b.1 };
        let r = client.get(format!("{base}/api/v2/accounts?token={}", acc.key.secret)).send().await.expect("request");
        statuses.push(r.status().as_u16());
        remaining.push(r.headers().get("x-ratelimit-remaining").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned());
        let _: Value = r.json().await.expect("json");
    }
    // One window of 5, counted across both processes (unless an hour ended in between).
    if remaining[..5] == ["4", "3", "2", "1", "0"] {
        assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429], "{remaining:?}");
    } else {
        assert!(statuses.iter().filter(|s| **s == 429).count() <= 2, "{statuses:?} {remaining:?}");
    }
    drop((a, b));
}

#[tokio::test]
async fn activities_are_tasks_due_closed_and_filtered() {
    for app in apps().await {
        let client = created(&app, "/accounts", json!({"name": "Raviga"})).await;
        let person = created(&app, "/contacts", json!({"name": "Laurie Bream", "client": client["id"]})).await;
        let call = get_ok(&app, "/todoTypes").await["PHONE_CALL"]["id"].clone();
        let body = json!({
            "description": "Call Laurie", "date": "2030-05-01", "time": "09:30",
            "client": {"id": client["id"]}, "contacts": [{"id": person["id"]}], "users": [{"id": app.owner.user_id}],
            "activityType": {"id": call},
        });
        let a = created(&app, "/activities/", body).await;
        let id = a["id"].as_i64().expect("id");
        assert_eq!((a["date"].clone(), a["time"].clone()), (json!("2030-05-01"), json!("09:30")), "{a}");
        assert_eq!(a["contacts"][0]["id"], person["id"]);
        assert_eq!(a["client"]["name"], "Raviga");
        assert!(a["closeDate"].is_null());
        assert_eq!(ids(&get_ok(&app, &format!("/activities?contacts.id={}", person["id"])).await), vec![id]);
        assert_eq!(ids(&get_ok(&app, "/activities?date=gte:2030-01-01&closeDate=null").await), vec![id]);
        assert_eq!(ids(&get_ok(&app, "/activities?client.name=Raviga").await), vec![id]);

        // Closing it: a closeDate; the open list no longer has it.
        let r = up(&app, Method::PUT, &format!("/activities/{id}"), Some(json!({"closeDate": "2030-05-02"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body["data"]["closeDate"].is_string(), "{}", r.body);
        assert_eq!(r.body["data"]["description"], "Call Laurie");
        assert!(ids(&get_ok(&app, "/activities?closeDate=null").await).is_empty());
        let r = up(&app, Method::PUT, &format!("/activities/{id}"), Some(json!({"closeDate": null}))).await;
        assert!(r.body["data"]["closeDate"].is_null(), "{}", r.body);

        assert_up_error(
            &up(&app, Method::POST, "/activities", Some(json!({"date": "2030-01-01"}))).await,
            400,
            "FailedValidation",
        );
        assert_up_error(
            &up(&app, Method::POST, "/activities", Some(json!({"description": "x", "date": "soon"}))).await,
            400,
            "FailedValidation",
        );
        assert_up_error(&up(&app, Method::GET, "/activities?bogus=1", None).await, 400, "FailedValidation");
        assert_eq!(up(&app, Method::DELETE, &format!("/activities/{id}"), None).await.body, json!({"error": null}));
        assert_up_error(&up(&app, Method::GET, &format!("/activities/{id}"), None).await, 404, "NotFound");
        app.finish().await;
    }
}

#[tokio::test]
async fn appointments_are_the_meetings_onepage_and_sell_show_and_back() {
    for app in apps().await {
        let client = created(&app, "/accounts", json!({"name": "Hooli"})).await;
        let person = created(&app, "/contacts", json!({"name": "Gavin Belson", "client": client["id"]})).await;
        let first = get_ok(&app, "/activitytypes/appointment?name=First%20meeting").await["data"][0]["id"].clone();
        let body = json!({
            "client": client["id"], "users": [{"id": app.owner.user_id}],
            "date": "2030-04-24T09:00:42.903Z", "endDate": "2030-04-24T10:00:42.903Z",
            "description": "Requirements analysis", "isAppointment": true, "activityType": {"id": first},
            "contacts": [{"id": person["id"]}], "location": "Palo Alto",
        });
        let a = created(&app, "/appointments", body).await;
        let id = a["id"].as_i64().expect("id");
        assert_eq!(a["date"], "2030-04-24T09:00:42.903Z", "{a}");
        assert_eq!(a["endDate"], "2030-04-24T10:00:42.903Z");
        assert_eq!(a["contacts"][0]["id"], person["id"]);
        assert_eq!(a["client"]["name"], "Hooli", "the contact's company is the client");
        assert_eq!(a["users"][0]["id"], app.owner.user_id);
        assert_eq!((a["isAppointment"].clone(), a["location"].clone()), (json!(1), json!("Palo Alto")));

        // The same meeting over OnePage and Sell.
        let r = app.op(Method::GET, &format!("/meetings/{}", kith_onepage::wire::hex_id(id)), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["meeting"]["text"], "Requirements analysis");
        assert_eq!(r.body["data"]["meeting"]["place"], "Palo Alto");
        let r = sell(&app, Method::GET, &format!("/visits/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["summary"], "Requirements analysis");
        // And a OnePage meeting is an appointment.
        let body = json!({"contact_id": kith_onepage::wire::hex_id(person["id"].as_i64().expect("id")),
                          "text": "Lunch", "meeting_time_int": 1_900_000_000});
        let r = app.op(Method::POST, "/meetings", Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let lunch = i64::from_str_radix(r.body["data"]["meeting"]["id"].as_str().expect("id"), 16).expect("hex");
        let l = get_ok(&app, &format!("/appointments/{lunch}")).await;
        assert_eq!(l["data"]["description"], "Lunch");
        assert_eq!(l["data"]["date"], "2030-03-17T17:46:40.000Z");
        assert!(l["data"]["endDate"].is_null());

        // The query language, in the database.
        let all = get_ok(&app, "/appointments?sort=-date").await;
        assert_eq!(ids(&all), vec![id, lunch]);
        assert_eq!(all["metadata"]["total"], 2);
        assert_eq!(ids(&get_ok(&app, "/appointments?date=gte:2030-04-01").await), vec![id]);
        assert_eq!(ids(&get_ok(&app, "/appointments?endDate=null").await), vec![lunch]);
        assert_eq!(
            ids(&get_ok(&app, &format!("/appointments?contacts.id={}&sort=id", person["id"])).await),
            vec![id.min(lunch), id.max(lunch)]
        );
        assert_eq!(ids(&get_ok(&app, "/appointments?client.name=Hooli&description=Lunch").await), vec![lunch]);
        assert_eq!(ids(&get_ok(&app, "/appointments?sort=id&limit=1&offset=1").await), vec![id.max(lunch)]);
        assert!(ids(&get_ok(&app, "/appointments?isAppointment=0").await).is_empty());
        assert_up_error(&up(&app, Method::GET, "/appointments?bogus=1", None).await, 400, "FailedValidation");
        assert_up_error(&up(&app, Method::GET, "/appointments?sort=nope", None).await, 400, "FailedValidation");
        assert_up_error(&up(&app, Method::GET, "/appointments?date=soon", None).await, 400, "FailedValidation");

        // Update: a longer meeting; an end before the start and a move to another person are 400s.
        let r = up(&app, Method::PUT, &format!("/appointments/{id}"), Some(json!({"endDate": "2030-04-24T12:00:00Z"})))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["endDate"], "2030-04-24T12:00:00.000Z");
        assert_eq!(r.body["data"]["description"], "Requirements analysis", "PUT changes only what it sends");
        let r = up(&app, Method::PUT, &format!("/appointments/{id}"), Some(json!({"endDate": "2030-04-23T12:00:00Z"})))
            .await;
        assert_up_error(&r, 400, "FailedValidation");
        let other = created(&app, "/contacts", json!({"name": "Jack Barker", "client": client["id"]})).await;
        let r = up(&app, Method::PUT, &format!("/appointments/{id}"), Some(json!({"contacts": [{"id": other["id"]}]})))
            .await;
        assert_up_error(&r, 400, "FailedValidation");
        for bad in [
            json!({"date": "2030-01-01T10:00:00Z"}),
            json!({"client": client["id"], "date": "tomorrow"}),
            json!({"client": 999_999_999, "date": "2030-01-01T10:00:00Z"}),
            json!({"client": client["id"]}),
        ] {
            assert_up_error(&up(&app, Method::POST, "/appointments", Some(bad)).await, 400, "FailedValidation");
        }
        assert_eq!(up(&app, Method::DELETE, &format!("/appointments/{id}"), None).await.body, json!({"error": null}));
        assert_up_error(&up(&app, Method::GET, &format!("/appointments/{id}"), None).await, 404, "NotFound");
        let other_account = app.other_account().await;
        let r = up_as(&app, &other_account, Method::GET, &format!("/appointments/{lunch}"), None).await;
        assert_up_error(&r, 404, "NotFound");
        app.finish().await;
    }
}

#[tokio::test]
async fn phone_calls_are_the_calls_sell_shows_and_back() {
    for app in apps().await {
        let client = created(&app, "/accounts", json!({"name": "Upsales Nordic AB"})).await;
        let person = created(&app, "/contacts", json!({"name": "Kalle Pettersson", "client": client["id"]})).await;
        let body = json!({
            "durationInS": 0, "user": {"id": app.owner.user_id, "name": "ignored"}, "type": "31",
            "conversationUrl": null, "contact": {"id": person["id"]}, "date": "2021-09-28T09:40:50.000Z",
            "status": 1, "phoneNumber": "0734031727", "related": [], "client": {"id": client["id"]},
            "externalId": "5b50ddc5-12d9-4ad5-b25f-12dc918dd03b",
        });
        let c = created(&app, "/phoneCall", body).await;
        let id = c["id"].as_i64().expect("id");
        assert_eq!(c["contact"]["name"], "Kalle Pettersson", "{c}");
        assert_eq!(c["client"]["name"], "Upsales Nordic AB");
        assert_eq!(c["user"]["id"], app.owner.user_id);
        assert_eq!((c["date"].clone(), c["status"].clone()), (json!("2021-09-28T09:40:50.000Z"), json!(1)));
        assert_eq!(c["externalId"], "5b50ddc5-12d9-4ad5-b25f-12dc918dd03b");

        let r = up(&app, Method::PUT, &format!("/phonecall/{id}"), Some(json!({"durationInS": 10}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            (r.body["data"]["durationInS"].clone(), r.body["data"]["phoneNumber"].clone()),
            (json!(10), json!("0734031727"))
        );
        // The same call over Sell, and a Sell call over Upsales.
        let s = sell(&app, Method::GET, &format!("/calls/{id}"), None).await;
        assert_eq!(s.status, 200, "{}", s.body);
        assert_eq!(
            (s.body["data"]["duration"].clone(), s.body["data"]["phone_number"].clone()),
            (json!(10), json!("0734031727"))
        );
        assert_eq!(s.body["data"]["resource_id"], person["id"]);
        let body = json!({"data": {"resource_type": "contact", "resource_id": client["id"], "missed": true,
                                   "duration": 3, "made_at": "2022-01-02T03:04:05Z", "phone_number": "555"}});
        let s = sell(&app, Method::POST, "/calls", Some(body)).await;
        assert_eq!(s.status, 200, "{}", s.body);
        let missed = s.body["data"]["id"].as_i64().expect("id");
        let m = get_ok(&app, &format!("/phoneCall/{missed}")).await;
        assert_eq!((m["data"]["status"].clone(), m["data"]["durationInS"].clone()), (json!(0), json!(3)), "{m}");
        assert_eq!(m["data"]["client"]["id"], client["id"]);
        assert!(m["data"]["contact"].is_null());

        // The query language.
        assert_eq!(ids(&get_ok(&app, "/phoneCall?sort=-date").await), vec![missed, id]);
        assert_eq!(ids(&get_ok(&app, "/phoneCall?durationInS=gt:5").await), vec![id]);
        assert_eq!(ids(&get_ok(&app, &format!("/phoneCall?contact.id={}", person["id"])).await), vec![id]);
        assert_eq!(ids(&get_ok(&app, "/phoneCall?date=lt:2022-01-01&phoneNumber=0734031727").await), vec![id]);
        assert_eq!(get_ok(&app, "/phoneCall?client.name=Upsales%20Nordic%20AB&limit=1").await["metadata"]["total"], 2);
        assert_up_error(&up(&app, Method::GET, "/phoneCall?status=1", None).await, 400, "FailedValidation");
        assert_up_error(&up(&app, Method::GET, "/phoneCall?durationInS=long", None).await, 400, "FailedValidation");
        for bad in [
            json!({"status": 7}),
            json!({"durationInS": -1}),
            json!({"contact": {"id": 999_999_999}}),
            json!({"date": 5}),
        ] {
            assert_up_error(&up(&app, Method::POST, "/phoneCall", Some(bad)).await, 400, "FailedValidation");
        }
        assert_eq!(up(&app, Method::DELETE, &format!("/phoneCall/{id}"), None).await.body, json!({"error": null}));
        assert_up_error(&up(&app, Method::GET, &format!("/phoneCall/{id}"), None).await, 404, "NotFound");
        assert_eq!(sell(&app, Method::GET, &format!("/calls/{id}"), None).await.status, 404);
        app.finish().await;
    }
}

#[tokio::test]
async fn activity_types_categories_and_roles_are_named_lists() {
    for app in apps().await {
        let todo = get_ok(&app, "/todoTypes").await;
        assert_eq!(
            (todo["TODO"]["name"].clone(), todo["TODO"]["todoType"].clone()),
            (json!("Todo"), json!(1)),
            "{todo}"
        );
        assert_eq!(todo["PHONE_CALL"]["hasOutcome"], true);
        let activity = get_ok(&app, "/activitytypes/activity").await;
        assert_eq!(activity["metadata"]["total"], 2);
        assert!(ids(&activity).contains(&todo["TODO"]["id"].as_i64().expect("id")));
        let meetings = get_ok(&app, "/activityTypes/appointment").await;
        let names: Vec<&str> =
            meetings["data"].as_array().expect("rows").iter().filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(names, ["Meeting", "First meeting"]);

        let kam = created(&app, "/activitytypes/appointment", json!({"name": "KAM meeting"})).await;
        let kam_id = kam["id"].as_i64().expect("id");
        assert_eq!((kam["first"].clone(), kam["roles"].clone()), (json!(0), json!([])));
        let r = up(
            &app,
            Method::PUT,
            &format!("/activitytypes/appointment/{kam_id}"),
            Some(json!({"name": "Key account"})),
        )
        .await;
        assert_eq!(r.body["data"]["name"], "Key account", "{}", r.body);
        assert_eq!(ids(&get_ok(&app, "/activitytypes/appointment?name=Key%20account").await), vec![kam_id]);
        assert_eq!(ids(&get_ok(&app, "/activitytypes/appointment?sort=-sortId&limit=1").await), vec![kam_id]);
        // A type of one list is not one of another.
        assert_up_error(
            &up(&app, Method::GET, &format!("/activitytypes/activity/{kam_id}"), None).await,
            404,
            "NotFound",
        );
        assert_up_error(
            &up(&app, Method::POST, "/activitytypes/appointment", Some(json!({"name": "key ACCOUNT"}))).await,
            400,
            "FailedValidation",
        );
        assert_up_error(
            &up(&app, Method::GET, "/activitytypes/appointment?bogus=1", None).await,
            400,
            "FailedValidation",
        );

        let t = created(&app, "/clientCategoryTypes", json!({"name": "Products"})).await;
        assert_eq!(t, json!({"id": t["id"], "name": "Products"}));
        let c = created(&app, "/clientcategories", json!({"name": "Example name", "categoryType": 0})).await;
        assert_eq!((c["categoryType"].clone(), c["roles"].clone()), (json!(0), json!([])));
        assert_up_error(
            &up(&app, Method::POST, "/clientcategories", Some(json!({"name": "Typed", "categoryType": t["id"]}))).await,
            400,
            "FailedValidation",
        );
        assert_up_error(
            &up(&app, Method::POST, "/clientcategories", Some(json!({"categoryType": 0}))).await,
            400,
            "FailedValidation",
        );
        let r = get_ok(&app, "/clientcategories?name=ne:Example%20name").await;
        assert_eq!(r["metadata"]["total"], 0);
        let role = created(&app, "/roles", json!({"name": "Sales"})).await;
        assert_eq!(get_ok(&app, "/roles").await["data"][0]["name"], "Sales");
        for path in [
            format!("/clientcategories/{}", c["id"]),
            format!("/clientCategoryTypes/{}", t["id"]),
            format!("/roles/{}", role["id"]),
        ] {
            assert_eq!(up(&app, Method::DELETE, &path, None).await.body, json!({"error": null}));
            assert_up_error(&up(&app, Method::GET, &path, None).await, 404, "NotFound");
        }
        let other = app.other_account().await;
        let r = up_as(&app, &other, Method::GET, &format!("/activitytypes/appointment/{kam_id}"), None).await;
        assert_up_error(&r, 404, "NotFound");
        app.finish().await;
    }
}

#[tokio::test]
async fn campaigns_are_kept_filtered_and_inactivated() {
    for app in apps().await {
        let body = json!({"name": "Sales campaign April", "startDate": "2030-04-24", "active": 1,
                          "users": [{"id": app.owner.user_id}], "quota": 12, "notes": "  Spring  "});
        let p = created(&app, "/projects", body).await;
        let id = p["id"].as_i64().expect("id");
        assert_eq!(
            (p["startDate"].clone(), p["endDate"].clone()),
            (json!("2030-04-24T00:00:00.000Z"), Value::Null),
            "{p}"
        );
        assert_eq!(
            (p["active"].clone(), p["quota"].clone(), p["notes"].clone()),
            (json!(1), json!(12), json!("Spring"))
        );
        assert_eq!(p["users"][0]["id"], app.owner.user_id);
        let q =
            created(&app, "/projects", json!({"name": "Autumn", "startDate": "2030-09-01", "endDate": "2030-10-01"}))
                .await;
        let autumn = q["id"].as_i64().expect("id");

        let r = up(&app, Method::PUT, &format!("/projects/{id}"), Some(json!({"active": 0}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            (r.body["data"]["active"].clone(), r.body["data"]["name"].clone()),
            (json!(0), json!("Sales campaign April"))
        );
        assert_eq!(ids(&get_ok(&app, "/projects?active=1").await), vec![autumn]);
        assert_eq!(ids(&get_ok(&app, "/projects?startDate=gte:2030-05-01").await), vec![autumn]);
        assert_eq!(ids(&get_ok(&app, "/projects?endDate=null").await), vec![id]);
        assert_eq!(ids(&get_ok(&app, "/projects?sort=-startDate").await), vec![autumn, id]);
        assert_eq!(ids(&get_ok(&app, "/projects?quota=gt:10&name=Sales%20campaign%20April").await), vec![id]);
        assert_up_error(&up(&app, Method::GET, "/projects?users.id=1", None).await, 400, "FailedValidation");
        for bad in [
            json!({"startDate": "2030-01-01"}),
            json!({"name": "X", "startDate": "2030-02-01", "endDate": "2030-01-01"}),
            json!({"name": "X", "quota": -1}),
            json!({"name": "X", "users": [{"id": 999_999_999}]}),
            json!({"name": "X", "active": 3}),
        ] {
            assert_up_error(&up(&app, Method::POST, "/projects", Some(bad)).await, 400, "FailedValidation");
        }
        let other = app.other_account().await;
        assert_up_error(&up_as(&app, &other, Method::GET, &format!("/projects/{id}"), None).await, 404, "NotFound");
        assert_eq!(up(&app, Method::DELETE, &format!("/projects/{id}"), None).await.body, json!({"error": null}));
        assert_up_error(&up(&app, Method::GET, &format!("/projects/{id}"), None).await, 404, "NotFound");
        app.finish().await;
    }
}

#[tokio::test]
async fn product_categories_are_the_item_groups_products_belong_to() {
    for app in apps().await {
        let services = created(&app, "/productCategories", json!({"name": "Services"})).await;
        let sid = services["id"].as_i64().expect("id");
        assert_eq!((services["parentId"].clone(), services["roles"].clone()), (json!(0), json!([])), "{services}");
        let ads = created(&app, "/productCategories", json!({"name": "Digital Ads"})).await;
        let aid = ads["id"].as_i64().expect("id");
        assert_up_error(
            &up(&app, Method::POST, "/productCategories", Some(json!({"name": "services"}))).await,
            400,
            "FailedValidation",
        );

        let p =
            created(&app, "/products", json!({"name": "Consulting", "listPrice": 100, "category": {"id": sid}})).await;
        let pid = p["id"].as_i64().expect("id");
        assert_eq!(p["category"], json!({"id": sid, "name": "Services"}), "{p}");
        let r = up(&app, Method::PUT, &format!("/products/{pid}"), Some(json!({"category": {"id": aid}}))).await;
        assert_eq!(r.body["data"]["category"]["id"], aid, "{}", r.body);
        assert_eq!(ids(&get_ok(&app, &format!("/products?category.id={aid}")).await), vec![pid]);
        assert!(ids(&get_ok(&app, &format!("/products?category.id={sid}")).await).is_empty());
        assert_up_error(
            &up(&app, Method::PUT, &format!("/products/{pid}"), Some(json!({"category": {"id": 999_999_999}}))).await,
            400,
            "FailedValidation",
        );

        let r =
            up(&app, Method::PUT, &format!("/productCategories/{aid}"), Some(json!({"name": "Ads", "parentId": 0})))
                .await;
        assert_eq!(r.body["data"]["name"], "Ads", "{}", r.body);
        assert_eq!(ids(&get_ok(&app, "/productCategories?name=Ads").await), vec![aid]);
        assert_eq!(ids(&get_ok(&app, "/productCategories?sort=-sortId").await), vec![aid, sid]);
        assert_up_error(&up(&app, Method::GET, "/productCategories?parent=1", None).await, 400, "FailedValidation");
        // Deleting a category leaves its products without one.
        assert_eq!(
            up(&app, Method::DELETE, &format!("/productCategories/{aid}"), None).await.body,
            json!({"error": null})
        );
        assert!(get_ok(&app, &format!("/products/{pid}")).await["data"]["category"].is_null());
        let other = app.other_account().await;
        assert_up_error(
            &up_as(&app, &other, Method::GET, &format!("/productCategories/{sid}"), None).await,
            404,
            "NotFound",
        );
        app.finish().await;
    }
}

/// A record's linked ids under `key` (`categories`, `projects`), in order.
fn linked(record: &Value, key: &str) -> Vec<i64> {
    record[key].as_array().map(|a| a.iter().filter_map(|v| v["id"].as_i64()).collect()).unwrap_or_default()
}

#[tokio::test]
async fn account_and_contact_categories_and_campaigns_are_stored_filtered_and_unlinked() {
    for app in apps().await {
        let vip = created(&app, "/clientcategories", json!({"name": "VIP", "categoryType": 0})).await;
        let partner = created(&app, "/clientcategories", json!({"name": "Partner"})).await;
        let (vip, partner) = (vip["id"].as_i64().expect("id"), partner["id"].as_i64().expect("id"));
        let buyer = created(&app, "/contactcategories", json!({"name": "Buyer", "categoryType": 0})).await;
        let buyer = buyer["id"].as_i64().expect("id");
        let spring = created(&app, "/projects", json!({"name": "Spring"})).await["id"].as_i64().expect("id");
        let autumn = created(&app, "/projects", json!({"name": "Autumn"})).await["id"].as_i64().expect("id");

        let a = created(
            &app,
            "/accounts",
            json!({"name": "Hooli", "categories": [{"id": vip}, {"id": partner}], "projects": [{"id": spring}]}),
        )
        .await;
        let hooli = a["id"].as_i64().expect("id");
        assert_eq!(a["categories"][0], json!({"id": vip, "name": "VIP", "categoryType": 0}), "{a}");
        assert_eq!(linked(&a, "categories"), vec![vip, partner]);
        assert_eq!(a["projects"], json!([{"id": spring, "name": "Spring"}]));
        let b = created(&app, "/accounts", json!({"name": "Initech", "categories": [{"id": partner}]})).await;
        let initech = b["id"].as_i64().expect("id");
        created(&app, "/accounts", json!({"name": "Umbrella"})).await;

        // Read back, and filtered in the database.
        let r = get_ok(&app, &format!("/accounts/{hooli}")).await;
        assert_eq!(linked(&r["data"], "categories"), vec![vip, partner]);
        assert_eq!(ids(&get_ok(&app, &format!("/accounts?categories.id={vip}")).await), vec![hooli]);
        assert_eq!(
            ids(&get_ok(&app, &format!("/accounts?categories.id={vip},{partner}&sort=id")).await),
            vec![hooli, initech]
        );
        let r = get_ok(&app, &format!("/accounts?categories.id=ne:{vip}&sort=id")).await;
        assert_eq!(r["metadata"]["total"], 2, "{r}");
        assert!(!ids(&r).contains(&hooli));
        assert_eq!(get_ok(&app, "/accounts?categories.id=null").await["metadata"]["total"], 1);
        assert_eq!(ids(&get_ok(&app, &format!("/accounts?projects.id={spring}")).await), vec![hooli]);
        assert_up_error(&up(&app, Method::GET, "/accounts?categories.id=gt:1", None).await, 400, "FailedValidation");
        assert_up_error(&up(&app, Method::GET, "/accounts?categories.id=x", None).await, 400, "FailedValidation");

        // A PUT without the key keeps the links; with it, replaces them.
        let r = up(&app, Method::PUT, &format!("/accounts/{hooli}"), Some(json!({"notes": "n"}))).await;
        assert_eq!(linked(&r.body["data"], "categories"), vec![vip, partner], "{}", r.body);
        let body = json!({"categories": [{"id": partner}], "projects": [{"id": autumn}, {"id": spring}]});
        let r = up(&app, Method::PUT, &format!("/accounts/{hooli}"), Some(body)).await;
        assert_eq!(linked(&r.body["data"], "categories"), vec![partner], "{}", r.body);
        assert_eq!(linked(&r.body["data"], "projects"), vec![autumn, spring]);

        // Contacts take contact categories (not account ones) and campaigns.
        let c = created(
            &app,
            "/contacts",
            json!({"name": "Ada Lovelace", "client": {"id": hooli}, "categories": [{"id": buyer}],
                   "projects": [{"id": spring}]}),
        )
        .await;
        let ada = c["id"].as_i64().expect("id");
        assert_eq!(c["categories"], json!([{"id": buyer, "name": "Buyer", "categoryType": 0}]), "{c}");
        assert_eq!(linked(&c, "projects"), vec![spring]);
        created(&app, "/contacts", json!({"name": "Bob Builder", "client": {"id": initech}})).await;
        assert_eq!(ids(&get_ok(&app, &format!("/contacts?categories.id={buyer}")).await), vec![ada]);
        assert_eq!(ids(&get_ok(&app, &format!("/contacts?projects.id={spring}")).await), vec![ada]);
        assert_eq!(ids(&get_ok(&app, &format!("/contacts?client.categories.id={partner}&sort=id")).await).len(), 2);
        let bad = json!({"name": "Eve", "client": {"id": hooli}, "categories": [{"id": vip}]});
        assert_up_error(&up(&app, Method::POST, "/contacts", Some(bad)).await, 400, "FailedValidation");
        let bad = json!({"name": "Umbrella 2", "categories": [{"id": buyer}]});
        assert_up_error(&up(&app, Method::POST, "/accounts", Some(bad)).await, 400, "FailedValidation");
        let bad = json!({"name": "Nope", "projects": [{"id": 999_999_999}]});
        assert_up_error(&up(&app, Method::POST, "/accounts", Some(bad)).await, 400, "FailedValidation");

        // Another account's category and campaign are refused, and nothing is stored.
        let other = app.other_account().await;
        let theirs = up_as(&app, &other, Method::POST, "/clientcategories", Some(json!({"name": "Theirs"}))).await;
        let theirs = theirs.body["data"]["id"].as_i64().expect("id");
        let their_project = up_as(&app, &other, Method::POST, "/projects", Some(json!({"name": "Theirs"}))).await;
        let their_project = their_project.body["data"]["id"].as_i64().expect("id");
        let r =
            up(&app, Method::PUT, &format!("/accounts/{initech}"), Some(json!({"categories": [{"id": theirs}]}))).await;
        assert_up_error(&r, 400, "FailedValidation");
        let r =
            up(&app, Method::PUT, &format!("/accounts/{initech}"), Some(json!({"projects": [{"id": their_project}]})))
                .await;
        assert_up_error(&r, 400, "FailedValidation");
        assert_eq!(linked(&get_ok(&app, &format!("/accounts/{initech}")).await["data"], "categories"), vec![partner]);
        let r = up_as(&app, &other, Method::GET, &format!("/accounts?categories.id={partner}"), None).await;
        assert_eq!(r.body["metadata"]["total"], 0, "{}", r.body);

        // The campaign counts what is in it.
        let p = get_ok(&app, &format!("/projects/{spring}")).await;
        assert_eq!(p["data"]["stats"]["client"], 1, "{p}");
        assert_eq!(p["data"]["stats"]["contact"], 1, "{p}");

        // Deleting a category or a campaign takes it off its records, in the same transaction.
        assert_eq!(
            up(&app, Method::DELETE, &format!("/clientcategories/{partner}"), None).await.body["error"],
            Value::Null
        );
        assert_eq!(linked(&get_ok(&app, &format!("/accounts/{hooli}")).await["data"], "categories"), Vec::<i64>::new());
        assert_eq!(get_ok(&app, &format!("/accounts?categories.id={partner}")).await["metadata"]["total"], 0);
        assert_eq!(
            up(&app, Method::DELETE, &format!("/contactcategories/{buyer}"), None).await.body["error"],
            Value::Null
        );
        assert_eq!(linked(&get_ok(&app, &format!("/contacts/{ada}")).await["data"], "categories"), Vec::<i64>::new());
        assert_eq!(up(&app, Method::DELETE, &format!("/projects/{spring}"), None).await.body["error"], Value::Null);
        assert_eq!(linked(&get_ok(&app, &format!("/accounts/{hooli}")).await["data"], "projects"), vec![autumn]);
        assert_eq!(linked(&get_ok(&app, &format!("/contacts/{ada}")).await["data"], "projects"), Vec::<i64>::new());
        app.finish().await;
    }
}

#[tokio::test]
async fn activities_appointments_and_orders_carry_their_type_and_campaign() {
    for app in apps().await {
        let hooli = created(&app, "/accounts", json!({"name": "Hooli"})).await["id"].as_i64().expect("id");
        let spring = created(&app, "/projects", json!({"name": "Spring"})).await["id"].as_i64().expect("id");
        let types = get_ok(&app, "/todoTypes").await;
        let (todo, call) = (types["TODO"]["id"].as_i64().expect("id"), types["PHONE_CALL"]["id"].as_i64().expect("id"));
        let meetings = get_ok(&app, "/activitytypes/appointment").await;
        let (meeting, first) = (ids(&meetings)[0], ids(&meetings)[1]);

        let a = created(
            &app,
            "/activities",
            json!({"description": "Call Gavin", "client": {"id": hooli}, "activityType": {"id": call},
                   "project": {"id": spring}}),
        )
        .await;
        let act = a["id"].as_i64().expect("id");
        assert_eq!(a["activityType"], json!({"id": call, "name": "Phone call"}), "{a}");
        assert_eq!(a["project"], json!({"id": spring, "name": "Spring"}));
        let b = created(&app, "/activities", json!({"description": "Todo", "activityType": {"id": todo}})).await;
        assert_eq!(b["project"], Value::Null);
        assert_eq!(ids(&get_ok(&app, &format!("/activities?activityType.id={call}")).await), vec![act]);
        assert_eq!(ids(&get_ok(&app, &format!("/activities?projects.id={spring}")).await), vec![act]);
        assert_eq!(ids(&get_ok(&app, &format!("/activities?project.id={spring}")).await), vec![act]);
        let r = up(&app, Method::PUT, &format!("/activities/{act}"), Some(json!({"activityType": {"id": todo}}))).await;
        assert_eq!(r.body["data"]["activityType"]["id"], todo, "{}", r.body);
        assert_eq!(r.body["data"]["project"]["id"], spring, "a PUT without project keeps it");
        // A type of the other list, or of another account, is refused.
        let bad = json!({"description": "x", "activityType": {"id": meeting}});
        assert_up_error(&up(&app, Method::POST, "/activities", Some(bad)).await, 400, "FailedValidation");

        let m = created(
            &app,
            "/appointments",
            json!({"description": "Lunch", "client": hooli, "date": "2030-05-01T12:00:00.000Z",
                   "endDate": "2030-05-01T13:00:00.000Z", "activityType": {"id": first}, "project": {"id": spring}}),
        )
        .await;
        let lunch = m["id"].as_i64().expect("id");
        assert_eq!(m["activityType"], json!({"id": first, "name": "First meeting", "first": 0}), "{m}");
        assert_eq!(m["project"]["id"], spring);
        assert_eq!(ids(&get_ok(&app, &format!("/appointments?activityType.id={first}")).await), vec![lunch]);
        assert_eq!(ids(&get_ok(&app, &format!("/appointments?project.id={spring}")).await), vec![lunch]);
        assert_eq!(get_ok(&app, &format!("/appointments?activityType.id={meeting}")).await["metadata"]["total"], 0);

        let order = json!({"description": "Deal", "client": {"id": hooli}, "probability": 100, "project": {"id": spring},
                           "orderRow": [{"quantity": 1, "price": 10}]});
        let o = created(&app, "/orders", order).await;
        assert_eq!(o["project"], json!({"id": spring, "name": "Spring"}), "{o}");
        let opp =
            json!({"description": "Maybe", "client": {"id": hooli}, "probability": 40, "project": {"id": spring}});
        let opp = created(&app, "/orders", opp).await["id"].as_i64().expect("id");
        let r = get_ok(&app, &format!("/orders?projects.id={spring}&probability=lte:99")).await;
        assert_eq!(ids(&r), vec![opp]);

        let p = get_ok(&app, &format!("/projects/{spring}")).await;
        assert_eq!(
            p["data"]["stats"],
            json!({"activity": 1, "appointment": 1, "client": 0, "contact": 0, "order": 1, "opportunity": 1}),
            "{p}"
        );
        // A page of campaigns counts each its own (one grouped count per kind of record).
        let empty = created(&app, "/projects", json!({"name": "Empty"})).await["id"].as_i64().expect("id");
        let list = get_ok(&app, "/projects?sort=id").await;
        assert_eq!(ids(&list), vec![spring, empty]);
        assert_eq!(list["data"][0]["stats"], p["data"]["stats"], "{list}");
        assert_eq!(
            list["data"][1]["stats"],
            json!({"activity": 0, "appointment": 0, "client": 0, "contact": 0, "order": 0, "opportunity": 0})
        );

        // A type in use is not deleted (Upsales merges types instead); a merge moves its
        // records to the other type and deletes it, in one transaction.
        assert_up_error(
            &up(&app, Method::DELETE, &format!("/activitytypes/appointment/{first}"), None).await,
            400,
            "FailedValidation",
        );
        let r = up(&app, Method::PUT, &format!("/activitytypes/appointment/merge/{first}/with/{meeting}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["id"], meeting);
        assert_eq!(r.body["data"]["name"], "Meeting");
        assert_up_error(
            &up(&app, Method::GET, &format!("/activitytypes/appointment/{first}"), None).await,
            404,
            "NotFound",
        );
        let m = get_ok(&app, &format!("/appointments/{lunch}")).await;
        assert_eq!(m["data"]["activityType"]["id"], meeting, "{m}");
        assert_eq!(ids(&get_ok(&app, &format!("/appointments?activityType.id={meeting}")).await), vec![lunch]);
        // Types of another list, or the same type twice, are not merged.
        assert_up_error(
            &up(&app, Method::PUT, &format!("/activitytypes/appointment/merge/{todo}/with/{meeting}"), None).await,
            404,
            "NotFound",
        );
        assert_up_error(
            &up(&app, Method::PUT, &format!("/activitytypes/appointment/merge/{meeting}/with/{meeting}"), None).await,
            400,
            "FailedValidation",
        );
        let r = up(&app, Method::PUT, &format!("/activitytypes/activity/merge/{call}/with/{todo}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let a = get_ok(&app, &format!("/activities/{act}")).await;
        assert_eq!(a["data"]["activityType"]["id"], todo);
        let other = app.other_account().await;
        let r =
            up_as(&app, &other, Method::PUT, &format!("/activitytypes/activity/merge/{todo}/with/{todo}"), None).await;
        assert_up_error(&r, 404, "NotFound");
        // A type no record uses is deleted; a deleted campaign leaves its records.
        let spare = created(&app, "/activitytypes/appointment", json!({"name": "Spare"})).await;
        let r = up(&app, Method::DELETE, &format!("/activitytypes/appointment/{}", spare["id"]), None).await;
        assert_eq!(r.body, json!({"error": null}));
        assert_eq!(up(&app, Method::DELETE, &format!("/projects/{spring}"), None).await.body["error"], Value::Null);
        assert_eq!(get_ok(&app, &format!("/appointments/{lunch}")).await["data"]["project"], Value::Null);
        assert_eq!(get_ok(&app, &format!("/orders?projects.id={spring}")).await["metadata"]["total"], 0);
        app.finish().await;
    }
}

#[tokio::test]
async fn contact_categories_and_their_types_are_lists_of_their_own() {
    for app in apps().await {
        let t = created(&app, "/contactCategoryTypes", json!({"name": "Products"})).await;
        assert_eq!(t, json!({"id": t["id"], "name": "Products"}));
        let c = created(&app, "/contactcategories", json!({"name": "Example name", "categoryType": 0})).await;
        assert_eq!(c, json!({"id": c["id"], "name": "Example name", "categoryType": 0, "roles": []}));
        let r =
            up(&app, Method::PUT, &format!("/contactcategories/{}", c["id"]), Some(json!({"name": "Product A"}))).await;
        assert_eq!(r.body["data"]["name"], "Product A", "{}", r.body);
        assert_eq!(
            ids(&get_ok(&app, "/contactcategories?name=Product%20A").await),
            vec![c["id"].as_i64().expect("id")]
        );
        // Account categories are another list.
        assert_eq!(get_ok(&app, "/clientcategories").await["metadata"]["total"], 0);
        assert_up_error(&up(&app, Method::GET, &format!("/clientcategories/{}", c["id"]), None).await, 404, "NotFound");
        assert_up_error(
            &up(&app, Method::POST, "/contactcategories", Some(json!({"name": "product a"}))).await,
            400,
            "FailedValidation",
        );
        let other = app.other_account().await;
        let r = up_as(&app, &other, Method::GET, &format!("/contactcategories/{}", c["id"]), None).await;
        assert_up_error(&r, 404, "NotFound");
        for path in [format!("/contactcategories/{}", c["id"]), format!("/contactCategoryTypes/{}", t["id"])] {
            assert_eq!(up(&app, Method::DELETE, &path, None).await.body, json!({"error": null}));
            assert_up_error(&up(&app, Method::GET, &path, None).await, 404, "NotFound");
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn a_users_role_is_read_filtered_and_goes_with_the_role() {
    for app in apps().await {
        let role = created(&app, "/roles", json!({"name": "Sales"})).await["id"].as_i64().expect("id");
        let me = kith_domain::Actor { account_id: app.owner.account_id, user_id: app.owner.user_id };
        app.crm.set_user_role(me, me.user_id, Some(role)).await.expect("role");
        let u = get_ok(&app, &format!("/users/{}", me.user_id)).await;
        assert_eq!(u["data"]["role"], json!({"id": role, "name": "Sales"}), "{u}");
        let me_body = get_ok(&app, "/self").await;
        assert_eq!(me_body["data"]["role"]["id"], role);
        assert!(me_body.get("error").is_some_and(Value::is_null), "/self has Upsales' `error: null`: {me_body}");
        assert_eq!(ids(&get_ok(&app, &format!("/users?role.id={role}")).await), vec![me.user_id]);
        // Another account's role, or a value of another list, is refused.
        let other = app.other_account().await;
        let theirs = up_as(&app, &other, Method::POST, "/roles", Some(json!({"name": "Theirs"}))).await;
        let theirs = theirs.body["data"]["id"].as_i64().expect("id");
        assert!(app.crm.set_user_role(me, me.user_id, Some(theirs)).await.is_err());
        let todo = get_ok(&app, "/todoTypes").await["TODO"]["id"].as_i64().expect("id");
        assert!(app.crm.set_user_role(me, me.user_id, Some(todo)).await.is_err());
        assert_eq!(get_ok(&app, "/users").await["data"][0]["role"]["id"], role);
        // Deleting the role takes it off its users.
        assert_eq!(up(&app, Method::DELETE, &format!("/roles/{role}"), None).await.body, json!({"error": null}));
        assert_eq!(get_ok(&app, &format!("/users/{}", me.user_id)).await["data"]["role"], Value::Null);
        assert_eq!(get_ok(&app, &format!("/users?role.id={role}")).await["metadata"]["total"], 0);
        app.finish().await;
    }
}
