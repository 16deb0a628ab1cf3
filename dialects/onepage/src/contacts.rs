//! `/contacts` and `/contacts/{id}`.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::contacts::DealStats;
use kith_domain::custom_fields::{FieldKind, custom_filter};
use kith_domain::model::{Address, Contact, CustomFieldDefinition};
use kith_domain::{Actor, CompanyLink, ContactDraft, Crm, Lookups};
use kith_http::AppState;
use kith_store::{Field, Filter, ListQuery, Op, Page, Sort, Value as SV};
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::input::{Input, channels};
use crate::params::{parse_time, path_id, read_input};
use crate::wire::{ApiError, ApiResult, hex_id, ok, parse_id, time};

const TITLES: &[&str] = &["Mr", "Mrs", "Ms"];
const URL_TYPES: &[&str] = &["website", "blog", "twitter", "linkedin", "xing", "facebook", "google_plus", "other"];
const PHONE_TYPES: &[&str] = &["work", "mobile", "home", "direct", "fax", "company", "other"];
const EMAIL_TYPES: &[&str] = &["work", "home", "other"];
const ADDRESS_TYPES: &[&str] = &["work", "home", "billing", "delivery", "other"];
const DEFAULT_PER_PAGE: u64 = 10;
const MAX_PER_PAGE: u64 = 100;

/// OnePage's names for the model's custom-field kinds. OnePage has no address or yes/no
/// fields: those (made through other dialects) read as text.
pub fn field_type_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text | FieldKind::Boolean => "single_line_text",
        FieldKind::Address => "multi_line_text",
        FieldKind::Dropdown => "select_box",
        FieldKind::MultiSelect => "multiple_choice",
        other => other.name(),
    }
}

pub fn render_custom_field(def: &CustomFieldDefinition) -> Value {
    json!({
        "id": hex_id(def.id),
        "name": def.name,
        "type": field_type_name(def.kind()),
        "position": def.position,
        "choices": def.choices.0,
    })
}

fn render_address(a: &Address) -> Value {
    json!({
        "address": a.address.clone().unwrap_or_default(),
        "city": a.city.clone().unwrap_or_default(),
        "state": a.state.clone().unwrap_or_default(),
        "zip_code": a.zip_code.clone().unwrap_or_default(),
        "country_code": a.country_code.clone().unwrap_or_default(),
        "type": a.kind.clone().unwrap_or_else(|| "work".into()),
    })
}

