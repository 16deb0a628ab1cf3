//! Deals written whole with their rows (Upsales' orders and opportunities): a deal of an
//! organisation (its client), perhaps with a person, in a stage, with its own probability and
//! the products it sells as rows.
//!
//! The rules:
//! - The probability is a whole percent from 0 to 100 and decides the status: 100 is won, 0 is
//!   lost, anything between is pending. An *opportunity* is a deal at 1 to 99; an *order* one at
//!   100 or 0. A deal moved to another stage without a probability takes the stage's.
//! - Each row's amount is its quantity times its price (rounded to a minor unit); the deal's
//!   value is the sum of its rows' amounts, its cost the sum of quantity times cost. Rows given
//!   replace all of a deal's rows; a deal written without rows keeps its rows and value.
//! - The weighted value is the value times the probability, over 100.
//! - A stage's category follows its probability the same way (100 won, 0 lost, else open).

use chrono::Utc;
use kith_store::{Filter, ListQuery, Sort, Tx, Visibility};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Company, Contact, Deal, DealItem, PredefinedItem, Stage};

/// The largest quantity of one row.
pub const ROW_QUANTITY_MAX: f64 = 1_000_000_000.0;
/// The most rows a deal may have.
pub const ROWS_MAX: usize = 500;
/// The longest stage name.
pub const STAGE_NAME_MAX: usize = 100;

/// Which deals a write is for: any, opportunities only (1–99) or orders only (100 or 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealList {
    Any,
    Opportunities,
    Orders,
}

impl DealList {
    /// Why `probability` does not belong to this list, if it does not.
    pub fn refuses(self, probability: i64) -> Option<&'static str> {
        if !(0..=100).contains(&probability) {
            return Some("must be a whole percent from 0 to 100");
        }
        match self {
            DealList::Any => None,
            DealList::Opportunities if !(1..=99).contains(&probability) => {
                Some("must be from 1 to 99 for an opportunity (100 or 0 make an order)")
            }
            DealList::Orders if probability != 0 && probability != 100 => {
                Some("must be 100 (won) or 0 (lost) for an order (1 to 99 make an opportunity)")
            }
            _ => None,
        }
    }

    /// The deals of this list, as a filter on their probability.
    pub fn filter(self) -> Option<Filter> {
        match self {
            DealList::Any => None,
            DealList::Opportunities => Some(Filter::All(vec![
                Filter::cmp("probability", kith_store::Op::Gte, 1i64),
                Filter::cmp("probability", kith_store::Op::Lte, 99i64),
            ])),
            DealList::Orders => Some(Filter::In {
                field: kith_store::Field::col("probability"),
                values: vec![kith_store::Value::Int(0), kith_store::Value::Int(100)],
            }),
        }
    }
}

/// The status of a deal at `probability`.
pub fn status_of_probability(probability: i64) -> &'static str {
    match probability {
        100.. => "won",
        ..=0 => "lost",
        _ => "pending",
    }
}

/// The category of a stage at `probability`.
pub fn stage_category_of_probability(probability: i64) -> &'static str {
    match status_of_probability(probability) {
        "won" => "won",
        "lost" => "lost",
        _ => "open",
    }
}

/// `quantity × price`, rounded half away from zero to a minor unit (saturating).
pub fn row_amount(quantity: f64, price_minor: i64) -> i64 {
    let v = (quantity * price_minor as f64).round();
    if v.is_nan() { 0 } else { v.clamp(i64::MIN as f64, i64::MAX as f64) as i64 }
}

/// The value of rows: the sum of their amounts.
pub fn rows_value(rows: &[DealItem]) -> i64 {
    rows.iter().map(|r| r.amount_minor).fold(0i64, i64::saturating_add)
}

/// `value × probability / 100`, rounded half away from zero.
pub fn weighted_value(value_minor: i64, probability: i64) -> i64 {
    let n = i128::from(value_minor) * i128::from(probability.clamp(0, 100));
    let (q, r) = (n / 100, n % 100);
    let q = if r.abs() * 2 >= 100 { q + n.signum() } else { q };
    i64::try_from(q).unwrap_or(i64::MAX)
}

/// One row as a client sends it (money in minor units of the deal's currency).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowDraft {
    pub product_id: Option<i64>,
    pub quantity: f64,
    pub price_minor: i64,
    pub list_price_minor: Option<i64>,
    pub cost_minor: Option<i64>,
}

