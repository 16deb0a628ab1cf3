//! Where leads, contacts and deals come from (`LeadSource`). A source is for leads (and
//! contacts; `resource_type` `lead` or none, as OnePage's lead sources are) or for deals
//! (`deal`). Names are unique per kind, ignoring case. Each source has a `key` unique in the
//! account (OnePage addresses lead sources by it): a slug of its name, with deal sources' slugs
//! prefixed `deal_`, and a number added when taken.

use chrono::Utc;
use kith_store::{Filter, ListQuery};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::LeadSource;

/// Sources of leads and contacts.
pub const LEAD_SOURCES: &str = "lead";
/// Sources of deals.
pub const DEAL_SOURCES: &str = "deal";
pub const SOURCE_KINDS: &[&str] = &[LEAD_SOURCES, DEAL_SOURCES];
pub const SOURCE_NAME_MAX: usize = 255;

impl LeadSource {
    /// `lead` or `deal`.
    pub fn kind(&self) -> &str {
        self.resource_type.as_deref().unwrap_or(LEAD_SOURCES)
    }
}

/// The sources of one kind.
pub fn kind_filter(kind: &str) -> Filter {
    if kind == LEAD_SOURCES {
        Filter::Any(vec![Filter::IsNull(kith_store::Field::col("resource_type")), Filter::eq("resource_type", kind)])
    } else {
        Filter::eq("resource_type", kind)
    }
}

fn check_kind(kind: &str) -> Result<()> {
    if SOURCE_KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(DomainError::invalid("resource_type", format!("must be one of: {}", SOURCE_KINDS.join(", "))))
    }
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    let mut e = Errors::default();
    if name.is_empty() {
        e.add("name", "can't be blank");
    }
    e.max_len("name", Some(name), SOURCE_NAME_MAX);
    e.finish()?;
    Ok(name.to_owned())
}

fn taken() -> DomainError {
    DomainError::invalid("name", "has already been taken")
}

impl Crm {
    /// One live source of a kind; `NotFound` for sources of the other kind and other accounts.
    pub async fn source(&self, actor: Actor, kind: &str, id: i64) -> Result<LeadSource> {
        match self.find::<LeadSource>(actor, id).await? {
            Some(s) if s.kind() == kind => Ok(s),
            _ => Err(DomainError::NotFound { kind: "source" }),
        }
    }

    /// Whether a live source of `kind` other than `except` is named `name` (ignoring case).
    async fn source_name_taken(&self, actor: Actor, kind: &str, name: &str, except: Option<i64>) -> Result<bool> {
        let same_kind = self.all::<LeadSource>(actor, Some(kind_filter(kind))).await?;
        Ok(same_kind.iter().any(|s| Some(s.id) != except && s.name.to_lowercase() == name.to_lowercase()))
    }

    /// A new source of a kind, named uniquely within its kind.
    pub async fn create_source(&self, actor: Actor, kind: &str, name: &str) -> Result<LeadSource> {
        check_kind(kind)?;
        let name = check_name(name)?;
        if self.source_name_taken(actor, kind, &name, None).await? {
            return Err(taken());
        }
        // Deleted sources keep their keys (the unique index covers them), so look at all.
        let mut every = ListQuery::all();
        every.visibility = kith_store::Visibility::All;
        let keys: Vec<String> = self
            .store()
            .list(actor.account_id, LeadSource::SPEC, &every)
            .await?
            .try_map(LeadSource::from_row)?
            .rows
            .into_iter()
            .map(|s| s.key)
            .collect();
        let slug = slug(&name);
        let base = if kind == DEAL_SOURCES { format!("deal_{slug}") } else { slug };
        let mut key = base.clone();
        let mut n = 2;
        while keys.contains(&key) {
            key = format!("{base}_{n}");
            n += 1;
        }
        let t = Utc::now();
        let source = LeadSource {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            key,
            name,
            position: 0,
            resource_type: Some(kind.to_owned()),
            creator_id: Some(actor.user_id),
        };
        let mut tx = self.begin(actor).await?;
        let source = insert_in(&mut tx, source).await?;
        tx.commit().await?;
        Ok(source)
    }

    /// Renames a source; the name must stay unique within its kind. Its key does not change.
    pub async fn rename_source(&self, actor: Actor, kind: &str, id: i64, name: &str) -> Result<LeadSource> {
        let mut source = self.source(actor, kind, id).await?;
        let name = check_name(name)?;
        if name == source.name {
            return Ok(source);
        }
        if self.source_name_taken(actor, kind, &name, Some(id)).await? {
            return Err(taken());
        }
        source.name = name;
        let mut tx = self.begin(actor).await?;
        let source = save_in(&mut tx, &source).await?;
        tx.commit().await?;
        Ok(source)
    }

    /// Deletes a source. A lead source is cleared from the contacts that had it (as OnePage
    /// does); leads and deals keep the id of a deleted source.
    pub async fn delete_source(&self, actor: Actor, kind: &str, id: i64) -> Result<()> {
        self.source(actor, kind, id).await?;
        if kind == LEAD_SOURCES {
            return self.delete_lead_source(actor, id).await;
        }
        let mut tx = self.begin(actor).await?;
        get_in::<LeadSource>(&mut tx, id).await?;
        tx.delete(LeadSource::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A lead source key from its name: lower-case words joined by `_`.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_owned();
    if out.is_empty() { "source".into() } else { out }
}
