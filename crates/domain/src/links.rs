//! Links from records to the values they are labelled or grouped with: a company's or a
//! person's categories (values of the account's category lists), the campaigns a company,
//! person, task, meeting or deal belongs to, the type of a task or a meeting (values of the
//! activity and appointment type lists) and a user's role (a value of the role list).
//!
//! Each link is a `Link` row, kept in step with the record in the transaction that writes it,
//! so lists filter by them in the database (`linked`) and counts per campaign are counts of
//! rows. A link never points at a deleted value: deleting a category, a role or a campaign
//! removes its links in the same transaction, a type in use cannot be deleted (it is merged
//! into another, which moves its links), and a link to a value of another account or another
//! list is refused.

use chrono::Utc;
use kith_store::{EntitySpec, Field, Filter, ListQuery, Tx, Value, Visibility};

use crate::campaigns::Campaign;
use crate::choices::{ACTIVITY_TYPES, APPOINTMENT_TYPES, COMPANY_CATEGORIES, CONTACT_CATEGORIES, ROLES};
use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Action, Choice, Company, Contact, Deal, Meeting, User};

/// What a link is to: a category, a campaign, a type or a role.
pub const CATEGORY: &str = "category";
pub const CAMPAIGN: &str = "campaign";
pub const TYPE: &str = "type";
pub const ROLE: &str = "role";

/// A record has at most this many links of one kind.
pub const LINKS_MAX: usize = 200;

crate::entity! {
    /// One link of a record (`record_id`, of `record_kind`) to a value (`target_id`): a `Choice`
    /// for categories, types and roles, a `Campaign` for campaigns. `position` keeps the order
    /// a client gave.
    Link, table = "links", kind = "link", soft_delete = false, since = 7,
    indexes = [&["record_id"], &["link", "target_id"]], unique = [&["record_id", "link", "target_id"]],
    {
        record_id: i64,
        record_kind: String,
        link: String,
        target_id: i64,
        position: i64,
    }
}

/// What a write says about a record's links; `None` keeps each kind as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkDraft {
    /// The whole set of categories (companies and persons).
    pub categories: Option<Vec<i64>>,
    /// The whole set of campaigns.
    pub campaigns: Option<Vec<i64>>,
    /// The type (tasks and meetings); `Some(None)` clears it.
    pub kind: Option<Option<i64>>,
}

impl LinkDraft {
    pub fn is_empty(&self) -> bool {
        self.categories.is_none() && self.campaigns.is_none() && self.kind.is_none()
    }
}

/// The list a record kind's categories come from.
pub fn category_list(record_kind: &str) -> Option<&'static str> {
    match record_kind {
        "company" => Some(COMPANY_CATEGORIES),
        "contact" => Some(CONTACT_CATEGORIES),
        _ => None,
    }
}

/// The list a record kind's type comes from.
pub fn type_list(record_kind: &str) -> Option<&'static str> {
    match record_kind {
        "action" => Some(ACTIVITY_TYPES),
        "meeting" => Some(APPOINTMENT_TYPES),
        _ => None,
    }
}

/// Whether records of a kind belong to campaigns.
fn has_campaigns(record_kind: &str) -> bool {
    [Company::SPEC.kind, Contact::SPEC.kind, Action::SPEC.kind, Meeting::SPEC.kind, Deal::SPEC.kind]
        .contains(&record_kind)
}

/// Whether records of a kind belong to one campaign at most (tasks, meetings and deals).
fn one_campaign(record_kind: &str) -> bool {
    [Action::SPEC.kind, Meeting::SPEC.kind, Deal::SPEC.kind].contains(&record_kind)
}

/// The link kind that points into a list of choices, if any.
fn link_of_list(list: &str) -> Option<&'static str> {
    match list {
        COMPANY_CATEGORIES | CONTACT_CATEGORIES => Some(CATEGORY),
        ACTIVITY_TYPES | APPOINTMENT_TYPES => Some(TYPE),
        ROLES => Some(ROLE),
        _ => None,
    }
}

/// Records linked to any of `targets` by `link` (`categories.id=5,6`): a filter of the records'
/// list, run in the database. With no targets, records with any link of that kind.
pub fn linked(link: &str, targets: Vec<i64>) -> Filter {
    let mut of = vec![Filter::eq("link", link)];
    if !targets.is_empty() {
        of.push(Filter::In { field: Field::col("target_id"), values: targets.into_iter().map(Value::Int).collect() });
    }
    Filter::Referenced { target: Link::SPEC, via: "record_id".into(), filter: Box::new(Filter::All(of)) }
}

/// The ids of `ids` without repeats, in order.
fn dedup(ids: &[i64]) -> Vec<i64> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    out
}