/// A deal to create (`deal.id` 0) or to save, with what goes beside its own fields.
#[derive(Debug, Clone)]
pub struct DealWrite {
    pub deal: Deal,
    /// The organisation the deal is with (required on create).
    pub client_id: Option<i64>,
    /// The person (`Some(None)` clears it; `None` keeps it).
    pub contact_id: Option<Option<i64>>,
    /// The probability; `None` keeps it, or takes the stage's.
    pub probability: Option<i64>,
    /// The rows; `None` keeps them.
    pub rows: Option<Vec<RowDraft>>,
    pub list: DealList,
    /// The deal's campaigns (`links::write_in`); `None` keeps them.
    pub campaigns: Option<Vec<i64>>,
}

fn item(deal_id: i64, position: usize, r: &RowDraft, name: String, currency: &str) -> DealItem {
    let t = Utc::now();
    DealItem {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        deal_id,
        predefined_item_id: r.product_id,
        name,
        description: None,
        quantity: r.quantity,
        unit_price_minor: r.price_minor,
        cost_minor: r.cost_minor,
        amount_minor: row_amount(r.quantity, r.price_minor),
        position: position as i64 + 1,
        list_price_minor: r.list_price_minor,
        variation: None,
        currency: Some(currency.to_owned()),
        sku: None,
    }
}

async fn rows_of(tx: &mut Tx, deal_id: i64) -> Result<Vec<DealItem>> {
    let q = ListQuery::all().filter(Filter::eq("deal_id", deal_id)).sort(Sort::asc("position"));
    Ok(tx.list(DealItem::SPEC, &q).await?.try_map(DealItem::from_row)?.rows)
}

impl Crm {
    /// Creates or saves a deal with its rows, in one transaction (see the module's rules).
    /// Errors name the model's fields (`client`, `contact`, `probability`, `rows[i].…`).
    pub async fn write_deal_with_rows(&self, actor: Actor, w: DealWrite) -> Result<(Deal, Vec<DealItem>)> {
        let mut tx = self.begin(actor).await?;
        let before: Option<Deal> = if w.deal.id == 0 { None } else { Some(get_in(&mut tx, w.deal.id).await?) };
        let mut deal = w.deal;
        let mut e = Errors::default();
        match w.client_id {
            Some(id) if tx.get(Company::SPEC, id, Visibility::Live).await?.is_none() => {
                e.add("client", "is not an account of this account")
            }
            None if before.is_none() => e.add("client", "is required"),
            _ => {}
        }
        if let Some(Some(id)) = w.contact_id
            && tx.get(Contact::SPEC, id, Visibility::Live).await?.is_none()
        {
            e.add("contact", "is not a contact of this account");
        }
        if let Some(p) = w.probability
            && let Some(m) = w.list.refuses(p)
        {
            e.add("probability", m);
        }
        let mut names = Vec::new();
        if let Some(rows) = &w.rows {
            if rows.len() > ROWS_MAX {
                e.add("orderRow", format!("must have at most {ROWS_MAX} rows"));
            }
            for (i, r) in rows.iter().enumerate() {
                if !r.quantity.is_finite() || r.quantity < 0.0 || r.quantity > ROW_QUANTITY_MAX {
                    e.add(format!("orderRow[{i}].quantity"), "must be a number from 0 to 1000000000");
                }
                if r.price_minor < 0 {
                    e.add(format!("orderRow[{i}].price"), "must not be negative");
                }
                let name = match r.product_id {
                    Some(id) => match tx.get(PredefinedItem::SPEC, id, Visibility::Live).await? {
                        Some(row) => PredefinedItem::from_row(row)?.name,
                        None => {
                            e.add(format!("orderRow[{i}].product"), "is not a product of this account");
                            String::new()
                        }
                    },
                    None => format!("Row {}", i + 1),
                };
                names.push(name);
            }
        }
        e.finish()?;
        let primary = w.client_id.or(before.as_ref().and_then(|b| b.company_id)).or(deal.contact_id);
        let person = match w.contact_id {
            Some(c) => c,
            None => before.as_ref().and_then(|b| b.contact_id),
        };
        crate::deals::settle_record(&mut tx, actor, &mut deal, before.as_ref(), primary).await?;
        if w.client_id.is_some() || deal.company_id.is_some() {
            deal.contact_id = person;
        }
        if let Some(p) = w.probability {
            deal.probability = Some(p);
        }
        if w.probability.is_some() || before.is_none() {
            let p = deal.probability.unwrap_or(0);
            if let Some(m) = w.list.refuses(p) {
                return Err(DomainError::invalid("probability", m));
            }
            deal.status = status_of_probability(p).to_owned();
        }
        crate::deals::settle_closing(&mut deal);
        let mut deal = match before {
            None => insert_in(&mut tx, deal).await?,
            Some(_) => save_in(&mut tx, &deal).await?,
        };
        let rows = match &w.rows {
            Some(rows) => {
                for old in rows_of(&mut tx, deal.id).await? {
                    tx.delete(DealItem::SPEC, old.id).await?;
                }
                let mut out = Vec::new();
                for (i, (r, name)) in rows.iter().zip(names).enumerate() {
                    out.push(insert_in(&mut tx, item(deal.id, i, r, name, &deal.currency)).await?);
                }
                deal.value_minor = Some(rows_value(&out));
                let cost = out
                    .iter()
                    .map(|r| row_amount(r.quantity, r.cost_minor.unwrap_or(0)))
                    .fold(0i64, i64::saturating_add);
                deal.cost_minor = Some(cost);
                deal = save_in(&mut tx, &deal).await?;
                out
            }
            None => rows_of(&mut tx, deal.id).await?,
        };
        let links = crate::links::LinkDraft { campaigns: w.campaigns.clone(), ..Default::default() };
        let fresh = before.is_none();
        if crate::links::write_in(&mut tx, Deal::SPEC, deal.id, &links, fresh).await? {
            deal = get_in(&mut tx, deal.id).await?;
        }
        tx.commit().await?;
        Ok((deal, rows))
    }

