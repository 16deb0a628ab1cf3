//! Sell's catalogue on both backends: products (OnePage's predefined items), orders and their
//! line items (a deal's items, whose sum less the order's discount is the deal's value), tags
//! (unique per type; renames and deletions reach the records carrying them), custom-field
//! definitions, and `custom_fields[NAME]` filters on multi-select fields.

use crate::common;

use common::sell::{assert_sell_error, ids, items, sell, sell_as};
use common::{App, apps};
use kith_domain::custom_fields::{FieldKind, NewCustomField};
use kith_domain::deals::DealDraft;
use kith_domain::model::{Deal, DealItem};
use kith_domain::{Actor, ContactDraft, NewAccount};
use kith_onepage::wire::hex_id;
use reqwest::Method;
use serde_json::{Value, json};

fn actor(who: &NewAccount) -> Actor {
    Actor { account_id: who.account_id, user_id: who.user_id }
}

/// The body the client's own tests create a product with.
fn enterprise_plan(name: &str) -> Value {
    json!({ "data": {
        "name": name, "description": "Includes more storage options", "sku": "enterprise-plan",
        "active": true, "max_discount": 4, "max_markup": 4, "cost": 2, "cost_currency": "USD",
        "prices": [{"amount": "1599.99", "currency": "USD"}, {"amount": "3599.99", "currency": "PLN"}],
    }})
}

async fn product(app: &App, who: &NewAccount, name: &str) -> i64 {
    let r = sell_as(app, who, Method::POST, "/products", Some(enterprise_plan(name))).await;
    assert_eq!(r.status, 200, "{}: {}", app.label, r.body);
    r.body["data"]["id"].as_i64().expect("product id")
}

/// A deal (of a new person) made through the domain, with a value of 1000.00 and, when given,
/// OnePage-style items (name, unit price in cents, quantity).
async fn deal(app: &App, who: &NewAccount, currency: &str, lines: &[(&str, i64, i64)]) -> Deal {
    let a = actor(who);
    let draft = ContactDraft { last_name: Some("Buyer".into()), ..Default::default() };
    let contact = app.crm.create_contact(a, draft).await.expect("contact");
    let items = (!lines.is_empty()).then(|| {
        lines
            .iter()
            .map(|(name, price, qty)| kith_domain::deals::DealItemDraft {
                name: (*name).into(),
                description: None,
                quantity: *qty,
                price_minor: *price,
                cost_minor: 0,
                predefined_item_id: None,
            })
            .collect()
    });
    let draft =
        DealDraft { amount_minor: 100_000, items, ..DealDraft::new(contact.id, who.user_id, "Website redesign") };
    let mut d = app.crm.create_deal(a, draft).await.expect("deal");
    d.currency = currency.into();
    app.crm.save(a, d).await.expect("deal currency")
}

/// A Sell GET as the first account's owner.
async fn get(app: &App, path: String) -> common::Reply {
    sell(app, Method::GET, &path, None).await
}

async fn deal_now(app: &App, id: i64) -> Deal {
    app.crm.get::<Deal>(actor(&app.owner), id).await.expect("deal")
}

/// Asserts a 422 whose errors name `field` (as `/data/field`).
fn assert_invalid(r: &common::Reply, field: &str) {
    assert_sell_error(r, 422, "validation_failed");
    let fields: Vec<&str> =
        r.body["errors"].as_array().into_iter().flatten().filter_map(|e| e["error"]["field"].as_str()).collect();
    assert!(fields.contains(&format!("/data/{field}").as_str()), "want {field} in {fields:?}: {}", r.body);
}

