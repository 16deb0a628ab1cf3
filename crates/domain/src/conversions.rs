//! Lead conversion: a qualified lead becomes a person (when it has a last name) and an
//! organisation (when it has an organisation name; the person works there), usually with a deal,
//! in one transaction. The new records take what they can hold of the lead; the lead's notes,
//! tasks, calls, meetings and text messages move to them (keeping `lead_id`), and the lead is
//! marked converted and leaves the live leads. A lead converts once, so a conversion is known by
//! its lead's id.

use std::collections::BTreeMap;

use chrono::Utc;
use kith_store::{Filter, Json, ListPage, ListQuery, Sort, Tx, Visibility};

use crate::companies::CompanyDraft;
use crate::contacts::find_by_key;
use crate::crm::{Actor, Crm, insert_in, save_in};
use crate::custom_fields::coerce;
use crate::entity::Entity;
use crate::error::{DomainError, Result};
use crate::model::{
    Action, Call, Channel, Company, Contact, CustomFieldDefinition, CustomValues, Deal, Lead, LeadSource, Meeting,
    Note, Status, TextMessage, User,
};

/// What a client asks of a conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionDraft {
    /// The lead to convert: required.
    pub lead_id: Option<i64>,
    /// Who owns the new records; the lead's owner when not given.
    pub owner_id: Option<i64>,
    /// Whether a deal is made too: yes unless asked not to.
    pub create_deal: bool,
}

impl Default for ConversionDraft {
    fn default() -> Self {
        ConversionDraft { lead_id: None, owner_id: None, create_deal: true }
    }
}

/// The custom-field definitions of the lead and of the records it becomes.
struct Defs {
    lead: Vec<CustomFieldDefinition>,
    contact: Vec<CustomFieldDefinition>,
    company: Vec<CustomFieldDefinition>,
}

/// The lead's custom values that fit a field of the same name of the target kind.
fn carry_custom(values: &CustomValues, from: &[CustomFieldDefinition], to: &[CustomFieldDefinition]) -> CustomValues {
    let mut out = BTreeMap::new();
    for def in from {
        let Some(value) = values.get(&def.id.to_string()) else { continue };
        let Some(target) = to.iter().find(|t| t.name == def.name) else { continue };
        if let Ok(Some(v)) = coerce(target, value) {
            out.insert(target.id.to_string(), v);
        }
    }
    out
}

fn channels(pairs: &[(&str, &Option<String>)]) -> Vec<Channel> {
    pairs
        .iter()
        .filter_map(|(kind, value)| value.as_ref().map(|v| Channel { kind: (*kind).to_owned(), value: v.clone() }))
        .collect()
}

fn lead_gone() -> DomainError {
    DomainError::invalid("lead_id", "is not a lead of this account")
}

fn converted_already() -> DomainError {
    DomainError::invalid("lead_id", "has already been converted")
}

impl Crm {
    /// Converts a live lead of the account. Returns the converted lead (see `Lead::converted_*`).
    pub async fn convert_lead(&self, actor: Actor, d: ConversionDraft) -> Result<Lead> {
        let defs = Defs {
            lead: self.custom_fields(actor, "lead").await?,
            contact: self.custom_fields(actor, "contact").await?,
            company: self.custom_fields(actor, "company").await?,
        };
        let Some(lead_id) = d.lead_id else { return Err(DomainError::invalid("lead_id", "can't be blank")) };
        let mut tx = self.begin(actor).await?;
        let mut lead = match tx.get(Lead::SPEC, lead_id, Visibility::All).await? {
            Some(row) => Lead::from_row(row)?,
            None => return Err(lead_gone()),
        };
        if lead.converted_at.is_some() {
            return Err(converted_already());
        }
        if lead.deleted_at.is_some() {
            return Err(lead_gone());
        }
        if lead.last_name.is_none() && lead.organization_name.is_none() {
            return Err(DomainError::invalid("lead_id", "has neither a last name nor an organization name"));
        }
        let owner = match d.owner_id {
            Some(id) => user_in(&mut tx, id)
                .await?
                .ok_or_else(|| DomainError::invalid("owner_id", "is not a user of this account"))?,
            // The lead's owner, or the caller when that user has gone.
            None => user_in(&mut tx, lead.owner_id).await?.unwrap_or(actor.user_id),
        };

        let organization = match &lead.organization_name {
            Some(name) => {
                let draft = organization_from(&lead, name, owner, &defs);
                let made = crate::companies::create_company_in(&mut tx, &defs.company, draft).await;
                Some(made.map_err(as_lead_fields)?)
            }
            None => None,
        };
        let person = match &lead.last_name {
            Some(_) => {
                let status = find_by_key::<Status>(&mut tx, "lead").await?.map(|s| s.id);
                let source = match lead.source_id {
                    Some(id) => tx.get(LeadSource::SPEC, id, Visibility::Live).await?.map(|r| r.id),
                    None => None,
                };
                let contact = person_from(&lead, organization.as_ref(), owner, status, source, &defs);
                Some(insert_in(&mut tx, contact).await?)
            }
            None => None,
        };
        let deal = if d.create_deal {
            let name = organization
                .as_ref()
                .map(|o| o.name.clone())
                .or_else(|| person.as_ref().map(Contact::display_name))
                .unwrap_or_default();
            match person.as_ref().map(|p| p.id).or(organization.as_ref().map(|o| o.id)) {
                Some(primary) => Some(conversion_deal_in(&mut tx, actor, name, primary, owner).await?),
                None => None,
            }
        } else {
            None
        };

        let contact_id = person.as_ref().map(|p| p.id);
        let company_id = organization.as_ref().map(|o| o.id);
        move_activities::<Note>(&mut tx, lead.id, |n| (n.contact_id, n.company_id) = (contact_id, company_id)).await?;
        move_activities::<Action>(&mut tx, lead.id, |a| (a.contact_id, a.company_id) = (contact_id, company_id))
            .await?;
        move_activities::<Call>(&mut tx, lead.id, |c| (c.contact_id, c.company_id) = (contact_id, company_id)).await?;
        move_activities::<Meeting>(&mut tx, lead.id, |m| (m.contact_id, m.company_id) = (contact_id, company_id))
            .await?;
        move_activities::<TextMessage>(&mut tx, lead.id, |m| (m.contact_id, m.company_id) = (contact_id, company_id))
            .await?;

        lead.converted_at = Some(Utc::now());
        lead.converted_by = Some(actor.user_id);
        lead.converted_contact_id = contact_id;
        lead.converted_company_id = company_id;
        lead.converted_deal_id = deal.map(|d| d.id);
        lead.normalize();
        // A conversion that raced this one to the lead has deleted it: then this one fails
        // and nothing it made stays.
        let mut lead = save_in(&mut tx, &lead).await.map_err(|_| converted_already())?;
        if !tx.delete(Lead::SPEC, lead.id).await? {
            return Err(converted_already());
        }
        tx.commit().await?;
        lead.deleted_at = lead.converted_at;
        Ok(lead)
    }

