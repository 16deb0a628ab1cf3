//! Orders: what a deal sells. A deal has at most one order; the order's lines are the deal's
//! items (the same rows OnePage edits as deal items), each made from a product (a predefined
//! item) at the product's price in the line's currency, marked up or discounted by a variation.
//!
//! An order exists while its deal does: orders of deleted deals are not found.
//!
//! The deal's value follows its order. After a change to an order's lines, or to its discount
//! while it has lines, the deal's value is the sum of the lines' amounts less the order's
//! discount (per month, times the deal's months, as OnePage counts it), its cost the sum of the
//! lines' costs, and its currency the lines' currency: an order's lines share one currency.
//! An order without lines leaves the deal's own value alone. OnePage's edits of a deal's items
//! are edits of its order's lines and follow the same rule.

use chrono::Utc;
use kith_store::{Filter, ListQuery, Sort, Tx, Visibility};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Deal, DealItem, Order, PredefinedItem};

/// The largest discount on an order, in percent.
pub const ORDER_DISCOUNT_MAX: i64 = 100;
/// The largest quantity of one line.
pub const LINE_QUANTITY_MAX: i64 = 1_000_000;
/// The largest markup a line may carry, in percent (the product's `max_markup` may be lower).
pub const LINE_MARKUP_MAX: f64 = 10_000.0;

/// A new line as a client sends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineItemDraft {
    pub product_id: Option<i64>,
    /// 1 when not given.
    pub quantity: Option<i64>,
    /// Percent: a markup, or a discount when negative. Derived from `value` when not given.
    pub variation: Option<f64>,
    /// The line's currency: the order's when not given (the deal's for a first line).
    pub currency: Option<String>,
    /// The unit value after variation, as a decimal in the line's currency. When given with a
    /// variation, it must agree with it (to a minor unit).
    pub value: Option<String>,
}

/// `amount × (10000 + basis) / 10000`, rounded half away from zero; `None` when it does not fit.
/// A basis is a hundredth of a percent.
fn scale(amount: i64, basis: i64) -> Option<i64> {
    let n = i128::from(amount) * i128::from(10_000 + basis);
    i64::try_from(div_round(n, 10_000)).ok()
}

/// `n / d` rounded half away from zero (`d` positive).
fn div_round(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if r.abs() * 2 >= d { q + n.signum() } else { q }
}

/// The value of an order's lines after its discount (per month, before the deal's months).
pub fn order_value(lines: &[DealItem], discount: i64) -> i64 {
    let sum = lines.iter().map(|l| l.amount_minor).fold(0i64, i64::saturating_add);
    scale(sum, -discount.clamp(0, ORDER_DISCOUNT_MAX) * 100).unwrap_or(sum)
}

/// The lines of an order (its deal's items), for listing them.
pub fn lines_filter(order: &Order) -> Filter {
    Filter::eq("deal_id", order.deal_id)
}

/// Orders whose deal is live: the only ones there are, as far as clients can tell.
pub fn live_orders() -> Filter {
    Filter::Related { via: "deal_id".into(), target: Deal::SPEC, filter: Box::new(Filter::All(Vec::new())) }
}

/// The currency a line is in: its own, or (for lines made without one) its deal's.
pub fn line_currency<'a>(line: &'a DealItem, deal: &'a Deal) -> &'a str {
    line.currency.as_deref().unwrap_or(&deal.currency)
}

async fn lines_of(tx: &mut Tx, deal_id: i64) -> Result<Vec<DealItem>> {
    let q = ListQuery::all().filter(Filter::eq("deal_id", deal_id)).sort(Sort::asc("position"));
    Ok(tx.list(DealItem::SPEC, &q).await?.try_map(DealItem::from_row)?.rows)
}

async fn order_of_deal(tx: &mut Tx, deal_id: i64) -> Result<Option<Order>> {
    let q = ListQuery::all().filter(Filter::eq("deal_id", deal_id));
    tx.list(Order::SPEC, &q).await?.rows.into_iter().next().map(Order::from_row).transpose()
}

