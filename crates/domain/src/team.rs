//! The account's team and sales pipelines, written through an API rather than the command line:
//! users added, changed and removed, and pipelines written whole with their stages.
//!
//! The rules:
//! - Only the account's owners and admins add and remove users; a user may change their own
//!   details (as `update_user` says). A user is added with the role `user` unless told otherwise,
//!   and without an API key (the command line issues keys).
//! - A user who still owns records (contacts, companies, leads, deals) or has open tasks cannot
//!   be removed: their records go to someone else first. No one removes themselves, and the
//!   account keeps at least one owner. A removed user's API keys stop working.
//! - A pipeline's stages are given whole: a stage with an id keeps its row (and its deals), one
//!   without is new, and a stage left out is deleted — which, as for any stage, is refused while
//!   a deal is in it. A stage's category follows its probability.
//! - A pipeline holding deals cannot be deleted; neither can the account's last pipeline. When the
//!   default pipeline goes, the next one (by position) becomes the default.

use chrono::Utc;
use kith_store::{Filter, ListQuery, Page, Sort, Tx};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::deal_rows::{STAGE_NAME_MAX, stage_category_of_probability};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Action, ApiKey, Company, Contact, Deal, Lead, Pipeline, Stage, User};

pub const PIPELINE_NAME_MAX: usize = 100;
pub const PIPELINE_STAGES_MAX: usize = 100;
pub const USER_NAME_MAX: usize = 100;

/// A user to add, or the changes to one (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub company_name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    /// `owner`, `admin` or `user`.
    pub role: Option<String>,
    pub active: Option<bool>,
}

/// One stage of a pipeline written whole: `id` names an existing stage of the pipeline.
#[derive(Debug, Clone)]
pub struct StageInput {
    pub id: Option<i64>,
    pub name: String,
    pub probability: i64,
}

/// A pipeline to create, or the changes to one (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct PipelineChanges {
    pub name: Option<String>,
    pub position: Option<i64>,
    /// The whole list of stages, in order.
    pub stages: Option<Vec<StageInput>>,
}

fn one_row() -> ListQuery {
    ListQuery::new(Page::Offset { offset: 0, limit: 1 })
}

async fn any(tx: &mut Tx, spec: &'static kith_store::EntitySpec, f: Filter) -> Result<bool> {
    Ok(!tx.list(spec, &one_row().filter(f)).await?.rows.is_empty())
}

fn check_user(e: &mut Errors, c: &UserChanges) {
    if let Some(email) = &c.email {
        crate::auth::validate_email(e, "email", email);
    }
    for (field, v) in [("first_name", &c.first_name), ("last_name", &c.last_name), ("company_name", &c.company_name)] {
        e.max_len(field, v.as_ref().and_then(|v| v.as_deref()), USER_NAME_MAX);
    }
    e.max_len("phone", c.phone.as_ref().and_then(|v| v.as_deref()), 50);
    if let Some(role) = &c.role
        && !matches!(role.as_str(), "owner" | "admin" | "user")
    {
        e.add("role", "must be owner, admin or user");
    }
}

fn apply_user(u: &mut User, c: UserChanges) {
    if let Some(email) = c.email {
        u.email = email.trim().to_ascii_lowercase();
    }
    if let Some(v) = c.first_name {
        u.first_name = v;
    }
    if let Some(v) = c.last_name {
        u.last_name = v;
    }
    if let Some(v) = c.company_name {
        u.company_name = v;
    }
    if let Some(v) = c.phone {
        u.phone = v;
    }
    if let Some(v) = c.role {
        u.role = v;
    }
    if let Some(v) = c.active {
        u.active = v;
    }
}

fn email_taken(email: &str) -> impl Fn(DomainError) -> DomainError + '_ {
    move |e| match e {
        DomainError::Conflict(_) => DomainError::Conflict(format!("a user with email {email} exists")),
        e => e,
    }
}

impl Crm {
    async fn require_admin(&self, actor: Actor, what: &str) -> Result<User> {
        let me = self.me(actor).await?;
        if !matches!(me.role.as_str(), "owner" | "admin") {
            return Err(DomainError::Forbidden(format!("only owners and admins can {what}")));
        }
        Ok(me)
    }

    /// Adds a user to the caller's account (owners and admins only); `email` is required.
    pub async fn create_user(&self, actor: Actor, c: UserChanges) -> Result<User> {
        let me = self.require_admin(actor, "add users").await?;
        let mut e = Errors::default();
        if c.email.as_deref().is_none_or(|m| m.trim().is_empty()) {
            e.add("email", "is required");
        } else {
            check_user(&mut e, &c);
        }
        if c.role.as_deref() == Some("owner") && me.role != "owner" {
            e.add("role", "only an owner can add an owner");
        }
        e.finish()?;
        let email = c.email.clone().unwrap_or_default();
        let mut user = crate::auth::new_user(&email, "user");
        apply_user(&mut user, c);
        let mut tx = self.begin(actor).await?;
        let user = insert_in(&mut tx, user).await.map_err(email_taken(&email))?;
        tx.commit().await?;
        Ok(user)
    }

