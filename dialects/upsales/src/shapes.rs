//! What Upsales' resources share: reading bodies, relations `{id}` in and expanded objects
//! out, users as `{id, name, email, role}`, custom values `[{fieldId, value, value…}]`, and
//! money as numbers in major units.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use kith_domain::engagements::Subject;
use kith_domain::model::{CustomValues, User};
use kith_domain::query::{Field, Filter, Value as QValue};
use kith_domain::{Actor, Entity};
use kith_http::{AppState, Fields};
use serde_json::{Map, Value, json};

use crate::wire::{ApiError, ApiResult, UpsalesWire};

pub type Body_ = Fields<UpsalesWire>;

/// Reads a JSON object body.
pub async fn read(st: &AppState, body: Body) -> ApiResult<Body_> {
    let obj = kith_http::read_object::<ApiError>(body, st.config.json_body_limit).await?;
    kith_http::reject_nul::<ApiError>(&obj)?;
    Ok(Fields::new(obj))
}

/// A user's display name.
pub fn user_name(u: &User) -> String {
    let name = [u.first_name.as_deref(), u.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if name.trim().is_empty() { u.email.clone() } else { name }
}

/// A user as relations show one.
pub fn user_ref(users: &HashMap<i64, User>, id: Option<i64>) -> Value {
    match id.and_then(|id| users.get(&id)) {
        Some(u) => json!({ "id": u.id, "name": user_name(u), "email": u.email, "role": null }),
        None => Value::Null,
    }
}

/// The users among `ids`, by id (one query).
pub async fn users(
    st: &AppState,
    actor: Actor,
    ids: impl IntoIterator<Item = Option<i64>>,
) -> ApiResult<HashMap<i64, User>> {
    let mut ids: Vec<i64> = ids.into_iter().flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let f = Filter::In { field: Field::col("id"), values: ids.into_iter().map(QValue::Int).collect() };
    Ok(st.crm.all::<User>(actor, Some(f)).await?.into_iter().map(|u| (u.id, u)).collect())
}

/// Records of `E` among `ids`, by id (one query).
pub async fn by_ids<E: Entity>(
    st: &AppState,
    actor: Actor,
    ids: impl IntoIterator<Item = Option<i64>>,
) -> ApiResult<HashMap<i64, E>> {
    let mut ids: Vec<i64> = ids.into_iter().flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let f = Filter::In { field: Field::col("id"), values: ids.into_iter().map(QValue::Int).collect() };
    Ok(st.crm.all::<E>(actor, Some(f)).await?.into_iter().map(|r| (r.id(), r)).collect())
}

/// The records activities, appointments and phone calls show expanded: their companies (with
/// the companies' owners), contacts and users.
pub struct Refs {
    pub users: HashMap<i64, User>,
    pub companies: HashMap<i64, kith_domain::model::Company>,
    pub contacts: HashMap<i64, kith_domain::model::Contact>,
}

/// The `Refs` of rows, each given as (company, contact, user): three queries.
pub async fn refs(st: &AppState, actor: Actor, rows: &[(Option<i64>, Option<i64>, i64)]) -> ApiResult<Refs> {
    let companies = by_ids::<kith_domain::model::Company>(st, actor, rows.iter().map(|r| r.0)).await?;
    let contacts = by_ids::<kith_domain::model::Contact>(st, actor, rows.iter().map(|r| r.1)).await?;
    let owners = rows.iter().map(|r| Some(r.2)).chain(companies.values().map(|c| c.owner_id));
    let users = users(st, actor, owners).await?;
    Ok(Refs { users, companies, contacts })
}

/// Custom values as Upsales writes them, with the typed mirrors it adds.
pub fn custom(values: &CustomValues) -> Value {
    Value::Array(
        values
            .iter()
            .filter_map(|(id, v)| {
                let field_id: i64 = id.parse().ok()?;
                let text = match v {
                    Value::String(s) => Value::String(s.clone()),
                    Value::Null => Value::Null,
                    Value::Bool(b) => Value::String(if *b { "1".into() } else { "0".into() }),
                    Value::Array(items) => {
                        Value::String(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
                    }
                    other => Value::String(other.to_string()),
                };
                let number = match v {
                    Value::Number(n) => n.as_f64(),
                    Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
                    Value::String(s) => s.parse::<f64>().ok(),
                    _ => None,
                };
                let mut m = Map::new();
                m.insert("fieldId".into(), json!(field_id));
                m.insert("value".into(), text);
                m.insert("valueInteger".into(), number.map_or(Value::Null, |n| json!(n.trunc() as i64)));
                m.insert("valueDouble".into(), number.map_or(Value::Null, |n| json!(n)));
                m.insert("valueArray".into(), if v.is_array() { v.clone() } else { Value::Null });
                Some(Value::Object(m))
            })
            .collect(),
    )
}

/// `custom: [{fieldId, value}]` as values by definition id; `None` when absent. A value of
/// `null` (or a missing one) clears the field; the domain types each value by its definition.
pub fn custom_in(b: &mut Body_) -> Option<BTreeMap<i64, Value>> {
    let items = b.objects("custom", 500)?;
    let mut out = BTreeMap::new();
    for (i, m) in items.iter().enumerate() {
        let id = match m.get("fieldId") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        match id {
            Some(id) if id > 0 => {
                let v = match m.get("value").cloned().unwrap_or(Value::Null) {
                    Value::String(s) if s.trim().is_empty() => Value::Null,
                    v => v,
                };
                out.insert(id, v);
            }
            _ => b.error(format!("custom[{i}].fieldId"), "must be the id of a custom field"),
        }
    }
    Some(out)
}

/// A relation given as `{id}`, a bare id, or null; `None` when absent.
pub fn relation(b: &mut Body_, key: &str) -> Option<Option<i64>> {
    b.id(key)
}

/// The ids of `[{id}]` (or bare ids); `None` when absent.
pub fn relations(b: &mut Body_, key: &str) -> Option<Vec<i64>> {
    let items = match b.raw(key)? {
        Value::Null => return Some(Vec::new()),
        Value::Array(items) => items.clone(),
        one @ (Value::Object(_) | Value::Number(_)) => vec![one.clone()],
        _ => {
            b.error(key, "must be an array of {id}");
            return None;
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match <UpsalesWire as kith_http::WireFormat>::read_id(item) {
            Ok(Some(id)) => out.push(id),
            Ok(None) => {}
            Err(m) => b.error(format!("{key}[{i}]"), m),
        }
    }
    Some(out)
}

/// What a record is about from `opportunity`, `contacts` (the first) and `client`, the most
/// specific given first; `None` when the body names none of them. What was not sent stays as in
/// `current`.
pub fn subject(b: &mut Body_, current: Option<Subject>) -> Option<Option<Subject>> {
    let opportunity = relation(b, "opportunity");
    let contacts = relations(b, "contacts");
    let client = relation(b, "client");
    if opportunity.is_none() && contacts.is_none() && client.is_none() {
        return None;
    }
    Some(
        opportunity
            .flatten()
            .map(Subject::Deal)
            .or_else(|| contacts.as_ref().and_then(|c| c.first().copied()).map(Subject::Contact))
            .or_else(|| client.flatten().map(Subject::Company))
            .or_else(|| {
                current.filter(|s| match s {
                    Subject::Deal(_) => opportunity.is_none(),
                    Subject::Contact(_) => contacts.is_none(),
                    Subject::Company(_) => client.is_none(),
                    Subject::Lead(_) => true,
                })
            }),
    )
}

/// A time (ISO 8601, or a date: its midnight UTC); `None` when absent, `Some(None)` for null.
pub fn time_in(b: &mut Body_, key: &str) -> Option<Option<chrono::DateTime<chrono::Utc>>> {
    match b.raw(key)? {
        Value::Null => Some(None),
        Value::String(s) if s.trim().is_empty() => Some(None),
        Value::String(s) if crate::query::time(s.trim()).is_some() => Some(crate::query::time(s.trim())),
        _ => {
            b.error(key, "must be an ISO 8601 time (or a date, YYYY-MM-DD)");
            None
        }
    }
}

/// A contact as appointments and phone calls show one.
pub fn contact_ref(c: &kith_domain::model::Contact) -> Value {
    json!({
        "id": c.id,
        "name": c.display_name(),
        "email": c.email,
        "phone": crate::contacts::first_phone(c, false),
        "cellPhone": crate::contacts::first_phone(c, true),
    })
}

/// A 0/1 flag (or a boolean); `None` when absent.
pub fn flag_in(b: &mut Body_, key: &str) -> Option<bool> {
    match b.raw(key)? {
        Value::Bool(v) => Some(*v),
        Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => Some(n.as_i64() == Some(1)),
        Value::String(s) if matches!(s.trim(), "0" | "1" | "true" | "false") => Some(matches!(s.trim(), "1" | "true")),
        _ => {
            b.error(key, "must be 0 or 1");
            None
        }
    }
}

/// Money in minor units as a number in major units.
pub fn money(minor: i64, currency: &str) -> Value {
    let major = kith_domain::money::to_major(minor, currency);
    if major.fract() == 0.0 && major.abs() < 9e15 { json!(major as i64) } else { json!(major) }
}

/// A money amount in major units (a number or a numeric string) in minor units; `None` when
/// absent or null.
pub fn money_in(b: &mut Body_, key: &str, currency: &str) -> Option<i64> {
    let major = b.number(key).flatten()?;
    match kith_domain::money::from_major(major, currency) {
        Some(m) => Some(m),
        None => {
            b.error(key, "is out of range");
            None
        }
    }
}

/// A money amount inside a row object.
pub fn money_of(b: &mut Body_, field: String, m: &Map<String, Value>, key: &str, currency: &str) -> Option<i64> {
    let v = m.get(key)?;
    let major = match v {
        Value::Null => return None,
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s.trim().is_empty() => return None,
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match major.filter(|f| f.is_finite() && f.abs() < 1e13).and_then(|f| kith_domain::money::from_major(f, currency)) {
        Some(minor) => Some(minor),
        None => {
            b.error(format!("{field}.{key}"), "must be an amount");
            None
        }
    }
}

/// The links of a page of records and the values they point at: categories, campaigns, types
/// and roles, shown expanded (`{id, name}`). Three queries.
#[derive(Default)]
pub struct Labels {
    links: HashMap<i64, Vec<kith_domain::links::Link>>,
    choices: HashMap<i64, kith_domain::model::Choice>,
    campaigns: HashMap<i64, kith_domain::campaigns::Campaign>,
}

impl Labels {
    pub async fn of(st: &AppState, actor: Actor, record_ids: impl IntoIterator<Item = i64>) -> ApiResult<Labels> {
        let ids: Vec<i64> = record_ids.into_iter().collect();
        let mut links: HashMap<i64, Vec<kith_domain::links::Link>> = HashMap::new();
        for l in st.crm.links_of(actor, &ids).await? {
            links.entry(l.record_id).or_default().push(l);
        }
        let all = || links.values().flatten();
        let is_campaign = |l: &&kith_domain::links::Link| l.link == kith_domain::links::CAMPAIGN;
        let campaigns = by_ids(st, actor, all().filter(is_campaign).map(|l| Some(l.target_id))).await?;
        let choices = by_ids(st, actor, all().filter(|l| !is_campaign(l)).map(|l| Some(l.target_id))).await?;
        Ok(Labels { links, choices, campaigns })
    }

    fn targets<'a>(&'a self, record_id: i64, link: &'a str) -> impl Iterator<Item = i64> + 'a {
        self.links.get(&record_id).into_iter().flatten().filter(move |l| l.link == link).map(|l| l.target_id)
    }

    /// A record's categories, `[{id, name, categoryType}]`.
    pub fn categories(&self, record_id: i64) -> Value {
        Value::Array(
            self.targets(record_id, kith_domain::links::CATEGORY)
                .filter_map(|id| self.choices.get(&id))
                .map(|c| json!({ "id": c.id, "name": c.name, "categoryType": 0 }))
                .collect(),
        )
    }

    /// A record's campaigns, `[{id, name}]`.
    pub fn projects(&self, record_id: i64) -> Value {
        Value::Array(
            self.targets(record_id, kith_domain::links::CAMPAIGN)
                .filter_map(|id| self.campaigns.get(&id))
                .map(|c| json!({ "id": c.id, "name": c.name }))
                .collect(),
        )
    }

    /// A record's one campaign (`project`), or `null`.
    pub fn project(&self, record_id: i64) -> Value {
        self.projects(record_id).as_array().and_then(|a| a.first().cloned()).unwrap_or(Value::Null)
    }

    /// A record's type or role, `{id, name}`, or `null`.
    pub fn choice(&self, record_id: i64, link: &str) -> Value {
        self.targets(record_id, link)
            .find_map(|id| self.choices.get(&id))
            .map_or(Value::Null, |c| json!({ "id": c.id, "name": c.name }))
    }
}

/// A campaign given as `project: {id}` (or null, which takes the record out of its campaign);
/// `None` when absent. `projects: [{id}]` is read too.
pub fn project_in(b: &mut Body_) -> Option<Vec<i64>> {
    if let Some(p) = relation(b, "project") {
        return Some(p.into_iter().collect());
    }
    relations(b, "projects")
}

/// What an activity's or appointment's body says of its type and campaign (`activityType:
/// {id}`, `project: {id}`).
pub fn type_and_project_in(b: &mut Body_) -> kith_domain::links::LinkDraft {
    kith_domain::links::LinkDraft { categories: None, campaigns: project_in(b), kind: relation(b, "activityType") }
}
