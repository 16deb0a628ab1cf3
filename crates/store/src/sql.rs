//! Turns entity specs and list queries into sea-query statements. Everything that differs
//! between SQLite and PostgreSQL in a query lives in this module.

use sea_query::{Alias, Cond, Expr, ExprTrait, Func, LikeExpr, Order, Query, SelectStatement, UnionType};

use crate::error::StoreError;
use crate::query::{
    Cursor, CustomType, Dir, Field, Filter, JsonStep, Key, ListQuery, Op, Page, Sort, UnionQuery, Visibility,
};
use crate::spec::EntitySpec;
use crate::value::{ColumnType, Value};

/// The most rows a query skips or returns: below `i64::MAX`, so a bound value always converts.
const MAX_ROWS: u64 = (i64::MAX as u64) >> 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Binds a value for a column of type `ty`. Nulls are typed so PostgreSQL accepts them.
pub(crate) fn bind(backend: Backend, ty: ColumnType, v: &Value) -> Result<sea_query::Value, StoreError> {
    use sea_query::Value as S;
    let bad = || StoreError::Query(format!("value {v:?} does not fit a {ty:?} field"));
    match v {
        Value::Text(s) if s.contains('\0') => return Err(StoreError::Nul),
        Value::Json(j) if json_has_nul(j) => return Err(StoreError::Nul),
        // PostgreSQL keeps neither the years chrono can reach at each end nor year 0; SQLite
        // would. One range for both: what any client can mean.
        Value::Time(t) if !(1..=9999).contains(&chrono::Datelike::year(t)) => {
            return Err(StoreError::Query(format!("time {t} is out of range (years 1 to 9999)")));
        }
        _ => {}
    }
    Ok(match (ty, v) {
        (ColumnType::Int, Value::Null) => S::BigInt(None),
        (ColumnType::Int, Value::Int(i)) => S::BigInt(Some(*i)),
        (ColumnType::Bool, Value::Null) => S::Bool(None),
        (ColumnType::Bool, Value::Bool(b)) => S::Bool(Some(*b)),
        (ColumnType::Float, Value::Null) => S::Double(None),
        (ColumnType::Float, Value::Float(f)) => S::Double(Some(*f)),
        (ColumnType::Float, Value::Int(i)) => S::Double(Some(*i as f64)),
        (ColumnType::Text, Value::Null) => S::String(None),
        (ColumnType::Text, Value::Text(s)) => S::String(Some(s.clone())),
        (ColumnType::Time, Value::Null) => match backend {
            Backend::Sqlite => S::BigInt(None),
            Backend::Postgres => S::ChronoDateTimeUtc(None),
        },
        (ColumnType::Time, Value::Time(t)) => match backend {
            Backend::Sqlite => S::BigInt(Some(t.timestamp_micros())),
            Backend::Postgres => S::ChronoDateTimeUtc(Some(*t)),
        },
        (ColumnType::Json, Value::Null) => match backend {
            Backend::Sqlite => S::String(None),
            Backend::Postgres => S::Json(None),
        },
        (ColumnType::Json, Value::Json(j)) => match backend {
            Backend::Sqlite => S::String(Some(j.to_string())),
            Backend::Postgres => S::Json(Some(Box::new(j.clone()))),
        },
        _ => return Err(bad()),
    })
}

