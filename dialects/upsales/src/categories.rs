//! `/productCategories`: the shared model's predefined item groups (the groups OnePage shows),
//! read as categories of products: a product is in at most one (its `category`). Categories are
//! flat (`parentId` 0), ordered by `sortId`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::IntoResponse;
use axum::routing::get;
use kith_domain::catalog::ITEM_GROUP_NAME_MAX;
use kith_domain::model::PredefinedItemGroup;
use kith_http::{AppState, Routes};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::query::{self, Attr, Kind, Resource, col};
use crate::shapes;
use crate::wire::{self, ApiResult, path_id};

const ATTRS: &[Attr] =
    &[col("id", "id", Kind::Int), col("name", "name", Kind::Text), col("sortId", "position", Kind::Int)];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[], custom_kind: None };

pub fn routes() -> Routes {
    Routes::new()
        .route("/productcategories", get(list).post(create))
        .route("/productcategories/{id}", get(one).put(update).delete(delete))
}

pub fn render(g: &PredefinedItemGroup) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "parentId": 0,
        "sortId": g.position,
        "roles": [],
        "orderRowFields": [],
        "inheritRoles": false,
        "calculatingField": null,
    })
}

async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let (p, page) = query::fetch::<PredefinedItemGroup>(&st, actor, q.as_deref(), &RESOURCE).await?;
    Ok(wire::page(page.rows.iter().map(render).collect(), page.total.unwrap_or(0), p.limit, p.offset))
}

async fn one(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let g = st.crm.get::<PredefinedItemGroup>(actor, path_id(&raw, "product category")?).await?;
    // Upsales' read of one category carries `metadata: null`.
    Ok(axum::Json(json!({ "error": null, "metadata": null, "data": render(&g) })).into_response())
}

/// The name a body gives; `parentId`, `roles`, `orderRowFields` and `calculatingField` are not
/// kept (see the dialect's doc).
async fn name_of(st: &AppState, body: Body, required: bool) -> ApiResult<Option<String>> {
    let mut b = shapes::read(st, body).await?;
    let name = b.text("name", ITEM_GROUP_NAME_MAX).flatten();
    if required && name.is_none() {
        b.error("name", "is required");
    }
    b.finish()?;
    Ok(name)
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let name = name_of(&st, body, true).await?.unwrap_or_default();
    Ok(wire::one(render(&st.crm.create_item_group(actor, &name, Vec::new()).await?)))
}

async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>, body: Body) -> ApiResult {
    let g = st.crm.get::<PredefinedItemGroup>(actor, path_id(&raw, "product category")?).await?;
    let g = match name_of(&st, body, false).await? {
        Some(name) => st.crm.rename_item_group(actor, g.id, &name).await?,
        None => g,
    };
    Ok(wire::one(render(&g)))
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    st.crm.delete_item_group(actor, path_id(&raw, "product category")?).await?;
    Ok(wire::deleted())
}
