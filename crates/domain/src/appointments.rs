//! Appointments: meetings with an end and a host. Upsales writes a meeting's end time and the
//! user who holds it, which the plain meeting drafts of the other dialects leave alone; the same
//! `Meeting` rows are what OnePage shows as meetings and Sell as visits.

use chrono::{DateTime, Utc};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::engagements::{MeetingDraft, check_user};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::links::LinkDraft;
use crate::model::Meeting;

#[derive(Debug, Clone, PartialEq)]
pub struct AppointmentDraft {
    pub meeting: MeetingDraft,
    /// When it ends; not before it starts.
    pub ends_at: Option<DateTime<Utc>>,
    /// The user who holds the meeting (its author).
    pub host_id: i64,
}

impl Meeting {
    /// The meeting as an appointment draft: what saving it unchanged would send.
    pub fn appointment_draft(&self) -> Option<AppointmentDraft> {
        let subject = self.links().subject()?;
        Some(AppointmentDraft {
            meeting: MeetingDraft {
                subject,
                text: self.text.clone(),
                place: self.place.clone(),
                starts_at: Some(self.starts_at),
                outcome_id: self.outcome_id,
            },
            ends_at: self.ends_at,
            host_id: self.author_id,
        })
    }
}

/// Checks what an appointment adds to a meeting: a host of the account and an end after the start.
async fn check_extra(tx: &mut kith_store::Tx, d: &AppointmentDraft, starts_at: DateTime<Utc>) -> Result<()> {
    let mut e = Errors::default();
    check_user(tx, &mut e, "author_id", d.host_id).await?;
    if d.ends_at.is_some_and(|end| end < starts_at) {
        e.add("ends_at", "must not be before the start");
    }
    e.finish()
}

impl Crm {
    pub async fn create_appointment(&self, actor: Actor, d: AppointmentDraft) -> Result<Meeting> {
        self.create_appointment_linked(actor, d, &LinkDraft::default()).await
    }

    /// Creates an appointment with its type and campaign (`links::write_in`).
    pub async fn create_appointment_linked(
        &self,
        actor: Actor,
        d: AppointmentDraft,
        labels: &LinkDraft,
    ) -> Result<Meeting> {
        let mut tx = self.begin(actor).await?;
        let links = Self::check_meeting(&mut tx, &d.meeting).await?;
        let now = Utc::now();
        let starts_at = d.meeting.starts_at.unwrap_or(now);
        check_extra(&mut tx, &d, starts_at).await?;
        let meeting = Meeting {
            id: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            author_id: d.host_id,
            contact_id: links.contact_id,
            deal_id: links.deal_id,
            lead_id: links.lead_id,
            text: d.meeting.text,
            place: d.meeting.place,
            starts_at,
            ends_at: d.ends_at,
            outcome: None,
            company_id: links.company_id,
            outcome_id: d.meeting.outcome_id,
        };
        let meeting = insert_in(&mut tx, meeting).await?;
        crate::links::write_in(&mut tx, Meeting::SPEC, meeting.id, labels, true).await?;
        tx.commit().await?;
        Ok(meeting)
    }

    /// Replaces an appointment's writable fields; what it is about cannot change.
    pub async fn update_appointment(&self, actor: Actor, id: i64, d: AppointmentDraft) -> Result<Meeting> {
        self.update_appointment_linked(actor, id, d, &LinkDraft::default()).await
    }

    /// Replaces an appointment's writable fields and, where `links` says so, its type and
    /// campaign.
    pub async fn update_appointment_linked(
        &self,
        actor: Actor,
        id: i64,
        d: AppointmentDraft,
        labels: &LinkDraft,
    ) -> Result<Meeting> {
        let mut tx = self.begin(actor).await?;
        let mut meeting: Meeting = get_in(&mut tx, id).await?;
        if !meeting.links().is_about(Some(d.meeting.subject)) {
            return Err(DomainError::invalid(d.meeting.subject.field(), "cannot be changed"));
        }
        Self::check_meeting(&mut tx, &d.meeting).await?;
        let starts_at = d.meeting.starts_at.unwrap_or(meeting.starts_at);
        check_extra(&mut tx, &d, starts_at).await?;
        meeting.text = d.meeting.text;
        meeting.place = d.meeting.place;
        meeting.starts_at = starts_at;
        meeting.ends_at = d.ends_at;
        meeting.outcome_id = d.meeting.outcome_id;
        meeting.author_id = d.host_id;
        let mut meeting = save_in(&mut tx, &meeting).await?;
        if crate::links::write_in(&mut tx, Meeting::SPEC, meeting.id, labels, false).await? {
            meeting = get_in(&mut tx, meeting.id).await?;
        }
        tx.commit().await?;
        Ok(meeting)
    }
}
