//! Saved contact filters: a name and a list of conditions `[field, operator, value]`, all of
//! which a contact must meet. They are created by an operator (the CLI) and run by dialects.
//!
//! Fields: `first_name`, `last_name`, `company_name`, `job_title`, `email`, `phone` (text:
//! `eq ne contains prefix`); `status` and `lead_source` (by key: `eq ne`); `tag` (`eq`: has the
//! tag, `ne`: has not); `starred` (`eq true|false`); `owner` (by email: `eq ne`); `created_at`
//! and `modified_at` (`gt gte lt lte` a `YYYY-MM-DD` date); `custom:<field name>` (`eq ne
//! contains prefix gt gte lt lte`, typed by the contact custom field of that name).

use chrono::{NaiveDate, Utc};
use kith_store::{Field, Filter, Json, ListQuery, Op, Sort, Value};
use serde_json::json;

use crate::contacts::Lookups;
use crate::crm::{Actor, Crm, insert_in};
use crate::custom_fields::custom_filter;
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{SavedFilter, User};

pub const FILTER_NAME_MAX: usize = 100;
pub const MAX_CONDITIONS: usize = 50;

/// One condition of a saved filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: String,
    pub op: String,
    pub value: String,
}

impl Condition {
    /// Parses `field op value` (the value may contain spaces).
    pub fn parse(text: &str) -> Option<Condition> {
        let mut parts = text.trim().splitn(3, char::is_whitespace);
        let field = parts.next()?.trim();
        let op = parts.next()?.trim();
        let value = parts.next().unwrap_or("").trim();
        (!field.is_empty() && !op.is_empty()).then(|| Condition {
            field: field.into(),
            op: op.into(),
            value: value.into(),
        })
    }
}

