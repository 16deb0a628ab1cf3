//! Bulk writes for imports: many rows of one entity in few statements, each row with the event
//! one `insert` or `update` would have recorded, so that a bulk write reads back (and fans out to
//! webhooks) exactly as the same writes made one at a time.

use std::collections::HashMap;

use crate::db::{Operation, Tx};
use crate::error::{Result, StoreError};
use crate::events::RecordedEvent;
use crate::query::{Field, Filter, ListQuery};
use crate::spec::{EntitySpec, Row};
use crate::sql::bind;
use crate::system::EVENTS;
use crate::value::{ColumnType, Value, now};

/// Bound values per statement: under SQLite's (32,766) and PostgreSQL's (65,535) limits.
const MAX_PARAMS: usize = 30_000;
/// Ids per `IN (...)` lookup.
const LOOKUP_CHUNK: usize = 500;

impl Tx {
    /// Inserts rows whose ids were taken beforehand (`next_ids`), in multi-row statements,
    /// recording a `created` event for each, as `insert_with_id` does. `values` follow
    /// `spec.columns`.
    pub async fn insert_many_with_ids(
        &mut self,
        spec: &'static EntitySpec,
        rows: Vec<(i64, Vec<Value>)>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.touch(spec);
        let event_ids = self.next_ids(rows.len()).await?;
        let actor = self.actor().map_or(Value::Null, Value::Int);
        let mut events = Vec::with_capacity(rows.len());
        for ((id, values), event_id) in rows.iter().zip(event_ids) {
            let changed: Vec<&str> =
                spec.columns.iter().zip(values).filter(|(_, v)| !v.is_null()).map(|(c, _)| c.name).collect();
            self.events.push(RecordedEvent {
                id: event_id,
                kind: spec.kind,
                entity_id: *id,
                operation: Operation::Created,
            });
            events.push((event_id, event_values(spec.kind, *id, Operation::Created, &actor, &changed)));
        }
        self.insert_rows(spec, rows).await?;
        self.insert_rows(&EVENTS, events).await
    }

    /// The live rows of `spec` whose `column` is one of `values`, read in this transaction with
    /// `IN (...)` lookups of a few hundred values each (in no particular order).
    pub async fn find_in(&mut self, spec: &EntitySpec, column: &str, values: &[Value]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for chunk in values.chunks(LOOKUP_CHUNK) {
            let f = Filter::In { field: Field::col(column), values: chunk.to_vec() };
            out.extend(self.list(spec, &ListQuery::all().filter(f)).await?.rows);
        }
        Ok(out)
    }

