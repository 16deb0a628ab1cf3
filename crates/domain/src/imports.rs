//! Bulk imports from a client's system of record (JSend's CSV uploads): opportunities matched by
//! their external id, the people on them, and sales targets by rep and month.
//!
//! Every row is checked on its own before anything of it is written: a refused row says why and
//! writes nothing, and never stops the others. The accepted rows are written in one transaction,
//! so an import that fails (the database, or a rule the checks did not foresee) leaves nothing
//! half written. Owners and companies are matched (users by email; companies by external id,
//! then by name ignoring case) or created, as the shared model needs them; every write goes
//! through the same record paths as the other dialects' writes, with its events.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Utc};
use kith_store::{Field, Filter, ListQuery, Page, Tx};

use crate::companies::check_company_name;
use crate::contacts::{CompanyLink, ContactDraft, create_contact_in, update_contact_in};
use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::deals::{DEAL_RECORD_NAME_MAX, DEFAULT_CURRENCY, DEFAULT_DEAL_CONTACT_ROLE, settle_record};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{
    Channel, Company, Contact, CustomFieldDefinition, Deal, DealContact, Pipeline, SalesTarget, Stage, User,
};

/// The longest external id kept.
pub const EXTERNAL_ID_MAX: usize = 255;
/// The longest free text kept of an imported stage, forecast, type or next step.
pub const IMPORTED_TEXT_MAX: usize = 255;

/// One opportunity as a system of record exports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpportunityRow {
    pub external_id: String,
    pub name: String,
    pub amount_minor: Option<i64>,
    pub close_date: Option<NaiveDate>,
    /// The stage as the system of record names it: one of the deal's pipeline's stages (by name,
    /// ignoring case; `won`/`closed won` and `lost`/`closed lost` close the deal), or kept as
    /// the deal's external stage.
    pub stage: Option<String>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub account_external_id: Option<String>,
    pub account_name: Option<String>,
    pub account_website: Option<String>,
    pub deal_type: Option<String>,
    pub next_step: Option<String>,
    pub forecast: Option<String>,
}

/// One person on an opportunity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactRow {
    /// The opportunity's external id, as in the opportunities import.
    pub opportunity_external_id: Option<String>,
    pub email: String,
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub company_name: Option<String>,
    pub phone: Option<String>,
    pub mobile_phone: Option<String>,
}

/// A rep's quota for a month.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    pub rep_email: String,
    /// Any day of the month.
    pub month: NaiveDate,
    pub amount_minor: i64,
}

/// Per row given, in order: `None` when it was imported, or why it was refused.
pub type RowOutcomes = Vec<Option<String>>;

pub use crate::opportunity_import::OpportunityImport;

/// What an import reads once: the account's stages and pipelines, custom-field definitions,
/// and the records rows are matched to, kept up to date as rows add records. Matching rows from
/// memory keeps an import linear: the database's plans for one-row lookups are only as good as
/// its statistics, which a table that grows inside the import's transaction outruns.
pub(crate) struct Context {
    pub(crate) stages: Vec<Stage>,
    /// The live pipelines.
    pub(crate) pipelines: std::collections::HashSet<i64>,
    pub(crate) default_pipeline: Option<i64>,
    contact_fields: Vec<CustomFieldDefinition>,
    pub(crate) users_by_email: HashMap<String, User>,
    pub(crate) companies_by_external_id: HashMap<String, Company>,
    pub(crate) companies_by_name: HashMap<String, Company>,
    deals_by_external_id: HashMap<String, Deal>,
}

impl Context {
    /// Keeps a company's latest version; a name shared by several matches the first seen.
    pub(crate) fn remember_company(&mut self, c: &Company) {
        if let Some(ext) = &c.external_id {
            self.companies_by_external_id.insert(ext.clone(), c.clone());
        }
        match self.companies_by_name.entry(c.name.to_lowercase()) {
            std::collections::hash_map::Entry::Occupied(mut o) if o.get().id == c.id => *o.get_mut() = c.clone(),
            std::collections::hash_map::Entry::Occupied(_) => {}
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(c.clone());
            }
        }
    }
}

impl Crm {
    /// Imports opportunities: a new external id makes a deal, a known one updates it.
    pub async fn import_opportunities(&self, actor: Actor, rows: &[OpportunityRow]) -> Result<RowOutcomes> {
        let mut import = self.begin_opportunity_import(actor).await?;
        let out = import.add(rows).await?;
        import.commit().await?;
        Ok(out)
    }

