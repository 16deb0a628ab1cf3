//! The opportunities import, chunk by chunk inside one transaction: what makes a large file fast.
//!
//! A file is given in chunks of rows (a few thousand), so that neither the file's rows nor its
//! records are ever all in memory. For each chunk, the deals it names are read with `IN (...)`
//! lookups; every row is then settled in memory against what the import knows (the account's
//! users, companies, stages and pipelines, and the chunk's deals), by the same rules as a deal
//! written through `deals::settle_record`; and the chunk's new and changed companies and deals are
//! written with multi-row statements, each record with its event (and so its webhooks). The one
//! transaction spans every chunk: an import that fails leaves nothing.

use std::collections::{HashMap, HashSet};

use kith_store::{Tx, Value};

use crate::companies::check_company_name;
use crate::crm::{Actor, Crm};
use crate::deals::{entered_stage, settle_closing, stage_for_status, status_of_category};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::imports::{Context, OpportunityRow, RowOutcomes, check_opportunity, stage_named, user_by_email};
use crate::model::{Company, Contact, Deal};

/// Ids taken from the store at a time for the records a chunk makes.
const ID_BLOCK: usize = 1024;

/// An opportunities import under way: rows are added chunk by chunk (`add`), and nothing of it
/// is visible to anyone else until `commit`. Dropped without `commit`, it leaves nothing.
pub struct OpportunityImport {
    actor: Actor,
    tx: Tx,
    cx: Context,
    /// The deals this import wrote, by external id, read again (by id) when a later chunk names
    /// them.
    deal_ids: HashMap<String, i64>,
    /// Ids taken and not used yet.
    ids: Vec<i64>,
}

/// What a chunk changes, written at its end.
#[derive(Default)]
struct Pending {
    new_companies: Vec<i64>,
    changed_companies: Vec<i64>,
    companies: HashMap<i64, Company>,
    /// The deals the chunk wrote to, in the order first written; which of them are new.
    deals: Vec<i64>,
    touched: HashSet<i64>,
    new_deals: HashSet<i64>,
}

impl Crm {
    /// Starts an opportunities import (see `OpportunityImport`); `import_opportunities` is one
    /// with a single chunk.
    pub async fn begin_opportunity_import(&self, actor: Actor) -> Result<OpportunityImport> {
        // Read before the transaction: the writer is not held for it.
        let cx = self.import_context(actor, &[]).await?;
        let tx = self.begin(actor).await?;
        Ok(OpportunityImport { actor, tx, cx, deal_ids: HashMap::new(), ids: Vec::new() })
    }
}

impl OpportunityImport {
    /// Imports a chunk of rows: per row, `None` when it was imported or why it was refused. An
    /// error (the database, or a rule the row checks did not foresee) ends the import: drop it.
    pub async fn add(&mut self, rows: &[OpportunityRow]) -> Result<RowOutcomes> {
        let outcomes: RowOutcomes = rows.iter().map(|r| check_opportunity(r).err()).collect();
        let accepted: Vec<&OpportunityRow> =
            rows.iter().zip(&outcomes).filter(|(_, o)| o.is_none()).map(|(r, _)| r).collect();
        let mut deals = self.chunk_deals(&accepted).await?;
        let people = self.people_of(deals.values()).await?;
        let mut pending = Pending::default();
        for row in accepted {
            self.row(row, &mut deals, &people, &mut pending).await?;
        }
        self.write(pending, deals).await?;
        Ok(outcomes)
    }

    /// Makes the import's records visible to everyone, at once.
    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    async fn take_id(&mut self) -> Result<i64> {
        if self.ids.is_empty() {
            self.ids = self.tx.next_ids(ID_BLOCK).await?;
            self.ids.reverse();
        }
        self.ids.pop().ok_or_else(|| DomainError::Conflict("no id could be reserved".into()))
    }

    /// The stored deals a chunk's rows name, by external id: those this import wrote, by id;
    /// the others by external id (the first made, when several share one).
    async fn chunk_deals(&mut self, rows: &[&OpportunityRow]) -> Result<HashMap<String, Deal>> {
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        let mut seen = HashSet::new();
        for row in rows {
            let ext = row.external_id.trim();
            if !seen.insert(ext) {
                continue;
            }
            match self.deal_ids.get(ext) {
                Some(id) => known.push(Value::Int(*id)),
                None => unknown.push(Value::Text(ext.to_owned())),
            }
        }
        let mut found = self.tx.find_in(Deal::SPEC, "id", &known).await?;
        found.extend(self.tx.find_in(Deal::SPEC, "external_id", &unknown).await?);
        found.sort_by_key(|r| r.id);
        let mut out = HashMap::new();
        for row in found {
            let deal = Deal::from_row(row)?;
            if let Some(ext) = deal.external_id.clone() {
                out.entry(ext).or_insert(deal);
            }
        }
        Ok(out)
    }

