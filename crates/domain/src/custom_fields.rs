//! Typed custom fields: definitions per entity kind, and validation of values against them.

use chrono::NaiveDate;
use kith_store::{CustomType, Field, Filter, Json};
use serde_json::Value as J;

use crate::crm::{Actor, Crm};
use crate::error::{DomainError, Errors, Result};
use crate::model::{Address, CustomFieldDefinition, CustomValues};

/// The kinds of custom field the model knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    MultiLineText,
    Number,
    Date,
    Anniversary,
    Dropdown,
    MultiSelect,
    ExternalId,
    SectionDivider,
    Address,
    Boolean,
}

impl FieldKind {
    pub const ALL: [FieldKind; 11] = [
        FieldKind::Text,
        FieldKind::MultiLineText,
        FieldKind::Number,
        FieldKind::Date,
        FieldKind::Anniversary,
        FieldKind::Dropdown,
        FieldKind::MultiSelect,
        FieldKind::ExternalId,
        FieldKind::SectionDivider,
        FieldKind::Address,
        FieldKind::Boolean,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::MultiLineText => "multi_line_text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Anniversary => "anniversary",
            FieldKind::Dropdown => "dropdown",
            FieldKind::MultiSelect => "multi_select",
            FieldKind::ExternalId => "external_id",
            FieldKind::SectionDivider => "section_divider",
            FieldKind::Address => "address",
            FieldKind::Boolean => "boolean",
        }
    }

    pub fn parse(name: &str) -> Option<FieldKind> {
        FieldKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A kind by Kith's name or by Sell's name for it (`string`, `list`, `multi_select_list`,
    /// `bool`; Sell's `text`, a multi-line text, is Kith's one-line `text` here).
    pub fn parse_any(name: &str) -> Option<FieldKind> {
        FieldKind::parse(name).or(match name {
            "string" => Some(FieldKind::Text),
            "list" => Some(FieldKind::Dropdown),
            "multi_select_list" => Some(FieldKind::MultiSelect),
            "bool" => Some(FieldKind::Boolean),
            _ => None,
        })
    }

    /// How values of this kind compare in filters and sorts.
    pub fn compare_as(self) -> CustomType {
        match self {
            FieldKind::Number => CustomType::Number,
            FieldKind::Boolean => CustomType::Bool,
            _ => CustomType::Text,
        }
    }

    pub fn has_choices(self) -> bool {
        matches!(self, FieldKind::Dropdown | FieldKind::MultiSelect)
    }
}

impl CustomFieldDefinition {
    pub fn kind(&self) -> FieldKind {
        FieldKind::parse(&self.field_type).unwrap_or(FieldKind::Text)
    }

    /// The store field that filters and sorts on this definition's values.
    pub fn store_field(&self) -> Field {
        Field::Custom { key: self.id.to_string(), ty: self.kind().compare_as() }
    }
}

/// Entity kinds that carry custom fields.
pub const CUSTOM_FIELD_KINDS: &[&str] = &["contact", "company", "deal", "lead"];

/// Checks one value against its definition and returns it in stored form, or `None` for
/// "no value". Text is trimmed; numbers may arrive as numeric strings.
pub fn coerce(def: &CustomFieldDefinition, value: &J) -> Result<Option<J>, String> {
    if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
        return Ok(None);
    }
    let as_text = || match value {
        J::String(s) => Some(s.trim().to_owned()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let kind = def.kind();
    let stored = match kind {
        FieldKind::Text | FieldKind::ExternalId => {
            let s = as_text().ok_or("must be text")?;
            if s.chars().count() > 1000 {
                return Err("must be at most 1000 characters".into());
            }
            J::String(s)
        }
        FieldKind::MultiLineText => {
            let s = as_text().ok_or("must be text")?;
            if s.chars().count() > 10_000 {
                return Err("must be at most 10000 characters".into());
            }
            J::String(s)
        }
        FieldKind::Number => {
            let n = match value {
                J::Number(n) => n.as_f64(),
                J::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|n| n.is_finite())
            .ok_or("must be a number")?;
            serde_json::Number::from_f64(n).map(J::Number).ok_or("must be a number")?
        }
        FieldKind::Date | FieldKind::Anniversary => {
            let s = as_text().ok_or("must be a date (YYYY-MM-DD)")?;
            NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| "must be a date (YYYY-MM-DD)")?;
            J::String(s)
        }
        FieldKind::Dropdown => {
            let s = as_text().ok_or("must be one of the field's choices")?;
            let choice = def
                .choices
                .0
                .iter()
                .find(|c| **c == s)
                .ok_or_else(|| format!("{s:?} is not one of the field's choices"))?;
            J::String(choice.clone())
        }
        FieldKind::MultiSelect => {
            let items: Vec<String> = match value {
                J::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(|s| s.trim().to_owned()).ok_or("choices must be text"))
                    .collect::<Result<_, _>>()?,
                J::String(s) => s.split('|').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
                _ => return Err("must be a list of the field's choices".into()),
            };
            let mut out = Vec::new();
            for item in items {
                if !def.choices.0.contains(&item) {
                    return Err(format!("{item:?} is not one of the field's choices"));
                }
                if !out.contains(&item) {
                    out.push(item);
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            J::Array(out.into_iter().map(J::String).collect())
        }
        FieldKind::Address => {
            let addr: Address = serde_json::from_value(value.clone()).map_err(|_| "must be an address object")?;
            serde_json::to_value(addr).map_err(|e| e.to_string())?
        }
        FieldKind::Boolean => match value {
            J::Bool(b) => J::Bool(*b),
            J::String(s) if s.eq_ignore_ascii_case("true") => J::Bool(true),
            J::String(s) if s.eq_ignore_ascii_case("false") => J::Bool(false),
            _ => return Err("must be true or false".into()),
        },
        FieldKind::SectionDivider => return Err("a section divider holds no value".into()),
    };
    Ok(Some(stored))
}

/// Validates a full set of values (keyed by definition id) for an entity kind.
/// Drops from `values` those `stored` held for definitions deleted since: a record keeps no value
/// of a field that has gone, so writing a record back as read still saves. A value for an
/// unknown field that the record did not hold is left for `validate_values` to refuse.
pub(crate) fn drop_deleted(
    defs: &[CustomFieldDefinition],
    stored: &CustomValues,
    values: &mut std::collections::BTreeMap<i64, J>,
) {
    values.retain(|id, _| defs.iter().any(|d| d.id == *id) || !stored.contains_key(&id.to_string()));
}

pub(crate) fn validate_values(
    defs: &[CustomFieldDefinition],
    kind: &str,
    input: &std::collections::BTreeMap<i64, J>,
) -> Result<CustomValues> {
    let mut errors = Errors::default();
    let mut out = CustomValues::new();
    for (id, value) in input {
        let Some(def) = defs.iter().find(|d| d.id == *id && d.entity_kind == kind) else {
            errors.add(format!("custom_fields.{id}"), "no such custom field");
            continue;
        };
        match coerce(def, value) {
            Ok(Some(v)) => {
                out.insert(id.to_string(), v);
            }
            Ok(None) => {}
            Err(m) => errors.add(format!("custom_fields.{}", def.name), m),
        }
    }
    errors.finish()?;
    Ok(out)
}

/// A new custom-field definition.
#[derive(Debug, Clone)]
pub struct NewCustomField {
    pub entity_kind: String,
    pub name: String,
    pub kind: FieldKind,
    pub choices: Vec<String>,
    pub position: Option<i64>,
}

impl Crm {
    /// The account's custom fields of one kind of record, by position. Cached like the other
    /// lookups (`cache`): nearly every read renders them, few requests change them.
    pub async fn custom_fields(&self, actor: Actor, entity_kind: &str) -> Result<Vec<CustomFieldDefinition>> {
        let generation = self.store().generation(crate::cache::CUSTOM_FIELD_KINDS);
        let key = (actor.account_id, entity_kind.to_owned());
        if let Some(hit) = self.caches.custom_fields.get(&key, generation) {
            return Ok(hit.as_ref().clone());
        }
        let f = Some(Filter::eq("entity_kind", entity_kind));
        let defs = self.all_sorted::<CustomFieldDefinition>(actor, f, vec![kith_store::Sort::asc("position")]).await?;
        self.caches.custom_fields.put(key, std::sync::Arc::new(defs.clone()), generation);
        Ok(defs)
    }

    pub async fn create_custom_field(&self, actor: Actor, input: NewCustomField) -> Result<CustomFieldDefinition> {
        let mut errors = Errors::default();
        if !CUSTOM_FIELD_KINDS.contains(&input.entity_kind.as_str()) {
            errors.add("entity_kind", "must be contact, company, deal or lead");
        }
        let name = input.name.trim();
        if name.is_empty() {
            errors.add("name", "is required");
        }
        errors.max_len("name", Some(name), 60);
        if input.kind.has_choices() && input.choices.iter().all(|c| c.trim().is_empty()) {
            errors.add("choices", "are required for this type");
        }
        if input.choices.len() > 60 {
            errors.add("choices", "must be at most 60");
        }
        errors.finish()?;
        let existing = self.custom_fields(actor, &input.entity_kind).await?;
        if existing.iter().any(|d| d.name.eq_ignore_ascii_case(name)) {
            return Err(DomainError::Conflict(format!("a custom field named {name:?} exists")));
        }
        let t = chrono::Utc::now();
        let position = input.position.unwrap_or(existing.iter().map(|d| d.position + 1).max().unwrap_or(0));
        self.create(
            actor,
            CustomFieldDefinition {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                entity_kind: input.entity_kind,
                name: name.to_owned(),
                field_type: input.kind.name().to_owned(),
                choices: Json(
                    input.choices.into_iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
                ),
                position,
                filterable: true,
            },
        )
        .await
    }
}

/// A filter on one custom field's value, typed by its definition. A multi-select field
/// matches when its values include every choice given (`eq`; `a|b` names two), or not (`ne`).
pub fn custom_filter(def: &CustomFieldDefinition, op: kith_store::Op, value: &J) -> Result<Filter> {
    let invalid = |m: String| DomainError::invalid(format!("custom_fields.{}", def.name), m);
    let coerced = coerce(def, value).map_err(invalid)?;
    let Some(coerced) = coerced else {
        return Ok(Filter::IsNull(def.store_field()));
    };
    if def.kind() == FieldKind::MultiSelect {
        let chosen = coerced.as_array().map(Vec::as_slice).unwrap_or_default();
        let all = Filter::All(
            chosen
                .iter()
                .filter_map(J::as_str)
                .map(|c| Filter::Includes { field: def.store_field(), value: kith_store::Value::Text(c.to_owned()) })
                .collect(),
        );
        return match op {
            kith_store::Op::Eq => Ok(all),
            kith_store::Op::Ne => Ok(Filter::Not(Box::new(all))),
            _ => Err(invalid("a multi-select field is filtered with eq or ne".into())),
        };
    }
    let value = match (def.kind().compare_as(), coerced) {
        (CustomType::Number, J::Number(n)) => kith_store::Value::Float(n.as_f64().unwrap_or_default()),
        (CustomType::Bool, J::Bool(b)) => kith_store::Value::Bool(b),
        (_, J::String(s)) => kith_store::Value::Text(s),
        (_, other) => kith_store::Value::Text(other.to_string()),
    };
    Ok(Filter::Cmp { field: def.store_field(), op, value })
}