#[tokio::test]
async fn products_crud_filters_sorts_and_onepage_items() {
    for app in apps().await {
        let l = app.label;
        let r = sell(&app, Method::POST, "/products", Some(enterprise_plan("Enterprise Plan"))).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["meta"]["type"], "product");
        let p = r.body["data"].clone();
        let id = p["id"].as_i64().expect("id");
        assert_eq!(p["name"], "Enterprise Plan");
        assert_eq!(p["description"], "Includes more storage options");
        assert_eq!(p["sku"], "enterprise-plan");
        assert_eq!(p["active"], true);
        assert_eq!(p["max_discount"], 4);
        assert_eq!(p["max_markup"], 4);
        assert_eq!(p["cost"], "2.00");
        assert_eq!(p["cost_currency"], "USD");
        assert_eq!(
            p["prices"],
            json!([{"amount": "1599.99", "currency": "USD"}, {"amount": "3599.99", "currency": "PLN"}]),
            "{l}: prices round-trip exactly"
        );
        assert!(p["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
        let got = sell(&app, Method::GET, &format!("/products/{id}"), None).await;
        assert_eq!(got.body["data"], p);

        // A PUT of the product's own rendering changes nothing.
        let put = sell(&app, Method::PUT, &format!("/products/{id}"), Some(json!({ "data": p }))).await;
        assert_eq!(put.status, 200, "{l}: {}", put.body);
        assert_eq!(put.body["data"], p, "{l}");

        // Partial update; prices are replaced as a set; numbers are read by their decimal form.
        let put = sell(
            &app,
            Method::PUT,
            &format!("/products/{id}"),
            Some(json!({ "data": { "description": null, "prices": [{"amount": 11.1, "currency": "eur"}] } })),
        )
        .await;
        assert_eq!(put.status, 200, "{l}: {}", put.body);
        assert_eq!(put.body["data"]["name"], "Enterprise Plan");
        assert_eq!(put.body["data"]["description"], Value::Null);
        assert_eq!(put.body["data"]["prices"], json!([{"amount": "11.10", "currency": "EUR"}]));
        assert_eq!(put.body["data"]["cost"], "2.00");

        // The same product is OnePage's predefined item, priced at its first price.
        let op = app.op(Method::GET, &format!("/predefined_items/{}", hex_id(id)), None).await;
        assert_eq!(op.status, 200, "{l}: {}", op.body);
        assert_eq!(op.body["data"]["predefined_item"]["name"], "Enterprise Plan");
        assert_eq!(op.body["data"]["predefined_item"]["price"], 11.1);
        // And back: a OnePage item is a Sell product; OnePage's price edit moves the first price.
        let r =
            app.op(Method::POST, "/predefined_items", Some(json!({"name": "Setup", "price": 250.5, "cost": 10}))).await;
        assert_eq!(r.status, 201, "{l}: {}", r.body);
        let hex = r.body["data"]["predefined_item"]["id"].as_str().expect("hex").to_owned();
        let setup = kith_onepage::wire::parse_id(&hex).expect("id");
        let s = sell(&app, Method::GET, &format!("/products/{setup}"), None).await.body["data"].clone();
        assert_eq!(s["name"], "Setup");
        assert_eq!(s["prices"], json!([{"amount": "250.50", "currency": "USD"}]));
        assert_eq!(s["cost"], "10.00");
        assert_eq!(s["active"], true);
        let put = sell(&app, Method::PUT, &format!("/products/{setup}"), Some(json!({ "data": s }))).await;
        assert_eq!(put.body["data"], s, "{l}: a OnePage item's own rendering PUTs unchanged");
        let r =
            app.op(Method::PUT, &format!("/predefined_items/{hex}?partial=true"), Some(json!({"price": 300}))).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        let s = sell(&app, Method::GET, &format!("/products/{setup}"), None).await.body["data"].clone();
        assert_eq!(s["prices"], json!([{"amount": "300.00", "currency": "USD"}]));

        // Names are unique ignoring case.
        let r = sell(&app, Method::POST, "/products", Some(enterprise_plan("enterprise PLAN"))).await;
        assert_invalid(&r, "name");
        assert!(r.body["errors"][0]["error"]["message"].as_str().is_some_and(|m| m.contains("taken")));
        let r =
            sell(&app, Method::PUT, &format!("/products/{setup}"), Some(json!({"data": {"name": "ENTERPRISE plan"}})))
                .await;
        assert_invalid(&r, "name");

        // Bad input.
        let post = |data: Value| sell(&app, Method::POST, "/products", Some(json!({ "data": data })));
        assert_invalid(&post(json!({"prices": []})).await, "name");
        assert_invalid(&post(json!({"name": " "})).await, "name");
        assert_invalid(
            &post(json!({"name": "N", "prices": [{"amount": "-1", "currency": "USD"}]})).await,
            "prices/0/amount",
        );
        assert_invalid(
            &post(json!({"name": "N", "prices": [{"amount": "1e3", "currency": "USD"}]})).await,
            "prices/0/amount",
        );
        assert_invalid(
            &post(json!({"name": "N", "prices": [{"amount": "1", "currency": "US"}]})).await,
            "prices/0/currency",
        );
        assert_invalid(&post(json!({"name": "N", "prices": [{"amount": "1"}]})).await, "prices/0/currency");
        assert_invalid(
            &post(json!({"name": "N", "prices": [{"amount": "1", "currency": "USD"}, {"amount": "2", "currency": "usd"}]}))
                .await,
            "prices/1/currency",
        );
        assert_invalid(&post(json!({"name": "N", "prices": "1"})).await, "prices");
        assert_invalid(&post(json!({"name": "N", "max_discount": 101})).await, "max_discount");
        assert_invalid(&post(json!({"name": "N", "max_markup": -1})).await, "max_markup");
        assert_invalid(&post(json!({"name": "N", "max_markup": "lots"})).await, "max_markup");
        assert_invalid(&post(json!({"name": "N", "cost": "two"})).await, "cost");
        assert_invalid(&post(json!({"name": "N", "cost": -2})).await, "cost");
        assert_invalid(&post(json!({"name": "N", "cost_currency": "1$"})).await, "cost_currency");
        assert_invalid(&post(json!({"name": "N", "active": "yes"})).await, "active");
        assert_invalid(&post(json!({"name": ["N"]})).await, "name");
        assert_sell_error(&sell(&app, Method::POST, "/products", Some(json!({"name": "N"}))).await, 400, "bad_request");

        // Filters and sorts.
        let r = sell(
            &app,
            Method::POST,
            "/products",
            Some(json!({"data": {"name": "Archive", "sku": "arc-1", "active": false, "prices": []}})),
        )
        .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["data"]["prices"], json!([]));
        assert_eq!(r.body["data"]["cost"], Value::Null);
        let archive = r.body["data"]["id"].as_i64().expect("id");
        let list = |q: &str| get(&app, format!("/products{q}"));
        assert_eq!(ids(&list("").await), vec![id, setup, archive]);
        assert_eq!(list("").await.body["items"][0]["meta"]["type"], "product");
        assert_eq!(ids(&list("?active=false").await), vec![archive]);
        assert_eq!(ids(&list("?active=true").await), vec![id, setup]);
        assert_eq!(ids(&list("?name=Setup").await), vec![setup]);
        assert_eq!(ids(&list("?sku=enterprise-plan").await), vec![id]);
        assert_eq!(ids(&list(&format!("?ids={archive},{id}")).await), vec![id, archive]);
        assert_eq!(ids(&list("?owner_id=5&organization_id=7").await), vec![id, setup, archive], "{l}: no owners");
        assert_eq!(ids(&list("?sort_by=name").await), vec![archive, id, setup]);
        assert_eq!(ids(&list("?sort_by=name:desc").await), vec![setup, id, archive]);
        assert_eq!(ids(&list("?sort_by=sku:asc").await)[..2], [archive, id]);
        assert_eq!(ids(&list("?sort_by=created_at:desc").await), vec![archive, setup, id]);
        assert_eq!(ids(&list("?sort_by=updated_at").await)[2], archive);
        assert_eq!(ids(&list("?sort_by=id:desc&per_page=2").await), vec![archive, setup]);
        let page2 = list("?per_page=2&page=2").await;
        assert_eq!(ids(&page2), vec![archive]);
        assert!(page2.body["meta"]["links"]["prev_page"].is_string());
        for bad in ["?sort_by=price", "?active=maybe", "?owner_id=me", "?per_page=101", "?colour=red", "?ids=a"] {
            assert_sell_error(&list(bad).await, 400, "bad_request");
        }

        // Another account sees none of it.
        let rival = app.other_account().await;
        for (m, body) in
            [(Method::GET, None), (Method::PUT, Some(json!({"data": {"name": "X"}}))), (Method::DELETE, None)]
        {
            assert_sell_error(&sell_as(&app, &rival, m, &format!("/products/{id}"), body).await, 404, "not_found");
        }
        assert!(items(&sell_as(&app, &rival, Method::GET, "/products", None).await).is_empty());
        // The rival may use the same name.
        product(&app, &rival, "Enterprise Plan").await;

        // Delete is soft, answers 204, and frees the name.
        let r = sell(&app, Method::DELETE, &format!("/products/{archive}"), None).await;
        assert_eq!(r.status, 204, "{l}");
        assert_sell_error(&sell(&app, Method::GET, &format!("/products/{archive}"), None).await, 404, "not_found");
        assert_sell_error(&sell(&app, Method::DELETE, &format!("/products/{archive}"), None).await, 404, "not_found");
        assert_sell_error(&sell(&app, Method::GET, "/products/abc", None).await, 404, "not_found");
        assert_eq!(ids(&list("").await), vec![id, setup]);
        let r = sell(&app, Method::POST, "/products", Some(json!({"data": {"name": "Archive"}}))).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        app.finish().await;
    }
}

