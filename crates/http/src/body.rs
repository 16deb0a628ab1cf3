//! Request bodies: reading them within a size limit, refusing what no store can keep, and a
//! field-by-field reader that collects every problem into one validation error.

use std::marker::PhantomData;

use axum::body::{Body, Bytes};
use kith_domain::FieldError;
use serde_json::{Map, Value};

use crate::errors::WireError;

/// What a body reader needs to know of a dialect's wire format.
pub trait WireFormat: 'static {
    type Error: WireError;
    /// Reads an id field as the dialect spells ids: `Ok(None)` for null (or what the dialect
    /// takes as "no id"), `Err(message)` for anything that is not an id.
    fn read_id(value: &Value) -> Result<Option<i64>, &'static str>;
    /// Whether the strings `"true"` and `"false"` are read as booleans.
    const TEXT_BOOLEANS: bool = false;
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads a request body up to `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if err.is::<http_body_util::LengthLimitError>() {
                return BodyError::TooLarge;
            }
            source = err.source();
        }
        BodyError::Unreadable
    })
}

/// A body that is not the JSON a handler expects, with a message fit for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadJson(pub String);

/// Parses a JSON request body; an empty body is `{}`.
pub fn parse_json_object(body: &Bytes) -> Result<Map<String, Value>, BadJson> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(BadJson("the request body must be a JSON object".into())),
        Err(e) => Err(BadJson(format!("the request body is not valid JSON: {e}"))),
    }
}

/// Reads a JSON object body of at most `limit` bytes, in the dialect's errors.
pub async fn read_object<E: WireError>(body: Body, limit: usize) -> Result<Map<String, Value>, E> {
    let bytes = read_body(body, limit).await.map_err(|e| match e {
        BodyError::TooLarge => E::payload_too_large(),
        BodyError::Unreadable => E::bad_request("the request body could not be read".into()),
    })?;
    parse_json_object(&bytes).map_err(|e| E::bad_request(e.0))
}

/// The message for text that holds a NUL character.
pub const NUL_MESSAGE: &str = "must not contain NUL (\\u0000) characters";

/// Kith keeps no text with a NUL character, on any backend (PostgreSQL cannot store one), so a
/// body holding one anywhere is refused as invalid, naming each field (`phones[0].value`).
pub fn reject_nul<E: WireError>(obj: &Map<String, Value>) -> Result<(), E> {
    let mut fields = Vec::new();
    for (key, value) in obj {
        nul_fields(key, value, &mut fields);
    }
    if fields.is_empty() { Ok(()) } else { Err(E::invalid(fields)) }
}

fn nul_fields(path: &str, value: &Value, out: &mut Vec<FieldError>) {
    if path.contains('\0') {
        out.push(FieldError::new(path.replace('\0', "\\u0000"), NUL_MESSAGE));
        return;
    }
    match value {
        Value::String(s) if s.contains('\0') => out.push(FieldError::new(path, NUL_MESSAGE)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                nul_fields(&format!("{path}[{i}]"), item, out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                nul_fields(&format!("{path}.{key}"), item, out);
            }
        }
        _ => {}
    }
}

/// A JSON string field as a trimmed text: `Ok(None)` for null or blank, `Err` with a message for
/// a value that is not a string or longer than `max` characters.
pub fn json_text(value: &Value, max: usize) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => {
            let t = s.trim();
            if t.chars().count() > max {
                return Err(format!("is too long (maximum is {max} characters)"));
            }
            Ok((!t.is_empty()).then(|| t.to_owned()))
        }
        _ => Err("must be a string".into()),
    }
}

/// Reads a JSON object field by field. Each reader answers `None` when the field is absent or
/// invalid (recording why), so a handler reads every field and then calls [`Fields::finish`]
/// to fail once with every problem.
pub struct Fields<W> {
    obj: Map<String, Value>,
    errors: Vec<FieldError>,
    wire: PhantomData<W>,
}

impl<W: WireFormat> Fields<W> {
    pub fn new(obj: Map<String, Value>) -> Self {
        Fields { obj, errors: Vec::new(), wire: PhantomData }
    }

    pub fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Whether the body has `key` at all.
    pub fn has(&self, key: &str) -> bool {
        self.obj.contains_key(key)
    }

    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.obj.get(key)
    }

    /// `None` when absent; `Some(None)` when null or blank.
    pub fn text(&mut self, key: &str, max: usize) -> Option<Option<String>> {
        match json_text(self.obj.get(key)?, max) {
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
            Value::String(s) if W::TEXT_BOOLEANS && (s == "true" || s == "false") => Some(s == "true"),
            _ => {
                self.error(key, "must be true or false");
                None
            }
        }
    }

    /// An id in the dialect's form; `Some(None)` when null (or blank, where the dialect says so).
    pub fn id(&mut self, key: &str) -> Option<Option<i64>> {
        match W::read_id(self.obj.get(key)?) {
            Ok(id) => Some(id),
            Err(message) => {
                self.error(key, message);
                None
            }
        }
    }

    /// An id that must be given: "is required" when missing or null (after any error `id`
    /// reports).
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

    /// An array of strings (or one comma-separated string); `Some(vec![])` when null.
    pub fn strings(&mut self, key: &str, max_len: usize) -> Option<Vec<String>> {
        match self.obj.get(key)? {
            Value::Null => Some(Vec::new()),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut errors = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(s) if s.trim().chars().count() <= max_len => out.push(s.trim().to_owned()),
                        Some(_) => errors.push(FieldError::new(
                            format!("{key}[{i}]"),
                            format!("is too long (maximum is {max_len} characters)"),
                        )),
                        None => errors.push(FieldError::new(format!("{key}[{i}]"), "must be a string")),
                    }
                }
                self.errors.extend(errors);
                Some(out)
            }
            Value::String(s) => Some(s.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()),
            _ => {
                self.error(key, "must be an array of strings");
                None
            }
        }
    }

    /// A whole tag set: distinct (ignoring case) non-empty strings of at most 100 characters.
    pub fn tags(&mut self, key: &str) -> Option<Vec<String>> {
        match self.obj.get(key)? {
            Value::Null => Some(Vec::new()),
            Value::Array(items) => {
                let mut out: Vec<String> = Vec::new();
                for item in items {
                    match item.as_str().map(str::trim) {
                        Some(t) if !t.is_empty() && t.chars().count() <= 100 => {
                            if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
                                out.push(t.to_owned());
                            }
                        }
                        _ => {
                            self.error(key, "must be an array of non-empty strings of at most 100 characters");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            _ => {
                self.error(key, "must be an array of strings");
                None
            }
        }
    }

    /// An integer (a JSON number without fraction, or such a string); `Some(None)` when null.
    pub fn integer(&mut self, key: &str) -> Option<Option<i64>> {
        let v = match self.obj.get(key)? {
            Value::Null => return Some(None),
            Value::String(s) if s.trim().is_empty() => return Some(None),
            Value::Number(n) => {
                n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
            }
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        if v.is_none() {
            self.error(key, "must be an integer");
        }
        v.map(Some)
    }

    /// A finite number (or a numeric string) below 10^13 in size; `Some(None)` when null.
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
        match secs.map(crate::unix_time) {
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

    /// Fails with every problem found, in the dialect's validation error.
    pub fn finish(self) -> Result<(), W::Error> {
        if self.errors.is_empty() { Ok(()) } else { Err(W::Error::invalid(self.errors)) }
    }
}