impl SavedFilter {
    /// The stored conditions.
    pub fn conditions(&self) -> Vec<Condition> {
        self.definition.0["conditions"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|c| {
                        let c = c.as_array()?;
                        let s = |i: usize| c.get(i).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                        Some(Condition { field: s(0), op: s(1), value: s(2) })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn op_of(name: &str) -> Option<Op> {
    Some(match name {
        "eq" => Op::Eq,
        "ne" => Op::Ne,
        "gt" => Op::Gt,
        "gte" => Op::Gte,
        "lt" => Op::Lt,
        "lte" => Op::Lte,
        "contains" => Op::Contains,
        "prefix" => Op::Prefix,
        _ => return None,
    })
}

/// Turns conditions into a contact filter; every problem is reported against its condition.
pub fn compile(conditions: &[Condition], lk: &Lookups, users: &[User]) -> Result<Filter> {
    let mut errors = Errors::default();
    let mut parts = Vec::with_capacity(conditions.len());
    for (i, c) in conditions.iter().enumerate() {
        let at = format!("conditions[{i}]");
        let Some(op) = op_of(&c.op) else {
            errors.add(at, format!("unknown operator {:?}", c.op));
            continue;
        };
        let text_ops = matches!(op, Op::Eq | Op::Ne | Op::Contains | Op::Prefix);
        let key_ops = matches!(op, Op::Eq | Op::Ne);
        let keyed = |ids: Vec<i64>, column: &str| {
            let f = Filter::In { field: Field::col(column), values: ids.into_iter().map(Value::Int).collect() };
            if op == Op::Ne { Filter::Not(Box::new(f)) } else { f }
        };
        let filter = match c.field.as_str() {
            "first_name" | "last_name" | "company_name" | "job_title" | "email" | "phone" if text_ops => {
                Filter::cmp(&c.field, op, c.value.as_str())
            }
            "status" if key_ops => {
                let ids: Vec<i64> = lk.statuses.values().filter(|s| s.key == c.value).map(|s| s.id).collect();
                if ids.is_empty() {
                    errors.add(at, format!("no status {:?}", c.value));
                    continue;
                }
                keyed(ids, "status_id")
            }
            "lead_source" if key_ops => {
                let ids: Vec<i64> = lk.lead_sources.values().filter(|s| s.key == c.value).map(|s| s.id).collect();
                if ids.is_empty() {
                    errors.add(at, format!("no lead source {:?}", c.value));
                    continue;
                }
                keyed(ids, "lead_source_id")
            }
            "owner" if key_ops => {
                let ids: Vec<i64> =
                    users.iter().filter(|u| u.email.eq_ignore_ascii_case(&c.value)).map(|u| u.id).collect();
                if ids.is_empty() {
                    errors.add(at, format!("no user {:?}", c.value));
                    continue;
                }
                keyed(ids, "owner_id")
            }
            "tag" if key_ops => {
                let f = Crm::tag_filter("contact", &c.value);
                if op == Op::Ne { Filter::Not(Box::new(f)) } else { f }
            }
            "starred" if op == Op::Eq => match c.value.as_str() {
                "true" => Filter::eq("starred", true),
                "false" => Filter::eq("starred", false),
                _ => {
                    errors.add(at, "starred takes true or false");
                    continue;
                }
            },
            "created_at" | "modified_at" if matches!(op, Op::Gt | Op::Gte | Op::Lt | Op::Lte) => {
                let Ok(date) = NaiveDate::parse_from_str(&c.value, "%Y-%m-%d") else {
                    errors.add(at, "dates are YYYY-MM-DD");
                    continue;
                };
                let Some(t) = date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()) else { continue };
                let column = if c.field == "created_at" { "created_at" } else { "updated_at" };
                Filter::cmp(column, op, t)
            }
            f if f.starts_with("custom:") => {
                let name = &f["custom:".len()..];
                let Some(def) = lk.custom_fields.iter().find(|d| d.name.eq_ignore_ascii_case(name)) else {
                    errors.add(at, format!("no contact custom field {name:?}"));
                    continue;
                };
                match custom_filter(def, op, &serde_json::Value::String(c.value.clone())) {
                    Ok(f) => f,
                    Err(e) => {
                        errors.add(at, e.to_string());
                        continue;
                    }
                }
            }
            other => {
                errors.add(at, format!("{other:?} cannot be filtered with {:?}", c.op));
                continue;
            }
        };
        parts.push(filter);
    }
    errors.finish()?;
    Ok(Filter::All(parts))
}

impl Crm {
    /// Saves a contact filter for an account, after checking that its conditions compile.
    pub async fn create_saved_filter(
        &self,
        account_id: i64,
        name: &str,
        conditions: Vec<Condition>,
    ) -> Result<SavedFilter> {
        let owner = self.account_owner(account_id).await?;
        let actor = Actor { account_id, user_id: owner };
        let name = name.trim();
        let mut e = Errors::default();
        if name.is_empty() {
            e.add("name", "is required");
        }
        e.max_len("name", Some(name), FILTER_NAME_MAX);
        if conditions.len() > MAX_CONDITIONS {
            e.add("conditions", format!("must be at most {MAX_CONDITIONS}"));
        }
        e.finish()?;
        let lk = self.contact_lookups(actor).await?;
        let users = self.all::<User>(actor, None).await?;
        compile(&conditions, &lk, &users)?;
        let t = Utc::now();
        let definition = json!({
            "conditions": conditions.iter().map(|c| json!([c.field, c.op, c.value])).collect::<Vec<_>>(),
        });
        let mut tx = self.store().begin(account_id, None).await?;
        let filter = SavedFilter {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            name: name.to_owned(),
            entity_kind: "contact".into(),
            owner_id: None,
            definition: Json(definition),
        };
        let filter = insert_in(&mut tx, filter).await?;
        tx.commit().await?;
        Ok(filter)
    }

    pub async fn saved_filters(&self, account_id: i64) -> Result<Vec<SavedFilter>> {
        let q = ListQuery::all().sort(Sort::asc("id"));
        self.store().list(account_id, SavedFilter::SPEC, &q).await?.try_map(SavedFilter::from_row).map(|p| p.rows)
    }

    pub async fn delete_saved_filter(&self, account_id: i64, id: i64) -> Result<()> {
        let mut tx = self.store().begin(account_id, None).await?;
        if !tx.delete(SavedFilter::SPEC, id).await? {
            return Err(DomainError::NotFound { kind: SavedFilter::SPEC.kind });
        }
        tx.commit().await?;
        Ok(())
    }

    /// The contact filter a saved filter stands for, as of now (statuses, users and fields it
    /// names are looked up afresh).
    pub async fn saved_filter_query(&self, actor: Actor, filter: &SavedFilter) -> Result<Filter> {
        let lk = self.contact_lookups(actor).await?;
        let users = self.all::<User>(actor, None).await?;
        compile(&filter.conditions(), &lk, &users)
    }

    /// The account's first owner (the CLI acts as that user).
    pub async fn account_owner(&self, account_id: i64) -> Result<i64> {
        let q = ListQuery::all().filter(Filter::eq("role", "owner")).sort(Sort::asc("id"));
        let rows = self.store().list(account_id, User::SPEC, &q).await?.rows;
        rows.first().map(|r| r.id).ok_or(DomainError::NotFound { kind: "account" })
    }
}