/// Whether a JSON document holds a NUL character in any string or key.
fn json_has_nul(j: &serde_json::Value) -> bool {
    match j {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(json_has_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

fn custom_column_type(ty: CustomType) -> ColumnType {
    match ty {
        CustomType::Text => ColumnType::Text,
        CustomType::Number => ColumnType::Float,
        CustomType::Bool => ColumnType::Bool,
    }
}

/// Custom-field keys are spliced into a JSON path, so only plain keys are accepted.
fn valid_custom_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Builds statements for one backend and one account.
pub(crate) struct Builder {
    pub backend: Backend,
    pub account_id: i64,
}

/// A resolved field: the SQL expression, its type, and whether it sorts by lowered text.
struct Resolved {
    expr: Expr,
    ty: ColumnType,
    /// Whether the field can be null (sorts then lead with an `IS NULL` key).
    nullable: bool,
}

impl Builder {
    fn column(&self, alias: &str, spec: &EntitySpec, name: &str) -> Result<Resolved, StoreError> {
        let ty =
            spec.column_type(name).ok_or_else(|| StoreError::Query(format!("{} has no field {name}", spec.kind)))?;
        let nullable = match name {
            "id" | "account_id" | "created_at" | "updated_at" => false,
            "deleted_at" => true,
            _ => spec.column(name).is_none_or(|c| c.nullable),
        };
        Ok(Resolved { expr: Expr::col((Alias::new(alias), Alias::new(name))), ty, nullable })
    }

    fn field(&self, alias: &str, spec: &EntitySpec, field: &Field) -> Result<Resolved, StoreError> {
        match field {
            Field::Column(name) => self.column(alias, spec, name),
            Field::Custom { key, ty } => {
                if spec.column("custom_fields").is_none() {
                    return Err(StoreError::Query(format!("{} has no custom fields", spec.kind)));
                }
                if !valid_custom_key(key) {
                    return Err(StoreError::Query(format!("invalid custom field key {key:?}")));
                }
                let sql = match (self.backend, ty) {
                    (Backend::Sqlite, CustomType::Number) => {
                        format!(r#"CAST(json_extract("{alias}"."custom_fields", '$."{key}"') AS REAL)"#)
                    }
                    (Backend::Sqlite, _) => format!(r#"json_extract("{alias}"."custom_fields", '$."{key}"')"#),
                    // Byte-order collation, like the text columns: the same order and ASCII-only
                    // case folding as SQLite, whatever the database's default collation.
                    (Backend::Postgres, CustomType::Text) => {
                        format!(r#"(("{alias}"."custom_fields" ->> '{key}') COLLATE "C")"#)
                    }
                    (Backend::Postgres, CustomType::Number) => {
                        format!(r#"(("{alias}"."custom_fields" ->> '{key}')::double precision)"#)
                    }
                    (Backend::Postgres, CustomType::Bool) => {
                        format!(r#"(("{alias}"."custom_fields" ->> '{key}')::boolean)"#)
                    }
                };
                Ok(Resolved { expr: Expr::cust(sql), ty: custom_column_type(*ty), nullable: true })
            }
            Field::JsonText { column, path } => {
                if spec.column_type(column) != Some(ColumnType::Json) {
                    return Err(StoreError::Query(format!("{} has no JSON field {column}", spec.kind)));
                }
                let mut sqlite_path = String::from("$");
                let mut pg_path = Vec::new();
                for step in path {
                    match step {
                        JsonStep::Key(key) if valid_custom_key(key) => {
                            sqlite_path.push_str(&format!(r#"."{key}""#));
                            pg_path.push(key.clone());
                        }
                        JsonStep::Key(key) => return Err(StoreError::Query(format!("invalid JSON key {key:?}"))),
                        JsonStep::Index(i) => {
                            sqlite_path.push_str(&format!("[{i}]"));
                            pg_path.push(i.to_string());
                        }
                    }
                }
                let sql = match self.backend {
                    Backend::Sqlite => format!(r#"json_extract("{alias}"."{column}", '{sqlite_path}')"#),
                    Backend::Postgres => {
                        format!(r#"(("{alias}"."{column}" #>> '{{{}}}') COLLATE "C")"#, pg_path.join(","))
                    }
                };
                Ok(Resolved { expr: Expr::cust(sql), ty: ColumnType::Text, nullable: true })
            }
        }
    }

    fn value(&self, ty: ColumnType, v: &Value) -> Result<Expr, StoreError> {
        Ok(Expr::val(bind(self.backend, ty, v)?))
    }

    /// The condition every read starts from: the account, then soft-delete visibility.
    fn scope(&self, alias: &str, spec: &EntitySpec, visibility: Visibility) -> Cond {
        let mut cond = Cond::all().add(Expr::col((Alias::new(alias), "account_id")).eq(self.account_id));
        if spec.soft_delete {
            let deleted = Expr::col((Alias::new(alias), "deleted_at"));
            match visibility {
                Visibility::Live => cond = cond.add(deleted.is_null()),
                Visibility::Deleted => cond = cond.add(deleted.is_not_null()),
                Visibility::All => {}
            }
        }
        cond
    }

    fn filter(&self, depth: usize, spec: &EntitySpec, filter: &Filter) -> Result<Cond, StoreError> {
        let alias = format!("t{depth}");
        Ok(match filter {
            Filter::All(items) => {
                items.iter().try_fold(Cond::all(), |c, f| Ok::<_, StoreError>(c.add(self.filter(depth, spec, f)?)))?
            }
            Filter::Any(items) => {
                if items.is_empty() {
                    return Ok(Cond::all().add(Expr::cust("1 = 0")));
                }
                items.iter().try_fold(Cond::any(), |c, f| Ok::<_, StoreError>(c.add(self.filter(depth, spec, f)?)))?
            }
            // Two-valued logic: a leaf that SQL evaluates to NULL (a comparison with a null
            // field, `x IN (subquery)` when the subquery yields nulls) does not match, so its
            // negation does.
            Filter::Not(inner) => {
                let inner = Expr::from(self.filter(depth, spec, inner)?);
                Cond::all().add(Expr::expr(Func::coalesce([inner, Expr::val(false)])).not())
            }
            Filter::IsNull(field) => Cond::all().add(self.field(&alias, spec, field)?.expr.is_null()),
            Filter::IsNotNull(field) => Cond::all().add(self.field(&alias, spec, field)?.expr.is_not_null()),
            Filter::In { field, values } => {
                let r = self.field(&alias, spec, field)?;
                if values.is_empty() {
                    return Ok(Cond::all().add(Expr::cust("1 = 0")));
                }
                let vals = values.iter().map(|v| bind(self.backend, r.ty, v)).collect::<Result<Vec<_>, _>>()?;
                Cond::all().add(r.expr.is_in(vals))
            }
            Filter::Cmp { field, op, value } => self.compare(&alias, spec, field, *op, value)?,
            Filter::Includes { field, value } => self.includes(&alias, spec, field, value)?,
            Filter::Related { via, target, filter } => {
                let via_col = self.column(&alias, spec, via)?;
                let sub = self.subquery(depth + 1, target, "id", filter)?;
                Cond::all().add(via_col.expr.in_subquery(sub))
            }
            Filter::Referenced { target, via, filter } => {
                let id = self.column(&alias, spec, "id")?;
                let sub = self.subquery(depth + 1, target, via, filter)?;
                Cond::all().add(id.expr.in_subquery(sub))
            }
        })
    }

    fn subquery(
        &self,
        depth: usize,
        target: &EntitySpec,
        select: &str,
        filter: &Filter,
    ) -> Result<SelectStatement, StoreError> {
        let alias = format!("t{depth}");
        let col = self.column(&alias, target, select)?;
        let mut sub = Query::select();
        sub.expr(col.expr).from_as(Alias::new(target.table), Alias::new(&alias)).cond_where(self.scope(
            &alias,
            target,
            Visibility::Live,
        ));
        sub.cond_where(self.filter(depth, target, filter)?);
        Ok(sub)
    }

    /// `value` among the elements of the JSON array a field holds: a custom field, or a JSON
    /// column. Elements compare by type, so the text `"1"` does not match the number `1`.
    fn includes(&self, alias: &str, spec: &EntitySpec, field: &Field, value: &Value) -> Result<Cond, StoreError> {
        let (document, key) = match field {
            Field::Custom { key, .. } => {
                if spec.column("custom_fields").is_none() {
                    return Err(StoreError::Query(format!("{} has no custom fields", spec.kind)));
                }
                if !valid_custom_key(key) {
                    return Err(StoreError::Query(format!("invalid custom field key {key:?}")));
                }
                (format!(r#""{alias}"."custom_fields""#), Some(key.as_str()))
            }
            Field::Column(name) => {
                if spec.column_type(name) != Some(ColumnType::Json) {
                    return Err(StoreError::Query(format!("includes applies to JSON fields only, not {name}")));
                }
                (format!(r#""{alias}"."{name}""#), None)
            }
            Field::JsonText { .. } => {
                return Err(StoreError::Query("includes applies to arrays, not to text in a JSON field".into()));
            }
        };
        let (ty, cast) = match value {
            Value::Text(_) => (ColumnType::Text, "TEXT"),
            Value::Int(_) => (ColumnType::Int, "BIGINT"),
            _ => return Err(StoreError::Query("includes takes a text or integer value".into())),
        };
        let bound = bind(self.backend, ty, value)?;
        let sql = match (self.backend, key) {
            (Backend::Sqlite, Some(key)) => {
                format!(r#"EXISTS (SELECT 1 FROM json_each({document}, '$."{key}"') AS "je" WHERE "je"."value" = ?)"#)
            }
            (Backend::Sqlite, None) => {
                format!(r#"EXISTS (SELECT 1 FROM json_each({document}) AS "je" WHERE "je"."value" = ?)"#)
            }
            (Backend::Postgres, Some(key)) => {
                format!("(({document} -> '{key}') @> to_jsonb(CAST($1 AS {cast})))")
            }
            (Backend::Postgres, None) => format!("({document} @> to_jsonb(CAST($1 AS {cast})))"),
        };
        Ok(Cond::all().add(Expr::cust_with_values(sql, [bound])))
    }

    fn compare(
        &self,
        alias: &str,
        spec: &EntitySpec,
        field: &Field,
        op: Op,
        value: &Value,
    ) -> Result<Cond, StoreError> {
        let r = self.field(alias, spec, field)?;
        if value.is_null() {
            return Err(StoreError::Query("compare with null: use IsNull/IsNotNull".into()));
        }
        let expr = match op {
            Op::Contains | Op::Prefix => {
                let Value::Text(text) = value else {
                    return Err(StoreError::Query("contains/prefix need a text value".into()));
                };
                if r.ty != ColumnType::Text {
                    return Err(StoreError::Query("contains/prefix apply to text fields only".into()));
                }
                let lowered = text.to_ascii_lowercase();
                let escaped = escape_like(&lowered);
                let pattern = if op == Op::Prefix { format!("{escaped}%") } else { format!("%{escaped}%") };
                let like = Expr::expr(Func::lower(r.expr.clone())).like(LikeExpr::new(pattern).escape('\\'));
                if op == Op::Prefix && !lowered.is_empty() {
                    // The same match as a range too, which an index on lower(x) can serve: text
                    // compares bytewise on both backends, and no string with the prefix sorts
                    // after the prefix followed by the highest code point.
                    let low = self.value(ColumnType::Text, &Value::Text(lowered.clone()))?;
                    let high = self.value(ColumnType::Text, &Value::Text(format!("{lowered}\u{10FFFF}")))?;
                    let lower = || Expr::expr(Func::lower(r.expr.clone()));
                    return Ok(Cond::all().add(lower().gte(low)).add(lower().lt(high)).add(like));
                }
                like
            }
            Op::Eq => r.expr.eq(self.value(r.ty, value)?),
            Op::Ne => {
                let ne = r.expr.clone().ne(self.value(r.ty, value)?);
                return Ok(Cond::any().add(ne).add(r.expr.is_null()));
            }
            Op::Gt => r.expr.gt(self.value(r.ty, value)?),
            Op::Gte => r.expr.gte(self.value(r.ty, value)?),
            Op::Lt => r.expr.lt(self.value(r.ty, value)?),
            Op::Lte => r.expr.lte(self.value(r.ty, value)?),
        };
        Ok(Cond::all().add(expr))
    }

    /// The SELECT of all columns of `spec`, scoped to the account.
    pub fn select(&self, spec: &EntitySpec, visibility: Visibility) -> SelectStatement {
        let mut q = Query::select();
        for (name, _) in spec.select_columns() {
            q.column((Alias::new("t0"), Alias::new(name)));
        }
        q.from_as(Alias::new(spec.table), Alias::new("t0")).cond_where(self.scope("t0", spec, visibility));
        q
    }

    /// The page query, and the types of the sort-key columns appended after the row columns.
    pub fn list(&self, spec: &EntitySpec, q: &ListQuery) -> Result<(SelectStatement, Vec<ColumnType>), StoreError> {
        let mut stmt = self.select(spec, q.visibility);
        if let Some(f) = &q.filter {
            stmt.cond_where(self.filter(0, spec, f)?);
        }
        let key_types = self.order_and_page(&mut stmt, spec, q)?;
        Ok((stmt, key_types))
    }

    fn sort_keys(&self, spec: &EntitySpec, sorts: &[Sort]) -> Result<Vec<(Resolved, Dir)>, StoreError> {
        sorts.iter().map(|s| Ok((self.field("t0", spec, &s.field)?, s.dir))).collect()
    }

    /// Appends a query's sort keys to the selected columns, and its order and page, to a
    /// statement over rows of `spec` named `t0`.
    fn order_and_page(
        &self,
        stmt: &mut SelectStatement,
        spec: &EntitySpec,
        q: &ListQuery,
    ) -> Result<Vec<ColumnType>, StoreError> {
        let keys = self.sort_keys(spec, &q.sorts)?;
        let mut key_types = Vec::with_capacity(keys.len());
        for (k, _) in &keys {
            stmt.expr(k.expr.clone());
            key_types.push(k.ty);
        }
        // The last key is the id itself when a page is read backwards (see `after`): the final
        // `id` would only repeat it, and on SQLite make it sort what the index already orders.
        let ends_with_id = q.sorts.last().is_some_and(|s| s.field == Field::col("id"));
        let limit = match &q.page {
            Page::Offset { offset, limit } => {
                // Bound so the driver never converts a value it cannot hold (an unsigned
                // offset past i64::MAX makes sea-query-sqlx panic); no table is that large.
                stmt.offset(Ord::min(*offset, MAX_ROWS));
                Ord::min(*limit, MAX_ROWS)
            }
            Page::After { after, limit } => {
                if let Some(cursor) = after {
                    stmt.cond_where(self.after(&keys, ends_with_id, cursor)?);
                }
                Ord::min(*limit, MAX_ROWS)
            }
        };
        // Nulls go last ascending and first descending. Saying so with `IS NULL` keys instead of
        // NULLS LAST lets both backends walk an index on `(x IS NULL, lower(x))` in order
        // (SQLite indexes cannot be declared NULLS LAST).
        for (expr, order) in order_exprs(&keys) {
            stmt.order_by_expr(expr, order);
        }
        if !ends_with_id {
            stmt.order_by((Alias::new("t0"), Alias::new("id")), Order::Asc);
        }
        // One extra row tells whether another page follows.
        stmt.limit(limit.saturating_add(1));
        Ok(key_types)
    }

    /// The page query of `first_per`: of the rows `q` matches, the first of each value of
    /// `column` in `q`'s order, in that order. A row is the first of its value when no other row
    /// matching `q` with the same value (nulls being one value) comes before it: an anti-join
    /// probed per row through an index on `column`, so a page walks the order only until it is
    /// full, where numbering every matching row with a window read all of them for each page.
    pub fn first_per(
        &self,
        spec: &EntitySpec,
        column: &str,
        q: &ListQuery,
    ) -> Result<(SelectStatement, Vec<ColumnType>), StoreError> {
        let part = self.column("t0", spec, column)?;
        let keys = self.sort_keys(spec, &q.sorts)?;
        let rival_alias = format!("t{RIVAL_DEPTH}");
        let rival_keys: Vec<(Resolved, Dir)> = q
            .sorts
            .iter()
            .map(|s| Ok((self.field(&rival_alias, spec, &s.field)?, s.dir)))
            .collect::<Result<_, StoreError>>()?;
        let rival_part = self.column(&rival_alias, spec, column)?;
        let id = |alias: &str| Expr::col((Alias::new(alias), Alias::new("id")));
        let before = before(&rival_keys, &keys, id(&rival_alias), id("t0"));
        let rival = |same: Cond| -> Result<SelectStatement, StoreError> {
            let mut r = Query::select();
            r.expr(Expr::cust("1"))
                .from_as(Alias::new(spec.table), Alias::new(&rival_alias))
                .cond_where(self.scope(&rival_alias, spec, q.visibility))
                .cond_where(same);
            if let Some(f) = &q.filter {
                r.cond_where(self.filter(RIVAL_DEPTH, spec, f)?);
            }
            r.cond_where(before.clone());
            Ok(r)
        };
        let first = if part.nullable {
            let valued = rival(Cond::all().add(rival_part.expr.clone().eq(part.expr.clone())))?;
            let unvalued = rival(Cond::all().add(rival_part.expr.clone().is_null()))?;
            Cond::any()
                .add(Cond::all().add(part.expr.clone().is_not_null()).add(Expr::exists(valued).not()))
                .add(Cond::all().add(part.expr.clone().is_null()).add(Expr::exists(unvalued).not()))
        } else {
            Cond::all().add(Expr::exists(rival(Cond::all().add(rival_part.expr.clone().eq(part.expr.clone())))?).not())
        };
        let mut stmt = self.select(spec, q.visibility);
        if let Some(f) = &q.filter {
            stmt.cond_where(self.filter(0, spec, f)?);
        }
        stmt.cond_where(first);
        let key_types = self.order_and_page(&mut stmt, spec, q)?;
        Ok((stmt, key_types))
    }

    /// How many distinct values of `column` the rows a query matches hold (null counting as one).
    pub fn count_first_per(
        &self,
        spec: &EntitySpec,
        column: &str,
        q: &ListQuery,
    ) -> Result<SelectStatement, StoreError> {
        let part = self.column("t0", spec, column)?;
        let mut inner = Query::select();
        inner.distinct().expr(part.expr).from_as(Alias::new(spec.table), Alias::new("t0")).cond_where(self.scope(
            "t0",
            spec,
            q.visibility,
        ));
        if let Some(f) = &q.filter {
            inner.cond_where(self.filter(0, spec, f)?);
        }
        let mut stmt = Query::select();
        stmt.expr(Expr::cust("COUNT(*)")).from_subquery(inner, Alias::new("d"));
        Ok(stmt)
    }

    /// A union key of a branch over `spec`: its SQL, already in the form it sorts by (text
    /// lowered), and its type.
    fn key(&self, spec: &EntitySpec, key: &Key) -> Result<(Expr, ColumnType), StoreError> {
        Ok(match key {
            Key::Field(f) => {
                let r = self.field("t0", spec, f)?;
                (sort_expr(&r), r.ty)
            }
            Key::Joined { columns, separator } => {
                if columns.is_empty() || separator.contains('\0') {
                    return Err(StoreError::Query("a joined key needs columns and a separator without NUL".into()));
                }
                for c in columns {
                    if spec.column_type(c) != Some(ColumnType::Text) {
                        return Err(StoreError::Query(format!("{} has no text field {c}", spec.kind)));
                    }
                }
                let sep = format!("'{}'", separator.replace('\'', "''"));
                let parts: Vec<String> =
                    columns.iter().map(|c| format!(r#"lower(COALESCE("t0"."{c}", ''))"#)).collect();
                let joined = parts.join(&format!(" || {sep} || "));
                let sql = match self.backend {
                    Backend::Sqlite => format!("rtrim({joined}, {sep})"),
                    Backend::Postgres => format!(r#"(rtrim({joined}, {sep}) COLLATE "C")"#),
                };
                (Expr::cust(sql), ColumnType::Text)
            }
            Key::Seconds(column) => {
                if spec.column_type(column) != Some(ColumnType::Time) {
                    return Err(StoreError::Query(format!("{} has no time field {column}", spec.kind)));
                }
                let sql = match self.backend {
                    // Microseconds, floored to seconds (integer division truncates toward zero).
                    Backend::Sqlite => {
                        format!(r#"(("t0"."{column}" / 1000000) - ("t0"."{column}" % 1000000 < 0))"#)
                    }
                    Backend::Postgres => format!(r#"CAST(floor(EXTRACT(EPOCH FROM "t0"."{column}")) AS BIGINT)"#),
                };
                (Expr::cust(sql), ColumnType::Int)
            }
            Key::Int(n) => (Expr::cust(format!("CAST({n} AS BIGINT)")), ColumnType::Int),
            Key::Null(ty) => {
                let sql = match self.backend {
                    Backend::Sqlite => "NULL".to_owned(),
                    Backend::Postgres => format!("CAST(NULL AS {})", pg_cast_type(*ty)),
                };
                (Expr::cust(sql), *ty)
            }
        })
    }

    /// The page query of a union (branch index and id of each row) and its count.
    pub fn union(&self, u: &UnionQuery) -> Result<(SelectStatement, SelectStatement), StoreError> {
        let mut types: Option<Vec<ColumnType>> = None;
        let mut selects = Vec::with_capacity(u.branches.len());
        for (i, branch) in u.branches.iter().enumerate() {
            if branch.keys.len() != u.dirs.len() {
                return Err(StoreError::Query("every union branch needs one key per direction".into()));
            }
            let keys = branch.keys.iter().map(|k| self.key(branch.spec, k)).collect::<Result<Vec<_>, StoreError>>()?;
            let these: Vec<ColumnType> = keys.iter().map(|(_, ty)| *ty).collect();
            match &types {
                Some(first) if *first != these => {
                    return Err(StoreError::Query("union branches' keys differ in type".into()));
                }
                Some(_) => {}
                None => types = Some(these),
            }
            let mut sel = Query::select();
            sel.expr_as(Expr::cust(format!("CAST({i} AS BIGINT)")), Alias::new("b"))
                .expr_as(Expr::col((Alias::new("t0"), Alias::new("id"))), Alias::new("id"));
            for (n, (expr, _)) in keys.into_iter().enumerate() {
                sel.expr_as(expr, Alias::new(format!("k{n}")));
            }
            sel.from_as(Alias::new(branch.spec.table), Alias::new("t0")).cond_where(self.scope(
                "t0",
                branch.spec,
                Visibility::Live,
            ));
            if let Some(f) = &branch.filter {
                sel.cond_where(self.filter(0, branch.spec, f)?);
            }
            selects.push(sel);
        }
        let mut selects = selects.into_iter();
        let Some(mut all) = selects.next() else {
            return Err(StoreError::Query("a union needs a branch".into()));
        };
        for sel in selects {
            all.union(UnionType::All, sel);
        }
        let mut page = Query::select();
        page.column((Alias::new("u"), Alias::new("b")))
            .column((Alias::new("u"), Alias::new("id")))
            .from_subquery(all.clone(), Alias::new("u"));
        for (n, dir) in u.dirs.iter().enumerate() {
            let order = match dir {
                Dir::Asc => Order::Asc,
                Dir::Desc => Order::Desc,
            };
            let k = Expr::col((Alias::new("u"), Alias::new(format!("k{n}"))));
            page.order_by_expr(k.clone().is_null(), order.clone());
            page.order_by_expr(k, order);
        }
        page.order_by((Alias::new("u"), Alias::new("id")), Order::Asc)
            .limit(u.limit.saturating_add(1))
            .offset(u.offset);
        let mut count = Query::select();
        count.expr(Expr::cust("COUNT(*)")).from_subquery(all, Alias::new("u"));
        Ok((page, count))
    }

    /// Rows strictly after `cursor` in the order (keys…, id asc). `ends_with_id`: the last key
    /// is the id itself, so the keys alone order the rows and the final `id` is redundant.
    fn after(&self, keys: &[(Resolved, Dir)], ends_with_id: bool, cursor: &Cursor) -> Result<Cond, StoreError> {
        if cursor.keys.len() != keys.len() {
            return Err(StoreError::Query("cursor does not match the sort".into()));
        }
        // Every key in one direction (ascending with the final id, or descending down to an id
        // key that makes the final id redundant) and the cursor's keys not null: one row-value
        // comparison over the order's own terms, which both planners turn into an index range
        // (the OR chain below they walk from the start of the order: a page read backwards from
        // the middle of a list skipped half of it). A null key makes the comparison null, hence
        // the chain.
        let ascending = keys.iter().all(|(_, dir)| *dir == Dir::Asc);
        let descending = ends_with_id && keys.iter().all(|(_, dir)| *dir == Dir::Desc);
        if (ascending || descending) && cursor.keys.iter().all(|v| !v.is_null()) {
            let mut left = Vec::with_capacity(keys.len() * 2 + 1);
            let mut right = Vec::with_capacity(keys.len() * 2 + 1);
            for ((k, _), v) in keys.iter().zip(&cursor.keys) {
                if k.nullable {
                    left.push(k.expr.clone().is_null());
                    right.push(self.value(ColumnType::Bool, &Value::Bool(false))?);
                }
                left.push(sort_expr(k));
                right.push(self.value(k.ty, &sort_value(k.ty, v))?);
            }
            if descending {
                return Ok(Cond::all().add(Expr::tuple(left).lt(Expr::tuple(right))));
            }
            left.push(Expr::col((Alias::new("t0"), Alias::new("id"))));
            right.push(self.value(ColumnType::Int, &Value::Int(cursor.id))?);
            return Ok(Cond::all().add(Expr::tuple(left).gt(Expr::tuple(right))));
        }
        let mut any = Cond::any();
        let mut prefix: Vec<Expr> = Vec::new();
        for ((k, dir), v) in keys.iter().zip(&cursor.keys) {
            let e = sort_expr(k);
            let c = if v.is_null() { None } else { Some(self.value(k.ty, &sort_value(k.ty, v))?) };
            let after = match (dir, &c) {
                (Dir::Asc, Some(c)) => Some(Cond::any().add(e.clone().gt(c.clone())).add(e.clone().is_null())),
                (Dir::Asc, None) => None,
                (Dir::Desc, Some(c)) => Some(Cond::all().add(e.clone().lt(c.clone()))),
                (Dir::Desc, None) => Some(Cond::all().add(e.clone().is_not_null())),
            };
            if let Some(after) = after {
                let mut branch = Cond::all();
                for p in &prefix {
                    branch = branch.add(p.clone());
                }
                any = any.add(branch.add(after));
            }
            prefix.push(match c {
                Some(c) => e.eq(c),
                None => e.is_null(),
            });
        }
        let mut last = Cond::all();
        for p in prefix {
            last = last.add(p);
        }
        last = last.add(Expr::col((Alias::new("t0"), Alias::new("id"))).gt(cursor.id));
        Ok(any.add(last))
    }

    /// The ids of the live rows matching `filter`, in no particular order.
    pub fn ids(&self, spec: &EntitySpec, filter: Option<&Filter>) -> Result<SelectStatement, StoreError> {
        let mut stmt = Query::select();
        stmt.column((Alias::new("t0"), Alias::new("id")))
            .from_as(Alias::new(spec.table), Alias::new("t0"))
            .cond_where(self.scope("t0", spec, Visibility::Live));
        if let Some(f) = filter {
            stmt.cond_where(self.filter(0, spec, f)?);
        }
        Ok(stmt)
    }

    /// `column, COUNT(*)` of the live rows matching `filter`, grouped by an integer column.
    pub fn count_by(&self, spec: &EntitySpec, column: &str, filter: &Filter) -> Result<SelectStatement, StoreError> {
        let r = self.column("t0", spec, column)?;
        if r.ty != ColumnType::Int {
            return Err(StoreError::Query(format!("{}: cannot group by non-integer {column}", spec.kind)));
        }
        let mut stmt = Query::select();
        stmt.expr(r.expr.clone())
            .expr(Expr::cust("COUNT(*)"))
            .from_as(Alias::new(spec.table), Alias::new("t0"))
            .cond_where(self.scope("t0", spec, Visibility::Live))
            .cond_where(self.filter(0, spec, filter)?)
            .add_group_by([r.expr]);
        Ok(stmt)
    }

    /// COUNT(*) of the rows a query matches, ignoring its page.
    pub fn count(&self, spec: &EntitySpec, q: &ListQuery) -> Result<SelectStatement, StoreError> {
        let mut stmt = Query::select();
        stmt.expr(Expr::cust("COUNT(*)")).from_as(Alias::new(spec.table), Alias::new("t0")).cond_where(self.scope(
            "t0",
            spec,
            q.visibility,
        ));
        if let Some(f) = &q.filter {
            stmt.cond_where(self.filter(0, spec, f)?);
        }
        Ok(stmt)
    }
}

/// The ORDER BY terms of sort keys: an `IS NULL` term before each nullable key (nulls last
/// ascending, first descending), then the key.
/// The alias depth of the rival rows of `first_per` (its filter's subqueries go deeper), far
/// from the page's own `t0`, `t1`, ….
const RIVAL_DEPTH: usize = 40;

/// Whether row `a` comes before row `b` in the order (keys…, id asc), their keys given side by
/// side (`a_keys[i]` and `b_keys[i]` the same sort over each row). Nulls go last ascending and
/// first descending, as `order_exprs` sorts them.
fn before(a_keys: &[(Resolved, Dir)], b_keys: &[(Resolved, Dir)], a_id: Expr, b_id: Expr) -> Cond {
    // Every key ascending and never null: one row-value comparison, which an index can range.
    if a_keys.iter().chain(b_keys).all(|(k, dir)| *dir == Dir::Asc && !k.nullable) {
        let mut left: Vec<Expr> = a_keys.iter().map(|(k, _)| sort_expr(k)).collect();
        let mut right: Vec<Expr> = b_keys.iter().map(|(k, _)| sort_expr(k)).collect();
        left.push(a_id);
        right.push(b_id);
        return Cond::all().add(Expr::tuple(left).lt(Expr::tuple(right)));
    }
    let mut any = Cond::any();
    let mut equal = Cond::all();
    for ((a, dir), (b, _)) in a_keys.iter().zip(b_keys) {
        let nullable = a.nullable || b.nullable;
        let (x, y) = (sort_expr(a), sort_expr(b));
        let mut earlier = Cond::any().add(match dir {
            Dir::Asc => x.clone().lt(y.clone()),
            Dir::Desc => x.clone().gt(y.clone()),
        });
        if nullable {
            earlier = earlier.add(match dir {
                Dir::Asc => Cond::all().add(a.expr.clone().is_not_null()).add(b.expr.clone().is_null()),
                Dir::Desc => Cond::all().add(a.expr.clone().is_null()).add(b.expr.clone().is_not_null()),
            });
        }
        any = any.add(equal.clone().add(earlier));
        let same = if nullable {
            Cond::any().add(x.eq(y)).add(Cond::all().add(a.expr.clone().is_null()).add(b.expr.clone().is_null()))
        } else {
            Cond::all().add(x.eq(y))
        };
        equal = equal.add(same);
    }
    any.add(equal.add(a_id.lt(b_id)))
}

fn order_exprs(keys: &[(Resolved, Dir)]) -> Vec<(Expr, Order)> {
    let mut out = Vec::with_capacity(keys.len() * 2);
    for (k, dir) in keys {
        let order = match dir {
            Dir::Asc => Order::Asc,
            Dir::Desc => Order::Desc,
        };
        if k.nullable {
            out.push((k.expr.clone().is_null(), order.clone()));
        }
        out.push((sort_expr(k), order));
    }
    out
}

/// PostgreSQL's name of a type in a CAST.
fn pg_cast_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Int => "BIGINT",
        ColumnType::Bool => "BOOLEAN",
        ColumnType::Float => "DOUBLE PRECISION",
        ColumnType::Text => "TEXT",
        ColumnType::Time => "TIMESTAMPTZ",
        ColumnType::Json => "JSONB",
    }
}

/// Text sorts ignore ASCII case (both backends lower ASCII only, so orders agree).
fn sort_expr(k: &Resolved) -> Expr {
    if k.ty == ColumnType::Text { Expr::expr(Func::lower(k.expr.clone())) } else { k.expr.clone() }
}

/// A cursor key as `sort_expr` sees it. Text is lowered here, ASCII only: PostgreSQL's lower()
/// of a parameter would follow the database's locale rather than the columns' "C" collation.
fn sort_value(ty: ColumnType, v: &Value) -> Value {
    match v {
        Value::Text(s) if ty == ColumnType::Text => Value::Text(s.to_ascii_lowercase()),
        v => v.clone(),
    }
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The SQL type of a column on a backend.
pub(crate) fn sql_type(backend: Backend, ty: ColumnType) -> &'static str {
    match (backend, ty) {
        (Backend::Sqlite, ColumnType::Int | ColumnType::Bool | ColumnType::Time) => "INTEGER",
        (Backend::Sqlite, ColumnType::Float) => "REAL",
        (Backend::Sqlite, ColumnType::Text | ColumnType::Json) => "TEXT",
        (Backend::Postgres, ColumnType::Int) => "BIGINT",
        (Backend::Postgres, ColumnType::Bool) => "BOOLEAN",
        (Backend::Postgres, ColumnType::Float) => "DOUBLE PRECISION",
        // Byte-order collation: the same text order and case rules as SQLite.
        (Backend::Postgres, ColumnType::Text) => "TEXT COLLATE \"C\"",
        (Backend::Postgres, ColumnType::Time) => "TIMESTAMPTZ",
        (Backend::Postgres, ColumnType::Json) => "JSONB",
    }
}

#[cfg(test)]
mod nul_tests {
    use super::*;

    #[test]
    fn text_with_nul_is_never_bound() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            assert!(matches!(bind(backend, ColumnType::Text, &Value::Text("a\0b".into())), Err(StoreError::Nul)));
            let json = Value::Json(serde_json::json!({"k": ["ok", "a\u{0}"]}));
            assert!(matches!(bind(backend, ColumnType::Json, &json), Err(StoreError::Nul)));
            let key = Value::Json(serde_json::json!({"a\u{0}": 1}));
            assert!(matches!(bind(backend, ColumnType::Json, &key), Err(StoreError::Nul)));
            assert!(bind(backend, ColumnType::Text, &Value::Text("a\\u0000b".into())).is_ok());
        }
    }
}
