//! `/crm/leads`: the shared model's `Lead`. Apideck's `name` is the person's name: written, it
//! fills the first and last names the body does not give (the last word is the last name).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use kith_domain::leads::LeadDraft;
use kith_domain::model::{Channel, CustomFieldDefinition, Lead};
use kith_domain::query::{Dir, Filter, Op};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{self, ListParams, ListSpec, by};
use crate::shapes;
use crate::wire::{ApiResult, envelope, id, opt_id, path_id, time};

const SPEC: ListSpec = ListSpec {
    resource: "leads",
    filters: &["name", "first_name", "last_name", "email", "phone_number"],
    sorts: &["created_at", "updated_at", "name", "first_name", "last_name", "email"],
};

pub fn routes() -> Routes {
    Routes::new().route("/leads", get(list).post(create)).route("/leads/{id}", get(one).patch(update).delete(delete))
}

fn name(l: &Lead) -> String {
    let n = [l.first_name.as_deref(), l.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if n.is_empty() { l.organization_name.clone().unwrap_or_default() } else { n }
}

fn channels(pairs: &[(&str, &Option<String>)]) -> Vec<Channel> {
    pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| Channel { kind: (*k).to_owned(), value: v.clone() })).collect()
}

pub fn render(l: &Lead, defs: &[CustomFieldDefinition]) -> Value {
    json!({
        "id": id(l.id),
        "name": name(l),
        "first_name": l.first_name,
        "last_name": l.last_name,
        "company_name": l.organization_name,
        "owner_id": id(l.owner_id),
        "contact_id": opt_id(l.converted_contact_id),
        "company_id": opt_id(l.converted_company_id),
        "title": l.title,
        "description": l.description,
        "status": l.status,
        "fax": l.fax,
        "emails": shapes::emails(&channels(&[("primary", &l.email)])),
        "phone_numbers": shapes::phones(&channels(&[("primary", &l.phone), ("mobile", &l.mobile)])),
        "websites": shapes::websites(&channels(&[("primary", &l.website)])),
        "social_links": channels(&[("twitter", &l.twitter), ("facebook", &l.facebook), ("linkedin", &l.linkedin)])
            .iter()
            .map(|c| json!({ "url": c.value, "type": c.kind }))
            .collect::<Vec<_>>(),
        "addresses": l.address.0.iter().map(shapes::address).collect::<Vec<_>>(),
        "tags": l.tags.0,
        "custom_fields": shapes::custom_fields(&l.custom_fields.0, defs),
        "updated_at": time(l.updated_at),
        "created_at": time(l.created_at),
    })
}

fn filter(p: &ListParams) -> ApiResult<Option<Filter>> {
    let mut all = Vec::new();
    for (name, value) in &p.filters {
        let value = value.as_str();
        if value.is_empty() {
            continue;
        }
        all.push(match name.as_str() {
            "name" => Filter::All(
                value
                    .split_whitespace()
                    .map(|w| {
                        Filter::Any(vec![
                            Filter::cmp("first_name", Op::Contains, w),
                            Filter::cmp("last_name", Op::Contains, w),
                        ])
                    })
                    .collect(),
            ),
            "first_name" => Filter::eq("first_name", value),
            "last_name" => Filter::eq("last_name", value),
            "email" => Filter::eq("email", value),
            "phone_number" => Filter::Any(vec![Filter::eq("phone", value), Filter::eq("mobile", value)]),
            _ => continue,
        });
    }
    Ok((!all.is_empty()).then_some(Filter::All(all)))
}

async fn list(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = ListParams::parse(q.as_deref(), &SPEC)?;
    let sorts = match p.sort {
        None => vec![by("created_at", Dir::Asc)],
        Some(("name", d)) => vec![by("last_name", d), by("first_name", d)],
        Some((column, d)) => vec![by(column, d)],
    };
    let mut query = p.query(&st, actor, SPEC.resource, sorts).await?;
    query.filter = filter(&p)?;
    let page = st.crm.list::<Lead>(actor, &query).await?;
    let previous = p.previous::<Lead>(&st, actor, &query).await?;
    let defs = st.crm.custom_fields(actor, "lead").await?;
    let rows = page.rows.iter().map(|l| render(l, &defs)).collect();
    params::answer(&st, actor, &headers, &p, SPEC.resource, rows, (page.next, previous)).await
}