#[tokio::test]
async fn orders_and_line_items_drive_the_deal_value() {
    for app in apps().await {
        let l = app.label;
        let plan = product(&app, &app.owner, "Enterprise Plan").await;
        // An EUR deal worth 1000.00.
        let d = deal(&app, &app.owner, "EUR", &[]).await;
        assert_eq!(d.value_minor, Some(100_000));

        // Orders: deal_id required, a live deal of the account, one order per deal.
        let post = |data: Value| sell(&app, Method::POST, "/orders", Some(json!({ "data": data })));
        assert_invalid(&post(json!({"discount": 4})).await, "deal_id");
        assert_invalid(&post(json!({"deal_id": 999_999_999})).await, "deal_id");
        assert_invalid(&post(json!({"deal_id": "x"})).await, "deal_id");
        assert_invalid(&post(json!({"deal_id": d.id, "discount": 101})).await, "discount");
        assert_invalid(&post(json!({"deal_id": d.id, "discount": "some"})).await, "discount");
        let r = post(json!({"deal_id": d.id, "discount": 4})).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["meta"]["type"], "order");
        let order = r.body["data"].clone();
        let oid = order["id"].as_i64().expect("id");
        assert_eq!(order["deal_id"], d.id);
        assert_eq!(order["discount"], 4);
        assert_eq!(deal_now(&app, d.id).await.value_minor, Some(100_000), "{l}: no lines, the deal keeps its value");
        let r = post(json!({"deal_id": d.id})).await;
        assert_invalid(&r, "deal_id");
        assert!(r.body["errors"][0]["error"]["message"].as_str().is_some_and(|m| m.contains("already")));
        assert_eq!(sell(&app, Method::GET, &format!("/orders/{oid}"), None).await.body["data"], order);
        let put = sell(&app, Method::PUT, &format!("/orders/{oid}"), Some(json!({ "data": order }))).await;
        assert_eq!(put.body["data"], order, "{l}: own rendering PUTs unchanged");

        // Line items: the client's own body (a USD line on an EUR deal: the first line sets the
        // order's currency, and the deal takes it).
        let lines_path = format!("/orders/{oid}/line_items");
        let add = |data: Value| sell(&app, Method::POST, &lines_path, Some(json!({ "data": data })));
        let r = add(json!({"product_id": plan, "value": 1599.99, "variation": 0, "currency": "USD", "quantity": 1, "price": 1.0}))
            .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["meta"]["type"], "line_item");
        let first = r.body["data"].clone();
        let first_id = first["id"].as_i64().expect("id");
        assert_eq!(first["product_id"], plan);
        assert_eq!(first["name"], "Enterprise Plan");
        assert_eq!(first["sku"], "enterprise-plan");
        assert_eq!(first["description"], "Includes more storage options");
        assert_eq!(first["value"], "1599.99");
        assert_eq!(first["price"], "1599.99", "{l}: the price is the product's, not the one sent");
        assert_eq!(first["variation"], 0);
        assert_eq!(first["currency"], "USD");
        assert_eq!(first["quantity"], 1);
        let now = deal_now(&app, d.id).await;
        assert_eq!(now.currency, "USD");
        // 1599.99 less 4% = 1535.9904.
        assert_eq!(now.value_minor, Some(153_599), "{l}");
        // Sell's deal shows it; while the order has lines, a written value gives way to theirs.
        let sd = sell(&app, Method::GET, &format!("/deals/{}", d.id), None).await;
        assert_eq!(
            (sd.body["data"]["value"].clone(), sd.body["data"]["currency"].clone()),
            (json!("1535.99"), json!("USD"))
        );
        let r = sell(
            &app,
            Method::PUT,
            &format!("/deals/{}", d.id),
            Some(json!({"data": {"value": "5", "currency": "EUR"}})),
        )
        .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(
            (r.body["data"]["value"].clone(), r.body["data"]["currency"].clone()),
            (json!("1535.99"), json!("USD"))
        );
        // OnePage sees the same deal value and the line as a deal item.
        let op = app.op(Method::GET, &format!("/deals/{}", hex_id(d.id)), None).await;
        assert_eq!(op.body["data"]["deal"]["total_amount"], 1535.99, "{l}: {}", op.body);
        assert_eq!(op.body["data"]["deal"]["deal_items"][0]["name"], "Enterprise Plan");

        // Defaults: the order's currency, a quantity of 1; a variation sets the value.
        let r = add(json!({"product_id": plan, "quantity": 2, "variation": -4})).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        let second = r.body["data"].clone();
        assert_eq!(second["currency"], "USD");
        assert_eq!(second["value"], "1535.99");
        assert_eq!(second["variation"], -4);
        assert_eq!(second["quantity"], 2);
        // A value sets the variation (3.00001% rounds to 3).
        let r = add(json!({"product_id": plan, "value": "1647.99"})).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        let third = r.body["data"].clone();
        assert_eq!(third["variation"], 3);
        assert_eq!(third["quantity"], 1);
        // 1599.99 + 2 × 1535.99 + 1647.99 = 6319.96, less 4% = 6067.1616.
        assert_eq!(deal_now(&app, d.id).await.value_minor, Some(606_716), "{l}");

        // Bad lines.
        assert_invalid(&add(json!({"product_id": plan, "variation": 5})).await, "variation");
        assert_invalid(&add(json!({"product_id": plan, "variation": -4.5})).await, "variation");
        assert_invalid(&add(json!({"product_id": plan, "variation": "much"})).await, "variation");
        assert_invalid(&add(json!({"product_id": plan, "value": "1700", "variation": 0})).await, "value");
        assert_invalid(&add(json!({"product_id": plan, "value": "cheap"})).await, "value");
        assert_invalid(&add(json!({"product_id": plan, "value": "-1"})).await, "value");
        assert_invalid(&add(json!({"product_id": plan, "currency": "PLN"})).await, "currency");
        assert_invalid(&add(json!({"product_id": plan, "currency": "EURO"})).await, "currency");
        assert_invalid(&add(json!({"product_id": plan, "quantity": 0})).await, "quantity");
        assert_invalid(&add(json!({"product_id": plan, "quantity": 1.5})).await, "quantity");
        assert_invalid(&add(json!({"quantity": 1})).await, "product_id");
        assert_invalid(&add(json!({"product_id": 999_999_999})).await, "product_id");
        let r = sell(
            &app,
            Method::POST,
            "/products",
            Some(json!({"data": {"name": "Old", "active": false,
            "prices": [{"amount": "1", "currency": "USD"}]}})),
        )
        .await;
        let inactive = r.body["data"]["id"].as_i64().expect("id");
        assert_invalid(&add(json!({"product_id": inactive})).await, "product_id");
        let rival = app.other_account().await;
        let theirs = product(&app, &rival, "Theirs").await;
        assert_invalid(&add(json!({"product_id": theirs})).await, "product_id");

        // Listing lines: filters and sorts.
        let list = |q: &str| get(&app, format!("{lines_path}{q}"));
        let (second_id, third_id) = (second["id"].as_i64().expect("id"), third["id"].as_i64().expect("id"));
        assert_eq!(ids(&list("").await), vec![first_id, second_id, third_id]);
        assert_eq!(items(&list("").await)[0], first);
        assert_eq!(ids(&list("?quantity=2").await), vec![second_id]);
        assert_eq!(ids(&list("?value=1647.99").await), vec![third_id]);
        assert_eq!(ids(&list(&format!("?ids={third_id},{first_id}")).await), vec![first_id, third_id]);
        assert_eq!(ids(&list("?sort_by=value:desc").await), vec![third_id, first_id, second_id]);
        assert_eq!(ids(&list("?sort_by=quantity:desc").await)[0], second_id);
        assert_eq!(ids(&list("?sort_by=created_at:desc").await), vec![third_id, second_id, first_id]);
        assert_eq!(ids(&list("?per_page=1&page=3").await), vec![third_id]);
        for bad in ["?sort_by=name", "?quantity=two", "?value=x", "?per_page=101", "?deal_id=1"] {
            assert_sell_error(&list(bad).await, 400, "bad_request");
        }
        let got = sell(&app, Method::GET, &format!("{lines_path}/{second_id}"), None).await;
        assert_eq!(got.body["data"], second);
        // No updates to line items.
        assert_eq!(
            sell(&app, Method::PUT, &format!("{lines_path}/{second_id}"), Some(json!({"data": {}}))).await.status,
            405
        );

        // The discount applies to the lines when it changes; the deal cannot change.
        let r = sell(&app, Method::PUT, &format!("/orders/{oid}"), Some(json!({"data": {"discount": 10}}))).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["data"]["discount"], 10);
        // 6319.96 less 10% = 5687.964.
        assert_eq!(deal_now(&app, d.id).await.value_minor, Some(568_796), "{l}");
        let other_deal = deal(&app, &app.owner, "USD", &[]).await;
        let r =
            sell(&app, Method::PUT, &format!("/orders/{oid}"), Some(json!({"data": {"deal_id": other_deal.id}}))).await;
        assert_invalid(&r, "deal_id");
        assert_invalid(
            &sell(&app, Method::PUT, &format!("/orders/{oid}"), Some(json!({"data": {"discount": -1}}))).await,
            "discount",
        );

        // Removing a line recomputes the value.
        assert_eq!(sell(&app, Method::DELETE, &format!("{lines_path}/{second_id}"), None).await.status, 204);
        assert_sell_error(&sell(&app, Method::GET, &format!("{lines_path}/{second_id}"), None).await, 404, "not_found");
        assert_sell_error(
            &sell(&app, Method::DELETE, &format!("{lines_path}/{second_id}"), None).await,
            404,
            "not_found",
        );
        // 1599.99 + 1647.99 = 3247.98, less 10% = 2923.182.
        assert_eq!(deal_now(&app, d.id).await.value_minor, Some(292_318), "{l}");

        // A second order: a line of one order is not found under another.
        let r = post(json!({"deal_id": other_deal.id})).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["data"]["discount"], 0);
        let oid2 = r.body["data"]["id"].as_i64().expect("id");
        assert_sell_error(
            &sell(&app, Method::GET, &format!("/orders/{oid2}/line_items/{first_id}"), None).await,
            404,
            "not_found",
        );
        assert_sell_error(
            &sell(&app, Method::DELETE, &format!("/orders/{oid2}/line_items/{first_id}"), None).await,
            404,
            "not_found",
        );
        // A first line in the PLN price; the deal becomes a PLN deal.
        let r = sell(
            &app,
            Method::POST,
            &format!("/orders/{oid2}/line_items"),
            Some(json!({"data": {"product_id": plan, "currency": "pln"}})),
        )
        .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["data"]["value"], "3599.99");
        assert_eq!(r.body["data"]["currency"], "PLN");
        let now = deal_now(&app, other_deal.id).await;
        assert_eq!((now.currency.as_str(), now.value_minor), ("PLN", Some(359_999)));

        // Orders list: filters and sorts.
        let list = |q: &str| get(&app, format!("/orders{q}"));
        assert_eq!(ids(&list("").await), vec![oid, oid2]);
        assert_eq!(ids(&list(&format!("?deal_id={}", other_deal.id)).await), vec![oid2]);
        assert_eq!(ids(&list(&format!("?ids={oid2}")).await), vec![oid2]);
        assert_eq!(ids(&list("?sort_by=discount:desc").await), vec![oid, oid2]);
        assert_eq!(ids(&list("?sort_by=id:desc").await), vec![oid2, oid]);
        assert_eq!(ids(&list("?sort_by=created_at:desc").await), vec![oid2, oid]);
        assert_eq!(ids(&list("?sort_by=deal_id").await), vec![oid, oid2]);
        for bad in ["?sort_by=value", "?deal_id=x", "?per_page=0", "?discount=4"] {
            assert_sell_error(&list(bad).await, 400, "bad_request");
        }

        // Another account: every path is a 404, and its deals cannot have our orders.
        for path in [format!("/orders/{oid}"), lines_path.clone(), format!("{lines_path}/{first_id}")] {
            assert_sell_error(&sell_as(&app, &rival, Method::GET, &path, None).await, 404, "not_found");
        }
        for path in [format!("/orders/{oid}"), format!("{lines_path}/{first_id}")] {
            assert_sell_error(&sell_as(&app, &rival, Method::DELETE, &path, None).await, 404, "not_found");
        }
        let r = sell_as(&app, &rival, Method::POST, &lines_path, Some(json!({"data": {"product_id": theirs}}))).await;
        assert_sell_error(&r, 404, "not_found");
        let r =
            sell_as(&app, &rival, Method::PUT, &format!("/orders/{oid}"), Some(json!({"data": {"discount": 1}}))).await;
        assert_sell_error(&r, 404, "not_found");
        assert!(items(&sell_as(&app, &rival, Method::GET, "/orders", None).await).is_empty());
        let r = sell_as(&app, &rival, Method::POST, "/orders", Some(json!({"data": {"deal_id": d.id}}))).await;
        assert_invalid(&r, "deal_id");

        // Deleting an order removes its lines; the deal's value follows (no lines: zero).
        assert_eq!(sell(&app, Method::DELETE, &format!("/orders/{oid}"), None).await.status, 204);
        assert_sell_error(&sell(&app, Method::GET, &format!("/orders/{oid}"), None).await, 404, "not_found");
        assert_sell_error(&sell(&app, Method::GET, &lines_path, None).await, 404, "not_found");
        let left = app.crm.deal_items(actor(&app.owner), &[d.id]).await.expect("items");
        assert!(left.get(&d.id).is_none_or(Vec::is_empty), "{l}");
        assert_eq!(deal_now(&app, d.id).await.value_minor, Some(0));
        // The deal may have an order again.
        assert_eq!(post(json!({"deal_id": d.id})).await.status, 200);
        // An order whose deal is deleted is gone too.
        app.crm.delete::<Deal>(actor(&app.owner), other_deal.id).await.expect("delete deal");
        assert_sell_error(&sell(&app, Method::GET, &format!("/orders/{oid2}"), None).await, 404, "not_found");
        assert_eq!(ids(&list("").await).len(), 1);
        assert_invalid(&post(json!({"deal_id": other_deal.id})).await, "deal_id");
        app.finish().await;
    }
}

