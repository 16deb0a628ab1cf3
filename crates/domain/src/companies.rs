//! Companies: created from a contact's company name, gone with their last contact (see
//! `contacts`), renamed together with their contacts, and optionally keeping every contact on one
//! status ("synced status").

use kith_store::{Filter, ListQuery, Tx, Visibility};

use crate::crm::{Actor, Crm, get_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Address, Company, Contact, Status};

pub const COMPANY_NAME_MAX: usize = 55;
pub const COMPANY_DESCRIPTION_MAX: usize = 10_240;

/// What a client may change on a company.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyDraft {
    pub name: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
    /// Company-field values to set (by definition id; null clears one); `None` keeps them all.
    pub custom_fields: Option<std::collections::BTreeMap<i64, serde_json::Value>>,
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
        }
    }

    pub fn draft(&self) -> CompanyDraft {
        CompanyDraft {
            name: self.name.clone(),
            description: self.description.clone(),
            url: self.url.clone(),
            phone: self.phone.clone(),
            address: self.address.0.clone(),
            custom_fields: None,
        }
    }

    /// The status every contact of the company is kept on, when status sync is on.
    pub fn synced_status_id(&self) -> Option<i64> {
        self.sync_status.as_deref().and_then(|s| s.parse().ok())
    }
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
    /// Changes a company; a new name is carried to its contacts.
    pub async fn update_company(&self, actor: Actor, id: i64, d: CompanyDraft) -> Result<Company> {
        let mut e = Errors::default();
        let name = d.name.trim().to_owned();
        if name.is_empty() {
            e.add("name", "is required");
        }
        e.max_len("name", Some(&name), COMPANY_NAME_MAX);
        e.max_len("description", d.description.as_deref(), COMPANY_DESCRIPTION_MAX);
        e.max_len("url", d.url.as_deref(), 2048);
        e.max_len("phone", d.phone.as_deref(), 100);
        e.finish()?;
        let mut tx = self.begin(actor).await?;
        let mut company: Company = get_in(&mut tx, id).await?;
        if let Some(values) = d.custom_fields {
            let defs = self.custom_fields(actor, "company").await?;
            company.custom_fields = kith_store::Json(merge_values(&defs, "company", &company.custom_fields.0, values)?);
        }
        let renamed = company.name != name;
        company.name = name;
        company.description = d.description;
        company.url = d.url;
        company.phone = d.phone;
        company.address = kith_store::Json(d.address);
        let company = save_in(&mut tx, &company).await?;
        if renamed {
            for mut c in company_contacts(&mut tx, id).await? {
                c.company_name = Some(company.name.clone());
                save_in(&mut tx, &c).await?;
            }
        }
        tx.commit().await?;
        Ok(company)
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

    /// Live contacts linked to a company, by link order.
    pub async fn linked_contacts(&self, actor: Actor, company_id: i64) -> Result<Vec<Contact>> {
        use crate::model::CompanyContactLink;
        self.get::<Company>(actor, company_id).await?;
        let links = self.all::<CompanyContactLink>(actor, Some(Filter::eq("company_id", company_id))).await?;
        let mut out = Vec::with_capacity(links.len());
        for l in links {
            if let Some(c) = self.find::<Contact>(actor, l.contact_id).await? {
                out.push(c);
            }
        }
        Ok(out)
    }
}
