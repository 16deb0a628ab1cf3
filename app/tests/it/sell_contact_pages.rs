//! Sell's `GET /v2/contacts` over a few thousand persons and organisations: every page read
//! directly is the same records as reading page after page, in the order the merged listing
//! has always had (the reference below is the in-memory merge the database now does), for
//! every sort, both directions and custom fields, on both backends.

use crate::common;

use common::sell::{ids, items, sell};
use common::{App, apps};
use kith_domain::custom_fields::{FieldKind, NewCustomField};
use kith_domain::model::{Company, Contact};
use kith_domain::{Actor, Entity};
use kith_store::{Json, Value as SV};
use reqwest::Method;
use serde_json::{Value, json};

const PERSONS_PER_BATCH: usize = 700;
const ORGANIZATIONS_PER_BATCH: usize = 300;
/// Batches made a second apart, so that creation and update times differ between batches and
/// tie within one (ties go by id).
const BATCHES: usize = 3;

const LAST: &[Option<&str>] =
    &[Some("Smith"), Some("smith"), Some("SMITH"), Some("Smith Ada"), Some("O'Brien"), Some("van Dyke"), None];
const FIRST: &[Option<&str>] = &[Some("Ada"), Some("ada"), Some("Bob"), None, Some("Zoe")];
const ORGS: &[&str] = &["Smith", "smith ada", "Acme", "acme", "O'Brien & Co", "Zeta", "van dyke"];
const TIERS: &[&str] = &["gold", "silver"];
const ORG_SEATS: &[&str] = &["many", "Few", "few"];

fn person(i: usize, owner: i64, seats: i64, tier: i64) -> Vec<SV> {
    let t = chrono::Utc::now();
    let mut custom = std::collections::BTreeMap::new();
    if !i.is_multiple_of(4) {
        custom.insert(seats.to_string(), json!((i * 7919 % 23) as f64 - 5.0));
    }
    if !i.is_multiple_of(3) {
        custom.insert(tier.to_string(), json!(TIERS[i % TIERS.len()]));
    }
    Contact {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        salutation: None,
        first_name: FIRST[i % FIRST.len()].map(str::to_owned),
        last_name: LAST[(i / 3) % LAST.len()].map(str::to_owned),
        job_title: None,
        starred: false,
        company_id: None,
        company_name: None,
        owner_id: owner,
        status_id: None,
        lead_source_id: None,
        background: None,
        emails: Json(Vec::new()),
        phones: Json(Vec::new()),
        urls: Json(Vec::new()),
        addresses: Json(Vec::new()),
        email: None,
        phone: None,
        tags: Json(Vec::new()),
        custom_fields: Json(custom),
        closed_sales: Json(Vec::new()),
        photo_url: None,
        emails_text: None,
        urls_text: None,
        starred_by: Json(Vec::new()),
        starred_by_text: None,
    }
    .values()
}

fn organization(i: usize, owner: i64, seats: i64) -> Vec<SV> {
    let mut c = Company::named(ORGS[(i / 2) % ORGS.len()], Some(owner));
    if !i.is_multiple_of(5) {
        c.custom_fields.0.insert(seats.to_string(), json!(ORG_SEATS[i % ORG_SEATS.len()]));
    }
    c.values()
}

