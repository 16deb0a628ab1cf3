//! `/contacts` and `/contacts/{id}`.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::model::{Address, Contact, CustomFieldDefinition};
use kith_domain::{Actor, CompanyLink, ContactDraft, Crm, Lookups};
use kith_http::AppState;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::contact_query::{flag, list_query};
use crate::input::{Input, channels};
use crate::params::{path_id, read_input};
use crate::render::contact::{contact_data, render_contacts};
use crate::wire::{ApiError, ApiResult, ok, parse_id};

const TITLES: &[&str] = &["Mr", "Mrs", "Ms"];
const URL_TYPES: &[&str] = &["website", "blog", "twitter", "linkedin", "xing", "facebook", "google_plus", "other"];
const PHONE_TYPES: &[&str] = &["work", "mobile", "home", "direct", "fax", "company", "other"];
const EMAIL_TYPES: &[&str] = &["work", "home", "other"];
const ADDRESS_TYPES: &[&str] = &["work", "home", "billing", "delivery", "other"];

pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = kith_http::query_pairs(raw.as_deref());
    let lk = st.crm.contact_lookups(actor).await?;
    let (mut q, page, per_page) = list_query(&params, &lk, actor.user_id)?;
    let scoped = crate::params::Params::parse(raw.as_deref());
    for f in crate::contact_query::contact_scope(&st.crm, actor, &scoped).await? {
        q = q.filter(f);
    }
    let result = st.crm.list::<Contact>(actor, &q).await?;
    let total = result.total.unwrap_or(0);
    let items = render_contacts(&st.crm, actor, &lk, &result.rows).await?;
    let mut contacts: Vec<Value> = items.into_iter().map(|c| json!({ "contact": c })).collect();
    with_related(&st.crm, actor, scoped.get("fields"), &result.rows, &mut contacts).await?;
    Ok(ok(StatusCode::OK, crate::params::Paging { page, per_page }.envelope("contacts", contacts, total)))
}

/// `fields=deals(all),notes(all),calls(all),meetings(all),pinned_attachments(all)`: full related
/// records next to each contact.
async fn with_related(
    crm: &Crm,
    actor: Actor,
    fields: Option<&str>,
    contacts: &[Contact],
    items: &mut [Value],
) -> ApiResult<()> {
    use crate::render::engagement::{Kind, by_contact};
    let Some(fields) = fields else { return Ok(()) };
    let ids: Vec<i64> = contacts.iter().map(|c| c.id).collect();
    for part in fields.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let name = part.strip_suffix("(all)").unwrap_or(part);
        let mut related = match name {
            "deals" => crate::render::deal::deals_by_contact(crm, actor, &ids).await?,
            "notes" => by_contact(crm, actor, Kind::Note, &ids).await?,
            "calls" => by_contact(crm, actor, Kind::Call, &ids).await?,
            "meetings" => by_contact(crm, actor, Kind::Meeting, &ids).await?,
            "pinned_attachments" => {
                let mut out: HashMap<i64, Vec<Value>> = HashMap::new();
                let page = crm.pinned_attachments(actor, &ids, u64::MAX >> 2, 0).await?;
                for a in &page.rows {
                    if let Some(c) = a.contact_id {
                        out.entry(c).or_default().push(crate::render::attachment::render_attachment(crm, a));
                    }
                }
                out
            }
            _ => {
                return Err(ApiError::bad_request(
                    "fields takes deals(all), notes(all), calls(all), meetings(all) or pinned_attachments(all)",
                ));
            }
        };
        for (c, item) in contacts.iter().zip(items.iter_mut()) {
            item[name] = Value::Array(related.remove(&c.id).unwrap_or_default());
        }
    }
    Ok(())
}

pub async fn get(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let contact = st.crm.get::<Contact>(actor, path_id(&id, "contact")?).await?;
    let lk = st.crm.contact_lookups(actor).await?;
    Ok(ok(StatusCode::OK, contact_data(&st.crm, actor, &lk, &contact).await?))
}

pub async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut input = read_input(&st, body).await?;
    let lk = st.crm.contact_lookups(actor).await?;
    let draft = draft_from(&mut input, ContactDraft::default(), &lk, Mode::Create);
    input.finish()?;
    let contact = st.crm.create_contact(actor, draft).await?;
    Ok(ok(StatusCode::CREATED, contact_data(&st.crm, actor, &lk, &contact).await?))
}

pub async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "contact")?;
    let params = kith_http::query_pairs(raw.as_deref());
    let partial = flag(&params, "partial")?;
    let mut input = read_input(&st, body).await?;
    let existing = st.crm.get::<Contact>(actor, id).await?;
    let lk = st.crm.contact_lookups(actor).await?;
    let (base, mode) =
        if partial { (existing.draft(), Mode::Partial) } else { (ContactDraft::default(), Mode::Replace) };
    let draft = draft_from(&mut input, base, &lk, mode);
    input.finish()?;
    let contact = st.crm.update_contact(actor, id, draft).await?;
    Ok(ok(StatusCode::OK, contact_data(&st.crm, actor, &lk, &contact).await?))
}