    /// A conversion by its id (its lead's id), as the converted lead.
    pub async fn conversion(&self, actor: Actor, id: i64) -> Result<Lead> {
        match self.find_any::<Lead>(actor, id).await? {
            Some(lead) if lead.converted_at.is_some() => Ok(lead),
            _ => Err(DomainError::NotFound { kind: "lead conversion" }),
        }
    }

    /// A page of conversions, as converted leads; `q` filters and sorts lead columns.
    pub async fn conversions(&self, actor: Actor, q: &ListQuery) -> Result<ListPage<Lead>> {
        let q = ListQuery { visibility: Visibility::All, ..q.clone() }
            .filter(Filter::IsNotNull(kith_store::Field::col("converted_at")));
        self.list::<Lead>(actor, &q).await
    }
}

/// A live user of the account by id, inside `tx`.
async fn user_in(tx: &mut Tx, id: i64) -> Result<Option<i64>> {
    Ok(tx.get(User::SPEC, id, Visibility::Live).await?.map(|r| r.id))
}

fn organization_from(lead: &Lead, name: &str, owner: i64, defs: &Defs) -> CompanyDraft {
    let custom = carry_custom(&lead.custom_fields.0, &defs.lead, &defs.company);
    let mut c = CompanyDraft {
        name: name.to_owned(),
        description: lead.description.clone(),
        industry: lead.industry.clone(),
        url: lead.website.clone(),
        address: lead.address.0.clone(),
        owner_id: Some(owner),
        tags: lead.tags.0.clone(),
        custom_fields: Some(custom.into_iter().filter_map(|(k, v)| k.parse().ok().map(|k| (k, v))).collect()),
        ..Default::default()
    };
    // A lead that is only an organisation gives it its email and phone too.
    if lead.last_name.is_none() {
        c.email = lead.email.clone();
        c.phone = lead.phone.clone().or_else(|| lead.mobile.clone());
    }
    c
}

/// A company rule the lead's organisation breaks, told by the lead's field names.
fn as_lead_fields(e: DomainError) -> DomainError {
    match e {
        DomainError::Invalid(fields) => DomainError::Invalid(
            fields
                .into_iter()
                .map(|mut f| {
                    f.field = match f.field.as_str() {
                        "name" => "organization_name".to_owned(),
                        "url" => "website".to_owned(),
                        _ => f.field,
                    };
                    f
                })
                .collect(),
        ),
        other => other,
    }
}

