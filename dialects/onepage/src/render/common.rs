//! Pieces every OnePage renderer uses: user names, money, custom-field definitions.

use std::collections::HashMap;

use kith_domain::custom_fields::FieldKind;
use kith_domain::model::{CustomFieldDefinition, User};
use kith_domain::money::to_major;
use kith_domain::{Actor, Crm};
use serde_json::{Value, json};

use crate::wire::{ApiResult, hex_id};

/// A user's short name as OnePage shows authors: "Jane D.".
pub fn short_name(u: &User) -> String {
    let first = u.first_name.clone().unwrap_or_default();
    match u.last_name.as_deref().and_then(|l| l.chars().next()) {
        Some(initial) if !first.is_empty() => format!("{first} {initial}."),
        _ if !first.is_empty() => first,
        _ => u.email.clone(),
    }
}

pub(crate) fn full_name(u: &User) -> String {
    let name = [u.first_name.as_deref(), u.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if name.is_empty() { u.email.clone() } else { name }
}

/// The account's users by id, for rendering authors and owners.
pub async fn users(crm: &Crm, actor: Actor) -> ApiResult<HashMap<i64, User>> {
    Ok(crm.all::<User>(actor, None).await?.into_iter().map(|u| (u.id, u)).collect())
}

pub(crate) fn money(minor: i64, currency: &str) -> f64 {
    to_major(minor, currency)
}

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
