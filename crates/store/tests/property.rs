//! Random filter trees, sorts and page sizes over one fixed dataset, checked three ways:
//! SQLite and PostgreSQL agree (when `KITH_TEST_DATABASE_URL` is set), keyset pages walk exactly
//! the offset listing on each backend, and SQLite agrees with a reference evaluation in Rust.

mod common;

use std::cmp::Ordering;

use common::*;
use kith_store::{Cursor, CustomType, Dir, Field, Filter, ListQuery, Op, Page, Sort, Store, Value, Visibility};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// The dataset
// ---------------------------------------------------------------------------------------------

const ROWS: usize = 150;
const PARENT_NAMES: &[&str] = &["Acme", "acme corp", "ACME", "Globex", "Initech", "Éclair", "umbrella_co"];
const NAMES: &[&str] = &[
    "alice",
    "Alice",
    "ALICE",
    "bob",
    "Bob",
    "carol",
    "Dave",
    "dave",
    "Eve",
    "_under",
    "100%",
    "100% sure",
    "a_b",
    "axb",
    "Zed",
    "zed",
    "Émile",
    "émile",
    "O'Brien",
    "back\\slash",
    " spaced ",
    "",
];
const TIERS: &[&str] = &["Gold", "gold", "GOLD", "Silver", "silver", "bronze", "Éz", "éa", "x%y", "a_c", ""];
const AMOUNTS: &[f64] = &[-2.5, 0.0, 1.25, 3.5, 10.0, 100.75, 0.001, 2.0];
const RANKS: &[f64] = &[0.5, 2.5, -1.5, 3.0];
const MICROS: &[i64] = &[0, 1, 999_999];