    /// Writes whole rows (every column, `values` following `spec.columns`) over the live rows
    /// with their ids, in multi-row statements: the result is the same as one `update` per row
    /// with every column. Only the columns whose value changes are written, a row that changes
    /// in nothing is not written and records no event; each changed row records an `updated`
    /// event naming its changed columns. Returns each row after the change, in the order given;
    /// `None` for an id with no live row (which is left alone). Each id at most once.
    pub async fn update_many(
        &mut self,
        spec: &'static EntitySpec,
        rows: Vec<(i64, Vec<Value>)>,
    ) -> Result<Vec<Option<Row>>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Value> = rows.iter().map(|(id, _)| Value::Int(*id)).collect();
        let mut stored: HashMap<i64, Row> =
            self.find_in(spec, "id", &ids).await?.into_iter().map(|r| (r.id, r)).collect();
        let t = now();
        // Rows grouped by the set of columns they change: one statement shape per group.
        let mut groups: HashMap<Vec<usize>, Vec<(i64, Vec<Value>)>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        let mut changed_rows: Vec<(i64, Vec<&'static str>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (id, values) in rows {
            if values.len() != spec.columns.len() {
                return Err(StoreError::Query(format!(
                    "{}: {} values for {} columns",
                    spec.kind,
                    values.len(),
                    spec.columns.len()
                )));
            }
            if !seen.insert(id) {
                return Err(StoreError::Query(format!("{}: row {id} given twice to update_many", spec.kind)));
            }
            let Some(mut row) = stored.remove(&id) else {
                out.push(None);
                continue;
            };
            let changed: Vec<usize> = (0..values.len()).filter(|&i| row.values[i] != values[i]).collect();
            if !changed.is_empty() {
                let names = changed.iter().map(|&i| spec.columns[i].name).collect();
                let set = changed.iter().map(|&i| values[i].clone()).collect();
                groups.entry(changed).or_default().push((id, set));
                row.values = values;
                row.updated_at = t;
                changed_rows.push((id, names));
            }
            out.push(Some(row));
        }
        if changed_rows.is_empty() {
            return Ok(out);
        }
        self.touch(spec);
        for (columns, group) in groups {
            self.update_group(spec, &columns, group, t).await?;
        }
        let event_ids = self.next_ids(changed_rows.len()).await?;
        let actor = self.actor().map_or(Value::Null, Value::Int);
        let mut events = Vec::with_capacity(changed_rows.len());
        for ((id, names), event_id) in changed_rows.into_iter().zip(event_ids) {
            self.events.push(RecordedEvent {
                id: event_id,
                kind: spec.kind,
                entity_id: id,
                operation: Operation::Updated,
            });
            events.push((event_id, event_values(spec.kind, id, Operation::Updated, &actor, &names)));
        }
        self.insert_rows(&EVENTS, events).await?;
        Ok(out)
    }

    /// `WITH v(id, c…) AS (VALUES (…), …) UPDATE t SET c = v.c, … FROM v WHERE t.id = v.id`, in
    /// statements sized to the parameter limit (SQLite and PostgreSQL both take this form).
    async fn update_group(
        &mut self,
        spec: &EntitySpec,
        columns: &[usize],
        rows: Vec<(i64, Vec<Value>)>,
        t: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let backend = self.backend();
        let width = columns.len() + 1;
        let per_statement = ((MAX_PARAMS - 2) / width).clamp(1, 1000);
        let names: Vec<String> = columns.iter().map(|&i| quote(spec.columns[i].name)).collect();
        let head = format!("WITH v(\"id\", {}) AS (VALUES ", names.join(", "));
        let row_marks = format!("({})", vec!["?"; width].join(", "));
        let set: Vec<String> = names.iter().map(|n| format!("{n} = v.{n}")).collect();
        let table = quote(spec.table);
        let tail = format!(
            ") UPDATE {table} SET {}, \"updated_at\" = ? FROM v WHERE {table}.\"account_id\" = ? AND {table}.\"id\" = v.\"id\"",
            set.join(", ")
        );
        let time = bind(backend, ColumnType::Time, &Value::Time(t))?;
        let account = bind(backend, ColumnType::Int, &Value::Int(self.account_id()))?;
        for chunk in rows.chunks(per_statement) {
            let mut sql = head.clone();
            let mut values = Vec::with_capacity(chunk.len() * width + 2);
            for (n, (id, set)) in chunk.iter().enumerate() {
                if n > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&row_marks);
                values.push(bind(backend, ColumnType::Int, &Value::Int(*id))?);
                for (&i, v) in columns.iter().zip(set) {
                    values.push(bind(backend, spec.columns[i].ty, v)?);
                }
            }
            sql.push_str(&tail);
            values.push(time.clone());
            values.push(account.clone());
            self.conn().execute_raw(&sql, values).await?;
        }
        Ok(())
    }
}

/// An event row's values, as `Tx::record` writes them.
fn event_values(kind: &str, entity_id: i64, op: Operation, actor: &Value, changed: &[&str]) -> Vec<Value> {
    vec![
        Value::Text(kind.to_owned()),
        Value::Int(entity_id),
        Value::Text(op.as_str().to_owned()),
        actor.clone(),
        Value::Json(serde_json::json!(changed)),
    ]
}

/// A quoted identifier (the specs' names are plain, but some are SQL words: `type`, `key`).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
