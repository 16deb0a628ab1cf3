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
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use kith_store::{Field, Filter, ListPage, ListQuery, Page, Sort, Tx, Visibility};

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
}

/// Orders actions as the action stream shows them: by `stream_key`, then by creation.
pub fn stream_order(a: &Action, b: &Action) -> Ordering {
    a.stream_key().cmp(&b.stream_key()).then_with(|| a.created_at.cmp(&b.created_at)).then_with(|| a.id.cmp(&b.id))
}

/// Open next actions (`asap`, dated, `waiting`), the ones a stream is ordered by.
fn next_action_filter() -> Filter {
    Filter::In { field: Field::col("status"), values: NEXT_STATUSES.iter().map(|s| (*s).into()).collect() }
}

/// Stream order in the database.
pub fn stream_sorts(q: ListQuery) -> ListQuery {
    q.sort(Sort::asc("stream_key")).sort(Sort::asc("created_at"))
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

/// Which actions an action stream is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOf {
    /// One user's actions.
    User(i64),
    /// Every user's actions.
    Team,
}

impl StreamOf {
    /// The actions of the stream's user(s).
    fn assignee_filter(self) -> Filter {
        match self {
            StreamOf::User(u) => Filter::eq("assignee_id", u),
            StreamOf::Team => Filter::All(Vec::new()),
        }
    }
}

/// Which contacts of an action stream a page shows.
#[derive(Debug, Clone)]
pub struct StreamQuery {
    pub of: StreamOf,
    /// Narrows the contacts (a contact filter).
    pub contacts: Option<Filter>,
    /// Only contacts whose next action is `waiting`.
    pub waiting: bool,
    /// Only contacts with an open next action assigned to this user.
    pub with_next_action_of: Option<i64>,
}

impl StreamQuery {
    pub fn new(of: StreamOf) -> Self {
        StreamQuery { of, contacts: None, waiting: false, with_next_action_of: None }
    }
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
            stream_key: String::new(),
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
    pub async fn create_task(&self, actor: Actor, d: TaskDraft) -> Result<Action> {
        self.create_task_linked(actor, d, &crate::links::LinkDraft::default()).await
    }

