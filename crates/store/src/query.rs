//! The list-query AST every dialect builds: a filter tree, sorts and a page.
//! `sql` turns it into one statement per backend.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::spec::EntitySpec;
use crate::value::Value;

/// What a filter or sort applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// A column of the entity's table (standard columns included).
    Column(String),
    /// A custom-field value kept in the entity's `custom_fields` JSON column under `key`.
    Custom { key: String, ty: CustomType },
    /// Text inside a JSON column, by a path of object keys and array indexes (`addresses`,
    /// `[0, "city"]`): the city of a contact's first address.
    JsonText { column: String, path: Vec<JsonStep> },
}

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonStep {
    Key(String),
    Index(u32),
}

impl Field {
    pub fn col(name: impl Into<String>) -> Self {
        Field::Column(name.into())
    }
}

/// How a custom-field value compares: numbers numerically, dates and text as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomType {
    Text,
    Number,
    Bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    /// Not equal; rows where the field is null also match.
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    /// Case-insensitive substring match (text only).
    Contains,
    /// Case-insensitive prefix match (text only).
    Prefix,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Not(Box<Filter>),
    Cmp {
        field: Field,
        op: Op,
        value: Value,
    },
    In {
        field: Field,
        values: Vec<Value>,
    },
    IsNull(Field),
    IsNotNull(Field),
    /// Rows whose field holds a JSON array with `value` as one of its elements, exactly (a
    /// single JSON value equal to `value` matches too): multi-select custom fields.
    Includes {
        field: Field,
        value: Value,
    },
    /// Rows whose `via` column points at a `target` row matching `filter`
    /// (contacts whose company has a value).
    Related {
        via: String,
        target: &'static EntitySpec,
        filter: Box<Filter>,
    },
    /// Rows pointed at by a `target` row (through its `via` column) matching `filter`
    /// (contacts that have a deal in a stage, contacts carrying a tag).
    Referenced {
        target: &'static EntitySpec,
        via: String,
        filter: Box<Filter>,
    },
}

impl Filter {
    pub fn eq(column: &str, value: impl Into<Value>) -> Self {
        Filter::Cmp { field: Field::col(column), op: Op::Eq, value: value.into() }
    }
    pub fn cmp(column: &str, op: Op, value: impl Into<Value>) -> Self {
        Filter::Cmp { field: Field::col(column), op, value: value.into() }
    }
    /// Joins two optional filters with AND.
    pub fn and(a: Option<Filter>, b: Filter) -> Filter {
        match a {
            None => b,
            Some(Filter::All(mut v)) => {
                v.push(b);
                Filter::All(v)
            }
            Some(a) => Filter::All(vec![a, b]),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dir {
    Asc,
    Desc,
}

/// One sort key. Text sorts ignore ASCII case. Nulls sort last ascending and first descending,
/// on both backends. The store always appends `id` ascending as the final tiebreak.
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    pub field: Field,
    pub dir: Dir,
}

impl Sort {
    pub fn asc(column: &str) -> Self {
        Sort { field: Field::col(column), dir: Dir::Asc }
    }
    pub fn desc(column: &str) -> Self {
        Sort { field: Field::col(column), dir: Dir::Desc }
    }
}

/// A keyset position: the sort-key values and id of the last row of a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub keys: Vec<Value>,
    pub id: i64,
}

impl Cursor {
    /// An opaque, URL-safe form for the wire.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }
    /// `None` when the text is not a cursor this store made.
    pub fn decode(text: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Page {
    Offset {
        offset: u64,
        limit: u64,
    },
    /// Keyset pagination: rows after `after` (from the start when `None`).
    After {
        after: Option<Cursor>,
        limit: u64,
    },
}

/// Which rows a query sees with respect to soft deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    #[default]
    Live,
    Deleted,
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sorts: Vec<Sort>,
    pub page: Page,
    pub visibility: Visibility,
    pub with_total: bool,
}

impl ListQuery {
    pub fn new(page: Page) -> Self {
        ListQuery { filter: None, sorts: Vec::new(), page, visibility: Visibility::Live, with_total: false }
    }
    pub fn all() -> Self {
        Self::new(Page::Offset { offset: 0, limit: u64::MAX >> 2 })
    }
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = Some(Filter::and(self.filter.take(), f));
        self
    }
    pub fn sort(mut self, s: Sort) -> Self {
        self.sorts.push(s);
        self
    }
    pub fn with_total(mut self) -> Self {
        self.with_total = true;
        self
    }
}

/// A sort key of one branch of a `UnionQuery`, computed from that branch's row. Keys compare
/// as sorts do: text ignoring ASCII case, nulls last ascending and first descending.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A field's value.
    Field(Field),
    /// Text columns joined with `separator`, a null column as empty text, and the separator's
    /// characters trimmed off the end: with `" "`, last and first name give `lovelace ada`,
    /// `lovelace` without a first name and ` ada` without a last name. Never null.
    Joined { columns: Vec<String>, separator: String },
    /// A time column to the whole second (as a wire format that shows seconds orders it), as
    /// an integer: seconds since 1970.
    Seconds(String),
    /// No value, of a type: a branch whose entity has nothing at this key's position.
    Null(crate::value::ColumnType),
    /// One number for all of a branch's rows: branches in an order of their own (several
    /// branches may read one entity, each a part of its rows).
    Int(i64),
}

/// The rows of one entity in a `UnionQuery`: those matching `filter`, with one key per position.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionBranch {
    pub spec: &'static EntitySpec,
    pub filter: Option<Filter>,
    pub keys: Vec<Key>,
}

/// One listing over the live rows of several entities (persons and organisations), ordered by
/// key positions the branches share (each key of the same type in every branch), then by id
/// (ids are unique across tables), and paged by offset. A page is a list of (branch, id).
#[derive(Debug, Clone, PartialEq)]
pub struct UnionQuery {
    pub branches: Vec<UnionBranch>,
    /// The direction of each key position.
    pub dirs: Vec<Dir>,
    pub offset: u64,
    pub limit: u64,
    pub with_total: bool,
}

/// One page of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage<R> {
    pub rows: Vec<R>,
    /// Total matching rows, when asked for.
    pub total: Option<u64>,
    /// Where the next keyset page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<R> ListPage<R> {
    pub fn map<S>(self, f: impl FnMut(R) -> S) -> ListPage<S> {
        ListPage { rows: self.rows.into_iter().map(f).collect(), total: self.total, next: self.next }
    }
    pub fn try_map<S, E>(self, f: impl FnMut(R) -> Result<S, E>) -> Result<ListPage<S>, E> {
        Ok(ListPage {
            rows: self.rows.into_iter().map(f).collect::<Result<_, _>>()?,
            total: self.total,
            next: self.next,
        })
    }
}
