//! `/orders` and `/opportunities`: Upsales' orders and opportunities, the shared model's deals.
//! One list: a deal at 1–99 % is an opportunity, at 100 % a (won) order, at 0 % a lost one.
//! `/orders` lists and writes every deal (Upsales lists opportunities as
//! `/orders?probability=gte:1&probability=lte:99`); `/opportunities` only those at 1–99.
//! A deal's `orderRow`s are its line items; its value is the sum of quantity × price, and its
//! weighted value the value times the probability (rules of the domain).

use kith_http::Routes;
use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::deal_rows::{DealList, DealWrite, RowDraft, weighted_value};
use kith_domain::model::{Company, Contact, Deal, DealItem, Stage, User};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::accounts::{CLIENT, client_ref};
use crate::auth::Caller;
use crate::query::{Attr, Kind, ListParams, Resource, col, link};
use crate::shapes::{self, Body_};
use crate::wire::{self, ApiError, ApiResult, path_id, time};

pub const ATTRS: &[Attr] = &[
    col("id", "id", Kind::Int),
    col("description", "name", Kind::Text),
    col("notes", "description", Kind::Text),
    col("date", "date", Kind::Date),
    col("closeDate", "close_date", Kind::Date),
    col("probability", "probability", Kind::Int),
    col("value", "value_minor", Kind::Money),
    col("currency", "currency", Kind::Text),
    col("regDate", "created_at", Kind::Time),
    col("modDate", "updated_at", Kind::Time),
    col("user.id", "owner_id", Kind::Int),
    col("client.id", "company_id", Kind::Int),
    col("contact.id", "contact_id", Kind::Int),
    col("stage.id", "stage_id", Kind::Int),
    link("project.id", kith_domain::links::CAMPAIGN),
    link("projects.id", kith_domain::links::CAMPAIGN),
];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[CLIENT], custom_kind: Some("deal") };

pub fn routes() -> Routes {
    Routes::new()
        .route("/orders", get(list_orders).post(create_order))
        .route("/orders/{id}", get(one_order).put(update_order).delete(delete_order))
        .route("/opportunities", get(list_opportunities).post(create_opportunity))
        .route("/opportunities/{id}", get(one_opportunity).put(update_opportunity).delete(delete_opportunity))
}

/// What a page of deals refers to, read in one query per kind.
struct Refs {
    users: HashMap<i64, User>,
    companies: HashMap<i64, Company>,
    contacts: HashMap<i64, Contact>,
    stages: HashMap<i64, Stage>,
    rows: HashMap<i64, Vec<DealItem>>,
    labels: shapes::Labels,
}

async fn refs(st: &AppState, actor: Actor, deals: &[Deal]) -> ApiResult<Refs> {
    let companies = shapes::by_ids::<Company>(st, actor, deals.iter().map(|d| d.company_id)).await?;
    let contacts = shapes::by_ids::<Contact>(st, actor, deals.iter().map(|d| d.contact_id)).await?;
    let stages = shapes::by_ids::<Stage>(st, actor, deals.iter().map(|d| d.stage_id)).await?;
    let owners = deals.iter().map(|d| Some(d.owner_id)).chain(companies.values().map(|c| c.owner_id));
    let users = shapes::users(st, actor, owners).await?;
    let ids: Vec<i64> = deals.iter().map(|d| d.id).collect();
    let rows = st.crm.deal_items(actor, &ids).await?;
    let labels = shapes::Labels::of(st, actor, ids.iter().copied()).await?;
    Ok(Refs { users, companies, contacts, stages, rows, labels })
}

fn row(r: &DealItem, currency: &str) -> Value {
    json!({
        "id": r.id,
        "quantity": r.quantity,
        "price": shapes::money(r.unit_price_minor, currency),
        "listPrice": shapes::money(r.list_price_minor.unwrap_or(r.unit_price_minor), currency),
        "purchaseCost": shapes::money(r.cost_minor.unwrap_or(0), currency),
        "discount": 0,
        "custom": [],
        "productId": r.predefined_item_id,
        "product": r.predefined_item_id.map(|id| json!({ "id": id, "name": r.name, "category": null })),
        "sortId": r.position,
        "value": shapes::money(r.amount_minor, currency),
        "bundleRows": [],
    })
}