/// Sets a deal's value, cost and currency from its lines and its order's discount (see the
/// module's rule); `lines_changed` says whether the lines did (to none, perhaps).
async fn follow_lines(tx: &mut Tx, deal: &mut Deal, discount: i64, lines_changed: bool) -> Result<()> {
    let lines = lines_of(tx, deal.id).await?;
    if lines.is_empty() && !lines_changed {
        return Ok(());
    }
    let months = deal.months.max(1);
    let cost = lines
        .iter()
        .map(|l| l.cost_minor.unwrap_or(0).saturating_mul(l.quantity as i64))
        .fold(0i64, i64::saturating_add);
    deal.value_minor = Some(order_value(&lines, discount).saturating_mul(months));
    deal.cost_minor = Some(cost.saturating_mul(months));
    if let Some(c) = lines.first().and_then(|l| l.currency.clone()) {
        deal.currency = c;
    }
    *deal = save_in(tx, &*deal).await?;
    Ok(())
}

/// After a deal is written with its items (OnePage edits the lines as deal items): when the deal
/// has an order, its value follows the lines and the order's discount.
pub(crate) async fn follow_order(tx: &mut Tx, mut deal: Deal, lines_changed: bool) -> Result<Deal> {
    if let Some(order) = order_of_deal(tx, deal.id).await? {
        follow_lines(tx, &mut deal, order.discount, lines_changed).await?;
    }
    Ok(deal)
}

fn check_discount(e: &mut Errors, discount: Option<i64>) {
    if discount.is_some_and(|d| !(0..=ORDER_DISCOUNT_MAX).contains(&d)) {
        e.add("discount", format!("must be between 0 and {ORDER_DISCOUNT_MAX}"));
    }
}

/// An order and its (live) deal, inside a transaction; `NotFound` otherwise.
async fn order_in(tx: &mut Tx, id: i64) -> Result<(Order, Deal)> {
    let order: Order = get_in(tx, id).await?;
    match tx.get(Deal::SPEC, order.deal_id, Visibility::Live).await? {
        Some(row) => Ok((order, Deal::from_row(row)?)),
        None => Err(DomainError::NotFound { kind: Order::SPEC.kind }),
    }
}

impl Crm {
    /// An order and its deal; `NotFound` when either is missing.
    pub async fn order(&self, actor: Actor, id: i64) -> Result<(Order, Deal)> {
        let order = self.get::<Order>(actor, id).await?;
        match self.find::<Deal>(actor, order.deal_id).await? {
            Some(deal) => Ok((order, deal)),
            None => Err(DomainError::NotFound { kind: Order::SPEC.kind }),
        }
    }

    /// Makes the order of a deal (one per deal), with a discount in percent (0 when none).
    pub async fn create_order(&self, actor: Actor, deal_id: Option<i64>, discount: Option<i64>) -> Result<Order> {
        let mut e = Errors::default();
        if deal_id.is_none() {
            e.add("deal_id", "can't be blank");
        }
        check_discount(&mut e, discount);
        e.finish()?;
        let deal_id = deal_id.unwrap_or_default();
        let mut tx = self.begin(actor).await?;
        let Some(row) = tx.get(Deal::SPEC, deal_id, Visibility::Live).await? else {
            return Err(DomainError::invalid("deal_id", "is not a deal of this account"));
        };
        let mut deal = Deal::from_row(row)?;
        if order_of_deal(&mut tx, deal_id).await?.is_some() {
            return Err(DomainError::invalid("deal_id", "already has an order"));
        }
        let t = Utc::now();
        let order =
            Order { id: 0, created_at: t, updated_at: t, deleted_at: None, deal_id, discount: discount.unwrap_or(0) };
        let order = insert_in(&mut tx, order).await.map_err(|e| match e {
            // Another request made the deal's order meanwhile.
            DomainError::Conflict(_) => DomainError::invalid("deal_id", "already has an order"),
            other => other,
        })?;
        follow_lines(&mut tx, &mut deal, order.discount, false).await?;
        tx.commit().await?;
        Ok(order)
    }

