//! The schema, derived from entity specs, and the versioned migrations that build it.
//!
//! A spec's `since` says which schema version added a table or column. Migration N creates
//! the tables added at N and adds the columns added at N to older tables, so the history of
//! the schema stays reproducible while the specs remain the one description of it. Never
//! change what an applied version produces: add a column with a higher `since` instead.

use crate::spec::EntitySpec;
use crate::sql::{Backend, sql_type};
use crate::value::ColumnType;

/// Statements that bring a database from version `version - 1` to `version`.
pub(crate) fn migration(backend: Backend, version: u32, specs: &[&EntitySpec]) -> Vec<String> {
    let mut out = Vec::new();
    if version == 1 {
        out.extend(system_tables(backend));
    }
    if version == 2 && backend == Backend::Postgres {
        // Orders webhook deliveries by commit across replicas (ids come in per-process blocks).
        out.push("CREATE SEQUENCE IF NOT EXISTS kith_delivery_seq".into());
    }
    if version == 3 {
        // Tag names were unique per account (`ux_tags_0` on `name`); from version 3 they are
        // unique per resource type, by the index of the same name that this version creates.
        out.push("DROP INDEX IF EXISTS ux_tags_0".into());
    }
    for spec in specs {
        if spec.since == version {
            out.push(create_table(backend, spec, version));
            // An index over a column a later version adds is made by `ensure_indexes`.
            for (i, cols) in spec.indexes.iter().enumerate().filter(|(_, cols)| columns_exist(spec, cols, version)) {
                out.push(index(spec, "ix", i, cols, false));
            }
            // A unique index over a column a later version adds is made by that version.
            for (i, cols) in spec.unique.iter().enumerate().filter(|(_, cols)| columns_exist(spec, cols, version)) {
                out.push(index(spec, "ux", i, cols, true));
            }
            for col in spec.global_indexes {
                out.push(format!("CREATE INDEX IF NOT EXISTS gx_{}_{col} ON {} ({col})", spec.table, spec.table));
            }
        } else if spec.since < version {
            for c in spec.columns.iter().filter(|c| c.since == version) {
                out.push(format!(
                    "ALTER TABLE {} ADD COLUMN {} {}{}",
                    spec.table,
                    c.name,
                    sql_type(backend, c.ty),
                    if c.nullable { "" } else { default_for(c.ty) }
                ));
            }
            for (i, cols) in spec.unique.iter().enumerate() {
                if columns_exist(spec, cols, version) && !columns_exist(spec, cols, version - 1) {
                    out.push(index(spec, "ux", i, cols, true));
                }
            }
        }
    }
    if version == 3 && specs.iter().any(|s| s.table == "tags") {
        // Tags from before version 3 are contact tags.
        out.push("UPDATE tags SET resource_type = 'contact' WHERE resource_type = ''".into());
    }
    out
}

/// Whether every plain column an index names exists at `version`.
fn columns_exist(spec: &EntitySpec, cols: &[&str], version: u32) -> bool {
    // An expression (`lower(name)`, `x IS NULL`) or a predicate names its columns among other
    // words: each word that is a column must exist at `version`.
    cols.iter()
        .flat_map(|c| c.split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')))
        .all(|word| spec.column(word).is_none_or(|col| col.since <= version))
}

/// The highest version any spec mentions.
pub(crate) fn latest_version(specs: &[&EntitySpec]) -> u32 {
    specs
        .iter()
        .flat_map(|s| std::iter::once(s.since).chain(s.columns.iter().map(|c| c.since)))
        .max()
        .unwrap_or(1)
        .max(1)
}

fn default_for(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Int | ColumnType::Float => " NOT NULL DEFAULT 0",
        ColumnType::Bool => " NOT NULL DEFAULT FALSE",
        ColumnType::Text => " NOT NULL DEFAULT ''",
        ColumnType::Json => " NOT NULL DEFAULT '{}'",
        // A time column added later must be nullable.
        ColumnType::Time => "",
    }
}

fn create_table(backend: Backend, spec: &EntitySpec, version: u32) -> String {
    let int = sql_type(backend, ColumnType::Int);
    let time = sql_type(backend, ColumnType::Time);
    let mut cols = vec![
        format!("account_id {int} NOT NULL"),
        format!("id {int} NOT NULL"),
        format!("created_at {time} NOT NULL"),
        format!("updated_at {time} NOT NULL"),
    ];
    if spec.soft_delete {
        cols.push(format!("deleted_at {time}"));
    }
    for c in spec.columns.iter().filter(|c| c.since <= version) {
        cols.push(format!("{} {}{}", c.name, sql_type(backend, c.ty), if c.nullable { "" } else { " NOT NULL" }));
    }
    cols.push("PRIMARY KEY (account_id, id)".into());
    format!("CREATE TABLE IF NOT EXISTS {} (\n  {}\n)", spec.table, cols.join(",\n  "))
}

/// An index led by `account_id`. An entry that is not a bare column name is an expression
/// (`lower(last_name)`, `last_name IS NULL`) and is parenthesised, as PostgreSQL requires; a
/// last entry `WHERE …` makes a partial index (`WHERE deleted_at IS NULL`: live rows only, so
/// that counts of live rows are answered from the index alone).
fn index(spec: &EntitySpec, prefix: &str, n: usize, cols: &[&str], unique: bool) -> String {
    let (cols, predicate) = match cols.split_last() {
        Some((last, rest)) if last.starts_with("WHERE ") => (rest, format!(" {last}")),
        _ => (cols, String::new()),
    };
    let cols: Vec<String> =
        cols.iter()
            .map(|c| {
                if c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    (*c).to_owned()
                } else {
                    format!("({c})")
                }
            })
            .collect();
    format!(
        "CREATE {}INDEX IF NOT EXISTS {prefix}_{}_{n} ON {} (account_id, {}){predicate}",
        if unique { "UNIQUE " } else { "" },
        spec.table,
        spec.table,
        cols.join(", ")
    )
}

/// Every non-unique index the specs declare for schema `version`, each created if missing. Run
/// on every migrate, so an index added to a spec's list (always at its end: names follow
/// positions) reaches databases made before it.
pub(crate) fn ensure_indexes(specs: &[&EntitySpec], version: u32) -> Vec<String> {
    let specs: Vec<&&EntitySpec> = specs.iter().filter(|s| s.since <= version).collect();
    let mut out: Vec<String> = specs
        .iter()
        .flat_map(|spec| {
            spec.indexes
                .iter()
                .enumerate()
                .filter(|(_, cols)| columns_exist(spec, cols, version))
                .map(|(i, cols)| index(spec, "ix", i, cols, false))
        })
        .collect();
    for spec in specs {
        for col in spec.global_indexes {
            out.push(format!("CREATE INDEX IF NOT EXISTS gx_{}_{col} ON {} ({col})", spec.table, spec.table));
        }
    }
    out
}

/// Tables outside the entity model: the id allocator and the migration record.
fn system_tables(backend: Backend) -> Vec<String> {
    match backend {
        Backend::Sqlite => vec![
            "CREATE TABLE IF NOT EXISTS kith_ids (name TEXT PRIMARY KEY, next_id INTEGER NOT NULL)".into(),
            "INSERT INTO kith_ids (name, next_id) VALUES ('global', 1000) ON CONFLICT DO NOTHING".into(),
        ],
        Backend::Postgres => vec![format!(
            "CREATE SEQUENCE IF NOT EXISTS kith_id_seq START WITH 1000 INCREMENT BY {}",
            crate::ids::PG_BLOCK
        )],
    }
}