/// Checks that each id is a value of `list` (or a campaign, when `list` is `None`) of the account.
async fn check_targets(tx: &mut Tx, e: &mut Errors, field: &str, list: Option<&str>, ids: &[i64]) -> Result<()> {
    if ids.len() > LINKS_MAX {
        e.add(field, format!("must have at most {LINKS_MAX} values"));
        return Ok(());
    }
    for (i, id) in ids.iter().enumerate() {
        let ok = match list {
            Some(list) => match tx.get(Choice::SPEC, *id, Visibility::Live).await? {
                Some(row) => Choice::from_row(row)?.list == list,
                None => false,
            },
            None => tx.get(Campaign::SPEC, *id, Visibility::Live).await?.is_some(),
        };
        if !ok {
            let what = match list {
                None => "a campaign",
                Some(COMPANY_CATEGORIES) | Some(CONTACT_CATEGORIES) => "a category",
                Some(ROLES) => "a role",
                Some(_) => "a type",
            };
            e.add(format!("{field}[{i}]"), format!("{id} is not {what} of this account"));
        }
    }
    Ok(())
}

/// A record's links of one kind, in order.
async fn links_in(tx: &mut Tx, record_id: i64, link: &str) -> Result<Vec<Link>> {
    let q = ListQuery::all()
        .filter(Filter::All(vec![Filter::eq("record_id", record_id), Filter::eq("link", link)]))
        .sort(kith_store::Sort::asc("position"));
    tx.list(Link::SPEC, &q).await?.rows.into_iter().map(Link::from_row).collect()
}

/// Makes a record's links of one kind exactly `targets`, in that order; whether they changed.
async fn replace_in(tx: &mut Tx, record_kind: &str, record_id: i64, link: &str, targets: &[i64]) -> Result<bool> {
    let existing = links_in(tx, record_id, link).await?;
    if existing.iter().map(|l| l.target_id).eq(targets.iter().copied()) {
        return Ok(false);
    }
    for l in &existing {
        tx.delete(Link::SPEC, l.id).await?;
    }
    let t = Utc::now();
    for (i, target) in targets.iter().enumerate() {
        let link = Link {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            record_id,
            record_kind: record_kind.to_owned(),
            link: link.to_owned(),
            target_id: *target,
            position: i as i64,
        };
        insert_in(tx, link).await?;
    }
    Ok(true)
}

/// Checks a draft against the record's kind and the account's values, then writes it: the
/// one place links are written, inside the transaction that writes the record. A record whose
/// links change is marked changed (its `updated_at`, an update event) unless it is `fresh`
/// (created in this transaction); returns whether it was.
pub(crate) async fn write_in(
    tx: &mut Tx,
    spec: &'static EntitySpec,
    record_id: i64,
    d: &LinkDraft,
    fresh: bool,
) -> Result<bool> {
    if d.is_empty() {
        return Ok(false);
    }
    let record_kind = spec.kind;
    let mut e = Errors::default();
    let categories = d.categories.as_deref().map(dedup);
    let campaigns = d.campaigns.as_deref().map(dedup);
    if let Some(ids) = &categories {
        match category_list(record_kind) {
            Some(list) => check_targets(tx, &mut e, "categories", Some(list), ids).await?,
            None => e.add("categories", "cannot be set on this record"),
        }
    }
    if let Some(ids) = &campaigns {
        if one_campaign(record_kind) && ids.len() > 1 {
            e.add("campaigns", "must be at most one campaign");
        } else if has_campaigns(record_kind) {
            check_targets(tx, &mut e, "campaigns", None, ids).await?;
        } else {
            e.add("campaigns", "cannot be set on this record");
        }
    }
    if let Some(kind) = d.kind {
        match type_list(record_kind) {
            Some(list) => check_targets(tx, &mut e, "type", Some(list), kind.as_slice()).await?,
            None => e.add("type", "cannot be set on this record"),
        }
    }
    e.finish()?;
    let mut changed = Vec::new();
    if let Some(ids) = &categories
        && replace_in(tx, record_kind, record_id, CATEGORY, ids).await?
    {
        changed.push("categories");
    }
    if let Some(ids) = &campaigns
        && replace_in(tx, record_kind, record_id, CAMPAIGN, ids).await?
    {
        changed.push("campaigns");
    }
    if let Some(kind) = d.kind
        && replace_in(tx, record_kind, record_id, TYPE, kind.as_slice()).await?
    {
        changed.push("type");
    }
    if fresh || changed.is_empty() {
        return Ok(false);
    }
    tx.touch_row(spec, record_id, &changed).await?;
    Ok(true)
}

