//! Upsales' query language, turned into the domain's list query (filtered, sorted and paged in
//! the database):
//!
//! - `limit` (1..2000, 1000 by default) and `offset`;
//! - `attr=value` and `attr=op:value` with `op` one of `eq ne gt gte lt lte`; a comma list is a
//!   set (`eq` any of them, `ne` none of them); repeated parameters are all required;
//! - dotted attributes of related records (`client.id=5`, `client.name=…`, `user.id=ne:1`);
//! - custom fields `custom=op:fieldId:value`, of the record or of a related one
//!   (`client.custom=eq:4:1`);
//! - `sort=attr` ascending, `sort=-attr` descending (repeatable, or comma-separated); the store
//!   breaks ties by id, so `sort=id&id=gt:LAST` walks a whole list by the primary key;
//! - booleans as `0`/`1` (or `true`/`false`), dates as `YYYY-MM-DD` or full ISO 8601 times.
//!
//! An attribute a list does not have is a `400 FailedValidation` ("No such attribute"), never
//! ignored.

use chrono::{DateTime, NaiveDate, Utc};
use kith_domain::model::CustomFieldDefinition;
use kith_domain::query::{Field, Filter, ListQuery, Op, Page, Sort, Value};
use serde_json::Value as J;

use crate::wire::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: u64 = 1000;
pub const MAX_LIMIT: u64 = 2000;
/// The most values one comma list may give, and the most parameters one list request may have.
pub const MAX_VALUES: usize = 1000;
pub const MAX_PARAMETERS: usize = 100;

/// Parameters every request may carry that are not filters.
const RESERVED: &[&str] =
    &["token", "limit", "offset", "sort", "usingfirstnamelastname", "usepricelists", "f", "f[]", "_"];

/// How an attribute's values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    /// A time column: a date is its midnight (UTC).
    Time,
    /// A calendar date kept as `YYYY-MM-DD` text.
    Date,
    Bool,
    /// Money in major units, kept in minor units (two decimals).
    Money,
}

/// What an attribute is in the model.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Column(&'static str),
    /// A value every record of the list has (Kith keeps no such data: `isExternal` is 0).
    Constant(Option<i64>),
    /// The ids of the values a record is linked to (`categories.id`, `projects.id`): one of
    /// the domain's link kinds (`kith_domain::links`).
    Link(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub name: &'static str,
    pub target: Target,
    pub kind: Kind,
    pub sortable: bool,
}

pub const fn col(name: &'static str, column: &'static str, kind: Kind) -> Attr {
    Attr { name, target: Target::Column(column), kind, sortable: true }
}

pub const fn constant(name: &'static str, value: Option<i64>) -> Attr {
    Attr { name, target: Target::Constant(value), kind: Kind::Int, sortable: false }
}

/// The ids of a record's links of one kind (`categories.id`): `eq`/`ne` an id or a list of
/// them, or `null`.
pub const fn link(name: &'static str, link: &'static str) -> Attr {
    Attr { name, target: Target::Link(link), kind: Kind::Int, sortable: false }
}

/// A constant that is never set, compared as `kind` (`scoreUpdateDate`: a time).
pub const fn never(name: &'static str, kind: Kind) -> Attr {
    Attr { name, target: Target::Constant(None), kind, sortable: false }
}

/// A related record (`client`): `wrap` turns a filter on it into one on the list's records.
pub struct Relation {
    pub name: &'static str,
    pub wrap: fn(Filter) -> Filter,
    pub attrs: &'static [Attr],
    /// The custom-field kind of the related record, when it has custom fields.
    pub custom_kind: Option<&'static str>,
}

/// What a list can be filtered and sorted by.
pub struct Resource {
    pub attrs: &'static [Attr],
    pub relations: &'static [Relation],
    pub custom_kind: Option<&'static str>,
}