/// One widget of account A as the reference sees it.
#[derive(Debug, Clone)]
struct Rec {
    w: W,
    parent: Option<usize>,
    buddy: Option<usize>,
    deleted: bool,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `pct` percent.
    fn pct(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn dataset() -> Vec<Rec> {
    let mut r = Rng(0x5eed_cafe_f00d_1234);
    (0..ROWS)
        .map(|i| {
            let mut w = W::new(i as i64, r.pick(NAMES));
            if !r.pct(30) {
                let local = if r.pct(50) { "User" } else { "user" };
                let domain = if r.pct(50) { "Example.COM" } else { "example.com" };
                w.email = Some(format!("{local}{i}@{domain}"));
            }
            if !r.pct(30) {
                w.score = Some(r.below(16) as i64 - 5);
            }
            if !r.pct(30) {
                w.amount = Some(r.pick(AMOUNTS));
            }
            w.active = r.pct(50);
            if !r.pct(30) {
                w.seen_at = Some(at(r.below(12) as i64, r.pick(MICROS)));
            }
            let mut custom = serde_json::Map::new();
            match r.below(10) {
                0..=5 => drop(custom.insert("tier".into(), json!(r.pick(TIERS)))),
                6 => drop(custom.insert("tier".into(), serde_json::Value::Null)),
                _ => {}
            }
            match r.below(10) {
                0..=2 => drop(custom.insert("rank".into(), json!(r.below(9) as i64 - 3))),
                3..=5 => drop(custom.insert("rank".into(), json!(r.pick(RANKS)))),
                6 => drop(custom.insert("rank".into(), serde_json::Value::Null)),
                _ => {}
            }
            match r.below(10) {
                0..=4 => drop(custom.insert("vip".into(), json!(r.pct(50)))),
                5 => drop(custom.insert("vip".into(), serde_json::Value::Null)),
                _ => {}
            }
            if r.pct(30) {
                custom.insert("other".into(), json!({"nested": [1, 2]}));
            }
            w.custom = serde_json::Value::Object(custom);
            let parent = if r.pct(30) { None } else { Some(r.below(PARENT_NAMES.len())) };
            let buddy = if r.pct(50) { None } else { Some(r.below(ROWS)) };
            let deleted = r.pct(10);
            Rec { w, parent, buddy, deleted }
        })
        .collect()
}

/// A backend loaded with the dataset: account `a` holds it; account `b` holds rows that
/// point into `a` and must never show up.
struct Loaded {
    db: TestDb,
    a: i64,
}

async fn load(db: TestDb, data: &[Rec]) -> Loaded {
    let s = &db.store;
    let a = s.create_account("A").await.unwrap();
    let b = s.create_account("B").await.unwrap();
    let mut tx = s.begin(a, None).await.unwrap();
    let mut parent_ids = Vec::new();
    for name in PARENT_NAMES {
        parent_ids.push(tx.insert(&PARENTS, vec![Value::Text((*name).to_owned())]).await.unwrap().id);
    }
    let mut ids = Vec::new();
    for rec in data {
        let mut w = rec.w.clone();
        w.parent_id = rec.parent.map(|p| parent_ids[p]);
        ids.push(tx.insert(&WIDGETS, w.values()).await.unwrap().id);
    }
    assert!(ids.windows(2).all(|p| p[0] < p[1]), "ids follow insertion order");
    for (rec, id) in data.iter().zip(&ids) {
        if let Some(bud) = rec.buddy {
            tx.update(&WIDGETS, *id, &[("buddy_id", Value::Int(ids[bud]))]).await.unwrap().unwrap();
        }
    }
    for (rec, id) in data.iter().zip(&ids) {
        if rec.deleted {
            assert!(tx.delete(&WIDGETS, *id).await.unwrap());
        }
    }
    tx.commit().await.unwrap();
    // Account B: look-alike rows pointing at A's parents and widgets.
    let mut tx = s.begin(b, None).await.unwrap();
    for (i, rec) in data.iter().take(20).enumerate() {
        let mut w = rec.w.clone();
        w.ordinal = 1000 + i as i64;
        w.email = rec.w.email.as_ref().map(|e| format!("b-{e}"));
        w.parent_id = Some(parent_ids[i % parent_ids.len()]);
        w.buddy_id = Some(ids[i * 7 % ids.len()]);
        tx.insert(&WIDGETS, w.values()).await.unwrap();
    }
    tx.insert(&PARENTS, vec![Value::Text("Acme".into())]).await.unwrap();
    tx.commit().await.unwrap();
    Loaded { db, a }
}

// ---------------------------------------------------------------------------------------------
// Random queries
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Bool,
    Text,
    Time,
}

/// The widget fields queries use (not `id` or the link columns: their values differ per backend).
const FIELDS: &[(&str, bool, Kind)] = &[
    ("ordinal", false, Kind::Int),
    ("name", false, Kind::Text),
    ("email", false, Kind::Text),
    ("score", false, Kind::Int),
    ("amount", false, Kind::Float),
    ("active", false, Kind::Bool),
    ("seen_at", false, Kind::Time),
    ("tier", true, Kind::Text),
    ("rank", true, Kind::Float),
    ("vip", true, Kind::Bool),
];

fn field_of(i: usize) -> (Field, Kind) {
    let (name, is_custom, kind) = FIELDS[i];
    let field = if is_custom {
        let ty = match kind {
            Kind::Text => CustomType::Text,
            Kind::Float => CustomType::Number,
            _ => CustomType::Bool,
        };
        Field::Custom { key: name.to_owned(), ty }
    } else {
        Field::col(name)
    };
    (field, kind)
}

const TEXTS: &[&str] = &[
    "a", "A", "al", "LI", "%", "_", "b", "e", "É", "é", "x%", "a_", "100", "100%", "", "zed", "Zed", "Gold", "gold",
    "s", "@example", "COM", "user1", "alice", "bob", "Éz", "éa", " ", "\\", "'",
];

fn value_of(kind: Kind, field: &str) -> BoxedStrategy<Value> {
    match (kind, field) {
        (Kind::Int, "ordinal") => (-1i64..=ROWS as i64).prop_map(Value::Int).boxed(),
        (Kind::Int, _) => (-6i64..=11).prop_map(Value::Int).boxed(),
        (Kind::Float, _) => prop_oneof![
            3 => proptest::sample::select(AMOUNTS.iter().chain(RANKS).copied().collect::<Vec<_>>()).prop_map(Value::Float),
            1 => (-4i64..=6).prop_map(Value::Int),
            1 => (-50i32..=50).prop_map(|x| Value::Float(f64::from(x) / 4.0)),
        ]
        .boxed(),
        (Kind::Bool, _) => any::<bool>().prop_map(Value::Bool).boxed(),
        (Kind::Text, _) => {
            let mut pool: Vec<&'static str> = TEXTS.to_vec();
            pool.extend(NAMES);
            pool.extend(TIERS);
            pool.extend(PARENT_NAMES);
            proptest::sample::select(pool).prop_map(|s| Value::Text(s.to_owned())).boxed()
        }
        (Kind::Time, _) => (0i64..13, prop_oneof![Just(0i64), Just(1), Just(500_000), Just(999_999)])
            .prop_map(|(h, us)| Value::Time(at(h, us)))
            .boxed(),
    }
}

fn op_for(kind: Kind) -> BoxedStrategy<Op> {
    let ordered = vec![Op::Eq, Op::Ne, Op::Gt, Op::Gte, Op::Lt, Op::Lte];
    if kind == Kind::Text {
        let mut ops = ordered;
        ops.extend([Op::Contains, Op::Prefix, Op::Contains, Op::Prefix]);
        proptest::sample::select(ops).boxed()
    } else {
        proptest::sample::select(ordered).boxed()
    }
}

/// A leaf on one widget field.
fn widget_leaf() -> BoxedStrategy<Filter> {
    (0..FIELDS.len())
        .prop_flat_map(|i| {
            let (field, kind) = field_of(i);
            let name = FIELDS[i].0;
            let values = value_of(kind, name);
            let f1 = field.clone();
            let f2 = field.clone();
            let f3 = field.clone();
            prop_oneof![
                6 => (op_for(kind), values.clone())
                    .prop_map(move |(op, value)| Filter::Cmp { field: f1.clone(), op, value }),
                2 => proptest::collection::vec(prop_oneof![9 => values, 1 => Just(Value::Null)], 0..4)
                    .prop_map(move |values| Filter::In { field: f2.clone(), values }),
                1 => Just(Filter::IsNull(f3.clone())),
                1 => Just(Filter::IsNotNull(field.clone())),
            ]
        })
        .boxed()
}

/// A filter on a parent: its name.
fn parent_filter() -> BoxedStrategy<Filter> {
    let leaf = prop_oneof![
        4 => (op_for(Kind::Text), value_of(Kind::Text, "name"))
            .prop_map(|(op, value)| Filter::Cmp { field: Field::col("name"), op, value }),
        1 => proptest::collection::vec(value_of(Kind::Text, "name"), 0..3)
            .prop_map(|values| Filter::In { field: Field::col("name"), values }),
    ];
    prop_oneof![
        3 => leaf.clone(),
        1 => leaf.clone().prop_map(|f| Filter::Not(Box::new(f))),
        1 => proptest::collection::vec(leaf, 0..3).prop_map(Filter::Any),
    ]
    .boxed()
}

fn filter_tree() -> BoxedStrategy<Filter> {
    let leaf = prop_oneof![
        8 => widget_leaf(),
        2 => parent_filter().prop_map(|f| Filter::Related {
            via: "parent_id".into(),
            target: &PARENTS,
            filter: Box::new(f),
        }),
        2 => prop_oneof![
            3 => widget_leaf(),
            1 => Just(Filter::All(vec![])),
        ]
        .prop_map(|f| Filter::Referenced { target: &WIDGETS, via: "buddy_id".into(), filter: Box::new(f) }),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            2 => proptest::collection::vec(inner.clone(), 0..4).prop_map(Filter::All),
            2 => proptest::collection::vec(inner.clone(), 0..4).prop_map(Filter::Any),
            1 => inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
    .boxed()
}

fn sorts() -> BoxedStrategy<Vec<Sort>> {
    proptest::collection::vec(
        (0..FIELDS.len(), any::<bool>())
            .prop_map(|(i, desc)| Sort { field: field_of(i).0, dir: if desc { Dir::Desc } else { Dir::Asc } }),
        0..=3,
    )
    .boxed()
}

#[derive(Debug, Clone)]
struct Case {
    filter: Option<Filter>,
    sorts: Vec<Sort>,
    page: u64,
    visibility: Visibility,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        proptest::option::weighted(0.9, filter_tree()),
        sorts(),
        1u64..=40,
        prop_oneof![6 => Just(Visibility::Live), 1 => Just(Visibility::Deleted), 1 => Just(Visibility::All)],
    )
        .prop_map(|(filter, sorts, page, visibility)| Case { filter, sorts, page, visibility })
}

// ---------------------------------------------------------------------------------------------
// The reference
// ---------------------------------------------------------------------------------------------

fn field_value(rec: &Rec, field: &Field) -> Value {
    match field {
        Field::Column(name) => {
            let pos = WIDGETS.position(name).expect("known column");
            rec.w.values()[pos].clone()
        }
        Field::Custom { key, ty } => match (rec.w.custom.get(key), ty) {
            (Some(serde_json::Value::String(s)), CustomType::Text) => Value::Text(s.clone()),
            (Some(serde_json::Value::Number(n)), CustomType::Number) => Value::Float(n.as_f64().unwrap()),
            (Some(serde_json::Value::Bool(b)), CustomType::Bool) => Value::Bool(*b),
            (None | Some(serde_json::Value::Null), _) => Value::Null,
            (Some(other), _) => panic!("dataset has {other} under {key}"),
        },
        Field::JsonText { .. } => unreachable!("the generator makes no JSON-path fields"),
    }
}

/// Orders two non-null values of one field (text case-sensitive, bytewise).
fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap(),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)).unwrap(),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y).unwrap(),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Time(x), Value::Time(y)) => x.cmp(y),
        _ => panic!("cannot compare {a:?} with {b:?}"),
    }
}

