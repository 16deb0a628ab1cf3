//! `/products`: the catalogue, which is the shared model's predefined items (OnePage's
//! predefined items are the same products). Money is a decimal string in its currency: each
//! price in its own, `cost` in `cost_currency`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::catalog::{PREDEFINED_ITEM_DESCRIPTION_MAX, PREDEFINED_ITEM_NAME_MAX, PRODUCT_SKU_MAX, ProductDraft};
use kith_domain::model::{PredefinedItem, Price};
use kith_domain::money::{parse_decimal, to_decimal};
use kith_domain::query::{Filter, Op, Sort};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::wire::{ApiResult, collection, one, time};

pub fn routes() -> Routes {
    Routes::new()
        .route("/products", get(list).post(create))
        .route("/products/{id}", get(fetch).put(update).delete(delete))
}

fn render(p: &PredefinedItem) -> Value {
    let cost_currency = p.cost_currency.clone().unwrap_or_else(|| p.currency.clone());
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "sku": p.sku,
        "active": p.active,
        "max_discount": p.max_discount,
        "max_markup": p.max_markup,
        "cost": p.cost_minor.map(|c| to_decimal(c, &cost_currency)),
        "cost_currency": cost_currency,
        "prices": p.prices.0.iter()
            .map(|price| json!({ "amount": to_decimal(price.amount_minor, &price.currency), "currency": price.currency }))
            .collect::<Vec<_>>(),
        "created_at": time(p.created_at),
        "updated_at": time(p.updated_at),
    })
}

/// A money amount as Sell sends it: a decimal string, or a JSON number (read by its decimal
/// form, so `1599.99` is exactly 1599.99).
pub(crate) fn decimal_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer attribute (a JSON integer or a string of one); `Some(None)` when null.
pub(crate) fn integer(data: &mut Data, key: &str) -> Option<Option<i64>> {
    let parsed = match data.raw(key)? {
        Value::Null => return Some(None),
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
        }
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match parsed {
        Some(i) => Some(Some(i)),
        None => {
            data.error(key, "must be an integer");
            None
        }
    }
}

/// `prices`: the whole set, `[{amount, currency}]`.
fn read_prices(data: &mut Data) -> Option<Vec<Price>> {
    let items = match data.raw("prices")? {
        Value::Null => return Some(Vec::new()),
        Value::Array(items) => items.clone(),
        _ => {
            data.error("prices", "must be an array of {amount, currency}");
            return None;
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let currency = match item.get("currency") {
            Some(Value::String(c)) => c.trim().to_ascii_uppercase(),
            _ => {
                data.error(format!("prices/{i}/currency"), "must be a 3-letter ISO 4217 code");
                continue;
            }
        };
        match item.get("amount").and_then(decimal_text).and_then(|t| parse_decimal(&t, &currency)) {
            Some(amount_minor) => out.push(Price { amount_minor, currency }),
            None => data.error(format!("prices/{i}/amount"), "must be a decimal amount"),
        }
    }
    Some(out)
}

/// Applies the attributes sent to `d`.
fn apply(data: &mut Data, d: &mut ProductDraft) {
    if let Some(v) = data.text("name", PREDEFINED_ITEM_NAME_MAX) {
        d.name = v.unwrap_or_default();
    }
    if let Some(v) = data.text("description", PREDEFINED_ITEM_DESCRIPTION_MAX) {
        d.description = v;
    }
    if let Some(v) = data.text("sku", PRODUCT_SKU_MAX) {
        d.sku = v;
    }
    if let Some(v) = data.boolean("active") {
        d.active = v;
    }
    if let Some(v) = integer(data, "max_discount") {
        d.max_discount = v;
    }
    if let Some(v) = integer(data, "max_markup") {
        d.max_markup = v;
    }
    if let Some(v) = data.text("cost_currency", 3) {
        d.cost_currency = v;
    }
    if let Some(prices) = read_prices(data) {
        d.prices = prices;
    }
    // The cost is in its own currency: the one sent, or the product's, or its first price's.
    let cost_currency = d
        .cost_currency
        .clone()
        .or_else(|| d.prices.first().map(|p| p.currency.clone()))
        .unwrap_or_else(|| kith_domain::deals::DEFAULT_CURRENCY.to_owned());
    match data.raw("cost").cloned() {
        None => {}
        Some(Value::Null) => d.cost_minor = None,
        Some(v) => match decimal_text(&v).and_then(|t| parse_decimal(&t, &cost_currency)) {
            Some(c) => d.cost_minor = Some(c),
            None => data.error("cost", "must be a decimal amount"),
        },
    }
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
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
    apply(&mut data, &mut d);
    data.finish()?;
    let p = st.crm.create_product(actor, d).await?;
    Ok(one(StatusCode::OK, "product", render(&p)))
}

async fn fetch(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, _: RecordQuery) -> ApiResult {
    let p = st.crm.get::<PredefinedItem>(actor, path_id(&id, "product")?).await?;
    Ok(one(StatusCode::OK, "product", render(&p)))
}

/// `PUT`: changes only the attributes sent; `prices` replaces the whole set.
async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, body: Body) -> ApiResult {
    let p = st.crm.get::<PredefinedItem>(actor, path_id(&id, "product")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let mut d = p.product_draft();
    apply(&mut data, &mut d);
    data.finish()?;
    let p = st.crm.update_product(actor, p.id, d).await?;
    Ok(one(StatusCode::OK, "product", render(&p)))
}

/// Deleting a product leaves the lines made from it as they are.
async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    st.crm.delete::<PredefinedItem>(actor, path_id(&id, "product")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /products`: filters `ids`, `name`, `sku`, `active`; `organization_id` and `owner_id`
/// must be integers but select nothing (products belong to the whole account); `sort_by` `id`,
/// `name`, `sku`, `created_at`, `updated_at`.
async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["name", "sku", "active", "organization_id", "owner_id"])?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    for key in ["name", "sku"] {
        if let Some(v) = params.get(key).filter(|s| !s.is_empty()) {
            q = q.filter(Filter::cmp(key, Op::Eq, v));
        }
    }
    if let Some(active) = params.flag("active")? {
        q = q.filter(Filter::eq("active", active));
    }
    for key in ["organization_id", "owner_id"] {
        params.int(key)?;
    }
    let sort = params.sort(
        &[("id", "id"), ("name", "name"), ("sku", "sku"), ("created_at", "created_at"), ("updated_at", "updated_at")],
        |_| None,
    )?;
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("id")));
    let mut rows = st.crm.list::<PredefinedItem>(actor, &q).await?.rows;
    let links = paging.links("/v2/products", &mut rows);
    Ok(collection("product", rows.iter().map(render).collect(), links))
}

/// A live product, rendered, for the Sync API.
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    Ok(st.crm.find::<PredefinedItem>(actor, id).await?.map(|p| ("product", render(&p))))
}