    /// Creates a stage in the account's default pipeline, or saves one (`stage.id` set); its
    /// category follows its probability.
    pub async fn write_stage(&self, actor: Actor, mut stage: Stage) -> Result<Stage> {
        let mut e = Errors::default();
        stage.name = stage.name.trim().to_owned();
        if stage.name.is_empty() {
            e.add("name", "can't be blank");
        }
        e.max_len("name", Some(&stage.name), STAGE_NAME_MAX);
        if !(0..=100).contains(&stage.probability) {
            e.add("probability", "must be a whole percent from 0 to 100");
        }
        e.finish()?;
        stage.category = stage_category_of_probability(stage.probability).to_owned();
        let mut tx = self.begin(actor).await?;
        let stage = if stage.id == 0 {
            let q = ListQuery::all().sort(Sort::desc("is_default")).sort(Sort::asc("position"));
            let pipeline = tx.list(crate::model::Pipeline::SPEC, &q).await?.rows.first().map(|r| r.id);
            let Some(pipeline) = pipeline else {
                return Err(DomainError::Conflict("the account has no pipeline".into()));
            };
            let q = ListQuery::all().filter(Filter::eq("pipeline_id", pipeline));
            let last = tx.list(Stage::SPEC, &q).await?.try_map(Stage::from_row)?.rows;
            stage.pipeline_id = pipeline;
            stage.position = last.iter().map(|s| s.position + 1).max().unwrap_or(0);
            insert_in(&mut tx, stage).await?
        } else {
            let old: Stage = get_in(&mut tx, stage.id).await?;
            stage.pipeline_id = old.pipeline_id;
            stage.position = old.position;
            save_in(&mut tx, &stage).await?
        };
        tx.commit().await?;
        Ok(stage)
    }

