//! Relationships between two contacts, typed by a relationship type with one variant
//! (symmetrical: Partner/Partner) or two (directional: Manager/Reports to). One record covers both
//! ends; a pair of contacts holds at most one relationship.

use chrono::Utc;
use kith_store::{Filter, Json, ListQuery, Visibility};

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{Contact, Relationship, RelationshipType};

pub const VARIANT_NAME_MAX: usize = 35;
/// An account holds at most this many relationship types.
pub const RELATIONSHIP_TYPES_MAX: usize = 50;

impl RelationshipType {
    /// `(variant id, name)` of each variant.
    pub fn variants(&self) -> Vec<(i64, String)> {
        let names = [Some(self.name.clone()), self.inverse_name.clone()];
        self.variant_ids.0.iter().copied().zip(names.into_iter().flatten()).collect()
    }

    pub fn symmetrical(&self) -> bool {
        self.variant_ids.0.len() == 1
    }
}

/// One end of a relationship: a contact and the variant that labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Party {
    pub contact_id: i64,
    pub variant_id: i64,
}

fn check_names(names: &[String]) -> Result<()> {
    let mut e = Errors::default();
    if names.is_empty() || names.len() > 2 {
        e.add("variants", "must have one variant (symmetrical) or two (directional)");
    }
    for (i, n) in names.iter().enumerate() {
        if n.trim().is_empty() {
            e.add(format!("variants[{i}].name"), "is required");
        }
        e.max_len(&format!("variants[{i}].name"), Some(n.trim()), VARIANT_NAME_MAX);
    }
    e.finish()
}

impl Crm {
    pub async fn create_relationship_type(&self, actor: Actor, names: Vec<String>) -> Result<RelationshipType> {
        check_names(&names)?;
        let existing = self.all::<RelationshipType>(actor, None).await?;
        if existing.len() >= RELATIONSHIP_TYPES_MAX {
            return Err(DomainError::Conflict(format!(
                "an account holds at most {RELATIONSHIP_TYPES_MAX} relationship types"
            )));
        }
        let mut tx = self.begin(actor).await?;
        let mut ids = Vec::with_capacity(names.len());
        for _ in &names {
            ids.push(tx.next_id().await?);
        }
        let t = Utc::now();
        let rt = RelationshipType {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            name: names[0].trim().to_owned(),
            inverse_name: names.get(1).map(|n| n.trim().to_owned()),
            position: existing.len() as i64,
            variant_ids: Json(ids),
        };
        let rt = insert_in(&mut tx, rt).await?;
        tx.commit().await?;
        Ok(rt)
    }

    /// Renames a type's variants; `renames` must name every existing variant, and only those.
    pub async fn rename_relationship_type(
        &self,
        actor: Actor,
        id: i64,
        renames: Vec<(i64, String)>,
    ) -> Result<RelationshipType> {
        let mut rt = self.get::<RelationshipType>(actor, id).await?;
        let names: Vec<String> = renames.iter().map(|(_, n)| n.clone()).collect();
        check_names(&names)?;
        let mut wanted: Vec<i64> = renames.iter().map(|(v, _)| *v).collect();
        wanted.sort_unstable();
        let mut have = rt.variant_ids.0.clone();
        have.sort_unstable();
        if wanted != have {
            return Err(DomainError::invalid("variants", "must list every variant of the type by id, and only those"));
        }
        for (variant, name) in renames {
            if Some(&variant) == rt.variant_ids.0.first() {
                rt.name = name.trim().to_owned();
            } else {
                rt.inverse_name = Some(name.trim().to_owned());
            }
        }
        self.save(actor, rt).await
    }

