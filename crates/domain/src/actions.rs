//! Actions (next actions / tasks) and the action stream.
//!
//! Rules, after OnePage: an action is either a *next action* (`asap`, `date`, `date_time`,
//! `waiting`), *queued* (`queued`, `queued_with_date`) or `done`. A contact holds at most one ASAP
//! action per assignee: a second one demotes the first to a dated action for today. Of a user's
//! open next actions on a contact, the first in stream order is *the* next action of that contact
//! for that user. Stream order: ASAP, then dated by due date (overdue first), then waiting, then
//! queued (by position), then done.
//!
//! Task lists (Sell) see the same actions as tasks: about a person, an organisation, a lead, a
//! deal or nothing, due at a time or not, open or completed (`TaskDraft`).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use kith_store::{Field, Filter, ListQuery, Sort, Tx, Visibility};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::engagements::{Links, Subject, check_user, resolve_subject};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Action, Contact, User};

pub const ACTION_STATUSES: &[&str] = &["asap", "date", "date_time", "waiting", "queued", "queued_with_date", "done"];
const NEXT_STATUSES: &[&str] = &["asap", "date", "date_time", "waiting"];
/// One limit for every action: OnePage shows each action (tasks made elsewhere included) as a next
/// action of at most 140 characters.
pub const ACTION_TEXT_MAX: usize = 140;
/// The status of an open task without a due time. Not `asap`: a second ASAP action of a contact
/// demotes the first, which a task list would not expect of adding an undated task.
pub const UNDATED_TASK_STATUS: &str = "waiting";

/// What a client may set on an action.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionDraft {
    pub contact_id: i64,
    pub assignee_id: i64,
    pub text: String,
    pub status: String,
    pub date: Option<String>,
    pub exact_time: Option<DateTime<Utc>>,
    pub position: i64,
}

/// An action as a task list sees it. `due`: a due time makes a timed action (`date_time`), none an
/// undated one (`UNDATED_TASK_STATUS`); a due time equal to the action's own (`Action::due_at`)
/// keeps its status and dates. Completing keeps the open status to return to.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDraft {
    pub subject: Option<Subject>,
    pub assignee_id: i64,
    pub text: String,
    pub due: Option<DateTime<Utc>>,
    pub completed: bool,
    pub remind_at: Option<DateTime<Utc>>,
}

/// Open actions due before `now`: timed ones before the time, dated ones before its day.
pub fn overdue_filter(now: DateTime<Utc>) -> Filter {
    let today = now.date_naive().format("%Y-%m-%d").to_string();
    Filter::All(vec![
        Filter::cmp("status", kith_store::Op::Ne, "done"),
        Filter::Any(vec![
            Filter::cmp("exact_time", kith_store::Op::Lt, now),
            Filter::All(vec![Filter::IsNull(Field::col("exact_time")), Filter::cmp("date", kith_store::Op::Lt, today)]),
        ]),
    ])
}

impl Action {
    pub fn links(&self) -> Links {
        Links { contact_id: self.contact_id, company_id: self.company_id, lead_id: self.lead_id, deal_id: self.deal_id }
    }

    /// When the action is due: its exact time, else the start (UTC) of its day, else never.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        self.exact_time.or_else(|| {
            let day = NaiveDate::parse_from_str(self.date.as_deref()?, "%Y-%m-%d").ok()?;
            Some(day.and_hms_opt(0, 0, 0)?.and_utc())
        })
    }

    /// Open and due before `now` (see `overdue_filter`).
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        if self.status == "done" {
            return false;
        }
        match (self.exact_time, &self.date) {
            (Some(t), _) => t < now,
            (None, Some(d)) => *d < now.date_naive().format("%Y-%m-%d").to_string(),
            (None, None) => false,
        }
    }

    /// The action as a task: what saving it unchanged would send.
    pub fn task_draft(&self) -> TaskDraft {
        TaskDraft {
            subject: self.links().subject(),
            assignee_id: self.assignee_id,
            text: self.text.clone(),
            due: self.due_at(),
            completed: self.status == "done",
            remind_at: self.remind_at,
        }
    }

    pub fn draft(&self) -> ActionDraft {
        ActionDraft {
            contact_id: self.contact_id.unwrap_or_default(),
            assignee_id: self.assignee_id,
            text: self.text.clone(),
            status: self.status.clone(),
            date: self.date.clone(),
            exact_time: self.exact_time,
            position: self.position,
        }
    }

    pub fn is_next(&self) -> bool {
        NEXT_STATUSES.contains(&self.status.as_str())
    }

    pub fn is_queued(&self) -> bool {
        self.status == "queued" || self.status == "queued_with_date"
    }

    fn group(&self) -> u8 {
        match self.status.as_str() {
            "asap" => 0,
            "date" | "date_time" => 1,
            "waiting" => 2,
            "queued" | "queued_with_date" => 3,
            _ => 4,
        }
    }
}

