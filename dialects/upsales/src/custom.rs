//! `/customfields/{entity}`: custom-field definitions. Accounts, contacts and orders keep custom
//! fields (the shared model's company, contact and deal fields, the same ones the other
//! dialects show); the other entities Upsales lists here have none in Kith: their lists are
//! empty and creating one is refused.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use kith_domain::custom_fields::{FieldKind, NewCustomField};
use kith_domain::model::CustomFieldDefinition;
use kith_domain::query::Filter;
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::query::{Attr, Kind, ListParams, Resource, col};
use crate::shapes;
use crate::wire::{self, ApiError, ApiResult, path_id};

/// Entities whose custom fields Upsales lists here but Kith does not keep.
const UNKEPT: &[&str] = &["activity", "appointment", "orderrow", "product", "project", "user", "agreement", "udo"];

const ATTRS: &[Attr] =
    &[col("id", "id", Kind::Int), col("name", "name", Kind::Text), col("sortId", "position", Kind::Int)];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[], custom_kind: None };

pub fn routes() -> Routes {
    Routes::new()
        .route("/customfields/{entity}", get(list).post(create))
        .route("/customfields/{entity}/{id}", get(one).put(update).delete(delete))
}

/// The model's kind for an Upsales entity: `Ok(None)` for one Kith keeps no fields of.
fn kind_of(entity: &str) -> ApiResult<Option<&'static str>> {
    match entity {
        "account" | "client" => Ok(Some("company")),
        "contact" => Ok(Some("contact")),
        "order" | "opportunity" => Ok(Some("deal")),
        e if UNKEPT.contains(&e) => Ok(None),
        _ => Err(ApiError::not_found("custom field entity")),
    }
}

fn kind_in(datatype: &str) -> Option<FieldKind> {
    Some(match datatype {
        "String" | "Link" | "Email" | "Time" | "User" | "Users" => FieldKind::Text,
        "Text" => FieldKind::MultiLineText,
        "Integer" | "Currency" | "Percent" | "Discount" | "Calculation" => FieldKind::Number,
        "Select" => FieldKind::Dropdown,
        "MultiSelect" => FieldKind::MultiSelect,
        "Date" => FieldKind::Date,
        "Boolean" | "Checkbox" => FieldKind::Boolean,
        _ => return None,
    })
}

fn datatype(k: FieldKind) -> &'static str {
    match k {
        FieldKind::MultiLineText => "Text",
        FieldKind::Number => "Integer",
        FieldKind::Dropdown => "Select",
        FieldKind::MultiSelect => "MultiSelect",
        FieldKind::Date | FieldKind::Anniversary => "Date",
        FieldKind::Boolean => "Boolean",
        _ => "String",
    }
}

fn render(d: &CustomFieldDefinition) -> Value {
    let default = if d.kind().has_choices() { json!(d.choices.0) } else { json!("") };
    json!({
        "id": d.id,
        "name": d.name,
        "alias": null,
        "default": default,
        "datatype": datatype(d.kind()),
        "visible": 1,
        "editable": 1,
        "locked": 0,
        "viewonly": 0,
        "query": null,
        "searchable": wire::flag(d.filterable),
        "dropdownDefault": "",
        "lookupField": 0,
        "parFieldId": null,
        "sortId": d.position,
        "obligatoryField": 0,
        "maxLength": 0,
        "roles": [],
    })
}

async fn list(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(entity): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = ListParams::parse(q.as_deref())?;
    let mut query = p.query(&RESOURCE, &Default::default())?;
    let Some(kind) = kind_of(&entity)? else { return Ok(wire::page(Vec::new(), 0, p.limit, p.offset)) };
    query = query.filter(Filter::eq("entity_kind", kind));
    if query.sorts.is_empty() {
        query = query.sort(kith_domain::query::Sort::asc("position"));
    }
    let page = st.crm.list::<CustomFieldDefinition>(actor, &query).await?;
    Ok(wire::page(page.rows.iter().map(render).collect(), page.total.unwrap_or(0), p.limit, p.offset))
}

async fn find(st: &AppState, actor: kith_domain::Actor, entity: &str, raw: &str) -> ApiResult<CustomFieldDefinition> {
    let kind = kind_of(entity)?.ok_or_else(|| ApiError::not_found("custom field"))?;
    let def = st.crm.get::<CustomFieldDefinition>(actor, path_id(raw, "custom field")?).await?;
    if def.entity_kind != kind {
        return Err(ApiError::not_found("custom field"));
    }
    Ok(def)
}

async fn one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((entity, raw)): Path<(String, String)>,
) -> ApiResult {
    Ok(wire::one(render(&find(&st, actor, &entity, &raw).await?)))
}

/// `default` as the options of a select field: an array of strings, or one text.
fn choices(b: &mut shapes::Body_) -> Option<Vec<String>> {
    match b.raw("default")? {
        Value::String(s) if s.trim().is_empty() => Some(Vec::new()),
        _ => b.strings("default", 255),
    }
}

async fn create(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(entity): Path<String>,
    body: Body,
) -> ApiResult {
    let kind =
        kind_of(&entity)?.ok_or_else(|| ApiError::validation(format!("Kith keeps no custom fields of {entity}")))?;
    let mut b = shapes::read(&st, body).await?;
    let name = b.text("name", 100).flatten();
    if name.is_none() {
        b.error("name", "is required");
    }
    let field_kind = match b.text("datatype", 50).flatten() {
        None => FieldKind::Text,
        Some(t) => kind_in(&t).unwrap_or_else(|| {
            b.error("datatype", "is not a datatype Kith keeps (String, Text, Integer, Currency, Select, …)");
            FieldKind::Text
        }),
    };
    let choices = choices(&mut b).unwrap_or_default();
    let position = b.integer("sortId").flatten();
    b.finish()?;
    let input = NewCustomField {
        entity_kind: kind.to_owned(),
        name: name.unwrap_or_default(),
        kind: field_kind,
        choices,
        position,
    };
    let def = st.crm.create_custom_field(actor, input).await?;
    Ok(wire::one(render(&def)))
}

async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((entity, raw)): Path<(String, String)>,
    body: Body,
) -> ApiResult {
    let def = find(&st, actor, &entity, &raw).await?;
    let mut b = shapes::read(&st, body).await?;
    let name = b.text("name", 100).map(Option::unwrap_or_default).unwrap_or_else(|| def.name.clone());
    let choices = choices(&mut b).unwrap_or_else(|| def.choices.0.clone());
    let position = b.integer("sortId").flatten();
    b.finish()?;
    let def = st.crm.update_custom_field(actor, def.id, &name, choices, position).await?;
    Ok(wire::one(render(&def)))
}

async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((entity, raw)): Path<(String, String)>,
) -> ApiResult {
    let def = find(&st, actor, &entity, &raw).await?;
    st.crm.delete::<CustomFieldDefinition>(actor, def.id).await?;
    Ok(wire::deleted())
}
