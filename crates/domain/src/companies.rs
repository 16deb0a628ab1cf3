//! Companies: created from a contact's company name or as records of their own (Sell's
//! organisations), gone with their last contact (see `contacts`), renamed together with their
//! contacts, and optionally keeping every contact on one status ("synced status").

use std::collections::BTreeMap;

use kith_store::{Filter, ListPage, ListQuery, Page, Sort, Tx, Visibility};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::links::LinkDraft;
use crate::model::{Address, Company, Contact, CustomFieldDefinition, Status, User};

/// The longest company name, for every dialect. OnePage documents 55 characters (its OpenAPI
/// document gives `maxLength: 55` for a company's `name` and for a contact's `company_name`);
/// Sell documents none. A name one dialect accepts must fit every other, or a company named over
/// Sell could not be shown, nor a contact read and written back, over OnePage.
pub const COMPANY_NAME_MAX: usize = 55;
pub const COMPANY_DESCRIPTION_MAX: usize = 10_240;
pub const COMPANY_URL_MAX: usize = 2048;
pub const COMPANY_PHONE_MAX: usize = 100;
pub const COMPANY_EMAIL_MAX: usize = 255;
pub const COMPANY_INDUSTRY_MAX: usize = 255;

/// What a client may change on a company. A partial update starts from `Company::draft()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyDraft {
    pub name: String,
    pub description: Option<String>,
    pub industry: Option<String>,
    pub url: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
    /// The owning user (`None`: nobody).
    pub owner_id: Option<i64>,
    /// The whole tag set.
    pub tags: Vec<String>,
    /// Company-field values to set (by definition id; null clears one); `None` keeps them all.
    pub custom_fields: Option<BTreeMap<i64, serde_json::Value>>,
}

impl CompanyDraft {
    /// A draft for a new company, owned by the caller unless changed.
    pub fn new_by(actor: Actor) -> CompanyDraft {
        CompanyDraft { owner_id: Some(actor.user_id), ..Default::default() }
    }
}

impl Company {
    /// A new company with only a name (and an owner), to fill in and create.
    pub fn named(name: &str, owner_id: Option<i64>) -> Company {
        let t = chrono::Utc::now();
        Company {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            name: name.to_owned(),
            description: None,
            phone: None,
            email: None,
            url: None,
            industry: None,
            employees: None,
            annual_revenue_minor: None,
            currency: None,
            address: kith_store::Json(None),
            owner_id,
            tags: kith_store::Json(Vec::new()),
            custom_fields: kith_store::Json(Default::default()),
            sync_status: None,
            photo_url: None,
            external_id: None,
        }
    }

    pub fn draft(&self) -> CompanyDraft {
        CompanyDraft {
            name: self.name.clone(),
            description: self.description.clone(),
            industry: self.industry.clone(),
            url: self.url.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            address: self.address.0.clone(),
            owner_id: self.owner_id,
            tags: self.tags.0.clone(),
            custom_fields: None,
        }
    }

    /// The status every contact of the company is kept on, when status sync is on.
    pub fn synced_status_id(&self) -> Option<i64> {
        self.sync_status.as_deref().and_then(|s| s.parse().ok())
    }
}

/// Checks a company's name: required, at most `COMPANY_NAME_MAX` characters. Returns it trimmed.
pub(crate) fn check_company_name(e: &mut Errors, field: &str, name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        e.add(field, "is required");
    }
    e.max_len(field, Some(name), COMPANY_NAME_MAX);
    name.to_owned()
}