    /// Creates an action from a task, with its type and campaign (`links::write_in`).
    pub async fn create_task_linked(
        &self,
        actor: Actor,
        mut d: TaskDraft,
        labels: &crate::links::LinkDraft,
    ) -> Result<Action> {
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
            stream_key: String::new(),
        };
        Self::apply_task_state(&mut action, &d);
        let action = insert_in(&mut tx, action).await?;
        crate::links::write_in(&mut tx, Action::SPEC, action.id, labels, true).await?;
        notify_assignee(&mut tx, action.assignee_id, &action.text, action.contact_id).await?;
        tx.commit().await?;
        Ok(action)
    }

    /// Replaces an action's task fields; unlike `update_action`, the subject may change.
    pub async fn update_task(&self, actor: Actor, id: i64, d: TaskDraft) -> Result<Action> {
        self.update_task_linked(actor, id, d, &crate::links::LinkDraft::default()).await
    }

    /// Replaces an action's task fields and, where `links` says so, its type and campaign.
    pub async fn update_task_linked(
        &self,
        actor: Actor,
        id: i64,
        mut d: TaskDraft,
        labels: &crate::links::LinkDraft,
    ) -> Result<Action> {
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
        let mut action = save_in(&mut tx, &action).await?;
        if crate::links::write_in(&mut tx, Action::SPEC, action.id, labels, false).await? {
            action = get_in(&mut tx, action.id).await?;
        }
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

    /// One page of an action stream: the live contacts matching `q` that have an open next
    /// action of `q.of`, ordered by their next action (the first of their open next actions in
    /// stream order), each with its open actions of `q.of`. The database orders, pages and
    /// counts the stream; only the page's contacts and actions are read.
    pub async fn action_stream(
        &self,
        actor: Actor,
        q: &StreamQuery,
        offset: u64,
        limit: u64,
    ) -> Result<ListPage<StreamEntry>> {
        let mut contacts = q.contacts.clone();
        if q.waiting {
            // The next action is waiting when no ASAP or dated one comes before it.
            let earlier = Filter::All(vec![
                Filter::In {
                    field: Field::col("status"),
                    values: vec!["asap".into(), "date".into(), "date_time".into()],
                },
                q.of.assignee_filter(),
            ]);
            let earlier =
                Filter::Referenced { target: Action::SPEC, via: "contact_id".into(), filter: Box::new(earlier) };
            contacts = Some(Filter::and(contacts, Filter::Not(Box::new(earlier))));
        }
        if let Some(user) = q.with_next_action_of {
            match q.of {
                StreamOf::User(u) if u != user => return Ok(ListPage { rows: Vec::new(), total: Some(0), next: None }),
                StreamOf::User(_) => {}
                StreamOf::Team => contacts = Some(Filter::and(contacts, stream_members(StreamOf::User(user)))),
            }
        }
        let live_contact = Filter::Related {
            via: "contact_id".into(),
            target: Contact::SPEC,
            filter: Box::new(contacts.unwrap_or(Filter::All(Vec::new()))),
        };
        let firsts = stream_sorts(ListQuery::new(Page::Offset { offset, limit }))
            .filter(open_next_actions(q.of))
            .filter(live_contact);
        let total = Some(self.count_first_per(actor, Action::SPEC, "contact_id", &firsts).await?);
        let firsts = self.store().list_first_per(actor.account_id, Action::SPEC, "contact_id", &firsts).await?;
        let ids: Vec<i64> =
            firsts.rows.iter().map(|r| Action::from_row(r.clone())).filter_map(|a| a.ok()?.contact_id).collect();
        if ids.is_empty() {
            return Ok(ListPage { rows: Vec::new(), total, next: None });
        }
        let mut found: HashMap<i64, Contact> = HashMap::new();
        for row in self.store().get_many(actor.account_id, Contact::SPEC, &ids).await? {
            let c = Contact::from_row(row)?;
            found.insert(c.id, c);
        }
        let open = Filter::All(vec![
            Filter::In { field: Field::col("contact_id"), values: ids.iter().map(|id| (*id).into()).collect() },
            Filter::cmp("status", kith_store::Op::Ne, "done"),
            q.of.assignee_filter(),
        ]);
        let mut by_contact: HashMap<i64, Vec<Action>> = HashMap::new();
        for a in self.list::<Action>(actor, &stream_sorts(ListQuery::all().filter(open))).await?.rows {
            if let Some(c) = a.contact_id {
                by_contact.entry(c).or_default().push(a);
            }
        }
        let rows = ids
            .into_iter()
            .filter_map(|id| {
                let contact = found.remove(&id)?;
                let (next_actions, queued_actions): (Vec<Action>, Vec<Action>) =
                    by_contact.remove(&id).unwrap_or_default().into_iter().partition(Action::is_next);
                let first_date = next_actions.first().and_then(|n| n.date.clone());
                let conflicts = queued_actions
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
                Some(StreamEntry { contact, next_actions, queued_actions, conflicts })
            })
            .collect();
        Ok(ListPage { rows, total, next: None })
    }
}

/// Open next actions of a stream, about a contact.
fn open_next_actions(of: StreamOf) -> Filter {
    Filter::All(vec![next_action_filter(), Filter::IsNotNull(Field::col("contact_id")), of.assignee_filter()])
}