    /// Imports people by email (a known email updates the person) and puts each on the
    /// opportunity it names.
    pub async fn import_contacts(&self, actor: Actor, rows: &[ContactRow]) -> Result<RowOutcomes> {
        let ids: Vec<&str> = rows.iter().filter_map(|r| r.opportunity_external_id.as_deref()).collect();
        let cx = self.import_context(actor, &ids).await?;
        // People are matched by their primary email, read for the file's emails only.
        let mut people: HashMap<String, i64> = HashMap::new();
        let mut emails: Vec<String> =
            rows.iter().flat_map(|r| [r.email.trim().to_owned(), r.email.trim().to_lowercase()]).collect();
        emails.sort_unstable();
        emails.dedup();
        for chunk in emails.chunks(500) {
            let f =
                Filter::In { field: Field::col("email"), values: chunk.iter().map(|e| e.as_str().into()).collect() };
            for c in self.all::<Contact>(actor, Some(f)).await? {
                if let Some(email) = &c.email {
                    people.entry(email.to_lowercase()).or_insert(c.id);
                }
            }
        }
        let mut tx = self.begin(actor).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let deal = match &row.opportunity_external_id {
                Some(ext) => match cx.deals_by_external_id.get(ext.trim()) {
                    Some(deal) => Some(get_in::<Deal>(&mut tx, deal.id).await?),
                    None => {
                        out.push(Some(format!("no opportunity with the id {ext:?}")));
                        continue;
                    }
                },
                None => None,
            };
            out.push(match check_contact(row) {
                Err(reason) => Some(reason),
                Ok(()) => {
                    import_contact(&mut tx, actor, &cx, &mut people, row, deal).await?;
                    None
                }
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Imports sales targets: one per rep and month, a known pair updated.
    pub async fn import_targets(&self, actor: Actor, rows: &[TargetRow]) -> Result<RowOutcomes> {
        let mut users: HashMap<String, User> =
            self.all::<User>(actor, None).await?.into_iter().map(|u| (u.email.to_lowercase(), u)).collect();
        let mut tx = self.begin(actor).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut e = Errors::default();
            crate::auth::validate_email(&mut e, "email", &row.rep_email);
            if row.amount_minor < 0 {
                e.add("amount", "must not be negative");
            }
            out.push(match e.finish() {
                Err(err) => Some(reason_of(err)),
                Ok(()) => {
                    import_target(&mut tx, &mut users, row).await?;
                    None
                }
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    pub(crate) async fn import_context(&self, actor: Actor, deal_external_ids: &[&str]) -> Result<Context> {
        let stages = self.all_sorted::<Stage>(actor, None, vec![kith_store::Sort::asc("position")]).await?;
        let pipelines = self
            .all_sorted::<Pipeline>(
                actor,
                None,
                vec![kith_store::Sort::desc("is_default"), kith_store::Sort::asc("position")],
            )
            .await?;
        let users_by_email =
            self.all::<User>(actor, None).await?.into_iter().map(|u| (u.email.to_lowercase(), u)).collect();
        let mut deals_by_external_id = HashMap::new();
        let mut wanted: Vec<&str> = deal_external_ids.iter().map(|e| e.trim()).filter(|e| !e.is_empty()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        for chunk in wanted.chunks(500) {
            let f =
                Filter::In { field: Field::col("external_id"), values: chunk.iter().map(|e| (*e).into()).collect() };
            for deal in self.all::<Deal>(actor, Some(f)).await? {
                if let Some(ext) = deal.external_id.clone() {
                    deals_by_external_id.entry(ext).or_insert(deal);
                }
            }
        }
        let mut cx = Context {
            stages,
            pipelines: pipelines.iter().map(|p| p.id).collect(),
            default_pipeline: pipelines.first().map(|p| p.id),
            contact_fields: self.custom_fields(actor, "contact").await?,
            users_by_email,
            companies_by_external_id: HashMap::new(),
            companies_by_name: HashMap::new(),
            deals_by_external_id,
        };
        // Companies are matched by name too, so all of the account's are read, a page at a time.
        let mut after = None;
        loop {
            let q = ListQuery::new(Page::After { after, limit: 1000 });
            let page = self.list::<Company>(actor, &q).await?;
            for c in &page.rows {
                cx.remember_company(c);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(cx)
    }
}

/// A refused row's reason: its validation messages, `field message; …`.
fn reason_of(e: DomainError) -> String {
    match e {
        DomainError::Invalid(fields) => {
            fields.iter().map(|f| format!("{} {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}

fn check_text(e: &mut Errors, field: &str, value: &Option<String>, max: usize) {
    e.max_len(field, value.as_deref(), max);
}

pub(crate) fn check_opportunity(row: &OpportunityRow) -> std::result::Result<(), String> {
    let mut e = Errors::default();
    if row.external_id.trim().is_empty() {
        e.add("opportunity_id", "can't be blank");
    }
    e.max_len("opportunity_id", Some(row.external_id.trim()), EXTERNAL_ID_MAX);
    if row.name.trim().is_empty() {
        e.add("opportunity_name", "can't be blank");
    }
    e.max_len("opportunity_name", Some(row.name.trim()), DEAL_RECORD_NAME_MAX);
    if row.amount_minor.is_some_and(|a| a < 0) {
        e.add("amount", "must not be negative");
    }
    if let Some(email) = &row.owner_email {
        crate::auth::validate_email(&mut e, "owner_email", email);
    }
    if let Some(name) = &row.account_name {
        check_company_name(&mut e, "account_name", name);
    }
    check_text(&mut e, "account_id", &row.account_external_id, EXTERNAL_ID_MAX);
    check_text(&mut e, "account_website", &row.account_website, crate::companies::COMPANY_URL_MAX);
    for (field, value) in [
        ("stage", &row.stage),
        ("type", &row.deal_type),
        ("next_step", &row.next_step),
        ("forecast", &row.forecast),
        ("owner", &row.owner_name),
    ] {
        check_text(&mut e, field, value, IMPORTED_TEXT_MAX);
    }
    e.finish().map_err(reason_of)
}

fn check_contact(row: &ContactRow) -> std::result::Result<(), String> {
    let mut e = Errors::default();
    crate::auth::validate_email(&mut e, "email", &row.email);
    if let Some(name) = &row.company_name {
        check_company_name(&mut e, "company_name", name);
    }
    for (field, value) in [
        ("fullname", &row.full_name),
        ("first_name", &row.first_name),
        ("last_name", &row.last_name),
        ("title", &row.title),
        ("phone", &row.phone),
        ("mobile_phone", &row.mobile_phone),
    ] {
        check_text(&mut e, field, value, IMPORTED_TEXT_MAX);
    }
    e.finish().map_err(reason_of)
}

/// The user with `email`, made (a plain user) when the account has none.
pub(crate) async fn user_by_email(
    tx: &mut Tx,
    users: &mut HashMap<String, User>,
    email: &str,
    name: Option<&str>,
) -> Result<User> {
    let key = email.trim().to_lowercase();
    if let Some(user) = users.get(&key) {
        return Ok(user.clone());
    }
    let mut user = crate::auth::new_user(email, "user");
    if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) {
        let (first, last) = split_name(name);
        user.first_name = first;
        user.last_name = last;
    }
    let user = insert_in(tx, user).await?;
    users.insert(key, user.clone());
    Ok(user)
}

/// `Ada King Lovelace` → (`Ada King`, `Lovelace`): the last word is the last name.
fn split_name(full: &str) -> (Option<String>, Option<String>) {
    let full = full.trim();
    match full.rsplit_once(char::is_whitespace) {
        Some((first, last)) => (Some(first.trim().to_owned()), Some(last.trim().to_owned())),
        None => (None, (!full.is_empty()).then(|| full.to_owned())),
    }
}

/// A stage of `pipeline` named `name` (ignoring case); `won`/`closed won` and `lost`/`closed
/// lost` name its won and lost stages.
pub(crate) fn stage_named<'a>(cx: &'a Context, pipeline: Option<i64>, name: &str) -> Option<&'a Stage> {
    let pipeline = pipeline?;
    let own = || cx.stages.iter().filter(move |s| s.pipeline_id == pipeline);
    if let Some(s) = own().find(|s| s.name.eq_ignore_ascii_case(name)) {
        return Some(s);
    }
    let category = match name.to_ascii_lowercase().as_str() {
        "won" | "closed won" | "closed/won" => "won",
        "lost" | "closed lost" | "closed/lost" => "lost",
        _ => return None,
    };
    own().find(|s| s.category == category)
}

async fn import_contact(
    tx: &mut Tx,
    actor: Actor,
    cx: &Context,
    people: &mut HashMap<String, i64>,
    row: &ContactRow,
    deal: Option<Deal>,
) -> Result<()> {
    let email = row.email.trim().to_ascii_lowercase();
    let existing = match people.get(&email) {
        Some(id) => Some(get_in::<Contact>(tx, *id).await?),
        None => None,
    };
    let mut d = existing.as_ref().map_or_else(ContactDraft::default, Contact::draft);
    let (mut first, mut last) = (row.first_name.clone(), row.last_name.clone());
    if first.is_none()
        && last.is_none()
        && let Some(full) = &row.full_name
    {
        (first, last) = split_name(full);
    }
    if first.is_some() || last.is_some() {
        d.first_name = first;
        d.last_name = last;
    }
    if d.first_name.is_none() && d.last_name.is_none() {
        // A person needs a name: the email's local part stands in.
        d.last_name = Some(email.split('@').next().unwrap_or(&email).to_owned());
    }
    if let Some(title) = &row.title {
        d.job_title = Some(title.clone());
    }
    if let Some(company) = row.company_name.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        d.company = CompanyLink::Name(company.to_owned());
    }
    if !d.emails.iter().any(|c| c.value.eq_ignore_ascii_case(&email)) {
        d.emails.push(Channel { kind: "work".into(), value: email.clone() });
    }
    for (kind, phone) in [("work", &row.phone), ("mobile", &row.mobile_phone)] {
        if let Some(p) = phone.as_deref().map(str::trim).filter(|p| !p.is_empty())
            && !d.phones.iter().any(|c| c.value == p)
        {
            d.phones.push(Channel { kind: kind.into(), value: p.to_owned() });
        }
    }
    let contact = match &existing {
        Some(c) => update_contact_in(tx, actor, &cx.contact_fields, c.id, d).await?,
        None => create_contact_in(tx, actor, &cx.contact_fields, d).await?,
    };
    people.insert(email, contact.id);
    if let Some(mut deal) = deal {
        let q = ListQuery::new(Page::Offset { offset: 0, limit: 1 })
            .filter(Filter::eq("deal_id", deal.id))
            .filter(Filter::eq("contact_id", contact.id));
        if tx.list(DealContact::SPEC, &q).await?.rows.is_empty() {
            let t = Utc::now();
            let link = DealContact {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                deal_id: deal.id,
                contact_id: contact.id,
                role: DEFAULT_DEAL_CONTACT_ROLE.into(),
            };
            insert_in(tx, link).await?;
        }
        if deal.contact_id.is_none() {
            let before = deal.clone();
            deal.contact_id = Some(contact.id);
            settle_record(tx, actor, &mut deal, Some(&before), Some(contact.id)).await?;
            save_in(tx, &deal).await?;
        }
    }
    Ok(())
}

/// The first and last day of `day`'s month.
pub fn month_of(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = day.with_day(1).unwrap_or(day);
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    let last = next.and_then(|n| n.pred_opt()).unwrap_or(first);
    (first, last)
}

async fn import_target(tx: &mut Tx, users: &mut HashMap<String, User>, row: &TargetRow) -> Result<()> {
    let user = user_by_email(tx, users, &row.rep_email, None).await?;
    let (first, last) = month_of(row.month);
    let start = first.format("%Y-%m-%d").to_string();
    let q = ListQuery::new(Page::Offset { offset: 0, limit: 1 })
        .filter(Filter::eq("user_id", user.id))
        .filter(Filter::eq("period_start", start.as_str()));
    let existing =
        tx.list(SalesTarget::SPEC, &q).await?.rows.into_iter().next().map(SalesTarget::from_row).transpose()?;
    match existing {
        Some(mut target) => {
            if target.amount_minor != row.amount_minor {
                target.amount_minor = row.amount_minor;
                save_in(tx, &target).await?;
            }
        }
        None => {
            let t = Utc::now();
            let target = SalesTarget {
                id: 0,
                created_at: t,
                updated_at: t,
                deleted_at: None,
                user_id: Some(user.id),
                period_start: start,
                period_end: last.format("%Y-%m-%d").to_string(),
                amount_minor: row.amount_minor,
                currency: DEFAULT_CURRENCY.into(),
            };
            insert_in(tx, target).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::crm;

    fn opp(ext: &str, name: &str) -> OpportunityRow {
        OpportunityRow { external_id: ext.into(), name: name.into(), ..Default::default() }
    }

    #[tokio::test]
    async fn opportunities_upsert_by_external_id_and_bad_rows_write_nothing() {
        let t = crm().await;
        let rows = vec![
            OpportunityRow {
                amount_minor: Some(8_000_000),
                account_external_id: Some("A1".into()),
                account_name: Some("Southern Railway".into()),
                stage: Some("Develop".into()),
                owner_email: Some("rep@rail.test".into()),
                ..opp("O1", "Phone install")
            },
            opp("", "No id"),
            OpportunityRow { account_name: Some("x".repeat(56)), ..opp("O2", "Too long a company") },
        ];
        let out = t.crm.import_opportunities(t.actor, &rows).await.expect("import");
        assert_eq!(out[0], None);
        assert!(out[1].as_deref().is_some_and(|r| r.contains("opportunity_id")), "{out:?}");
        assert!(out[2].as_deref().is_some_and(|r| r.contains("account_name")), "{out:?}");
        let deals = t.crm.all::<Deal>(t.actor, None).await.expect("deals");
        assert_eq!(deals.len(), 1);
        let deal = &deals[0];
        assert_eq!((deal.external_id.as_deref(), deal.external_stage.as_deref()), (Some("O1"), Some("Develop")));
        let companies = t.crm.all::<Company>(t.actor, None).await.expect("companies");
        assert_eq!(companies.len(), 1, "the refused row made no company");
        assert_eq!(deal.company_id, Some(companies[0].id));
        let owner = t.crm.get::<User>(t.actor, deal.owner_id).await.expect("owner");
        assert_eq!(owner.email, "rep@rail.test");

        // Again, renamed and won: the same deal, no second company or owner.
        let again = vec![OpportunityRow {
            stage: Some("Closed Won".into()),
            account_external_id: Some("A1".into()),
            owner_email: Some("REP@rail.test".into()),
            ..opp("O1", "Phone install, phase 1")
        }];
        assert_eq!(t.crm.import_opportunities(t.actor, &again).await.expect("again"), vec![None]);
        let deals = t.crm.all::<Deal>(t.actor, None).await.expect("deals");
        assert_eq!(deals.len(), 1);
        assert_eq!((deals[0].name.as_str(), deals[0].status.as_str()), ("Phone install, phase 1", "won"));
        assert_eq!(t.crm.all::<Company>(t.actor, None).await.expect("companies").len(), 1);
        assert_eq!(t.crm.all::<User>(t.actor, None).await.expect("users").len(), 2);
    }

    #[tokio::test]
    async fn contacts_join_their_opportunity_and_targets_upsert_by_rep_and_month() {
        let t = crm().await;
        t.crm.import_opportunities(t.actor, &[opp("O1", "Deal")]).await.expect("opp");
        let rows = vec![
            ContactRow {
                opportunity_external_id: Some("O1".into()),
                email: "ada@example.test".into(),
                full_name: Some("Ada King Lovelace".into()),
                ..Default::default()
            },
            ContactRow {
                opportunity_external_id: Some("NOPE".into()),
                email: "b@example.test".into(),
                ..Default::default()
            },
            ContactRow { email: "not an email".into(), ..Default::default() },
        ];
        let out = t.crm.import_contacts(t.actor, &rows).await.expect("contacts");
        assert_eq!(out[0], None);
        assert!(out[1].as_deref().is_some_and(|r| r.contains("NOPE")));
        assert!(out[2].is_some());
        let people = t.crm.all::<Contact>(t.actor, None).await.expect("people");
        assert_eq!(people.len(), 1);
        assert_eq!(
            (people[0].first_name.as_deref(), people[0].last_name.as_deref()),
            (Some("Ada King"), Some("Lovelace"))
        );
        let deal = &t.crm.all::<Deal>(t.actor, None).await.expect("deal")[0];
        assert_eq!(deal.contact_id, Some(people[0].id));
        // The same email again updates the person.
        let again =
            [ContactRow { email: "ADA@example.test".into(), title: Some("Countess".into()), ..Default::default() }];
        t.crm.import_contacts(t.actor, &again).await.expect("again");
        let people = t.crm.all::<Contact>(t.actor, None).await.expect("people");
        assert_eq!((people.len(), people[0].job_title.as_deref()), (1, Some("Countess")));

        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date");
        let targets = [
            TargetRow { rep_email: "rep@example.test".into(), month: day("2030-02-14"), amount_minor: 100 },
            TargetRow { rep_email: "rep@example.test".into(), month: day("2030-02-01"), amount_minor: 250 },
            TargetRow { rep_email: "rep@example.test".into(), month: day("2030-03-01"), amount_minor: -1 },
        ];
        let out = t.crm.import_targets(t.actor, &targets).await.expect("targets");
        assert_eq!(&out[..2], &[None, None]);
        assert!(out[2].is_some());
        let all = t.crm.all::<SalesTarget>(t.actor, None).await.expect("targets");
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].period_start.as_str(), all[0].period_end.as_str(), all[0].amount_minor),
            ("2030-02-01", "2030-02-28", 250)
        );
    }
}
