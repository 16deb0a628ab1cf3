//! `/orders` and `/orders/{order_id}/line_items`: what a deal sells. A deal has at most one
//! order; its line items are the deal's items (OnePage's deal items are the same lines), and the
//! deal's value follows them (see `kith_domain::orders`). Line items cannot be changed, only
//! added and removed.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::model::{Deal, DealItem, Order};
use kith_domain::money::{parse_decimal, to_decimal};
use kith_domain::orders::{LineItemDraft, line_currency, lines_filter, live_orders};
use kith_domain::query::{Filter, Sort};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::products::{decimal_text, integer};
use crate::wire::{ApiError, ApiResult, collection, one, time};

pub fn routes() -> Routes {
    Routes::new()
        .route("/orders", get(list).post(create))
        .route("/orders/{id}", get(fetch).put(update).delete(delete))
        .route("/orders/{order_id}/line_items", get(list_lines).post(create_line))
        .route("/orders/{order_id}/line_items/{id}", get(fetch_line).delete(delete_line))
}

fn render(o: &Order) -> Value {
    json!({
        "id": o.id,
        "deal_id": o.deal_id,
        "discount": o.discount,
        "created_at": time(o.created_at),
        "updated_at": time(o.updated_at),
    })
}

/// A quantity or percentage as a JSON number: whole numbers without a fraction.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 { json!(v as i64) } else { json!(v) }
}

/// A line in its currency. Lines made without a product (OnePage's) have no `product_id`, no
/// variation and their unit value as their price.
fn render_line(l: &DealItem, deal: &Deal) -> Value {
    let currency = line_currency(l, deal);
    json!({
        "id": l.id,
        "product_id": l.predefined_item_id,
        "name": l.name,
        "sku": l.sku,
        "description": l.description,
        "value": to_decimal(l.unit_price_minor, currency),
        "price": to_decimal(l.list_price_minor.unwrap_or(l.unit_price_minor), currency),
        "variation": number(l.variation.unwrap_or(0.0)),
        "currency": currency,
        "quantity": number(l.quantity),
        "created_at": time(l.created_at),
        "updated_at": time(l.updated_at),
    })
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    let deal_id = data.id("deal_id").flatten();
    let discount = integer(&mut data, "discount").flatten();
    data.finish()?;
    let o = st.crm.create_order(actor, deal_id, discount).await?;
    Ok(one(StatusCode::OK, "order", render(&o)))
}

async fn fetch(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, _: RecordQuery) -> ApiResult {
    let (o, _) = st.crm.order(actor, path_id(&id, "order")?).await?;
    Ok(one(StatusCode::OK, "order", render(&o)))
}