#[tokio::test]
async fn a_onepage_deals_items_are_its_orders_lines() {
    for app in apps().await {
        let l = app.label;
        // Two OnePage items: 2 × 100.00 and 1 × 50.00.
        let d = deal(&app, &app.owner, "USD", &[("Consulting", 10_000, 2), ("Travel", 5_000, 1)]).await;
        assert_eq!(deal_now(&app, d.id).await.value_minor, Some(25_000));
        let r = sell(&app, Method::POST, "/orders", Some(json!({"data": {"deal_id": d.id, "discount": 20}}))).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        let oid = r.body["data"]["id"].as_i64().expect("id");
        // The discount applies at once to the lines the deal has.
        assert_eq!(deal_now(&app, d.id).await.value_minor, Some(20_000), "{l}");
        let lines = items(&sell(&app, Method::GET, &format!("/orders/{oid}/line_items"), None).await);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["name"], "Consulting");
        assert_eq!(lines[0]["product_id"], Value::Null);
        assert_eq!(lines[0]["value"], "100.00");
        assert_eq!(lines[0]["price"], "100.00");
        assert_eq!(lines[0]["variation"], 0);
        assert_eq!(lines[0]["quantity"], 2);
        assert_eq!(lines[0]["currency"], "USD");
        // A product line joins them, in the deal's currency.
        let plan = product(&app, &app.owner, "Plan").await;
        let r =
            sell(&app, Method::POST, &format!("/orders/{oid}/line_items"), Some(json!({"data": {"product_id": plan}})))
                .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        // (250.00 + 1599.99) less 20% = 1479.992.
        assert_eq!(deal_now(&app, d.id).await.value_minor, Some(147_999), "{l}");
        let all: Vec<DealItem> =
            app.crm.deal_items(actor(&app.owner), &[d.id]).await.expect("items").remove(&d.id).unwrap_or_default();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].list_price_minor, Some(159_999));
        // OnePage's edits of the items are edits of the order's lines: the discount still applies.
        let hex = hex_id(d.id);
        let r = app
            .op(
                Method::PUT,
                &format!("/deals/{hex}?partial=true"),
                Some(json!({"deal_items": [{"name": "Audit", "qty": 3, "price": 200}]})),
            )
            .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["data"]["deal"]["total_amount"], 480.0, "{l}: 600.00 less 20%");
        assert_eq!(deal_now(&app, d.id).await.value_minor, Some(48_000));
        let r = app.op(Method::PUT, &format!("/deals/{hex}?partial=true"), Some(json!({"name": "Renamed"}))).await;
        assert_eq!(r.body["data"]["deal"]["total_amount"], 480.0, "{l}: kept items keep the discount");
        let lines = items(&sell(&app, Method::GET, &format!("/orders/{oid}/line_items"), None).await);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["name"], "Audit");
        app.finish().await;
    }
}