/// Renders a contact as `viewer` sees it (stars are per user).
pub fn render_contact(c: &Contact, viewer: i64, lk: &Lookups, stats: DealStats, company_size: u64) -> Value {
    let status = c.status_id.and_then(|id| lk.statuses.get(&id));
    let source = c.lead_source_id.and_then(|id| lk.lead_sources.get(&id));
    let custom: Vec<Value> = lk
        .custom_fields
        .iter()
        .filter_map(|def| {
            let v = c.custom_fields.0.get(&def.id.to_string())?;
            Some(json!({ "custom_field": render_custom_field(def), "value": crate::input::value_text(v) }))
        })
        .collect();
    let letter = c
        .last_name
        .as_deref()
        .or(c.company_name.as_deref())
        .and_then(|s| s.chars().next())
        .map(|ch| ch.to_lowercase().to_string())
        .unwrap_or_default();
    let mut v = json!({
        "id": hex_id(c.id),
        "title": c.salutation,
        "first_name": c.first_name.clone().unwrap_or_default(),
        "last_name": c.last_name.clone().unwrap_or_default(),
        "job_title": c.job_title.clone().unwrap_or_default(),
        "starred": c.starred_by(viewer),
        "photo_url": c.photo_url.clone().unwrap_or_default(),
        "company_id": c.company_id.map(hex_id),
        "company_name": c.company_name.clone().unwrap_or_default(),
        "urls": c.urls.0,
        "phones": c.phones.0,
        "emails": c.emails.0,
        "address_list": c.addresses.0.iter().map(render_address).collect::<Vec<_>>(),
        "status": status.map(|s| s.name.clone()).unwrap_or_default(),
        "status_id": c.status_id.map(hex_id),
        "tags": c.tags.0,
        "lead_source_id": source.map(|s| s.key.clone()),
        "lead_source": source.map(|s| s.name.clone()),
        "background": c.background.clone().unwrap_or_default(),
        "owner_id": hex_id(c.owner_id),
        "custom_fields": custom,
        "letter": letter,
        "pending_deal": stats.pending > 0,
        "total_pendings": stats.pending_value,
        "total_deals_count": stats.total,
        "company_size": company_size,
        "sales_closed_for": c.closed_sales.0.iter().map(|s| hex_id(s.user_id)).collect::<Vec<_>>(),
        "closed_sales": c.closed_sales.0.iter().map(|s| json!({
            "user_id": hex_id(s.user_id),
            "closed_at": s.closed_at.timestamp(),
            "comment": s.comment.clone().unwrap_or_default(),
        })).collect::<Vec<_>>(),
        "created_at": time(c.created_at),
        "modified_at": time(c.updated_at),
    });
    // The document types these as (non-null) strings: absent ones are left out.
    if let Value::Object(map) = &mut v {
        for key in ["title", "company_id", "status_id", "lead_source_id", "lead_source"] {
            if map.get(key).is_some_and(Value::is_null) {
                map.remove(key);
            }
        }
    }
    v
}

/// Renders contacts with their deal figures and company sizes, loading those in batches.
pub async fn render_contacts(crm: &Crm, actor: Actor, lk: &Lookups, contacts: &[Contact]) -> ApiResult<Vec<Value>> {
    let ids: Vec<i64> = contacts.iter().map(|c| c.id).collect();
    let stats = crm.deal_stats(actor, &ids).await?;
    let companies: Vec<i64> = contacts.iter().filter_map(|c| c.company_id).collect();
    let sizes = crm.company_sizes(actor, &companies).await?;
    Ok(contacts
        .iter()
        .map(|c| {
            let size = c.company_id.and_then(|id| sizes.get(&id).copied()).unwrap_or(0);
            render_contact(c, actor.user_id, lk, stats.get(&c.id).copied().unwrap_or_default(), size)
        })
        .collect())
}

pub(crate) async fn contact_data(crm: &Crm, actor: Actor, lk: &Lookups, contact: &Contact) -> ApiResult<Value> {
    let rendered = render_contacts(crm, actor, lk, std::slice::from_ref(contact)).await?;
    Ok(json!({ "contact": rendered.into_iter().next().unwrap_or(Value::Null) }))
}

fn parse_bool(key: &str, raw: &str) -> ApiResult<bool> {
    crate::params::parse_flag(key, raw)
}

/// A boolean query flag, false when absent.
fn flag(params: &[(String, String)], key: &str) -> ApiResult<bool> {
    params.iter().find(|(k, _)| k == key).map_or(Ok(false), |(_, v)| parse_bool(key, v))
}

fn query_id(key: &str, raw: &str) -> ApiResult<i64> {
    parse_id(raw.trim()).ok_or_else(|| ApiError::bad_request(format!("{key} is not a valid id")))
}

