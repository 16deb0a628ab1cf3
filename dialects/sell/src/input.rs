//! Reads a Sell `data` object field by field, collecting every problem into one 422.

use kith_domain::FieldError;
use serde_json::{Map, Value};

use crate::wire::ApiError;

pub struct Data {
    obj: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Data {
    pub fn new(obj: Map<String, Value>) -> Self {
        Data { obj, errors: Vec::new() }
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    pub fn has(&self, key: &str) -> bool {
        self.obj.contains_key(key)
    }

    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.obj.get(key)
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

    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.obj.get(key)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.error(key, "must be true or false");
                None
            }
        }
    }

    /// An integer id; `Some(None)` when null.
    pub fn id(&mut self, key: &str) -> Option<Option<i64>> {
        match self.obj.get(key)? {
            Value::Null => Some(None),
            Value::Number(n) if n.as_i64().is_some_and(|i| i > 0) => Some(n.as_i64()),
            Value::String(s) if s.trim().parse::<i64>().is_ok_and(|i| i > 0) => s.trim().parse().ok().map(Some),
            _ => {
                self.error(key, "must be a positive integer id");
                None
            }
        }
    }

    /// The whole tag set (Sell replaces tags on every write).
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

    pub fn object(&mut self, key: &str) -> Option<Option<Map<String, Value>>> {
        match self.obj.get(key)? {
            Value::Null => Some(None),
            Value::Object(m) => Some(Some(m.clone())),
            _ => {
                self.error(key, "must be an object");
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::invalid(self.errors)) }
    }
}
