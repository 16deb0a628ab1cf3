//! Deals, their line items, their stages and the contacts involved in them.
//!
//! A deal's primary contact is a person (`contact_id`, and `company_id` is the person's company)
//! or, for deals written as whole records, an organisation (`contact_id` none, `company_id` the
//! organisation). Over the status-based path (`create_deal`, `update_deal`) the primary person is
//! required and cannot change. `value_minor` is the deal's total: the per-month amount times
//! `months`. When a deal has line items, its amount and cost are the sums of the items'. Pending
//! deals carry an expected close date; won and lost deals a close date. A contact's pending deals
//! feed its `pending_deal` flag and pending total.
//!
//! Stage and status agree: a deal in a stage of category `won` is won, one in a `lost` or
//! `unqualified` stage is lost, any other is pending. Moving a deal to a stage sets its status,
//! pipeline and probability and records when and by whom it moved; changing its status (the
//! status-based path) moves it to the pipeline's stage for that status.

use chrono::{DateTime, NaiveDate, Utc};
use kith_store::{Filter, ListQuery, Sort, Tx, Visibility};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{
    Choice, Company, Contact, Deal, DealContact, DealItem, LeadSource, LossReason, Pipeline, Stage, User,
};

pub const DEAL_STATUSES: &[&str] = &["pending", "won", "lost"];
pub const COMMISSION_BASES: &[&str] = &["amount", "margin"];
pub const COMMISSION_TYPES: &[&str] = &["none", "percentage", "absolute"];
pub const DEAL_NAME_MAX: usize = 60;
pub const DEAL_TEXT_MAX: usize = 7168;
/// The currency of deals created without one.
pub const DEFAULT_CURRENCY: &str = "USD";
/// The longest name of a deal written as a whole record (the status-based path truncates to
/// `DEAL_NAME_MAX`).
pub const DEAL_RECORD_NAME_MAX: usize = 255;
/// What a stage's `category` may be: `open` stages hold pending deals.
pub const STAGE_CATEGORIES: &[&str] = &["open", "won", "lost", "unqualified"];
/// The roles a contact may have in a deal besides the primary one.
pub const DEAL_CONTACT_ROLES: &[&str] = &["involved"];
/// The role given when none is.
pub const DEFAULT_DEAL_CONTACT_ROLE: &str = "involved";

/// The status of a deal in a stage of `category`.
pub fn status_of_category(category: &str) -> &'static str {
    match category {
        "won" => "won",
        "lost" | "unqualified" => "lost",
        _ => "pending",
    }
}

/// Where a deal of `status` belongs among its pipeline's `stages` (in position order): its
/// `current` stage when that already means the status (for a pending deal, unless `probability`
/// now names another open stage); otherwise the won stage, the lost stage (the unqualified one
/// when there is none), or for a pending deal the open stage at `probability`, else the first
/// open stage.
pub fn stage_for_status<'a>(
    stages: &'a [Stage],
    current: Option<i64>,
    status: &str,
    probability: Option<i64>,
) -> Option<&'a Stage> {
    let current = current.and_then(|id| stages.iter().find(|s| s.id == id));
    let first = |category: &str| stages.iter().find(|s| s.category == category);
    match status {
        "won" => current.filter(|s| s.category == "won").or_else(|| first("won")),
        "lost" => current
            .filter(|s| status_of_category(&s.category) == "lost")
            .or_else(|| first("lost"))
            .or_else(|| first("unqualified")),
        _ => {
            let at_probability = || {
                let p = probability?;
                current
                    .filter(|s| s.category == "open" && s.probability == p)
                    .or_else(|| stages.iter().find(|s| s.category == "open" && s.probability == p))
            };
            at_probability().or_else(|| current.filter(|s| s.category == "open")).or_else(|| first("open"))
        }
    }
}

/// One line of a deal as a client sends it (money in minor units).
#[derive(Debug, Clone, PartialEq)]
pub struct DealItemDraft {
    pub name: String,
    pub description: Option<String>,
    pub quantity: i64,
    pub price_minor: i64,
    pub cost_minor: i64,
    pub predefined_item_id: Option<i64>,
}

