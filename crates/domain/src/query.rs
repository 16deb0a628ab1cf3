//! The query vocabulary a dialect describes a list in: filters over an entity's fields (the
//! names its `entity!` declaration gives them), sorts, and offset or keyset pages. The domain
//! scopes every query to the caller's account and the store runs it in SQL on either backend;
//! a dialect never sees the store itself.

pub use kith_store::{
    Cursor, CustomType, Dir, Field, Filter, Json, JsonStep, ListPage, ListQuery, Op, Page, Sort, Value, Visibility,
};
