//! Notes, calls and meetings logged against a contact.

use chrono::{DateTime, NaiveDate, Utc};
use kith_store::{Tx, Visibility};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{Errors, Result};
use crate::model::{Call, Contact, Deal, Meeting, Note};

pub const ENGAGEMENT_TEXT_MAX: usize = 7168;
pub const MEETING_PLACE_MAX: usize = 100;
pub const CALL_VIAS: &[&str] = &["unknown", "jabber", "talkdesk", "phone"];
/// The call results every account has: key and display text, in display order.
pub const CALL_RESULTS: &[(&str, &str)] = &[
    ("interested", "Interested"),
    ("not_interested", "Not interested"),
    ("left_message", "Left message"),
    ("no_answer", "No answer"),
    ("other", "Other"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct NoteDraft {
    pub contact_id: i64,
    pub text: String,
    pub date: Option<String>,
    pub deal_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallDraft {
    pub contact_id: i64,
    pub text: Option<String>,
    pub call_result: Option<String>,
    pub called_at: Option<DateTime<Utc>>,
    pub via: Option<String>,
    pub phone_number: Option<String>,
    pub recording_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeetingDraft {
    pub contact_id: i64,
    pub text: Option<String>,
    pub place: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
}

async fn check_contact(tx: &mut Tx, e: &mut Errors, contact_id: i64) -> Result<Option<Contact>> {
    match tx.get(Contact::SPEC, contact_id, Visibility::Live).await? {
        Some(row) => Ok(Some(Contact::from_row(row)?)),
        None => {
            e.add("contact_id", "no such contact");
            Ok(None)
        }
    }
}

impl Crm {
    async fn check_note(tx: &mut Tx, d: &mut NoteDraft) -> Result<Option<i64>> {
        let mut e = Errors::default();
        d.text = d.text.trim().to_owned();
        if d.text.is_empty() {
            e.add("text", "is required");
        }
        e.max_len("text", Some(&d.text), ENGAGEMENT_TEXT_MAX);
        if let Some(date) = &d.date
            && NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err()
        {
            e.add("date", "must be a date (YYYY-MM-DD)");
        }
        let contact = check_contact(tx, &mut e, d.contact_id).await?;
        if let Some(deal_id) = d.deal_id {
            match tx.get(Deal::SPEC, deal_id, Visibility::Live).await?.map(Deal::from_row).transpose()? {
                Some(deal) if deal.contact_id == Some(d.contact_id) => {}
                Some(_) => e.add("linked_deal_id", "the deal belongs to another contact"),
                None => e.add("linked_deal_id", "no such deal"),
            }
        }
        e.finish()?;
        d.date.get_or_insert_with(|| Utc::now().date_naive().format("%Y-%m-%d").to_string());
        Ok(contact.and_then(|c| c.company_id))
    }

    pub async fn create_note(&self, actor: Actor, mut d: NoteDraft) -> Result<Note> {
        let mut tx = self.begin(actor).await?;
        let company_id = Self::check_note(&mut tx, &mut d).await?;
        let now = Utc::now();
        let note = Note {
            id: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            author_id: actor.user_id,
            contact_id: Some(d.contact_id),
            company_id,
            deal_id: d.deal_id,
            lead_id: None,
            text: d.text,
            date: d.date,
        };
        let note = insert_in(&mut tx, note).await?;
        tx.commit().await?;
        Ok(note)
    }

    pub async fn update_note(&self, actor: Actor, id: i64, mut d: NoteDraft) -> Result<Note> {
        let mut tx = self.begin(actor).await?;
        let mut note: Note = get_in(&mut tx, id).await?;
        if note.contact_id != Some(d.contact_id) {
            return Err(crate::DomainError::invalid("contact_id", "cannot be changed"));
        }
        Self::check_note(&mut tx, &mut d).await?;
        note.text = d.text;
        note.date = d.date;
        note.deal_id = d.deal_id;
        let note = save_in(&mut tx, &note).await?;
        tx.commit().await?;
        Ok(note)
    }

    async fn check_call(tx: &mut Tx, d: &mut CallDraft) -> Result<()> {
        let mut e = Errors::default();
        e.max_len("text", d.text.as_deref(), ENGAGEMENT_TEXT_MAX);
        e.max_len("phone_number", d.phone_number.as_deref(), 100);
        e.max_len("recording_link", d.recording_url.as_deref(), 2048);
        if let Some(r) = &d.call_result
            && !CALL_RESULTS.iter().any(|(k, _)| k == r)
        {
            let keys: Vec<&str> = CALL_RESULTS.iter().map(|(k, _)| *k).collect();
            e.add("call_result", format!("must be one of: {}", keys.join(", ")));
        }
        if let Some(v) = &d.via
            && !CALL_VIAS.contains(&v.as_str())
        {
            e.add("via", format!("must be one of: {}", CALL_VIAS.join(", ")));
        }
        check_contact(tx, &mut e, d.contact_id).await?;
        e.finish()
    }

    pub async fn create_call(&self, actor: Actor, mut d: CallDraft) -> Result<Call> {
        let mut tx = self.begin(actor).await?;
        Self::check_call(&mut tx, &mut d).await?;
        let now = Utc::now();
        let call = Call {
            id: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            author_id: actor.user_id,
            contact_id: Some(d.contact_id),
            deal_id: None,
            lead_id: None,
            text: d.text,
            call_result: d.call_result,
            phone_number: d.phone_number,
            incoming: false,
            duration_seconds: None,
            called_at: d.called_at.unwrap_or(now),
            recording_url: d.recording_url,
            via: Some(d.via.unwrap_or_else(|| "unknown".into())),
            company_id: None,
            missed: false,
            external_id: None,
            associated_deal_ids: Default::default(),
        };
        let call = insert_in(&mut tx, call).await?;
        tx.commit().await?;
        Ok(call)
    }

    pub async fn update_call(&self, actor: Actor, id: i64, mut d: CallDraft) -> Result<Call> {
        let mut tx = self.begin(actor).await?;
        let mut call: Call = get_in(&mut tx, id).await?;
        if call.contact_id != Some(d.contact_id) {
            return Err(crate::DomainError::invalid("contact_id", "cannot be changed"));
        }
        Self::check_call(&mut tx, &mut d).await?;
        call.text = d.text;
        call.call_result = d.call_result;
        call.phone_number = d.phone_number;
        call.called_at = d.called_at.unwrap_or(call.called_at);
        call.recording_url = d.recording_url;
        call.via = Some(d.via.unwrap_or_else(|| "unknown".into()));
        let call = save_in(&mut tx, &call).await?;
        tx.commit().await?;
        Ok(call)
    }

    async fn check_meeting(tx: &mut Tx, d: &MeetingDraft) -> Result<()> {
        let mut e = Errors::default();
        e.max_len("text", d.text.as_deref(), ENGAGEMENT_TEXT_MAX);
        e.max_len("place", d.place.as_deref(), MEETING_PLACE_MAX);
        check_contact(tx, &mut e, d.contact_id).await?;
        e.finish()
    }

    pub async fn create_meeting(&self, actor: Actor, d: MeetingDraft) -> Result<Meeting> {
        let mut tx = self.begin(actor).await?;
        Self::check_meeting(&mut tx, &d).await?;
        let now = Utc::now();
        let meeting = Meeting {
            id: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            author_id: actor.user_id,
            contact_id: Some(d.contact_id),
            deal_id: None,
            lead_id: None,
            text: d.text,
            place: d.place,
            starts_at: d.starts_at.unwrap_or(now),
            ends_at: None,
            outcome: None,
            company_id: None,
            outcome_id: None,
        };
        let meeting = insert_in(&mut tx, meeting).await?;
        tx.commit().await?;
        Ok(meeting)
    }

    pub async fn update_meeting(&self, actor: Actor, id: i64, d: MeetingDraft) -> Result<Meeting> {
        let mut tx = self.begin(actor).await?;
        let mut meeting: Meeting = get_in(&mut tx, id).await?;
        if meeting.contact_id != Some(d.contact_id) {
            return Err(crate::DomainError::invalid("contact_id", "cannot be changed"));
        }
        Self::check_meeting(&mut tx, &d).await?;
        meeting.text = d.text;
        meeting.place = d.place;
        meeting.starts_at = d.starts_at.unwrap_or(meeting.starts_at);
        let meeting = save_in(&mut tx, &meeting).await?;
        tx.commit().await?;
        Ok(meeting)
    }
}