/// What a client may set on a deal (money in minor units of `currency`).
#[derive(Debug, Clone, PartialEq)]
pub struct DealDraft {
    pub contact_id: i64,
    pub owner_id: i64,
    pub pipeline_id: Option<i64>,
    pub name: String,
    pub text: Option<String>,
    pub stage: Option<i64>,
    pub status: String,
    pub expected_close_date: Option<String>,
    pub close_date: Option<String>,
    pub date: Option<String>,
    /// Per month.
    pub amount_minor: i64,
    pub months: i64,
    pub cost_minor: i64,
    pub commission_base: Option<String>,
    pub commission_type: Option<String>,
    pub commission_minor: i64,
    pub commission_percentage: f64,
    /// `None` keeps the deal's items; `Some` replaces them.
    pub items: Option<Vec<DealItemDraft>>,
    /// Deal-field values to set (by definition id; null clears one); `None` keeps them all.
    pub custom_fields: Option<std::collections::BTreeMap<i64, serde_json::Value>>,
}

impl DealDraft {
    /// A pending deal of a person, `owner_id`'s, named `name`, worth nothing for one month.
    pub fn new(contact_id: i64, owner_id: i64, name: &str) -> DealDraft {
        DealDraft {
            contact_id,
            owner_id,
            pipeline_id: None,
            name: name.to_owned(),
            text: None,
            stage: None,
            status: "pending".into(),
            expected_close_date: None,
            close_date: None,
            date: None,
            amount_minor: 0,
            months: 1,
            cost_minor: 0,
            commission_base: None,
            commission_type: None,
            commission_minor: 0,
            commission_percentage: 0.0,
            items: None,
            custom_fields: None,
        }
    }
}

impl Deal {
    /// An empty pending deal the actor created and owns, worth nothing in the default currency.
    pub fn new_by(actor: Actor) -> Deal {
        let t = Utc::now();
        Deal {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            name: String::new(),
            contact_id: None,
            company_id: None,
            owner_id: actor.user_id,
            pipeline_id: None,
            stage_id: None,
            status: "pending".into(),
            value_minor: Some(0),
            currency: DEFAULT_CURRENCY.into(),
            probability: None,
            expected_close_date: None,
            closed_at: None,
            loss_reason_id: None,
            source_id: None,
            description: None,
            tags: Default::default(),
            custom_fields: Default::default(),
            months: 1,
            cost_minor: None,
            date: None,
            close_date: None,
            commission_base: None,
            commission_type: None,
            commission_minor: None,
            commission_percentage: None,
            author_id: Some(actor.user_id),
            hot: false,
            last_stage_change_at: None,
            last_stage_change_by_id: None,
            unqualified_reason_id: None,
            win_likelihood: None,
            added_at: None,
            external_id: None,
            external_stage: None,
            forecast: None,
            deal_type: None,
            next_step: None,
        }
    }

    /// Per-month amount in minor units.
    pub fn amount_minor(&self) -> i64 {
        self.value_minor.unwrap_or(0) / self.months.max(1)
    }

    pub fn draft(&self) -> DealDraft {
        DealDraft {
            contact_id: self.contact_id.unwrap_or_default(),
            owner_id: self.owner_id,
            pipeline_id: self.pipeline_id,
            name: self.name.clone(),
            text: self.description.clone(),
            stage: self.probability,
            status: self.status.clone(),
            expected_close_date: self.expected_close_date.clone(),
            close_date: self.close_date.clone(),
            date: self.date.clone(),
            amount_minor: self.amount_minor(),
            months: self.months.max(1),
            cost_minor: self.cost_minor.unwrap_or(0) / self.months.max(1),
            commission_base: self.commission_base.clone(),
            commission_type: self.commission_type.clone(),
            commission_minor: self.commission_minor.unwrap_or(0),
            commission_percentage: self.commission_percentage.unwrap_or(0.0),
            items: None,
            custom_fields: None,
        }
    }
}

fn today() -> String {
    Utc::now().date_naive().format("%Y-%m-%d").to_string()
}

/// A live pipeline's live stages in position order; none when the pipeline is not live.
async fn pipeline_stages(tx: &mut Tx, pipeline_id: i64) -> Result<Vec<Stage>> {
    if tx.get(Pipeline::SPEC, pipeline_id, Visibility::Live).await?.is_none() {
        return Ok(Vec::new());
    }
    let q = ListQuery::all().filter(Filter::eq("pipeline_id", pipeline_id)).sort(Sort::asc("position"));
    tx.list(Stage::SPEC, &q).await?.rows.into_iter().map(Stage::from_row).collect()
}

