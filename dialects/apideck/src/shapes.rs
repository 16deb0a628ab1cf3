//! Sub-objects shared by Apideck's resources: emails, phone numbers, websites, addresses and
//! custom fields, rendered from the model and read from request bodies.

use std::collections::BTreeMap;

use axum::body::Body;
use kith_domain::model::{Address, Channel, CustomFieldDefinition, CustomValues};
use kith_http::{AppState, Fields};
use serde_json::{Map, Value, json};

use crate::wire::{ApiError, ApiResult, ApideckWire};

pub type Body_ = Fields<ApideckWire>;

/// Reads a JSON object body.
pub async fn read(st: &AppState, body: Body) -> ApiResult<Body_> {
    let obj = kith_http::read_object::<ApiError>(body, st.config.json_body_limit).await?;
    kith_http::reject_nul::<ApiError>(&obj)?;
    Ok(Fields::new(obj))
}

pub fn emails(list: &[Channel]) -> Value {
    Value::Array(list.iter().map(|c| json!({ "email": c.value, "type": c.kind })).collect())
}

pub fn phones(list: &[Channel]) -> Value {
    Value::Array(list.iter().map(|c| json!({ "number": c.value, "type": c.kind })).collect())
}

pub fn websites(list: &[Channel]) -> Value {
    Value::Array(list.iter().map(|c| json!({ "url": c.value, "type": c.kind })).collect())
}

pub fn address(a: &Address) -> Value {
    json!({
        "type": a.kind,
        "line1": a.address,
        "city": a.city,
        "state": a.state,
        "postal_code": a.zip_code,
        "country": a.country_code,
    })
}

/// Custom values as `[{id, name, value}]`, in the definitions' order.
pub fn custom_fields(values: &CustomValues, defs: &[CustomFieldDefinition]) -> Value {
    Value::Array(
        defs.iter()
            .filter_map(|d| {
                let v = values.get(&d.id.to_string())?;
                Some(json!({ "id": d.id.to_string(), "name": d.name, "value": v }))
            })
            .collect(),
    )
}

/// The objects of an array field; `None` when absent (an error is recorded when it is not an
/// array of objects).
pub fn objects(b: &mut Body_, key: &str) -> Option<Vec<Map<String, Value>>> {
    let items = match b.raw(key)? {
        Value::Null => return Some(Vec::new()),
        Value::Array(items) => items.clone(),
        _ => {
            b.error(key, "must be an array");
            return None;
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Value::Object(m) => out.push(m),
            _ => {
                b.error(format!("{key}[{i}]"), "must be an object");
                return None;
            }
        }
    }
    Some(out)
}

pub fn text_in(b: &mut Body_, field: String, m: &Map<String, Value>, key: &str, max: usize) -> Option<String> {
    match m.get(key).map(|v| kith_http::json_text(v, max)) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(t))) => Some(t),
        Some(Err(message)) => {
            b.error(format!("{field}.{key}"), message);
            None
        }
    }
}

/// `emails` / `phone_numbers` / `websites` as channels: `value_key` holds the value (`email`,
/// `number`, `url`); the type defaults to `default_kind`. Entries without a value are skipped.
pub fn channels(b: &mut Body_, key: &str, value_key: &str, default_kind: &str) -> Option<Vec<Channel>> {
    let items = objects(b, key)?;
    let mut out = Vec::new();
    for (i, m) in items.iter().enumerate() {
        let field = format!("{key}[{i}]");
        let value = text_in(b, field.clone(), m, value_key, 255);
        let kind = text_in(b, field, m, "type", 50).unwrap_or_else(|| default_kind.to_owned());
        if let Some(value) = value {
            out.push(Channel { kind, value });
        }
    }
    Some(out)
}

/// `addresses` as the model's addresses (a country given by name or code is kept as its code).
pub fn addresses(b: &mut Body_) -> Option<Vec<Address>> {
    let items = objects(b, "addresses")?;
    let mut out = Vec::new();
    for (i, m) in items.iter().enumerate() {
        let field = format!("addresses[{i}]");
        let country = text_in(b, field.clone(), m, "country", 100);
        let a = Address {
            kind: text_in(b, field.clone(), m, "type", 50),
            address: text_in(b, field.clone(), m, "line1", 1000)
                .or_else(|| text_in(b, field.clone(), m, "string", 1000)),
            city: text_in(b, field.clone(), m, "city", 255),
            state: text_in(b, field.clone(), m, "state", 255),
            zip_code: text_in(b, field, m, "postal_code", 50),
            country_code: country
                .map(|c| kith_domain::countries::lookup(&c).map_or(c.clone(), |found| found.code.to_owned())),
        };
        out.push(a);
    }
    Some(out)
}

/// `tags`: an array of strings.
pub fn tags(b: &mut Body_) -> Option<Vec<String>> {
    match b.raw("tags")? {
        Value::Null => Some(Vec::new()),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            Some(items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        }
        _ => {
            b.error("tags", "must be an array of strings");
            None
        }
    }
}

/// `custom_fields: [{id|name, value}]` by definition id; the domain types the values.
pub fn custom_values(b: &mut Body_, defs: &[CustomFieldDefinition]) -> Option<BTreeMap<i64, Value>> {
    let items = objects(b, "custom_fields")?;
    let mut out = BTreeMap::new();
    for (i, m) in items.iter().enumerate() {
        let field = format!("custom_fields[{i}]");
        let by_id = match m.get("id") {
            Some(Value::String(s)) => defs.iter().find(|d| d.id.to_string() == s.trim()),
            Some(Value::Number(n)) => defs.iter().find(|d| Some(d.id) == n.as_i64()),
            _ => None,
        };
        let def = by_id.or_else(|| {
            let name = m.get("name").and_then(Value::as_str)?;
            defs.iter().find(|d| d.name == name.trim())
        });
        match def {
            Some(d) => {
                out.insert(d.id, m.get("value").cloned().unwrap_or(Value::Null));
            }
            None => b.error(field, "names no custom field of this resource (give its id or name)"),
        }
    }
    Some(out)
}