    /// Deletes a stage no live deal is in.
    pub async fn delete_stage(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        get_in::<Stage>(&mut tx, id).await?;
        let q = ListQuery::new(kith_store::Page::Offset { offset: 0, limit: 1 }).filter(Filter::eq("stage_id", id));
        if !tx.list(Deal::SPEC, &q).await?.rows.is_empty() {
            return Err(DomainError::Conflict("deals are in this stage: move them first".into()));
        }
        tx.delete(Stage::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::companies::CompanyDraft;

    #[test]
    fn probability_decides_status_and_list() {
        assert_eq!([0, 1, 50, 99, 100].map(status_of_probability), ["lost", "pending", "pending", "pending", "won"]);
        assert_eq!([0, 50, 100].map(stage_category_of_probability), ["lost", "open", "won"]);
        assert!(DealList::Opportunities.refuses(0).is_some() && DealList::Opportunities.refuses(100).is_some());
        assert!(DealList::Opportunities.refuses(1).is_none() && DealList::Opportunities.refuses(99).is_none());
        assert!(DealList::Orders.refuses(50).is_some());
        assert!(DealList::Orders.refuses(0).is_none() && DealList::Orders.refuses(100).is_none());
        assert!(DealList::Any.refuses(101).is_some() && DealList::Any.refuses(-1).is_some());
    }

    #[test]
    fn values_are_quantity_times_price_and_weighted() {
        assert_eq!(row_amount(3.0, 1050), 3150);
        assert_eq!(row_amount(0.5, 101), 51, "half a minor unit rounds up");
        assert_eq!(row_amount(f64::MAX, i64::MAX), i64::MAX);
        assert_eq!(weighted_value(10_000, 25), 2500);
        assert_eq!(weighted_value(999, 50), 500);
        assert_eq!(weighted_value(10_000, 150), 10_000, "probability is capped at 100");
    }

    #[tokio::test]
    async fn a_deal_with_rows_is_worth_their_sum_and_its_probability_sets_its_status() {
        let t = crate::testing::crm().await;
        let acme = t.crm.create_company(t.actor, CompanyDraft { name: "Acme".into(), ..Default::default() }).await;
        let acme = acme.expect("company");
        let rows = vec![
            RowDraft { quantity: 2.0, price_minor: 1000, cost_minor: Some(300), ..Default::default() },
            RowDraft { quantity: 1.5, price_minor: 200, ..Default::default() },
        ];
        let mut deal = Deal::new_by(t.actor);
        deal.name = "Engines".into();
        let w = DealWrite {
            deal,
            client_id: Some(acme.id),
            contact_id: None,
            probability: Some(40),
            rows: Some(rows),
            list: DealList::Any,
            campaigns: None,
        };
        let (deal, rows) = t.crm.write_deal_with_rows(t.actor, w.clone()).await.expect("create");
        assert_eq!(deal.value_minor, Some(2300));
        assert_eq!(deal.cost_minor, Some(600));
        assert_eq!((deal.status.as_str(), deal.probability, deal.company_id), ("pending", Some(40), Some(acme.id)));
        assert_eq!(rows.iter().map(|r| r.amount_minor).collect::<Vec<_>>(), vec![2000, 300]);

        // Won at 100; rows kept when none are given.
        let again = DealWrite { deal: deal.clone(), probability: Some(100), rows: None, ..w.clone() };
        let (won, rows) = t.crm.write_deal_with_rows(t.actor, again).await.expect("win");
        assert_eq!((won.status.as_str(), won.value_minor, rows.len()), ("won", Some(2300), 2));
        assert!(won.closed_at.is_some());

        // The lists' rules, and references of the account only.
        let bad = DealWrite { deal: won.clone(), probability: Some(50), list: DealList::Orders, ..w.clone() };
        let fields = crate::testing::invalid_fields(t.crm.write_deal_with_rows(t.actor, bad).await);
        assert_eq!(fields[0].0, "probability");
        let bad = DealWrite {
            deal: Deal::new_by(t.actor),
            client_id: Some(999),
            rows: Some(vec![RowDraft { product_id: Some(998), quantity: -1.0, ..Default::default() }]),
            ..w
        };
        let fields: Vec<String> = crate::testing::invalid_fields(t.crm.write_deal_with_rows(t.actor, bad).await)
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(fields, ["client", "orderRow[0].quantity", "orderRow[0].product"]);
    }

    #[tokio::test]
    async fn stages_follow_their_probability_and_in_use_ones_stay() {
        let t = crate::testing::crm().await;
        let mut s = Stage {
            id: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
            pipeline_id: 0,
            name: " Negotiation ".into(),
            position: 0,
            probability: 100,
            category: String::new(),
        };
        let made = t.crm.write_stage(t.actor, s.clone()).await.expect("stage");
        assert_eq!((made.name.as_str(), made.category.as_str()), ("Negotiation", "won"));
        s.probability = 101;
        assert_eq!(crate::testing::invalid_fields(t.crm.write_stage(t.actor, s).await)[0].0, "probability");
        t.crm.delete_stage(t.actor, made.id).await.expect("delete unused stage");
        assert!(matches!(t.crm.delete_stage(t.actor, made.id).await, Err(DomainError::NotFound { .. })));
    }
}