impl Resource {
    fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// Custom-field definitions a list's filters may name, by kind.
#[derive(Default)]
pub struct Defs(Vec<(&'static str, Vec<CustomFieldDefinition>)>);

impl Defs {
    fn of(&self, kind: &str) -> &[CustomFieldDefinition] {
        self.0.iter().find(|(k, _)| *k == kind).map_or(&[], |(_, d)| d.as_slice())
    }
}

/// A parsed list request.
pub struct ListParams {
    pub limit: u64,
    pub offset: u64,
    pub pairs: Vec<(String, String)>,
}

impl ListParams {
    pub fn parse(query: Option<&str>) -> ApiResult<ListParams> {
        let pairs = kith_http::query_pairs(query);
        if pairs.len() > MAX_PARAMETERS {
            return Err(ApiError::validation(format!("at most {MAX_PARAMETERS} query parameters are taken")));
        }
        let get = |k: &str| pairs.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let lo =
            kith_http::limit_offset(get("limit"), get("offset"), DEFAULT_LIMIT, MAX_LIMIT).map_err(|e| match e {
                kith_http::paging::LimitOffsetError::Limit => {
                    ApiError::validation(format!("limit must be an integer from 1 to {MAX_LIMIT}"))
                }
                kith_http::paging::LimitOffsetError::Offset => {
                    ApiError::validation("offset must be a non-negative integer")
                }
            })?;
        Ok(ListParams { limit: lo.limit, offset: lo.offset, pairs })
    }

    /// Whether a flag parameter (`usingFirstnameLastname`) is on: present without a value, or
    /// `true`/`1`.
    pub fn flag(query: Option<&str>, name: &str) -> bool {
        kith_http::query_pairs(query)
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(name) && matches!(v.trim(), "" | "true" | "1"))
    }

    /// The custom-field definitions the filters need (none unless one names `custom`).
    pub async fn defs(&self, st: &kith_http::AppState, actor: kith_domain::Actor, res: &Resource) -> ApiResult<Defs> {
        let mut out = Defs::default();
        if !self.pairs.iter().any(|(k, _)| k.to_ascii_lowercase().ends_with("custom")) {
            return Ok(out);
        }
        let kinds = res.custom_kind.into_iter().chain(res.relations.iter().filter_map(|r| r.custom_kind));
        for kind in kinds {
            if !out.0.iter().any(|(k, _)| *k == kind) {
                out.0.push((kind, st.crm.custom_fields(actor, kind).await?));
            }
        }
        Ok(out)
    }

    /// The list query: every filter parameter AND-ed, the sorts, this page, with its total.
    pub fn query(&self, res: &Resource, defs: &Defs) -> ApiResult<ListQuery> {
        let mut q = ListQuery::new(Page::Offset { offset: self.offset, limit: self.limit }).with_total();
        for (key, value) in &self.pairs {
            let lower = key.to_ascii_lowercase();
            if RESERVED.contains(&lower.as_str()) || lower.starts_with("f[") {
                continue;
            }
            if lower == "q" || lower.starts_with("q[") {
                return Err(ApiError::validation("the q parameter (advanced queries) is not supported"));
            }
            q = q.filter(filter(res, defs, key, value)?);
        }
        for (key, value) in &self.pairs {
            if key != "sort" {
                continue;
            }
            for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (name, desc) = match part.strip_prefix('-') {
                    Some(n) => (n, true),
                    None => (part.strip_prefix('+').unwrap_or(part), false),
                };
                let attr = res.attr(name).ok_or_else(|| ApiError::no_attribute(name))?;
                let column = match attr.target {
                    Target::Column(c) if attr.sortable => c,
                    _ => return Err(ApiError::validation(format!("Cannot sort on attribute: {name}"))),
                };
                q = q.sort(if desc { Sort::desc(column) } else { Sort::asc(column) });
            }
        }
        Ok(q)
    }
}

/// A list request's page of `E`: the query language over `res`, run in the database.
pub async fn fetch<E: kith_domain::Entity>(
    st: &kith_http::AppState,
    actor: kith_domain::Actor,
    raw: Option<&str>,
    res: &Resource,
) -> ApiResult<(ListParams, kith_domain::query::ListPage<E>)> {
    let p = ListParams::parse(raw)?;
    let defs = p.defs(st, actor, res).await?;
    let query = p.query(res, &defs)?;
    let page = st.crm.list::<E>(actor, &query).await?;
    Ok((p, page))
}

/// `op:rest` or `rest` (equals).
fn split_op(value: &str) -> (Op, bool, &str) {
    let ops = [("eq", Op::Eq), ("ne", Op::Ne), ("gte", Op::Gte), ("gt", Op::Gt), ("lte", Op::Lte), ("lt", Op::Lt)];
    if let Some((head, rest)) = value.split_once(':') {
        for (name, op) in ops {
            if head.eq_ignore_ascii_case(name) {
                return (op, true, rest);
            }
        }
    }
    (Op::Eq, false, value)
}

fn filter(res: &Resource, defs: &Defs, key: &str, value: &str) -> ApiResult<Filter> {
    if key.eq_ignore_ascii_case("custom") {
        let kind = res.custom_kind.ok_or_else(|| ApiError::no_attribute(key))?;
        return custom(defs.of(kind), key, value);
    }
    if let Some(attr) = res.attr(key) {
        return attr_filter(attr, key, value);
    }
    if let Some((head, rest)) = key.split_once('.') {
        let rel = res.relations.iter().find(|r| r.name.eq_ignore_ascii_case(head));
        if let Some(rel) = rel {
            let inner = if rest.eq_ignore_ascii_case("custom") {
                let kind = rel.custom_kind.ok_or_else(|| ApiError::no_attribute(key))?;
                custom(defs.of(kind), key, value)?
            } else {
                let attr = rel.attrs.iter().find(|a| a.name.eq_ignore_ascii_case(rest));
                attr_filter(attr.ok_or_else(|| ApiError::no_attribute(key))?, key, value)?
            };
            return Ok((rel.wrap)(inner));
        }
    }
    Err(ApiError::no_attribute(key))
}

/// A filter on one attribute.
fn attr_filter(attr: &Attr, key: &str, value: &str) -> ApiResult<Filter> {
    let (op, _, raw) = split_op(value.trim());
    let items = values(key, raw)?;
    let column = match attr.target {
        Target::Column(c) => c,
        Target::Link(link) => {
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(ApiError::validation(format!("{key} compares with eq or ne")));
            }
            let f = if items.len() == 1 && items[0].eq_ignore_ascii_case("null") {
                // `=null`: records with no link of the kind.
                Filter::Not(Box::new(kith_domain::links::linked(link, Vec::new())))
            } else {
                let mut ids = Vec::with_capacity(items.len());
                for item in &items {
                    ids.push(item.parse::<i64>().map_err(|_| bad_value(key, "an id or a list of ids"))?);
                }
                kith_domain::links::linked(link, ids)
            };
            return Ok(if op == Op::Ne { Filter::Not(Box::new(f)) } else { f });
        }
        Target::Constant(have) => {
            // Every record has the same value: the filter is true or false for all of them.
            let mut hits = Vec::new();
            for item in &items {
                hits.push(if item.eq_ignore_ascii_case("null") {
                    have.is_none() == (op == Op::Eq)
                } else {
                    let want = typed(attr.kind, key, item)?;
                    compare(op, have, &want)
                });
            }
            let all = if op == Op::Ne { hits.iter().all(|h| *h) } else { hits.iter().any(|h| *h) };
            return Ok(if all { Filter::All(Vec::new()) } else { Filter::Any(Vec::new()) });
        }
    };
    let field = Field::col(column);
    if items.len() > 1 {
        if !matches!(op, Op::Eq | Op::Ne) {
            return Err(ApiError::validation(format!("{key}: a list of values takes eq or ne")));
        }
        let values = items.iter().map(|i| typed(attr.kind, key, i)).collect::<ApiResult<Vec<_>>>()?;
        let set = Filter::In { field, values };
        return Ok(if op == Op::Ne { Filter::Not(Box::new(set)) } else { set });
    }
    let one = items.first().copied().unwrap_or_default();
    if one.eq_ignore_ascii_case("null") || one.is_empty() && attr.kind != Kind::Text {
        return match op {
            Op::Eq => Ok(Filter::IsNull(field)),
            Op::Ne => Ok(Filter::IsNotNull(field)),
            _ => Err(ApiError::validation(format!("{key}: null compares with eq or ne"))),
        };
    }
    Ok(Filter::Cmp { field, op, value: typed(attr.kind, key, one)? })
}

