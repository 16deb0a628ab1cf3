//! Writes of whole records inside a transaction, the generic steps every domain operation is
//! built from: insert, save, read, and keeping a tagged record's taggings in step with it.

use chrono::Utc;
use kith_store::{Filter, ListQuery, Op, Tx, Visibility};

use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Tag, Tagging};

/// Writes every column of `record` over the live row with its id, inside `tx`.
pub(crate) async fn save_in<E: Entity>(tx: &mut Tx, record: &E) -> Result<E> {
    let spec = E::SPEC;
    let mut record = record.clone();
    record.derive();
    let changes: Vec<(&str, kith_store::Value)> = spec.columns.iter().map(|c| c.name).zip(record.values()).collect();
    let row = tx.update(spec, record.id(), &changes).await?.ok_or(DomainError::NotFound { kind: spec.kind })?;
    keep_taggings(tx, &row, spec).await?;
    E::from_row(row)
}

/// A record with a `tags` column keeps its taggings (what tag filters, renames and deletions
/// go through) in step with it on every write.
async fn keep_taggings(tx: &mut Tx, row: &kith_store::Row, spec: &kith_store::EntitySpec) -> Result<()> {
    let Some(pos) = spec.position("tags") else { return Ok(()) };
    let tags: Vec<String> = match row.values.get(pos) {
        Some(kith_store::Value::Json(v)) => serde_json::from_value(v.clone()).unwrap_or_default(),
        _ => Vec::new(),
    };
    // Boxed: setting taggings inserts rows through `insert_in` again.
    Box::pin(set_taggings(tx, spec.kind, row.id, &tags)).await
}

/// A live record inside a transaction, or `NotFound`.
pub(crate) async fn get_in<E: Entity>(tx: &mut Tx, id: i64) -> Result<E> {
    let row = tx.get(E::SPEC, id, Visibility::Live).await?.ok_or(DomainError::NotFound { kind: E::SPEC.kind })?;
    E::from_row(row)
}

/// Inserts a normalised record inside a transaction.
pub(crate) async fn insert_in<E: Entity>(tx: &mut Tx, mut record: E) -> Result<E> {
    record.normalize();
    record.derive();
    let row = tx.insert(E::SPEC, record.values()).await?;
    keep_taggings(tx, &row, E::SPEC).await?;
    E::from_row(row)
}

/// The tag type that labels records of an entity kind (`None`: the kind has no tags).
pub fn tag_type(entity_kind: &str) -> Option<&'static str> {
    match entity_kind {
        "contact" | "company" => Some("contact"),
        "lead" => Some("lead"),
        "deal" => Some("deal"),
        _ => None,
    }
}

/// The tag of a type named `name` (ignoring case), if there is one.
pub(crate) async fn find_tag(tx: &mut Tx, resource_type: &str, name: &str) -> Result<Option<Tag>> {
    let q = ListQuery::all()
        .filter(Filter::All(vec![Filter::eq("resource_type", resource_type), Filter::cmp("name", Op::Prefix, name)]))
        .sort(kith_store::Sort::asc("id"));
    for tag in tx.list(Tag::SPEC, &q).await?.try_map(Tag::from_row)?.rows {
        if tag.name.eq_ignore_ascii_case(name) {
            return Ok(Some(tag));
        }
    }
    Ok(None)
}

/// Makes a record's taggings match `tags`, creating tags of the record's type on first use.
pub(crate) async fn set_taggings(tx: &mut Tx, entity_kind: &str, entity_id: i64, tags: &[String]) -> Result<()> {
    let Some(resource_type) = tag_type(entity_kind) else { return Ok(()) };
    let q = ListQuery::all()
        .filter(Filter::All(vec![Filter::eq("entity_kind", entity_kind), Filter::eq("entity_id", entity_id)]));
    let existing: Vec<Tagging> = tx.list(Tagging::SPEC, &q).await?.try_map(Tagging::from_row)?.rows;
    let wanted: Vec<String> = tags.iter().map(|t| t.to_ascii_lowercase()).collect();
    for old in &existing {
        if !wanted.contains(&old.name) {
            tx.delete(Tagging::SPEC, old.id).await?;
        }
    }
    for (tag, lower) in tags.iter().zip(&wanted) {
        if existing.iter().any(|e| &e.name == lower) {
            continue;
        }
        let tag_row = match find_tag(tx, resource_type, tag).await? {
            Some(t) => t,
            None => {
                let t = Utc::now();
                let new = Tag {
                    id: 0,
                    created_at: t,
                    updated_at: t,
                    deleted_at: None,
                    name: tag.clone(),
                    resource_type: resource_type.to_owned(),
                    creator_id: tx.actor(),
                };
                insert_in(tx, new).await?
            }
        };
        let t = Utc::now();
        insert_in(
            tx,
            Tagging {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                tag_id: tag_row.id,
                name: lower.clone(),
                entity_kind: entity_kind.to_owned(),
                entity_id,
            },
        )
        .await?;
    }
    Ok(())
}

/// Trims tags, drops empty ones and duplicates (ignoring case), keeping first spellings.
pub(crate) fn normalize_tags(errors: &mut Errors, tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim();
        if t.is_empty() || out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            continue;
        }
        errors.max_len("tags", Some(t), 100);
        out.push(t.to_owned());
    }
    out
}