    /// The organisation of each person the deals are on (a deal on a person follows them).
    async fn people_of<'a>(&mut self, deals: impl Iterator<Item = &'a Deal>) -> Result<HashMap<i64, Option<i64>>> {
        let ids: Vec<Value> = deals.filter_map(|d| d.contact_id).map(Value::Int).collect();
        let mut out = HashMap::new();
        for row in self.tx.find_in(Contact::SPEC, "id", &ids).await? {
            let c = Contact::from_row(row)?;
            out.insert(c.id, c.company_id);
        }
        Ok(out)
    }

    async fn row(
        &mut self,
        row: &OpportunityRow,
        deals: &mut HashMap<String, Deal>,
        people: &HashMap<i64, Option<i64>>,
        pending: &mut Pending,
    ) -> Result<()> {
        let actor = self.actor;
        let owner = match &row.owner_email {
            Some(email) => {
                user_by_email(&mut self.tx, &mut self.cx.users_by_email, email, row.owner_name.as_deref()).await?.id
            }
            None => actor.user_id,
        };
        let company = self.company_of(row, owner, pending).await?;
        let ext = row.external_id.trim();
        let before = deals.get(ext).cloned();
        let mut deal = match &before {
            Some(d) => d.clone(),
            None => Deal { id: self.take_id().await?, ..Deal::new_by(actor) },
        };
        deal.external_id = Some(ext.to_owned());
        deal.name = row.name.trim().to_owned();
        deal.owner_id = owner;
        if let Some(amount) = row.amount_minor {
            deal.value_minor = Some(amount);
        }
        if let Some(date) = row.close_date {
            deal.expected_close_date = Some(date.format("%Y-%m-%d").to_string());
        }
        for (field, value) in [
            (&mut deal.deal_type, &row.deal_type),
            (&mut deal.next_step, &row.next_step),
            (&mut deal.forecast, &row.forecast),
        ] {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                *field = Some(v.to_owned());
            }
        }
        if let Some(stage) = row.stage.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pipeline = deal.pipeline_id.or(self.cx.default_pipeline);
            match stage_named(&self.cx, pipeline, stage) {
                Some(s) => {
                    deal.pipeline_id = Some(s.pipeline_id);
                    deal.stage_id = Some(s.id);
                    deal.external_stage = None;
                }
                None => deal.external_stage = Some(stage.to_owned()),
            }
        }
        // A deal on a person keeps its person (the company follows them); otherwise the company
        // is the deal's primary contact.
        let primary = match (&company, deal.contact_id) {
            (Some(c), None) => Some(c.id),
            _ => None,
        };
        settle_known(&self.cx, actor, &mut deal, before.as_ref(), primary, people)?;
        deal.normalize();
        deal.derive();
        if before.is_none() {
            pending.new_deals.insert(deal.id);
        }
        if pending.touched.insert(deal.id) {
            pending.deals.push(deal.id);
        }
        deals.insert(ext.to_owned(), deal);
        Ok(())
    }

    /// The company a row names, matched (by external id, then by name ignoring case) or made,
    /// and given the row's external id and website.
    async fn company_of(&mut self, row: &OpportunityRow, owner: i64, pending: &mut Pending) -> Result<Option<Company>> {
        let ext = row.account_external_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let name = row.account_name.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let website = row.account_website.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let found = ext
            .and_then(|e| self.cx.companies_by_external_id.get(e))
            .or_else(|| name.and_then(|n| self.cx.companies_by_name.get(&n.to_lowercase())))
            .cloned();
        // The chunk's own version of a company it already changed.
        let found = found.map(|c| pending.companies.get(&c.id).cloned().unwrap_or(c));
        let is_new = found.is_none();
        let mut company = match found {
            Some(c) => c,
            None => {
                let Some(name) = name else { return Ok(None) };
                // The checks `create_company_in` makes of what an import gives a company (the
                // website's length is the row's check; the owner is a user of the account).
                let mut e = Errors::default();
                let name = check_company_name(&mut e, "name", name);
                e.finish()?;
                let mut c = Company::named(&name, Some(owner));
                c.url = website.map(str::to_owned);
                c.id = self.take_id().await?;
                pending.new_companies.push(c.id);
                c
            }
        };
        let before = company.clone();
        if let Some(ext) = ext {
            company.external_id = Some(ext.to_owned());
        }
        if let Some(url) = website {
            company.url = Some(url.to_owned());
        }
        if is_new || company != before || pending.companies.contains_key(&company.id) {
            company.normalize();
            company.derive();
            if !is_new && !pending.companies.contains_key(&company.id) {
                pending.changed_companies.push(company.id);
            }
            pending.companies.insert(company.id, company.clone());
        }
        self.cx.remember_company(&company);
        Ok(Some(company))
    }

    /// Writes a chunk's records: companies first (deals name them), then deals; new ones with
    /// multi-row inserts, changed ones with multi-row updates; each with its event.
    async fn write(&mut self, mut pending: Pending, deals: HashMap<String, Deal>) -> Result<()> {
        let mut new_rows = Vec::new();
        let mut changed_rows = Vec::new();
        for id in &pending.new_companies {
            if let Some(c) = pending.companies.remove(id) {
                new_rows.push((c.id, c.values()));
            }
        }
        for id in &pending.changed_companies {
            if let Some(c) = pending.companies.remove(id) {
                changed_rows.push((c.id, c.values()));
            }
        }
        self.tx.insert_many_with_ids(Company::SPEC, new_rows).await?;
        let saved = self.tx.update_many(Company::SPEC, changed_rows).await?;
        if saved.iter().any(Option::is_none) {
            return Err(DomainError::NotFound { kind: Company::SPEC.kind });
        }
        let mut by_id: HashMap<i64, Deal> = deals.into_values().map(|d| (d.id, d)).collect();
        let (mut new_rows, mut changed_rows) = (Vec::new(), Vec::new());
        for id in &pending.deals {
            let Some(deal) = by_id.remove(id) else { continue };
            if let Some(ext) = &deal.external_id {
                self.deal_ids.insert(ext.clone(), deal.id);
            }
            if pending.new_deals.contains(id) {
                new_rows.push((deal.id, deal.values()));
            } else {
                changed_rows.push((deal.id, deal.values()));
            }
        }
        self.tx.insert_many_with_ids(Deal::SPEC, new_rows).await?;
        let saved = self.tx.update_many(Deal::SPEC, changed_rows).await?;
        if saved.iter().any(Option::is_none) {
            return Err(DomainError::NotFound { kind: Deal::SPEC.kind });
        }
        Ok(())
    }
}

