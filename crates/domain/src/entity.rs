//! The `Entity` trait and the `entity!` macro that describes an entity once: its struct, its
//! table spec (from which the schema is derived) and its row conversion.

use kith_store::{EntitySpec, Row, Value};

use crate::error::DomainError;

pub trait Entity: Sized + Clone + Send + Sync + 'static {
    const SPEC: &'static EntitySpec;
    fn id(&self) -> i64;
    fn from_row(row: Row) -> Result<Self, DomainError>;
    /// Values for the spec's columns, in order.
    fn values(&self) -> Vec<Value>;
    /// Trims strings (empty optional strings become none) and truncates times.
    fn normalize(&mut self);
    /// Recomputes the columns derived from the others (kept so that the database can filter and
    /// sort by them): called before every write of the record.
    fn derive(&mut self) {}
}

/// The schema version a table or column was added at: 1 unless given.
#[doc(hidden)]
#[macro_export]
macro_rules! since {
    () => {
        1
    };
    ($n:literal) => {
        $n
    };
}

/// Declares an entity (a table or column added after the first schema version says so with
/// `since = N`, `field: Type = since N`; `derive = f` names a `fn(&mut Self)` that fills the
/// derived columns before each write): `entity! { Name, "table", "kind", soft_delete, indexes, unique, { fields } }`.
/// Every entity also gets `id`, `created_at`, `updated_at` and `deleted_at`.
#[macro_export]
macro_rules! entity {
    (
        $(#[$meta:meta])*
        $name:ident, table = $table:literal, kind = $kind:literal, soft_delete = $soft:literal,
        $(since = $tsince:literal,)?
        $(derive = $derive:path,)?
        indexes = [$($idx:expr),* $(,)?], unique = [$($uq:expr),* $(,)?],
        $(global_indexes = [$($gx:expr),* $(,)?],)?
        { $( $(#[$fmeta:meta])* $field:ident : $ty:ty $(= since $fsince:literal)? ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            pub id: i64,
            pub created_at: chrono::DateTime<chrono::Utc>,
            pub updated_at: chrono::DateTime<chrono::Utc>,
            pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::entity::Entity for $name {
            const SPEC: &'static kith_store::EntitySpec = &kith_store::EntitySpec {
                kind: $kind,
                table: $table,
                columns: &[ $( kith_store::Column {
                    name: stringify!($field),
                    ty: <$ty as kith_store::FieldType>::TYPE,
                    nullable: <$ty as kith_store::FieldType>::NULLABLE,
                    since: $crate::since!($($fsince)?),
                } ),* ],
                soft_delete: $soft,
                indexes: &[$($idx),*],
                unique: &[$($uq),*],
                global_indexes: &[$($($gx),*)?],
                since: $crate::since!($($tsince)?),
            };

            fn id(&self) -> i64 {
                self.id
            }

            #[allow(unused_mut, unused_variables)]
            fn from_row(row: kith_store::Row) -> Result<Self, $crate::error::DomainError> {
                let mut values = row.values.into_iter();
                Ok($name {
                    id: row.id,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                    deleted_at: row.deleted_at,
                    $( $field: <$ty as kith_store::FieldType>::from_value(
                        values.next().unwrap_or(kith_store::Value::Null),
                    )
                    .map_err(|e| $crate::error::DomainError::corrupt($kind, stringify!($field), e))?, )*
                })
            }

            fn values(&self) -> Vec<kith_store::Value> {
                vec![ $( kith_store::FieldType::to_value(&self.$field) ),* ]
            }

            fn normalize(&mut self) {
                $( kith_store::FieldType::normalize(&mut self.$field); )*
            }

            $( fn derive(&mut self) {
                $derive(self)
            } )?
        }
    };
}
