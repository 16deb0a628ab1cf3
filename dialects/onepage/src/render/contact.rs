//! How OnePage shows contacts, with the lookups, deal figures and next actions beside them.

use kith_domain::actions::stream_sorts;
use kith_domain::contacts::DealStats;
use kith_domain::model::{Action, Address, Contact};
use kith_domain::query::{Field, Filter, ListQuery, Op, Value as SV};
use kith_domain::{Actor, Crm, Lookups};
use serde_json::{Value, json};

use crate::render::action::render_action;
use crate::render::common::render_custom_field;
use crate::wire::{ApiResult, hex_id, time};

/// A contact's address: a company's address shape plus its type.
pub(crate) fn render_address(a: &Address) -> Value {
    let mut v = crate::render::company::render_address(a);
    v["type"] = json!(a.kind.clone().unwrap_or_else(|| "work".into()));
    v
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
    let companies: Vec<i64> = contacts.iter().filter_map(|c| c.company_id).collect();
    let (stats, sizes) = crm.contact_figures(actor, &ids, &companies).await?;
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

/// Contacts as `{contact, next_actions, next_action, queued_actions}`, with the caller's open actions.
pub async fn contact_items(crm: &Crm, actor: Actor, lk: &Lookups, contacts: &[Contact]) -> ApiResult<Vec<Value>> {
    let rendered = crate::render::contact::render_contacts(crm, actor, lk, contacts).await?;
    let ids: Vec<SV> = contacts.iter().map(|c| SV::Int(c.id)).collect();
    let actions = if ids.is_empty() {
        Vec::new()
    } else {
        let f = Filter::All(vec![
            Filter::In { field: Field::col("contact_id"), values: ids },
            Filter::eq("assignee_id", actor.user_id),
            Filter::cmp("status", Op::Ne, "done"),
        ]);
        crm.list::<Action>(actor, &stream_sorts(ListQuery::all().filter(f))).await?.rows
    };
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