/// The account's default pipeline: the first marked default, else the first.
async fn default_pipeline(tx: &mut Tx) -> Result<Option<i64>> {
    let q = ListQuery::all().sort(Sort::desc("is_default")).sort(Sort::asc("position"));
    Ok(tx.list(Pipeline::SPEC, &q).await?.rows.first().map(|r| r.id))
}

/// Sets a deal's close time and date from its status: kept (or now, today) when closed, none
/// when pending.
pub(crate) fn settle_closing(deal: &mut Deal) {
    if deal.status == "pending" {
        deal.closed_at = None;
        deal.close_date = None;
    } else {
        deal.closed_at.get_or_insert_with(Utc::now);
        deal.close_date.get_or_insert_with(today);
    }
}

/// Records that a deal entered its stage: at `at` (a time a client gave) or now, by the actor.
pub(crate) fn entered_stage(deal: &mut Deal, actor: Actor, at: Option<DateTime<Utc>>) {
    deal.last_stage_change_at = Some(at.unwrap_or_else(Utc::now));
    deal.last_stage_change_by_id = Some(actor.user_id);
}

fn check_date(errors: &mut Errors, field: &str, v: &Option<String>) {
    if let Some(d) = v
        && NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        errors.add(field, "must be a date (YYYY-MM-DD)");
    }
}

impl Crm {
    /// Checks a status-based draft. `person` is false for a deal whose primary contact is an
    /// organisation (it has no person to check; the contact is then `None`).
    async fn check_deal(&self, tx: &mut Tx, mut d: DealDraft, person: bool) -> Result<(DealDraft, Option<Contact>)> {
        let mut e = Errors::default();
        d.name = d.name.trim().chars().take(DEAL_NAME_MAX).collect();
        if d.name.is_empty() {
            e.add("name", "is required");
        }
        e.max_len("text", d.text.as_deref(), DEAL_TEXT_MAX);
        if !DEAL_STATUSES.contains(&d.status.as_str()) {
            e.add("status", format!("must be one of: {}", DEAL_STATUSES.join(", ")));
        }
        if let Some(s) = d.stage
            && !(0..=100).contains(&s)
        {
            e.add("stage", "must be between 0 and 100");
        }
        for (f, v) in
            [("expected_close_date", &d.expected_close_date), ("close_date", &d.close_date), ("date", &d.date)]
        {
            check_date(&mut e, f, v);
        }
        if d.months < 1 {
            e.add("months", "must be at least 1");
        }
        if d.amount_minor < 0 {
            e.add("amount", "must not be negative");
        }
        if d.cost_minor < 0 {
            e.add("cost", "must not be negative");
        }
        if let Some(b) = &d.commission_base
            && !COMMISSION_BASES.contains(&b.as_str())
        {
            e.add("commission_base", format!("must be one of: {}", COMMISSION_BASES.join(", ")));
        }
        if let Some(t) = &d.commission_type
            && !COMMISSION_TYPES.contains(&t.as_str())
        {
            e.add("commission_type", format!("must be one of: {}", COMMISSION_TYPES.join(", ")));
        }
        if let Some(items) = &d.items {
            for (i, item) in items.iter().enumerate() {
                if item.name.trim().is_empty() {
                    e.add(format!("deal_items[{i}].name"), "is required");
                }
                if item.quantity < 0 || item.price_minor < 0 || item.cost_minor < 0 {
                    e.add(format!("deal_items[{i}]"), "qty, price and cost must not be negative");
                }
            }
        }
        let contact = if person { tx.get(Contact::SPEC, d.contact_id, Visibility::Live).await? } else { None };
        if person && contact.is_none() {
            e.add("contact_id", "no such contact");
        }
        if tx.get(User::SPEC, d.owner_id, Visibility::Live).await?.is_none() {
            e.add("owner_id", "no such user");
        }
        match d.pipeline_id {
            Some(p) if tx.get(Pipeline::SPEC, p, Visibility::Live).await?.is_none() => {
                e.add("pipeline_id", "no such pipeline")
            }
            Some(_) => {}
            None => {
                let q = ListQuery::all().filter(Filter::eq("is_default", true)).sort(Sort::asc("position"));
                d.pipeline_id = tx.list(Pipeline::SPEC, &q).await?.rows.first().map(|r| r.id);
            }
        }
        e.finish()?;
        let contact = contact.map(Contact::from_row).transpose()?;
        if d.status == "pending" {
            d.close_date = None;
            d.expected_close_date.get_or_insert_with(today);
        } else {
            d.close_date.get_or_insert_with(today);
        }
        d.date.get_or_insert_with(today);
        Ok((d, contact))
    }