/// The contacts of an action stream (those with an open next action of `of`), as a contact
/// filter: what a contact list narrowed to the stream, or the contacts outside it, filter by.
pub fn stream_members(of: StreamOf) -> Filter {
    Filter::Referenced { target: Action::SPEC, via: "contact_id".into(), filter: Box::new(open_next_actions(of)) }
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
            stream_key: String::new(),
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

    #[test]
    fn stream_keys_sort_as_the_stream_orders() {
        let t = |h: u32| Utc.with_ymd_and_hms(2030, 1, 1, h, 0, 0).single().unwrap_or_default();
        let mut done_early = action("done", None, None);
        done_early.done_at = Some(t(1));
        let mut done_late = action("done", None, None);
        done_late.done_at = Some(t(5));
        let mut queued_2 = action("queued", None, None);
        queued_2.position = 2;
        let mut queued_1_dated = action("queued_with_date", Some("2030-01-01"), None);
        queued_1_dated.position = 1;
        let mut queued_1 = action("queued", None, None);
        queued_1.position = 1;
        // In stream order: ASAP, dated by day (a day's untimed before its timed), waiting,
        // queued by position (undated first), done latest first, never completed last.
        let expected = [
            action("asap", None, None),
            action("date", Some("2029-12-31"), None),
            action("date_time", Some("2029-12-31"), Some(t(9))),
            action("date", Some("2030-01-01"), None),
            action("date_time", Some("2030-01-01"), Some(t(3))),
            action("date_time", Some("2030-01-01"), Some(t(12))),
            action("waiting", None, None),
            queued_1,
            queued_1_dated,
            queued_2,
            done_late,
            done_early,
            action("done", None, None),
        ];
        let keys: Vec<String> = expected.iter().map(Action::stream_key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
        assert!(keys.iter().all(|k| k.is_ascii() && !k.is_empty()));
    }

    async fn contact(t: &crate::testing::TestCrm, last: &str) -> i64 {
        let d = crate::ContactDraft { last_name: Some(last.into()), ..Default::default() };
        t.crm.create_contact(t.actor, d).await.expect("contact").id
    }

    fn draft(contact_id: i64, assignee_id: i64, status: &str, date: Option<&str>) -> ActionDraft {
        ActionDraft {
            contact_id,
            assignee_id,
            text: "Call".into(),
            status: status.into(),
            date: date.map(str::to_owned),
            exact_time: None,
            position: 0,
        }
    }

    #[tokio::test]
    async fn the_stream_is_ordered_paged_and_counted_by_the_database() {
        let t = crate::testing::crm().await;
        let me = t.actor.user_id;
        let mut expected = Vec::new();
        // Contacts whose next actions fall on days in reverse order of creation; one has only a
        // queued action (not in the stream), one a waiting action after a dated one.
        for day in (1..=9).rev() {
            let c = contact(&t, &format!("C{day}")).await;
            let date = format!("2030-01-0{day}");
            t.crm.create_action(t.actor, draft(c, me, "date", Some(&date))).await.expect("action");
            t.crm.create_action(t.actor, draft(c, me, "waiting", None)).await.expect("waiting");
            expected.push((day, c));
        }
        let queued_only = contact(&t, "Q").await;
        t.crm.create_action(t.actor, draft(queued_only, me, "queued", None)).await.expect("queued");
        let waiting_only = contact(&t, "W").await;
        t.crm.create_action(t.actor, draft(waiting_only, me, "waiting", None)).await.expect("waiting");
        expected.sort();
        let mut expected: Vec<i64> = expected.into_iter().map(|(_, c)| c).collect();
        expected.push(waiting_only);

        let q = StreamQuery::new(StreamOf::User(me));
        let whole = t.crm.action_stream(t.actor, &q, 0, 100).await.expect("stream");
        assert_eq!(whole.total, Some(10));
        assert_eq!(whole.rows.iter().map(|e| e.contact.id).collect::<Vec<_>>(), expected);
        let first = &whole.rows[0];
        assert_eq!(first.next_actions.iter().map(|a| a.status.as_str()).collect::<Vec<_>>(), ["date", "waiting"]);
        let mut paged = Vec::new();
        for offset in (0..12).step_by(3) {
            let page = t.crm.action_stream(t.actor, &q, offset, 3).await.expect("page");
            assert_eq!(page.total, Some(10));
            paged.extend(page.rows.into_iter().map(|e| e.contact.id));
        }
        assert_eq!(paged, expected, "pages read one after another are the whole stream");

        let waiting = StreamQuery { waiting: true, ..q.clone() };
        let page = t.crm.action_stream(t.actor, &waiting, 0, 100).await.expect("waiting");
        assert_eq!(page.rows.iter().map(|e| e.contact.id).collect::<Vec<_>>(), [waiting_only]);
        let other_user = StreamQuery { with_next_action_of: Some(me + 1_000_000), ..q.clone() };
        assert_eq!(t.crm.action_stream(t.actor, &other_user, 0, 100).await.expect("none").total, Some(0));
        let team = StreamQuery { with_next_action_of: Some(me), ..StreamQuery::new(StreamOf::Team) };
        assert_eq!(t.crm.action_stream(t.actor, &team, 0, 100).await.expect("team").total, Some(10));
        // Deleting a contact takes it out of the stream.
        t.crm.delete_contact(t.actor, expected[0]).await.expect("delete");
        assert_eq!(t.crm.action_stream(t.actor, &q, 0, 100).await.expect("after").total, Some(9));
    }

    #[tokio::test]
    async fn actions_from_before_stream_keys_get_them_on_migration() {
        let t = crate::testing::crm().await;
        let c = contact(&t, "Old").await;
        let a = t.crm.create_action(t.actor, draft(c, t.actor.user_id, "date", Some("2030-02-01"))).await.expect("a");
        assert_eq!(a.stream_key, "12030-02-010");
        // As a database of version 3 holds it once version 4 added the column: empty.
        let mut tx = t.crm.store().begin(t.actor.account_id, None).await.expect("tx");
        tx.update(Action::SPEC, a.id, &[("stream_key", kith_store::Value::Text(String::new()))]).await.expect("blank");
        tx.commit().await.expect("commit");
        assert_eq!(t.crm.get::<Action>(t.actor, a.id).await.expect("read").stream_key, "");
        t.crm.migrate().await.expect("migrate");
        assert_eq!(t.crm.get::<Action>(t.actor, a.id).await.expect("read").stream_key, "12030-02-010");
    }
}