/// Builds the list query from OnePage's documented parameters.
pub(crate) fn list_query(params: &[(String, String)], lk: &Lookups, viewer: i64) -> ApiResult<(ListQuery, u64, u64)> {
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let page = match get("page") {
        None | Some("") => 1,
        Some(p) => p
            .parse::<u64>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ApiError::bad_request("page must be a positive integer"))?,
    };
    let per_page = match get("per_page") {
        None | Some("") => DEFAULT_PER_PAGE,
        Some(p) => p
            .parse::<u64>()
            .ok()
            .filter(|p| (1..=MAX_PER_PAGE).contains(p))
            .ok_or_else(|| ApiError::bad_request(format!("per_page must be between 1 and {MAX_PER_PAGE}")))?,
    };
    let offset = (page - 1).checked_mul(per_page).ok_or_else(|| ApiError::bad_request("page is too large"))?;
    let mut q = ListQuery::new(Page::Offset { offset, limit: per_page }).with_total();

    if let Some(search) = get("search").map(str::trim).filter(|s| !s.is_empty()) {
        // Every word must appear in a name, the company name, an email or a phone.
        let words = search.split_whitespace().map(|w| {
            let fields = ["first_name", "last_name", "company_name", "email", "phone"];
            Filter::Any(fields.iter().map(|f| Filter::cmp(f, Op::Contains, w)).collect())
        });
        q = q.filter(Filter::All(words.collect()));
    }
    if let Some(email) = get("email").map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(kith_domain::contacts::any_email_filter(email));
    }
    if let Some(url) = get("url").map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(Filter::cmp("urls_text", Op::Contains, url.to_lowercase()));
    }
    if let Some(phone) = get("phone").map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(Filter::cmp("phone", Op::Contains, phone));
    }
    for (param, column) in [("status_id", "status_id"), ("owner_id", "owner_id"), ("company_id", "company_id")] {
        if let Some(raw) = get(param).filter(|s| !s.is_empty()) {
            q = q.filter(Filter::eq(column, query_id(param, raw)?));
        }
    }
    if let Some(tag) = get("tag").map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(Crm::tag_filter("contact", tag));
    }
    if let Some(raw) = get("starred").filter(|s| !s.is_empty()) {
        q = q.filter(kith_domain::contacts::starred_filter(viewer, parse_bool("starred", raw)?));
    }
    if let Some(key) = get("lead_source_id").or(get("lead_source")).map(str::trim).filter(|s| !s.is_empty()) {
        let ids: Vec<SV> = lk.lead_sources.values().filter(|s| s.key == key).map(|s| SV::Int(s.id)).collect();
        q = q.filter(Filter::In { field: Field::col("lead_source_id"), values: ids });
    }
    if let Some(letter) = get("letter").map(str::trim).filter(|s| !s.is_empty()) {
        q = q.filter(Filter::Any(vec![
            Filter::cmp("last_name", Op::Prefix, letter),
            Filter::All(vec![Filter::IsNull(Field::col("last_name")), Filter::cmp("company_name", Op::Prefix, letter)]),
        ]));
    }
    match (get("custom_field_id").filter(|s| !s.is_empty()), get("custom_field_value")) {
        (Some(raw), value) => {
            let id = query_id("custom_field_id", raw)?;
            let def = lk
                .custom_fields
                .iter()
                .find(|d| d.id == id)
                .ok_or_else(|| ApiError::bad_request("custom_field_id is not a contact custom field"))?;
            let value = Value::String(value.unwrap_or_default().to_owned());
            q = q.filter(custom_filter(def, Op::Eq, &value)?);
        }
        (None, Some(_)) => return Err(ApiError::bad_request("custom_field_value needs custom_field_id")),
        (None, None) => {}
    }
    let date_filter = get("date_filter").filter(|s| !s.is_empty());
    let mut date_range = false;
    if let Some(df) = date_filter {
        let column = match df {
            "created_at" => "created_at",
            "modified_at" | "updated_at" => "updated_at",
            _ => return Err(ApiError::bad_request("date_filter must be created_at, modified_at or updated_at")),
        };
        if get("modified_since").is_some() || get("unmodified_since").is_some() {
            return Err(ApiError::bad_request("date_filter cannot be used with modified_since or unmodified_since"));
        }
        if let Some(since) = get("since").filter(|s| !s.is_empty()) {
            q = q.filter(Filter::cmp(column, Op::Gte, parse_time("since", since, false)?));
            date_range = true;
        }
        if let Some(until) = get("until").filter(|s| !s.is_empty()) {
            q = q.filter(Filter::cmp(column, Op::Lte, parse_time("until", until, true)?));
            date_range = true;
        }
    } else if get("since").is_some() || get("until").is_some() {
        return Err(ApiError::bad_request("since and until need date_filter"));
    }
    if let Some(t) = get("modified_since").filter(|s| !s.is_empty()) {
        q = q.filter(Filter::cmp("updated_at", Op::Gte, parse_time("modified_since", t, false)?));
    }
    if let Some(t) = get("unmodified_since").filter(|s| !s.is_empty()) {
        q = q.filter(Filter::cmp("updated_at", Op::Lt, parse_time("unmodified_since", t, false)?));
    }

    let desc = match get("order").filter(|s| !s.is_empty()) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::bad_request("order must be asc or desc")),
    };
    let sort = |c: &str| if desc { Sort::desc(c) } else { Sort::asc(c) };
    match get("sort_by").filter(|s| !s.is_empty()) {
        Some("created_at") => q = q.sort(sort("created_at")),
        Some("modified_at") => q = q.sort(sort("updated_at")),
        Some("first_name") => q = q.sort(sort("first_name")),
        Some("last_name") => q = q.sort(sort("last_name")),
        Some("company_name") => q = q.sort(sort("company_name")),
        Some("name") => q = q.sort(sort("last_name")).sort(sort("first_name")),
        None if date_range => q = q.sort(Sort::desc("created_at")),
        None => q = q.sort(sort("last_name")).sort(sort("first_name")),
        Some(_) => {
            return Err(ApiError::bad_request(
                "sort_by must be one of created_at, modified_at, first_name, last_name, company_name, name",
            ));
        }
    }
    Ok((q, page, per_page))
}

pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = kith_http::query_pairs(raw.as_deref());
    let lk = st.crm.contact_lookups(actor).await?;
    let (mut q, page, per_page) = list_query(&params, &lk, actor.user_id)?;
    let scoped = crate::params::Params::parse(raw.as_deref());
    for f in crate::filters::contact_scope(&st.crm, actor, &scoped).await? {
        q = q.filter(f);
    }
    let result = st.crm.list::<Contact>(actor, &q).await?;
    let total = result.total.unwrap_or(0);
    let items = render_contacts(&st.crm, actor, &lk, &result.rows).await?;
    let mut contacts: Vec<Value> = items.into_iter().map(|c| json!({ "contact": c })).collect();
    with_related(&st.crm, actor, scoped.get("fields"), &result.rows, &mut contacts).await?;
    Ok(ok(
        StatusCode::OK,
        json!({
            "contacts": contacts,
            "total_count": total,
            "page": page,
            "per_page": per_page,
            "max_page": total.div_ceil(per_page).max(1),
        }),
    ))
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
    use crate::engagements::{Kind, by_contact};
    let Some(fields) = fields else { return Ok(()) };
    let ids: Vec<i64> = contacts.iter().map(|c| c.id).collect();
    for part in fields.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let name = part.strip_suffix("(all)").unwrap_or(part);
        let mut related = match name {
            "deals" => crate::deals::deals_by_contact(crm, actor, &ids).await?,
            "notes" => by_contact(crm, actor, Kind::Note, &ids).await?,
            "calls" => by_contact(crm, actor, Kind::Call, &ids).await?,
            "meetings" => by_contact(crm, actor, Kind::Meeting, &ids).await?,
            "pinned_attachments" => {
                let mut out: HashMap<i64, Vec<Value>> = HashMap::new();
                let page = crm.pinned_attachments(actor, &ids, u64::MAX >> 2, 0).await?;
                for a in &page.rows {
                    if let Some(c) = a.contact_id {
                        out.entry(c).or_default().push(crate::attachments::render_attachment(crm, a));
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