/// `PUT`: changes the discount (null is none); `deal_id` may be sent but not changed.
async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, body: Body) -> ApiResult {
    let (o, _) = st.crm.order(actor, path_id(&id, "order")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let deal_id = match data.id("deal_id") {
        Some(None) => {
            data.error("deal_id", "cannot be changed");
            None
        }
        other => other.flatten(),
    };
    let discount = integer(&mut data, "discount").map(|d| d.unwrap_or(0));
    data.finish()?;
    let o = st.crm.update_order(actor, o.id, deal_id, discount).await?;
    Ok(one(StatusCode::OK, "order", render(&o)))
}

/// Deletes the order and its line items.
async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    st.crm.delete_order(actor, path_id(&id, "order")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /orders`: filters `ids`, `deal_id`; `sort_by` `id`, `deal_id`, `discount`,
/// `created_at`, `updated_at`.
async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["deal_id"])?;
    let paging = params.paging()?;
    let mut q = paging.query().filter(live_orders());
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    if let Some(deal) = params.int("deal_id")? {
        q = q.filter(Filter::eq("deal_id", deal));
    }
    let sort = params.sort(
        &[
            ("id", "id"),
            ("deal_id", "deal_id"),
            ("discount", "discount"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
        ],
        |_| None,
    )?;
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("id")));
    let mut rows = st.crm.list::<Order>(actor, &q).await?.rows;
    let links = paging.links("/v2/orders", &mut rows);
    Ok(collection("order", rows.iter().map(render).collect(), links))
}

/// `POST`: `product_id` (required), `quantity`, `variation`, `currency`, `value`; a `price` is
/// the product's and is not read.
async fn create_line(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(order_id): Path<String>,
    body: Body,
) -> ApiResult {
    let order_id = path_id(&order_id, "order")?;
    let (_, _) = st.crm.order(actor, order_id).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let mut d = LineItemDraft { product_id: data.id("product_id").flatten(), ..Default::default() };
    d.quantity = integer(&mut data, "quantity").flatten();
    d.currency = data.text("currency", 3).flatten();
    if let Some(v) = data.raw("variation").cloned().filter(|v| !v.is_null()) {
        match decimal_text(&v).and_then(|t| t.parse::<f64>().ok()) {
            Some(f) => d.variation = Some(f),
            None => data.error("variation", "must be a number"),
        }
    }
    if let Some(v) = data.raw("value").cloned().filter(|v| !v.is_null()) {
        match decimal_text(&v) {
            Some(t) => d.value = Some(t),
            None => data.error("value", "must be a decimal amount"),
        }
    }
    data.finish()?;
    let line = st.crm.create_line_item(actor, order_id, d).await?;
    let (_, deal) = st.crm.order(actor, order_id).await?;
    Ok(one(StatusCode::OK, "line_item", render_line(&line, &deal)))
}

async fn fetch_line(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((order_id, id)): Path<(String, String)>,
    _: RecordQuery,
) -> ApiResult {
    let order_id = path_id(&order_id, "order")?;
    let (_, deal, line) = st.crm.line_item(actor, order_id, path_id(&id, "line_item")?).await?;
    Ok(one(StatusCode::OK, "line_item", render_line(&line, &deal)))
}

async fn delete_line(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((order_id, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let order_id = path_id(&order_id, "order")?;
    st.crm.delete_line_item(actor, order_id, path_id(&id, "line_item")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /orders/{order_id}/line_items`: filters `ids`, `quantity`, `value` (a decimal in the
/// order's currency); `sort_by` `id`, `value`, `quantity`, `created_at`, `updated_at`.
async fn list_lines(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(order_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let (order, deal) = st.crm.order(actor, path_id(&order_id, "order")?).await?;
    let params = Params::list(raw.as_deref(), &["quantity", "value"])?;
    let paging = params.paging()?;
    let mut q = paging.query().filter(lines_filter(&order));
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    if let Some(quantity) = params.int("quantity")? {
        q = q.filter(Filter::eq("quantity", kith_domain::query::Value::Float(quantity as f64)));
    }
    if let Some(raw_value) = params.get("value").filter(|s| !s.is_empty()) {
        let value = parse_decimal(raw_value, &deal.currency)
            .ok_or_else(|| ApiError::bad_request("value must be a decimal amount"))?;
        q = q.filter(Filter::eq("unit_price_minor", value));
    }
    let sort = params.sort(
        &[
            ("id", "id"),
            ("value", "unit_price_minor"),
            ("quantity", "quantity"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
        ],
        |_| None,
    )?;
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("id")));
    let mut rows = st.crm.list::<DealItem>(actor, &q).await?.rows;
    let links = paging.links(&format!("/v2/orders/{}/line_items", order.id), &mut rows);
    Ok(collection("line_item", rows.iter().map(|l| render_line(l, &deal)).collect(), links))
}

/// A live order or line item, rendered, for the Sync API (ids are unique across types). A deal
/// item is a line item while its deal has an order.
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    let found = match st.crm.find::<Order>(actor, id).await? {
        Some(order) => st.crm.order(actor, order.id).await.map(|(o, _)| ("order", render(&o))),
        None => {
            let Some(line) = st.crm.find::<DealItem>(actor, id).await? else { return Ok(None) };
            let orders = st.crm.all::<Order>(actor, Some(Filter::eq("deal_id", line.deal_id))).await?;
            let Some(order) = orders.first() else { return Ok(None) };
            st.crm.line_item(actor, order.id, id).await.map(|(_, deal, l)| ("line_item", render_line(&l, &deal)))
        }
    };
    match found {
        Ok(record) => Ok(Some(record)),
        Err(kith_domain::DomainError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
