//! Reference data every new account starts with.

use chrono::Utc;
use kith_store::Tx;

use crate::crm::insert_in;
use crate::error::Result;
use crate::model::{LeadSource, Pipeline, Stage, Status};

/// Statuses as OnePage ships them; `lead` is the default for new contacts.
pub const DEFAULT_STATUSES: &[(&str, &str, &str)] = &[
    ("lead", "Lead", "f96600"),
    ("prospect", "Prospect", "3399ff"),
    ("customer", "Customer", "009900"),
    ("inactive", "Inactive", "666666"),
    ("general", "General", "000000"),
];

pub const DEFAULT_LEAD_SOURCES: &[(&str, &str)] = &[
    ("advertisement", "Advertisement"),
    ("email_web", "Email or Web"),
    ("event", "Event"),
    ("referral", "Referral"),
    ("social", "Social"),
    ("cold_call", "Cold Call"),
    ("partner", "Partner"),
    ("other", "Other"),
];

const DEFAULT_STAGES: &[(&str, i64, &str)] = &[
    ("Incoming", 10, "open"),
    ("Qualified", 25, "open"),
    ("Quote", 50, "open"),
    ("Closure", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
    // Deals disqualified rather than lost (Sell's "unqualified" stage); OnePage shows only the
    // open stages and the won column.
    ("Unqualified", 0, "unqualified"),
];

pub(crate) async fn defaults(tx: &mut Tx) -> Result<()> {
    let t = Utc::now();
    for (i, (key, name, color)) in DEFAULT_STATUSES.iter().enumerate() {
        let status = Status {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            key: (*key).into(),
            name: (*name).into(),
            color: Some((*color).into()),
            description: None,
            position: i as i64,
        };
        insert_in(tx, status).await?;
    }
    for (i, (key, name)) in DEFAULT_LEAD_SOURCES.iter().enumerate() {
        let source = LeadSource {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            key: (*key).into(),
            name: (*name).into(),
            position: i as i64,
            resource_type: None,
            creator_id: None,
        };
        insert_in(tx, source).await?;
    }
    let pipeline = insert_in(
        tx,
        Pipeline {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            name: "Sales pipeline".into(),
            position: 0,
            is_default: true,
        },
    )
    .await?;
    for (i, (name, probability, category)) in DEFAULT_STAGES.iter().enumerate() {
        let stage = Stage {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            pipeline_id: pipeline.id,
            name: (*name).into(),
            position: i as i64,
            probability: *probability,
            category: (*category).into(),
        };
        insert_in(tx, stage).await?;
    }
    Ok(())
}