/// Every link to a value, of one kind.
async fn links_to(tx: &mut Tx, link: &str, target_id: i64) -> Result<Vec<Link>> {
    let q = ListQuery::all().filter(Filter::All(vec![Filter::eq("link", link), Filter::eq("target_id", target_id)]));
    tx.list(Link::SPEC, &q).await?.rows.into_iter().map(Link::from_row).collect()
}

/// Removes every link to a value about to be deleted.
pub(crate) async fn unlink_in(tx: &mut Tx, link: &str, target_id: i64) -> Result<()> {
    for l in links_to(tx, link, target_id).await? {
        tx.delete(Link::SPEC, l.id).await?;
    }
    Ok(())
}

/// What deleting a value of a list does to the records linked to it, inside the deleting
/// transaction: categories and roles are taken off them; a type in use is kept (refused), as
/// Upsales has it merged into another instead.
pub(crate) async fn before_choice_deleted(tx: &mut Tx, list: &str, id: i64) -> Result<()> {
    match link_of_list(list) {
        Some(TYPE) => {
            if !links_to(tx, TYPE, id).await?.is_empty() {
                return Err(DomainError::invalid(
                    "id",
                    "the type is in use: merge it into another type to move its records and delete it",
                ));
            }
            Ok(())
        }
        Some(link) => unlink_in(tx, link, id).await,
        None => Ok(()),
    }
}

/// Where a kind's count goes in a campaign's stats.
type StatSlot = fn(&mut CampaignStats) -> &mut u64;

/// How many live records are in a campaign, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CampaignStats {
    pub companies: u64,
    pub contacts: u64,
    pub activities: u64,
    pub appointments: u64,
    /// Won deals (probability 100).
    pub orders: u64,
    /// Open opportunities (probability 1 to 99).
    pub opportunities: u64,
}

impl Crm {
    /// The links of records, of every kind, in each record's order (one query).
    pub async fn links_of(&self, actor: Actor, record_ids: &[i64]) -> Result<Vec<Link>> {
        let mut ids = record_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let f = Filter::In { field: Field::col("record_id"), values: ids.into_iter().map(Value::Int).collect() };
        let q = ListQuery::all().filter(f).sort(kith_store::Sort::asc("position"));
        Ok(self.list::<Link>(actor, &q).await?.rows)
    }

