//! Loss reasons: why deals are lost (Sell's `/loss_reasons`; a deal's `loss_reason_id`). Names
//! are required and unique within the account, ignoring case.

use chrono::Utc;
use kith_store::{ListQuery, Tx};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::LossReason;

pub const LOSS_REASON_NAME_MAX: usize = 255;

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    let mut e = Errors::default();
    if name.is_empty() {
        e.add("name", "can't be blank");
    }
    e.max_len("name", Some(name), LOSS_REASON_NAME_MAX);
    e.finish()?;
    Ok(name.to_owned())
}

/// Refuses a name another live reason than `except` has (ignoring case).
async fn check_unique(tx: &mut Tx, name: &str, except: Option<i64>) -> Result<()> {
    let all = tx.list(LossReason::SPEC, &ListQuery::all()).await?.try_map(LossReason::from_row)?.rows;
    if all.iter().any(|r| Some(r.id) != except && r.name.to_lowercase() == name.to_lowercase()) {
        return Err(DomainError::invalid("name", "has already been taken"));
    }
    Ok(())
}

impl Crm {
    pub async fn create_loss_reason(&self, actor: Actor, name: &str) -> Result<LossReason> {
        let name = check_name(name)?;
        let mut tx = self.begin(actor).await?;
        check_unique(&mut tx, &name, None).await?;
        let t = Utc::now();
        let reason =
            insert_in(&mut tx, LossReason { id: 0, created_at: t, updated_at: t, deleted_at: None, name }).await?;
        tx.commit().await?;
        Ok(reason)
    }

    /// Renames a live loss reason; the name must stay unique.
    pub async fn rename_loss_reason(&self, actor: Actor, id: i64, name: &str) -> Result<LossReason> {
        let name = check_name(name)?;
        let mut tx = self.begin(actor).await?;
        let mut reason: LossReason = get_in(&mut tx, id).await?;
        check_unique(&mut tx, &name, Some(id)).await?;
        reason.name = name;
        let reason = save_in(&mut tx, &reason).await?;
        tx.commit().await?;
        Ok(reason)
    }

    /// Deletes a loss reason; deals lost for it keep its id.
    pub async fn delete_loss_reason(&self, actor: Actor, id: i64) -> Result<()> {
        self.delete::<LossReason>(actor, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{crm, invalid_fields};

    #[tokio::test]
    async fn names_are_required_and_unique_ignoring_case() {
        let t = crm().await;
        let price = t.crm.create_loss_reason(t.actor, " Price ").await.expect("create");
        assert_eq!(price.name, "Price");
        let taken = [("name".to_owned(), "has already been taken".to_owned())];
        assert_eq!(invalid_fields(t.crm.create_loss_reason(t.actor, "PRICE").await), taken);
        assert_eq!(invalid_fields(t.crm.create_loss_reason(t.actor, "  ").await)[0].1, "can't be blank");
        let timing = t.crm.create_loss_reason(t.actor, "Timing").await.expect("create");
        assert_eq!(invalid_fields(t.crm.rename_loss_reason(t.actor, timing.id, "price").await), taken);
        let renamed = t.crm.rename_loss_reason(t.actor, price.id, "price").await.expect("its own name");
        assert_eq!(renamed.name, "price");
        // A deleted reason's name is free again.
        t.crm.delete_loss_reason(t.actor, timing.id).await.expect("delete");
        t.crm.create_loss_reason(t.actor, "Timing").await.expect("reused");
        let rival = t.crm.create_account("Rival", "owner@rival.test").await.expect("account");
        let rival = Actor { account_id: rival.account_id, user_id: rival.user_id };
        t.crm.create_loss_reason(rival, "Price").await.expect("another account's names are its own");
    }
}