/// Orders actions as the action stream shows them.
pub fn stream_order(a: &Action, b: &Action) -> Ordering {
    a.group()
        .cmp(&b.group())
        .then_with(|| match a.group() {
            1 => (a.date.as_deref(), a.exact_time).cmp(&(b.date.as_deref(), b.exact_time)),
            3 => a.position.cmp(&b.position).then_with(|| a.date.cmp(&b.date)),
            4 => b.done_at.cmp(&a.done_at),
            _ => Ordering::Equal,
        })
        .then_with(|| a.created_at.cmp(&b.created_at))
        .then_with(|| a.id.cmp(&b.id))
}

/// Tells a user an action was given to them.
async fn notify_assignee(tx: &mut Tx, assignee: i64, text: &str, contact_id: Option<i64>) -> Result<()> {
    crate::notifications::notify_in(tx, assignee, "assigned_action", text, contact_id).await
}

fn today() -> String {
    Utc::now().date_naive().format("%Y-%m-%d").to_string()
}

/// One contact's place in an action stream.
#[derive(Debug, Clone)]
pub struct StreamEntry {
    pub contact: Contact,
    /// The open next actions of the stream's user(s), in stream order; the first is *the* next action.
    pub next_actions: Vec<Action>,
    pub queued_actions: Vec<Action>,
    /// Dated queued actions due before the next action (what `swap` resolves).
    pub conflicts: Vec<Action>,
}

/// One contact's place in an action stream, before the contact is loaded.
#[derive(Debug, Clone)]
pub struct StreamSlot {
    pub contact_id: i64,
    pub next_actions: Vec<Action>,
    pub queued_actions: Vec<Action>,
    pub conflicts: Vec<Action>,
}

/// Which actions an action stream is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOf {
    /// One user's actions.
    User(i64),
    /// Every user's actions.
    Team,
}

impl Crm {
    /// Checks a draft and brings it into canonical form (dates per status).
    async fn check_action(&self, tx: &mut Tx, mut d: ActionDraft) -> Result<ActionDraft> {
        let mut errors = Errors::default();
        d.text = d.text.trim().to_owned();
        if d.text.is_empty() {
            errors.add("text", "is required");
        }
        errors.max_len("text", Some(&d.text), ACTION_TEXT_MAX);
        if !ACTION_STATUSES.contains(&d.status.as_str()) {
            errors.add("status", format!("must be one of: {}", ACTION_STATUSES.join(", ")));
        }
        if let Some(date) = &d.date
            && NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err()
        {
            errors.add("date", "must be a date (YYYY-MM-DD)");
        }
        match d.status.as_str() {
            "date" | "queued_with_date" => {
                d.date.get_or_insert_with(today);
                d.exact_time = None;
            }
            "date_time" => match d.exact_time {
                Some(t) => d.date = Some(t.date_naive().format("%Y-%m-%d").to_string()),
                None => errors.add("exact_time", "is required when status is date_time"),
            },
            "asap" | "waiting" | "queued" => {
                d.date = None;
                d.exact_time = None;
            }
            _ => {}
        }
        if d.position < 0 {
            errors.add("position", "must not be negative");
        }
        if tx.get(Contact::SPEC, d.contact_id, Visibility::Live).await?.is_none() {
            errors.add("contact_id", "no such contact");
        }
        if tx.get(User::SPEC, d.assignee_id, Visibility::Live).await?.is_none() {
            errors.add("assignee_id", "no such user");
        }
        errors.finish()?;
        Ok(d)
    }

    /// Open actions of one contact, for one assignee or all.
    async fn open_actions_in(tx: &mut Tx, contact_id: i64, assignee: Option<i64>) -> Result<Vec<Action>> {
        let mut f = vec![Filter::eq("contact_id", contact_id), Filter::cmp("status", kith_store::Op::Ne, "done")];
        if let Some(a) = assignee {
            f.push(Filter::eq("assignee_id", a));
        }
        let rows = tx.list(Action::SPEC, &ListQuery::all().filter(Filter::All(f))).await?;
        rows.rows.into_iter().map(Action::from_row).collect()
    }

