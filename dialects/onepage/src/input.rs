//! OnePage bodies: the kit's field reader over OnePage ids, and the readers of OnePage's
//! nested shapes (custom values, channels).

use serde_json::Value;

use crate::wire::{OnePageWire, parse_id};

/// A OnePage body, read field by field with the kit's reader (24-hex ids).
pub type Input = kith_http::Fields<OnePageWire>;

/// Reads `[{<item_key>: {id} or {name}, value}]` (company or deal field values) into values by
/// definition id; unknown fields are errors. `None` when `key` is absent.
pub fn field_values(
    input: &mut Input,
    key: &str,
    item_key: &str,
    defs: &[kith_domain::model::CustomFieldDefinition],
) -> Option<std::collections::BTreeMap<i64, Value>> {
    let items = input.objects(key, 200)?;
    let mut out = std::collections::BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let field = item.get(item_key);
        let by_id = field.and_then(|f| f.get("id")).and_then(Value::as_str).and_then(parse_id);
        let by_name = field.and_then(|f| f.get("name")).and_then(Value::as_str).map(str::trim);
        let def = defs.iter().find(|d| Some(d.id) == by_id || by_name.is_some_and(|n| d.name.eq_ignore_ascii_case(n)));
        match def {
            Some(d) => {
                out.insert(d.id, item.get("value").cloned().unwrap_or(Value::Null));
            }
            None => input.error(format!("{key}[{i}].{item_key}"), "no such field"),
        }
    }
    Some(out)
}

/// A stored custom value as the document's `value` string: numbers and flags as text, lists
/// joined with commas.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(","),
        Value::Null => String::new(),
        // An address value: its parts, one line each.
        Value::Object(_) => match serde_json::from_value::<kith_domain::model::Address>(v.clone()) {
            Ok(a) => [a.address, a.city, a.state, a.zip_code, a.country_code]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n"),
            Err(_) => v.to_string(),
        },
        // Whole numbers read as integers (numbers are stored as floats).
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Reads `type`/`value` pairs, checking the type against `kinds`.
pub fn channels(input: &mut Input, key: &str, kinds: &[&str]) -> Option<Vec<kith_domain::model::Channel>> {
    let items = input.objects(key, 50)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let value = item.get("value").and_then(Value::as_str).map(str::trim).unwrap_or_default();
        if value.is_empty() {
            input.error(format!("{key}[{i}].value"), "is required");
            continue;
        }
        let kind = match item.get("type") {
            None | Some(Value::Null) => kinds.first().copied().unwrap_or("other").to_owned(),
            Some(Value::String(k)) if kinds.contains(&k.as_str()) => k.clone(),
            Some(_) => {
                input.error(format!("{key}[{i}].type"), format!("must be one of: {}", kinds.join(", ")));
                continue;
            }
        };
        out.push(kith_domain::model::Channel { kind, value: value.to_owned() });
    }
    Some(out)
}
