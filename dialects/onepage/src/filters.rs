//! Saved filters: `/filters`, `/filters/{id}` and `/contacts/filters/{id}` (the matching contacts).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::actions::{StreamOf, StreamQuery, stream_members};
use kith_domain::model::{Contact, SavedFilter};
use kith_domain::query::{Filter, ListQuery, Page, Sort};
use kith_domain::{Actor, Crm};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{Paging, Params, path_id};
use crate::wire::{ApiError, ApiResult, hex_id, ok};

/// Saved filters' contact pages are fixed at 25, as on OnePage.
const FILTERED_PER_PAGE: u64 = 25;

fn render_filter(f: &SavedFilter) -> Value {
    json!({
        "id": hex_id(f.id),
        "name": f.name,
        "conditions": f.conditions().iter().map(|c| json!([c.field, c.op, c.value])).collect::<Vec<_>>(),
    })
}

pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let paging = Params::parse(raw.as_deref()).paging()?;
    let q = paging.query().filter(Filter::eq("entity_kind", "contact")).sort(Sort::asc("name"));
    let page = st.crm.list::<SavedFilter>(actor, &q).await?;
    let items = page.rows.iter().map(|f| json!({ "filter": render_filter(f) })).collect();
    Ok(ok(StatusCode::OK, paging.envelope("filters", items, page.total.unwrap_or(0))))
}

async fn saved(crm: &Crm, actor: Actor, id: &str) -> ApiResult<SavedFilter> {
    Ok(crm.get::<SavedFilter>(actor, path_id(id, "filter")?).await?)
}

/// The contacts a saved filter matches, in Action Stream order: those with a next action of
/// the caller first (as the stream orders them), then the rest by name.
async fn matching(st: &AppState, actor: Actor, filter: &SavedFilter, paging: Paging) -> ApiResult {
    let f = st.crm.saved_filter_query(actor, filter).await?;
    let total = st.crm.count_contacts(actor, f.clone()).await?;
    let of = StreamOf::User(actor.user_id);
    let stream_query = StreamQuery { contacts: Some(f.clone()), ..StreamQuery::new(of) };
    let (offset, limit) = (paging.offset(), paging.per_page);
    let stream = st.crm.action_stream(actor, &stream_query, offset, limit).await?;
    let in_stream = stream.total.unwrap_or(0);
    let mut contacts: Vec<Contact> = stream.rows.into_iter().map(|e| e.contact).collect();
    if (contacts.len() as u64) < limit {
        let rest_offset = offset.saturating_sub(in_stream);
        let q = ListQuery::new(Page::Offset { offset: rest_offset, limit: limit - contacts.len() as u64 })
            .filter(f)
            .filter(Filter::Not(Box::new(stream_members(of))))
            .sort(Sort::asc("last_name"))
            .sort(Sort::asc("first_name"));
        contacts.extend(st.crm.list::<Contact>(actor, &q).await?.rows);
    }
    let lk = st.crm.contact_lookups(actor).await?;
    let rendered = crate::render::contact::render_contacts(&st.crm, actor, &lk, &contacts).await?;
    let mut data = paging.envelope("contacts", rendered.into_iter().map(|c| json!({ "contact": c })).collect(), total);
    data["filter"] = render_filter(filter);
    Ok(ok(StatusCode::OK, data))
}

pub async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let filter = saved(&st.crm, actor, &id).await?;
    let paging = Params::parse(raw.as_deref()).paging()?;
    matching(&st, actor, &filter, paging).await
}

/// `GET /contacts/filters/{id}`: 25 per page; `per_page` is accepted and ignored.
pub async fn contacts(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let filter = saved(&st.crm, actor, &id).await?;
    let params = Params::parse(raw.as_deref());
    let page = match params.get("page") {
        None => 1,
        Some(p) => p
            .parse::<u64>()
            .ok()
            .filter(|p| (1..=1_000_000_000).contains(p))
            .ok_or_else(|| ApiError::bad_request("page must be a positive integer"))?,
    };
    matching(&st, actor, &filter, Paging { page, per_page: FILTERED_PER_PAGE }).await
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/filters", routing::get(list))
        .route("/filters/{id}", routing::get(get))
        .route("/contacts/filters/{id}", routing::get(contacts))
}