    /// Changes a user: their own details for anyone, the rest (email, role, whether active) for
    /// owners and admins. The account keeps an active owner.
    pub async fn change_user(&self, actor: Actor, id: i64, c: UserChanges) -> Result<User> {
        let me = self.me(actor).await?;
        let admin = matches!(me.role.as_str(), "owner" | "admin");
        if !admin && (id != actor.user_id || c.email.is_some() || c.role.is_some() || c.active.is_some()) {
            return Err(DomainError::Forbidden("only owners and admins can change other users".into()));
        }
        let mut e = Errors::default();
        check_user(&mut e, &c);
        if c.role.as_deref() == Some("owner") && me.role != "owner" {
            e.add("role", "only an owner can make an owner");
        }
        e.finish()?;
        let mut tx = self.begin(actor).await?;
        let mut user: User = get_in(&mut tx, id).await?;
        let was_owner = user.role == "owner" && user.active;
        let email = c.email.clone().unwrap_or_else(|| user.email.clone());
        apply_user(&mut user, c);
        if was_owner && !(user.role == "owner" && user.active) {
            last_owner_check(&mut tx, id).await?;
        }
        let user = save_in(&mut tx, &user).await.map_err(email_taken(&email))?;
        tx.commit().await?;
        Ok(user)
    }

