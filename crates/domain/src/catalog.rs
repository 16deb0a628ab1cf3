//! Templates a team reuses: predefined actions (next-action texts with a due-date offset) and
//! predefined items (products and services that become deal lines).

use chrono::Utc;
use kith_store::Filter;

use crate::crm::{Actor, Crm};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{PredefinedAction, PredefinedItem};

pub const PREDEFINED_ACTION_TEXT_MAX: usize = 140;
pub const PREDEFINED_ITEM_NAME_MAX: usize = 255;
pub const PREDEFINED_ITEM_DESCRIPTION_MAX: usize = 7168;
/// An account holds at most this many predefined items.
pub const PREDEFINED_ITEMS_MAX: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PredefinedActionDraft {
    pub text: String,
    pub days: i64,
    pub position: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PredefinedItemDraft {
    pub name: String,
    pub description: Option<String>,
    pub price_minor: i64,
    pub cost_minor: i64,
    pub position: Option<i64>,
}

fn check_action(d: &PredefinedActionDraft) -> Result<()> {
    let mut e = Errors::default();
    if d.text.trim().is_empty() {
        e.add("text", "is required");
    }
    e.max_len("text", Some(d.text.trim()), PREDEFINED_ACTION_TEXT_MAX);
    if !(0..=3650).contains(&d.days) {
        e.add("days", "must be between 0 and 3650");
    }
    e.finish()
}

fn check_item(d: &PredefinedItemDraft) -> Result<()> {
    let mut e = Errors::default();
    if d.name.trim().is_empty() {
        e.add("name", "is required");
    }
    e.max_len("name", Some(d.name.trim()), PREDEFINED_ITEM_NAME_MAX);
    e.max_len("description", d.description.as_deref(), PREDEFINED_ITEM_DESCRIPTION_MAX);
    if d.price_minor < 0 {
        e.add("price", "must not be negative");
    }
    if d.cost_minor < 0 {
        e.add("cost", "must not be negative");
    }
    e.finish()
}

impl Crm {
    pub async fn create_predefined_action(&self, actor: Actor, d: PredefinedActionDraft) -> Result<PredefinedAction> {
        check_action(&d)?;
        let existing = self.all::<PredefinedAction>(actor, None).await?;
        let t = Utc::now();
        self.create(
            actor,
            PredefinedAction {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                text: d.text.trim().to_owned(),
                days: Some(d.days),
                position: d.position.unwrap_or(existing.iter().map(|a| a.position + 1).max().unwrap_or(0)),
                action_group_id: None,
            },
        )
        .await
    }

    /// Changes a template's text, days and position (never its group).
    pub async fn update_predefined_action(
        &self,
        actor: Actor,
        id: i64,
        d: PredefinedActionDraft,
    ) -> Result<PredefinedAction> {
        check_action(&d)?;
        let mut a = self.get::<PredefinedAction>(actor, id).await?;
        a.text = d.text.trim().to_owned();
        a.days = Some(d.days);
        if let Some(p) = d.position {
            a.position = p;
        }
        self.save(actor, a).await
    }

    pub async fn create_predefined_item(&self, actor: Actor, d: PredefinedItemDraft) -> Result<PredefinedItem> {
        check_item(&d)?;
        let existing = self.all::<PredefinedItem>(actor, None).await?;
        if existing.len() >= PREDEFINED_ITEMS_MAX {
            return Err(DomainError::Conflict(format!(
                "an account holds at most {PREDEFINED_ITEMS_MAX} predefined items"
            )));
        }
        let name = d.name.trim();
        if existing.iter().any(|i| i.name.eq_ignore_ascii_case(name)) {
            return Err(DomainError::Conflict(format!("a predefined item named {name:?} exists")));
        }
        let t = Utc::now();
        self.create(
            actor,
            PredefinedItem {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                name: name.to_owned(),
                description: d.description,
                sku: None,
                price_minor: d.price_minor,
                cost_minor: Some(d.cost_minor),
                currency: crate::deals::DEFAULT_CURRENCY.into(),
                item_group_id: None,
                active: true,
                position: d.position.unwrap_or(existing.iter().map(|i| i.position + 1).max().unwrap_or(0)),
                prices: kith_store::Json(vec![crate::model::Price {
                    amount_minor: d.price_minor,
                    currency: crate::deals::DEFAULT_CURRENCY.into(),
                }]),
                max_discount: None,
                max_markup: None,
                cost_currency: Some(crate::deals::DEFAULT_CURRENCY.into()),
            },
        )
        .await
    }

    pub async fn update_predefined_item(
        &self,
        actor: Actor,
        id: i64,
        d: PredefinedItemDraft,
    ) -> Result<PredefinedItem> {
        check_item(&d)?;
        let name = d.name.trim();
        let clash = self.all::<PredefinedItem>(actor, Some(Filter::cmp("id", kith_store::Op::Ne, id))).await?;
        if clash.iter().any(|i| i.name.eq_ignore_ascii_case(name)) {
            return Err(DomainError::Conflict(format!("a predefined item named {name:?} exists")));
        }
        let mut item = self.get::<PredefinedItem>(actor, id).await?;
        item.name = name.to_owned();
        item.description = d.description;
        item.price_minor = d.price_minor;
        // The price in the item's own currency is the one OnePage edits.
        match item.prices.0.iter_mut().find(|p| p.currency == item.currency) {
            Some(p) => p.amount_minor = d.price_minor,
            None => item
                .prices
                .0
                .insert(0, crate::model::Price { amount_minor: d.price_minor, currency: item.currency.clone() }),
        }
        item.cost_minor = Some(d.cost_minor);
        if let Some(p) = d.position {
            item.position = p;
        }
        self.save(actor, item).await
    }
}

pub const ITEM_GROUP_NAME_MAX: usize = 255;
/// A group bundles at most this many items.
pub const ITEM_GROUP_ITEMS_MAX: usize = 200;

impl Crm {
    /// Bundles predefined items under a unique name; each item belongs to at most one group, so
    /// items move here from any group they were in.
    pub async fn create_item_group(
        &self,
        actor: Actor,
        name: &str,
        item_ids: Vec<i64>,
    ) -> Result<crate::model::PredefinedItemGroup> {
        use crate::model::PredefinedItemGroup;
        let name = name.trim();
        let mut e = Errors::default();
        if name.is_empty() {
            e.add("name", "is required");
        }
        e.max_len("name", Some(name), ITEM_GROUP_NAME_MAX);
        if item_ids.len() > ITEM_GROUP_ITEMS_MAX {
            e.add("deal_items", format!("must list at most {ITEM_GROUP_ITEMS_MAX} items"));
        }
        e.finish()?;
        let groups = self.all::<PredefinedItemGroup>(actor, None).await?;
        if groups.iter().any(|g| g.name.eq_ignore_ascii_case(name)) {
            return Err(DomainError::Conflict(format!("a predefined item group named {name:?} exists")));
        }
        let mut ids: Vec<i64> = Vec::with_capacity(item_ids.len());
        for id in item_ids {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut tx = self.begin(actor).await?;
        let mut e = Errors::default();
        let mut items = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match tx.get(PredefinedItem::SPEC, *id, kith_store::Visibility::Live).await? {
                Some(row) => items.push(PredefinedItem::from_row(row)?),
                None => e.add(format!("deal_items[{i}]"), "no such predefined item"),
            }
        }
        e.finish()?;
        let t = Utc::now();
        let group = crate::crm::insert_in(
            &mut tx,
            PredefinedItemGroup {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                name: name.to_owned(),
                position: groups.len() as i64,
                item_ids: kith_store::Json(ids),
            },
        )
        .await?;
        for mut item in items {
            if let Some(old) = item.item_group_id {
                // Leave the old group without this item.
                if let Some(row) = tx.get(PredefinedItemGroup::SPEC, old, kith_store::Visibility::Live).await? {
                    let mut g = PredefinedItemGroup::from_row(row)?;
                    g.item_ids.0.retain(|i| *i != item.id);
                    crate::crm::save_in(&mut tx, &g).await?;
                }
            }
            item.item_group_id = Some(group.id);
            crate::crm::save_in(&mut tx, &item).await?;
        }
        tx.commit().await?;
        Ok(group)
    }

    /// Deletes a group; its items stay, ungrouped.
    pub async fn delete_item_group(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let group: crate::model::PredefinedItemGroup = crate::crm::get_in(&mut tx, id).await?;
        for item_id in &group.item_ids.0 {
            if let Some(row) = tx.get(PredefinedItem::SPEC, *item_id, kith_store::Visibility::Live).await? {
                let mut item = PredefinedItem::from_row(row)?;
                if item.item_group_id == Some(id) {
                    item.item_group_id = None;
                    crate::crm::save_in(&mut tx, &item).await?;
                }
            }
        }
        tx.delete(crate::model::PredefinedItemGroup::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }
}