    /// A contact holds one ASAP action per assignee: demote any other to a dated action for today.
    async fn demote_other_asap(tx: &mut Tx, keep: &Action) -> Result<()> {
        if keep.status != "asap" {
            return Ok(());
        }
        let Some(contact_id) = keep.contact_id else { return Ok(()) };
        for mut other in Self::open_actions_in(tx, contact_id, Some(keep.assignee_id)).await? {
            if other.id != keep.id && other.status == "asap" {
                other.status = "date".into();
                other.date = Some(today());
                save_in(tx, &other).await?;
            }
        }
        Ok(())
    }

    pub async fn create_action(&self, actor: Actor, draft: ActionDraft) -> Result<Action> {
        let mut tx = self.begin(actor).await?;
        let d = self.check_action(&mut tx, draft).await?;
        let done = d.status == "done";
        let action = Action {
            id: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
            contact_id: Some(d.contact_id),
            deal_id: None,
            lead_id: None,
            assignee_id: d.assignee_id,
            text: d.text,
            status: d.status,
            date: d.date,
            exact_time: d.exact_time,
            done_at: done.then(Utc::now),
            position: d.position,
            status_before_done: done.then(|| "date".to_owned()),
            company_id: None,
            remind_at: None,
            creator_id: Some(actor.user_id),
        };
        let action = insert_in(&mut tx, action).await?;
        Self::demote_other_asap(&mut tx, &action).await?;
        notify_assignee(&mut tx, action.assignee_id, &action.text, action.contact_id).await?;
        tx.commit().await?;
        Ok(action)
    }

    /// Replaces an action's writable fields; its contact cannot change.
    pub async fn update_action(&self, actor: Actor, id: i64, draft: ActionDraft) -> Result<Action> {
        let mut tx = self.begin(actor).await?;
        let mut action: Action = get_in(&mut tx, id).await?;
        if action.contact_id != Some(draft.contact_id) {
            return Err(DomainError::invalid("contact_id", "cannot be changed"));
        }
        let d = self.check_action(&mut tx, draft).await?;
        let was_done = action.status == "done";
        if d.assignee_id != action.assignee_id {
            notify_assignee(&mut tx, d.assignee_id, &d.text, action.contact_id).await?;
        }
        if d.status == "done" && !was_done {
            action.status_before_done = Some(action.status.clone());
            action.done_at = Some(Utc::now());
        } else if d.status != "done" {
            action.done_at = None;
            action.status_before_done = None;
        }
        action.assignee_id = d.assignee_id;
        action.text = d.text;
        action.status = d.status;
        action.date = d.date;
        action.exact_time = d.exact_time;
        action.position = d.position;
        let action = save_in(&mut tx, &action).await?;
        Self::demote_other_asap(&mut tx, &action).await?;
        tx.commit().await?;
        Ok(action)
    }

    /// Checks a task's text, assignee and (when it changes) subject; gives the subject's links.
    async fn check_task(tx: &mut Tx, d: &mut TaskDraft, current: Option<&Action>) -> Result<Option<Links>> {
        let mut errors = Errors::default();
        d.text = d.text.trim().to_owned();
        if d.text.is_empty() {
            errors.add("text", "is required");
        }
        errors.max_len("text", Some(&d.text), ACTION_TEXT_MAX);
        check_user(tx, &mut errors, "assignee_id", d.assignee_id).await?;
        let links = match (d.subject, current) {
            (s, Some(a)) if a.links().subject() == s => None,
            (Some(s), _) => Some(resolve_subject(tx, &mut errors, s).await?),
            (None, _) => Some(Links::default()),
        };
        errors.finish()?;
        Ok(links)
    }

    /// Gives `a` the draft's due time and completion (see `TaskDraft`).
    fn apply_task_state(a: &mut Action, d: &TaskDraft) {
        let same_due = d.due.map(|t| t.timestamp()) == a.due_at().map(|t| t.timestamp());
        let mut open = if a.status == "done" {
            a.status_before_done.clone().unwrap_or_else(|| "date".into())
        } else {
            a.status.clone()
        };
        if !same_due {
            match d.due {
                Some(t) => {
                    open = "date_time".into();
                    a.exact_time = Some(t);
                    a.date = Some(t.date_naive().format("%Y-%m-%d").to_string());
                }
                None => {
                    open = UNDATED_TASK_STATUS.into();
                    a.exact_time = None;
                    a.date = None;
                }
            }
        }
        if (open == "date" || open == "queued_with_date") && a.date.is_none() {
            a.date = Some(today());
        }
        if d.completed {
            if a.status != "done" {
                a.done_at = Some(Utc::now());
            }
            a.status = "done".into();
            a.status_before_done = Some(open);
        } else {
            a.status = open;
            a.status_before_done = None;
            a.done_at = None;
        }
    }

