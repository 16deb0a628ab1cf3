//! Contacts: the rules every dialect shares. A contact names a person (last name) or at
//! least a company; a company named on a contact is found case-insensitively or created;
//! new contacts get the caller as owner and the `lead` status; tags are created on use and
//! replace the whole set; custom-field values are typed by their definitions.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use kith_store::{Filter, Json, ListQuery, Op, Tx, Value};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
pub use crate::lookups::Lookups;
use crate::records::normalize_tags;

use crate::custom_fields::validate_values;
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Address, Channel, Company, Contact, CustomFieldDefinition, LeadSource, Status, Tagging, User};

/// How a contact's company is given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CompanyLink {
    #[default]
    None,
    Id(i64),
    /// Linked to the company with this name (ignoring case), created when there is none.
    Name(String),
}

/// Every writable field of a contact. A partial update starts from `Contact::draft()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactDraft {
    pub salutation: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    /// Stars or unstars the contact for the caller (stars are per user); `None` leaves it.
    pub starred: Option<bool>,
    pub company: CompanyLink,
    /// Defaults to the caller.
    pub owner_id: Option<i64>,
    /// Defaults to the account's `lead` status.
    pub status_id: Option<i64>,
    pub lead_source_id: Option<i64>,
    pub background: Option<String>,
    pub emails: Vec<Channel>,
    pub phones: Vec<Channel>,
    pub urls: Vec<Channel>,
    pub addresses: Vec<Address>,
    pub tags: Vec<String>,
    /// Values by custom-field definition id; the whole set.
    pub custom_fields: BTreeMap<i64, serde_json::Value>,
}

impl Contact {
    /// The contact's writable fields, to change some and save them back.
    pub fn draft(&self) -> ContactDraft {
        ContactDraft {
            salutation: self.salutation.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            job_title: self.job_title.clone(),
            starred: None,
            company: self.company_id.map_or(CompanyLink::None, CompanyLink::Id),
            owner_id: Some(self.owner_id),
            status_id: self.status_id,
            lead_source_id: self.lead_source_id,
            background: self.background.clone(),
            emails: self.emails.0.clone(),
            phones: self.phones.0.clone(),
            urls: self.urls.0.clone(),
            addresses: self.addresses.0.clone(),
            tags: self.tags.0.clone(),
            custom_fields: self
                .custom_fields
                .0
                .iter()
                .filter_map(|(k, v)| k.parse().ok().map(|k| (k, v.clone())))
                .collect(),
        }
    }

    /// "First Last", or the company name for a company-only contact.
    pub fn display_name(&self) -> String {
        let name =
            [self.first_name.as_deref(), self.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        if name.is_empty() { self.company_name.clone().unwrap_or_default() } else { name }
    }
}

/// A full name as first and last name: the last word is the last name (`Ada King Lovelace` is
/// `Ada King` and `Lovelace`); one word is a last name.
pub fn split_full_name(full: &str) -> (Option<String>, Option<String>) {
    let full = full.trim();
    match full.rsplit_once(char::is_whitespace) {
        Some((first, last)) => (Some(first.trim().to_owned()), Some(last.trim().to_owned())),
        None => (None, (!full.is_empty()).then(|| full.to_owned())),
    }
}

impl Crm {
    /// Shared, not copied: a request reads them where a copy cost a few dozen allocations.
    pub async fn contact_lookups(&self, actor: Actor) -> Result<std::sync::Arc<Lookups>> {
        let generation = self.store().generation(crate::cache::LOOKUP_KINDS);
        if let Some(hit) = self.caches.lookups.get(&actor.account_id, generation) {
            return Ok(hit);
        }
        let lookups = Lookups {
            statuses: self.all::<Status>(actor, None).await?.into_iter().map(|s| (s.id, s)).collect(),
            lead_sources: self
                .all::<LeadSource>(actor, Some(crate::sources::kind_filter(crate::sources::LEAD_SOURCES)))
                .await?
                .into_iter()
                .map(|s| (s.id, s))
                .collect(),
            custom_fields: self.custom_fields(actor, "contact").await?,
        };
        let lookups = std::sync::Arc::new(lookups);
        self.caches.lookups.put(actor.account_id, lookups.clone(), generation);
        Ok(lookups)
    }

