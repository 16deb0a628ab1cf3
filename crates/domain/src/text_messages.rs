//! Text messages (SMS) a user sent to or received from a person, an organisation or a lead.
//! Clients only read them; they are logged by the telephony integration (and tests, seeders).

use chrono::{DateTime, Utc};

use crate::crm::{Actor, Crm, insert_in};
use crate::engagements::{
    ENGAGEMENT_TEXT_MAX, Links, PHONE_NUMBER_MAX, Subject, check_deals, check_user, resolve_subject,
};
use crate::error::{Errors, Result};
use crate::model::TextMessage;

#[derive(Debug, Clone, PartialEq)]
pub struct TextMessageDraft {
    /// Who the message was with: a person, an organisation or a lead (a message is never with a
    /// deal; `deal_ids` says which deals it concerned); none for an unknown number.
    pub subject: Option<Subject>,
    /// The user who sent or received it.
    pub user_id: i64,
    pub content: String,
    pub incoming: bool,
    pub resource_phone_number: Option<String>,
    pub user_phone_number: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub deal_ids: Vec<i64>,
}

impl TextMessage {
    pub fn links(&self) -> Links {
        Links { contact_id: self.contact_id, company_id: self.company_id, lead_id: self.lead_id, deal_id: None }
    }
}

impl Crm {
    pub async fn log_text_message(&self, actor: Actor, mut d: TextMessageDraft) -> Result<TextMessage> {
        let mut tx = self.begin(actor).await?;
        let mut e = Errors::default();
        d.content = d.content.trim().to_owned();
        if d.content.is_empty() {
            e.add("content", "is required");
        }
        e.max_len("content", Some(&d.content), ENGAGEMENT_TEXT_MAX);
        e.max_len("resource_phone_number", d.resource_phone_number.as_deref(), PHONE_NUMBER_MAX);
        e.max_len("user_phone_number", d.user_phone_number.as_deref(), PHONE_NUMBER_MAX);
        check_user(&mut tx, &mut e, "user_id", d.user_id).await?;
        check_deals(&mut tx, &mut e, "deal_ids", &d.deal_ids).await?;
        let links = match d.subject {
            Some(Subject::Deal(_)) => {
                e.add("deal_id", "a text message is with a person, an organisation or a lead");
                Links::default()
            }
            Some(s) => resolve_subject(&mut tx, &mut e, s).await?,
            None => Links::default(),
        };
        e.finish()?;
        let now = Utc::now();
        let message = TextMessage {
            id: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            user_id: d.user_id,
            contact_id: links.contact_id,
            company_id: links.company_id,
            lead_id: links.lead_id,
            content: d.content,
            incoming: d.incoming,
            resource_phone_number: d.resource_phone_number,
            user_phone_number: d.user_phone_number,
            sent_at: d.sent_at.unwrap_or(now),
            deal_ids: kith_store::Json(d.deal_ids),
        };
        let message = insert_in(&mut tx, message).await?;
        tx.commit().await?;
        Ok(message)
    }
}