    /// Changes an order's discount. Its deal cannot change (the lines are the deal's).
    pub async fn update_order(
        &self,
        actor: Actor,
        id: i64,
        deal_id: Option<i64>,
        discount: Option<i64>,
    ) -> Result<Order> {
        let mut tx = self.begin(actor).await?;
        let (mut order, mut deal) = order_in(&mut tx, id).await?;
        let mut e = Errors::default();
        if deal_id.is_some_and(|d| d != order.deal_id) {
            e.add("deal_id", "cannot be changed");
        }
        check_discount(&mut e, discount);
        e.finish()?;
        if let Some(d) = discount
            && d != order.discount
        {
            order.discount = d;
            order = save_in(&mut tx, &order).await?;
            follow_lines(&mut tx, &mut deal, order.discount, false).await?;
        }
        tx.commit().await?;
        Ok(order)
    }

    /// Deletes an order and its lines.
    pub async fn delete_order(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let (order, mut deal) = order_in(&mut tx, id).await?;
        let lines = lines_of(&mut tx, deal.id).await?;
        for line in &lines {
            tx.delete(DealItem::SPEC, line.id).await?;
        }
        tx.delete(Order::SPEC, order.id).await?;
        follow_lines(&mut tx, &mut deal, 0, !lines.is_empty()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One line of an order, with the order and its deal.
    pub async fn line_item(&self, actor: Actor, order_id: i64, id: i64) -> Result<(Order, Deal, DealItem)> {
        let (order, deal) = self.order(actor, order_id).await?;
        match self.find::<DealItem>(actor, id).await? {
            Some(line) if line.deal_id == order.deal_id => Ok((order, deal, line)),
            _ => Err(DomainError::NotFound { kind: "line_item" }),
        }
    }

    /// Adds a line made from a product to an order; the deal's value follows.
    pub async fn create_line_item(&self, actor: Actor, order_id: i64, d: LineItemDraft) -> Result<DealItem> {
        let mut tx = self.begin(actor).await?;
        let (order, mut deal) = order_in(&mut tx, order_id).await?;
        let lines = lines_of(&mut tx, deal.id).await?;
        let mut e = Errors::default();
        let product = match d.product_id {
            None => {
                e.add("product_id", "can't be blank");
                None
            }
            Some(id) => match tx.get(PredefinedItem::SPEC, id, Visibility::Live).await? {
                None => {
                    e.add("product_id", "is not a product of this account");
                    None
                }
                Some(row) => {
                    let p = PredefinedItem::from_row(row)?;
                    if !p.active {
                        e.add("product_id", "is an inactive product");
                    }
                    Some(p)
                }
            },
        };
        let quantity = d.quantity.unwrap_or(1);
        if !(1..=LINE_QUANTITY_MAX).contains(&quantity) {
            e.add("quantity", format!("must be between 1 and {LINE_QUANTITY_MAX}"));
        }
        // An order's lines share one currency; a first line may choose it.
        let order_currency = lines.first().map(|l| line_currency(l, &deal).to_owned());
        let currency = match d.currency.as_deref().map(|c| c.trim().to_ascii_uppercase()) {
            Some(c) if !crate::money::valid_code(&c) => {
                e.add("currency", "must be a 3-letter ISO 4217 code");
                None
            }
            Some(c) => match &order_currency {
                Some(oc) if *oc != c => {
                    e.add("currency", format!("must be the currency of the order's other lines ({oc})"));
                    None
                }
                _ => Some(c),
            },
            None => Some(order_currency.unwrap_or_else(|| deal.currency.clone())),
        };
        let variation = match d.variation {
            Some(v) if !v.is_finite() || !(-100.0..=LINE_MARKUP_MAX).contains(&v) => {
                e.add("variation", format!("must be between -100 and {LINE_MARKUP_MAX}"));
                None
            }
            // In hundredths of a percent.
            Some(v) => Some((v * 100.0).round() as i64),
            None => None,
        };
        let (Some(product), Some(currency)) = (product, currency) else {
            e.finish()?;
            return Err(DomainError::invalid("product_id", "can't be blank"));
        };
        let Some(price) = product.price_in(&currency) else {
            e.add("currency", format!("the product has no price in {currency}"));
            e.finish()?;
            return Err(DomainError::invalid("currency", "the product has no price in it"));
        };
        let value = match d.value.as_deref() {
            None => None,
            Some(text) => match crate::money::parse_decimal(text, &currency) {
                Some(v) if v >= 0 => Some(v),
                _ => {
                    e.add("value", "must be a non-negative decimal amount");
                    None
                }
            },
        };
        e.finish()?;
        let mismatch = || DomainError::invalid("value", "does not match the product's price and variation");
        let (basis, value) = match (variation, value) {
            (Some(b), None) => (b, scale(price, b).ok_or_else(|| DomainError::invalid("variation", "is too large"))?),
            (Some(b), Some(v)) => {
                let expected = scale(price, b).ok_or_else(mismatch)?;
                if (expected - v).abs() > 1 {
                    return Err(mismatch());
                }
                (b, v)
            }
            (None, Some(v)) if price == 0 => {
                if v != 0 {
                    return Err(mismatch());
                }
                (0, 0)
            }
            (None, Some(v)) => {
                let basis = div_round((i128::from(v) - i128::from(price)) * 10_000, i128::from(price));
                (i64::try_from(basis).map_err(|_| mismatch())?, v)
            }
            (None, None) => (0, price),
        };
        let mut e = Errors::default();
        if let Some(max) = product.max_discount
            && basis < -max * 100
        {
            e.add("variation", format!("must be at least -{max}: the product's max_discount"));
        }
        if let Some(max) = product.max_markup
            && basis > max * 100
        {
            e.add("variation", format!("must be at most {max}: the product's max_markup"));
        }
        if basis < -10_000 {
            e.add("variation", "must be at least -100");
        }
        let amount = value.checked_mul(quantity);
        if amount.is_none() {
            e.add("quantity", "makes the line's amount too large");
        }
        e.finish()?;
        let cost = match (&product.cost_currency, product.cost_minor) {
            (Some(c), Some(cost)) if *c == currency => Some(cost),
            _ => None,
        };
        let t = Utc::now();
        let line = DealItem {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            deal_id: deal.id,
            predefined_item_id: Some(product.id),
            name: product.name.clone(),
            description: product.description.clone(),
            quantity: quantity as f64,
            unit_price_minor: value,
            cost_minor: cost,
            amount_minor: amount.unwrap_or_default(),
            position: lines.iter().map(|l| l.position + 1).max().unwrap_or(1),
            list_price_minor: Some(price),
            variation: Some(basis as f64 / 100.0),
            currency: Some(currency),
            sku: product.sku.clone(),
        };
        let line = insert_in(&mut tx, line).await?;
        follow_lines(&mut tx, &mut deal, order.discount, true).await?;
        tx.commit().await?;
        Ok(line)
    }

    /// Removes a line from an order; the deal's value follows.
    pub async fn delete_line_item(&self, actor: Actor, order_id: i64, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let (order, mut deal) = order_in(&mut tx, order_id).await?;
        let line = tx.get(DealItem::SPEC, id, Visibility::Live).await?.map(DealItem::from_row).transpose()?;
        if line.is_none_or(|l| l.deal_id != deal.id) {
            return Err(DomainError::NotFound { kind: "line_item" });
        }
        tx.delete(DealItem::SPEC, id).await?;
        follow_lines(&mut tx, &mut deal, order.discount, true).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_rounds_half_away_from_zero() {
        assert_eq!(scale(159_999, 0), Some(159_999));
        assert_eq!(scale(159_999, 250), Some(163_999)); // 163998.975
        assert_eq!(scale(100, -400), Some(96));
        assert_eq!(scale(5, -5_000), Some(3)); // 2.5
        assert_eq!(scale(-5, -5_000), Some(-3));
        assert_eq!(scale(i64::MAX, 10_000), None);
        assert_eq!(div_round(-15, 10), -2);
    }

    #[test]
    fn order_value_is_the_lines_less_the_discount() {
        let t = Utc::now();
        let line = |amount: i64| DealItem {
            id: 1,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            deal_id: 1,
            predefined_item_id: None,
            name: "x".into(),
            description: None,
            quantity: 1.0,
            unit_price_minor: amount,
            cost_minor: None,
            amount_minor: amount,
            position: 1,
            list_price_minor: None,
            variation: None,
            currency: None,
            sku: None,
        };
        assert_eq!(order_value(&[], 10), 0);
        assert_eq!(order_value(&[line(1000), line(250)], 0), 1250);
        assert_eq!(order_value(&[line(1000), line(250)], 4), 1200);
        assert_eq!(order_value(&[line(999)], 50), 500);
        assert_eq!(order_value(&[line(999)], 100), 0);
    }
}