    /// Creates an action from a task (about anything or nothing).
    pub async fn create_task(&self, actor: Actor, mut d: TaskDraft) -> Result<Action> {
        let mut tx = self.begin(actor).await?;
        let links = Self::check_task(&mut tx, &mut d, None).await?.unwrap_or_default();
        let now = Utc::now();
        let mut action = Action {
            id: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            contact_id: links.contact_id,
            deal_id: links.deal_id,
            lead_id: links.lead_id,
            assignee_id: d.assignee_id,
            text: d.text.clone(),
            status: UNDATED_TASK_STATUS.into(),
            date: None,
            exact_time: None,
            done_at: None,
            position: 0,
            status_before_done: None,
            company_id: links.company_id,
            remind_at: d.remind_at,
            creator_id: Some(actor.user_id),
        };
        Self::apply_task_state(&mut action, &d);
        let action = insert_in(&mut tx, action).await?;
        notify_assignee(&mut tx, action.assignee_id, &action.text, action.contact_id).await?;
        tx.commit().await?;
        Ok(action)
    }

    /// Replaces an action's task fields; unlike `update_action`, the subject may change.
    pub async fn update_task(&self, actor: Actor, id: i64, mut d: TaskDraft) -> Result<Action> {
        let mut tx = self.begin(actor).await?;
        let mut action: Action = get_in(&mut tx, id).await?;
        if let Some(links) = Self::check_task(&mut tx, &mut d, Some(&action)).await? {
            action.contact_id = links.contact_id;
            action.company_id = links.company_id;
            action.lead_id = links.lead_id;
            action.deal_id = links.deal_id;
        }
        if d.assignee_id != action.assignee_id {
            notify_assignee(&mut tx, d.assignee_id, &d.text, action.contact_id).await?;
        }
        action.assignee_id = d.assignee_id;
        action.text = d.text.clone();
        action.remind_at = d.remind_at;
        Self::apply_task_state(&mut action, &d);
        let action = save_in(&mut tx, &action).await?;
        Self::demote_other_asap(&mut tx, &action).await?;
        tx.commit().await?;
        Ok(action)
    }

    /// Runs `change` on one action inside a transaction and saves it.
    async fn change_action(
        &self,
        actor: Actor,
        id: i64,
        change: impl FnOnce(&mut Action) -> Result<()>,
    ) -> Result<Action> {
        let mut tx = self.begin(actor).await?;
        let mut action: Action = get_in(&mut tx, id).await?;
        change(&mut action)?;
        let action = save_in(&mut tx, &action).await?;
        Self::demote_other_asap(&mut tx, &action).await?;
        tx.commit().await?;
        Ok(action)
    }

    pub async fn complete_action(&self, actor: Actor, id: i64) -> Result<Action> {
        self.change_action(actor, id, |a| {
            if a.status != "done" {
                a.status_before_done = Some(a.status.clone());
                a.status = "done".into();
                a.done_at = Some(Utc::now());
            }
            Ok(())
        })
        .await
    }

    /// Reverts a completed action to the status it had before.
    pub async fn undo_action_completion(&self, actor: Actor, id: i64) -> Result<Action> {
        self.change_action(actor, id, |a| {
            if a.status != "done" {
                return Err(DomainError::Conflict("the action is not complete".into()));
            }
            let previous = a.status_before_done.take().unwrap_or_else(|| "date".into());
            if (previous == "date" || previous == "queued_with_date") && a.date.is_none() {
                a.date = Some(today());
            }
            a.status = previous;
            a.done_at = None;
            Ok(())
        })
        .await
    }

    /// Gives an action back to the calling user.
    pub async fn unassign_action(&self, actor: Actor, id: i64) -> Result<Action> {
        self.change_action(actor, id, |a| {
            a.assignee_id = actor.user_id;
            Ok(())
        })
        .await
    }

