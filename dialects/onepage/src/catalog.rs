//! `/predefined_actions` and `/predefined_items`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::catalog::{
    PREDEFINED_ACTION_TEXT_MAX, PREDEFINED_ITEM_DESCRIPTION_MAX, PREDEFINED_ITEM_NAME_MAX, PredefinedActionDraft,
    PredefinedItemDraft,
};
use kith_domain::model::{PredefinedAction, PredefinedItem, PredefinedItemGroup};
use kith_domain::money::{from_major, to_major};
use kith_domain::query::{Filter, Op, Sort};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Input;
use crate::params::{Params, path_id, read_input};
use crate::wire::{ApiResult, hex_id, ok};

fn render_action(a: &PredefinedAction) -> Value {
    let mut v = json!({ "id": hex_id(a.id), "text": a.text, "days": a.days.unwrap_or(0), "position": a.position });
    if let Some(g) = a.action_group_id {
        v["action_group_id"] = json!(hex_id(g));
    }
    v
}

fn render_item(i: &PredefinedItem) -> Value {
    let v = json!({
        "id": hex_id(i.id),
        "name": i.name,
        "description": i.description.clone().unwrap_or_default(),
        "cost": to_major(i.cost_minor.unwrap_or(0), &i.currency),
        "price": to_major(i.price_minor, &i.currency),
        "position": i.position,
        // Empty when the item is in no group, as the document says.
        "item_group_id": i.item_group_id.map(hex_id).unwrap_or_default(),
    });
    v
}

pub async fn list_actions(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let all = st.crm.all_sorted::<PredefinedAction>(actor, None, vec![Sort::asc("position")]).await?;
    let items: Vec<Value> = all.iter().map(|a| json!({ "predefined_action": render_action(a) })).collect();
    Ok(ok(StatusCode::OK, json!({ "predefined_actions": items })))
}

pub async fn get_action(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let a = st.crm.get::<PredefinedAction>(actor, path_id(&id, "predefined action")?).await?;
    Ok(ok(StatusCode::OK, json!({ "predefined_action": render_action(&a) })))
}

fn read_action(input: &mut Input, mut d: PredefinedActionDraft, partial: bool) -> PredefinedActionDraft {
    match input.text("text", PREDEFINED_ACTION_TEXT_MAX) {
        Some(v) => d.text = v.unwrap_or_default(),
        None if !partial && !input.has("text") => input.error("text", "is required"),
        None => {}
    }
    match input.integer("days") {
        Some(Some(v)) => d.days = v,
        Some(None) => input.error("days", "is required"),
        None if !partial && !input.has("days") => input.error("days", "is required"),
        None => {}
    }
    if let Some(v) = input.integer("position") {
        d.position = v;
    }
    d
}

pub async fn create_action(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut input = read_input(&st, body).await?;
    let d = read_action(&mut input, PredefinedActionDraft::default(), false);
    input.finish()?;
    let a = st.crm.create_predefined_action(actor, d).await?;
    Ok(ok(StatusCode::CREATED, json!({ "predefined_action": render_action(&a) })))
}

pub async fn update_action(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "predefined action")?;
    let partial = Params::parse(raw.as_deref()).flag("partial")?.unwrap_or(false);
    let a = st.crm.get::<PredefinedAction>(actor, id).await?;
    let mut input = read_input(&st, body).await?;
    let base = PredefinedActionDraft { text: a.text.clone(), days: a.days.unwrap_or(0), position: None };
    let d = read_action(&mut input, base, partial);
    input.finish()?;
    let a = st.crm.update_predefined_action(actor, id, d).await?;
    Ok(ok(StatusCode::OK, json!({ "predefined_action": render_action(&a) })))
}

pub async fn delete_action(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    st.crm.delete::<PredefinedAction>(actor, path_id(&id, "predefined action")?).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

pub async fn list_items(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let paging = params.paging()?;
    let mut q = paging.query().sort(Sort::asc("position")).sort(Sort::asc("name"));
    if let Some(name) = params.get("search").or(params.get("name")) {
        q = q.filter(Filter::cmp("name", Op::Contains, name));
    }
    let page = st.crm.list::<PredefinedItem>(actor, &q).await?;
    let items = page.rows.iter().map(|i| json!({ "predefined_item": render_item(i) })).collect();
    Ok(ok(StatusCode::OK, paging.envelope("predefined_items", items, page.total.unwrap_or(0))))
}

pub async fn get_item(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let i = st.crm.get::<PredefinedItem>(actor, path_id(&id, "predefined item")?).await?;
    Ok(ok(StatusCode::OK, json!({ "predefined_item": render_item(&i) })))
}

fn money(input: &mut Input, key: &str) -> Option<i64> {
    let v = input.number(key)?.unwrap_or(0.0);
    match from_major(v, kith_domain::deals::DEFAULT_CURRENCY) {
        Some(m) => Some(m),
        None => {
            input.error(key, "is out of range");
            None
        }
    }
}

/// Without `partial`, an omitted description, cost or price is reset, as the document says.
fn read_item(input: &mut Input, mut d: PredefinedItemDraft, partial: bool) -> PredefinedItemDraft {
    match input.text("name", PREDEFINED_ITEM_NAME_MAX) {
        Some(v) => d.name = v.unwrap_or_default(),
        None if !partial && !input.has("name") => input.error("name", "is required"),
        None => {}
    }
    match input.text("description", PREDEFINED_ITEM_DESCRIPTION_MAX) {
        Some(v) => d.description = v,
        None if !partial => d.description = None,
        None => {}
    }
    match money(input, "cost") {
        Some(v) => d.cost_minor = v,
        None if !partial && !input.has("cost") => d.cost_minor = 0,
        None => {}
    }
    match money(input, "price") {
        Some(v) => d.price_minor = v,
        None if !partial && !input.has("price") => d.price_minor = 0,
        None => {}
    }
    if let Some(v) = input.integer("position") {
        d.position = v;
    }
    d
}

pub async fn create_item(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut input = read_input(&st, body).await?;
    let d = read_item(&mut input, PredefinedItemDraft::default(), false);
    input.finish()?;
    let i = st.crm.create_predefined_item(actor, d).await?;
    Ok(ok(StatusCode::CREATED, json!({ "predefined_item": render_item(&i) })))
}

pub async fn update_item(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "predefined item")?;
    let partial = Params::parse(raw.as_deref()).flag("partial")?.unwrap_or(false);
    let i = st.crm.get::<PredefinedItem>(actor, id).await?;
    let mut input = read_input(&st, body).await?;
    let base = PredefinedItemDraft {
        name: i.name.clone(),
        description: i.description.clone(),
        price_minor: i.price_minor,
        cost_minor: i.cost_minor.unwrap_or(0),
        position: None,
    };
    let d = read_item(&mut input, base, partial);
    input.finish()?;
    let i = st.crm.update_predefined_item(actor, id, d).await?;
    Ok(ok(StatusCode::OK, json!({ "predefined_item": render_item(&i) })))
}