fn person_from(
    lead: &Lead,
    organization: Option<&Company>,
    owner: i64,
    status_id: Option<i64>,
    lead_source_id: Option<i64>,
    defs: &Defs,
) -> Contact {
    let t = Utc::now();
    let mut c = Contact {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        salutation: None,
        first_name: lead.first_name.clone(),
        last_name: lead.last_name.clone(),
        job_title: lead.title.clone(),
        starred: false,
        company_id: organization.map(|o| o.id),
        company_name: organization.map(|o| o.name.clone()),
        owner_id: owner,
        status_id,
        lead_source_id,
        background: lead.description.clone(),
        emails: Json(channels(&[("work", &lead.email)])),
        phones: Json(channels(&[("work", &lead.phone), ("mobile", &lead.mobile), ("fax", &lead.fax)])),
        urls: Json(channels(&[
            ("website", &lead.website),
            ("twitter", &lead.twitter),
            ("facebook", &lead.facebook),
            ("linkedin", &lead.linkedin),
            ("skype", &lead.skype),
        ])),
        addresses: Json(lead.address.0.clone().into_iter().collect()),
        email: None,
        phone: None,
        tags: Json(lead.tags.0.clone()),
        custom_fields: Json(carry_custom(&lead.custom_fields.0, &defs.lead, &defs.contact)),
        closed_sales: Json(Vec::new()),
        photo_url: None,
        emails_text: None,
        urls_text: None,
        starred_by: Json(Vec::new()),
        starred_by_text: None,
    };
    c.refresh_search_columns();
    c
}

/// The deal a conversion makes: named `name`, worth 0 in the default currency, its primary
/// contact the person (else the organisation), placed as any new deal is (the default pipeline's
/// first open stage).
async fn conversion_deal_in(tx: &mut Tx, actor: Actor, name: String, primary: i64, owner: i64) -> Result<Deal> {
    let mut deal = Deal::new_by(actor);
    deal.name = name;
    deal.owner_id = owner;
    crate::deals::settle_record(tx, actor, &mut deal, None, Some(primary)).await?;
    insert_in(tx, deal).await
}

/// Points the lead's records of one kind at what the lead became.
async fn move_activities<E: Entity>(tx: &mut Tx, lead_id: i64, set: impl Fn(&mut E)) -> Result<()> {
    let q = ListQuery::all().filter(Filter::eq("lead_id", lead_id)).sort(Sort::asc("id"));
    for row in tx.list(E::SPEC, &q).await?.rows {
        let mut record = E::from_row(row)?;
        set(&mut record);
        save_in(tx, &record).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leads::LeadDraft;
    use crate::testing::{crm, invalid_fields};

    #[tokio::test]
    async fn a_conversion_needs_a_lead_and_makes_a_deal_unless_told_not_to() {
        let t = crm().await;
        let blank = [("lead_id".to_owned(), "can't be blank".to_owned())];
        assert_eq!(invalid_fields(t.crm.convert_lead(t.actor, ConversionDraft::default()).await), blank);
        let d = LeadDraft { last_name: Some("Babbage".into()), ..LeadDraft::new() };
        let lead = t.crm.create_lead(t.actor, d).await.expect("lead");
        let draft = ConversionDraft { lead_id: Some(lead.id), ..Default::default() };
        let converted = t.crm.convert_lead(t.actor, draft).await.expect("convert");
        assert!(converted.converted_deal_id.is_some(), "a deal by default");
    }

    #[tokio::test]
    async fn the_organisation_is_made_by_the_company_rules() {
        let t = crm().await;
        let d = LeadDraft {
            last_name: Some("Jacquard".into()),
            organization_name: Some("Jacquard Looms".into()),
            tags: vec!["weaving".into()],
            ..LeadDraft::new()
        };
        let lead = t.crm.create_lead(t.actor, d).await.expect("lead");
        let draft = ConversionDraft { lead_id: Some(lead.id), create_deal: false, ..Default::default() };
        let converted = t.crm.convert_lead(t.actor, draft).await.expect("convert");
        let company = t.crm.get::<Company>(t.actor, converted.converted_company_id.expect("org")).await.expect("org");
        assert_eq!((company.name.as_str(), company.tags.0.as_slice()), ("Jacquard Looms", &["weaving".to_owned()][..]));
        assert_eq!(company.owner_id, Some(t.actor.user_id));
        let person =
            t.crm.get::<Contact>(t.actor, converted.converted_contact_id.expect("person")).await.expect("person");
        assert_eq!(person.company_name.as_deref(), Some("Jacquard Looms"));

        // A lead stored before the limit (written around the lead rules) converts to nothing.
        let d = LeadDraft { last_name: Some("Old".into()), ..LeadDraft::new() };
        let mut old = t.crm.create_lead(t.actor, d).await.expect("lead");
        old.organization_name = Some("n".repeat(crate::companies::COMPANY_NAME_MAX + 1));
        let old = t.crm.save(t.actor, old).await.expect("save");
        let draft = ConversionDraft { lead_id: Some(old.id), ..Default::default() };
        assert_eq!(invalid_fields(t.crm.convert_lead(t.actor, draft).await)[0].0, "organization_name");
        assert!(t.crm.get::<Lead>(t.actor, old.id).await.expect("still a lead").converted_at.is_none());
        let companies = t.crm.all::<Company>(t.actor, None).await.expect("companies");
        assert_eq!(companies.len(), 1, "only the first conversion's");
    }
}
