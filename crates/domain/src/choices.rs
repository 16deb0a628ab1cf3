//! Short, account-defined lists of values (`Choice`): the outcomes a call or a visit can have
//! and the reasons a lead or a deal is disqualified.
//!
//! Lists with defaults get them the first time they are read, so accounts made before a list
//! existed have it too; the unique `(list, key)` index keeps replicas that do this at once from
//! writing it twice. In lists users edit, the key is the lower-cased name: names are unique
//! ignoring case.

use chrono::Utc;
use kith_store::{Filter, ListPage, ListQuery, Page, Sort};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::Choice;

/// The call results every account has: key and display text, in display order.
pub const CALL_RESULTS: &[(&str, &str)] = &[
    ("interested", "Interested"),
    ("not_interested", "Not interested"),
    ("left_message", "Left message"),
    ("no_answer", "No answer"),
    ("other", "Other"),
];

pub const CALL_OUTCOMES: &str = "call_outcome";
pub const VISIT_OUTCOMES: &str = "visit_outcome";
pub const LEAD_UNQUALIFIED_REASONS: &str = "lead_unqualified_reason";
pub const DEAL_UNQUALIFIED_REASONS: &str = "deal_unqualified_reason";
/// The kinds of task and of meeting users pick from (Upsales' activity and appointment types).
pub const ACTIVITY_TYPES: &str = "activity_type";
pub const APPOINTMENT_TYPES: &str = "appointment_type";
/// Labels for companies, and the groups they come in (Upsales' client categories and types).
pub const COMPANY_CATEGORIES: &str = "company_category";
pub const COMPANY_CATEGORY_TYPES: &str = "company_category_type";
/// Labels for persons, and the groups they come in (Upsales' contact categories and types).
pub const CONTACT_CATEGORIES: &str = "contact_category";
pub const CONTACT_CATEGORY_TYPES: &str = "contact_category_type";
/// The roles users can be given (Upsales' roles).
pub const ROLES: &str = "role";
/// The lists devices syncing choices are given defaults of (the ones Sell's sync serves).
pub const SYNCED_LISTS: &[&str] = &[CALL_OUTCOMES, VISIT_OUTCOMES, LEAD_UNQUALIFIED_REASONS, DEAL_UNQUALIFIED_REASONS];
pub const LISTS: &[&str] = &[
    CALL_OUTCOMES,
    VISIT_OUTCOMES,
    LEAD_UNQUALIFIED_REASONS,
    DEAL_UNQUALIFIED_REASONS,
    ACTIVITY_TYPES,
    APPOINTMENT_TYPES,
    COMPANY_CATEGORIES,
    COMPANY_CATEGORY_TYPES,
    CONTACT_CATEGORIES,
    CONTACT_CATEGORY_TYPES,
    ROLES,
];

pub const CHOICE_NAME_MAX: usize = 255;

/// What a list starts with: key and name, in order. Call outcomes are the call results every
/// dialect knows (`engagements::CALL_RESULTS`).
pub fn defaults(list: &str) -> Vec<(&'static str, &'static str)> {
    match list {
        CALL_OUTCOMES => CALL_RESULTS.to_vec(),
        VISIT_OUTCOMES => vec![
            ("successful", "Successful"),
            ("follow_up_needed", "Follow-up needed"),
            ("rescheduled", "Rescheduled"),
            ("not_available", "Not available"),
        ],
        LEAD_UNQUALIFIED_REASONS => vec![
            ("not_interested", "Not interested"),
            ("no_budget", "No budget"),
            ("bad_timing", "Bad timing"),
            ("unreachable", "Unreachable"),
            ("duplicate", "Duplicate"),
        ],
        // Keys are the lower-cased names, as in every list users edit.
        ACTIVITY_TYPES => vec![("todo", "Todo"), ("phone call", "Phone call")],
        APPOINTMENT_TYPES => vec![("meeting", "Meeting"), ("first meeting", "First meeting")],
        _ => Vec::new(),
    }
}

/// The key of a name in a list users edit.
fn key_of(name: &str) -> String {
    name.trim().to_lowercase()
}

fn check_list(list: &str) -> Result<()> {
    if LISTS.contains(&list) { Ok(()) } else { Err(DomainError::invalid("list", format!("no list named {list:?}"))) }
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    let mut e = Errors::default();
    if name.is_empty() {
        e.add("name", "can't be blank");
    }
    e.max_len("name", Some(name), CHOICE_NAME_MAX);
    e.finish()?;
    Ok(name.to_owned())
}

/// A unique-index clash on `(list, key)` is a name already taken.
fn taken(e: DomainError) -> DomainError {
    match e {
        DomainError::Conflict(_) => DomainError::invalid("name", "has already been taken"),
        other => other,
    }
}

