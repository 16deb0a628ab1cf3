//! The account's tag lists, one per type of record: `contact` (persons and organisations),
//! `lead` and `deal`. Names are unique within a type, ignoring case. Records name their tags in
//! their own `tags` arrays, and a tag is made the first time a record uses it; renaming or
//! deleting a tag rewrites every live record of its type that carries it.

use chrono::Utc;
use kith_store::{Filter, ListQuery, Tx, Visibility};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Company, Contact, Deal, Lead, Tag, Tagging};
use crate::records::find_tag;

/// What a tag can label.
pub const TAG_TYPES: &[&str] = &["contact", "lead", "deal"];
/// The longest tag name (records' `tags` arrays hold the same).
pub const TAG_NAME_MAX: usize = 100;

fn check_name(e: &mut Errors, name: &str) {
    if name.is_empty() {
        e.add("name", "can't be blank");
    }
    e.max_len("name", Some(name), TAG_NAME_MAX);
}

/// `Ok` unless another tag of the type has the name (ignoring case).
async fn check_free(tx: &mut Tx, resource_type: &str, name: &str, except: Option<i64>) -> Result<()> {
    match find_tag(tx, resource_type, name).await? {
        Some(t) if Some(t.id) != except => Err(DomainError::invalid("name", "has already been taken")),
        _ => Ok(()),
    }
}

/// A clash on the unique `(resource_type, name)` index is a taken name.
fn taken(e: DomainError) -> DomainError {
    match e {
        DomainError::Conflict(_) => DomainError::invalid("name", "has already been taken"),
        other => other,
    }
}

/// Rewrites the `tags` array of one live record, if there is one, through `save_in` (so its
/// taggings follow and the change is recorded).
async fn retag<E: Entity>(
    tx: &mut Tx,
    id: i64,
    tags: fn(&mut E) -> &mut Vec<String>,
    edit: &(dyn Fn(&mut Vec<String>) + Sync),
) -> Result<()> {
    let Some(row) = tx.get(E::SPEC, id, Visibility::Live).await? else { return Ok(()) };
    let mut record = E::from_row(row)?;
    edit(tags(&mut record));
    save_in(tx, &record).await?;
    Ok(())
}

/// Applies `edit` to the tags of every live record carrying tag `tag_id`.
async fn rewrite_records(tx: &mut Tx, tag_id: i64, edit: &(dyn Fn(&mut Vec<String>) + Sync)) -> Result<()> {
    let q = ListQuery::all().filter(Filter::eq("tag_id", tag_id)).sort(kith_store::Sort::asc("id"));
    let taggings: Vec<Tagging> = tx.list(Tagging::SPEC, &q).await?.try_map(Tagging::from_row)?.rows;
    for t in taggings {
        match t.entity_kind.as_str() {
            "contact" => retag::<Contact>(tx, t.entity_id, |c| &mut c.tags.0, edit).await?,
            "company" => retag::<Company>(tx, t.entity_id, |c| &mut c.tags.0, edit).await?,
            "lead" => retag::<Lead>(tx, t.entity_id, |l| &mut l.tags.0, edit).await?,
            "deal" => retag::<Deal>(tx, t.entity_id, |d| &mut d.tags.0, edit).await?,
            _ => {}
        }
    }
    Ok(())
}

impl Crm {
    /// Adds a tag to the list of its type.
    pub async fn create_tag(&self, actor: Actor, name: &str, resource_type: &str) -> Result<Tag> {
        let name = name.trim();
        let mut e = Errors::default();
        check_name(&mut e, name);
        if !TAG_TYPES.contains(&resource_type) {
            e.add("resource_type", format!("must be one of: {}", TAG_TYPES.join(", ")));
        }
        e.finish()?;
        let mut tx = self.begin(actor).await?;
        check_free(&mut tx, resource_type, name, None).await?;
        let t = Utc::now();
        let tag = Tag {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            name: name.to_owned(),
            resource_type: resource_type.to_owned(),
            creator_id: Some(actor.user_id),
        };
        let tag = insert_in(&mut tx, tag).await.map_err(taken)?;
        tx.commit().await?;
        Ok(tag)
    }

    /// Renames a tag, and the tag on every record of its type that carries it (in place).
    pub async fn rename_tag(&self, actor: Actor, id: i64, name: &str) -> Result<Tag> {
        let name = name.trim().to_owned();
        let mut e = Errors::default();
        check_name(&mut e, &name);
        e.finish()?;
        let mut tx = self.begin(actor).await?;
        let mut tag: Tag = get_in(&mut tx, id).await?;
        if tag.name == name {
            return Ok(tag);
        }
        check_free(&mut tx, &tag.resource_type, &name, Some(id)).await?;
        let old = std::mem::replace(&mut tag.name, name.clone());
        let tag = save_in(&mut tx, &tag).await.map_err(taken)?;
        let rename = move |tags: &mut Vec<String>| {
            for t in tags.iter_mut() {
                if t.eq_ignore_ascii_case(&old) {
                    *t = name.clone();
                }
            }
        };
        rewrite_records(&mut tx, id, &rename).await?;
        tx.commit().await?;
        Ok(tag)
    }

    /// Removes a tag from every record of its type that carries it, then deletes it.
    pub async fn delete_tag(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let tag: Tag = get_in(&mut tx, id).await?;
        let name = tag.name.clone();
        rewrite_records(&mut tx, id, &move |tags: &mut Vec<String>| tags.retain(|t| !t.eq_ignore_ascii_case(&name)))
            .await?;
        // Records in the bin keep their arrays; their taggings of this tag go with it.
        let q = ListQuery::all().filter(Filter::eq("tag_id", id));
        for row in tx.list(Tagging::SPEC, &q).await?.rows {
            tx.delete(Tagging::SPEC, row.id).await?;
        }
        tx.delete(Tag::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }
}
