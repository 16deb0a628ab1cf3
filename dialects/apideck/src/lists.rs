//! `/crm/lists`: the account's saved contact filters (OnePage's and Sell's filters) as dynamic
//! lists of contacts. A list's members are the contacts its conditions match now, read from the
//! database a keyset page at a time.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use kith_domain::model::{Contact, SavedFilter};
use kith_domain::query::{Dir, Filter, ListQuery, Page};
use kith_http::{AppState, Routes};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{self, ListParams, ListSpec, by};
use crate::wire::{ApiError, ApiResult, envelope, id, opt_id, time};

const LISTS: ListSpec = ListSpec { resource: "lists", filters: &[], sorts: &[] };
const MEMBERS: ListSpec = ListSpec { resource: "list-members", filters: &[], sorts: &[] };

pub fn routes() -> Routes {
    Routes::new().route("/lists", get(list)).route("/lists/{id}", get(one)).route("/lists/{id}/members", get(members))
}

fn contact_lists() -> Filter {
    Filter::eq("entity_kind", "contact")
}

fn render(f: &SavedFilter, record_count: Option<u64>) -> Value {
    let conditions: Vec<Value> = f.conditions().iter().map(|c| json!([c.field, c.op, c.value])).collect();
    json!({
        "id": id(f.id),
        "name": f.name,
        "description": null,
        "type": "dynamic",
        "is_dynamic": true,
        "visibility": "shared",
        "owner_id": opt_id(f.owner_id),
        "filter_criteria": { "type": "and", "conditions": conditions },
        "record_count": record_count,
        "object_type": "contacts",
        "is_favorite": false,
        "is_default": false,
        "is_system": false,
        "custom_fields": [],
        "tags": [],
        "updated_at": time(f.updated_at),
        "created_at": time(f.created_at),
    })
}

/// A saved contact filter of the account by its path id.
async fn find(st: &AppState, actor: kith_domain::Actor, raw: &str) -> ApiResult<SavedFilter> {
    let list_id = crate::wire::path_id(raw, "list")?;
    match st.crm.find::<SavedFilter>(actor, list_id).await? {
        Some(f) if f.entity_kind == "contact" => Ok(f),
        _ => Err(ApiError::not_found("list")),
    }
}

async fn list(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = ListParams::parse(q.as_deref(), &LISTS)?;
    let mut query = p.query(&st, actor, LISTS.resource, vec![by("created_at", Dir::Asc)]).await?;
    query.filter = Some(contact_lists());
    let page = st.crm.list::<SavedFilter>(actor, &query).await?;
    let previous = p.previous::<SavedFilter>(&st, actor, &query).await?;
    let rows = page.rows.iter().map(|f| render(f, None)).collect();
    params::answer(&st, actor, &headers, &p, LISTS.resource, rows, (page.next, previous)).await
}

async fn one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let f = find(&st, actor, &raw).await?;
    let matching = st.crm.saved_filter_query(actor, &f).await?;
    let count = ListQuery::new(Page::Offset { offset: 0, limit: 1 }).filter(matching).with_total();
    let total = st.crm.list::<Contact>(actor, &count).await?.total;
    let data = params::sparse(render(&f, total), c.fields.as_deref());
    Ok(envelope(StatusCode::OK, LISTS.resource, "one", data, c.raw))
}

async fn members(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = ListParams::parse(q.as_deref(), &MEMBERS)?;
    let f = find(&st, actor, &raw).await?;
    // The cursor and links name this list's members.
    let path = format!("lists/{}/members", f.id);
    let mut query = p.query(&st, actor, &path, vec![by("created_at", Dir::Asc)]).await?;
    query.filter = Some(st.crm.saved_filter_query(actor, &f).await?);
    let page = st.crm.list::<Contact>(actor, &query).await?;
    let previous = p.previous::<Contact>(&st, actor, &query).await?;
    let rows = page.rows.iter().map(|c| json!({ "id": id(c.id), "object_type": "contacts" })).collect();
    params::answer_at(&st, actor, &headers, &p, (MEMBERS.resource, &path), rows, (page.next, previous)).await
}