    /// Deletes a relationship type and every relationship of that type.
    pub async fn delete_relationship_type(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        get_in::<RelationshipType>(&mut tx, id).await?;
        let using =
            tx.list(Relationship::SPEC, &ListQuery::all().filter(Filter::eq("relationship_type_id", id))).await?;
        for row in using.rows {
            tx.delete(Relationship::SPEC, row.id).await?;
        }
        tx.delete(RelationshipType::SPEC, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks two parties against a type; `path_contact` must be one of them.
    async fn check_relationship(
        &self,
        tx: &mut kith_store::Tx,
        path_contact: i64,
        type_id: i64,
        parties: &[Party],
        except: Option<i64>,
    ) -> Result<()> {
        let mut e = Errors::default();
        let rt = match tx.get(RelationshipType::SPEC, type_id, Visibility::Live).await? {
            Some(row) => Some(RelationshipType::from_row(row)?),
            None => {
                e.add("relationship_type_id", "no such relationship type");
                None
            }
        };
        if parties.len() != 2 {
            e.add("related_contacts", "must hold exactly two entries");
            return e.finish();
        }
        if !parties.iter().any(|p| p.contact_id == path_contact) {
            e.add("related_contacts", "must include the contact of the path");
        }
        if parties[0].contact_id == parties[1].contact_id {
            e.add("related_contacts", "must name two different contacts");
        }
        for (i, p) in parties.iter().enumerate() {
            if tx.get(Contact::SPEC, p.contact_id, Visibility::Live).await?.is_none() {
                e.add(format!("related_contacts[{i}].contact_id"), "no such contact");
            }
        }
        if let Some(rt) = &rt {
            let ids = &rt.variant_ids.0;
            for (i, p) in parties.iter().enumerate() {
                if !ids.contains(&p.variant_id) {
                    e.add(format!("related_contacts[{i}].variant_id"), "is not a variant of the relationship type");
                }
            }
            if !rt.symmetrical() && parties[0].variant_id == parties[1].variant_id {
                e.add("related_contacts", "a directional relationship takes both of its variants, one at each end");
            }
        }
        e.finish()?;
        // At most one relationship between any two contacts.
        let (a, b) = (parties[0].contact_id, parties[1].contact_id);
        let pair = Filter::Any(vec![
            Filter::All(vec![Filter::eq("contact_id", a), Filter::eq("related_contact_id", b)]),
            Filter::All(vec![Filter::eq("contact_id", b), Filter::eq("related_contact_id", a)]),
        ]);
        let clash = tx.list(Relationship::SPEC, &ListQuery::all().filter(pair)).await?;
        if clash.rows.iter().any(|r| Some(r.id) != except) {
            return Err(DomainError::Conflict("these contacts already have a relationship".into()));
        }
        Ok(())
    }

    pub async fn create_relationship(
        &self,
        actor: Actor,
        contact: i64,
        type_id: i64,
        parties: Vec<Party>,
    ) -> Result<Relationship> {
        let mut tx = self.begin(actor).await?;
        get_in::<Contact>(&mut tx, contact).await?;
        self.check_relationship(&mut tx, contact, type_id, &parties, None).await?;
        let t = Utc::now();
        let r = Relationship {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            contact_id: parties[0].contact_id,
            relationship_type_id: type_id,
            related_contact_id: Some(parties[1].contact_id),
            related_company_id: None,
            note: None,
            variant_id: Some(parties[0].variant_id),
            related_variant_id: Some(parties[1].variant_id),
        };
        let r = insert_in(&mut tx, r).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// A relationship seen from one of its contacts: `NotFound` when the contact is not a party.
    pub async fn relationship_of(&self, actor: Actor, contact: i64, id: i64) -> Result<Relationship> {
        self.get::<Contact>(actor, contact).await?;
        let r = self.get::<Relationship>(actor, id).await?;
        if r.contact_id != contact && r.related_contact_id != Some(contact) {
            return Err(DomainError::invalid("contact_id", "the contact is not a party to this relationship"));
        }
        Ok(r)
    }

    /// Replaces a relationship outright; the path contact must remain a party.
    pub async fn replace_relationship(
        &self,
        actor: Actor,
        contact: i64,
        id: i64,
        type_id: i64,
        parties: Vec<Party>,
    ) -> Result<Relationship> {
        self.relationship_of(actor, contact, id).await?;
        let mut tx = self.begin(actor).await?;
        self.check_relationship(&mut tx, contact, type_id, &parties, Some(id)).await?;
        let mut r: Relationship = get_in(&mut tx, id).await?;
        r.relationship_type_id = type_id;
        r.contact_id = parties[0].contact_id;
        r.variant_id = Some(parties[0].variant_id);
        r.related_contact_id = Some(parties[1].contact_id);
        r.related_variant_id = Some(parties[1].variant_id);
        let r = save_in(&mut tx, &r).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Restores a deleted relationship, unless its type has gone since.
    pub async fn restore_relationship(&self, actor: Actor, contact: i64, id: i64) -> Result<Relationship> {
        self.get::<Contact>(actor, contact).await?;
        let r = self.restore::<Relationship>(actor, id).await?;
        if self.find::<RelationshipType>(actor, r.relationship_type_id).await?.is_none() {
            self.delete::<Relationship>(actor, id).await?;
            return Err(DomainError::NotFound { kind: Relationship::SPEC.kind });
        }
        Ok(r)
    }
}
