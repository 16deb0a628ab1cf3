//! How OnePage shows deals and their items, and the deals of many contacts loaded at once.

use std::collections::HashMap;

use kith_domain::model::{Contact, Deal, DealItem, User};
use kith_domain::query::Filter;
use kith_domain::{Actor, Crm};
use serde_json::{Value, json};

use crate::render::common::{full_name, money, short_name, users};
use crate::wire::{ApiResult, hex_id, time};

pub(crate) struct Context {
    pub(crate) fields: Vec<kith_domain::model::CustomFieldDefinition>,
    pub(crate) users: HashMap<i64, User>,
    pub(crate) contacts: HashMap<i64, Contact>,
    pub(crate) items: HashMap<i64, Vec<DealItem>>,
    pub(crate) attachments: HashMap<i64, Vec<Value>>,
}

pub(crate) async fn context(crm: &Crm, actor: Actor, deals: &[Deal]) -> ApiResult<Context> {
    let contact_ids: Vec<i64> = deals.iter().filter_map(|d| d.contact_id).collect();
    let contacts = if contact_ids.is_empty() {
        HashMap::new()
    } else {
        let f = Filter::In {
            field: kith_domain::query::Field::col("id"),
            values: contact_ids.iter().map(|i| kith_domain::query::Value::Int(*i)).collect(),
        };
        crm.all::<Contact>(actor, Some(f)).await?.into_iter().map(|c| (c.id, c)).collect()
    };
    let ids: Vec<i64> = deals.iter().map(|d| d.id).collect();
    Ok(Context {
        fields: crm.custom_fields(actor, "deal").await?,
        users: users(crm, actor).await?,
        contacts,
        items: crm.deal_items(actor, &ids).await?,
        attachments: crate::render::attachment::attachments_by_record(crm, actor, "deal", &ids).await?,
    })
}

pub(crate) fn render_item(i: &DealItem, currency: &str) -> Value {
    let mut v = json!({
        "id": hex_id(i.id),
        "name": i.name,
        "description": i.description.clone().unwrap_or_default(),
        "cost": money(i.cost_minor.unwrap_or(0), currency),
        "price": money(i.unit_price_minor, currency),
        "amount": money(i.amount_minor, currency),
        "qty": i.quantity as i64,
        "deal_id": hex_id(i.deal_id),
        "position": i.position,
        "created_at": time(i.created_at),
        "modified_at": time(i.updated_at),
    });
    if let Some(p) = i.predefined_item_id {
        v["predefined_item_id"] = json!(hex_id(p));
    }
    v
}

pub(crate) fn render_deal(d: &Deal, cx: &Context) -> Value {
    let c = &d.currency;
    let months = d.months.max(1);
    let total = d.value_minor.unwrap_or(0);
    let total_cost = d.cost_minor.unwrap_or(0);
    let items = cx.items.get(&d.id).map(Vec::as_slice).unwrap_or_default();
    let owner = cx.users.get(&d.owner_id);
    let contact = d.contact_id.and_then(|id| cx.contacts.get(&id));
    let mut v = json!({
        "id": hex_id(d.id),
        "contact_id": d.contact_id.map(hex_id).unwrap_or_default(),
        "owner_id": hex_id(d.owner_id),
        "name": d.name,
        "text": d.description.clone().unwrap_or_default(),
        "status": d.status,
        "date": d.date.clone().unwrap_or_else(|| d.created_at.date_naive().format("%Y-%m-%d").to_string()),
        "amount": money(total / months, c),
        "months": months,
        "cost": money(total_cost / months, c),
        "margin": money((total - total_cost) / months, c),
        "total_amount": money(total, c),
        "total_cost": money(total_cost, c),
        "commission_base": d.commission_base.clone().unwrap_or_else(|| "amount".into()),
        "commission_type": d.commission_type.clone().unwrap_or_else(|| "none".into()),
        "commission": money(d.commission_minor.unwrap_or(0), c),
        "commission_percentage": d.commission_percentage.unwrap_or(0.0),
        "deal_fields": cx.fields.iter().filter_map(|f| {
            let v = d.custom_fields.0.get(&f.id.to_string())?;
            Some(json!({ "deal_field": crate::render::common::render_custom_field(f), "value": crate::input::value_text(v) }))
        }).collect::<Vec<_>>(),
        "has_deal_items": !items.is_empty(),
        "deal_items": items.iter().map(|i| render_item(i, c)).collect::<Vec<_>>(),
        "author": d.author_id.and_then(|a| cx.users.get(&a)).map(short_name).unwrap_or_default(),
        "attachments": cx.attachments.get(&d.id).cloned().unwrap_or_default(),
        "contact_info": {
            "contact_name": contact.map(Contact::display_name).unwrap_or_default(),
            "company": contact.and_then(|c| c.company_name.clone()).unwrap_or_default(),
        },
        "owner": {
            "id": hex_id(d.owner_id),
            "name": owner.map(full_name).unwrap_or_default(),
            "email": owner.map(|o| o.email.clone()).unwrap_or_default(),
        },
        "linked_contacts": [],
        "created_at": time(d.created_at),
        "modified_at": time(d.updated_at),
    });
    if let Some(p) = d.pipeline_id {
        v["pipeline_id"] = json!(hex_id(p));
        v["sales_pipeline_id"] = json!(hex_id(p));
    }
    if let Some(s) = d.probability {
        v["stage"] = json!(s);
    }
    if let Some(e) = &d.expected_close_date {
        v["expected_close_date"] = json!(e);
    }
    if let Some(e) = &d.close_date {
        v["close_date"] = json!(e);
    }
    if let Some(r) = d.loss_reason_id {
        v["reason_lost_id"] = json!(hex_id(r));
    }
    v
}

pub(crate) async fn deal_data(crm: &Crm, actor: Actor, deal: &Deal) -> ApiResult<Value> {
    let cx = context(crm, actor, std::slice::from_ref(deal)).await?;
    Ok(json!({ "deal": render_deal(deal, &cx) }))
}

/// The deals of contacts, rendered and grouped by contact (for `fields=deals(all)`).
pub async fn deals_by_contact(crm: &Crm, actor: Actor, contact_ids: &[i64]) -> ApiResult<HashMap<i64, Vec<Value>>> {
    let f = Filter::In {
        field: kith_domain::query::Field::col("contact_id"),
        values: contact_ids.iter().map(|i| kith_domain::query::Value::Int(*i)).collect(),
    };
    let deals = crm.all::<Deal>(actor, Some(f)).await?;
    let cx = context(crm, actor, &deals).await?;
    let mut out: HashMap<i64, Vec<Value>> = HashMap::new();
    for d in &deals {
        if let Some(c) = d.contact_id {
            out.entry(c).or_default().push(render_deal(d, &cx));
        }
    }
    Ok(out)
}
