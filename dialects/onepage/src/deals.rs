//! `/deals` and the per-contact and per-company deal lists.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::deals::{COMMISSION_BASES, COMMISSION_TYPES, DEAL_STATUSES, DealDraft, DealItemDraft};
use kith_domain::model::{Company, Contact, Deal};
use kith_domain::money::from_major;
use kith_domain::query::{Filter, Op, Sort};
use kith_domain::{Actor, Crm};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Input;
use crate::params::{Params, path_id, read_input};
use crate::render::deal::{context, deal_data, render_deal};
use crate::wire::{ApiError, ApiResult, hex_id, ok};

fn minor(input: &mut Input, key: &str, currency: &str) -> Option<i64> {
    let v = input.number(key)??;
    match from_major(v, currency) {
        Some(m) => Some(m),
        None => {
            input.error(key, "is out of range");
            None
        }
    }
}

fn read_items(input: &mut Input, currency: &str) -> Option<Vec<DealItemDraft>> {
    let items = input.objects("deal_items", 500)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let mut sub = Input::new(item);
        let name = sub.text("name", 255).flatten();
        let description = sub.text("description", 7168).flatten();
        let quantity = sub.integer("qty").flatten().unwrap_or(1);
        let price_minor = minor(&mut sub, "price", currency).unwrap_or(0);
        let cost_minor = minor(&mut sub, "cost", currency).unwrap_or(0);
        let predefined_item_id = sub.id("predefined_item_id").flatten();
        if let Err(e) = sub.finish() {
            for (field, message) in e.errors {
                input.error(format!("deal_items[{i}].{field}"), message.as_str().unwrap_or_default());
            }
            continue;
        }
        out.push(DealItemDraft {
            name: name.unwrap_or_default(),
            description,
            quantity,
            price_minor,
            cost_minor,
            predefined_item_id,
        });
    }
    Some(out)
}

fn new_draft(actor: Actor, contact_id: i64) -> DealDraft {
    DealDraft::new(contact_id, actor.user_id, "")
}

/// Reads a deal body over `base` (absent fields keep `base`'s values).
fn read_draft(
    input: &mut Input,
    actor: Actor,
    mut d: DealDraft,
    currency: &str,
    fields: &[kith_domain::model::CustomFieldDefinition],
) -> DealDraft {
    if let Some(values) = crate::input::field_values(input, "deal_fields", "deal_field", fields) {
        d.custom_fields = Some(values);
    }
    if let Some(v) = input.id("contact_id") {
        match v {
            Some(id) => d.contact_id = id,
            None => input.error("contact_id", "is required"),
        }
    }
    if let Some(v) = input.id("owner_id") {
        d.owner_id = v.unwrap_or(actor.user_id);
    }
    if let Some(v) = input.id("pipeline_id") {
        d.pipeline_id = v;
    }
    if let Some(v) = input.id("sales_pipeline_id") {
        d.pipeline_id = v.or(d.pipeline_id);
    }
    // Longer names are truncated, as the document says.
    if let Some(v) = input.text("name", usize::MAX) {
        d.name = v.unwrap_or_default();
    }
    if let Some(v) = input.text("text", kith_domain::deals::DEAL_TEXT_MAX) {
        d.text = v;
    }
    if let Some(v) = input.integer("stage") {
        d.stage = v;
    }
    if let Some(v) = input.one_of("status", DEAL_STATUSES) {
        d.status = v.unwrap_or_else(|| "pending".into());
    }
    for key in ["expected_close_date", "close_date", "date"] {
        if let Some(v) = input.date(key) {
            match key {
                "expected_close_date" => d.expected_close_date = v,
                "close_date" => d.close_date = v,
                _ => d.date = v,
            }
        }
    }
    if input.has("amount") {
        d.amount_minor = minor(input, "amount", currency).unwrap_or(0);
    }
    if let Some(v) = input.integer("months") {
        d.months = v.unwrap_or(1);
    }
    if input.has("cost") {
        d.cost_minor = minor(input, "cost", currency).unwrap_or(0);
    }
    if let Some(v) = input.one_of("commission_base", COMMISSION_BASES) {
        d.commission_base = v;
    }
    if let Some(v) = input.one_of("commission_type", COMMISSION_TYPES) {
        d.commission_type = v;
    }
    if input.has("commission") {
        d.commission_minor = minor(input, "commission", currency).unwrap_or(0);
    }
    if let Some(v) = input.number("commission_percentage") {
        d.commission_percentage = v.unwrap_or(0.0);
    }
    if let Some(items) = read_items(input, currency) {
        d.items = Some(items);
    }
    d
}