async fn one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let lead = st.crm.get::<Lead>(actor, path_id(&raw, "lead")?).await?;
    let defs = st.crm.custom_fields(actor, "lead").await?;
    let data = params::sparse(render(&lead, &defs), c.fields.as_deref());
    Ok(envelope(StatusCode::OK, SPEC.resource, "one", data, c.raw))
}

fn apply(b: &mut shapes::Body_, defs: &[CustomFieldDefinition], d: &mut LeadDraft) {
    let first = b.text("first_name", 255);
    let last = b.text("last_name", 255);
    if let Some(Some(full)) = b.text("name", 255)
        && first.is_none()
        && last.is_none()
    {
        match full.rsplit_once(' ') {
            Some((f, l)) => {
                d.first_name = Some(f.trim().to_owned());
                d.last_name = Some(l.to_owned());
            }
            None => {
                d.first_name = None;
                d.last_name = Some(full);
            }
        }
    }
    if let Some(v) = first {
        d.first_name = v;
    }
    if let Some(v) = last {
        d.last_name = v;
    }
    for (key, slot) in [
        ("company_name", &mut d.organization_name),
        ("title", &mut d.title),
        ("status", &mut d.status),
        ("fax", &mut d.fax),
    ] {
        if let Some(v) = b.text(key, 255) {
            *slot = v;
        }
    }
    if let Some(v) = b.text("description", kith_domain::leads::LEAD_DESCRIPTION_MAX) {
        d.description = v;
    }
    if let Some(Some(owner)) = b.id("owner_id") {
        d.owner_id = Some(owner);
    }
    if let Some(list) = shapes::channels(b, "emails", "email", "primary") {
        d.email = list.into_iter().next().map(|c| c.value);
    }
    if let Some(list) = shapes::channels(b, "phone_numbers", "number", "primary") {
        d.mobile = list.iter().find(|c| c.kind == "mobile").map(|c| c.value.clone());
        d.phone = list.into_iter().find(|c| c.kind != "mobile").map(|c| c.value);
    }
    if let Some(list) = shapes::channels(b, "websites", "url", "primary") {
        d.website = list.into_iter().next().map(|c| c.value);
    }
    if let Some(v) = shapes::addresses(b) {
        d.address = v.into_iter().next();
    }
    if let Some(v) = shapes::tags(b) {
        d.tags = v;
    }
    if let Some(v) = shapes::custom_values(b, defs) {
        for (k, value) in v {
            if value.is_null() {
                d.custom_fields.remove(&k);
            } else {
                d.custom_fields.insert(k, value);
            }
        }
    }
}

async fn create(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> axum::response::Response {
    params::idempotent_create(&st, actor, &headers, SPEC.resource, body, async |body| add(&st, actor, q, body).await)
        .await
}

async fn add(st: &AppState, actor: kith_domain::Actor, q: Option<String>, body: Body) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let mut b = shapes::read(st, body).await?;
    let defs = st.crm.custom_fields(actor, "lead").await?;
    let mut d = LeadDraft::new();
    apply(&mut b, &defs, &mut d);
    b.finish()?;
    let lead = st.crm.create_lead(actor, d).await?;
    Ok(envelope(StatusCode::CREATED, SPEC.resource, "add", json!({ "id": id(lead.id) }), c.raw))
}

async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let lead = st.crm.get::<Lead>(actor, path_id(&raw, "lead")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let defs = st.crm.custom_fields(actor, "lead").await?;
    let mut d = lead.draft();
    apply(&mut b, &defs, &mut d);
    b.finish()?;
    let lead = st.crm.update_lead(actor, lead.id, d).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "update", json!({ "id": id(lead.id) }), c.raw))
}

async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let lead_id = path_id(&raw, "lead")?;
    st.crm.delete_lead(actor, lead_id).await?;
    Ok(envelope(StatusCode::OK, SPEC.resource, "delete", json!({ "id": id(lead_id) }), c.raw))
}