fn eval(data: &[Rec], idx: usize, f: &Filter) -> bool {
    let rec = &data[idx];
    match f {
        Filter::All(items) => items.iter().all(|f| eval(data, idx, f)),
        Filter::Any(items) => items.iter().any(|f| eval(data, idx, f)),
        Filter::Not(inner) => !eval(data, idx, inner),
        Filter::IsNull(field) => field_value(rec, field).is_null(),
        Filter::IsNotNull(field) => !field_value(rec, field).is_null(),
        Filter::In { field, values } => {
            let v = field_value(rec, field);
            !v.is_null() && values.iter().any(|x| !x.is_null() && compare(&v, x) == Ordering::Equal)
        }
        Filter::Cmp { field, op, value } => cmp_matches(&field_value(rec, field), *op, value),
        Filter::Includes { .. } => panic!("the generator makes no includes filters"),
        Filter::Related { filter, .. } => rec.parent.is_some_and(|p| parent_matches(PARENT_NAMES[p], filter)),
        Filter::Referenced { filter, .. } => data
            .iter()
            .enumerate()
            .any(|(j, other)| !other.deleted && other.buddy == Some(idx) && eval(data, j, filter)),
    }
}

fn cmp_matches(v: &Value, op: Op, value: &Value) -> bool {
    if v.is_null() {
        return op == Op::Ne;
    }
    match op {
        Op::Contains | Op::Prefix => {
            let (Value::Text(hay), Value::Text(needle)) = (v, value) else { panic!("text op on {v:?}") };
            let (hay, needle) = (hay.to_ascii_lowercase(), needle.to_ascii_lowercase());
            if op == Op::Contains { hay.contains(&needle) } else { hay.starts_with(&needle) }
        }
        Op::Eq => compare(v, value) == Ordering::Equal,
        Op::Ne => compare(v, value) != Ordering::Equal,
        Op::Gt => compare(v, value) == Ordering::Greater,
        Op::Gte => compare(v, value) != Ordering::Less,
        Op::Lt => compare(v, value) == Ordering::Less,
        Op::Lte => compare(v, value) != Ordering::Greater,
    }
}