    /// Fills a deal's fields from a checked draft; with items, amount and cost are their sums.
    /// Without a `contact` (an organisation's deal) the primary contact stays as it is.
    fn apply_deal(
        deal: &mut Deal,
        d: &DealDraft,
        contact: Option<&Contact>,
        defs: &[crate::model::CustomFieldDefinition],
    ) -> Result<()> {
        if let Some(values) = &d.custom_fields {
            deal.custom_fields =
                kith_store::Json(crate::companies::merge_values(defs, "deal", &deal.custom_fields.0, values.clone())?);
        }
        let (mut amount, mut cost) = (d.amount_minor, d.cost_minor);
        if let Some(items) = &d.items
            && !items.is_empty()
        {
            amount = items.iter().map(|i| i.price_minor.saturating_mul(i.quantity)).fold(0i64, i64::saturating_add);
            cost = items.iter().map(|i| i.cost_minor.saturating_mul(i.quantity)).fold(0i64, i64::saturating_add);
        }
        let months = d.months.max(1);
        if let Some(contact) = contact {
            deal.contact_id = Some(contact.id);
            deal.company_id = contact.company_id;
        }
        deal.owner_id = d.owner_id;
        deal.pipeline_id = d.pipeline_id;
        deal.name = d.name.clone();
        deal.description = d.text.clone();
        deal.probability = d.stage;
        deal.status = d.status.clone();
        deal.expected_close_date = d.expected_close_date.clone();
        deal.close_date = d.close_date.clone();
        deal.closed_at = if d.status == "pending" { None } else { deal.closed_at.or(Some(Utc::now())) };
        deal.date = d.date.clone();
        deal.value_minor = Some(amount.saturating_mul(months));
        deal.months = months;
        deal.cost_minor = Some(cost.saturating_mul(months));
        deal.commission_base = d.commission_base.clone();
        deal.commission_type = d.commission_type.clone();
        deal.commission_minor = Some(d.commission_minor);
        deal.commission_percentage = Some(d.commission_percentage);
        Ok(())
    }

    /// Moves a deal whose status (or pipeline) a status-based write set to the stage of its
    /// pipeline that means that status; the probability stays as the client gave it.
    async fn follow_status(tx: &mut Tx, actor: Actor, deal: &mut Deal) -> Result<()> {
        let stages = match deal.pipeline_id {
            Some(p) => pipeline_stages(tx, p).await?,
            None => Vec::new(),
        };
        let stage = stage_for_status(&stages, deal.stage_id, &deal.status, deal.probability).map(|s| s.id);
        if stage != deal.stage_id {
            deal.stage_id = stage;
            entered_stage(deal, actor, None);
        }
        Ok(())
    }

    async fn replace_items(tx: &mut Tx, deal_id: i64, items: &[DealItemDraft]) -> Result<()> {
        let old = tx.list(DealItem::SPEC, &ListQuery::all().filter(Filter::eq("deal_id", deal_id))).await?;
        for row in old.rows {
            tx.delete(DealItem::SPEC, row.id).await?;
        }
        for (i, item) in items.iter().enumerate() {
            let row = DealItem {
                id: 0,
                created_at: Utc::now(),
                updated_at: Utc::now(),
                deleted_at: None,
                deal_id,
                predefined_item_id: item.predefined_item_id,
                name: item.name.clone(),
                description: item.description.clone(),
                quantity: item.quantity as f64,
                unit_price_minor: item.price_minor,
                cost_minor: Some(item.cost_minor),
                amount_minor: item.price_minor.saturating_mul(item.quantity),
                position: i as i64 + 1,
                list_price_minor: None,
                variation: None,
                currency: None,
                sku: None,
            };
            insert_in(tx, row).await?;
        }
        Ok(())
    }

