//! Notifications: a user is told when someone else assigns them an action or a contact.

use chrono::Utc;
use kith_store::{Filter, ListQuery, Tx};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Result};
use crate::model::Notification;

/// Records a notification for `user_id` about a contact, unless the user caused it themselves.
pub(crate) async fn notify_in(
    tx: &mut Tx,
    user_id: i64,
    kind: &str,
    text: &str,
    contact_id: Option<i64>,
) -> Result<()> {
    let by = tx.actor();
    if by == Some(user_id) {
        return Ok(());
    }
    let t = Utc::now();
    let n = Notification {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        user_id,
        kind: kind.into(),
        text: text.chars().take(500).collect(),
        entity_kind: contact_id.map(|_| "contact".to_owned()),
        entity_id: contact_id,
        read_at: None,
        actor_id: by,
    };
    insert_in(tx, n).await?;
    Ok(())
}

impl Crm {
    /// One of the caller's notifications (another user's is not found).
    pub async fn notification(&self, actor: Actor, id: i64) -> Result<Notification> {
        let n = self.get::<Notification>(actor, id).await?;
        if n.user_id != actor.user_id {
            return Err(DomainError::NotFound { kind: Notification::SPEC.kind });
        }
        Ok(n)
    }

    pub async fn mark_notification_read(&self, actor: Actor, id: i64) -> Result<Notification> {
        self.notification(actor, id).await?;
        let mut tx = self.begin(actor).await?;
        let mut n: Notification = get_in(&mut tx, id).await?;
        if n.read_at.is_none() {
            n.read_at = Some(Utc::now());
            n = save_in(&mut tx, &n).await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Marks every unread notification of the caller as read; returns how many.
    pub async fn mark_all_notifications_read(&self, actor: Actor) -> Result<u64> {
        let mut tx = self.begin(actor).await?;
        let q = ListQuery::all().filter(Filter::All(vec![
            Filter::eq("user_id", actor.user_id),
            Filter::IsNull(kith_store::Field::col("read_at")),
        ]));
        let rows = tx.list(Notification::SPEC, &q).await?.rows;
        let n = rows.len() as u64;
        for row in rows {
            let mut note = Notification::from_row(row)?;
            note.read_at = Some(Utc::now());
            save_in(&mut tx, &note).await?;
        }
        tx.commit().await?;
        Ok(n)
    }
}