pub async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = path_id(&id, "contact")?;
    let params = kith_http::query_pairs(raw.as_deref());
    let undo = flag(&params, "undo")?;
    if undo {
        let contact = st.crm.restore_contact(actor, id).await?;
        let lk = st.crm.contact_lookups(actor).await?;
        return Ok(ok(StatusCode::OK, contact_data(&st.crm, actor, &lk, &contact).await?));
    }
    st.crm.delete_contact(actor, id).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    /// A full update: what is not sent is cleared.
    Replace,
    Partial,
}

/// Applies the body's fields to `draft`. Errors are collected in `input`.
fn draft_from(input: &mut Input, mut d: ContactDraft, lk: &Lookups, mode: Mode) -> ContactDraft {
    if let Some(v) = input.one_of("title", TITLES) {
        d.salutation = v;
    }
    if let Some(v) = input.text("first_name", 25) {
        d.first_name = v;
    }
    if let Some(v) = input.text("last_name", 25) {
        d.last_name = v;
    }
    if let Some(v) = input.text("job_title", 1000) {
        d.job_title = v;
    }
    if let Some(v) = input.text("background", 10_240) {
        d.background = v;
    }
    if let Some(v) = input.boolean("starred") {
        d.starred = Some(v);
    } else if mode == Mode::Replace {
        // A full update clears the caller's star when it is left out, like every other field.
        d.starred = Some(false);
    }
    if let Some(v) = channels(input, "urls", URL_TYPES) {
        d.urls = v;
    }
    if let Some(v) = channels(input, "phones", PHONE_TYPES) {
        d.phones = v;
    }
    if let Some(v) = channels(input, "emails", EMAIL_TYPES) {
        d.emails = v;
    }
    if let Some(items) = input.objects("address_list", 2) {
        d.addresses = items.iter().enumerate().filter_map(|(i, a)| address(input, i, a)).collect();
    }
    if let Some(v) = input.id("status_id") {
        // The contact rules check that it is a status of the account.
        d.status_id = v;
    }
    if let Some(v) = input.id("owner_id") {
        d.owner_id = v;
    }
    if let Some(v) = input.text("lead_source_id", 100) {
        match v {
            None => d.lead_source_id = None,
            Some(key) => match lk.lead_sources.values().find(|s| s.key == key || parse_id(&key) == Some(s.id)) {
                Some(s) => d.lead_source_id = Some(s.id),
                None => input.error("lead_source_id", "no such lead source"),
            },
        }
    }
    if let Some(tags) = input.strings("tags", 100) {
        d.tags = tags;
    }
    let name = input.text("company_name", kith_domain::companies::COMPANY_NAME_MAX);
    let id = if mode == Mode::Create { None } else { input.id("company_id") };
    match (name, id) {
        (Some(Some(n)), _) => d.company = CompanyLink::Name(n),
        (_, Some(Some(id))) => d.company = CompanyLink::Id(id),
        (Some(None), _) | (_, Some(None)) => d.company = CompanyLink::None,
        (None, None) if mode == Mode::Replace => d.company = CompanyLink::None,
        (None, None) => {}
    }
    if let Some(items) = input.objects("custom_fields", 200) {
        let mut values = if mode == Mode::Partial { d.custom_fields.clone() } else { BTreeMap::new() };
        for (i, item) in items.iter().enumerate() {
            match custom_field_ref(item, &lk.custom_fields) {
                Some(def) => {
                    values.insert(def.id, item.get("value").cloned().unwrap_or(Value::Null));
                }
                None => input.error(format!("custom_fields[{i}].custom_field"), "no such custom field"),
            }
        }
        d.custom_fields = values;
    }
    d
}

/// A custom field referred to by `{custom_field: {id}}` or `{custom_field: {name}}`.
fn custom_field_ref<'a>(
    item: &Map<String, Value>,
    defs: &'a [CustomFieldDefinition],
) -> Option<&'a CustomFieldDefinition> {
    let cf = item.get("custom_field")?;
    if let Some(id) = cf.get("id").and_then(Value::as_str).and_then(parse_id) {
        return defs.iter().find(|d| d.id == id);
    }
    let name = cf.get("name").and_then(Value::as_str)?;
    defs.iter().find(|d| d.name.eq_ignore_ascii_case(name.trim()))
}

fn address(input: &mut Input, i: usize, a: &Map<String, Value>) -> Option<Address> {
    let mut text = |k: &str, max: usize| match a.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().chars().count() <= max => {
            Some(s.trim().to_owned()).filter(|s| !s.is_empty())
        }
        Some(Value::String(_)) => {
            input.error(format!("address_list[{i}].{k}"), format!("is too long (maximum is {max} characters)"));
            None
        }
        Some(_) => {
            input.error(format!("address_list[{i}].{k}"), "must be a string");
            None
        }
    };
    let addr = Address {
        address: text("address", 500),
        city: text("city", 200),
        state: text("state", 200),
        zip_code: text("zip_code", 50),
        country_code: text("country_code", 2).map(|c| c.to_ascii_uppercase()),
        kind: text("type", 20),
    };
    if let Some(k) = &addr.kind
        && !ADDRESS_TYPES.contains(&k.as_str())
    {
        input.error(format!("address_list[{i}].type"), format!("must be one of: {}", ADDRESS_TYPES.join(", ")));
        return None;
    }
    Some(addr)
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/contacts", routing::get(list).post(create))
        .route("/contacts/{id}", routing::get(get).put(update).patch(update).delete(delete))
}