/// `deals::settle_record` for a deal an import writes, from what the import holds in memory
/// instead of reads: the same checks and the same derived fields. An import sets a deal's name,
/// owner (a live user of the account), value, expected close date, stage (one of the account's
/// live stages) and primary company (a live or new company of the account); nothing it leaves
/// alone is checked again, as `settle_record` checks only what changed.
fn settle_known(
    cx: &Context,
    actor: Actor,
    deal: &mut Deal,
    before: Option<&Deal>,
    primary: Option<i64>,
    people: &HashMap<i64, Option<i64>>,
) -> Result<()> {
    let mut e = Errors::default();
    deal.name = deal.name.trim().to_owned();
    if deal.name.is_empty() {
        e.add("name", "can't be blank");
    }
    e.max_len("name", Some(&deal.name), crate::deals::DEAL_RECORD_NAME_MAX);
    deal.currency = deal.currency.trim().to_ascii_uppercase();
    if !crate::money::valid_code(&deal.currency) {
        e.add("currency", "must be a three-letter ISO 4217 code");
    }
    if deal.value_minor.is_some_and(|v| v < 0) {
        e.add("value", "must not be negative");
    }
    if let Some(d) = &deal.expected_close_date
        && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        e.add("expected_close_date", "must be a date (YYYY-MM-DD)");
    }
    match primary {
        // The import's primary is always a company (live, or made by the import).
        Some(id) => {
            deal.contact_id = None;
            deal.company_id = Some(id);
        }
        None => {
            if let Some(id) = deal.contact_id
                && let Some(company) = people.get(&id)
            {
                deal.company_id = *company;
            }
        }
    }
    if before.is_none_or(|b| b.owner_id != deal.owner_id) && !cx.users_by_email.values().any(|u| u.id == deal.owner_id)
    {
        e.add("owner_id", "is not a user of this account");
    }
    let stage_changed = before.is_none_or(|b| b.stage_id != deal.stage_id);
    let mut stage = None;
    match deal.stage_id {
        Some(id) if stage_changed => match cx.stages.iter().find(|s| s.id == id) {
            Some(s) if cx.pipelines.contains(&s.pipeline_id) => stage = Some(s.clone()),
            _ => e.add("stage_id", "is not a stage of this account"),
        },
        Some(_) => {}
        None if before.is_some_and(|b| b.stage_id.is_some()) => e.add("stage_id", "can't be blank"),
        None if before.is_none() => {
            if let Some(p) = cx.default_pipeline {
                let stages: Vec<_> = cx.stages.iter().filter(|s| s.pipeline_id == p).cloned().collect();
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
        let given = deal.last_stage_change_at.filter(|t| before.is_none_or(|b| b.last_stage_change_at != Some(*t)));
        entered_stage(deal, actor, given);
    }
    settle_closing(deal);
    Ok(())
}