async fn create_for(st: &AppState, actor: Actor, contact_id: Option<i64>, body: Body) -> ApiResult {
    let mut input = read_input(st, body).await?;
    if contact_id.is_none() && !input.has("contact_id") {
        input.error("contact_id", "is required");
    }
    if !input.has("name") {
        input.error("name", "is required");
    }
    let fields = st.crm.custom_fields(actor, "deal").await?;
    let base = new_draft(actor, contact_id.unwrap_or_default());
    let mut d = read_draft(&mut input, actor, base, kith_domain::deals::DEFAULT_CURRENCY, &fields);
    if let Some(id) = contact_id {
        d.contact_id = id;
    }
    input.finish()?;
    let deal = st.crm.create_deal(actor, d).await?;
    Ok(ok(StatusCode::CREATED, deal_data(&st.crm, actor, &deal).await?))
}

pub async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    create_for(&st, actor, None, body).await
}

pub async fn create_for_contact(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let contact = st.crm.get::<Contact>(actor, path_id(&id, "contact")?).await?;
    create_for(&st, actor, Some(contact.id), body).await
}

/// `include_history=true`: the last stage of the deal in each pipeline. Kith keeps a deal's
/// current pipeline and stage only, so that is the one entry.
fn add_history(rendered: &mut Value, d: &Deal) {
    let mut map = serde_json::Map::new();
    if let (Some(p), Some(s)) = (d.pipeline_id, d.probability) {
        map.insert(hex_id(p), json!(s));
    }
    rendered["previous_pipeline_stages"] = Value::Object(map);
}

pub async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let deal = st.crm.get::<Deal>(actor, path_id(&id, "deal")?).await?;
    let mut data = deal_data(&st.crm, actor, &deal).await?;
    if Params::parse(raw.as_deref()).flag("include_history")?.unwrap_or(false) {
        add_history(&mut data["deal"], &deal);
    }
    Ok(ok(StatusCode::OK, data))
}

pub async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let id = path_id(&id, "deal")?;
    let partial = params.flag("partial")?.unwrap_or(false);
    let existing = st.crm.get::<Deal>(actor, id).await?;
    let mut input = read_input(&st, body).await?;
    let base = if partial {
        existing.draft()
    } else {
        let mut d = new_draft(actor, existing.contact_id.unwrap_or_default());
        if !input.has("name") {
            input.error("name", "is required");
        }
        d.pipeline_id = existing.pipeline_id;
        d
    };
    let fields = st.crm.custom_fields(actor, "deal").await?;
    let d = read_draft(&mut input, actor, base, &existing.currency, &fields);
    input.finish()?;
    let deal = st.crm.update_deal(actor, id, d).await?;
    Ok(ok(StatusCode::OK, deal_data(&st.crm, actor, &deal).await?))
}

pub async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = path_id(&id, "deal")?;
    if Params::parse(raw.as_deref()).flag("undo")?.unwrap_or(false) {
        let deal = st.crm.restore_deal(actor, id).await?;
        return Ok(ok(StatusCode::OK, deal_data(&st.crm, actor, &deal).await?));
    }
    st.crm.delete_deal(actor, id).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

