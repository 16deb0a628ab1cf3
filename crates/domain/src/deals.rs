//! Deals and their line items.
//!
//! A deal belongs to one contact (and so to the contact's company) for life. `value_minor` is the
//! deal's total: the per-month amount times `months`. When a deal has line items, its amount and
//! cost are the sums of the items'. Pending deals carry an expected close date; won and lost deals
//! a close date. A contact's pending deals feed its `pending_deal` flag and pending total.

use chrono::{NaiveDate, Utc};
use kith_store::{Filter, ListQuery, Sort, Tx, Visibility};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Contact, Deal, DealItem, Pipeline, User};

pub const DEAL_STATUSES: &[&str] = &["pending", "won", "lost"];
pub const COMMISSION_BASES: &[&str] = &["amount", "margin"];
pub const COMMISSION_TYPES: &[&str] = &["none", "percentage", "absolute"];
pub const DEAL_NAME_MAX: usize = 60;
pub const DEAL_TEXT_MAX: usize = 7168;
/// The currency of deals created without one.
pub const DEFAULT_CURRENCY: &str = "USD";

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

impl Deal {
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

fn check_date(errors: &mut Errors, field: &str, v: &Option<String>) {
    if let Some(d) = v
        && NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        errors.add(field, "must be a date (YYYY-MM-DD)");
    }
}

impl Crm {
    async fn check_deal(&self, tx: &mut Tx, mut d: DealDraft) -> Result<(DealDraft, Contact)> {
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
        let contact = tx.get(Contact::SPEC, d.contact_id, Visibility::Live).await?;
        if contact.is_none() {
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
        let contact = Contact::from_row(contact.ok_or(DomainError::NotFound { kind: "contact" })?)?;
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
    fn apply_deal(
        deal: &mut Deal,
        d: &DealDraft,
        contact: &Contact,
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
        deal.contact_id = Some(d.contact_id);
        deal.company_id = contact.company_id;
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
        let (d, contact) = self.check_deal(&mut tx, draft).await?;
        let mut deal = Deal {
            id: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
            name: String::new(),
            contact_id: None,
            company_id: None,
            owner_id: d.owner_id,
            pipeline_id: None,
            stage_id: None,
            status: String::new(),
            value_minor: None,
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
        };
        Self::apply_deal(&mut deal, &d, &contact, &defs)?;
        let deal = insert_in(&mut tx, deal).await?;
        if let Some(items) = &d.items {
            Self::replace_items(&mut tx, deal.id, items).await?;
        }
        tx.commit().await?;
        Ok(deal)
    }

    /// Replaces a deal's writable fields; its contact cannot change.
    pub async fn update_deal(&self, actor: Actor, id: i64, draft: DealDraft) -> Result<Deal> {
        let defs = self.custom_fields(actor, "deal").await?;
        let mut tx = self.begin(actor).await?;
        let mut deal: Deal = get_in(&mut tx, id).await?;
        if deal.contact_id != Some(draft.contact_id) {
            return Err(DomainError::invalid("contact_id", "cannot be changed"));
        }
        let (mut d, contact) = self.check_deal(&mut tx, draft).await?;
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
                Self::apply_deal(&mut deal, &d, &contact, &defs)?;
                let deal = save_in(&mut tx, &deal).await?;
                let deal = crate::orders::follow_order(&mut tx, deal, false).await?;
                tx.commit().await?;
                return Ok(deal);
            }
        }
        Self::apply_deal(&mut deal, &d, &contact, &defs)?;
        let deal = save_in(&mut tx, &deal).await?;
        if let Some(items) = &d.items {
            Self::replace_items(&mut tx, deal.id, items).await?;
        }
        let deal = crate::orders::follow_order(&mut tx, deal, d.items.is_some()).await?;
        tx.commit().await?;
        Ok(deal)
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