    /// Makes a queued action of the caller's the next action of its contact; only when the caller
    /// has no next action on that contact (otherwise see `swap_action`).
    pub async fn promote_action(&self, actor: Actor, id: i64) -> Result<Action> {
        let mut tx = self.begin(actor).await?;
        let mut action: Action = get_in(&mut tx, id).await?;
        if !action.is_queued() {
            return Err(DomainError::Conflict("only a queued action can be promoted".into()));
        }
        if action.assignee_id != actor.user_id {
            return Err(DomainError::Conflict("the action is assigned to another user".into()));
        }
        let contact_id = action.contact_id.unwrap_or_default();
        if Self::open_actions_in(&mut tx, contact_id, Some(actor.user_id)).await?.iter().any(Action::is_next) {
            return Err(DomainError::Conflict("the contact already has a next action for you; swap instead".into()));
        }
        action.status = "date".into();
        action.date.get_or_insert_with(today);
        let action = save_in(&mut tx, &action).await?;
        tx.commit().await?;
        Ok(action)
    }

    /// Swaps a dated queued action with the caller's next action (of status date, date_time or
    /// waiting) on the same contact, when the queued action is due first. Returns the promoted action.
    pub async fn swap_action(&self, actor: Actor, id: i64) -> Result<Action> {
        let mut tx = self.begin(actor).await?;
        let mut queued: Action = get_in(&mut tx, id).await?;
        if queued.status != "queued_with_date" {
            return Err(DomainError::Conflict("only a queued action with a date can be swapped in".into()));
        }
        if queued.assignee_id != actor.user_id {
            return Err(DomainError::Conflict("the action is assigned to another user".into()));
        }
        let contact_id = queued.contact_id.unwrap_or_default();
        let mut open = Self::open_actions_in(&mut tx, contact_id, Some(actor.user_id)).await?;
        open.sort_by(stream_order);
        let Some(mut next) = open.into_iter().find(|a| matches!(a.status.as_str(), "date" | "date_time" | "waiting"))
        else {
            return Err(DomainError::Conflict("there is no dated or waiting next action to swap with".into()));
        };
        let earlier = match (&queued.date, &next.date) {
            (Some(q), Some(n)) => q < n,
            (Some(_), None) => next.status == "waiting",
            _ => false,
        };
        if !earlier {
            return Err(DomainError::Conflict("the queued action is not due before the next action".into()));
        }
        next.status = if next.date.is_some() { "queued_with_date" } else { "queued" }.into();
        next.exact_time = None;
        next.position = queued.position;
        queued.status = "date".into();
        save_in(&mut tx, &next).await?;
        let promoted = save_in(&mut tx, &queued).await?;
        tx.commit().await?;
        Ok(promoted)
    }

    /// The action stream's order: every live contact matching `contacts` that has an open next
    /// action of `of`, ordered by its next action, with its open actions. Contacts are not
    /// loaded (a stream can hold most of an account; callers load the page they show).
    pub async fn action_stream_slots(
        &self,
        actor: Actor,
        of: StreamOf,
        contacts: Option<Filter>,
    ) -> Result<Vec<StreamSlot>> {
        let mut f =
            vec![Filter::cmp("status", kith_store::Op::Ne, "done"), Filter::IsNotNull(Field::col("contact_id"))];
        if let StreamOf::User(u) = of {
            f.push(Filter::eq("assignee_id", u));
        }
        let open = Filter::All(f);
        let q = ListQuery::all().filter(open.clone()).sort(Sort::asc("id"));
        let mut by_contact: HashMap<i64, Vec<Action>> = HashMap::new();
        for a in self.list::<Action>(actor, &q).await?.rows {
            if let Some(c) = a.contact_id {
                by_contact.entry(c).or_default().push(a);
            }
        }
        by_contact.retain(|_, v| v.iter().any(Action::is_next));
        if by_contact.is_empty() {
            return Ok(Vec::new());
        }
        // Which of those contacts are live and match: asked by reference, so the query does not
        // grow with the stream.
        let mut eligible =
            Filter::Referenced { target: Action::SPEC, via: "contact_id".into(), filter: Box::new(open) };
        if let Some(extra) = contacts {
            eligible = Filter::and(Some(eligible), extra);
        }
        let ids: HashSet<i64> =
            self.store().list_ids(actor.account_id, Contact::SPEC, Some(&eligible)).await?.into_iter().collect();
        let mut slots: Vec<StreamSlot> = by_contact
            .into_iter()
            .filter(|(cid, _)| ids.contains(cid))
            .map(|(contact_id, mut actions)| {
                actions.sort_by(stream_order);
                let (next, queued): (Vec<Action>, Vec<Action>) = actions.into_iter().partition(Action::is_next);
                let first_date = next.first().and_then(|n| n.date.clone());
                let conflicts = queued
                    .iter()
                    .filter(|q| {
                        q.status == "queued_with_date"
                            && match (&q.date, &first_date) {
                                (Some(qd), Some(nd)) => qd < nd,
                                _ => false,
                            }
                    })
                    .cloned()
                    .collect();
                StreamSlot { contact_id, next_actions: next, queued_actions: queued, conflicts }
            })
            .collect();
        slots.sort_by(|a, b| match (a.next_actions.first(), b.next_actions.first()) {
            (Some(x), Some(y)) => stream_order(x, y),
            _ => Ordering::Equal,
        });
        Ok(slots)
    }