/// The values of a comma list, at most `MAX_VALUES` of them.
fn values<'a>(key: &str, raw: &'a str) -> ApiResult<Vec<&'a str>> {
    let items: Vec<&str> = raw.split(',').map(str::trim).collect();
    if items.len() > MAX_VALUES {
        return Err(ApiError::validation(format!("{key}: at most {MAX_VALUES} values are taken")));
    }
    Ok(items)
}

/// A constant attribute's comparison, done here.
fn compare(op: Op, have: Option<i64>, want: &Value) -> bool {
    let (Some(a), Value::Int(b)) = (have, want) else { return op == Op::Ne };
    match op {
        Op::Eq => a == *b,
        Op::Ne => a != *b,
        Op::Gt => a > *b,
        Op::Gte => a >= *b,
        Op::Lt => a < *b,
        Op::Lte => a <= *b,
        _ => false,
    }
}

fn bad_value(key: &str, what: &str) -> ApiError {
    ApiError::validation(format!("{key} must be {what}"))
}

/// A filter value read as `kind`.
fn typed(kind: Kind, key: &str, raw: &str) -> ApiResult<Value> {
    Ok(match kind {
        Kind::Int => Value::Int(raw.parse::<i64>().map_err(|_| bad_value(key, "an integer"))?),
        Kind::Money => {
            let major = raw.parse::<f64>().ok().filter(|f| f.is_finite() && f.abs() < 1e15);
            Value::Int((major.ok_or_else(|| bad_value(key, "an amount"))? * 100.0).round() as i64)
        }
        Kind::Text => Value::Text(raw.to_owned()),
        Kind::Bool => match raw {
            "1" | "true" => Value::Bool(true),
            "0" | "false" => Value::Bool(false),
            _ => return Err(bad_value(key, "0 or 1")),
        },
        Kind::Time => Value::Time(time(raw).ok_or_else(|| bad_value(key, "a date (YYYY-MM-DD) or an ISO 8601 time"))?),
        Kind::Date => {
            let d = NaiveDate::parse_from_str(raw.get(..10).unwrap_or(raw), "%Y-%m-%d")
                .map_err(|_| bad_value(key, "a date (YYYY-MM-DD)"))?;
            Value::Text(d.format("%Y-%m-%d").to_string())
        }
    })
}