async fn list_deals(st: &AppState, actor: Actor, params: &Params, scope: Option<Filter>) -> ApiResult {
    let paging = params.paging()?;
    // A deal whose primary contact is an organisation (made over another dialect) has no
    // OnePage contact, so OnePage lists leave it out.
    let mut q = paging.query().filter(Filter::IsNotNull(kith_domain::query::Field::col("contact_id")));
    if let Some(f) = scope {
        q = q.filter(f);
    }
    for key in ["name", "search"] {
        if let Some(v) = params.get(key) {
            q = q.filter(Filter::cmp("name", Op::Contains, v));
        }
    }
    if let Some(s) = params.get("status") {
        if !DEAL_STATUSES.contains(&s) {
            return Err(ApiError::bad_request(format!("status must be one of: {}", DEAL_STATUSES.join(", "))));
        }
        q = q.filter(Filter::eq("status", s));
    }
    if let Some(s) = params.get("stage") {
        let stage: i64 = s.parse().map_err(|_| ApiError::bad_request("stage must be an integer"))?;
        q = q.filter(Filter::eq("probability", stage));
    }
    for (param, column) in [
        ("pipeline_id", "pipeline_id"),
        ("sales_pipeline_id", "pipeline_id"),
        ("owner_id", "owner_id"),
        ("contact_id", "contact_id"),
        ("company_id", "company_id"),
    ] {
        if let Some(id) = params.id(param)? {
            q = q.filter(Filter::eq(column, id));
        }
    }
    if let Some(tag) = params.get("tag") {
        q = q.filter(Crm::tag_filter("deal", tag));
    }
    if let Some(id) = params.id("filter_id")? {
        // Deals of the contacts the saved filter matches.
        let saved = st.crm.get::<kith_domain::model::SavedFilter>(actor, id).await?;
        let f = st.crm.saved_filter_query(actor, &saved).await?;
        let ids = st
            .crm
            .all::<Contact>(actor, Some(f))
            .await?
            .into_iter()
            .map(|c| kith_domain::query::Value::Int(c.id))
            .collect();
        q = q.filter(Filter::In { field: kith_domain::query::Field::col("contact_id"), values: ids });
    }
    let (mut q, ranged) = params.date_filters(
        q,
        &[
            ("created_at", "created_at", false),
            ("modified_at", "updated_at", false),
            ("updated_at", "updated_at", false),
            ("date", "date", true),
            ("close_date", "close_date", true),
            ("expected_close_date", "expected_close_date", true),
        ],
    )?;
    let sort = params.sort(&[
        ("created_at", "created_at"),
        ("modified_at", "updated_at"),
        ("date", "date"),
        ("close_date", "close_date"),
        ("expected_close_date", "expected_close_date"),
    ])?;
    // Newest first unless asked otherwise.
    let _ = ranged;
    q = q.sort(sort.unwrap_or_else(|| Sort::desc("created_at")));
    let with_contacts = match params.get("fields") {
        None => false,
        Some("contacts(all)" | "contacts") => true,
        Some(_) => return Err(ApiError::bad_request("fields supports contacts(all)")),
    };
    let history = params.flag("include_history")?.unwrap_or(false);
    let page = st.crm.list::<Deal>(actor, &q).await?;
    let cx = context(&st.crm, actor, &page.rows).await?;
    let lk = if with_contacts { Some(st.crm.contact_lookups(actor).await?) } else { None };
    let mut items = Vec::with_capacity(page.rows.len());
    for d in &page.rows {
        let mut deal = render_deal(d, &cx);
        if history {
            add_history(&mut deal, d);
        }
        let mut item = json!({ "deal": deal });
        if let Some(lk) = &lk {
            let own: Vec<Contact> = d.contact_id.and_then(|c| cx.contacts.get(&c).cloned()).into_iter().collect();
            item["contacts"] = json!(crate::render::contact::render_contacts(&st.crm, actor, lk, &own).await?);
        }
        items.push(item);
    }
    Ok(ok(StatusCode::OK, paging.envelope("deals", items, page.total.unwrap_or(0))))
}

pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    list_deals(&st, actor, &Params::parse(raw.as_deref()), None).await
}

pub async fn list_for_contact(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let contact = st.crm.get::<Contact>(actor, path_id(&id, "contact")?).await?;
    list_deals(&st, actor, &Params::parse(raw.as_deref()), Some(Filter::eq("contact_id", contact.id))).await
}

pub async fn list_for_company(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let company = st.crm.get::<Company>(actor, path_id(&id, "company")?).await?;
    list_deals(&st, actor, &Params::parse(raw.as_deref()), Some(Filter::eq("company_id", company.id))).await
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/deals", routing::get(list).post(create))
        .route("/deals/{id}", routing::get(get).put(update).patch(update).delete(delete))
        .route("/contacts/{id}/deals", routing::get(list_for_contact).post(create_for_contact))
        .route("/companies/{id}/deals", routing::get(list_for_company))
}
