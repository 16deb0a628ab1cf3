//! `/relationship_types` and `/contacts/{id}/relationships`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::model::{Contact, Relationship, RelationshipType};
use kith_domain::query::{Field, Filter, Sort, Value as SV};
use kith_domain::relationships::{Party, VARIANT_NAME_MAX};
use kith_domain::{Actor, Crm};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Input;
use crate::params::{Params, path_id, read_input};
use crate::wire::{ApiResult, hex_id, ok, parse_id, time};

fn render_type(t: &RelationshipType) -> Value {
    json!({
        "id": hex_id(t.id),
        "symmetrical": t.symmetrical(),
        "relationship_variants": t.variants().iter().map(|(id, name)| json!({ "id": hex_id(*id), "name": name })).collect::<Vec<_>>(),
        "created_at": time(t.created_at),
        "modified_at": time(t.updated_at),
    })
}

pub async fn list_types(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let paging = Params::parse(raw.as_deref()).paging()?;
    let page = st.crm.list::<RelationshipType>(actor, &paging.query().sort(Sort::asc("position"))).await?;
    let items = page.rows.iter().map(|t| json!({ "relationship_type": render_type(t) })).collect();
    Ok(ok(StatusCode::OK, paging.envelope("relationship_types", items, page.total.unwrap_or(0))))
}

pub async fn get_type(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let t = st.crm.get::<RelationshipType>(actor, path_id(&id, "relationship type")?).await?;
    Ok(ok(StatusCode::OK, json!({ "relationship_type": render_type(&t) })))
}

/// `variants: [{id?, name}]`.
fn read_variants(input: &mut Input, with_ids: bool) -> Vec<(Option<i64>, String)> {
    let Some(items) = input.objects("variants", 2) else {
        if !input.has("variants") {
            input.error("variants", "is required");
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let mut v = Input::new(item);
        let name = v.text("name", VARIANT_NAME_MAX).flatten().unwrap_or_default();
        let id = if with_ids { v.id("id").flatten() } else { None };
        if with_ids && id.is_none() {
            input.error(format!("variants[{i}].id"), "is required");
        }
        if let Err(e) = v.finish() {
            for (field, message) in e.errors {
                input.error(format!("variants[{i}].{field}"), message.as_str().unwrap_or_default());
            }
        }
        out.push((id, name));
    }
    out
}

pub async fn create_type(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut input = read_input(&st, body).await?;
    let variants = read_variants(&mut input, false);
    input.finish()?;
    let t = st.crm.create_relationship_type(actor, variants.into_iter().map(|(_, n)| n).collect()).await?;
    // The document answers a creation with the list form.
    Ok(ok(StatusCode::CREATED, json!({ "relationship_types": [{ "relationship_type": render_type(&t) }] })))
}

pub async fn update_type(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "relationship type")?;
    st.crm.get::<RelationshipType>(actor, id).await?;
    let mut input = read_input(&st, body).await?;
    let variants = read_variants(&mut input, true);
    input.finish()?;
    let renames = variants.into_iter().filter_map(|(id, n)| id.map(|id| (id, n))).collect();
    let t = st.crm.rename_relationship_type(actor, id, renames).await?;
    Ok(ok(StatusCode::OK, json!({ "relationship_type": render_type(&t) })))
}

