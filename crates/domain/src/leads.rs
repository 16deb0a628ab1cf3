//! Leads: prospects not yet qualified into contacts and deals (see `conversions`). A lead is a
//! person (last name) or an organisation (organisation name); one of the two is required. New
//! leads are owned by the caller and start as `New`; their references (owner, source,
//! unqualified reason) must be live records of the account, checked when they change so that a
//! lead written back as it was read always saves.

use std::collections::BTreeMap;

use chrono::Utc;
use kith_store::{Json, Tx, Visibility};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::custom_fields::validate_values;
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Address, Choice, Lead, LeadSource, User};

/// The longest value of a lead's one-line fields (names, title, phones, social handles…).
pub const LEAD_TEXT_MAX: usize = 255;
pub const LEAD_DESCRIPTION_MAX: usize = 10_000;
pub const LEAD_WEBSITE_MAX: usize = 2048;
/// The status of a new lead.
pub const NEW_LEAD_STATUS: &str = "New";

/// Every writable field of a lead. A new lead starts from `LeadDraft::new()`, a partial update
/// from `Lead::draft()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadDraft {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// What the lead's organisation is called; it becomes a company's name on conversion, so it
    /// is held to `companies::COMPANY_NAME_MAX`.
    pub organization_name: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub industry: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub fax: Option<String>,
    pub website: Option<String>,
    pub twitter: Option<String>,
    pub facebook: Option<String>,
    pub linkedin: Option<String>,
    pub skype: Option<String>,
    pub address: Option<Address>,
    /// The owning user; `None` leaves it: the caller for a new lead.
    pub owner_id: Option<i64>,
    /// A lead source (not a deal source) of the account.
    pub source_id: Option<i64>,
    /// A choice of the account's `lead_unqualified_reason` list.
    pub unqualified_reason_id: Option<i64>,
    /// The whole tag set.
    pub tags: Vec<String>,
    /// Values by custom-field definition id; the whole set.
    pub custom_fields: BTreeMap<i64, serde_json::Value>,
}

impl LeadDraft {
    /// A draft for a new lead: status `New`, owned by the caller unless changed.
    pub fn new() -> LeadDraft {
        LeadDraft { status: Some(NEW_LEAD_STATUS.to_owned()), ..Default::default() }
    }
}

impl Lead {
    /// The lead's writable fields, to change some and save them back.
    pub fn draft(&self) -> LeadDraft {
        LeadDraft {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            organization_name: self.organization_name.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            status: self.status.clone(),
            industry: self.industry.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            mobile: self.mobile.clone(),
            fax: self.fax.clone(),
            website: self.website.clone(),
            twitter: self.twitter.clone(),
            facebook: self.facebook.clone(),
            linkedin: self.linkedin.clone(),
            skype: self.skype.clone(),
            address: self.address.0.clone(),
            owner_id: Some(self.owner_id),
            source_id: self.source_id,
            unqualified_reason_id: self.unqualified_reason_id,
            tags: self.tags.0.clone(),
            custom_fields: self
                .custom_fields
                .0
                .iter()
                .filter_map(|(k, v)| k.parse().ok().map(|k| (k, v.clone())))
                .collect(),
        }
    }

    fn blank(owner_id: i64) -> Lead {
        let t = Utc::now();
        Lead {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            first_name: None,
            last_name: None,
            organization_name: None,
            title: None,
            description: None,
            status: None,
            source_id: None,
            owner_id,
            email: None,
            phone: None,
            mobile: None,
            website: None,
            address: Json(None),
            tags: Json(Vec::new()),
            custom_fields: Json(BTreeMap::new()),
            converted_at: None,
            converted_contact_id: None,
            converted_company_id: None,
            converted_deal_id: None,
            industry: None,
            fax: None,
            twitter: None,
            facebook: None,
            linkedin: None,
            skype: None,
            unqualified_reason_id: None,
            converted_by: None,
        }
    }
}