/// Persons and organisations in interleaved chunks, batch after batch a second apart, and
/// some records updated in a later second.
async fn fill(app: &App) {
    let actor = Actor { account_id: app.owner.account_id, user_id: app.owner.user_id };
    let field = |kind: &str, name: &str, ty: FieldKind, choices: &[&str]| NewCustomField {
        entity_kind: kind.into(),
        name: name.into(),
        kind: ty,
        choices: choices.iter().map(|c| c.to_string()).collect(),
        position: None,
    };
    let crm = &app.crm;
    let seats = crm.create_custom_field(actor, field("contact", "Seats", FieldKind::Number, &[])).await.expect("field");
    let tier =
        crm.create_custom_field(actor, field("contact", "Tier", FieldKind::Dropdown, TIERS)).await.expect("field");
    let org_seats =
        crm.create_custom_field(actor, field("company", "Seats", FieldKind::Text, &[])).await.expect("field");
    let mut n = 0;
    for batch in 0..BATCHES {
        if batch > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
        }
        let mut tx = crm.store().begin(actor.account_id, Some(actor.user_id)).await.expect("begin");
        for chunk in 0..10 {
            let persons: Vec<Vec<SV>> = (0..PERSONS_PER_BATCH / 10)
                .map(|_| {
                    n += 1;
                    person(n, actor.user_id, seats.id, tier.id)
                })
                .collect();
            tx.insert_many(Contact::SPEC, persons).await.expect("persons");
            let organizations: Vec<Vec<SV>> = (0..ORGANIZATIONS_PER_BATCH / 10)
                .map(|k| organization(batch * 1000 + chunk * 100 + k, actor.user_id, org_seats.id))
                .collect();
            tx.insert_many(Company::SPEC, organizations).await.expect("organizations");
        }
        tx.commit().await.expect("commit");
    }
    // Updated a second later: these sort last by updated_at.
    tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
    let r = sell(app, Method::GET, "/contacts?per_page=100&page=3", None).await;
    let mut tx = crm.store().begin(actor.account_id, Some(actor.user_id)).await.expect("begin");
    for id in ids(&r).into_iter().step_by(9) {
        let moved = SV::Text("moved".into());
        if tx.update(Contact::SPEC, id, &[("job_title", moved.clone())]).await.expect("update").is_none() {
            tx.update(Company::SPEC, id, &[("description", moved)]).await.expect("update").expect("a record");
        }
    }
    tx.commit().await.expect("commit");
}

/// The value the merged listing sorted on in memory: the sorted field as rendered, except that
/// a person's `name` sorts by last name, then first name.
fn sort_key(v: &Value, field: &str) -> String {
    let text = |f: &str| match &v[f] {
        Value::String(s) => s.to_lowercase(),
        Value::Number(n) => format!("{:020}", n.as_i64().unwrap_or(0)),
        _ => String::new(),
    };
    if field == "name" && v["is_organization"] == false {
        return format!("{} {}", text("last_name"), text("first_name")).trim_end().to_owned();
    }
    text(field)
}

/// The in-memory merge key of a custom value: numbers in numeric order, text ignoring case, and
/// a missing value after every other ascending.
fn custom_key(v: &Value) -> String {
    match v {
        Value::String(s) => match s.parse::<f64>() {
            Ok(f) => format!("0{:030.6}", f + 1e15),
            Err(_) => format!("1{}", s.to_lowercase()),
        },
        Value::Null => "\u{10FFFF}".to_owned(),
        other => format!("1{other}"),
    }
}

/// `records` in the order the in-memory merge gave them for `sort_by`.
fn reference(records: &[Value], sort_by: &str) -> Vec<i64> {
    let desc = sort_by.ends_with(":desc");
    let custom = sort_by
        .strip_prefix("custom_fields:")
        .map(|rest| rest.strip_suffix(":desc").or_else(|| rest.strip_suffix(":asc")).unwrap_or(rest));
    let field = match sort_by.split(':').next().unwrap_or("") {
        "" => "id",
        "first_name" | "last_name" => "name",
        f => f,
    };
    let key = |v: &Value| match custom {
        Some(name) => custom_key(&v["custom_fields"][name]),
        None => sort_key(v, field),
    };
    let mut sorted = records.to_vec();
    sorted.sort_by(|a, b| {
        let o = key(a).cmp(&key(b));
        let o = if desc { o.reverse() } else { o };
        o.then_with(|| sort_key(a, "id").cmp(&sort_key(b, "id")))
    });
    sorted.iter().filter_map(|v| v["id"].as_i64()).collect()
}

