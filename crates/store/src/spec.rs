//! Descriptions of the entity tables. Each entity is described once; the schema (DDL for both
//! backends), the generic CRUD statements and the row decoder are all derived from it.

use crate::value::{ColumnType, Value};

/// One column an entity owns. Every entity table also has the standard columns
/// `account_id`, `id`, `created_at`, `updated_at` and, when soft-deletable, `deleted_at`.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    /// The schema version that added the column; migrations add it at that version.
    pub since: u32,
}

#[derive(Debug)]
pub struct EntitySpec {
    /// Singular name used in events and errors (`contact`).
    pub kind: &'static str,
    pub table: &'static str,
    pub columns: &'static [Column],
    pub soft_delete: bool,
    /// Column lists to index, each led by `account_id` in the generated index.
    pub indexes: &'static [&'static [&'static str]],
    /// Column sets that must be unique within an account.
    pub unique: &'static [&'static [&'static str]],
    /// Columns looked up across accounts (credentials), indexed without `account_id`.
    pub global_indexes: &'static [&'static str],
    /// The schema version that added the table.
    pub since: u32,
}

impl PartialEq for EntitySpec {
    fn eq(&self, other: &Self) -> bool {
        self.table == other.table
    }
}

impl EntitySpec {
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The type of a column, standard ones included.
    pub fn column_type(&self, name: &str) -> Option<ColumnType> {
        match name {
            "id" | "account_id" => Some(ColumnType::Int),
            "created_at" | "updated_at" => Some(ColumnType::Time),
            "deleted_at" if self.soft_delete => Some(ColumnType::Time),
            _ => self.column(name).map(|c| c.ty),
        }
    }

    /// All columns in the order rows are selected: standard ones first.
    pub fn select_columns(&self) -> Vec<(&'static str, ColumnType)> {
        let mut cols =
            vec![("id", ColumnType::Int), ("created_at", ColumnType::Time), ("updated_at", ColumnType::Time)];
        if self.soft_delete {
            cols.push(("deleted_at", ColumnType::Time));
        }
        cols.extend(self.columns.iter().map(|c| (c.name, c.ty)));
        cols
    }
}

/// A row of an entity table as the store sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// One value per `EntitySpec::columns`, in that order.
    pub values: Vec<Value>,
}