/// Applies a draft to `c` (a stored company, or a new one when `before` is `None`) after
/// checking it: the one place a company's fields are checked, for every dialect. References
/// (the owner) are checked only when they change, so a company written back as read saves.
async fn apply_company(
    tx: &mut Tx,
    defs: &[CustomFieldDefinition],
    c: &mut Company,
    before: Option<&Company>,
    d: CompanyDraft,
) -> Result<()> {
    let mut e = Errors::default();
    let name = check_company_name(&mut e, "name", &d.name);
    for (field, value, max) in [
        ("description", &d.description, COMPANY_DESCRIPTION_MAX),
        ("industry", &d.industry, COMPANY_INDUSTRY_MAX),
        ("url", &d.url, COMPANY_URL_MAX),
        ("email", &d.email, COMPANY_EMAIL_MAX),
        ("phone", &d.phone, COMPANY_PHONE_MAX),
    ] {
        e.max_len(field, value.as_deref().map(str::trim), max);
    }
    let tags = crate::records::normalize_tags(&mut e, &d.tags);
    let custom = match d.custom_fields {
        Some(values) => match merge_values(defs, "company", &c.custom_fields.0, values) {
            Ok(v) => Some(v),
            Err(DomainError::Invalid(list)) => {
                for f in list {
                    e.add(f.field, f.message);
                }
                None
            }
            Err(other) => return Err(other),
        },
        None => None,
    };
    if let Some(owner) = d.owner_id
        && before.is_none_or(|b| b.owner_id != Some(owner))
        && tx.get(User::SPEC, owner, Visibility::Live).await?.is_none()
    {
        e.add("owner_id", "no such user");
    }
    e.finish()?;
    c.name = name;
    c.description = d.description;
    c.industry = d.industry;
    c.url = d.url;
    c.email = d.email;
    c.phone = d.phone;
    c.address = kith_store::Json(d.address);
    c.owner_id = d.owner_id;
    c.tags = kith_store::Json(tags);
    if let Some(values) = custom {
        c.custom_fields = kith_store::Json(values);
    }
    Ok(())
}

/// Creates a company from a draft inside `tx`, by the company rules.
pub(crate) async fn create_company_in(tx: &mut Tx, defs: &[CustomFieldDefinition], d: CompanyDraft) -> Result<Company> {
    let mut company = Company::named("", None);
    apply_company(tx, defs, &mut company, None, d).await?;
    insert_in(tx, company).await
}

/// Merges new custom values over old ones (null clears a value) and validates the result.
pub(crate) fn merge_values(
    defs: &[crate::model::CustomFieldDefinition],
    kind: &str,
    old: &crate::model::CustomValues,
    new: std::collections::BTreeMap<i64, serde_json::Value>,
) -> Result<crate::model::CustomValues> {
    let mut all: std::collections::BTreeMap<i64, serde_json::Value> =
        old.iter().filter_map(|(k, v)| k.parse().ok().map(|k| (k, v.clone()))).collect();
    // Values of definitions deleted since are dropped.
    all.retain(|k, _| defs.iter().any(|d| d.id == *k));
    for (k, v) in new {
        if v.is_null() {
            all.remove(&k);
        } else {
            all.insert(k, v);
        }
    }
    crate::custom_fields::validate_values(defs, kind, &all)
}

async fn company_contacts(tx: &mut Tx, company_id: i64) -> Result<Vec<Contact>> {
    let rows = tx.list(Contact::SPEC, &ListQuery::all().filter(Filter::eq("company_id", company_id))).await?.rows;
    rows.into_iter().map(Contact::from_row).collect()
}

impl Crm {
    /// Creates a company of its own (not through a contact: e.g. a Sell organisation).
    pub async fn create_company(&self, actor: Actor, d: CompanyDraft) -> Result<Company> {
        self.create_company_linked(actor, d, &LinkDraft::default()).await
    }

    /// Creates a company with its categories and campaigns (`links::write_in`).
    pub async fn create_company_linked(&self, actor: Actor, d: CompanyDraft, links: &LinkDraft) -> Result<Company> {
        let defs = self.custom_fields(actor, "company").await?;
        let mut tx = self.begin(actor).await?;
        let company = create_company_in(&mut tx, &defs, d).await?;
        crate::links::write_in(&mut tx, Company::SPEC, company.id, links, true).await?;
        tx.commit().await?;
        Ok(company)
    }

    /// Changes a company; a new name is carried to its contacts.
    pub async fn update_company(&self, actor: Actor, id: i64, d: CompanyDraft) -> Result<Company> {
        self.update_company_linked(actor, id, d, &LinkDraft::default()).await
    }

    /// Changes a company and, where `links` says so, its categories and campaigns.
    pub async fn update_company_linked(
        &self,
        actor: Actor,
        id: i64,
        d: CompanyDraft,
        links: &LinkDraft,
    ) -> Result<Company> {
        let defs = self.custom_fields(actor, "company").await?;
        let mut tx = self.begin(actor).await?;
        let mut company: Company = get_in(&mut tx, id).await?;
        let before = company.clone();
        apply_company(&mut tx, &defs, &mut company, Some(&before), d).await?;
        let mut company = save_in(&mut tx, &company).await?;
        if crate::links::write_in(&mut tx, Company::SPEC, company.id, links, false).await? {
            company = get_in(&mut tx, company.id).await?;
        }
        if company.name != before.name {
            for mut c in company_contacts(&mut tx, id).await? {
                c.company_name = Some(company.name.clone());
                save_in(&mut tx, &c).await?;
            }
        }
        tx.commit().await?;
        Ok(company)
    }