    /// Loads the contacts of some stream slots, keeping their order.
    pub async fn stream_entries(&self, actor: Actor, slots: Vec<StreamSlot>) -> Result<Vec<StreamEntry>> {
        let mut found: HashMap<i64, Contact> = HashMap::new();
        let ids: Vec<i64> = slots.iter().map(|s| s.contact_id).collect();
        for chunk in ids.chunks(500) {
            for row in self.store().get_many(actor.account_id, Contact::SPEC, chunk).await? {
                let c = Contact::from_row(row)?;
                found.insert(c.id, c);
            }
        }
        Ok(slots
            .into_iter()
            .filter_map(|s| {
                Some(StreamEntry {
                    contact: found.remove(&s.contact_id)?,
                    next_actions: s.next_actions,
                    queued_actions: s.queued_actions,
                    conflicts: s.conflicts,
                })
            })
            .collect())
    }

    /// The whole action stream with its contacts: contacts with open next actions of `of`,
    /// ordered by their next action. `contacts` narrows the contacts.
    pub async fn action_stream(
        &self,
        actor: Actor,
        of: StreamOf,
        contacts: Option<Filter>,
    ) -> Result<Vec<StreamEntry>> {
        let slots = self.action_stream_slots(actor, of, contacts).await?;
        self.stream_entries(actor, slots).await
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn action(status: &str, date: Option<&str>, exact_time: Option<DateTime<Utc>>) -> Action {
        let t = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single().unwrap_or_default();
        Action {
            id: 1,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            contact_id: Some(2),
            deal_id: None,
            lead_id: None,
            assignee_id: 3,
            text: "x".into(),
            status: status.into(),
            date: date.map(str::to_owned),
            exact_time,
            done_at: None,
            position: 0,
            status_before_done: None,
            company_id: None,
            remind_at: None,
            creator_id: None,
        }
    }

    #[test]
    fn due_and_overdue() {
        let now = Utc.with_ymd_and_hms(2030, 6, 15, 12, 0, 0).single().unwrap_or_default();
        let timed = action("date_time", Some("2030-06-15"), Some(now - chrono::Duration::minutes(1)));
        assert!(timed.is_overdue(now));
        assert_eq!(timed.due_at(), timed.exact_time);
        // A dated action is due through its day.
        let today = action("date", Some("2030-06-15"), None);
        assert!(!today.is_overdue(now));
        assert_eq!(today.due_at().map(|t| t.to_rfc3339()), Some("2030-06-15T00:00:00+00:00".into()));
        assert!(action("date", Some("2030-06-14"), None).is_overdue(now));
        assert!(!action("done", Some("2030-06-14"), None).is_overdue(now));
        assert!(!action("waiting", None, None).is_overdue(now));
        assert_eq!(action("asap", None, None).due_at(), None);
    }

    #[test]
    fn completing_and_reopening_a_task_keeps_its_status() {
        let mut a = action("date", Some("2030-06-14"), None);
        let mut d = a.task_draft();
        d.completed = true;
        Crm::apply_task_state(&mut a, &d);
        assert_eq!((a.status.as_str(), a.status_before_done.as_deref()), ("done", Some("date")));
        assert!(a.done_at.is_some());
        d.completed = false;
        Crm::apply_task_state(&mut a, &d);
        assert_eq!((a.status.as_str(), a.date.as_deref(), a.done_at), ("date", Some("2030-06-14"), None));
        // A new due time makes it timed; none makes it undated (not ASAP).
        d.due = Some(Utc.with_ymd_and_hms(2030, 7, 1, 9, 30, 0).single().unwrap_or_default());
        Crm::apply_task_state(&mut a, &d);
        assert_eq!((a.status.as_str(), a.date.as_deref()), ("date_time", Some("2030-07-01")));
        d.due = None;
        Crm::apply_task_state(&mut a, &d);
        assert_eq!((a.status.as_str(), a.date, a.exact_time), (UNDATED_TASK_STATUS, None, None));
    }
}
