//! Custom object schemas and their objects: record types an account defines for itself (a
//! "project", a "subscription"), each a name and a list of typed fields, and the records of
//! each type.
//!
//! The rules:
//! - A schema has a name (unique in the account, ignoring case) and up to 100 fields. A field
//!   has a name (unique in its schema, ignoring case), a type (`string number integer boolean
//!   date datetime currency email phone reference select multiselect`), whether it is
//!   required, options (required for `select` and `multiselect`: their values are what the
//!   field may hold) and a default value (which must itself be a valid value). A field's `id`
//!   is its name unless given.
//! - An object's values are checked against its schema on every write: a field the schema does
//!   not have is refused; each value must be of its field's type; a required field must have a
//!   value (its default fills it on create). Values are kept as text in a canonical form
//!   (numbers as written by JSON, booleans `true`/`false`, dates `YYYY-MM-DD`, times RFC 3339 UTC,
//!   multiselect values comma separated).
//! - Changing a schema's fields does not rewrite its objects: a value of a field removed is no
//!   longer shown, and the next write of the object checks it against the new fields.
//! - A schema with objects cannot be deleted (delete its objects first).

use chrono::Utc;
use kith_store::{Filter, Json, ListQuery, Page, Tx};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity;
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};

pub const SCHEMA_NAME_MAX: usize = 100;
pub const SCHEMA_DESCRIPTION_MAX: usize = 1000;
pub const SCHEMA_FIELDS_MAX: usize = 100;
pub const FIELD_NAME_MAX: usize = 100;
pub const OPTIONS_MAX: usize = 200;
pub const OBJECT_NAME_MAX: usize = 255;
pub const VALUE_MAX: usize = 10_000;

/// The field types a schema may use.
pub const FIELD_TYPES: &[&str] = &[
    "string",
    "number",
    "integer",
    "boolean",
    "date",
    "datetime",
    "currency",
    "email",
    "phone",
    "reference",
    "select",
    "multiselect",
];

/// One option of a `select` or `multiselect` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldOption {
    pub value: String,
    pub label: Option<String>,
}

/// One field of a schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaField {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub field_type: String,
    pub required: bool,
    pub options: Option<Vec<FieldOption>>,
    pub default_value: Option<String>,
}

entity! {
    /// A record type an account defines: a name and typed fields.
    CustomObjectSchema, table = "custom_object_schemas", kind = "custom_object_schema", soft_delete = false,
    since = 6,
    indexes = [&["name_key"]], unique = [&["name_key"]],
    {
        name: String,
        /// The name lower-cased, unique in the account.
        name_key: String,
        description: Option<String>,
        fields: Json<Vec<SchemaField>>,
        visible: bool,
        active: bool,
        created_by: Option<i64>,
        updated_by: Option<i64>,
    }
}

entity! {
    /// A record of a custom object schema: its values by field name.
    CustomObject, table = "custom_objects", kind = "custom_object", soft_delete = false,
    since = 6,
    indexes = [&["schema_id", "created_at"], &["schema_id", "updated_at"], &["schema_id", "name"]], unique = [],
    {
        schema_id: i64,
        name: String,
        owner_id: Option<i64>,
        field_values: Json<BTreeMap<String, String>>,
        created_by: Option<i64>,
        updated_by: Option<i64>,
    }
}

/// A schema to create, or the changes to one (`None`: unchanged; `fields` given whole).
#[derive(Debug, Clone, Default)]
pub struct SchemaChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub fields: Option<Vec<FieldInput>>,
    pub visible: Option<bool>,
    pub active: Option<bool>,
}

/// A field as a client gives it (type and options unchecked).
#[derive(Debug, Clone, Default)]
pub struct FieldInput {
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub field_type: String,
    pub required: bool,
    pub options: Option<Vec<FieldOption>>,
    pub default_value: Option<String>,
}