#[tokio::test]
async fn tags_are_unique_per_type_and_renames_reach_records() {
    for app in apps().await {
        let l = app.label;
        let post = |data: Value| sell(&app, Method::POST, "/tags", Some(json!({ "data": data })));
        let r = post(json!({"name": "vip", "resource_type": "contact"})).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["meta"]["type"], "tag");
        let vip = r.body["data"].clone();
        let vip_id = vip["id"].as_i64().expect("id");
        assert_eq!(vip["name"], "vip");
        assert_eq!(vip["resource_type"], "contact");
        assert_eq!(vip["creator_id"], app.owner.user_id);
        // The same name is taken within a type (ignoring case) but free in another.
        let r = post(json!({"name": "VIP", "resource_type": "contact"})).await;
        assert_invalid(&r, "name");
        assert!(r.body["errors"][0]["error"]["message"].as_str().is_some_and(|m| m.contains("has already been taken")));
        let deal_vip = post(json!({"name": "vip", "resource_type": "deal"})).await;
        assert_eq!(deal_vip.status, 200, "{l}: {}", deal_vip.body);
        assert_eq!(post(json!({"name": "vip", "resource_type": "lead"})).await.status, 200);
        // Bad input.
        assert_invalid(&post(json!({"resource_type": "contact"})).await, "name");
        assert_invalid(&post(json!({"name": " ", "resource_type": "contact"})).await, "name");
        assert_invalid(&post(json!({"name": "x".repeat(101), "resource_type": "contact"})).await, "name");
        assert_invalid(&post(json!({"name": "n"})).await, "resource_type");
        assert_invalid(&post(json!({"name": "n", "resource_type": "company"})).await, "resource_type");
        assert_invalid(&post(json!({"name": 5, "resource_type": "deal"})).await, "name");

        // Records make tags of their type on first use.
        let r = sell(
            &app,
            Method::POST,
            "/contacts",
            Some(json!({"data": {"last_name": "Lovelace", "tags": ["early", "VIP", "z"]}})),
        )
        .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        let person = r.body["data"]["id"].as_i64().expect("id");
        let r = sell(
            &app,
            Method::POST,
            "/contacts",
            Some(json!({"data": {"is_organization": true, "name": "Engines", "tags": ["vip"]}})),
        )
        .await;
        let org = r.body["data"]["id"].as_i64().expect("id");
        let r =
            sell(&app, Method::POST, "/leads", Some(json!({"data": {"last_name": "Babbage", "tags": ["vip"]}}))).await;
        let lead = r.body["data"]["id"].as_i64().expect("id");
        let list = |q: &str| get(&app, format!("/tags{q}"));
        let contact_tags: Vec<String> = items(&list("?resource_type=contact&sort_by=name").await)
            .iter()
            .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(contact_tags, ["early", "vip", "z"], "{l}");
        let early = items(&list("?name=early").await)[0].clone();
        assert_eq!(early["creator_id"], app.owner.user_id);

        // A PUT of the tag's own rendering changes nothing; its type cannot change.
        let put = sell(&app, Method::PUT, &format!("/tags/{vip_id}"), Some(json!({ "data": vip }))).await;
        assert_eq!(put.body["data"], vip, "{l}");
        let r =
            sell(&app, Method::PUT, &format!("/tags/{vip_id}"), Some(json!({"data": {"resource_type": "deal"}}))).await;
        assert_invalid(&r, "resource_type");
        let r = sell(&app, Method::PUT, &format!("/tags/{vip_id}"), Some(json!({"data": {"name": "Early"}}))).await;
        assert_invalid(&r, "name");
        let r = sell(&app, Method::PUT, &format!("/tags/{vip_id}"), Some(json!({"data": {"name": null}}))).await;
        assert_invalid(&r, "name");

        // Renaming reaches every record of its type carrying it, in place; others keep theirs.
        let r = sell(&app, Method::PUT, &format!("/tags/{vip_id}"), Some(json!({"data": {"name": "Gold"}}))).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["data"]["name"], "Gold");
        let tags_of = |path: String| {
            let app = &app;
            async move { sell(app, Method::GET, &path, None).await.body["data"]["tags"].clone() }
        };
        assert_eq!(tags_of(format!("/contacts/{person}")).await, json!(["early", "Gold", "z"]), "{l}");
        assert_eq!(tags_of(format!("/contacts/{org}")).await, json!(["Gold"]), "{l}");
        assert_eq!(tags_of(format!("/leads/{lead}")).await, json!(["vip"]), "{l}");
        // Tag filters over OnePage follow the rename.
        let op = app.op(Method::GET, "/contacts?tag=gold", None).await;
        assert_eq!(op.body["data"]["total_count"], 1, "{l}: {}", op.body);
        // The rewrite is recorded as a change of the contact.
        let q = kith_store::ListQuery::all()
            .filter(kith_store::Filter::All(vec![
                kith_store::Filter::eq("entity_kind", "contact"),
                kith_store::Filter::eq("entity_id", person),
            ]))
            .sort(kith_store::Sort::asc("id"));
        let events = app.crm.store().list(app.owner.account_id, &kith_store::system::EVENTS, &q).await.expect("events");
        let last = events.rows.last().expect("events");
        assert_eq!(last.values[2].as_text(), Some("updated"));
        assert_eq!(last.values[4], kith_store::Value::Json(json!(["tags"])));

        // Filters and sorts.
        let deal_vip_id = deal_vip.body["data"]["id"].as_i64().expect("id");
        assert_eq!(ids(&list("?name=vip&resource_type=deal").await), vec![deal_vip_id]);
        assert_eq!(ids(&list("?name=Gold").await), vec![vip_id]);
        assert!(ids(&list("?name=gold").await).is_empty(), "{l}: name is exact");
        assert_eq!(ids(&list(&format!("?ids={vip_id},{deal_vip_id}&sort_by=id")).await), vec![vip_id, deal_vip_id]);
        assert_eq!(ids(&list(&format!("?creator_id={}", app.owner.user_id)).await).len(), 5);
        assert!(ids(&list("?creator_id=1").await).is_empty());
        // By default the least recently updated first: the renamed tag comes last.
        assert_eq!(*ids(&list("").await).last().expect("tags"), vip_id, "{l}");
        assert_eq!(ids(&list("?sort_by=id:desc").await)[4], vip_id);
        assert_eq!(ids(&list("?sort_by=created_at").await)[0], vip_id);
        assert_eq!(items(&list("?sort_by=name:desc").await)[0]["name"], "z");
        for bad in ["?resource_type=company", "?sort_by=resource_type", "?creator_id=me", "?per_page=101", "?tag=x"] {
            assert_sell_error(&list(bad).await, 400, "bad_request");
        }

        // Deleting removes the tag from its records first.
        assert_eq!(sell(&app, Method::DELETE, &format!("/tags/{vip_id}"), None).await.status, 204);
        assert_eq!(tags_of(format!("/contacts/{person}")).await, json!(["early", "z"]), "{l}");
        assert_eq!(tags_of(format!("/contacts/{org}")).await, json!([]));
        assert_eq!(tags_of(format!("/leads/{lead}")).await, json!(["vip"]));
        assert_sell_error(&sell(&app, Method::GET, &format!("/tags/{vip_id}"), None).await, 404, "not_found");
        assert_sell_error(&sell(&app, Method::DELETE, &format!("/tags/{vip_id}"), None).await, 404, "not_found");
        // The name is free again, and a record using it makes it anew.
        let r = sell(&app, Method::PUT, &format!("/contacts/{org}"), Some(json!({"data": {"tags": ["Gold"]}}))).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(ids(&list("?name=Gold").await).len(), 1);

        // Another account sees none of it, and may use the same names.
        let rival = app.other_account().await;
        let early_id = early["id"].as_i64().expect("id");
        for (m, body) in
            [(Method::GET, None), (Method::PUT, Some(json!({"data": {"name": "x"}}))), (Method::DELETE, None)]
        {
            assert_sell_error(&sell_as(&app, &rival, m, &format!("/tags/{early_id}"), body).await, 404, "not_found");
        }
        assert!(items(&sell_as(&app, &rival, Method::GET, "/tags", None).await).is_empty());
        let r = sell_as(
            &app,
            &rival,
            Method::POST,
            "/tags",
            Some(json!({"data": {"name": "early", "resource_type": "contact"}})),
        )
        .await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(tags_of(format!("/contacts/{person}")).await, json!(["early", "z"]));
        app.finish().await;
    }
}