/// Every page of a listing, one after the other; checks their links on the way.
async fn walk(app: &App, query: &str, per_page: u64) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let r = sell(app, Method::GET, &format!("/contacts?{query}&per_page={per_page}&page={page}"), None).await;
        assert_eq!(r.status, 200, "{}: {query} page {page}: {}", app.label, r.body);
        let got = items(&r);
        let more = r.body["meta"]["links"]["next_page"].is_string();
        assert_eq!(r.body["meta"]["links"]["prev_page"].is_string(), page > 1, "{}: {query}", app.label);
        if more {
            assert_eq!(got.len() as u64, per_page, "{}: {query}: only the last page is short", app.label);
        }
        out.extend(got);
        if !more {
            return out;
        }
    }
    unreachable!()
}

#[tokio::test]
async fn every_page_of_persons_and_organizations_is_cut_in_one_order() {
    for app in apps().await {
        fill(&app).await;
        let l = app.label;
        let everything = walk(&app, "sort_by=id", 100).await;
        let total = BATCHES * (PERSONS_PER_BATCH + ORGANIZATIONS_PER_BATCH);
        assert_eq!(everything.len(), total, "{l}");
        assert!(everything.windows(2).all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()), "{l}: id order");
        let organizations: Vec<Value> = everything.iter().filter(|v| v["is_organization"] == true).cloned().collect();
        let persons: Vec<Value> = everything.iter().filter(|v| v["is_organization"] == false).cloned().collect();
        assert!(persons.iter().any(|p| p["last_name"].is_null()), "{l}: some persons have no last name");
        let named_an: Vec<Value> = everything
            .iter()
            .filter(|v| {
                let fields: &[&str] =
                    if v["is_organization"] == true { &["name"] } else { &["first_name", "last_name"] };
                fields.iter().any(|f| v[*f].as_str().is_some_and(|s| s.to_ascii_lowercase().contains("an")))
            })
            .cloned()
            .collect();
        let sorts = [
            "name",
            "name:desc",
            "last_name",
            "first_name:desc",
            "id:desc",
            "created_at",
            "created_at:desc",
            "updated_at",
            "updated_at:desc",
            "custom_fields:Seats",
            "custom_fields:Seats:desc",
            "custom_fields:Tier",
            "custom_fields:Tier:desc",
        ];
        let sets: [(&str, &[Value]); 4] = [
            ("", &everything),
            ("is_organization=false&", &persons),
            ("is_organization=true&", &organizations),
            ("name=an&", &named_an),
        ];
        for sort in sorts {
            for (filter, records) in &sets {
                if !filter.is_empty() && !matches!(sort, "name" | "updated_at:desc" | "custom_fields:Seats:desc") {
                    continue;
                }
                let query = format!("{filter}sort_by={sort}");
                let want = reference(records, sort);
                let walked: Vec<i64> = walk(&app, &query, 100).await.iter().filter_map(|v| v["id"].as_i64()).collect();
                assert_eq!(walked.len(), want.len(), "{l}: {query}");
                let first_difference = walked.iter().zip(&want).position(|(a, b)| a != b);
                assert_eq!(first_difference, None, "{l}: {query}: page by page against the merged order");
                // Pages read directly, deep ones included, are the same slices.
                for (page, per_page) in [(1u64, 25u64), (7, 100), (13, 70), (29, 100), (30, 100), (123, 7)] {
                    let start = ((page - 1) * per_page) as usize;
                    let end = (start + per_page as usize).min(want.len());
                    let path = format!("/contacts?{query}&per_page={per_page}&page={page}");
                    let r = sell(&app, Method::GET, &path, None).await;
                    let slice = if start < want.len() { &want[start..end] } else { &[] };
                    assert_eq!(ids(&r), slice, "{l}: {path}");
                    assert_eq!(r.body["meta"]["links"]["next_page"].is_string(), end < want.len(), "{l}: {path}");
                }
            }
        }
        app.finish().await;
    }
}