/// An object to create, or the changes to one. `values` name fields; a `None` value clears it.
#[derive(Debug, Clone, Default)]
pub struct ObjectChanges {
    pub name: Option<String>,
    pub owner_id: Option<Option<i64>>,
    pub values: Vec<(String, Option<serde_json::Value>)>,
}

fn trimmed(s: &str) -> String {
    s.trim().to_owned()
}

/// Checks and normalises a schema's fields; errors are reported as `fields[i].x`.
fn check_fields(e: &mut Errors, input: Vec<FieldInput>) -> Vec<SchemaField> {
    if input.len() > SCHEMA_FIELDS_MAX {
        e.add("fields", format!("must be at most {SCHEMA_FIELDS_MAX}"));
    }
    let mut out: Vec<SchemaField> = Vec::new();
    for (i, f) in input.into_iter().enumerate() {
        let at = |k: &str| format!("fields[{i}].{k}");
        let name = trimmed(&f.name);
        if name.is_empty() {
            e.add(at("name"), "is required");
        }
        e.max_len(&at("name"), Some(&name), FIELD_NAME_MAX);
        if out.iter().any(|o| o.name.eq_ignore_ascii_case(&name)) {
            e.add(at("name"), "is the name of another field of the schema");
        }
        let id = f.id.map(|s| trimmed(&s)).filter(|s| !s.is_empty()).unwrap_or_else(|| name.clone());
        e.max_len(&at("id"), Some(&id), FIELD_NAME_MAX);
        if out.iter().any(|o| o.id == id) {
            e.add(at("id"), "is the id of another field of the schema");
        }
        let field_type = f.field_type.trim().to_ascii_lowercase();
        if !FIELD_TYPES.contains(&field_type.as_str()) {
            e.add(at("type"), format!("must be one of {}", FIELD_TYPES.join(", ")));
        }
        let has_options = matches!(field_type.as_str(), "select" | "multiselect");
        let options: Option<Vec<FieldOption>> = f.options.map(|list| {
            list.into_iter()
                .map(|o| FieldOption { value: trimmed(&o.value), label: o.label.map(|l| trimmed(&l)) })
                .collect()
        });
        match &options {
            Some(list) if has_options => {
                if list.is_empty() {
                    e.add(at("options"), "are required for this type");
                }
                if list.len() > OPTIONS_MAX {
                    e.add(at("options"), format!("must be at most {OPTIONS_MAX}"));
                }
                for (j, o) in list.iter().enumerate() {
                    if o.value.is_empty() || o.value.contains(',') {
                        e.add(format!("fields[{i}].options[{j}].value"), "must be non-empty text without commas");
                    }
                }
            }
            None if has_options => e.add(at("options"), "are required for this type"),
            _ => {}
        }
        let mut field = SchemaField {
            id,
            name,
            description: f.description.map(|d| trimmed(&d)).filter(|d| !d.is_empty()),
            field_type,
            required: f.required,
            options: if has_options { options } else { None },
            default_value: None,
        };
        if let Some(d) = f.default_value.filter(|d| !d.trim().is_empty()) {
            match canonical(&field, &serde_json::Value::String(d)) {
                Ok(v) => field.default_value = Some(v),
                Err(m) => e.add(at("default_value"), m),
            }
        }
        out.push(field);
    }
    out
}