/// A date (its midnight, UTC) or an ISO 8601 time.
pub fn time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
    })
}

/// `custom=op:fieldId:value` over `defs`.
fn custom(defs: &[CustomFieldDefinition], key: &str, value: &str) -> ApiResult<Filter> {
    let (op, _, rest) = split_op(value.trim());
    let (id, wanted) = rest
        .split_once(':')
        .ok_or_else(|| ApiError::validation(format!("{key} must be op:fieldId:value (custom=eq:4:1)")))?;
    let def = id
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|id| defs.iter().find(|d| d.id == id))
        .ok_or_else(|| ApiError::validation(format!("No such custom field: {}", id.trim())))?;
    let items = values(key, wanted)?;
    let one = |v: &str| -> ApiResult<Filter> {
        let v = match (def.kind(), v) {
            (kith_domain::custom_fields::FieldKind::Boolean, "1") => J::Bool(true),
            (kith_domain::custom_fields::FieldKind::Boolean, "0") => J::Bool(false),
            _ => J::String(v.to_owned()),
        };
        Ok(kith_domain::custom_fields::custom_filter(def, op, &v)?)
    };
    if items.len() > 1 {
        if !matches!(op, Op::Eq | Op::Ne) {
            return Err(ApiError::validation(format!("{key}: a list of values takes eq or ne")));
        }
        let each = items.iter().map(|v| one(v)).collect::<ApiResult<Vec<_>>>()?;
        return Ok(if op == Op::Ne { Filter::All(each) } else { Filter::Any(each) });
    }
    one(items.first().copied().unwrap_or_default())
}
