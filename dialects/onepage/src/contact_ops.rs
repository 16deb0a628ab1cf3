//! Operations on one contact (`/contacts/{id}/<operation>`), bulk delete and the cascade listing.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::model::{Contact, User};
use kith_domain::query::{Filter, ListQuery, Op, Page, Sort};
use kith_domain::{Actor, CompanyLink};
use kith_http::AppState;
use serde_json::json;

use crate::auth::Caller;
use crate::params::{Params, path_id, read_input};
use crate::render::contact::contact_items;
use crate::wire::{ApiError, ApiResult, ok, parse_id};

async fn answer(st: &AppState, actor: Actor, contact: &Contact) -> ApiResult {
    let lk = st.crm.contact_lookups(actor).await?;
    let item = contact_items(&st.crm, actor, &lk, std::slice::from_ref(contact)).await?;
    Ok(ok(StatusCode::OK, item.into_iter().next().unwrap_or_else(|| json!({}))))
}

/// Changes a contact's writable fields through the shared contact rules.
async fn change(st: &AppState, actor: Actor, id: &str, edit: impl FnOnce(&mut kith_domain::ContactDraft)) -> ApiResult {
    let id = path_id(id, "contact")?;
    let contact = st.crm.get::<Contact>(actor, id).await?;
    let mut draft = contact.draft();
    edit(&mut draft);
    let contact = st.crm.update_contact(actor, id, draft).await?;
    answer(st, actor, &contact).await
}

pub async fn assign_tag(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult {
    let tag = tag.trim().to_owned();
    if tag.is_empty() || tag.chars().count() > 100 {
        return Err(ApiError::bad_request("the tag name must have 1 to 100 characters"));
    }
    change(&st, actor, &id, |d| {
        if !d.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
            d.tags.push(tag);
        }
    })
    .await
}

pub async fn unassign_tag(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult {
    let tag = tag.trim().to_owned();
    change(&st, actor, &id, |d| d.tags.retain(|t| !t.eq_ignore_ascii_case(&tag))).await
}

pub async fn change_status(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((id, status)): Path<(String, String)>,
) -> ApiResult {
    let id = path_id(&id, "contact")?;
    let status = path_id(&status, "status")?;
    let contact = st.crm.change_contact_status(actor, id, status).await?;
    answer(&st, actor, &contact).await
}

pub async fn change_owner(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((id, owner)): Path<(String, String)>,
) -> ApiResult {
    let owner = st.crm.get::<User>(actor, path_id(&owner, "user")?).await?;
    change(&st, actor, &id, |d| d.owner_id = Some(owner.id)).await
}

pub async fn star(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    change(&st, actor, &id, |d| d.starred = Some(true)).await
}

pub async fn unstar(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    change(&st, actor, &id, |d| d.starred = Some(false)).await
}

async fn close(st: AppState, actor: Actor, id: String, body: Body, force: bool) -> ApiResult {
    let id = path_id(&id, "contact")?;
    let mut input = read_input(&st, body).await?;
    let comment = input.text("comment", 140).flatten();
    input.finish()?;
    let contact = st.crm.close_sales_cycle(actor, id, comment, force).await?;
    answer(&st, actor, &contact).await
}

pub async fn close_sales_cycle(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    close(st, actor, id, body, false).await
}

pub async fn force_close_sales_cycle(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    close(st, actor, id, body, true).await
}

pub async fn reopen_sales_cycle(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let contact = st.crm.reopen_sales_cycle(actor, path_id(&id, "contact")?).await?;
    answer(&st, actor, &contact).await
}

/// Takes the contact out of its company, optionally into the company named in the body.
pub async fn split(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, body: Body) -> ApiResult {
    let mut input = read_input(&st, body).await?;
    let name = input.text("company_name", kith_domain::companies::COMPANY_NAME_MAX).flatten();
    input.finish()?;
    change(&st, actor, &id, |d| d.company = name.map_or(CompanyLink::None, CompanyLink::Name)).await
}

/// `DELETE /contacts/delete?ids=a,b`: all or nothing — an unknown id is a 404 and deletes none.
pub async fn delete_many(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let Some(list) = params.get("ids") else {
        return Err(ApiError::bad_request("ids is required: a comma-separated list of contact ids"));
    };
    let mut ids = Vec::new();
    for raw in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let id = parse_id(raw).ok_or_else(|| ApiError::bad_request(format!("ids: {raw} is not a valid id")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::bad_request("ids must list 1 to 100 contact ids"));
    }
    st.crm.delete_contacts(actor, &ids).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

const CASCADE_BATCH: u64 = 100;

/// The caller's contacts in batches of 100, each batch after the last id of the one before.
async fn cascade_after(st: &AppState, actor: Actor, last: Option<i64>) -> ApiResult {
    let mut q = ListQuery::new(Page::Offset { offset: 0, limit: CASCADE_BATCH })
        .filter(Filter::eq("owner_id", actor.user_id))
        .sort(Sort::asc("id"))
        .with_total();
    if let Some(last) = last {
        q = q.filter(Filter::cmp("id", Op::Gt, last));
    }
    let page = st.crm.list::<Contact>(actor, &q).await?;
    let lk = st.crm.contact_lookups(actor).await?;
    let items = contact_items(&st.crm, actor, &lk, &page.rows).await?;
    let total = page.total.unwrap_or(0);
    let paging = crate::params::Paging { page: 1, per_page: CASCADE_BATCH };
    Ok(ok(StatusCode::OK, paging.envelope("contacts", items, total)))
}

pub async fn cascade(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    cascade_after(&st, actor, None).await
}

pub async fn cascade_from(State(st): State<AppState>, Caller(actor): Caller, Path(last): Path<String>) -> ApiResult {
    let last = parse_id(&last).ok_or_else(|| ApiError::bad_request("last_id is not a valid id"))?;
    cascade_after(&st, actor, Some(last)).await
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/contacts/delete", routing::delete(delete_many))
        .route("/contacts/cascade", routing::get(cascade))
        .route("/contacts/cascade/{last_id}", routing::get(cascade_from))
        .route("/contacts/{id}/assign_tag/{tag}", routing::put(assign_tag))
        .route("/contacts/{id}/unassign_tag/{tag}", routing::put(unassign_tag))
        .route("/contacts/{id}/change_status/{status_id}", routing::put(change_status))
        .route("/contacts/{id}/change_owner/{owner_id}", routing::put(change_owner))
        .route("/contacts/{id}/star", routing::put(star))
        .route("/contacts/{id}/unstar", routing::put(unstar))
        .route("/contacts/{id}/close_sales_cycle", routing::put(close_sales_cycle))
        .route("/contacts/{id}/force_close_sales_cycle", routing::put(force_close_sales_cycle))
        .route("/contacts/{id}/reopen_sales_cycle", routing::put(reopen_sales_cycle))
        .route("/contacts/{id}/split", routing::put(split))
}