impl Crm {
    /// Every value of a list, in order (its defaults first, made on first read).
    pub async fn choices(&self, actor: Actor, list: &str) -> Result<Vec<Choice>> {
        self.ensure_default_choices(actor, list).await?;
        let q = ListQuery::all().filter(Filter::eq("list", list)).sort(Sort::asc("position"));
        Ok(self.list::<Choice>(actor, &q).await?.rows)
    }

    /// A page of a list's values (its defaults made on the list's first read): `q` filters,
    /// sorts and pages them, in list order when it sorts by nothing.
    pub async fn choices_page(&self, actor: Actor, list: &str, q: ListQuery) -> Result<ListPage<Choice>> {
        self.ensure_default_choices(actor, list).await?;
        let mut q = q.filter(Filter::eq("list", list));
        if q.sorts.is_empty() {
            q = q.sort(Sort::asc("position"));
        }
        self.list::<Choice>(actor, &q).await
    }

    /// Makes a list's defaults when it has none and no value yet.
    async fn ensure_default_choices(&self, actor: Actor, list: &str) -> Result<()> {
        check_list(list)?;
        let defaults = defaults(list);
        if defaults.is_empty() {
            return Ok(());
        }
        let any = ListQuery::new(Page::Offset { offset: 0, limit: 1 }).filter(Filter::eq("list", list));
        if !self.list::<Choice>(actor, &any).await?.rows.is_empty() {
            return Ok(());
        }
        match self.insert_defaults(actor, list, &defaults).await {
            // Another process made them first.
            Ok(()) | Err(DomainError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn insert_defaults(&self, actor: Actor, list: &str, defaults: &[(&str, &str)]) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let t = Utc::now();
        for (i, (key, name)) in defaults.iter().enumerate() {
            let choice = Choice {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                list: list.to_owned(),
                key: (*key).to_owned(),
                name: (*name).to_owned(),
                position: i as i64,
                creator_id: None,
            };
            insert_in(&mut tx, choice).await?;
        }
        Ok(tx.commit().await?)
    }

    /// One value of a list; `NotFound` for ids of other lists and other accounts.
    pub async fn choice(&self, actor: Actor, list: &str, id: i64) -> Result<Choice> {
        match self.find::<Choice>(actor, id).await? {
            Some(c) if c.list == list => Ok(c),
            _ => Err(DomainError::NotFound { kind: "choice" }),
        }
    }

    /// The value of a list with a key (`interested`), if any.
    pub async fn choice_by_key(&self, actor: Actor, list: &str, key: &str) -> Result<Option<Choice>> {
        Ok(self.choices(actor, list).await?.into_iter().find(|c| c.key == key))
    }

    /// Adds a value at the end of a list; its name must be new to the list (ignoring case).
    pub async fn create_choice(&self, actor: Actor, list: &str, name: &str) -> Result<Choice> {
        check_list(list)?;
        let name = check_name(name)?;
        let existing = self.choices(actor, list).await?;
        let t = Utc::now();
        let choice = Choice {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            list: list.to_owned(),
            key: key_of(&name),
            name,
            position: existing.iter().map(|c| c.position + 1).max().unwrap_or(0),
            creator_id: Some(actor.user_id),
        };
        let mut tx = self.begin(actor).await?;
        let choice = insert_in(&mut tx, choice).await.map_err(taken)?;
        tx.commit().await.map_err(|e| taken(e.into()))?;
        Ok(choice)
    }

    /// Renames a value; the new name must be new to the list (ignoring case).
    pub async fn rename_choice(&self, actor: Actor, list: &str, id: i64, name: &str) -> Result<Choice> {
        let name = check_name(name)?;
        let mut tx = self.begin(actor).await?;
        let mut choice: Choice = get_in(&mut tx, id).await?;
        if choice.list != list {
            return Err(DomainError::NotFound { kind: "choice" });
        }
        choice.key = key_of(&name);
        choice.name = name;
        let choice = save_in(&mut tx, &choice).await.map_err(taken)?;
        tx.commit().await.map_err(|e| taken(e.into()))?;
        Ok(choice)
    }

    /// Deletes a value; what links to it follows `links::before_choice_deleted` (categories
    /// and roles are taken off their records, a type in use is refused), in the same
    /// transaction.
    pub async fn delete_choice(&self, actor: Actor, list: &str, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let choice: Choice = get_in(&mut tx, id).await?;
        if choice.list != list {
            return Err(DomainError::NotFound { kind: "choice" });
        }
        crate::links::before_choice_deleted(&mut tx, list, id).await?;
        tx.delete(Choice::SPEC, id).await?;
        Ok(tx.commit().await?)
    }
}
