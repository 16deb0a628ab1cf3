//! Reads a OnePage JSON body field by field, collecting every problem into one 400.

use kith_domain::FieldError;
use serde_json::{Map, Value};

use crate::wire::{ApiError, parse_id};

pub struct Input {
    obj: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Input {
    pub fn new(obj: Map<String, Value>) -> Self {
        Input { obj, errors: Vec::new() }
    }

    pub fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// `None` when absent; `Some(None)` when null or blank.
    pub fn text(&mut self, key: &str, max: usize) -> Option<Option<String>> {
        match kith_http::json_text(self.obj.get(key)?, max) {
            Ok(v) => Some(v),
            Err(message) => {
                self.error(key, message);
                None
            }
        }
    }

    /// A text that must be one of `allowed`.
    pub fn one_of(&mut self, key: &str, allowed: &[&str]) -> Option<Option<String>> {
        let v = self.text(key, 100)?;
        match v {
            Some(s) if !allowed.contains(&s.as_str()) => {
                self.error(key, format!("must be one of: {}", allowed.join(", ")));
                None
            }
            v => Some(v),
        }
    }

    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.obj.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
            _ => {
                self.error(key, "must be true or false");
                None
            }
        }
    }

    /// A 24-hex id; `Some(None)` when null or blank.
    pub fn id(&mut self, key: &str) -> Option<Option<i64>> {
        match self.obj.get(key)? {
            Value::Null => Some(None),
            Value::String(s) if s.trim().is_empty() => Some(None),
            Value::String(s) => match parse_id(s.trim()) {
                Some(id) => Some(Some(id)),
                None => {
                    self.error(key, "is not a valid id");
                    None
                }
            },
            _ => {
                self.error(key, "must be an id string");
                None
            }
        }
    }

    /// An id that must be given: "is required" when missing, null or blank (after any
    /// "is not a valid id" error `id` reports).
    pub fn required_id(&mut self, key: &str) -> Option<i64> {
        let id = self.id(key).flatten();
        if id.is_none() {
            self.error(key, "is required");
        }
        id
    }

    /// An array of objects; `Some(vec![])` when null.
    pub fn objects(&mut self, key: &str, max_items: usize) -> Option<Vec<Map<String, Value>>> {
        match self.obj.get(key)? {
            Value::Null => Some(Vec::new()),
            Value::Array(items) => {
                if items.len() > max_items {
                    self.error(key, format!("must have at most {max_items} items"));
                    return None;
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Object(o) => out.push(o.clone()),
                        _ => {
                            self.error(format!("{key}[{i}]"), "must be an object");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            _ => {
                self.error(key, "must be an array");
                None
            }
        }
    }

    /// An array of strings; `Some(vec![])` when null.
    pub fn strings(&mut self, key: &str, max_len: usize) -> Option<Vec<String>> {
        match self.obj.get(key)? {
            Value::Null => Some(Vec::new()),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(s) if s.trim().chars().count() <= max_len => out.push(s.trim().to_owned()),
                        Some(_) => self.errors.push(FieldError::new(
                            format!("{key}[{i}]"),
                            format!("is too long (maximum is {max_len} characters)"),
                        )),
                        None => self.errors.push(FieldError::new(format!("{key}[{i}]"), "must be a string")),
                    }
                }
                Some(out)
            }
            // A comma-separated string is accepted too.
            Value::String(s) => Some(s.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()),
            _ => {
                self.error(key, "must be an array of strings");
                None
            }
        }
    }

    /// An integer (a JSON number without fraction, or such a string); `Some(None)` when null.
    pub fn integer(&mut self, key: &str) -> Option<Option<i64>> {
        match self.obj.get(key)? {
            Value::Null => Some(None),
            Value::Number(n) => {
                match n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
                {
                    Some(i) => Some(Some(i)),
                    None => {
                        self.error(key, "must be an integer");
                        None
                    }
                }
            }
            Value::String(s) if s.trim().is_empty() => Some(None),
            Value::String(s) => match s.trim().parse::<i64>() {
                Ok(i) => Some(Some(i)),
                Err(_) => {
                    self.error(key, "must be an integer");
                    None
                }
            },
            _ => {
                self.error(key, "must be an integer");
                None
            }
        }
    }

    /// A finite number (or a numeric string); `Some(None)` when null.
    pub fn number(&mut self, key: &str) -> Option<Option<f64>> {
        let v = match self.obj.get(key)? {
            Value::Null => return Some(None),
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s.trim().is_empty() => return Some(None),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match v.filter(|f| f.is_finite() && f.abs() < 1e13) {
            Some(f) => Some(Some(f)),
            None => {
                self.error(key, "must be a number");
                None
            }
        }
    }

    /// A calendar date `YYYY-MM-DD`; `Some(None)` when null or blank.
    pub fn date(&mut self, key: &str) -> Option<Option<String>> {
        let v = self.text(key, 10)?;
        match v {
            Some(d) if chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").is_err() => {
                self.error(key, "must be a date (YYYY-MM-DD)");
                None
            }
            v => Some(v),
        }
    }

    /// A UNIX time in seconds; `Some(None)` when null.
    pub fn unix_time(&mut self, key: &str) -> Option<Option<chrono::DateTime<chrono::Utc>>> {
        let secs = self.integer(key)?;
        match secs.map(|s| chrono::DateTime::from_timestamp(s, 0)) {
            None => Some(None),
            Some(Some(t)) => Some(Some(t)),
            Some(None) => {
                self.error(key, "is out of range");
                None
            }
        }
    }

    /// A JSON object; `Some(None)` when null.
    pub fn object(&mut self, key: &str) -> Option<Option<Map<String, Value>>> {
        match self.obj.get(key)? {
            Value::Null => Some(None),
            Value::Object(o) => Some(Some(o.clone())),
            _ => {
                self.error(key, "must be an object");
                None
            }
        }
    }

    /// Whether the body has `key` at all.
    pub fn has(&self, key: &str) -> bool {
        self.obj.contains_key(key)
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::invalid(self.errors)) }
    }
}

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
