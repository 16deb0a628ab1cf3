//! How OnePage shows an action (a next action or a task).

use kith_domain::model::Action;
use serde_json::{Value, json};

use crate::wire::{hex_id, time};

pub fn render_action(a: &Action) -> Value {
    let mut v = json!({
        "id": hex_id(a.id),
        "assignee_id": hex_id(a.assignee_id),
        "contact_id": a.contact_id.map(hex_id).unwrap_or_default(),
        "text": a.text,
        "status": a.status,
        "position": a.position,
        "done": a.status == "done",
        "externally_controlled": false,
        "created_at": time(a.created_at),
        "modified_at": time(a.updated_at),
    });
    if let Some(d) = &a.date {
        v["date"] = json!(d);
    }
    if let Some(t) = a.exact_time {
        v["exact_time"] = json!(t.timestamp());
    }
    if let Some(t) = a.done_at {
        v["done_at"] = json!(t.date_naive().format("%Y-%m-%d").to_string());
    }
    v
}

pub(crate) fn action_data(a: &Action) -> Value {
    json!({ "action": render_action(a) })
}