impl Crm {
    pub async fn create_lead(&self, actor: Actor, draft: LeadDraft) -> Result<Lead> {
        let defs = self.custom_fields(actor, "lead").await?;
        let mut tx = self.begin(actor).await?;
        let mut lead = Lead::blank(actor.user_id);
        apply_lead(&mut tx, &defs, &mut lead, None, draft).await?;
        let lead = insert_in(&mut tx, lead).await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Replaces the writable fields of a live lead with `draft`.
    pub async fn update_lead(&self, actor: Actor, id: i64, draft: LeadDraft) -> Result<Lead> {
        let defs = self.custom_fields(actor, "lead").await?;
        let mut tx = self.begin(actor).await?;
        let mut lead: Lead = get_in(&mut tx, id).await?;
        let before = lead.clone();
        apply_lead(&mut tx, &defs, &mut lead, Some(&before), draft).await?;
        lead.normalize();
        let lead = save_in(&mut tx, &lead).await?;
        tx.commit().await?;
        Ok(lead)
    }

    /// Deletes a live lead (its notes, tasks and calls keep pointing at it). `NotFound` when there
    /// is none; a converted lead has already left the live leads.
    pub async fn delete_lead(&self, actor: Actor, id: i64) -> Result<()> {
        self.delete::<Lead>(actor, id).await
    }
}

/// Checks `d` and applies it to `l` (`before`: the stored lead, on update). Fields first, all
/// their problems at once; then the references, all of theirs at once.
async fn apply_lead(
    tx: &mut Tx,
    defs: &[crate::model::CustomFieldDefinition],
    l: &mut Lead,
    before: Option<&Lead>,
    d: LeadDraft,
) -> Result<()> {
    let mut e = Errors::default();
    for (field, value, max) in [
        ("first_name", &d.first_name, LEAD_TEXT_MAX),
        ("last_name", &d.last_name, LEAD_TEXT_MAX),
        ("organization_name", &d.organization_name, crate::companies::COMPANY_NAME_MAX),
        ("title", &d.title, LEAD_TEXT_MAX),
        ("description", &d.description, LEAD_DESCRIPTION_MAX),
        ("status", &d.status, LEAD_TEXT_MAX),
        ("industry", &d.industry, LEAD_TEXT_MAX),
        ("email", &d.email, LEAD_TEXT_MAX),
        ("phone", &d.phone, LEAD_TEXT_MAX),
        ("mobile", &d.mobile, LEAD_TEXT_MAX),
        ("fax", &d.fax, LEAD_TEXT_MAX),
        ("website", &d.website, LEAD_WEBSITE_MAX),
        ("twitter", &d.twitter, LEAD_TEXT_MAX),
        ("facebook", &d.facebook, LEAD_TEXT_MAX),
        ("linkedin", &d.linkedin, LEAD_TEXT_MAX),
        ("skype", &d.skype, LEAD_TEXT_MAX),
    ] {
        e.max_len(field, value.as_deref().map(str::trim), max);
    }
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    if blank(&d.last_name) && blank(&d.organization_name) {
        e.add("last_name", "or organization_name is required");
    }
    let tags = crate::records::normalize_tags(&mut e, &d.tags);
    let mut values = d.custom_fields;
    crate::custom_fields::drop_deleted(defs, &l.custom_fields.0, &mut values);
    let custom = match validate_values(defs, "lead", &values) {
        Ok(v) => Some(v),
        Err(DomainError::Invalid(list)) => {
            for f in list {
                e.add(f.field, f.message);
            }
            None
        }
        Err(other) => return Err(other),
    };
    e.finish()?;

    let owner_id = d.owner_id.unwrap_or(l.owner_id);
    let mut e = Errors::default();
    // Only references that change are checked: a lead sent back as it was read is accepted.
    // `l` holds the stored owner, or the caller for a new lead.
    if owner_id != l.owner_id && tx.get(User::SPEC, owner_id, Visibility::Live).await?.is_none() {
        e.add("owner_id", "is not a user of this account");
    }
    if let Some(id) = d.source_id.filter(|id| before.is_none_or(|b| b.source_id != Some(*id))) {
        let source = tx.get(LeadSource::SPEC, id, Visibility::Live).await?.map(LeadSource::from_row).transpose()?;
        if source.is_none_or(|s| s.kind() != crate::sources::LEAD_SOURCES) {
            e.add("source_id", "is not a lead source of this account");
        }
    }
    if let Some(id) = d.unqualified_reason_id.filter(|id| before.is_none_or(|b| b.unqualified_reason_id != Some(*id))) {
        let reason = tx.get(Choice::SPEC, id, Visibility::Live).await?.map(Choice::from_row).transpose()?;
        if reason.is_none_or(|c| c.list != crate::choices::LEAD_UNQUALIFIED_REASONS) {
            e.add("unqualified_reason_id", "is not a lead unqualified reason of this account");
        }
    }
    e.finish()?;

    l.first_name = d.first_name;
    l.last_name = d.last_name;
    l.organization_name = d.organization_name;
    l.title = d.title;
    l.description = d.description;
    l.status = d.status;
    l.industry = d.industry;
    l.email = d.email;
    l.phone = d.phone;
    l.mobile = d.mobile;
    l.fax = d.fax;
    l.website = d.website;
    l.twitter = d.twitter;
    l.facebook = d.facebook;
    l.linkedin = d.linkedin;
    l.skype = d.skype;
    l.address = Json(d.address);
    l.owner_id = owner_id;
    l.source_id = d.source_id;
    l.unqualified_reason_id = d.unqualified_reason_id;
    l.tags = Json(tags);
    l.custom_fields = Json(custom.unwrap_or_default());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choices::{DEAL_UNQUALIFIED_REASONS, LEAD_UNQUALIFIED_REASONS};
    use crate::sources::{DEAL_SOURCES, LEAD_SOURCES};
    use crate::testing::{TestCrm, crm, invalid_fields};

    fn named(last: &str) -> LeadDraft {
        LeadDraft { last_name: Some(last.into()), ..LeadDraft::new() }
    }

    async fn lead_source(t: &TestCrm) -> LeadSource {
        let all = t.crm.all::<LeadSource>(t.actor, Some(crate::sources::kind_filter(LEAD_SOURCES))).await;
        all.expect("sources").into_iter().next().expect("a default lead source")
    }

    #[tokio::test]
    async fn a_new_lead_is_the_callers_and_new_and_has_a_name() {
        let t = crm().await;
        let lead = t.crm.create_lead(t.actor, named(" Babbage ")).await.expect("create");
        assert_eq!(lead.last_name.as_deref(), Some("Babbage"));
        assert_eq!((lead.owner_id, lead.status.as_deref()), (t.actor.user_id, Some(NEW_LEAD_STATUS)));
        let org = LeadDraft { organization_name: Some("Jacquard Looms".into()), ..LeadDraft::new() };
        t.crm.create_lead(t.actor, org).await.expect("an organisation is enough");
        let required = [("last_name".to_owned(), "or organization_name is required".to_owned())];
        assert_eq!(invalid_fields(t.crm.create_lead(t.actor, LeadDraft::new()).await), required);
        let d = LeadDraft { last_name: None, organization_name: Some(" ".into()), ..lead.draft() };
        assert_eq!(invalid_fields(t.crm.update_lead(t.actor, lead.id, d).await), required);
    }

    #[tokio::test]
    async fn lead_references_are_live_records_of_the_account_and_of_the_right_list() {
        let t = crm().await;
        let deal_source = t.crm.create_source(t.actor, DEAL_SOURCES, "Partner").await.expect("deal source");
        let deal_reason = t.crm.choices(t.actor, DEAL_UNQUALIFIED_REASONS).await.expect("reasons");
        let deal_reason = match deal_reason.first() {
            Some(c) => c.clone(),
            None => t.crm.create_choice(t.actor, DEAL_UNQUALIFIED_REASONS, "Too small").await.expect("reason"),
        };
        let d = LeadDraft {
            owner_id: Some(i64::MAX),
            source_id: Some(deal_source.id),
            unqualified_reason_id: Some(deal_reason.id),
            ..named("Babbage")
        };
        assert_eq!(
            invalid_fields(t.crm.create_lead(t.actor, d).await),
            [
                ("owner_id".to_owned(), "is not a user of this account".to_owned()),
                ("source_id".to_owned(), "is not a lead source of this account".to_owned()),
                ("unqualified_reason_id".to_owned(), "is not a lead unqualified reason of this account".to_owned()),
            ]
        );

        let source = lead_source(&t).await;
        let reasons = t.crm.choices(t.actor, LEAD_UNQUALIFIED_REASONS).await.expect("reasons");
        let d = LeadDraft {
            source_id: Some(source.id),
            unqualified_reason_id: reasons.first().map(|c| c.id),
            ..named("Babbage")
        };
        let lead = t.crm.create_lead(t.actor, d).await.expect("lead references");

        // Another account's user is no user of this one.
        let rival = t.crm.create_account("Rival", "owner@rival.test").await.expect("account");
        let d = LeadDraft { owner_id: Some(rival.user_id), ..lead.draft() };
        assert_eq!(invalid_fields(t.crm.update_lead(t.actor, lead.id, d).await)[0].0, "owner_id");

        // A reference that has gone since is kept while it is not changed.
        t.crm.delete_source(t.actor, LEAD_SOURCES, source.id).await.expect("delete source");
        let d = LeadDraft { title: Some("Professor".into()), ..lead.draft() };
        let lead = t.crm.update_lead(t.actor, lead.id, d).await.expect("sent back as read");
        assert_eq!((lead.source_id, lead.title.as_deref()), (Some(source.id), Some("Professor")));
        let d = LeadDraft { source_id: Some(deal_source.id), ..lead.draft() };
        assert_eq!(invalid_fields(t.crm.update_lead(t.actor, lead.id, d).await)[0].0, "source_id");
    }

    #[tokio::test]
    async fn a_deleted_lead_is_gone() {
        let t = crm().await;
        let lead = t.crm.create_lead(t.actor, named("Babbage")).await.expect("create");
        t.crm.delete_lead(t.actor, lead.id).await.expect("delete");
        assert!(matches!(t.crm.delete_lead(t.actor, lead.id).await, Err(DomainError::NotFound { .. })));
        assert!(matches!(t.crm.update_lead(t.actor, lead.id, named("B")).await, Err(DomainError::NotFound { .. })));
    }
}