    /// Sets a user's role (a value of the role list), or takes it away (`None`).
    pub async fn set_user_role(&self, actor: Actor, user_id: i64, role_id: Option<i64>) -> Result<User> {
        let mut tx = self.begin(actor).await?;
        let user: User = get_in(&mut tx, user_id).await?;
        let mut e = Errors::default();
        check_targets(&mut tx, &mut e, "role", Some(ROLES), role_id.as_slice()).await?;
        e.finish()?;
        if replace_in(&mut tx, User::SPEC.kind, user_id, ROLE, role_id.as_slice()).await? {
            tx.touch_row(User::SPEC, user_id, &["role"]).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Counts of the live records in a campaign, counted in the database.
    pub async fn campaign_stats(&self, actor: Actor, campaign_id: i64) -> Result<CampaignStats> {
        Ok(self.campaigns_stats(actor, &[campaign_id]).await?.remove(&campaign_id).unwrap_or_default())
    }

    /// Counts of the live records in each of some campaigns: one grouped count per kind of
    /// record, in the database, however many campaigns there are.
    pub async fn campaigns_stats(
        &self,
        actor: Actor,
        campaign_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, CampaignStats>> {
        let mut out: std::collections::HashMap<i64, CampaignStats> =
            campaign_ids.iter().map(|id| (*id, CampaignStats::default())).collect();
        if campaign_ids.is_empty() {
            return Ok(out);
        }
        let won = Filter::eq("probability", 100i64);
        let open = Filter::All(vec![
            Filter::cmp("probability", kith_store::Op::Gte, 1i64),
            Filter::cmp("probability", kith_store::Op::Lte, 99i64),
        ]);
        let kinds: [(&'static EntitySpec, Filter, StatSlot); 6] = [
            (Company::SPEC, Filter::All(Vec::new()), |s| &mut s.companies),
            (Contact::SPEC, Filter::All(Vec::new()), |s| &mut s.contacts),
            (Action::SPEC, Filter::All(Vec::new()), |s| &mut s.activities),
            (Meeting::SPEC, Filter::All(Vec::new()), |s| &mut s.appointments),
            (Deal::SPEC, won, |s| &mut s.orders),
            (Deal::SPEC, open, |s| &mut s.opportunities),
        ];
        let ids: Vec<Value> = campaign_ids.iter().map(|id| Value::Int(*id)).collect();
        for (spec, records, slot) in kinds {
            // Links to the campaigns from live records of the kind (matching `records`).
            let f = Filter::All(vec![
                Filter::eq("link", CAMPAIGN),
                Filter::In { field: Field::col("target_id"), values: ids.clone() },
                Filter::Related { via: "record_id".into(), target: spec, filter: Box::new(records) },
            ]);
            for (campaign, n) in self.store().count_by(actor.account_id, Link::SPEC, "target_id", &f).await? {
                if let Some(stats) = out.get_mut(&campaign) {
                    *slot(stats) = n;
                }
            }
        }
        Ok(out)
    }

    /// Deletes a campaign and takes every record out of it, in one transaction.
    pub async fn delete_campaign(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        get_in::<Campaign>(&mut tx, id).await?;
        unlink_in(&mut tx, CAMPAIGN, id).await?;
        tx.delete(Campaign::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Merges one value of a type list into another, in one transaction: every record of the
    /// type `from` takes the type `into`, and `from` is deleted. Returns `into`.
    pub async fn merge_choice(&self, actor: Actor, list: &str, from: i64, into: i64) -> Result<Choice> {
        if link_of_list(list) != Some(TYPE) {
            return Err(DomainError::invalid("list", "only types are merged"));
        }
        let mut tx = self.begin(actor).await?;
        let source: Choice = get_in(&mut tx, from).await?;
        let target: Choice = get_in(&mut tx, into).await?;
        if source.list != list || target.list != list {
            return Err(DomainError::NotFound { kind: "choice" });
        }
        if from == into {
            return Err(DomainError::invalid("id", "a type cannot be merged with itself"));
        }
        for mut l in links_to(&mut tx, TYPE, from).await? {
            l.target_id = into;
            save_in(&mut tx, &l).await?;
        }
        tx.delete(Choice::SPEC, from).await?;
        tx.commit().await?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::companies::CompanyDraft;

    async fn count(t: &crate::testing::TestCrm, f: Filter) -> u64 {
        t.crm.store().count(t.actor.account_id, Company::SPEC, &ListQuery::all().filter(f)).await.expect("count")
    }

    #[tokio::test]
    async fn links_are_checked_filtered_and_go_with_their_value() {
        let t = crate::testing::crm().await;
        let vip = t.crm.create_choice(t.actor, COMPANY_CATEGORIES, "VIP").await.expect("category");
        let buyer = t.crm.create_choice(t.actor, CONTACT_CATEGORIES, "Buyer").await.expect("category");
        let draft = CompanyDraft { name: "Acme".into(), ..Default::default() };
        let links = LinkDraft { categories: Some(vec![vip.id, vip.id]), ..Default::default() };
        let acme = t.crm.create_company_linked(t.actor, draft.clone(), &links).await.expect("company");
        let got = t.crm.links_of(t.actor, &[acme.id]).await.expect("links");
        assert_eq!(got.iter().map(|l| (l.link.as_str(), l.target_id)).collect::<Vec<_>>(), vec![(CATEGORY, vip.id)]);
        assert_eq!(count(&t, linked(CATEGORY, vec![vip.id])).await, 1);

        // Changing only the links changes the company (its update time moves on); the same
        // links again change nothing.
        let other = t.crm.create_choice(t.actor, COMPANY_CATEGORIES, "Partner").await.expect("category");
        std::thread::sleep(std::time::Duration::from_millis(5));
        let links = LinkDraft { categories: Some(vec![other.id, vip.id]), ..Default::default() };
        let changed = t.crm.update_company_linked(t.actor, acme.id, acme.draft(), &links).await.expect("update");
        assert!(changed.updated_at > acme.updated_at);
        let again = t.crm.update_company_linked(t.actor, acme.id, acme.draft(), &links).await.expect("update");
        assert_eq!(again.updated_at, changed.updated_at);
        let links = LinkDraft { categories: Some(vec![vip.id]), ..Default::default() };
        t.crm.update_company_linked(t.actor, acme.id, acme.draft(), &links).await.expect("update");

        // A value of another list, or no value at all, is refused and nothing is written.
        for bad in [buyer.id, 999_999] {
            let links = LinkDraft { categories: Some(vec![bad]), ..Default::default() };
            let r = t.crm.update_company_linked(t.actor, acme.id, draft.clone(), &links).await;
            assert_eq!(crate::testing::invalid_fields(r)[0].0, "categories[0]");
        }
        let links = LinkDraft { kind: Some(Some(vip.id)), ..Default::default() };
        assert!(t.crm.create_company_linked(t.actor, draft.clone(), &links).await.is_err());
        assert_eq!(count(&t, linked(CATEGORY, vec![vip.id])).await, 1);

        // Deleting the category takes it off the company in the same transaction.
        t.crm.delete_choice(t.actor, COMPANY_CATEGORIES, vip.id).await.expect("delete");
        assert!(t.crm.links_of(t.actor, &[acme.id]).await.expect("links").is_empty());
    }
}