pub async fn delete_type(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    st.crm.delete_relationship_type(actor, path_id(&id, "relationship type")?).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

async fn render_relationships(crm: &Crm, actor: Actor, list: &[Relationship]) -> ApiResult<Vec<Value>> {
    let ids: Vec<SV> =
        list.iter().flat_map(|r| [Some(r.contact_id), r.related_contact_id]).flatten().map(SV::Int).collect();
    let contacts: HashMap<i64, Contact> = if ids.is_empty() {
        HashMap::new()
    } else {
        let f = Filter::In { field: Field::col("id"), values: ids };
        crm.all::<Contact>(actor, Some(f)).await?.into_iter().map(|c| (c.id, c)).collect()
    };
    let types: HashMap<i64, RelationshipType> =
        crm.all::<RelationshipType>(actor, None).await?.into_iter().map(|t| (t.id, t)).collect();
    let party = |contact: Option<i64>, variant: Option<i64>, t: Option<&RelationshipType>| {
        let c = contact.and_then(|id| contacts.get(&id));
        let name = t.and_then(|t| t.variants().into_iter().find(|(v, _)| Some(*v) == variant)).map(|(_, n)| n);
        let mut v = json!({
            "variant_id": variant.map(hex_id).unwrap_or_default(),
            "variant_name": name.unwrap_or_default(),
            "contact_id": contact.map(hex_id).unwrap_or_default(),
            "first_name": c.and_then(|c| c.first_name.clone()).unwrap_or_default(),
            "last_name": c.and_then(|c| c.last_name.clone()).unwrap_or_default(),
            "photo_url": c.and_then(|c| c.photo_url.clone()).unwrap_or_default(),
            "company_name": c.and_then(|c| c.company_name.clone()).unwrap_or_default(),
            "owner_id": c.map(|c| hex_id(c.owner_id)).unwrap_or_default(),
        });
        if let Some(company) = c.and_then(|c| c.company_id) {
            v["company_id"] = json!(hex_id(company));
        }
        v
    };
    Ok(list
        .iter()
        .map(|r| {
            let t = types.get(&r.relationship_type_id);
            json!({
                "id": hex_id(r.id),
                "relationship_type_id": hex_id(r.relationship_type_id),
                "related_contacts": [party(Some(r.contact_id), r.variant_id, t), party(r.related_contact_id, r.related_variant_id, t)],
                "created_at": time(r.created_at),
                "modified_at": time(r.updated_at),
            })
        })
        .collect())
}

async fn one(crm: &Crm, actor: Actor, r: &Relationship) -> ApiResult<Value> {
    let mut v = render_relationships(crm, actor, std::slice::from_ref(r)).await?;
    Ok(json!({ "relationship": v.pop().unwrap_or(Value::Null) }))
}

/// `relationship_type_id` and the two `related_contacts` entries of a body.
fn read_relationship(input: &mut Input) -> (i64, Vec<Party>) {
    let type_id = input.id("relationship_type_id").flatten();
    if type_id.is_none() {
        input.error("relationship_type_id", "is required");
    }
    let mut parties = Vec::new();
    match input.objects("related_contacts", 2) {
        Some(items) => {
            for (i, item) in items.iter().enumerate() {
                let id = |k: &str| item.get(k).and_then(Value::as_str).and_then(parse_id);
                match (id("contact_id"), id("variant_id")) {
                    (Some(contact_id), Some(variant_id)) => parties.push(Party { contact_id, variant_id }),
                    _ => input.error(format!("related_contacts[{i}]"), "needs a contact_id and a variant_id"),
                }
            }
            if items.len() != 2 {
                input.error("related_contacts", "must hold exactly two entries");
            }
        }
        None if !input.has("related_contacts") => input.error("related_contacts", "is required"),
        None => {}
    }
    (type_id.unwrap_or_default(), parties)
}

pub async fn list(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(contact): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let contact = st.crm.get::<Contact>(actor, path_id(&contact, "contact")?).await?.id;
    let params = Params::parse(raw.as_deref());
    let paging = params.paging()?;
    let mine = Filter::Any(vec![Filter::eq("contact_id", contact), Filter::eq("related_contact_id", contact)]);
    let mut q = paging.query().filter(mine);
    if let Some(t) = params.id("relationship_type_id")? {
        q = q.filter(Filter::eq("relationship_type_id", t));
    }
    if let Some(other) = params.id("contact_id_filter")? {
        q = q.filter(Filter::Any(vec![Filter::eq("contact_id", other), Filter::eq("related_contact_id", other)]));
    }
    if let Some(v) = params.id("variant_id_filter")? {
        q = q.filter(Filter::Any(vec![Filter::eq("variant_id", v), Filter::eq("related_variant_id", v)]));
    }
    let (q, _) = params.date_filters(
        q,
        &[
            ("created_at", "created_at", false),
            ("modified_at", "updated_at", false),
            ("updated_at", "updated_at", false),
        ],
    )?;
    let q = q.sort(
        params
            .sort(&[("created_at", "created_at"), ("modified_at", "updated_at")])?
            .unwrap_or_else(|| Sort::asc("created_at")),
    );
    let page = st.crm.list::<Relationship>(actor, &q).await?;
    let items = render_relationships(&st.crm, actor, &page.rows)
        .await?
        .into_iter()
        .map(|r| json!({ "relationship": r }))
        .collect();
    Ok(ok(StatusCode::OK, paging.envelope("relationships", items, page.total.unwrap_or(0))))
}

pub async fn create(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(contact): Path<String>,
    body: Body,
) -> ApiResult {
    let contact = path_id(&contact, "contact")?;
    st.crm.get::<Contact>(actor, contact).await?;
    let mut input = read_input(&st, body).await?;
    let (type_id, parties) = read_relationship(&mut input);
    input.finish()?;
    let r = st.crm.create_relationship(actor, contact, type_id, parties).await?;
    Ok(ok(StatusCode::CREATED, one(&st.crm, actor, &r).await?))
}

pub async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((contact, id)): Path<(String, String)>,
) -> ApiResult {
    let r = st.crm.relationship_of(actor, path_id(&contact, "contact")?, path_id(&id, "relationship")?).await?;
    Ok(ok(StatusCode::OK, one(&st.crm, actor, &r).await?))
}

pub async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((contact, id)): Path<(String, String)>,
    body: Body,
) -> ApiResult {
    let (contact, id) = (path_id(&contact, "contact")?, path_id(&id, "relationship")?);
    st.crm.relationship_of(actor, contact, id).await?;
    let mut input = read_input(&st, body).await?;
    let (type_id, parties) = read_relationship(&mut input);
    input.finish()?;
    let r = st.crm.replace_relationship(actor, contact, id, type_id, parties).await?;
    Ok(ok(StatusCode::OK, one(&st.crm, actor, &r).await?))
}

pub async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((contact, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let (contact, id) = (path_id(&contact, "contact")?, path_id(&id, "relationship")?);
    if Params::parse(raw.as_deref()).flag("undo")?.unwrap_or(false) {
        let r = st.crm.restore_relationship(actor, contact, id).await?;
        return Ok(ok(StatusCode::OK, one(&st.crm, actor, &r).await?));
    }
    st.crm.relationship_of(actor, contact, id).await?;
    st.crm.delete::<Relationship>(actor, id).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/relationship_types", routing::get(list_types).post(create_type))
        .route(
            "/relationship_types/{id}",
            routing::get(get_type).put(update_type).patch(update_type).delete(delete_type),
        )
        .route("/contacts/{id}/relationships", routing::get(list).post(create))
        .route(
            "/contacts/{id}/relationships/{relationship_id}",
            routing::get(get).put(update).patch(update).delete(delete),
        )
}
