//! `/contact/custom_fields`, `/lead/custom_fields`, `/deal/custom_fields`: the definitions of
//! custom fields, which Sell's API only reads (`kith field` defines them). A contact field is a
//! person's (`for_contact`) or an organisation's (`for_company`); the model keeps the two apart,
//! so a field both have is listed twice, once for each.
//!
//! Types map from the model's kinds: text and external id `string`, multi-line text `text`,
//! `number`, date and anniversary `date`, dropdown `list`, multi-select `multi_select_list`,
//! `address`, boolean `bool`. Section dividers hold no values and are not listed. A choice's
//! `id` is its place in the field's list of choices, from 1.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use kith_domain::custom_fields::FieldKind;
use kith_domain::model::CustomFieldDefinition;
use kith_domain::{Actor, Crm};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::Params;
use crate::wire::{ApiError, ApiResult, collection, time};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contact/custom_fields", get(list_contact))
        .route("/lead/custom_fields", get(list_lead))
        .route("/deal/custom_fields", get(list_deal))
}

/// Sell's name for a kind of field; `None` for kinds Sell has no field for.
pub(crate) fn sell_type(kind: FieldKind) -> Option<&'static str> {
    Some(match kind {
        FieldKind::Text | FieldKind::ExternalId => "string",
        FieldKind::MultiLineText => "text",
        FieldKind::Number => "number",
        FieldKind::Date | FieldKind::Anniversary => "date",
        FieldKind::Dropdown => "list",
        FieldKind::MultiSelect => "multi_select_list",
        FieldKind::Address => "address",
        FieldKind::Boolean => "bool",
        FieldKind::SectionDivider => return None,
    })
}

fn render(d: &CustomFieldDefinition, resource_type: &str) -> Option<Value> {
    let kind = d.kind();
    let mut v = json!({
        "id": d.id,
        "name": d.name,
        "type": sell_type(kind)?,
        "created_at": time(d.created_at),
        "updated_at": time(d.updated_at),
    });
    if kind.has_choices() {
        let choices: Vec<Value> =
            d.choices.0.iter().enumerate().map(|(i, name)| json!({ "id": i + 1, "name": name })).collect();
        v["choices"] = json!(choices);
    }
    if resource_type == "contact" {
        let company = d.entity_kind == "company";
        v["for_contact"] = json!(!company);
        v["for_company"] = json!(company);
        v["for_organization"] = json!(company);
    }
    Some(v)
}

/// The definitions of a Sell resource type: a contact's are persons' and organisations'.
async fn definitions(crm: &Crm, actor: Actor, resource_type: &str) -> ApiResult<Vec<CustomFieldDefinition>> {
    let mut defs = crm.custom_fields(actor, resource_type).await?;
    if resource_type == "contact" {
        defs.extend(crm.custom_fields(actor, "company").await?);
    }
    Ok(defs)
}

/// A page of definitions, with `ids` and `name` filters and `sort_by` `id` (the default),
/// `name`, `created_at`, `updated_at`.
async fn list(st: AppState, actor: Actor, raw: Option<String>, resource_type: &'static str) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["name"])?;
    let paging = params.paging()?;
    let mut defs = definitions(&st.crm, actor, resource_type).await?;
    defs.retain(|d| sell_type(d.kind()).is_some());
    if let Some(kith_store::Filter::In { values, .. }) = params.ids()? {
        let ids: Vec<i64> = values.iter().filter_map(kith_store::Value::as_int).collect();
        defs.retain(|d| ids.contains(&d.id));
    }
    if let Some(name) = params.get("name").filter(|s| !s.is_empty()) {
        defs.retain(|d| d.name == name);
    }
    let (field, desc) = match params.get("sort_by").filter(|s| !s.is_empty()) {
        None => ("id", false),
        Some(raw_sort) => match raw_sort.rsplit_once(':') {
            Some((f, "desc")) => (f, true),
            Some((f, "asc")) => (f, false),
            _ => (raw_sort, false),
        },
    };
    match field {
        "id" => defs.sort_by_key(|d| d.id),
        "name" => defs.sort_by_key(|d| (d.name.to_lowercase(), d.id)),
        "created_at" => defs.sort_by_key(|d| (d.created_at, d.id)),
        "updated_at" => defs.sort_by_key(|d| (d.updated_at, d.id)),
        _ => return Err(ApiError::bad_request("sort_by must be one of id, name, created_at, updated_at")),
    }
    if desc {
        defs.reverse();
    }
    let start = ((paging.page - 1) * paging.per_page) as usize;
    let mut page: Vec<CustomFieldDefinition> =
        defs.into_iter().skip(start).take(paging.per_page as usize + 1).collect();
    let links = paging.links(&format!("/v2/{resource_type}/custom_fields"), &mut page);
    Ok(collection("custom_field", page.iter().filter_map(|d| render(d, resource_type)).collect(), links))
}

async fn list_contact(State(st): State<AppState>, Caller(a): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    list(st, a, raw, "contact").await
}
async fn list_lead(State(st): State<AppState>, Caller(a): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    list(st, a, raw, "lead").await
}
async fn list_deal(State(st): State<AppState>, Caller(a): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    list(st, a, raw, "deal").await
}