    /// The ids of a company's live contacts (its people), in no particular order.
    pub async fn contact_ids_of_company(&self, actor: Actor, company_id: i64) -> Result<Vec<i64>> {
        let f = Filter::eq("company_id", company_id);
        Ok(self.store().list_ids(actor.account_id, Contact::SPEC, Some(&f)).await?)
    }

    /// Turns status sync on (every contact of the company takes `status_id`, now and whenever
    /// one of them changes status) or off (`None`; contacts keep their statuses).
    pub async fn set_synced_status(&self, actor: Actor, id: i64, status_id: Option<i64>) -> Result<Company> {
        let mut tx = self.begin(actor).await?;
        let mut company: Company = get_in(&mut tx, id).await?;
        if let Some(status) = status_id {
            if tx.get(Status::SPEC, status, Visibility::Live).await?.is_none() {
                return Err(DomainError::invalid("status_id", "no such status"));
            }
            for mut c in company_contacts(&mut tx, id).await? {
                if c.status_id != Some(status) {
                    c.status_id = Some(status);
                    save_in(&mut tx, &c).await?;
                }
            }
        }
        company.sync_status = status_id.map(|s| s.to_string());
        let company = save_in(&mut tx, &company).await?;
        tx.commit().await?;
        Ok(company)
    }

    /// Sets a contact's status; in a company with status sync on, all its contacts follow.
    pub async fn change_contact_status(&self, actor: Actor, id: i64, status_id: i64) -> Result<Contact> {
        let mut tx = self.begin(actor).await?;
        if tx.get(Status::SPEC, status_id, Visibility::Live).await?.is_none() {
            return Err(DomainError::NotFound { kind: Status::SPEC.kind });
        }
        let mut contact: Contact = get_in(&mut tx, id).await?;
        contact.status_id = Some(status_id);
        let contact = save_in(&mut tx, &contact).await?;
        if let Some(company_id) = contact.company_id {
            let company: Company = get_in(&mut tx, company_id).await?;
            if company.synced_status_id().is_some() {
                for mut peer in company_contacts(&mut tx, company_id).await? {
                    if peer.id != id && peer.status_id != Some(status_id) {
                        peer.status_id = Some(status_id);
                        save_in(&mut tx, &peer).await?;
                    }
                }
                let mut company = company;
                company.sync_status = Some(status_id.to_string());
                save_in(&mut tx, &company).await?;
            }
        }
        tx.commit().await?;
        Ok(contact)
    }

    /// Contact counts and won/pending deal figures of companies, for rendering.
    pub async fn company_stats(&self, actor: Actor, company_id: i64) -> Result<CompanyStats> {
        let contacts = self.all::<Contact>(actor, Some(Filter::eq("company_id", company_id))).await?;
        let deals = self.all::<crate::model::Deal>(actor, Some(Filter::eq("company_id", company_id))).await?;
        let mut s = CompanyStats { contacts: contacts.len() as u64, ..Default::default() };
        for d in deals {
            let value = crate::money::to_major(d.value_minor.unwrap_or(0), &d.currency);
            match d.status.as_str() {
                "won" => {
                    s.won_deals += 1;
                    s.won_amount += value;
                }
                "pending" => {
                    s.pending_deals += 1;
                    s.pending_amount += value;
                }
                _ => {}
            }
        }
        Ok(s)
    }
}

/// Roll-ups shown with a company.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompanyStats {
    pub contacts: u64,
    pub won_deals: u64,
    pub won_amount: f64,
    pub pending_deals: u64,
    pub pending_amount: f64,
}

/// A company holds at most this many linked contacts.
pub const LINKED_CONTACTS_MAX: usize = 100;

