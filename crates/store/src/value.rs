//! Values that cross the store boundary, and the column types they are stored as.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// How a column is stored. Each type maps to one SQL type per backend (see `schema`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    Int,
    Bool,
    Float,
    Text,
    Time,
    Json,
}

/// One stored value. Times are UTC with microsecond precision (PostgreSQL's), so a value
/// read back equals the value written on both backends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Time(DateTime<Utc>),
    Json(serde_json::Value),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(v) => Some(v),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Self {
        Value::Time(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The current time, truncated to what both backends store.
pub fn now() -> DateTime<Utc> {
    truncate_micros(Utc::now())
}

pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    from_micros(t.timestamp_micros())
}

pub fn from_micros(us: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(us).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A value in a row that did not have the type its column promises.
#[derive(Debug, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct DecodeError {
    pub column: &'static str,
    pub message: String,
}

/// A Rust type that can live in one column. Entity structs are made of these.
pub trait FieldType: Sized {
    const TYPE: ColumnType;
    const NULLABLE: bool = false;
    fn to_value(&self) -> Value;
    fn from_value(v: Value) -> Result<Self, String>;
    /// Normalises a value before it is written: strings are trimmed.
    fn normalize(&mut self) {}
}

fn mismatch<T>(want: &str, got: &Value) -> Result<T, String> {
    Err(format!("expected {want}, found {got:?}"))
}

impl FieldType for i64 {
    const TYPE: ColumnType = ColumnType::Int;
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(i),
            other => mismatch("integer", &other),
        }
    }
}

impl FieldType for bool {
    const TYPE: ColumnType = ColumnType::Bool;
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(b),
            Value::Int(i) => Ok(i != 0),
            other => mismatch("boolean", &other),
        }
    }
}

impl FieldType for f64 {
    const TYPE: ColumnType = ColumnType::Float;
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Float(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            other => mismatch("number", &other),
        }
    }
}

impl FieldType for String {
    const TYPE: ColumnType = ColumnType::Text;
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s),
            other => mismatch("text", &other),
        }
    }
    fn normalize(&mut self) {
        let trimmed = self.trim();
        if trimmed.len() != self.len() {
            *self = trimmed.to_owned();
        }
    }
}

impl FieldType for DateTime<Utc> {
    const TYPE: ColumnType = ColumnType::Time;
    fn to_value(&self) -> Value {
        Value::Time(*self)
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Time(t) => Ok(t),
            other => mismatch("time", &other),
        }
    }
    fn normalize(&mut self) {
        *self = truncate_micros(*self);
    }
}

impl<T: FieldType> FieldType for Option<T> {
    const TYPE: ColumnType = T::TYPE;
    const NULLABLE: bool = true;
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
    fn normalize(&mut self) {
        if let Some(v) = self {
            v.normalize();
        }
        // An empty string after trimming means "no value".
        if matches!(self.as_ref().map(T::to_value), Some(Value::Text(ref s)) if s.is_empty()) {
            *self = None;
        }
    }
}

/// Structured data kept in one JSON column (lists of phones, custom-field values, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Json<T>(pub T);

impl<T: Serialize + DeserializeOwned> FieldType for Json<T> {
    const TYPE: ColumnType = ColumnType::Json;
    fn to_value(&self) -> Value {
        Value::Json(serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null))
    }
    fn from_value(v: Value) -> Result<Self, String> {
        match v {
            Value::Json(j) => serde_json::from_value(j).map(Json).map_err(|e| e.to_string()),
            Value::Null => serde_json::from_value(serde_json::Value::Null).map(Json).map_err(|e| e.to_string()),
            other => mismatch("json", &other),
        }
    }
}