    pub async fn create_deal(&self, actor: Actor, draft: DealDraft) -> Result<Deal> {
        let defs = self.custom_fields(actor, "deal").await?;
        let mut tx = self.begin(actor).await?;
        let (d, contact) = self.check_deal(&mut tx, draft, true).await?;
        let mut deal = Deal::new_by(actor);
        Self::apply_deal(&mut deal, &d, contact.as_ref(), &defs)?;
        Self::follow_status(&mut tx, actor, &mut deal).await?;
        let deal = insert_in(&mut tx, deal).await?;
        if let Some(items) = &d.items {
            Self::replace_items(&mut tx, deal.id, items).await?;
        }
        tx.commit().await?;
        Ok(deal)
    }

    /// Replaces a deal's writable fields; its contact cannot change. A deal whose primary contact
    /// is an organisation keeps it (its draft's `contact_id` is 0: it has no person).
    pub async fn update_deal(&self, actor: Actor, id: i64, draft: DealDraft) -> Result<Deal> {
        let defs = self.custom_fields(actor, "deal").await?;
        let mut tx = self.begin(actor).await?;
        let mut deal: Deal = get_in(&mut tx, id).await?;
        if deal.contact_id.unwrap_or_default() != draft.contact_id {
            return Err(DomainError::invalid("contact_id", "cannot be changed"));
        }
        let person = deal.contact_id.is_some();
        let (mut d, contact) = self.check_deal(&mut tx, draft, person).await?;
        if d.items.is_none() {
            // Keep the sums of existing items when they are not replaced.
            let items = tx.list(DealItem::SPEC, &ListQuery::all().filter(Filter::eq("deal_id", id))).await?;
            if !items.rows.is_empty() {
                let items: Vec<DealItem> = items.rows.into_iter().map(DealItem::from_row).collect::<Result<_>>()?;
                d.items = Some(
                    items
                        .iter()
                        .map(|i| DealItemDraft {
                            name: i.name.clone(),
                            description: i.description.clone(),
                            quantity: i.quantity as i64,
                            price_minor: i.unit_price_minor,
                            cost_minor: i.cost_minor.unwrap_or(0),
                            predefined_item_id: i.predefined_item_id,
                        })
                        .collect(),
                );
                Self::apply_deal(&mut deal, &d, contact.as_ref(), &defs)?;
                Self::follow_status(&mut tx, actor, &mut deal).await?;
                let deal = save_in(&mut tx, &deal).await?;
                let deal = crate::orders::follow_order(&mut tx, deal, false).await?;
                tx.commit().await?;
                return Ok(deal);
            }
        }
        Self::apply_deal(&mut deal, &d, contact.as_ref(), &defs)?;
        Self::follow_status(&mut tx, actor, &mut deal).await?;
        let deal = save_in(&mut tx, &deal).await?;
        if let Some(items) = &d.items {
            Self::replace_items(&mut tx, deal.id, items).await?;
        }
        let deal = crate::orders::follow_order(&mut tx, deal, d.items.is_some()).await?;
        tx.commit().await?;
        Ok(deal)
    }

    /// A new deal as a client writes whole records (Sell): `primary` is its primary contact, a
    /// person or an organisation of the account; with no stage it starts in the first open stage
    /// of the default pipeline. The stage decides the status (see the module's notes).
    pub async fn create_deal_record(&self, actor: Actor, mut deal: Deal, primary: i64) -> Result<Deal> {
        let mut tx = self.begin(actor).await?;
        settle_record(&mut tx, actor, &mut deal, None, Some(primary)).await?;
        let deal = insert_in(&mut tx, deal).await?;
        tx.commit().await?;
        Ok(deal)
    }

    /// Saves a deal a client changed as a whole record; `primary`, when given, is its new primary
    /// contact. References a client did not change are not checked again, so writing a deal back
    /// as it was read always succeeds.
    pub async fn update_deal_record(&self, actor: Actor, mut deal: Deal, primary: Option<i64>) -> Result<Deal> {
        let mut tx = self.begin(actor).await?;
        let before: Deal = get_in(&mut tx, deal.id).await?;
        settle_record(&mut tx, actor, &mut deal, Some(&before), primary).await?;
        let deal = save_in(&mut tx, &deal).await?;
        // With an order that has lines, the value and currency are the order's.
        let deal = crate::orders::follow_order(&mut tx, deal, false).await?;
        tx.commit().await?;
        Ok(deal)
    }