/// A value as its field keeps it, or why it is not one.
pub fn canonical(field: &SchemaField, value: &serde_json::Value) -> std::result::Result<String, String> {
    use serde_json::Value as J;
    let text = match value {
        J::String(s) => s.trim().to_owned(),
        J::Number(n) => n.to_string(),
        J::Bool(b) => b.to_string(),
        J::Array(items) if field.field_type == "multiselect" => {
            let parts: Option<Vec<&str>> = items.iter().map(J::as_str).collect();
            parts.ok_or("must be text or an array of text")?.join(",")
        }
        _ => return Err("must be text".into()),
    };
    if text.chars().count() > VALUE_MAX {
        return Err(format!("must be at most {VALUE_MAX} characters"));
    }
    let options = || field.options.as_deref().unwrap_or_default();
    Ok(match field.field_type.as_str() {
        "number" | "currency" => {
            let n: f64 = text.parse().map_err(|_| "must be a number")?;
            if !n.is_finite() {
                return Err("must be a finite number".into());
            }
            serde_json::Number::from_f64(n).map(|n| n.to_string()).ok_or("must be a number")?
        }
        "integer" => text.parse::<i64>().map_err(|_| "must be a whole number")?.to_string(),
        "boolean" => match text.to_ascii_lowercase().as_str() {
            "true" => "true".into(),
            "false" => "false".into(),
            _ => return Err("must be true or false".into()),
        },
        "date" => chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| "must be a date (YYYY-MM-DD)")?
            .format("%Y-%m-%d")
            .to_string(),
        "datetime" => chrono::DateTime::parse_from_rfc3339(&text)
            .map_err(|_| "must be an RFC 3339 time")?
            .with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "email" => {
            let mut e = Errors::default();
            crate::auth::validate_email(&mut e, "value", &text);
            if e.finish().is_err() {
                return Err("is not a valid email address".into());
            }
            text
        }
        "phone" => {
            if text.chars().count() > 50 || !text.chars().any(|c| c.is_ascii_digit()) {
                return Err("must be a phone number".into());
            }
            text
        }
        "select" => {
            if !options().iter().any(|o| o.value == text) {
                return Err("must be one of the field's options".into());
            }
            text
        }
        "multiselect" => {
            let mut picked: Vec<&str> = Vec::new();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if !options().iter().any(|o| o.value == part) {
                    return Err(format!("{part:?} is not one of the field's options"));
                }
                if !picked.contains(&part) {
                    picked.push(part);
                }
            }
            picked.join(",")
        }
        _ => text,
    })
}