fn parent_matches(name: &str, f: &Filter) -> bool {
    let v = Value::Text(name.to_owned());
    match f {
        Filter::All(items) => items.iter().all(|f| parent_matches(name, f)),
        Filter::Any(items) => items.iter().any(|f| parent_matches(name, f)),
        Filter::Not(inner) => !parent_matches(name, inner),
        Filter::Cmp { op, value, .. } => cmp_matches(&v, *op, value),
        Filter::In { values, .. } => values.iter().any(|x| !x.is_null() && compare(&v, x) == Ordering::Equal),
        other => panic!("unexpected parent filter {other:?}"),
    }
}

/// Sort-key order: text ignores ASCII case, nulls last ascending and first descending.
fn key_order(a: &Value, b: &Value, dir: Dir) -> Ordering {
    let asc = match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Text(x), Value::Text(y)) => x.to_ascii_lowercase().as_bytes().cmp(y.to_ascii_lowercase().as_bytes()),
        _ => compare(a, b),
    };
    if dir == Dir::Desc { asc.reverse() } else { asc }
}

fn reference(data: &[Rec], case: &Case) -> Vec<i64> {
    let mut hits: Vec<usize> = (0..data.len())
        .filter(|&i| match case.visibility {
            Visibility::Live => !data[i].deleted,
            Visibility::Deleted => data[i].deleted,
            Visibility::All => true,
        })
        .filter(|&i| case.filter.as_ref().is_none_or(|f| eval(data, i, f)))
        .collect();
    hits.sort_by(|&x, &y| {
        case.sorts
            .iter()
            .map(|s| key_order(&field_value(&data[x], &s.field), &field_value(&data[y], &s.field), s.dir))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .then(x.cmp(&y))
    });
    hits.into_iter().map(|i| data[i].w.ordinal).collect()
}

