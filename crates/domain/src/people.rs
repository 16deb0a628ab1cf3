//! Persons and organisations in one listing (Sell's contacts): one order over both kinds, and
//! the page cut in the database, so a request reads one page of records whatever the page.

use std::collections::HashMap;

use kith_store::{ColumnType, Dir, Field, Filter, Key, UnionBranch, UnionQuery};

use crate::crm::{Actor, Crm};
use crate::entity::Entity;
use crate::error::Result;
use crate::model::{Company, Contact, CustomFieldDefinition};

/// What a listing of persons and organisations is ordered by. Text ignores ASCII case; records
/// that compare equal follow their ids (ascending, whatever the direction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeopleSort {
    Id,
    /// A person's name is its last name then first name, as one text (`lovelace ada`;
    /// `lovelace` without a first name, ` ada` without a last name, so before any letter); an
    /// organisation's is its name.
    Name,
    /// To the whole second: records made within one second follow their ids.
    CreatedAt,
    UpdatedAt,
    /// A custom field, by name, of each kind's own definitions. Numbers (of number fields) come
    /// first in numeric order, then yes/no values (no first), then other values as text, then
    /// records without a value (a kind without such a field has none).
    CustomField(String),
}

/// One page of persons and organisations. `persons` and `organizations` each say which records
/// of that kind are listed (records meeting every filter), or `None` for none of that kind.
#[derive(Debug, Clone, PartialEq)]
pub struct PeopleQuery {
    pub persons: Option<Vec<Filter>>,
    pub organizations: Option<Vec<Filter>>,
    pub sort: PeopleSort,
    pub descending: bool,
    pub offset: u64,
    pub limit: u64,
}

/// A record of a listing of persons and organisations.
#[derive(Debug, Clone, PartialEq)]
pub enum PersonOrOrganization {
    Person(Contact),
    Organization(Company),
}

/// The sort keys of one kind, for the key positions `sort` uses.
fn keys(sort: &PeopleSort, person: bool, defs: &[CustomFieldDefinition]) -> Vec<Key> {
    match sort {
        PeopleSort::Id => vec![Key::Field(Field::col("id"))],
        PeopleSort::Name if person => {
            vec![Key::Joined { columns: vec!["last_name".into(), "first_name".into()], separator: " ".into() }]
        }
        PeopleSort::Name => vec![Key::Field(Field::col("name"))],
        PeopleSort::CreatedAt => vec![Key::Seconds("created_at".into())],
        PeopleSort::UpdatedAt => vec![Key::Seconds("updated_at".into())],
        PeopleSort::CustomField(name) => {
            // Positions: number, yes/no, text. A kind fills the one its field compares as.
            let mut keys = vec![Key::Null(ColumnType::Float), Key::Null(ColumnType::Bool), Key::Null(ColumnType::Text)];
            if let Some(def) = defs.iter().find(|d| d.name == *name) {
                let slot = match def.kind().compare_as() {
                    kith_store::CustomType::Number => 0,
                    kith_store::CustomType::Bool => 1,
                    kith_store::CustomType::Text => 2,
                };
                keys[slot] = Key::Field(def.store_field());
            }
            keys
        }
    }
}

impl Crm {
    /// A page of persons and organisations in one order (see `PeopleSort`).
    pub async fn list_people_and_organizations(
        &self,
        actor: Actor,
        q: &PeopleQuery,
    ) -> Result<Vec<PersonOrOrganization>> {
        let (person_defs, organization_defs) = match &q.sort {
            PeopleSort::CustomField(_) => {
                (self.custom_fields(actor, "contact").await?, self.custom_fields(actor, "company").await?)
            }
            _ => (Vec::new(), Vec::new()),
        };
        let dir = if q.descending { Dir::Desc } else { Dir::Asc };
        let mut branches = Vec::new();
        let mut kinds = Vec::new();
        let filter = |filters: &[Filter]| (!filters.is_empty()).then(|| Filter::All(filters.to_vec()));
        if let Some(filters) = &q.persons {
            let keys = keys(&q.sort, true, &person_defs);
            branches.push(UnionBranch { spec: Contact::SPEC, filter: filter(filters), keys });
            kinds.push(true);
        }
        if let Some(filters) = &q.organizations {
            let keys = keys(&q.sort, false, &organization_defs);
            branches.push(UnionBranch { spec: Company::SPEC, filter: filter(filters), keys });
            kinds.push(false);
        }
        let width = branches.first().map_or(0, |b| b.keys.len());
        let union =
            UnionQuery { branches, dirs: vec![dir; width], offset: q.offset, limit: q.limit, with_total: false };
        let page = self.store().list_union(actor.account_id, &union).await?.rows;
        let (mut person_ids, mut organization_ids) = (Vec::new(), Vec::new());
        for (branch, id) in &page {
            match kinds.get(*branch) {
                Some(true) => person_ids.push(*id),
                Some(false) => organization_ids.push(*id),
                None => {}
            }
        }
        let mut persons: HashMap<i64, Contact> = HashMap::new();
        for row in self.store().get_many(actor.account_id, Contact::SPEC, &person_ids).await? {
            let c = Contact::from_row(row)?;
            persons.insert(c.id, c);
        }
        let mut organizations: HashMap<i64, Company> = HashMap::new();
        for row in self.store().get_many(actor.account_id, Company::SPEC, &organization_ids).await? {
            let c = Company::from_row(row)?;
            organizations.insert(c.id, c);
        }
        // A record deleted between the two reads is left out.
        Ok(page
            .into_iter()
            .filter_map(|(branch, id)| match kinds.get(branch)? {
                true => persons.remove(&id).map(PersonOrOrganization::Person),
                false => organizations.remove(&id).map(PersonOrOrganization::Organization),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom_fields::FieldKind;

    #[test]
    fn custom_sorts_fill_the_position_of_their_type() {
        let def = |id: i64, name: &str, ty: &str| CustomFieldDefinition {
            id,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            deleted_at: None,
            entity_kind: "contact".into(),
            name: name.into(),
            field_type: ty.into(),
            choices: kith_store::Json(Vec::new()),
            position: 0,
            filterable: true,
        };
        let defs = [def(1, "Seats", FieldKind::Number.name()), def(2, "Tier", "dropdown"), def(3, "Vip", "boolean")];
        let sort = |name: &str| keys(&PeopleSort::CustomField(name.into()), true, &defs);
        assert_eq!(sort("Seats")[0], Key::Field(defs[0].store_field()));
        assert_eq!(sort("Vip")[1], Key::Field(defs[2].store_field()));
        assert_eq!(sort("Tier")[2], Key::Field(defs[1].store_field()));
        assert_eq!(sort("Tier")[0], Key::Null(ColumnType::Float));
        assert!(sort("Nope").iter().all(|k| matches!(k, Key::Null(_))), "no such field: no value");
    }
}