    /// Deletes a deal and ends its associations with contacts: the one deal deletion, for every
    /// dialect.
    pub async fn delete_deal(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        get_in::<Deal>(&mut tx, id).await?;
        let links = tx.list(DealContact::SPEC, &ListQuery::all().filter(Filter::eq("deal_id", id))).await?;
        for row in links.rows {
            tx.delete(DealContact::SPEC, row.id).await?;
        }
        tx.delete(Deal::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Undoes a deal's deletion (OnePage's `undo`). The associations `delete_deal` ended do not
    /// come back. `NotFound` when the deal is not deleted (or not there).
    pub async fn restore_deal(&self, actor: Actor, id: i64) -> Result<Deal> {
        self.restore::<Deal>(actor, id).await
    }

    /// A page (`q`) of the contacts associated with a live deal, oldest first.
    pub async fn deal_contacts(&self, actor: Actor, deal_id: i64, q: ListQuery) -> Result<Vec<DealContact>> {
        self.get::<Deal>(actor, deal_id).await?;
        let q = q.filter(Filter::eq("deal_id", deal_id)).sort(Sort::asc("id"));
        Ok(self.list::<DealContact>(actor, &q).await?.rows)
    }

    /// Associates a person or organisation of the account with a deal, once.
    pub async fn add_deal_contact(
        &self,
        actor: Actor,
        deal_id: i64,
        contact_id: i64,
        role: Option<&str>,
    ) -> Result<DealContact> {
        let mut tx = self.begin(actor).await?;
        get_in::<Deal>(&mut tx, deal_id).await?;
        let role = role.map(str::trim).unwrap_or(DEFAULT_DEAL_CONTACT_ROLE).to_owned();
        let mut e = Errors::default();
        if !DEAL_CONTACT_ROLES.contains(&role.as_str()) {
            e.add("role", format!("must be one of: {}", DEAL_CONTACT_ROLES.join(", ")));
        }
        if !is_contact(&mut tx, contact_id).await? {
            e.add("contact_id", "is not a contact of this account");
        }
        e.finish()?;
        let already =
            ListQuery::all().filter(Filter::eq("deal_id", deal_id)).filter(Filter::eq("contact_id", contact_id));
        if !tx.list(DealContact::SPEC, &already).await?.rows.is_empty() {
            return Err(already_associated());
        }
        let t = Utc::now();
        let link = DealContact { id: 0, created_at: t, updated_at: t, deleted_at: None, deal_id, contact_id, role };
        // The unique index settles a race with another request adding the same contact.
        let link = insert_in(&mut tx, link).await.map_err(|e| match e {
            DomainError::Conflict(_) => already_associated(),
            other => other,
        })?;
        tx.commit().await.map_err(|e| match DomainError::from(e) {
            DomainError::Conflict(_) => already_associated(),
            other => other,
        })?;
        Ok(link)
    }

    /// Ends a contact's association with a deal; `NotFound` when there is none.
    pub async fn remove_deal_contact(&self, actor: Actor, deal_id: i64, contact_id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        get_in::<Deal>(&mut tx, deal_id).await?;
        let q = ListQuery::all().filter(Filter::eq("deal_id", deal_id)).filter(Filter::eq("contact_id", contact_id));
        let found = tx.list(DealContact::SPEC, &q).await?.rows;
        let Some(link) = found.first() else { return Err(DomainError::NotFound { kind: "associated contact" }) };
        tx.delete(DealContact::SPEC, link.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The line items of deals, keyed by deal, in position order.
    pub async fn deal_items(
        &self,
        actor: Actor,
        deal_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<DealItem>>> {
        let mut out: std::collections::HashMap<i64, Vec<DealItem>> = Default::default();
        if deal_ids.is_empty() {
            return Ok(out);
        }
        let q = ListQuery::all()
            .filter(Filter::In {
                field: kith_store::Field::col("deal_id"),
                values: deal_ids.iter().map(|i| kith_store::Value::Int(*i)).collect(),
            })
            .sort(Sort::asc("position"));
        for item in self.list::<DealItem>(actor, &q).await?.rows {
            out.entry(item.deal_id).or_default().push(item);
        }
        Ok(out)
    }
}

fn already_associated() -> DomainError {
    DomainError::invalid("contact_id", "is already associated with this deal")
}

/// Whether `id` is a live person or organisation of the account.
async fn is_contact(tx: &mut Tx, id: i64) -> Result<bool> {
    Ok(tx.get(Contact::SPEC, id, Visibility::Live).await?.is_some()
        || tx.get(Company::SPEC, id, Visibility::Live).await?.is_some())
}

/// Checks a deal written as a whole record (`before` is the stored deal on update) and derives
/// what follows from its stage. Errors name the model's fields.
pub(crate) async fn settle_record(
    tx: &mut Tx,
    actor: Actor,
    deal: &mut Deal,
    before: Option<&Deal>,
    primary: Option<i64>,
) -> Result<()> {
    let mut e = Errors::default();
    deal.name = deal.name.trim().to_owned();
    if deal.name.is_empty() {
        e.add("name", "can't be blank");
    }
    e.max_len("name", Some(&deal.name), DEAL_RECORD_NAME_MAX);
    deal.currency = deal.currency.trim().to_ascii_uppercase();
    if !crate::money::valid_code(&deal.currency) {
        e.add("currency", "must be a three-letter ISO 4217 code");
    }
    if deal.value_minor.is_some_and(|v| v < 0) {
        e.add("value", "must not be negative");
    }
    if deal.win_likelihood.is_some_and(|w| !(0..=100).contains(&w)) {
        e.add("win_likelihood", "must be between 0 and 100");
    }
    check_date(&mut e, "expected_close_date", &deal.expected_close_date);
    // Only what changed is checked: a deal read and written back as it was always saves.
    let changed = |old: fn(&Deal) -> Option<i64>, new: Option<i64>| before.is_none_or(|b| old(b) != new);

    match primary {
        Some(id) => {
            if let Some(person) = tx.get(Contact::SPEC, id, Visibility::Live).await? {
                let person = Contact::from_row(person)?;
                deal.contact_id = Some(person.id);
                deal.company_id = person.company_id;
            } else if tx.get(Company::SPEC, id, Visibility::Live).await?.is_some() {
                deal.contact_id = None;
                deal.company_id = Some(id);
            } else {
                e.add("contact_id", "is not a contact of this account");
            }
        }
        None => {
            // The person's organisation may have changed since.
            if let Some(id) = deal.contact_id
                && let Some(person) = tx.get(Contact::SPEC, id, Visibility::Live).await?
            {
                deal.company_id = Contact::from_row(person)?.company_id;
            }
        }
    }
    if changed(|b| Some(b.owner_id), Some(deal.owner_id))
        && tx.get(User::SPEC, deal.owner_id, Visibility::Live).await?.is_none()
    {
        e.add("owner_id", "is not a user of this account");
    }
    if let Some(id) = deal.source_id
        && changed(|b| b.source_id, deal.source_id)
    {
        let source = tx.get(LeadSource::SPEC, id, Visibility::Live).await?.map(LeadSource::from_row).transpose()?;
        if source.is_none_or(|s| s.kind() != crate::sources::DEAL_SOURCES) {
            e.add("source_id", "is not a deal source of this account");
        }
    }
    if let Some(id) = deal.loss_reason_id
        && changed(|b| b.loss_reason_id, deal.loss_reason_id)
        && tx.get(LossReason::SPEC, id, Visibility::Live).await?.is_none()
    {
        e.add("loss_reason_id", "is not a loss reason of this account");
    }
    if let Some(id) = deal.unqualified_reason_id
        && changed(|b| b.unqualified_reason_id, deal.unqualified_reason_id)
    {
        let reason = tx.get(Choice::SPEC, id, Visibility::Live).await?.map(Choice::from_row).transpose()?;
        if reason.is_none_or(|c| c.list != crate::choices::DEAL_UNQUALIFIED_REASONS) {
            e.add("unqualified_reason_id", "is not a deal unqualified reason of this account");
        }
    }

    // The stage: the default pipeline's first open one for a new deal without one.
    let stage_changed = changed(|b| b.stage_id, deal.stage_id);
    let mut stage = None;
    match deal.stage_id {
        Some(id) if stage_changed => {
            let found = tx.get(Stage::SPEC, id, Visibility::Live).await?.map(Stage::from_row).transpose()?;
            let live_pipeline = match &found {
                Some(s) => tx.get(Pipeline::SPEC, s.pipeline_id, Visibility::Live).await?.is_some(),
                None => false,
            };
            if live_pipeline {
                stage = found;
            } else {
                e.add("stage_id", "is not a stage of this account");
            }
        }
        Some(_) => {}
        None if before.is_some_and(|b| b.stage_id.is_some()) => e.add("stage_id", "can't be blank"),
        None if before.is_none() => {
            if let Some(p) = default_pipeline(tx).await? {
                let stages = pipeline_stages(tx, p).await?;
                stage = stage_for_status(&stages, None, "pending", None).cloned();
            }
        }
        None => {}
    }
    e.finish()?;
    if let Some(stage) = stage {
        deal.stage_id = Some(stage.id);
        deal.pipeline_id = Some(stage.pipeline_id);
        deal.status = status_of_category(&stage.category).to_owned();
        deal.probability = Some(stage.probability);
        // A time the client gave for the move (one that differs from the stored) is kept.
        let given = deal.last_stage_change_at.filter(|t| before.is_none_or(|b| b.last_stage_change_at != Some(*t)));
        entered_stage(deal, actor, given);
    }
    settle_closing(deal);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages() -> Vec<Stage> {
        let t = Utc::now();
        [
            ("Incoming", 10, "open"),
            ("Quote", 50, "open"),
            ("Won", 100, "won"),
            ("Lost", 0, "lost"),
            ("Unq", 0, "unqualified"),
        ]
        .iter()
        .enumerate()
        .map(|(i, (name, probability, category))| Stage {
            id: i as i64 + 1,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            pipeline_id: 9,
            name: (*name).into(),
            position: i as i64,
            probability: *probability,
            category: (*category).into(),
        })
        .collect()
    }

    #[tokio::test]
    async fn deleting_a_deal_ends_its_associations_and_undo_brings_back_the_deal() {
        let t = crate::testing::crm().await;
        let person = |last: &str| crate::ContactDraft { last_name: Some(last.into()), ..Default::default() };
        let ada = t.crm.create_contact(t.actor, person("Lovelace")).await.expect("contact");
        let charles = t.crm.create_contact(t.actor, person("Babbage")).await.expect("contact");
        let deal = t.crm.create_deal(t.actor, DealDraft::new(ada.id, t.actor.user_id, "Engine")).await.expect("deal");
        let link = t.crm.add_deal_contact(t.actor, deal.id, charles.id, None).await.expect("associate");
        t.crm.delete_deal(t.actor, deal.id).await.expect("delete");
        assert!(t.crm.find::<Deal>(t.actor, deal.id).await.expect("find").is_none());
        assert!(t.crm.find::<DealContact>(t.actor, link.id).await.expect("find").is_none());
        assert!(matches!(t.crm.delete_deal(t.actor, deal.id).await, Err(DomainError::NotFound { .. })));
        let back = t.crm.restore_deal(t.actor, deal.id).await.expect("undo");
        assert_eq!(back.contact_id, Some(ada.id));
        let q = ListQuery::all();
        assert!(t.crm.deal_contacts(t.actor, deal.id, q).await.expect("associations").is_empty());
    }

    #[test]
    fn statuses_of_categories() {
        assert_eq!(["open", "won", "lost", "unqualified"].map(status_of_category), ["pending", "won", "lost", "lost"]);
    }

    #[test]
    fn a_status_picks_its_stage() {
        let s = stages();
        let pick = |current, status, probability| stage_for_status(&s, current, status, probability).map(|s| s.id);
        assert_eq!(pick(Some(2), "won", None), Some(3));
        assert_eq!(pick(Some(2), "lost", None), Some(4));
        assert_eq!(pick(Some(5), "lost", None), Some(5), "unqualified is lost already");
        assert_eq!(pick(Some(3), "pending", Some(100)), Some(1), "no open stage at 100: the first");
        assert_eq!(pick(Some(3), "pending", Some(50)), Some(2), "the open stage at the probability");
        assert_eq!(pick(Some(2), "pending", None), Some(2), "an open stage stays");
        assert_eq!(pick(Some(1), "pending", Some(50)), Some(2), "a new probability moves it");
        assert_eq!(pick(None, "pending", None), Some(1));
        assert_eq!(pick(Some(99), "won", None), Some(3), "a stage of another pipeline");
        assert_eq!(stage_for_status(&[], Some(2), "won", None).map(|s| s.id), None);
    }
}