// ---------------------------------------------------------------------------------------------
// Running a case against a store
// ---------------------------------------------------------------------------------------------

/// What one backend answered: the full listing, its total, and the offset pages.
#[derive(Debug, PartialEq)]
struct Answer {
    listing: Vec<i64>,
    total: u64,
    offset_pages: Vec<Vec<i64>>,
}

fn query(case: &Case, page: Page) -> ListQuery {
    ListQuery {
        filter: case.filter.clone(),
        sorts: case.sorts.clone(),
        page,
        visibility: case.visibility,
        with_total: true,
    }
}

async fn run(store: &Store, acct: i64, case: &Case) -> Result<Answer, TestCaseError> {
    let fail = |e: kith_store::StoreError| TestCaseError::fail(format!("store error: {e}"));
    let all = store.list(acct, &WIDGETS, &query(case, ListQuery::all().page)).await.map_err(fail)?;
    let listing = ordinals(&all.rows);
    let total = all.total.unwrap_or(u64::MAX);
    prop_assert_eq!(total, listing.len() as u64, "total of the full listing");

    let mut offset_pages = Vec::new();
    let mut offset = 0;
    loop {
        let p =
            store.list(acct, &WIDGETS, &query(case, Page::Offset { offset, limit: case.page })).await.map_err(fail)?;
        prop_assert_eq!(p.total, Some(total), "total of an offset page");
        prop_assert!(p.next.is_none(), "offset pages have no cursor");
        if p.rows.is_empty() {
            break;
        }
        prop_assert!(p.rows.len() as u64 <= case.page);
        offset += p.rows.len() as u64;
        offset_pages.push(ordinals(&p.rows));
    }
    let concatenated: Vec<i64> = offset_pages.concat();
    prop_assert_eq!(&concatenated, &listing, "offset pages concatenate to the listing");

    let mut walked = Vec::new();
    let mut after: Option<Cursor> = None;
    for _ in 0..=ROWS + 1 {
        let p = store
            .list(acct, &WIDGETS, &query(case, Page::After { after: after.take(), limit: case.page }))
            .await
            .map_err(fail)?;
        prop_assert_eq!(p.total, Some(total), "total of a keyset page");
        walked.extend(ordinals(&p.rows));
        match p.next {
            Some(c) => {
                prop_assert_eq!(p.rows.len() as u64, case.page, "only full pages have a cursor");
                let decoded = Cursor::decode(&c.encode());
                prop_assert_eq!(decoded.as_ref(), Some(&c), "cursor round trip");
                after = decoded;
            }
            None => break,
        }
    }
    prop_assert!(after.is_none(), "the keyset walk ended");
    prop_assert_eq!(&walked, &listing, "keyset pages walk the offset listing");
    Ok(Answer { listing, total, offset_pages })
}