fn render(d: &Deal, refs: &Refs) -> Value {
    let value = d.value_minor.unwrap_or(0);
    let probability = d.probability.unwrap_or(0);
    let weighted = weighted_value(value, probability);
    let c = d.currency.as_str();
    let contact = d.contact_id.and_then(|id| refs.contacts.get(&id));
    let stage = d.stage_id.and_then(|id| refs.stages.get(&id));
    let rows: Vec<Value> = refs.rows.get(&d.id).map_or_else(Vec::new, |rs| rs.iter().map(|r| row(r, c)).collect());
    json!({
        "id": d.id,
        "description": d.name,
        "date": d.date.clone().unwrap_or_else(|| d.created_at.format("%Y-%m-%d").to_string()),
        "closeDate": d.close_date,
        "notes": d.description,
        "user": shapes::user_ref(&refs.users, Some(d.owner_id)),
        "client": client_ref(&refs.companies, &refs.users, d.company_id),
        "contact": contact.map(|p| json!({ "id": p.id, "name": p.display_name(), "email": p.email })),
        "project": refs.labels.project(d.id),
        "regDate": time(d.created_at),
        "regBy": shapes::user_ref(&refs.users, d.author_id),
        "modDate": time(d.updated_at),
        "stage": stage.map(|s| json!({ "id": s.id, "name": s.name })),
        "probability": probability,
        "clientConnection": null,
        "currencyRate": 1,
        "currency": c,
        "locked": 0,
        "custom": shapes::custom(&d.custom_fields.0),
        "orderRow": rows,
        "value": shapes::money(value, c),
        "weightedValue": shapes::money(weighted, c),
        "valueInMasterCurrency": shapes::money(value, c),
        "weightedValueInMasterCurrency": shapes::money(weighted, c),
        "contributionMargin": shapes::money(value.saturating_sub(d.cost_minor.unwrap_or(0)), c),
        "stakeholders": [],
        "agreement": null,
        "userRemovable": true,
        "userEditable": true,
    })
}

async fn list(st: AppState, actor: Actor, q: Option<String>, which: DealList) -> ApiResult {
    let p = ListParams::parse(q.as_deref())?;
    let defs = p.defs(&st, actor, &RESOURCE).await?;
    let mut query = p.query(&RESOURCE, &defs)?;
    if let Some(f) = which.filter() {
        query = query.filter(f);
    }
    let page = st.crm.list::<Deal>(actor, &query).await?;
    let refs = refs(&st, actor, &page.rows).await?;
    let rows = page.rows.iter().map(|d| render(d, &refs)).collect();
    Ok(wire::page(rows, page.total.unwrap_or(0), p.limit, p.offset))
}

async fn answer(st: &AppState, actor: Actor, d: &Deal) -> ApiResult {
    let refs = refs(st, actor, std::slice::from_ref(d)).await?;
    Ok(wire::one(render(d, &refs)))
}

/// A deal of the list: one of another list is not found there.
async fn get_in_list(st: &AppState, actor: Actor, raw: &str, which: DealList) -> ApiResult<Deal> {
    let deal = st.crm.get::<Deal>(actor, path_id(raw, "order")?).await?;
    if which.refuses(deal.probability.unwrap_or(0)).is_some() {
        return Err(ApiError::not_found("order"));
    }
    Ok(deal)
}

