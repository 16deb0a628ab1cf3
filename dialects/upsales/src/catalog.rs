//! `/products` (the shared model's products), `/currencies` and `/metadata`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kith_domain::catalog::ProductDraft;
use kith_domain::deals::DEFAULT_CURRENCY;
use kith_domain::model::{PredefinedItem, PredefinedItemGroup, Price};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::query::{self, Attr, Kind, Resource, col};
use crate::shapes;
use crate::wire::{self, ApiResult, flag, path_id, time};

const ATTRS: &[Attr] = &[
    col("id", "id", Kind::Int),
    col("name", "name", Kind::Text),
    col("articleNo", "sku", Kind::Text),
    col("active", "active", Kind::Bool),
    col("listPrice", "price_minor", Kind::Money),
    col("sortId", "position", Kind::Int),
    col("category.id", "item_group_id", Kind::Int),
    col("regDate", "created_at", Kind::Time),
    col("modDate", "updated_at", Kind::Time),
];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[], custom_kind: None };

pub fn routes() -> Routes {
    Routes::new()
        .route("/products", get(list).post(create))
        .route("/products/{id}", get(one).put(update))
        .route("/currencies", get(currencies))
        .route("/metadata", get(metadata))
}

fn render(p: &PredefinedItem, groups: &HashMap<i64, PredefinedItemGroup>) -> Value {
    let c = p.currency.as_str();
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "articleNo": p.sku,
        "listPrice": shapes::money(p.price_minor, c),
        "purchaseCost": shapes::money(p.cost_minor.unwrap_or(0), p.cost_currency.as_deref().unwrap_or(c)),
        "active": flag(p.active),
        "category": p.item_group_id.and_then(|id| groups.get(&id)).map(|g| json!({ "id": g.id, "name": g.name })),
        "sortId": p.position,
        "isMultiCurrency": p.prices.0.len() > 1,
        "isRecurring": false,
        "recurringInterval": null,
        "currencies": p.prices.0.iter().map(|pr| json!({
            "currency": pr.currency,
            "price": shapes::money(pr.amount_minor, &pr.currency),
            "purchaseCost": shapes::money(p.cost_minor.unwrap_or(0), &pr.currency),
        })).collect::<Vec<_>>(),
        "tiers": [],
        "bundle": [],
        "bundlePriceAdjustment": null,
        "bundlePriceAdjustmentType": null,
        "projectPlanTemplate": null,
        "custom": [],
        "roles": [],
        "importId": null,
        "regDate": time(p.created_at),
        "modDate": time(p.updated_at),
        "userEditable": true,
        "userRemovable": true,
    })
}

async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let (p, page) = query::fetch::<PredefinedItem>(&st, actor, q.as_deref(), &RESOURCE).await?;
    let groups = groups_of(&st, actor, &page.rows).await?;
    Ok(wire::page(page.rows.iter().map(|r| render(r, &groups)).collect(), page.total.unwrap_or(0), p.limit, p.offset))
}

async fn groups_of(
    st: &AppState,
    actor: kith_domain::Actor,
    rows: &[PredefinedItem],
) -> ApiResult<HashMap<i64, PredefinedItemGroup>> {
    shapes::by_ids::<PredefinedItemGroup>(st, actor, rows.iter().map(|p| p.item_group_id)).await
}

async fn answer(st: &AppState, actor: kith_domain::Actor, p: &PredefinedItem) -> ApiResult {
    let groups = groups_of(st, actor, std::slice::from_ref(p)).await?;
    Ok(wire::one(render(p, &groups)))
}

/// The category a body puts the product in (`category: {id}` or null); `None` when absent. A
/// category of another account is a 400.
async fn category_in(
    st: &AppState,
    actor: kith_domain::Actor,
    b: &mut shapes::Body_,
) -> ApiResult<Option<Option<i64>>> {
    let Some(id) = shapes::relation(b, "category") else { return Ok(None) };
    if let Some(id) = id
        && st.crm.find::<PredefinedItemGroup>(actor, id).await?.is_none()
    {
        b.error("category", "must be a product category of this account");
    }
    Ok(Some(id))
}