impl Crm {
    /// Links a contact of another company to this company.
    pub async fn link_contact(&self, actor: Actor, company_id: i64, contact_id: i64) -> Result<Contact> {
        use crate::model::CompanyContactLink;
        let mut tx = self.begin(actor).await?;
        get_in::<Company>(&mut tx, company_id).await?;
        let contact = match tx.get(Contact::SPEC, contact_id, Visibility::Live).await? {
            Some(row) => Contact::from_row(row)?,
            None => return Err(DomainError::invalid("contact_id", "no such contact")),
        };
        if contact.company_id == Some(company_id) {
            return Err(DomainError::invalid("contact_id", "the contact already works at this company"));
        }
        let links =
            tx.list(CompanyContactLink::SPEC, &ListQuery::all().filter(Filter::eq("company_id", company_id))).await?;
        let links: Vec<CompanyContactLink> =
            links.rows.into_iter().map(CompanyContactLink::from_row).collect::<Result<_>>()?;
        if links.iter().any(|l| l.contact_id == contact_id) {
            return Err(DomainError::Conflict("the contact is already linked to this company".into()));
        }
        if links.len() >= LINKED_CONTACTS_MAX {
            return Err(DomainError::Conflict(format!(
                "a company holds at most {LINKED_CONTACTS_MAX} linked contacts"
            )));
        }
        let t = chrono::Utc::now();
        let link = CompanyContactLink { id: 0, created_at: t, updated_at: t, deleted_at: None, company_id, contact_id };
        crate::crm::insert_in(&mut tx, link).await?;
        tx.commit().await?;
        Ok(contact)
    }

