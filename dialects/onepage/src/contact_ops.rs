//! Operations on one contact (`/contacts/{id}/<operation>`), bulk delete and the cascade listing.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::actions::stream_order;
use kith_domain::model::{Action, Contact, User};
use kith_domain::{Actor, CompanyLink, Crm, Lookups};
use kith_http::AppState;
use kith_store::{Field, Filter, ListQuery, Op, Page, Sort, Value as SV};
use serde_json::{Value, json};

use crate::actions::render_action;
use crate::auth::Caller;
use crate::params::{Params, path_id, read_input};
use crate::wire::{ApiError, ApiResult, ok, parse_id};

/// Contacts as `{contact, next_actions, next_action, queued_actions}`, with the caller's open actions.
pub async fn contact_items(crm: &Crm, actor: Actor, lk: &Lookups, contacts: &[Contact]) -> ApiResult<Vec<Value>> {
    let rendered = crate::contacts::render_contacts(crm, actor, lk, contacts).await?;
    let ids: Vec<SV> = contacts.iter().map(|c| SV::Int(c.id)).collect();
    let mut actions = if ids.is_empty() {
        Vec::new()
    } else {
        let f = Filter::All(vec![
            Filter::In { field: Field::col("contact_id"), values: ids },
            Filter::eq("assignee_id", actor.user_id),
            Filter::cmp("status", Op::Ne, "done"),
        ]);
        crm.all::<Action>(actor, Some(f)).await?
    };
    actions.sort_by(stream_order);
    Ok(contacts
        .iter()
        .zip(rendered)
        .map(|(c, rendered)| {
            let mine: Vec<&Action> = actions.iter().filter(|a| a.contact_id == Some(c.id)).collect();
            let next: Vec<Value> = mine.iter().filter(|a| a.is_next()).map(|a| render_action(a)).collect();
            let queued: Vec<Value> = mine.iter().filter(|a| a.is_queued()).map(|a| render_action(a)).collect();
            let mut item = json!({ "contact": rendered, "next_actions": next, "queued_actions": queued });
            if let Some(first) = next.first() {
                item["next_action"] = first.clone();
            }
            item
        })
        .collect())
}

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
    Ok(ok(
        StatusCode::OK,
        json!({
            "contacts": items,
            "total_count": total,
            "page": 1,
            "per_page": CASCADE_BATCH,
            "max_page": total.div_ceil(CASCADE_BATCH).max(1),
        }),
    ))
}

pub async fn cascade(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    cascade_after(&st, actor, None).await
}

pub async fn cascade_from(State(st): State<AppState>, Caller(actor): Caller, Path(last): Path<String>) -> ApiResult {
    let last = parse_id(&last).ok_or_else(|| ApiError::bad_request("last_id is not a valid id"))?;
    cascade_after(&st, actor, Some(last)).await
}
