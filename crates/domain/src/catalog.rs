//! Templates a team reuses: predefined actions (next-action texts with a due-date offset) and
//! predefined items (products and services that become deal lines).
//!
//! A predefined item is a product: OnePage edits it with one price, Sell with a price per
//! currency (`prices`). `price_minor`/`currency` is always the first of `prices`; OnePage's
//! update changes the price in the item's own currency, so the two stay in step.

use chrono::Utc;
use kith_store::Filter;

use crate::crm::{Actor, Crm};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{PredefinedAction, PredefinedItem, Price};

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

pub const PRODUCT_SKU_MAX: usize = 255;
/// The largest `max_discount` and `max_markup`, in percent.
pub const PRODUCT_PERCENT_MAX: i64 = 100;

/// A product as a client with prices per currency (Sell) sends it; money in minor units of
/// each amount's currency.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDraft {
    pub name: String,
    pub description: Option<String>,
    pub sku: Option<String>,
    /// Lines cannot be made from inactive products.
    pub active: bool,
    pub max_discount: Option<i64>,
    pub max_markup: Option<i64>,
    /// In `cost_currency` (the first price's currency when none).
    pub cost_minor: Option<i64>,
    pub cost_currency: Option<String>,
    /// One per currency; the first is the product's main price.
    pub prices: Vec<Price>,
}

impl PredefinedItem {
    /// The product's current values, to change some of them.
    pub fn product_draft(&self) -> ProductDraft {
        ProductDraft {
            name: self.name.clone(),
            description: self.description.clone(),
            sku: self.sku.clone(),
            active: self.active,
            max_discount: self.max_discount,
            max_markup: self.max_markup,
            cost_minor: self.cost_minor,
            cost_currency: self.cost_currency.clone(),
            prices: self.prices.0.clone(),
        }
    }

    /// The product's price in a currency, if it has one.
    pub fn price_in(&self, currency: &str) -> Option<i64> {
        self.prices.0.iter().find(|p| p.currency.eq_ignore_ascii_case(currency)).map(|p| p.amount_minor)
    }
}

/// Checks a product and returns it with trimmed text and upper-case currency codes.
fn check_product(mut d: ProductDraft) -> Result<ProductDraft> {
    let mut e = Errors::default();
    d.name = d.name.trim().to_owned();
    if d.name.is_empty() {
        e.add("name", "can't be blank");
    }
    e.max_len("name", Some(&d.name), PREDEFINED_ITEM_NAME_MAX);
    e.max_len("description", d.description.as_deref(), PREDEFINED_ITEM_DESCRIPTION_MAX);
    e.max_len("sku", d.sku.as_deref(), PRODUCT_SKU_MAX);
    for (field, value) in [("max_discount", d.max_discount), ("max_markup", d.max_markup)] {
        if value.is_some_and(|v| !(0..=PRODUCT_PERCENT_MAX).contains(&v)) {
            e.add(field, format!("must be between 0 and {PRODUCT_PERCENT_MAX}"));
        }
    }
    if d.cost_minor.is_some_and(|c| c < 0) {
        e.add("cost", "must not be negative");
    }
    if let Some(c) = &mut d.cost_currency {
        *c = c.trim().to_ascii_uppercase();
        if !crate::money::valid_code(c) {
            e.add("cost_currency", "must be a 3-letter ISO 4217 code");
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for (i, p) in d.prices.iter_mut().enumerate() {
        p.currency = p.currency.trim().to_ascii_uppercase();
        if p.amount_minor < 0 {
            e.add(format!("prices/{i}/amount"), "must not be negative");
        }
        if !crate::money::valid_code(&p.currency) {
            e.add(format!("prices/{i}/currency"), "must be a 3-letter ISO 4217 code");
        } else if seen.contains(&p.currency) {
            e.add(format!("prices/{i}/currency"), "has another price already: one price per currency");
        }
        seen.push(p.currency.clone());
    }
    e.finish()?;
    Ok(d)
}

/// Fills an item's product fields from a checked draft.
fn apply_product(item: &mut PredefinedItem, d: ProductDraft) {
    let first = d.prices.first().cloned();
    // Without prices the item keeps its main currency at a price of zero.
    let currency = first.as_ref().map_or_else(|| item.currency.clone(), |p| p.currency.clone());
    item.name = d.name;
    item.description = d.description;
    item.sku = d.sku;
    item.active = d.active;
    item.max_discount = d.max_discount;
    item.max_markup = d.max_markup;
    item.cost_minor = d.cost_minor;
    item.cost_currency = Some(d.cost_currency.unwrap_or_else(|| currency.clone()));
    item.price_minor = first.map_or(0, |p| p.amount_minor);
    item.currency = currency;
    item.prices = kith_store::Json(d.prices);
}

impl Crm {
    /// Creates a product; names are unique ignoring case (a clash is a `name` error).
    pub async fn create_product(&self, actor: Actor, d: ProductDraft) -> Result<PredefinedItem> {
        let d = check_product(d)?;
        let existing = self.all::<PredefinedItem>(actor, None).await?;
        if existing.len() >= PREDEFINED_ITEMS_MAX {
            return Err(DomainError::Conflict(format!(
                "an account holds at most {PREDEFINED_ITEMS_MAX} predefined items"
            )));
        }
        if existing.iter().any(|i| i.name.eq_ignore_ascii_case(&d.name)) {
            return Err(DomainError::invalid("name", "has already been taken"));
        }
        let t = Utc::now();
        let mut item = PredefinedItem {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            name: String::new(),
            description: None,
            sku: None,
            price_minor: 0,
            cost_minor: None,
            currency: crate::deals::DEFAULT_CURRENCY.into(),
            item_group_id: None,
            active: true,
            position: existing.iter().map(|i| i.position + 1).max().unwrap_or(0),
            prices: kith_store::Json(Vec::new()),
            max_discount: None,
            max_markup: None,
            cost_currency: None,
        };
        apply_product(&mut item, d);
        self.create(actor, item).await
    }

    /// Replaces a product's fields (prices as a whole set); its group and position stay.
    pub async fn update_product(&self, actor: Actor, id: i64, d: ProductDraft) -> Result<PredefinedItem> {
        let d = check_product(d)?;
        let mut item = self.get::<PredefinedItem>(actor, id).await?;
        let others = self.all::<PredefinedItem>(actor, Some(Filter::cmp("id", kith_store::Op::Ne, id))).await?;
        if others.iter().any(|i| i.name.eq_ignore_ascii_case(&d.name)) {
            return Err(DomainError::invalid("name", "has already been taken"));
        }
        apply_product(&mut item, d);
        self.save(actor, item).await
    }
}
