//! An open deal as an opportunity-intelligence view shows it (the JSend API's opportunities): its
//! stage and forecast as the rep gave them and as the evidence in the CRM says, and two scores
//! computed from that evidence.
//!
//! - `stage_system`: the deal's stage in Kith (its pipeline stage's name; `Closed Won` or
//!   `Closed Lost` once closed). `stage`: the stage as the system of record named it when an
//!   import gave one Kith does not have, else `stage_system`.
//! - `forecast_system`: from the chance to win (the rep's win likelihood, else the deal's or its
//!   stage's probability): 70 and over `commit`, 40 and over `upside`, below `pipeline`; `closed`
//!   when won, `omitted` when lost. `forecast`: the rep's own category when given, else the system's.
//! - `activity_index` (0–100): 10 points for every note, call, meeting or action about the deal in
//!   the last 30 days.
//! - `relationship_index` (0–100): 25 points for every person on the deal (its primary contact and
//!   the people associated with it).

use std::collections::{HashMap, HashSet};

use chrono::{Duration, Utc};
use kith_store::{Field, Filter, ListPage, ListQuery, Page, Sort};

use crate::crm::{Actor, Crm};
use crate::entity::Entity;
use crate::error::Result;
use crate::model::{Action, Call, Company, Deal, DealContact, Meeting, Note, Stage};

/// The window the activity index counts.
pub const ACTIVITY_WINDOW_DAYS: i64 = 30;

/// One open deal with what the view computes of it.
#[derive(Debug, Clone)]
pub struct Opportunity {
    pub deal: Deal,
    pub company: Option<Company>,
    pub stage: String,
    pub stage_system: String,
    pub forecast: String,
    pub forecast_system: String,
    pub activity_index: i64,
    pub relationship_index: i64,
}

/// The forecast category of a chance to win, in percent.
pub fn forecast_of(deal: &Deal, stage: Option<&Stage>) -> &'static str {
    match deal.status.as_str() {
        "won" => return "closed",
        "lost" => return "omitted",
        _ => {}
    }
    let chance = deal.win_likelihood.or(deal.probability).or(stage.map(|s| s.probability)).unwrap_or(0);
    match chance {
        70.. => "commit",
        40.. => "upside",
        _ => "pipeline",
    }
}

impl Crm {
    /// A page of `user_id`'s open deals, newest first, with their computed view.
    pub async fn open_opportunities_of(
        &self,
        actor: Actor,
        user_id: i64,
        offset: u64,
        limit: u64,
    ) -> Result<ListPage<Opportunity>> {
        let q = ListQuery::new(Page::Offset { offset, limit })
            .filter(Filter::eq("owner_id", user_id))
            .filter(Filter::eq("status", "pending"))
            .sort(Sort::desc("created_at"))
            .with_total();
        let page = self.list::<Deal>(actor, &q).await?;
        if page.rows.is_empty() {
            return Ok(ListPage { rows: Vec::new(), total: page.total, next: None });
        }
        let ids: Vec<kith_store::Value> = page.rows.iter().map(|d| d.id.into()).collect();
        let of_page = || Filter::In { field: Field::col("deal_id"), values: ids.clone() };
        let since = Utc::now() - Duration::days(ACTIVITY_WINDOW_DAYS);
        let recent = || Filter::All(vec![of_page(), Filter::cmp("created_at", kith_store::Op::Gte, since)]);
        let mut activities: HashMap<i64, u64> = HashMap::new();
        for spec in [Note::SPEC, Call::SPEC, Meeting::SPEC, Action::SPEC] {
            for (deal, n) in self.store().count_by(actor.account_id, spec, "deal_id", &recent()).await? {
                *activities.entry(deal).or_default() += n;
            }
        }
        let mut people: HashMap<i64, HashSet<i64>> = HashMap::new();
        for link in self.all::<DealContact>(actor, Some(of_page())).await? {
            people.entry(link.deal_id).or_default().insert(link.contact_id);
        }
        let company_ids: Vec<kith_store::Value> =
            page.rows.iter().filter_map(|d| d.company_id).map(Into::into).collect();
        let companies: HashMap<i64, Company> = if company_ids.is_empty() {
            HashMap::new()
        } else {
            let f = Filter::In { field: Field::col("id"), values: company_ids };
            self.all::<Company>(actor, Some(f)).await?.into_iter().map(|c| (c.id, c)).collect()
        };
        let stage_ids: Vec<kith_store::Value> = page.rows.iter().filter_map(|d| d.stage_id).map(Into::into).collect();
        let stages: HashMap<i64, Stage> = if stage_ids.is_empty() {
            HashMap::new()
        } else {
            let f = Filter::In { field: Field::col("id"), values: stage_ids };
            self.all::<Stage>(actor, Some(f)).await?.into_iter().map(|s| (s.id, s)).collect()
        };
        Ok(page.map(|deal| {
            let stage = deal.stage_id.and_then(|id| stages.get(&id));
            let stage_system = match deal.status.as_str() {
                "won" => "Closed Won".to_owned(),
                "lost" => "Closed Lost".to_owned(),
                _ => stage.map_or_else(|| "Open".to_owned(), |s| s.name.clone()),
            };
            let forecast_system = forecast_of(&deal, stage).to_owned();
            let mut on_deal = people.remove(&deal.id).unwrap_or_default();
            on_deal.extend(deal.contact_id);
            Opportunity {
                company: deal.company_id.and_then(|id| companies.get(&id).cloned()),
                stage: deal.external_stage.clone().unwrap_or_else(|| stage_system.clone()),
                forecast: deal.forecast.clone().unwrap_or_else(|| forecast_system.clone()),
                stage_system,
                forecast_system,
                activity_index: (10 * activities.get(&deal.id).copied().unwrap_or(0)).min(100) as i64,
                relationship_index: (25 * on_deal.len() as u64).min(100) as i64,
                deal,
            }
        }))
    }
}