fn rows_in(b: &mut Body_, currency: &str) -> Option<Vec<RowDraft>> {
    let items = b.objects("orderRow", 500)?;
    let mut out = Vec::new();
    for (i, m) in items.iter().enumerate() {
        let field = format!("orderRow[{i}]");
        let quantity = match m.get("quantity") {
            None | Some(Value::Null) => Some(1.0),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let quantity = match quantity.filter(|q| q.is_finite()) {
            Some(q) => q,
            None => {
                b.error(format!("{field}.quantity"), "must be a number");
                0.0
            }
        };
        let product_id = match m.get("product").or_else(|| m.get("productId")) {
            None => None,
            Some(v) => match <crate::wire::UpsalesWire as kith_http::WireFormat>::read_id(v) {
                Ok(id) => id,
                Err(msg) => {
                    b.error(format!("{field}.product"), msg);
                    None
                }
            },
        };
        let price = shapes::money_of(b, field.clone(), m, "price", currency).unwrap_or(0);
        let list_price = shapes::money_of(b, field.clone(), m, "listPrice", currency);
        let cost = shapes::money_of(b, field, m, "purchaseCost", currency);
        out.push(RowDraft { product_id, quantity, price_minor: price, list_price_minor: list_price, cost_minor: cost });
    }
    Some(out)
}

async fn write(st: &AppState, actor: Actor, mut deal: Deal, body: Body, which: DealList) -> ApiResult {
    let mut b = shapes::read(st, body).await?;
    if let Some(v) = b.text("currency", 3) {
        deal.currency = v.unwrap_or_else(|| kith_domain::deals::DEFAULT_CURRENCY.to_owned());
    }
    if let Some(v) = b.text("description", kith_domain::deals::DEAL_RECORD_NAME_MAX) {
        deal.name = v.unwrap_or_default();
    } else if deal.id == 0 {
        b.error("description", "is required");
    }
    if let Some(v) = b.text("notes", kith_domain::deals::DEAL_TEXT_MAX) {
        deal.description = v;
    }
    if let Some(v) = b.date("date") {
        deal.date = v;
    }
    if let Some(v) = b.date("closeDate") {
        deal.close_date = v;
    }
    if let Some(v) = shapes::relation(&mut b, "user").flatten() {
        deal.owner_id = v;
    }
    if let Some(v) = shapes::relation(&mut b, "stage") {
        deal.stage_id = v;
    }
    let client_id = shapes::relation(&mut b, "client").flatten();
    let contact_id = shapes::relation(&mut b, "contact");
    let probability = b.integer("probability").flatten();
    let rows = rows_in(&mut b, &deal.currency.clone());
    let campaigns = shapes::project_in(&mut b);
    if let Some(v) = shapes::custom_in(&mut b) {
        let mut values = deal.custom_fields.0.clone();
        for (id, value) in v {
            if value.is_null() {
                values.remove(&id.to_string());
            } else {
                values.insert(id.to_string(), value);
            }
        }
        deal.custom_fields.0 = values;
    }
    b.finish()?;
    let w = DealWrite { deal, client_id, contact_id, probability, rows, list: which, campaigns };
    let (deal, _) = st.crm.write_deal_with_rows(actor, w).await?;
    answer(st, actor, &deal).await
}

async fn create(st: AppState, actor: Actor, body: Body, which: DealList) -> ApiResult {
    let mut deal = Deal::new_by(actor);
    deal.date = Some(chrono::Utc::now().format("%Y-%m-%d").to_string());
    write(&st, actor, deal, body, which).await
}

async fn update(st: AppState, actor: Actor, raw: String, body: Body, which: DealList) -> ApiResult {
    let deal = get_in_list(&st, actor, &raw, which).await?;
    write(&st, actor, deal, body, which).await
}

async fn delete(st: AppState, actor: Actor, raw: String, which: DealList) -> ApiResult {
    let deal = get_in_list(&st, actor, &raw, which).await?;
    st.crm.delete_deal(actor, deal.id).await?;
    Ok(wire::deleted())
}

async fn list_orders(State(st): State<AppState>, Caller(a): Caller, RawQuery(q): RawQuery) -> ApiResult {
    list(st, a, q, DealList::Any).await
}
async fn list_opportunities(State(st): State<AppState>, Caller(a): Caller, RawQuery(q): RawQuery) -> ApiResult {
    list(st, a, q, DealList::Opportunities).await
}
async fn one_order(State(st): State<AppState>, Caller(a): Caller, Path(raw): Path<String>) -> ApiResult {
    let deal = get_in_list(&st, a, &raw, DealList::Any).await?;
    answer(&st, a, &deal).await
}
async fn one_opportunity(State(st): State<AppState>, Caller(a): Caller, Path(raw): Path<String>) -> ApiResult {
    let deal = get_in_list(&st, a, &raw, DealList::Opportunities).await?;
    answer(&st, a, &deal).await
}
async fn create_order(State(st): State<AppState>, Caller(a): Caller, body: Body) -> ApiResult {
    create(st, a, body, DealList::Any).await
}
async fn create_opportunity(State(st): State<AppState>, Caller(a): Caller, body: Body) -> ApiResult {
    create(st, a, body, DealList::Opportunities).await
}
async fn update_order(State(st): State<AppState>, Caller(a): Caller, Path(raw): Path<String>, body: Body) -> ApiResult {
    update(st, a, raw, body, DealList::Any).await
}
async fn update_opportunity(
    State(st): State<AppState>,
    Caller(a): Caller,
    Path(raw): Path<String>,
    body: Body,
) -> ApiResult {
    update(st, a, raw, body, DealList::Opportunities).await
}
async fn delete_order(State(st): State<AppState>, Caller(a): Caller, Path(raw): Path<String>) -> ApiResult {
    delete(st, a, raw, DealList::Any).await
}
async fn delete_opportunity(State(st): State<AppState>, Caller(a): Caller, Path(raw): Path<String>) -> ApiResult {
    delete(st, a, raw, DealList::Opportunities).await
}
