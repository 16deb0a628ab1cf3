//! Predefined item groups as categories of products: a product is in at most one group (see
//! `catalog::create_item_group`), so a group reads as the product's category. This module renames
//! groups and moves one product into a group or out of every group, keeping the group's
//! `item_ids` and the product's `item_group_id` in step.

use kith_store::{Tx, Visibility};

use crate::catalog::{ITEM_GROUP_ITEMS_MAX, ITEM_GROUP_NAME_MAX};
use crate::crm::{Actor, Crm, get_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{PredefinedItem, PredefinedItemGroup};

async fn group_in(tx: &mut Tx, id: i64) -> Result<Option<PredefinedItemGroup>> {
    tx.get(PredefinedItemGroup::SPEC, id, Visibility::Live).await?.map(PredefinedItemGroup::from_row).transpose()
}

impl Crm {
    /// Renames a group; names stay unique ignoring case.
    pub async fn rename_item_group(&self, actor: Actor, id: i64, name: &str) -> Result<PredefinedItemGroup> {
        let name = name.trim();
        let mut e = Errors::default();
        if name.is_empty() {
            e.add("name", "is required");
        }
        e.max_len("name", Some(name), ITEM_GROUP_NAME_MAX);
        e.finish()?;
        let others = self.all::<PredefinedItemGroup>(actor, None).await?;
        if others.iter().any(|g| g.id != id && g.name.eq_ignore_ascii_case(name)) {
            return Err(DomainError::Conflict(format!("a predefined item group named {name:?} exists")));
        }
        let mut tx = self.begin(actor).await?;
        let mut group: PredefinedItemGroup = get_in(&mut tx, id).await?;
        group.name = name.to_owned();
        let group = save_in(&mut tx, &group).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Puts a product in a group (`None`: in none), out of the group it was in.
    pub async fn set_item_group(&self, actor: Actor, item_id: i64, group_id: Option<i64>) -> Result<PredefinedItem> {
        let mut tx = self.begin(actor).await?;
        let mut item: PredefinedItem = get_in(&mut tx, item_id).await?;
        if item.item_group_id == group_id {
            return Ok(item);
        }
        let mut target = match group_id {
            Some(id) => match group_in(&mut tx, id).await? {
                Some(g) => Some(g),
                None => return Err(DomainError::invalid("item_group_id", "no such predefined item group")),
            },
            None => None,
        };
        if let Some(old) = item.item_group_id
            && let Some(mut g) = group_in(&mut tx, old).await?
        {
            g.item_ids.0.retain(|i| *i != item.id);
            save_in(&mut tx, &g).await?;
        }
        if let Some(g) = target.as_mut() {
            if g.item_ids.0.len() >= ITEM_GROUP_ITEMS_MAX {
                return Err(DomainError::invalid(
                    "item_group_id",
                    format!("a group holds at most {ITEM_GROUP_ITEMS_MAX} items"),
                ));
            }
            g.item_ids.0.push(item.id);
            save_in(&mut tx, g).await?;
        }
        item.item_group_id = group_id;
        let item = save_in(&mut tx, &item).await?;
        tx.commit().await?;
        Ok(item)
    }
}