async fn one(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let product = st.crm.get::<PredefinedItem>(actor, path_id(&raw, "product")?).await?;
    answer(&st, actor, &product).await
}

fn apply(b: &mut shapes::Body_, d: &mut ProductDraft) {
    if let Some(v) = b.text("name", kith_domain::catalog::PREDEFINED_ITEM_NAME_MAX) {
        d.name = v.unwrap_or_default();
    }
    if let Some(v) = b.text("description", kith_domain::catalog::PREDEFINED_ITEM_DESCRIPTION_MAX) {
        d.description = v;
    }
    if let Some(v) = b.text("articleNo", kith_domain::catalog::PRODUCT_SKU_MAX) {
        d.sku = v;
    }
    if let Some(v) = shapes::flag_in(b, "active") {
        d.active = v;
    }
    let currency = d.prices.first().map_or_else(|| DEFAULT_CURRENCY.to_owned(), |p| p.currency.clone());
    if let Some(price) = shapes::money_in(b, "listPrice", &currency) {
        match d.prices.first_mut() {
            Some(first) => first.amount_minor = price,
            None => d.prices.push(Price { amount_minor: price, currency: currency.clone() }),
        }
    }
    if let Some(cost) = shapes::money_in(b, "purchaseCost", &currency) {
        d.cost_minor = Some(cost);
    }
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut b = shapes::read(&st, body).await?;
    let mut d = ProductDraft {
        name: String::new(),
        description: None,
        sku: None,
        active: true,
        max_discount: None,
        max_markup: None,
        cost_minor: None,
        cost_currency: None,
        prices: Vec::new(),
    };
    apply(&mut b, &mut d);
    if d.prices.is_empty() {
        d.prices.push(Price { amount_minor: 0, currency: DEFAULT_CURRENCY.to_owned() });
    }
    let category = category_in(&st, actor, &mut b).await?;
    b.finish()?;
    let mut product = st.crm.create_product(actor, d).await?;
    if let Some(Some(id)) = category {
        product = st.crm.set_item_group(actor, product.id, Some(id)).await?;
    }
    answer(&st, actor, &product).await
}

async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>, body: Body) -> ApiResult {
    let product = st.crm.get::<PredefinedItem>(actor, path_id(&raw, "product")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let mut d = product.product_draft();
    apply(&mut b, &mut d);
    let category = category_in(&st, actor, &mut b).await?;
    b.finish()?;
    let mut product = st.crm.update_product(actor, product.id, d).await?;
    if let Some(id) = category {
        product = st.crm.set_item_group(actor, product.id, id).await?;
    }
    answer(&st, actor, &product).await
}

fn currency(code: &str, master: bool) -> Value {
    json!({ "iso": code, "rate": 1, "masterCurrency": master, "active": true })
}

/// The currencies: Kith converts none, so each is at rate 1; the default one is the master.
async fn currencies(Caller(_): Caller) -> Response {
    axum::Json(json!({ "error": null, "data": [currency(DEFAULT_CURRENCY, true)] })).into_response()
}

/// What the account is: its user, its currency, and which entities keep custom fields.
async fn metadata(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let user = st.crm.me(actor).await?;
    let account = st.crm.account(actor).await?;
    let data = json!({
        "version": "Kith",
        "client": { "id": account.id, "name": account.name },
        "user": { "id": user.id, "name": shapes::user_name(&user), "email": user.email },
        "defaultCurrency": currency(DEFAULT_CURRENCY, true),
        "customerCurrencies": [currency(DEFAULT_CURRENCY, true)],
        "params": { "multiCurrency": false },
        "entitiesWithCustomFields": ["account", "contact", "order"],
    });
    Ok(axum::Json(json!({ "error": null, "data": data })).into_response())
}
