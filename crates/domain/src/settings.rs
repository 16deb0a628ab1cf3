//! Account settings every dialect shares: contact statuses, lead sources, custom-field
//! definitions and users' own details.

use chrono::Utc;
use kith_store::{Filter, Json, ListQuery, Page};

use crate::crm::{Actor, Crm, get_in, save_in};
use crate::custom_fields::FieldKind;
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Contact, CustomFieldDefinition, LeadSource, Status, User};
use crate::sources::slug;

/// The colours a status may have (OnePage's palette).
pub const STATUS_COLORS: &[&str] = &["666666", "3399ff", "cc0000", "f96600", "000000", "ff00ff", "009900"];
pub const STATUS_NAME_MAX: usize = 20;
pub const STATUS_DESCRIPTION_MAX: usize = 33;
pub const LEAD_SOURCE_NAME_MAX: usize = 40;
/// The status new contacts get and deleted statuses fall back to; it cannot be deleted.
pub const DEFAULT_STATUS_KEY: &str = "lead";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusDraft {
    pub name: String,
    pub color: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserDraft {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
}

fn check_status(d: &StatusDraft) -> Result<()> {
    let mut e = Errors::default();
    if d.name.trim().is_empty() {
        e.add("text", "is required");
    }
    e.max_len("text", Some(d.name.trim()), STATUS_NAME_MAX);
    e.max_len("description", d.description.as_deref(), STATUS_DESCRIPTION_MAX);
    if !STATUS_COLORS.contains(&d.color.as_str()) {
        e.add("color", format!("must be one of: {}", STATUS_COLORS.join(", ")));
    }
    e.finish()
}

fn check_lead_source_name(name: &str) -> Result<()> {
    let mut e = Errors::default();
    if name.is_empty() {
        e.add("text", "is required");
    }
    e.max_len("text", Some(name), LEAD_SOURCE_NAME_MAX);
    e.finish()
}

/// Applies `change` to every live contact whose `column` holds `id` (a status or lead source
/// being deleted), inside the deleting transaction.
async fn rewrite_contacts(tx: &mut kith_store::Tx, column: &str, id: i64, change: impl Fn(&mut Contact)) -> Result<()> {
    let using = tx.list(Contact::SPEC, &ListQuery::all().filter(Filter::eq(column, id))).await?.rows;
    for row in using {
        let mut c = Contact::from_row(row)?;
        change(&mut c);
        save_in(tx, &c).await?;
    }
    Ok(())
}

impl Crm {
    /// Counts live contacts matching `filter`.
    pub async fn count_contacts(&self, actor: Actor, filter: Filter) -> Result<u64> {
        let q = ListQuery::new(Page::Offset { offset: 0, limit: 0 }).filter(filter).with_total();
        Ok(self.store().list(actor.account_id, Contact::SPEC, &q).await?.total.unwrap_or(0))
    }

    /// A new status; its system key is `customN`.
    pub async fn create_status(&self, actor: Actor, d: StatusDraft) -> Result<Status> {
        check_status(&d)?;
        let existing = self.all::<Status>(actor, None).await?;
        // Custom statuses are numbered custom1, custom2, … as on OnePage.
        let mut n =
            existing.iter().filter(|s| s.key.strip_prefix("custom").is_some_and(|n| n.parse::<u32>().is_ok())).count()
                + 1;
        while existing.iter().any(|s| s.key == format!("custom{n}")) {
            n += 1;
        }
        let t = Utc::now();
        self.create(
            actor,
            Status {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                key: format!("custom{n}"),
                name: d.name.trim().to_owned(),
                color: Some(d.color),
                description: d.description,
                position: existing.iter().map(|s| s.position + 1).max().unwrap_or(0),
            },
        )
        .await
    }

    pub async fn update_status(&self, actor: Actor, id: i64, d: StatusDraft) -> Result<Status> {
        check_status(&d)?;
        let mut status = self.get::<Status>(actor, id).await?;
        status.name = d.name.trim().to_owned();
        status.color = Some(d.color);
        status.description = d.description;
        self.save(actor, status).await
    }

    /// Deletes a status; its contacts fall back to the lead status, which cannot be deleted.
    pub async fn delete_status(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let status: Status = get_in(&mut tx, id).await?;
        if status.key == DEFAULT_STATUS_KEY {
            return Err(DomainError::Conflict("the lead status cannot be deleted".into()));
        }
        let lead = tx.list(Status::SPEC, &ListQuery::all().filter(Filter::eq("key", DEFAULT_STATUS_KEY))).await?;
        let lead = lead.rows.first().map(|r| r.id);
        rewrite_contacts(&mut tx, "status_id", id, |c| c.status_id = lead).await?;
        tx.delete(Status::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new lead source, keyed by a slug of its name (made unique).
    pub async fn create_lead_source(&self, actor: Actor, name: &str) -> Result<LeadSource> {
        let name = name.trim();
        check_lead_source_name(name)?;
        // Deleted sources keep their keys (the unique index covers them), so look at all.
        let mut every = ListQuery::all();
        every.visibility = kith_store::Visibility::All;
        let all: Vec<LeadSource> =
            self.store().list(actor.account_id, LeadSource::SPEC, &every).await?.try_map(LeadSource::from_row)?.rows;
        // Deal sources are another list: their names do not clash with lead sources'.
        let existing: Vec<&LeadSource> =
            all.iter().filter(|s| s.deleted_at.is_none() && s.kind() == crate::sources::LEAD_SOURCES).collect();
        if existing.iter().any(|s| s.name.eq_ignore_ascii_case(name)) {
            return Err(DomainError::Conflict(format!("a lead source named {name:?} exists")));
        }
        let base = slug(name);
        let mut key = base.clone();
        let mut n = 2;
        while all.iter().any(|s| s.key == key) {
            key = format!("{base}_{n}");
            n += 1;
        }
        let t = Utc::now();
        self.create(
            actor,
            LeadSource {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                key,
                name: name.to_owned(),
                position: 0,
                resource_type: None,
                creator_id: Some(actor.user_id),
            },
        )
        .await
    }

    pub async fn rename_lead_source(&self, actor: Actor, id: i64, name: &str) -> Result<LeadSource> {
        let name = name.trim();
        check_lead_source_name(name)?;
        let mut source = self.get::<LeadSource>(actor, id).await?;
        source.name = name.to_owned();
        self.save(actor, source).await
    }

    /// Deletes a lead source; contacts that had it are left without one.
    pub async fn delete_lead_source(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        get_in::<LeadSource>(&mut tx, id).await?;
        rewrite_contacts(&mut tx, "lead_source_id", id, |c| c.lead_source_id = None).await?;
        tx.delete(LeadSource::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a custom field's name, choices and position; its type cannot change.
    pub async fn update_custom_field(
        &self,
        actor: Actor,
        id: i64,
        name: &str,
        choices: Vec<String>,
        position: Option<i64>,
    ) -> Result<CustomFieldDefinition> {
        let mut def = self.get::<CustomFieldDefinition>(actor, id).await?;
        let name = name.trim();
        let mut e = Errors::default();
        if name.is_empty() {
            e.add("name", "is required");
        }
        e.max_len("name", Some(name), 60);
        let choices: Vec<String> = choices.into_iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
        if def.kind().has_choices() && choices.is_empty() {
            e.add("choices", "are required for this type");
        }
        e.finish()?;
        let others = self.custom_fields(actor, &def.entity_kind).await?;
        if others.iter().any(|d| d.id != id && d.name.eq_ignore_ascii_case(name)) {
            return Err(DomainError::Conflict(format!("a custom field named {name:?} exists")));
        }
        def.name = name.to_owned();
        if def.kind().has_choices() {
            def.choices = Json(choices);
        }
        if let Some(p) = position {
            def.position = p;
        }
        self.save(actor, def).await
    }

    /// Changes a user's own details: allowed for the user and for the account's owners and admins.
    pub async fn update_user(&self, actor: Actor, id: i64, d: UserDraft) -> Result<User> {
        let me = self.me(actor).await?;
        if id != actor.user_id && !matches!(me.role.as_str(), "owner" | "admin") {
            return Err(DomainError::Forbidden("only admins can change other users".into()));
        }
        let mut e = Errors::default();
        e.max_len("first_name", d.first_name.as_deref(), 100);
        e.max_len("last_name", d.last_name.as_deref(), 100);
        e.max_len("company_name", d.company_name.as_deref(), 100);
        e.finish()?;
        let mut user = self.get::<User>(actor, id).await?;
        user.first_name = d.first_name;
        user.last_name = d.last_name;
        user.company_name = d.company_name;
        self.save(actor, user).await
    }

    /// Whether a custom-field type name is one Kith has.
    pub fn field_kind(name: &str) -> Option<FieldKind> {
        FieldKind::parse(name)
    }
}