    pub async fn create_contact(&self, actor: Actor, draft: ContactDraft) -> Result<Contact> {
        self.create_contact_linked(actor, draft, &crate::links::LinkDraft::default()).await
    }

    /// Creates a contact with its categories and campaigns (`links::write_in`).
    pub async fn create_contact_linked(
        &self,
        actor: Actor,
        draft: ContactDraft,
        links: &crate::links::LinkDraft,
    ) -> Result<Contact> {
        let defs = self.custom_fields(actor, "contact").await?;
        let mut tx = self.begin(actor).await?;
        let contact = create_contact_in(&mut tx, actor, &defs, draft).await?;
        crate::links::write_in(&mut tx, Contact::SPEC, contact.id, links, true).await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Replaces the writable fields of a live contact with `draft`.
    pub async fn update_contact(&self, actor: Actor, id: i64, draft: ContactDraft) -> Result<Contact> {
        self.update_contact_linked(actor, id, draft, &crate::links::LinkDraft::default()).await
    }

    /// Replaces a contact's writable fields and, where `links` says so, its categories and
    /// campaigns.
    pub async fn update_contact_linked(
        &self,
        actor: Actor,
        id: i64,
        draft: ContactDraft,
        links: &crate::links::LinkDraft,
    ) -> Result<Contact> {
        let defs = self.custom_fields(actor, "contact").await?;
        let mut tx = self.begin(actor).await?;
        let mut contact = update_contact_in(&mut tx, actor, &defs, id, draft).await?;
        if crate::links::write_in(&mut tx, Contact::SPEC, contact.id, links, false).await? {
            contact = get_in(&mut tx, contact.id).await?;
        }
        tx.commit().await?;
        Ok(contact)
    }

    /// Deletes a contact; its company goes too when it was the company's last contact.
    pub async fn delete_contact(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let contact = get_in::<Contact>(&mut tx, id).await?;
        tx.delete(Contact::SPEC, id).await?;
        drop_company_if_empty(&mut tx, contact.company_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes contacts all or nothing, in one transaction: each as `delete_contact` does (its
    /// company goes with its last contact). `NotFound` when any of them is not a live contact of
    /// the account, and then none is deleted. An id given twice counts once.
    pub async fn delete_contacts(&self, actor: Actor, ids: &[i64]) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        let mut companies: Vec<i64> = Vec::new();
        let mut seen: Vec<i64> = Vec::with_capacity(ids.len());
        for &id in ids {
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            // Dropping `tx` on an error rolls back the deletions made so far.
            let contact = get_in::<Contact>(&mut tx, id).await?;
            tx.delete(Contact::SPEC, id).await?;
            if let Some(company) = contact.company_id
                && !companies.contains(&company)
            {
                companies.push(company);
            }
        }
        for company in companies {
            drop_company_if_empty(&mut tx, Some(company)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a contact and nothing else: its company stays even when it has no contacts left
    /// (dialects where an organisation is a record of its own, e.g. Sell).
    pub async fn delete_contact_only(&self, actor: Actor, id: i64) -> Result<()> {
        self.delete::<Contact>(actor, id).await
    }

    /// Undoes a deletion, bringing back its company if that went with it. `NotFound` when the
    /// contact is not deleted (or not there).
    pub async fn restore_contact(&self, actor: Actor, id: i64) -> Result<Contact> {
        let mut tx = self.begin(actor).await?;
        if !tx.restore(Contact::SPEC, id).await? {
            return Err(DomainError::NotFound { kind: Contact::SPEC.kind });
        }
        let contact = get_in::<Contact>(&mut tx, id).await?;
        if let Some(company) = contact.company_id
            && tx.get(Company::SPEC, company, kith_store::Visibility::Live).await?.is_none()
        {
            tx.restore(Company::SPEC, company).await?;
        }
        tx.commit().await?;
        Ok(contact)
    }

    /// Closes the caller's sales cycle on a contact. With open actions of the caller on the
    /// contact this is a conflict, unless `force`, which deletes those actions first.
    pub async fn close_sales_cycle(
        &self,
        actor: Actor,
        id: i64,
        comment: Option<String>,
        force: bool,
    ) -> Result<Contact> {
        let mut errors = Errors::default();
        errors.max_len("comment", comment.as_deref(), 140);
        errors.finish()?;
        let mut tx = self.begin(actor).await?;
        let mut contact = get_in::<Contact>(&mut tx, id).await?;
        let open = ListQuery::all().filter(Filter::All(vec![
            Filter::eq("contact_id", id),
            Filter::eq("assignee_id", actor.user_id),
            Filter::cmp("status", Op::Ne, "done"),
        ]));
        let actions = tx.list(crate::model::Action::SPEC, &open).await?.rows;
        if !actions.is_empty() && !force {
            return Err(DomainError::Conflict(
                "the contact has actions of yours that are not complete; complete them or force the close".into(),
            ));
        }
        for a in actions {
            tx.delete(crate::model::Action::SPEC, a.id).await?;
        }
        contact.closed_sales.0.retain(|s| s.user_id != actor.user_id);
        contact.closed_sales.0.push(crate::model::ClosedSale {
            user_id: actor.user_id,
            closed_at: Utc::now(),
            comment,
        });
        let contact = save_in(&mut tx, &contact).await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Reopens the caller's closed sales cycle on a contact (nothing to do when it is open).
    pub async fn reopen_sales_cycle(&self, actor: Actor, id: i64) -> Result<Contact> {
        let mut tx = self.begin(actor).await?;
        let mut contact = get_in::<Contact>(&mut tx, id).await?;
        contact.closed_sales.0.retain(|s| s.user_id != actor.user_id);
        let contact = save_in(&mut tx, &contact).await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Contacts carrying a tag (ignoring case), as a list filter.
    pub fn tag_filter(entity_kind: &str, tag: &str) -> Filter {
        Filter::Referenced {
            target: Tagging::SPEC,
            via: "entity_id".into(),
            filter: Box::new(Filter::All(vec![
                Filter::eq("entity_kind", entity_kind),
                Filter::eq("name", tag.trim().to_ascii_lowercase()),
            ])),
        }
    }
}

async fn apply_draft(
    tx: &mut Tx,
    actor: Actor,
    defs: &[CustomFieldDefinition],
    c: &mut Contact,
    d: ContactDraft,
) -> Result<()> {
    let mut errors = Errors::default();
    for (field, value, max) in [
        ("salutation", &d.salutation, 20),
        ("first_name", &d.first_name, 255),
        ("last_name", &d.last_name, 255),
        ("job_title", &d.job_title, 1000),
        ("background", &d.background, 10_240),
    ] {
        errors.max_len(field, value.as_deref().map(str::trim), max);
    }
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    let company_named = match &d.company {
        CompanyLink::None => false,
        CompanyLink::Id(_) => true,
        CompanyLink::Name(n) => !n.trim().is_empty(),
    };
    if blank(&d.last_name) && !company_named {
        errors.add("last_name", "a last name or a company name is required");
    }
    if let CompanyLink::Name(n) = &d.company {
        errors.max_len("company_name", Some(n.trim()), crate::companies::COMPANY_NAME_MAX);
    }
    for (field, list) in [("emails", &d.emails), ("phones", &d.phones), ("urls", &d.urls)] {
        if list.len() > 50 {
            errors.add(field, "at most 50 entries");
        }
        for (i, ch) in list.iter().enumerate() {
            if ch.value.trim().is_empty() {
                errors.add(format!("{field}[{i}].value"), "is required");
            }
            errors.max_len(&format!("{field}[{i}].value"), Some(ch.value.trim()), 1000);
        }
    }
    for (i, e) in d.emails.iter().enumerate() {
        if !e.value.trim().is_empty() {
            crate::auth::validate_email(&mut errors, &format!("emails[{i}].value"), &e.value);
        }
    }
    let tags = normalize_tags(&mut errors, &d.tags);
    let mut values = d.custom_fields;
    crate::custom_fields::drop_deleted(defs, &c.custom_fields.0, &mut values);
    let custom = match validate_values(defs, "contact", &values) {
        Ok(v) => Some(v),
        Err(DomainError::Invalid(list)) => {
            for e in list {
                errors.add(e.field, e.message);
            }
            None
        }
        Err(e) => return Err(e),
    };
    errors.finish()?;

    let owner_id = d.owner_id.unwrap_or(actor.user_id);
    if get_in::<User>(tx, owner_id).await.is_err() {
        return Err(DomainError::invalid("owner_id", "no such user"));
    }
    let status_id = match d.status_id {
        Some(id) => {
            get_in::<Status>(tx, id).await.map_err(|_| DomainError::invalid("status_id", "no such status"))?;
            Some(id)
        }
        None => find_by_key::<Status>(tx, "lead").await?.map(|s| s.id),
    };
    if let Some(id) = d.lead_source_id {
        // A contact's source is a lead source, never a deal's.
        match get_in::<LeadSource>(tx, id).await {
            Ok(s) if s.kind() == crate::sources::LEAD_SOURCES => {}
            _ => return Err(DomainError::invalid("lead_source_id", "no such lead source")),
        }
    }
    let company = match d.company {
        CompanyLink::None => None,
        CompanyLink::Id(id) => {
            Some(get_in::<Company>(tx, id).await.map_err(|_| DomainError::invalid("company_id", "no such company"))?)
        }
        CompanyLink::Name(name) if name.trim().is_empty() => None,
        CompanyLink::Name(name) => Some(company_named_or_new(tx, name.trim()).await?),
    };

    c.salutation = d.salutation;
    c.first_name = d.first_name;
    c.last_name = d.last_name;
    c.job_title = d.job_title;
    if let Some(star) = d.starred {
        c.starred_by.0.retain(|u| *u != actor.user_id);
        if star {
            c.starred_by.0.push(actor.user_id);
        }
    }
    c.company_id = company.as_ref().map(|co| co.id);
    c.company_name = company.map(|co| co.name);
    c.owner_id = owner_id;
    c.status_id = status_id;
    c.lead_source_id = d.lead_source_id;
    c.background = d.background;
    c.emails = Json(trim_channels(d.emails));
    c.phones = Json(trim_channels(d.phones));
    c.urls = Json(trim_channels(d.urls));
    c.addresses = Json(d.addresses);
    c.tags = Json(tags);
    c.custom_fields = Json(custom.unwrap_or_default());
    c.refresh_search_columns();
    Ok(())
}

fn trim_channels(list: Vec<Channel>) -> Vec<Channel> {
    list.into_iter().map(|c| Channel { kind: c.kind.trim().to_owned(), value: c.value.trim().to_owned() }).collect()
}

/// A record of a keyed reference list (statuses, lead sources) by its key.
/// Separates values in the `*_text` columns: a control character, so trimming keeps it and no
/// address or URL contains it.
const SEP: char = '\u{1f}';

/// Channel values lower-cased between separators, for "any of them" filters.
fn lines(list: &[Channel]) -> Option<String> {
    (!list.is_empty()).then(|| {
        let values: Vec<String> = list.iter().map(|c| c.value.trim().to_lowercase()).collect();
        format!("{SEP}{}{SEP}", values.join(&SEP.to_string()))
    })
}

impl Contact {
    /// Recomputes the columns kept for filtering and search from the contact's own lists: the
    /// first email and phone, every address and URL lower-cased, and who starred it. Whatever
    /// writes a contact's lists calls this before saving (bulk loads too).
    pub fn refresh_search_columns(&mut self) {
        self.email = self.emails.0.first().map(|e| e.value.trim().to_owned());
        self.phone = self.phones.0.first().map(|p| p.value.trim().to_owned());
        self.emails_text = lines(&self.emails.0);
        self.urls_text = lines(&self.urls.0);
        self.starred = !self.starred_by.0.is_empty();
        self.starred_by_text = self.starred.then(|| {
            let ids: Vec<String> = self.starred_by.0.iter().map(i64::to_string).collect();
            format!("{SEP}{}{SEP}", ids.join(&SEP.to_string()))
        });
    }

    /// Whether `user` starred the contact.
    pub fn starred_by(&self, user: i64) -> bool {
        self.starred_by.0.contains(&user)
    }
}

/// A filter matching contacts `user` starred (or, with `starred == false`, did not).
pub fn starred_filter(user: i64, starred: bool) -> Filter {
    let f = Filter::cmp("starred_by_text", Op::Contains, format!("{SEP}{user}{SEP}"));
    if starred {
        f
    } else {
        Filter::Any(vec![Filter::IsNull(kith_store::Field::col("starred_by_text")), Filter::Not(Box::new(f))])
    }
}

/// A new contact from a draft, inside a transaction (the contact rules of `Crm::create_contact`).
pub(crate) async fn create_contact_in(
    tx: &mut Tx,
    actor: Actor,
    defs: &[CustomFieldDefinition],
    draft: ContactDraft,
) -> Result<Contact> {
    let t = Utc::now();
    let mut contact = Contact {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        salutation: None,
        first_name: None,
        last_name: None,
        job_title: None,
        starred: false,
        company_id: None,
        company_name: None,
        owner_id: actor.user_id,
        status_id: None,
        lead_source_id: None,
        background: None,
        emails: Json(Vec::new()),
        phones: Json(Vec::new()),
        urls: Json(Vec::new()),
        addresses: Json(Vec::new()),
        email: None,
        phone: None,
        tags: Json(Vec::new()),
        custom_fields: Json(BTreeMap::new()),
        closed_sales: Json(Vec::new()),
        photo_url: None,
        emails_text: None,
        urls_text: None,
        starred_by: Json(Vec::new()),
        starred_by_text: None,
    };
    apply_draft(tx, actor, defs, &mut contact, draft).await?;
    insert_in(tx, contact).await
}

/// A contact's writable fields replaced by `draft`, inside a transaction.
pub(crate) async fn update_contact_in(
    tx: &mut Tx,
    actor: Actor,
    defs: &[CustomFieldDefinition],
    id: i64,
    draft: ContactDraft,
) -> Result<Contact> {
    let mut contact = get_in::<Contact>(tx, id).await?;
    let old_company = contact.company_id;
    let old_owner = contact.owner_id;
    apply_draft(tx, actor, defs, &mut contact, draft).await?;
    if contact.owner_id != old_owner {
        let text = contact.display_name();
        crate::notifications::notify_in(tx, contact.owner_id, "contact_assigned", &text, Some(id)).await?;
    }
    contact.normalize();
    let contact = save_in(tx, &contact).await?;
    if old_company != contact.company_id {
        drop_company_if_empty(tx, old_company).await?;
    }
    Ok(contact)
}

/// A filter matching contacts with `email` among their addresses, whole, ignoring case.
pub fn any_email_filter(email: &str) -> Filter {
    Filter::cmp("emails_text", Op::Contains, format!("{SEP}{}{SEP}", email.trim().to_lowercase()))
}

/// A filter matching contacts with `text` inside one of their web addresses, ignoring case.
pub fn any_url_filter(text: &str) -> Filter {
    Filter::cmp("urls_text", Op::Contains, text.trim().to_lowercase())
}

/// A filter matching contacts that have an action matching `actions`.
pub fn with_action(actions: Filter) -> Filter {
    Filter::Referenced { target: crate::model::Action::SPEC, via: "contact_id".into(), filter: Box::new(actions) }
}

/// A filter matching contacts that are on a deal (as its main contact) matching `deals`.
pub fn with_deal(deals: Filter) -> Filter {
    Filter::Referenced { target: crate::model::Deal::SPEC, via: "contact_id".into(), filter: Box::new(deals) }
}

/// A company exists only with at least one contact: deletes it when its last one has gone.
async fn drop_company_if_empty(tx: &mut Tx, company: Option<i64>) -> Result<()> {
    let Some(company) = company else { return Ok(()) };
    let q = ListQuery::new(kith_store::Page::Offset { offset: 0, limit: 1 }).filter(Filter::eq("company_id", company));
    if tx.list(Contact::SPEC, &q).await?.rows.is_empty() {
        tx.delete(Company::SPEC, company).await?;
    }
    Ok(())
}

pub(crate) async fn find_by_key<E: Entity>(tx: &mut Tx, key: &str) -> Result<Option<E>> {
    let q = ListQuery::all().filter(Filter::eq("key", key));
    tx.list(E::SPEC, &q).await?.rows.into_iter().next().map(E::from_row).transpose()
}

/// The live record whose `column` equals `value` ignoring ASCII case.
pub(crate) async fn find_ci<E: Entity>(tx: &mut Tx, column: &str, value: &str) -> Result<Option<E>> {
    let q = ListQuery::all().filter(Filter::cmp(column, Op::Prefix, value)).sort(kith_store::Sort::asc("id"));
    let page = tx.list(E::SPEC, &q).await?;
    let pos = E::SPEC.position(column).unwrap_or(0);
    for row in page.rows {
        if row.values[pos].as_text().is_some_and(|v| v.eq_ignore_ascii_case(value)) {
            return E::from_row(row).map(Some);
        }
    }
    Ok(None)
}

async fn company_named_or_new(tx: &mut Tx, name: &str) -> Result<Company> {
    if let Some(company) = find_ci::<Company>(tx, "name", name).await? {
        return Ok(company);
    }
    insert_in(tx, Company::named(name, None)).await
}

/// Deal figures shown beside a contact.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DealStats {
    pub total: u64,
    pub pending: u64,
    /// Sum of pending deal values in major units.
    pub pending_value: f64,
}

/// Counts a deal into its contact's figures.
fn add_deal(out: &mut HashMap<i64, DealStats>, deal: &crate::model::Deal) {
    let Some(cid) = deal.contact_id else { return };
    let s = out.entry(cid).or_default();
    s.total += 1;
    if deal.status == "pending" {
        s.pending += 1;
        s.pending_value += crate::money::to_major(deal.value_minor.unwrap_or(0), &deal.currency);
    }
}

impl Crm {
    /// Deal figures for a page of contacts, in one query.
    pub async fn deal_stats(&self, actor: Actor, contact_ids: &[i64]) -> Result<HashMap<i64, DealStats>> {
        let mut out: HashMap<i64, DealStats> = HashMap::new();
        if contact_ids.is_empty() {
            return Ok(out);
        }
        let q = ListQuery::all().filter(Filter::In {
            field: kith_store::Field::col("contact_id"),
            values: contact_ids.iter().map(|i| Value::Int(*i)).collect(),
        });
        for deal in self.list::<crate::model::Deal>(actor, &q).await?.rows {
            add_deal(&mut out, &deal);
        }
        Ok(out)
    }

    /// `deal_stats` and `company_sizes` together, read in one store call.
    pub async fn contact_figures(
        &self,
        actor: Actor,
        contact_ids: &[i64],
        company_ids: &[i64],
    ) -> Result<(HashMap<i64, DealStats>, HashMap<i64, u64>)> {
        if contact_ids.is_empty() || company_ids.is_empty() {
            return Ok((self.deal_stats(actor, contact_ids).await?, self.company_sizes(actor, company_ids).await?));
        }
        let mut ids: Vec<i64> = company_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let companies = Filter::In {
            field: kith_store::Field::col("company_id"),
            values: ids.iter().map(|i| Value::Int(*i)).collect(),
        };
        let deals = ListQuery::all().filter(Filter::In {
            field: kith_store::Field::col("contact_id"),
            values: contact_ids.iter().map(|i| Value::Int(*i)).collect(),
        });
        let (page, counted) = self
            .store()
            .list_and_count_by(
                actor.account_id,
                (crate::model::Deal::SPEC, &deals),
                (Contact::SPEC, "company_id", &companies),
            )
            .await?;
        let mut stats: HashMap<i64, DealStats> = HashMap::new();
        for row in page.rows {
            add_deal(&mut stats, &crate::model::Deal::from_row(row)?);
        }
        let sizes = ids.into_iter().map(|id| (id, counted.get(&id).copied().unwrap_or(0))).collect();
        Ok((stats, sizes))
    }

    /// Number of live contacts of each company.
    pub async fn company_sizes(&self, actor: Actor, company_ids: &[i64]) -> Result<HashMap<i64, u64>> {
        if company_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut ids: Vec<i64> = company_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let filter = Filter::In {
            field: kith_store::Field::col("company_id"),
            values: ids.iter().map(|i| Value::Int(*i)).collect(),
        };
        let counted = self.store().count_by(actor.account_id, Contact::SPEC, "company_id", &filter).await?;
        Ok(ids.into_iter().map(|id| (id, counted.get(&id).copied().unwrap_or(0))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::crm;

    async fn person(t: &crate::testing::TestCrm, last: &str, company: &str) -> Contact {
        let d = ContactDraft {
            last_name: Some(last.into()),
            company: CompanyLink::Name(company.into()),
            ..Default::default()
        };
        t.crm.create_contact(t.actor, d).await.expect("contact")
    }

    #[tokio::test]
    async fn a_bulk_delete_that_fails_part_way_deletes_none() {
        let t = crm().await;
        let ada = person(&t, "Lovelace", "Engines").await;
        let grace = person(&t, "Hopper", "Navy").await;
        let navy = grace.company_id.expect("company");
        // The unknown id comes after a contact that is already deleted inside the transaction.
        let r = t.crm.delete_contacts(t.actor, &[ada.id, i64::MAX, grace.id]).await;
        assert!(matches!(r, Err(DomainError::NotFound { kind: "contact" })), "{r:?}");
        for id in [ada.id, grace.id] {
            assert!(t.crm.find::<Contact>(t.actor, id).await.expect("find").is_some(), "{id} was deleted");
        }
        assert!(t.crm.find::<Company>(t.actor, navy).await.expect("find").is_some());

        // Another account's contact is unknown too.
        let rival = t.crm.create_account("Rival", "owner@rival.test").await.expect("account");
        let rival = Actor { account_id: rival.account_id, user_id: rival.user_id };
        assert!(t.crm.delete_contacts(rival, &[ada.id]).await.is_err());
        assert!(t.crm.find::<Contact>(t.actor, ada.id).await.expect("find").is_some());
    }

    #[tokio::test]
    async fn a_bulk_delete_deletes_each_as_one_delete_does() {
        let t = crm().await;
        let ada = person(&t, "Lovelace", "Engines").await;
        let charles = person(&t, "Babbage", "Engines").await;
        let grace = person(&t, "Hopper", "Navy").await;
        let engines = ada.company_id.expect("company");
        let navy = grace.company_id.expect("company");
        t.crm.delete_contacts(t.actor, &[ada.id, grace.id, ada.id]).await.expect("delete");
        for id in [ada.id, grace.id] {
            assert!(t.crm.find::<Contact>(t.actor, id).await.expect("find").is_none());
        }
        assert!(t.crm.find::<Company>(t.actor, navy).await.expect("find").is_none(), "gone with its last contact");
        assert!(t.crm.find::<Company>(t.actor, engines).await.expect("find").is_some(), "Babbage is still there");
        t.crm.delete_contacts(t.actor, &[charles.id]).await.expect("delete");
        assert!(t.crm.find::<Company>(t.actor, engines).await.expect("find").is_none());
        // And one of them comes back with its company, as after a single delete.
        t.crm.restore_contact(t.actor, grace.id).await.expect("undo");
        assert!(t.crm.find::<Company>(t.actor, navy).await.expect("find").is_some());
    }

    #[tokio::test]
    async fn a_value_of_a_deleted_field_does_not_stop_an_update() {
        let t = crm().await;
        let field = crate::custom_fields::NewCustomField {
            entity_kind: "contact".into(),
            name: "Tier".into(),
            kind: crate::custom_fields::FieldKind::Text,
            choices: Vec::new(),
            position: None,
        };
        let def = t.crm.create_custom_field(t.actor, field).await.expect("field");
        let d = ContactDraft {
            last_name: Some("Lovelace".into()),
            custom_fields: [(def.id, serde_json::json!("gold"))].into_iter().collect(),
            ..Default::default()
        };
        let ada = t.crm.create_contact(t.actor, d).await.expect("contact");
        t.crm.delete::<CustomFieldDefinition>(t.actor, def.id).await.expect("delete field");
        let d = ContactDraft { job_title: Some("Countess".into()), ..ada.draft() };
        let ada = t.crm.update_contact(t.actor, ada.id, d).await.expect("update");
        assert!(ada.custom_fields.0.is_empty());
    }
}

#[cfg(test)]
mod split_name_tests {
    use super::split_full_name;

    #[test]
    fn the_last_word_is_the_last_name() {
        assert_eq!(split_full_name(" Test Contact "), (Some("Test".into()), Some("Contact".into())));
        assert_eq!(split_full_name("Ada King Lovelace"), (Some("Ada King".into()), Some("Lovelace".into())));
        assert_eq!(split_full_name("Cher"), (None, Some("Cher".into())));
        assert_eq!(split_full_name("  "), (None, None));
    }
}