    /// Removes a user who owns nothing (owners and admins only); their API keys go with them.
    pub async fn remove_user(&self, actor: Actor, id: i64) -> Result<()> {
        self.require_admin(actor, "remove users").await?;
        if id == actor.user_id {
            return Err(DomainError::Conflict("a user cannot remove themselves".into()));
        }
        let mut tx = self.begin(actor).await?;
        let user: User = get_in(&mut tx, id).await?;
        if user.role == "owner" {
            last_owner_check(&mut tx, id).await?;
        }
        let owned: [(&'static kith_store::EntitySpec, &str, &str); 4] = [
            (Contact::SPEC, "owner_id", "contacts"),
            (Company::SPEC, "owner_id", "companies"),
            (Lead::SPEC, "owner_id", "leads"),
            (Deal::SPEC, "owner_id", "deals"),
        ];
        let mut held = Vec::new();
        for (spec, column, what) in owned {
            if any(&mut tx, spec, Filter::eq(column, id)).await? {
                held.push(what);
            }
        }
        let open_tasks =
            Filter::All(vec![Filter::eq("assignee_id", id), Filter::cmp("status", kith_store::Op::Ne, "done")]);
        if any(&mut tx, Action::SPEC, open_tasks).await? {
            held.push("open tasks");
        }
        if !held.is_empty() {
            return Err(DomainError::Conflict(format!(
                "the user still owns {}: give them to another user first",
                held.join(", ")
            )));
        }
        let keys = tx.list(ApiKey::SPEC, &ListQuery::all().filter(Filter::eq("user_id", id))).await?.rows;
        for key in keys {
            tx.delete(ApiKey::SPEC, key.id).await?;
        }
        tx.delete(User::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a pipeline with its stages (last in position unless given one).
    pub async fn create_pipeline(&self, actor: Actor, c: PipelineChanges) -> Result<(Pipeline, Vec<Stage>)> {
        let mut e = Errors::default();
        if c.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            e.add("name", "is required");
        }
        check_pipeline(&mut e, &c);
        e.finish()?;
        let mut tx = self.begin(actor).await?;
        let others = tx.list(Pipeline::SPEC, &ListQuery::all()).await?.try_map(Pipeline::from_row)?.rows;
        let t = Utc::now();
        let pipeline = Pipeline {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            name: c.name.clone().unwrap_or_default(),
            position: c.position.unwrap_or_else(|| others.iter().map(|p| p.position + 1).max().unwrap_or(0)),
            is_default: others.is_empty(),
        };
        let pipeline = insert_in(&mut tx, pipeline).await?;
        let stages = write_stages(&mut tx, pipeline.id, c.stages.unwrap_or_default()).await?;
        tx.commit().await?;
        Ok((pipeline, stages))
    }

    /// Changes a pipeline: its name, position and (given whole) its stages.
    pub async fn change_pipeline(&self, actor: Actor, id: i64, c: PipelineChanges) -> Result<(Pipeline, Vec<Stage>)> {
        let mut e = Errors::default();
        if c.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            e.add("name", "can't be blank");
        }
        check_pipeline(&mut e, &c);
        e.finish()?;
        let mut tx = self.begin(actor).await?;
        let mut pipeline: Pipeline = get_in(&mut tx, id).await?;
        if let Some(name) = c.name {
            pipeline.name = name;
        }
        if let Some(p) = c.position {
            pipeline.position = p;
        }
        let pipeline = save_in(&mut tx, &pipeline).await?;
        let stages = match c.stages {
            Some(stages) => write_stages(&mut tx, id, stages).await?,
            None => stages_in(&mut tx, id).await?,
        };
        tx.commit().await?;
        Ok((pipeline, stages))
    }

    /// Deletes a pipeline that holds no deals, with its stages.
    pub async fn delete_pipeline(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let pipeline: Pipeline = get_in(&mut tx, id).await?;
        let stages = stages_in(&mut tx, id).await?;
        if !stages.is_empty() {
            let ids = stages.iter().map(|s| kith_store::Value::Int(s.id)).collect();
            let f = Filter::In { field: kith_store::Field::col("stage_id"), values: ids };
            if any(&mut tx, Deal::SPEC, f).await? {
                return Err(DomainError::Conflict("deals are in this pipeline: move or delete them first".into()));
            }
        }
        let q = ListQuery::all().sort(Sort::asc("position"));
        let others: Vec<Pipeline> = tx
            .list(Pipeline::SPEC, &q)
            .await?
            .try_map(Pipeline::from_row)?
            .rows
            .into_iter()
            .filter(|p| p.id != id)
            .collect();
        let Some(next) = others.first() else {
            return Err(DomainError::Conflict("the account's last pipeline cannot be deleted".into()));
        };
        for s in &stages {
            tx.delete(Stage::SPEC, s.id).await?;
        }
        tx.delete(Pipeline::SPEC, id).await?;
        if pipeline.is_default && !others.iter().any(|p| p.is_default) {
            let mut next = next.clone();
            next.is_default = true;
            save_in(&mut tx, &next).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Refuses a change that would leave the account without an active owner besides `id`.
async fn last_owner_check(tx: &mut Tx, id: i64) -> Result<()> {
    let f = Filter::All(vec![
        Filter::eq("role", "owner"),
        Filter::eq("active", true),
        Filter::cmp("id", kith_store::Op::Ne, id),
    ]);
    if any(tx, User::SPEC, f).await? {
        Ok(())
    } else {
        Err(DomainError::Conflict("the account's last owner cannot be removed or demoted".into()))
    }
}

fn check_pipeline(e: &mut Errors, c: &PipelineChanges) {
    e.max_len("name", c.name.as_deref(), PIPELINE_NAME_MAX);
    let Some(stages) = &c.stages else { return };
    if stages.len() > PIPELINE_STAGES_MAX {
        e.add("stages", format!("must be at most {PIPELINE_STAGES_MAX}"));
    }
    for (i, s) in stages.iter().enumerate() {
        if s.name.trim().is_empty() {
            e.add(format!("stages[{i}].name"), "can't be blank");
        }
        e.max_len(&format!("stages[{i}].name"), Some(&s.name), STAGE_NAME_MAX);
        if !(0..=100).contains(&s.probability) {
            e.add(format!("stages[{i}].win_probability"), "must be a whole percent from 0 to 100");
        }
    }
    let mut ids: Vec<i64> = stages.iter().filter_map(|s| s.id).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        e.add("stages", "names a stage twice");
    }
}

async fn stages_in(tx: &mut Tx, pipeline_id: i64) -> Result<Vec<Stage>> {
    let q = ListQuery::all().filter(Filter::eq("pipeline_id", pipeline_id)).sort(Sort::asc("position"));
    Ok(tx.list(Stage::SPEC, &q).await?.try_map(Stage::from_row)?.rows)
}

/// Makes the pipeline's stages `stages`, in order (see the module's rules).
async fn write_stages(tx: &mut Tx, pipeline_id: i64, stages: Vec<StageInput>) -> Result<Vec<Stage>> {
    let old = stages_in(tx, pipeline_id).await?;
    for (i, s) in stages.iter().enumerate() {
        if let Some(id) = s.id
            && !old.iter().any(|o| o.id == id)
        {
            return Err(DomainError::invalid(format!("stages[{i}].id"), "names no stage of this pipeline"));
        }
    }
    for o in &old {
        if stages.iter().any(|s| s.id == Some(o.id)) {
            continue;
        }
        if any(tx, Deal::SPEC, Filter::eq("stage_id", o.id)).await? {
            return Err(DomainError::Conflict(format!(
                "deals are in stage {:?}: move them before leaving it out",
                o.name
            )));
        }
        tx.delete(Stage::SPEC, o.id).await?;
    }
    let t = Utc::now();
    let mut out = Vec::new();
    for (i, s) in stages.into_iter().enumerate() {
        let category = stage_category_of_probability(s.probability).to_owned();
        let stage = match s.id.and_then(|id| old.iter().find(|o| o.id == id)) {
            Some(o) => {
                let mut o = o.clone();
                o.name = s.name;
                o.probability = s.probability;
                o.position = i as i64;
                o.category = category;
                save_in(tx, &o).await?
            }
            None => {
                let stage = Stage {
                    id: 0,
                    created_at: t,
                    updated_at: t,
                    deleted_at: None,
                    pipeline_id,
                    name: s.name,
                    position: i as i64,
                    probability: s.probability,
                    category,
                };
                insert_in(tx, stage).await?
            }
        };
        out.push(stage);
    }
    Ok(out)
}