pub async fn delete_item(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    st.crm.delete::<PredefinedItem>(actor, path_id(&id, "predefined item")?).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

fn render_group(g: &PredefinedItemGroup, items: &[PredefinedItem], include_items: bool) -> Value {
    let members: Vec<&PredefinedItem> =
        g.item_ids.0.iter().filter_map(|id| items.iter().find(|i| i.id == *id)).collect();
    let currency = kith_domain::deals::DEFAULT_CURRENCY;
    let mut v = json!({
        "id": hex_id(g.id),
        "name": g.name,
        "position": g.position,
        "count": members.len(),
        "item_ids": members.iter().map(|i| hex_id(i.id)).collect::<Vec<_>>(),
        "cost": to_major(members.iter().map(|i| i.cost_minor.unwrap_or(0)).sum(), currency),
        "price": to_major(members.iter().map(|i| i.price_minor).sum(), currency),
    });
    if include_items {
        v["items"] = json!(members.iter().map(|i| json!({ "predefined_item": render_item(i) })).collect::<Vec<_>>());
    }
    v
}

pub async fn list_groups(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let include = params.flag("include_items")?.unwrap_or(false);
    let groups = st.crm.all_sorted::<PredefinedItemGroup>(actor, None, vec![Sort::asc("position")]).await?;
    let items = st.crm.all::<PredefinedItem>(actor, None).await?;
    let list: Vec<Value> =
        groups.iter().map(|g| json!({ "predefined_item_group": render_group(g, &items, include) })).collect();
    Ok(ok(StatusCode::OK, json!({ "predefined_item_groups": list })))
}

pub async fn get_group(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let g = st.crm.get::<PredefinedItemGroup>(actor, path_id(&id, "predefined item group")?).await?;
    let items = st.crm.all::<PredefinedItem>(actor, None).await?;
    Ok(ok(StatusCode::OK, json!({ "predefined_item_group": render_group(&g, &items, true) })))
}

/// `POST /predefined_item_groups` with `name` and `deal_items` (item ids).
pub async fn create_group(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut input = read_input(&st, body).await?;
    let name = input.text("name", kith_domain::catalog::ITEM_GROUP_NAME_MAX).flatten();
    if name.is_none() {
        input.error("name", "is required");
    }
    let mut ids = Vec::new();
    for (i, raw) in input.strings("deal_items", 24).unwrap_or_default().iter().enumerate() {
        match crate::wire::parse_id(raw) {
            Some(id) => ids.push(id),
            None => input.error(format!("deal_items[{i}]"), "is not a valid id"),
        }
    }
    input.finish()?;
    let g = st.crm.create_item_group(actor, &name.unwrap_or_default(), ids).await?;
    let items = st.crm.all::<PredefinedItem>(actor, None).await?;
    // The document names the created group `predefined_item`.
    Ok(ok(StatusCode::CREATED, json!({ "predefined_item": render_group(&g, &items, false) })))
}

pub async fn delete_group(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    st.crm.delete_item_group(actor, path_id(&id, "predefined item group")?).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

/// `GET /countries`: every country with its ISO code and calling prefix, sorted by code.
pub async fn countries(Caller(_): Caller) -> ApiResult {
    let list: Vec<Value> = kith_domain::countries::countries()
        .iter()
        .map(|c| json!({ "country": { "name": c.name, "code": c.code, "phone_prefix": c.phone_prefix } }))
        .collect();
    Ok(ok(StatusCode::OK, json!({ "countries": list })))
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/predefined_actions", routing::get(list_actions).post(create_action))
        .route(
            "/predefined_actions/{id}",
            routing::get(get_action).put(update_action).patch(update_action).delete(delete_action),
        )
        .route("/predefined_items", routing::get(list_items).post(create_item))
        .route("/predefined_items/{id}", routing::get(get_item).put(update_item).patch(update_item).delete(delete_item))
        .route("/predefined_item_groups", routing::get(list_groups).post(create_group))
        .route("/predefined_item_groups/{id}", routing::get(get_group).delete(delete_group))
        .route("/countries", routing::get(countries))
}
