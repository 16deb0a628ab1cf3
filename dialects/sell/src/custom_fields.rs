//! `/contact/custom_fields`, `/lead/custom_fields`, `/deal/custom_fields`: the definitions of
//! custom fields, which Sell's API only reads (`kith field` defines them). A contact field is a
//! person's (`for_contact`) or an organisation's (`for_company`); the model keeps the two apart,
//! so a field both have is listed twice, once for each.
//!
//! Types map from the model's kinds: text and external id `string`, multi-line text `text`,
//! `number`, date and anniversary `date`, dropdown `list`, multi-select `multi_select_list`,
//! `address`, boolean `bool`. Section dividers hold no values and are not listed. A choice's
//! `id` is its place in the field's list of choices, from 1.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::custom_fields::FieldKind;
use kith_domain::model::CustomFieldDefinition;
use kith_domain::query::{Dir, Field, Filter, Sort};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::Params;
use crate::wire::{ApiError, ApiResult, collection, time};

pub fn routes() -> Routes {
    Routes::new()
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
/// A page of definitions, with `ids` and `name` filters and `sort_by` `id` (the default),
/// `name`, `created_at`, `updated_at`.
async fn list(st: AppState, actor: Actor, raw: Option<String>, resource_type: &'static str) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["name"])?;
    let paging = params.paging()?;
    // A contact's fields are those of persons and of organisations; section dividers are not
    // shown.
    let kinds: Vec<kith_domain::query::Value> = match resource_type {
        "contact" => vec!["contact".into(), "company".into()],
        other => vec![other.into()],
    };
    let mut q = paging
        .query()
        .filter(Filter::In { field: Field::col("entity_kind"), values: kinds })
        .filter(Filter::cmp("field_type", kith_domain::query::Op::Ne, FieldKind::SectionDivider.name()));
    if let Some(ids) = params.ids()? {
        q = q.filter(ids);
    }
    if let Some(name) = params.get("name").filter(|s| !s.is_empty()) {
        q = q.filter(Filter::eq("name", name));
    }
    let (field, dir) = match params.get("sort_by").filter(|s| !s.is_empty()) {
        None => ("id", Dir::Asc),
        Some(raw_sort) => match raw_sort.rsplit_once(':') {
            Some((f, "desc")) => (f, Dir::Desc),
            Some((f, "asc")) => (f, Dir::Asc),
            _ => (raw_sort, Dir::Asc),
        },
    };
    if !matches!(field, "id" | "name" | "created_at" | "updated_at") {
        return Err(ApiError::bad_request("sort_by must be one of id, name, created_at, updated_at"));
    }
    // Ties go by id in the same direction.
    for column in [field, "id"] {
        q = q.sort(Sort { field: Field::col(column), dir });
    }
    let mut page = st.crm.list::<CustomFieldDefinition>(actor, &q).await?.rows;
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