#[tokio::test]
async fn custom_field_definitions_and_multi_select_filters() {
    for app in apps().await {
        let l = app.label;
        let a = actor(&app.owner);
        let define = |kind: &str, name: &str, field: FieldKind, choices: &[&str]| {
            let input = NewCustomField {
                entity_kind: kind.into(),
                name: name.into(),
                kind: field,
                choices: choices.iter().map(|c| (*c).to_owned()).collect(),
                position: None,
            };
            let crm = app.crm.clone();
            async move { crm.create_custom_field(a, input).await.expect("define").id }
        };
        let tier = define("contact", "Tier", FieldKind::Text, &[]).await;
        let colours = define("contact", "Colours", FieldKind::MultiSelect, &["Red", "Green", "Blue"]).await;
        let org_colours = define("company", "Colours", FieldKind::MultiSelect, &["Red", "Green", "Blue"]).await;
        let size = define("company", "Size", FieldKind::Number, &[]).await;
        let notes = define("contact", "Notes", FieldKind::MultiLineText, &[]).await;
        let interests = define("lead", "Interests", FieldKind::MultiSelect, &["Art", "Boats", "Cars"]).await;
        let vip = define("lead", "VIP", FieldKind::Boolean, &[]).await;
        let priority = define("deal", "Priority", FieldKind::Dropdown, &["Low", "High"]).await;
        define("deal", "More", FieldKind::SectionDivider, &[]).await;
        let since = define("deal", "Since", FieldKind::Anniversary, &[]).await;

        let list = |path: &str| get(&app, path.to_owned());
        let r = list("/contact/custom_fields").await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert_eq!(r.body["items"][0]["meta"]["type"], "custom_field");
        assert_eq!(ids(&r), vec![tier, colours, org_colours, size, notes]);
        let fields = items(&r);
        assert_eq!(fields[0]["name"], "Tier");
        assert_eq!(fields[0]["type"], "string");
        assert_eq!(fields[0]["for_contact"], true);
        assert_eq!(fields[0]["for_company"], false);
        assert!(fields[0].get("choices").is_none());
        assert!(fields[0]["created_at"].is_string() && fields[0]["updated_at"].is_string());
        assert_eq!(fields[1]["type"], "multi_select_list");
        assert_eq!(
            fields[1]["choices"],
            json!([{"id": 1, "name": "Red"}, {"id": 2, "name": "Green"}, {"id": 3, "name": "Blue"}])
        );
        assert_eq!(fields[2]["for_contact"], false);
        assert_eq!(fields[2]["for_company"], true);
        assert_eq!(fields[3]["type"], "number");
        assert_eq!(fields[4]["type"], "text");
        let leads = items(&list("/lead/custom_fields").await);
        assert_eq!(
            leads.iter().map(|f| f["type"].clone()).collect::<Vec<_>>(),
            [json!("multi_select_list"), json!("bool")]
        );
        assert!(leads[0].get("for_contact").is_none());
        assert_eq!(ids(&list("/lead/custom_fields").await), vec![interests, vip]);
        let deals = items(&list("/deal/custom_fields").await);
        assert_eq!(ids(&list("/deal/custom_fields").await), vec![priority, since], "{l}: no section dividers");
        assert_eq!(deals[0]["type"], "list");
        assert_eq!(deals[0]["choices"], json!([{"id": 1, "name": "Low"}, {"id": 2, "name": "High"}]));
        assert_eq!(deals[1]["type"], "date");
        // Filters, sorts and pages.
        assert_eq!(ids(&list("/contact/custom_fields?name=Colours").await), vec![colours, org_colours]);
        assert_eq!(ids(&list(&format!("/contact/custom_fields?ids={size},{tier}")).await), vec![tier, size]);
        assert_eq!(
            ids(&list("/contact/custom_fields?sort_by=name").await),
            vec![colours, org_colours, notes, size, tier]
        );
        assert_eq!(ids(&list("/contact/custom_fields?sort_by=id:desc").await)[0], notes);
        let page = list("/contact/custom_fields?per_page=2&page=2").await;
        assert_eq!(ids(&page), vec![org_colours, size]);
        assert!(page.body["meta"]["links"]["next_page"].is_string());
        for bad in ["?sort_by=type", "?per_page=101", "?page=0", "?type=list"] {
            assert_sell_error(&list(&format!("/deal/custom_fields{bad}")).await, 400, "bad_request");
        }
        assert_sell_error(&list("/task/custom_fields").await, 404, "not_found");
        let rival = app.other_account().await;
        assert!(items(&sell_as(&app, &rival, Method::GET, "/contact/custom_fields", None).await).is_empty());

        // Multi-select filters: a record matches when its values include the choice.
        let mut made = Vec::new();
        for data in [
            json!({"last_name": "A", "custom_fields": {"Colours": ["Red", "Blue"]}}),
            json!({"last_name": "B", "custom_fields": {"Colours": ["Green"]}}),
            json!({"last_name": "C"}),
            json!({"is_organization": true, "name": "D", "custom_fields": {"Colours": ["Red"]}}),
        ] {
            let r = sell(&app, Method::POST, "/contacts", Some(json!({ "data": data }))).await;
            assert_eq!(r.status, 200, "{l}: {}", r.body);
            made.push(r.body["data"]["id"].as_i64().expect("id"));
        }
        let contacts = |q: &str| get(&app, format!("/contacts?{q}&sort_by=id"));
        assert_eq!(ids(&contacts("custom_fields[Colours]=Red").await), vec![made[0], made[3]], "{l}");
        assert_eq!(ids(&contacts("custom_fields[Colours]=Green").await), vec![made[1]]);
        assert_eq!(ids(&contacts("custom_fields[Colours]=Blue&is_organization=false").await), vec![made[0]]);
        assert_eq!(ids(&contacts("custom_fields[Colours]=Red|Blue").await), vec![made[0]], "{l}: every choice given");
        assert_sell_error(&contacts("custom_fields[Colours]=red").await, 400, "bad_request");
        assert_sell_error(&contacts("custom_fields[Colours]=Purple").await, 400, "bad_request");
        let mut leads_made = Vec::new();
        for values in [json!(["Art", "Boats"]), json!(["Cars"])] {
            let r = sell(
                &app,
                Method::POST,
                "/leads",
                Some(json!({"data": {"last_name": "L", "custom_fields": {"Interests": values}}})),
            )
            .await;
            assert_eq!(r.status, 200, "{l}: {}", r.body);
            leads_made.push(r.body["data"]["id"].as_i64().expect("id"));
        }
        let r = sell(&app, Method::GET, "/leads?custom_fields[Interests]=Boats", None).await;
        assert_eq!(ids(&r), vec![leads_made[0]], "{l}");
        let r = sell(&app, Method::GET, "/leads?custom_fields[Interests]=Cars", None).await;
        assert_eq!(ids(&r), vec![leads_made[1]]);
        app.finish().await;
    }
}