impl Crm {
    /// Creates a custom object schema.
    pub async fn create_object_schema(&self, actor: Actor, c: SchemaChanges) -> Result<CustomObjectSchema> {
        let t = Utc::now();
        let mut s = CustomObjectSchema {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            name: String::new(),
            name_key: String::new(),
            description: None,
            fields: Json(Vec::new()),
            visible: true,
            active: true,
            created_by: Some(actor.user_id),
            updated_by: Some(actor.user_id),
        };
        let mut e = Errors::default();
        if c.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            e.add("name", "is required");
        }
        apply_schema(&mut e, &mut s, c);
        e.finish()?;
        let mut tx = self.begin(actor).await?;
        let name = s.name.clone();
        let s = insert_in(&mut tx, s).await.map_err(name_taken(&name))?;
        tx.commit().await?;
        Ok(s)
    }

    /// Changes a schema (its fields given whole).
    pub async fn change_object_schema(&self, actor: Actor, id: i64, c: SchemaChanges) -> Result<CustomObjectSchema> {
        let mut tx = self.begin(actor).await?;
        let mut s: CustomObjectSchema = get_in(&mut tx, id).await?;
        let mut e = Errors::default();
        if c.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            e.add("name", "can't be blank");
        }
        apply_schema(&mut e, &mut s, c);
        e.finish()?;
        s.updated_by = Some(actor.user_id);
        let name = s.name.clone();
        let s = save_in(&mut tx, &s).await.map_err(name_taken(&name))?;
        tx.commit().await?;
        Ok(s)
    }

    /// Deletes a schema that has no objects.
    pub async fn delete_object_schema(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        get_in::<CustomObjectSchema>(&mut tx, id).await?;
        let q = ListQuery::new(Page::Offset { offset: 0, limit: 1 }).filter(Filter::eq("schema_id", id));
        if !tx.list(CustomObject::SPEC, &q).await?.rows.is_empty() {
            return Err(DomainError::Conflict("the schema has objects: delete them first".into()));
        }
        tx.delete(CustomObjectSchema::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An object of a schema (`NotFound` when it is another schema's).
    pub async fn custom_object(&self, actor: Actor, schema_id: i64, id: i64) -> Result<CustomObject> {
        match self.find::<CustomObject>(actor, id).await? {
            Some(o) if o.schema_id == schema_id => Ok(o),
            _ => Err(DomainError::NotFound { kind: CustomObject::SPEC.kind }),
        }
    }

    /// Creates an object of a schema, its values checked against the schema.
    pub async fn create_custom_object(&self, actor: Actor, schema_id: i64, c: ObjectChanges) -> Result<CustomObject> {
        let mut tx = self.begin(actor).await?;
        let schema: CustomObjectSchema = get_in(&mut tx, schema_id).await?;
        let t = Utc::now();
        let mut o = CustomObject {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            schema_id,
            name: String::new(),
            owner_id: Some(actor.user_id),
            field_values: Json(BTreeMap::new()),
            created_by: Some(actor.user_id),
            updated_by: Some(actor.user_id),
        };
        for f in &schema.fields.0 {
            if let Some(d) = &f.default_value {
                o.field_values.0.insert(f.name.clone(), d.clone());
            }
        }
        apply_object(&mut tx, &schema, &mut o, c).await?;
        let o = insert_in(&mut tx, o).await?;
        tx.commit().await?;
        Ok(o)
    }

    /// Changes an object: the values given (others kept), checked against its schema.
    pub async fn change_custom_object(
        &self,
        actor: Actor,
        schema_id: i64,
        id: i64,
        c: ObjectChanges,
    ) -> Result<CustomObject> {
        let mut tx = self.begin(actor).await?;
        let schema: CustomObjectSchema = get_in(&mut tx, schema_id).await?;
        let mut o: CustomObject = get_in(&mut tx, id).await?;
        if o.schema_id != schema_id {
            return Err(DomainError::NotFound { kind: CustomObject::SPEC.kind });
        }
        o.updated_by = Some(actor.user_id);
        apply_object(&mut tx, &schema, &mut o, c).await?;
        let o = save_in(&mut tx, &o).await?;
        tx.commit().await?;
        Ok(o)
    }

    /// Deletes an object of a schema.
    pub async fn delete_custom_object(&self, actor: Actor, schema_id: i64, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let o: CustomObject = get_in(&mut tx, id).await?;
        if o.schema_id != schema_id {
            return Err(DomainError::NotFound { kind: CustomObject::SPEC.kind });
        }
        tx.delete(CustomObject::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn name_taken(name: &str) -> impl Fn(DomainError) -> DomainError + '_ {
    move |e| match e {
        DomainError::Conflict(_) => DomainError::Conflict(format!("a custom object schema named {name:?} exists")),
        e => e,
    }
}

fn apply_schema(e: &mut Errors, s: &mut CustomObjectSchema, c: SchemaChanges) {
    if let Some(name) = c.name {
        let name = trimmed(&name);
        e.max_len("name", Some(&name), SCHEMA_NAME_MAX);
        s.name_key = name.to_lowercase();
        s.name = name;
    }
    if let Some(d) = c.description {
        e.max_len("description", d.as_deref(), SCHEMA_DESCRIPTION_MAX);
        s.description = d;
    }
    if let Some(fields) = c.fields {
        s.fields = Json(check_fields(e, fields));
    }
    if let Some(v) = c.visible {
        s.visible = v;
    }
    if let Some(v) = c.active {
        s.active = v;
    }
}

async fn apply_object(tx: &mut Tx, schema: &CustomObjectSchema, o: &mut CustomObject, c: ObjectChanges) -> Result<()> {
    let mut e = Errors::default();
    if let Some(name) = c.name {
        let name = trimmed(&name);
        e.max_len("name", Some(&name), OBJECT_NAME_MAX);
        o.name = name;
    }
    if let Some(owner) = c.owner_id {
        if let Some(id) = owner
            && tx.get(crate::model::User::SPEC, id, kith_store::Visibility::Live).await?.is_none()
        {
            e.add("owner_id", "must be a user of this account");
        }
        o.owner_id = owner;
    }
    for (i, (name, value)) in c.values.into_iter().enumerate() {
        let at = format!("fields[{i}]");
        let Some(field) = schema.fields.0.iter().find(|f| f.name == name.trim() || f.id == name.trim()) else {
            e.add(format!("{at}.name"), format!("{:?} is not a field of schema {:?}", name.trim(), schema.name));
            continue;
        };
        match value.filter(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty())) {
            None => {
                o.field_values.0.remove(&field.name);
            }
            Some(v) => match canonical(field, &v) {
                Ok(v) => {
                    o.field_values.0.insert(field.name.clone(), v);
                }
                Err(m) => e.add(format!("{at}.value"), m),
            },
        }
    }
    // Values of fields the schema no longer has go; required fields must have one.
    o.field_values.0.retain(|k, _| schema.fields.0.iter().any(|f| &f.name == k));
    for f in schema.fields.0.iter().filter(|f| f.required) {
        if !o.field_values.0.contains_key(&f.name) {
            e.add(format!("fields.{}", f.name), "is required");
        }
    }
    e.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(t: &str, options: &[&str]) -> SchemaField {
        SchemaField {
            id: "f".into(),
            name: "f".into(),
            description: None,
            field_type: t.into(),
            required: false,
            options: (!options.is_empty())
                .then(|| options.iter().map(|o| FieldOption { value: (*o).into(), label: None }).collect()),
            default_value: None,
        }
    }

    #[test]
    fn values_are_checked_and_kept_in_canonical_form() {
        use serde_json::json;
        let ok = |t: &str, opts: &[&str], v: serde_json::Value| canonical(&field(t, opts), &v);
        assert_eq!(ok("number", &[], json!("1.50")), Ok("1.5".into()));
        assert_eq!(ok("number", &[], json!(3)), Ok("3.0".into()));
        assert!(ok("number", &[], json!("x")).is_err());
        assert!(ok("number", &[], json!("NaN")).is_err());
        assert_eq!(ok("integer", &[], json!("42")), Ok("42".into()));
        assert!(ok("integer", &[], json!("4.2")).is_err());
        assert_eq!(ok("boolean", &[], json!(true)), Ok("true".into()));
        assert_eq!(ok("boolean", &[], json!("FALSE")), Ok("false".into()));
        assert!(ok("boolean", &[], json!("yes")).is_err());
        assert_eq!(ok("date", &[], json!("2026-02-03")), Ok("2026-02-03".into()));
        assert!(ok("date", &[], json!("2026-02-30")).is_err());
        assert_eq!(ok("datetime", &[], json!("2026-02-03T10:00:00+01:00")), Ok("2026-02-03T09:00:00.000Z".into()));
        assert!(ok("email", &[], json!("nope")).is_err());
        assert_eq!(ok("select", &["a", "b"], json!("b")), Ok("b".into()));
        assert!(ok("select", &["a", "b"], json!("c")).is_err());
        assert_eq!(ok("multiselect", &["a", "b"], json!(["b", "a", "b"])), Ok("b,a".into()));
        assert!(ok("multiselect", &["a", "b"], json!("a,z")).is_err());
        assert!(ok("string", &[], json!({"x": 1})).is_err());
    }

    #[test]
    fn fields_need_names_types_and_options() {
        let mut e = Errors::default();
        let f = |name: &str, t: &str| FieldInput { name: name.into(), field_type: t.into(), ..Default::default() };
        let out = check_fields(&mut e, vec![f("a", "string"), f("A", "string"), f("b", "colour"), f("c", "select")]);
        assert_eq!(out[0].id, "a", "a field's id is its name unless given");
        let DomainError::Invalid(errors) = e.finish().unwrap_err() else { panic!("invalid") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["fields[1].name", "fields[2].type", "fields[3].options"]);
    }
}