#[test]
fn random_queries_agree_across_backends_pages_and_reference() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let data = dataset();
    // Sanity: the dataset has what the generators look for.
    assert!(data.iter().any(|r| r.deleted) && data.iter().any(|r| r.w.score.is_none()));
    let (sqlite, pg) = rt.block_on(async {
        let sqlite = load(sqlite().await, &data).await;
        let pg = match postgres().await {
            Some(db) => Some(load(db, &data).await),
            None => {
                eprintln!("note: {PG_ENV} is not set; checking SQLite against the reference only");
                None
            }
        };
        (sqlite, pg)
    });

    let mut runner =
        TestRunner::new(Config { cases: 64, max_shrink_iters: 256, failure_persistence: None, ..Config::default() });
    let nonempty = std::cell::Cell::new(0usize);
    let result = runner.run(&cases(), |case| {
        rt.block_on(async {
            let want = reference(&data, &case);
            let lite = run(&sqlite.db.store, sqlite.a, &case).await?;
            prop_assert_eq!(&lite.listing, &want, "sqlite against the reference");
            if let Some(pg) = &pg {
                let got = run(&pg.db.store, pg.a, &case).await?;
                prop_assert_eq!(&got, &lite, "postgres against sqlite");
            }
            if !want.is_empty() {
                nonempty.set(nonempty.get() + 1);
            }
            Ok(())
        })
    });
    rt.block_on(async {
        sqlite.db.finish().await;
        if let Some(pg) = pg {
            pg.db.finish().await;
        }
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, case)) => panic!("{why}\nminimal failing case: {case:#?}"),
        Err(e) => panic!("{e}"),
    }
    let nonempty = nonempty.get();
    assert!(nonempty >= 16, "too few cases matched any row ({nonempty} of 64): the generators need work");
}

/// The reference itself, on a few hand-checked queries, so a broken reference cannot make the
/// property vacuous.
#[test]
fn reference_semantics() {
    let mut a = W::new(0, "Alice").score(5).custom(json!({"tier": "Gold"}));
    a.email = None;
    let b = W::new(1, "bob").custom(json!({"tier": "éa"}));
    let c = W::new(2, "ALICE").score(7).custom(json!({"tier": "Éz"}));
    let data: Vec<Rec> = [a, b, c]
        .into_iter()
        .enumerate()
        .map(|(i, w)| Rec { w, parent: None, buddy: if i == 2 { Some(0) } else { None }, deleted: false })
        .collect();
    let case = |filter: Option<Filter>, sorts: Vec<Sort>| Case { filter, sorts, page: 1, visibility: Visibility::Live };
    assert_eq!(reference(&data, &case(Some(Filter::cmp("score", Op::Ne, 5i64)), vec![])), vec![1, 2]);
    assert_eq!(reference(&data, &case(Some(Filter::Not(Box::new(Filter::eq("score", 5i64)))), vec![])), vec![1, 2]);
    assert_eq!(reference(&data, &case(Some(Filter::cmp("name", Op::Contains, "LIC")), vec![])), vec![0, 2]);
    assert_eq!(reference(&data, &case(None, vec![Sort::desc("score")])), vec![1, 2, 0]);
    assert_eq!(reference(&data, &case(None, vec![Sort::asc("score")])), vec![0, 2, 1]);
    assert_eq!(reference(&data, &case(None, vec![Sort::desc("name")])), vec![1, 0, 2]);
    let tier = Sort { field: Field::Custom { key: "tier".into(), ty: CustomType::Text }, dir: Dir::Asc };
    assert_eq!(reference(&data, &case(None, vec![tier])), vec![0, 2, 1]);
    let referenced =
        Filter::Referenced { target: &WIDGETS, via: "buddy_id".into(), filter: Box::new(Filter::All(vec![])) };
    assert_eq!(reference(&data, &case(Some(referenced.clone()), vec![])), vec![0]);
    assert_eq!(reference(&data, &case(Some(Filter::Not(Box::new(referenced))), vec![])), vec![1, 2]);
}