    pub async fn unlink_contact(&self, actor: Actor, company_id: i64, contact_id: i64) -> Result<()> {
        use crate::model::CompanyContactLink;
        let mut tx = self.begin(actor).await?;
        get_in::<Company>(&mut tx, company_id).await?;
        let q = ListQuery::all()
            .filter(Filter::All(vec![Filter::eq("company_id", company_id), Filter::eq("contact_id", contact_id)]));
        let Some(link) = tx.list(CompanyContactLink::SPEC, &q).await?.rows.into_iter().next() else {
            return Err(DomainError::NotFound { kind: CompanyContactLink::SPEC.kind });
        };
        tx.delete(CompanyContactLink::SPEC, link.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of the live contacts linked to a company, by link order, with their total.
    pub async fn linked_contacts(
        &self,
        actor: Actor,
        company_id: i64,
        offset: u64,
        limit: u64,
    ) -> Result<ListPage<Contact>> {
        use crate::model::CompanyContactLink;
        self.get::<Company>(actor, company_id).await?;
        let live = Filter::Related {
            via: "contact_id".into(),
            target: Contact::SPEC,
            filter: Box::new(Filter::All(Vec::new())),
        };
        let q = ListQuery::new(Page::Offset { offset, limit })
            .filter(Filter::eq("company_id", company_id))
            .filter(live)
            .sort(Sort::asc("id"))
            .with_total();
        let links = self.list::<CompanyContactLink>(actor, &q).await?;
        let ids: Vec<i64> = links.rows.iter().map(|l| l.contact_id).collect();
        let mut found: std::collections::HashMap<i64, Contact> = std::collections::HashMap::new();
        for row in self.store().get_many(actor.account_id, Contact::SPEC, &ids).await? {
            let c = Contact::from_row(row)?;
            found.insert(c.id, c);
        }
        Ok(ListPage { rows: ids.iter().filter_map(|id| found.remove(id)).collect(), total: links.total, next: None })
    }

    /// The contacts linked to a company, as a contact filter (after checking the company is
    /// there).
    pub async fn linked_contacts_filter(&self, actor: Actor, company_id: i64) -> Result<Filter> {
        use crate::model::CompanyContactLink;
        self.get::<Company>(actor, company_id).await?;
        Ok(Filter::Referenced {
            target: CompanyContactLink::SPEC,
            via: "contact_id".into(),
            filter: Box::new(Filter::eq("company_id", company_id)),
        })
    }
}

/// Records about a company's people (their `contact_id` is a live contact of the company): what
/// per-company lists of actions, notes, calls and meetings show.
pub fn about_people_of(company_id: i64) -> Filter {
    Filter::Related {
        via: "contact_id".into(),
        target: Contact::SPEC,
        filter: Box::new(Filter::eq("company_id", company_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::{CompanyLink, ContactDraft};
    use crate::testing::{crm, invalid_fields};

    fn person(last: &str, company: &str) -> ContactDraft {
        ContactDraft { last_name: Some(last.into()), company: CompanyLink::Name(company.into()), ..Default::default() }
    }

    #[tokio::test]
    async fn a_company_made_on_its_own_is_renamed_on_its_contacts() {
        let t = crm().await;
        let mut d = CompanyDraft::new_by(t.actor);
        d.name = " Analytical Engines ".into();
        d.tags = vec!["vip".into(), "VIP".into()];
        let company = t.crm.create_company(t.actor, d).await.expect("create");
        assert_eq!(company.name, "Analytical Engines");
        assert_eq!(company.owner_id, Some(t.actor.user_id));
        assert_eq!(company.tags.0, ["vip"], "tags are normalised as a contact's are");
        let mut ada = person("Lovelace", "Analytical Engines");
        ada.company = CompanyLink::Id(company.id);
        let ada = t.crm.create_contact(t.actor, ada).await.expect("contact");
        assert_eq!(ada.company_name.as_deref(), Some("Analytical Engines"));

        let mut d = company.draft();
        d.name = "Difference Engines".into();
        d.industry = Some("Computing".into());
        t.crm.update_company(t.actor, company.id, d).await.expect("rename");
        let ada = t.crm.get::<Contact>(t.actor, ada.id).await.expect("contact");
        assert_eq!(ada.company_name.as_deref(), Some("Difference Engines"));
        let company = t.crm.get::<Company>(t.actor, company.id).await.expect("company");
        assert_eq!(
            (company.industry.as_deref(), company.tags.0.len()),
            (Some("Computing"), 1),
            "the draft keeps the rest"
        );
    }

    #[tokio::test]
    async fn one_name_limit_on_every_way_a_company_is_named() {
        let t = crm().await;
        let fits = "n".repeat(COMPANY_NAME_MAX);
        let long = "n".repeat(COMPANY_NAME_MAX + 1);
        let too_long = ("name".to_owned(), format!("must be at most {COMPANY_NAME_MAX} characters"));

        let draft = |name: &str| CompanyDraft { name: name.into(), ..CompanyDraft::new_by(t.actor) };
        assert_eq!(invalid_fields(t.crm.create_company(t.actor, draft(&long)).await), std::slice::from_ref(&too_long));
        let company = t.crm.create_company(t.actor, draft(&fits)).await.expect("a name at the limit");
        assert_eq!(invalid_fields(t.crm.update_company(t.actor, company.id, draft(&long)).await), [too_long]);
        assert_eq!(
            invalid_fields(t.crm.update_company(t.actor, company.id, draft("  ")).await),
            [("name".to_owned(), "is required".to_owned())]
        );

        // Named by a contact, and by a lead that may become one.
        let r = t.crm.create_contact(t.actor, person("Lovelace", &long)).await;
        assert_eq!(invalid_fields(r)[0].0, "company_name");
        let lead = crate::leads::LeadDraft { organization_name: Some(long), ..crate::leads::LeadDraft::new() };
        assert_eq!(invalid_fields(t.crm.create_lead(t.actor, lead).await)[0].0, "organization_name");
    }

    #[tokio::test]
    async fn a_company_owner_is_a_user_of_the_account_when_it_changes() {
        let t = crm().await;
        let d = CompanyDraft { name: "Acme".into(), owner_id: Some(i64::MAX), ..Default::default() };
        let r = t.crm.create_company(t.actor, d.clone()).await;
        assert_eq!(invalid_fields(r), [("owner_id".to_owned(), "no such user".to_owned())]);
        let d = CompanyDraft { owner_id: None, ..d };
        let company = t.crm.create_company(t.actor, d).await.expect("no owner");
        assert_eq!(company.owner_id, None);
    }

    #[tokio::test]
    async fn company_values_merge_over_the_stored_ones() {
        let t = crm().await;
        let field = |name: &str| crate::custom_fields::NewCustomField {
            entity_kind: "company".into(),
            name: name.into(),
            kind: crate::custom_fields::FieldKind::Text,
            choices: Vec::new(),
            position: None,
        };
        let tier = t.crm.create_custom_field(t.actor, field("Tier")).await.expect("field");
        let region = t.crm.create_custom_field(t.actor, field("Region")).await.expect("field");
        let values = |pairs: &[(i64, serde_json::Value)]| Some(pairs.iter().cloned().collect::<BTreeMap<_, _>>());
        let d = CompanyDraft {
            name: "Acme".into(),
            custom_fields: values(&[(tier.id, "gold".into()), (region.id, "EMEA".into())]),
            ..Default::default()
        };
        let company = t.crm.create_company(t.actor, d).await.expect("create");
        let d = CompanyDraft { custom_fields: values(&[(region.id, serde_json::Value::Null)]), ..company.draft() };
        let company = t.crm.update_company(t.actor, company.id, d).await.expect("update");
        assert_eq!(company.custom_fields.0.get(&tier.id.to_string()), Some(&serde_json::json!("gold")));
        assert_eq!(company.custom_fields.0.get(&region.id.to_string()), None, "null clears one value");
        let d = CompanyDraft { custom_fields: values(&[(i64::MAX, "x".into())]), ..company.draft() };
        assert_eq!(invalid_fields(t.crm.update_company(t.actor, company.id, d).await)[0].1, "no such custom field");
    }
}
