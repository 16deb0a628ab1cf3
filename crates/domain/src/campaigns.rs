//! Campaigns (Upsales' projects): a named, dated push that users run, active until it is
//! switched off. Each account keeps its own.

use chrono::{NaiveDate, Utc};
use kith_store::Json;

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::engagements::check_user;
use crate::error::{Errors, Result};

pub const CAMPAIGN_NAME_MAX: usize = 255;
pub const CAMPAIGN_NOTES_MAX: usize = 7168;
/// A campaign names at most this many users.
pub const CAMPAIGN_USERS_MAX: usize = 200;

crate::entity! {
    /// A campaign: its dates are calendar days (`YYYY-MM-DD`), its quota a whole number.
    Campaign, table = "campaigns", kind = "campaign", soft_delete = true, since = 6,
    indexes = [], unique = [],
    {
        name: String,
        start_date: Option<String>,
        end_date: Option<String>,
        active: bool,
        quota: i64,
        notes: Option<String>,
        /// The users who run it, in order.
        user_ids: Json<Vec<i64>>,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CampaignDraft {
    pub name: String,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub active: bool,
    pub quota: i64,
    pub notes: Option<String>,
    pub user_ids: Vec<i64>,
}

impl CampaignDraft {
    /// An active campaign of that name, run by `user_id`, with nothing else said about it.
    pub fn named(name: impl Into<String>, user_id: i64) -> Self {
        CampaignDraft {
            name: name.into(),
            start_date: None,
            end_date: None,
            active: true,
            quota: 0,
            notes: None,
            user_ids: vec![user_id],
        }
    }
}

impl Campaign {
    pub fn draft(&self) -> CampaignDraft {
        CampaignDraft {
            name: self.name.clone(),
            start_date: self.start_date.clone(),
            end_date: self.end_date.clone(),
            active: self.active,
            quota: self.quota,
            notes: self.notes.clone(),
            user_ids: self.user_ids.0.clone(),
        }
    }
}

fn day(e: &mut Errors, field: &str, v: &Option<String>) -> Option<NaiveDate> {
    let v = v.as_deref()?;
    match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            e.add(field, "must be a date (YYYY-MM-DD)");
            None
        }
    }
}

/// Checks a draft (trimmed, users deduplicated) against the account's users.
async fn check(tx: &mut kith_store::Tx, d: &mut CampaignDraft) -> Result<()> {
    let mut e = Errors::default();
    d.name = d.name.trim().to_owned();
    d.notes = d.notes.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    if d.name.is_empty() {
        e.add("name", "is required");
    }
    e.max_len("name", Some(&d.name), CAMPAIGN_NAME_MAX);
    e.max_len("notes", d.notes.as_deref(), CAMPAIGN_NOTES_MAX);
    let start = day(&mut e, "start_date", &d.start_date);
    let end = day(&mut e, "end_date", &d.end_date);
    if let (Some(s), Some(en)) = (start, end)
        && en < s
    {
        e.add("end_date", "must not be before the start date");
    }
    if d.quota < 0 {
        e.add("quota", "must not be negative");
    }
    let mut ids = Vec::with_capacity(d.user_ids.len());
    for id in &d.user_ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    d.user_ids = ids;
    if d.user_ids.len() > CAMPAIGN_USERS_MAX {
        e.add("user_ids", format!("must list at most {CAMPAIGN_USERS_MAX} users"));
    } else {
        for id in &d.user_ids {
            check_user(tx, &mut e, "user_ids", *id).await?;
        }
    }
    e.finish()
}

impl Crm {
    pub async fn create_campaign(&self, actor: Actor, mut d: CampaignDraft) -> Result<Campaign> {
        let mut tx = self.begin(actor).await?;
        check(&mut tx, &mut d).await?;
        let now = Utc::now();
        let campaign = Campaign {
            id: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            name: d.name,
            start_date: d.start_date,
            end_date: d.end_date,
            active: d.active,
            quota: d.quota,
            notes: d.notes,
            user_ids: Json(d.user_ids),
        };
        let campaign = insert_in(&mut tx, campaign).await?;
        tx.commit().await?;
        Ok(campaign)
    }

    pub async fn update_campaign(&self, actor: Actor, id: i64, mut d: CampaignDraft) -> Result<Campaign> {
        let mut tx = self.begin(actor).await?;
        let mut campaign: Campaign = get_in(&mut tx, id).await?;
        check(&mut tx, &mut d).await?;
        campaign.name = d.name;
        campaign.start_date = d.start_date;
        campaign.end_date = d.end_date;
        campaign.active = d.active;
        campaign.quota = d.quota;
        campaign.notes = d.notes;
        campaign.user_ids = Json(d.user_ids);
        let campaign = save_in(&mut tx, &campaign).await?;
        tx.commit().await?;
        Ok(campaign)
    }
}
