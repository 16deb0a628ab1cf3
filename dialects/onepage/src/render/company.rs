//! How OnePage shows a company, with its address, custom values and figures.

use kith_domain::model::{Address, Company};
use kith_domain::{Actor, Crm};
use serde_json::{Value, json};

use crate::wire::{ApiResult, hex_id, time};

pub(crate) fn render_address(a: &Address) -> Value {
    json!({
        "address": a.address.clone().unwrap_or_default(),
        "city": a.city.clone().unwrap_or_default(),
        "state": a.state.clone().unwrap_or_default(),
        "zip_code": a.zip_code.clone().unwrap_or_default(),
        "country_code": a.country_code.clone().unwrap_or_default(),
    })
}

pub(crate) async fn render_company(crm: &Crm, actor: Actor, c: &Company) -> ApiResult<Value> {
    let s = crm.company_stats(actor, c.id).await?;
    let defs = crm.custom_fields(actor, "company").await?;
    let fields: Vec<Value> = defs
        .iter()
        .filter_map(|d| {
            let v = c.custom_fields.0.get(&d.id.to_string())?;
            Some(json!({ "company_field": crate::render::common::render_custom_field(d), "value": crate::input::value_text(v) }))
        })
        .collect();
    let mut v = json!({
        "id": hex_id(c.id),
        "name": c.name,
        "description": c.description.clone().unwrap_or_default(),
        "phone": c.phone.clone().unwrap_or_default(),
        "url": c.url.clone().unwrap_or_default(),
        "address": c.address.0.as_ref().map(render_address).unwrap_or_else(|| render_address(&Address::default())),
        "company_fields": fields,
        "syncing_status": c.synced_status_id().is_some(),
        "syncing_tags": false,
        "synced_tags": [],
        "contacts_count": s.contacts,
        "won_deals_count": s.won_deals,
        "total_won_amount": s.won_amount,
        "pending_deals_count": s.pending_deals,
        "total_pending_amount": s.pending_amount,
        "created_at": time(c.created_at),
        "modified_at": time(c.updated_at),
    });
    if let Some(status) = c.synced_status_id() {
        v["synced_status_id"] = json!(hex_id(status));
    }
    if let Some(url) = &c.photo_url {
        v["photo_url"] = json!(url);
    }
    Ok(v)
}

pub(crate) async fn company_data(crm: &Crm, actor: Actor, c: &Company) -> ApiResult<Value> {
    Ok(json!({ "company": render_company(crm, actor, c).await? }))
}
