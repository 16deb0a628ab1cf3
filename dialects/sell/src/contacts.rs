//! `/contacts`: Sell's contact is a person or, with `is_organization`, an organisation. A person
//! is the shared model's `Contact`, an organisation its `Company`; both share one id space, so a
//! Sell contact id names exactly one of them.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::companies::{COMPANY_NAME_MAX, CompanyDraft};
use kith_domain::custom_fields::{FieldKind, coerce};
use kith_domain::model::{Address, Channel, Company, Contact, CustomFieldDefinition};
use kith_domain::query::{Filter, JsonStep, Op};
use kith_domain::{Actor, CompanyLink, ContactDraft, Crm, PeopleQuery, PeopleSort, PersonOrOrganization};
use kith_http::AppState;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::wire::{ApiError, ApiResult, collection, one, time};

const NAME_MAX: usize = 255;

/// Phone-like channels and the kind each is kept under.
const PHONES: &[(&str, &str)] = &[("phone", "work"), ("mobile", "mobile"), ("fax", "fax")];
/// Web presences and the URL kind each is kept under.
const URLS: &[(&str, &str)] = &[
    ("website", "website"),
    ("twitter", "twitter"),
    ("facebook", "facebook"),
    ("linkedin", "linkedin"),
    ("skype", "skype"),
];

fn channel<'a>(list: &'a [Channel], kind: &str) -> Option<&'a str> {
    list.iter().find(|c| c.kind == kind).map(|c| c.value.as_str())
}

/// A country as Sell shows it: its common name ("United States").
fn country_name(code: &str) -> String {
    kith_domain::countries::common_name(code).map_or_else(|| code.to_owned(), str::to_owned)
}

/// A country as Sell clients send it (a name, common or ISO, or an ISO code) as the model keeps
/// it (the code).
fn country_code(raw: &str) -> Option<String> {
    kith_domain::countries::lookup(raw).map(|c| c.code.to_owned())
}

pub(crate) fn render_address(a: Option<&Address>) -> Value {
    let a = a.cloned().unwrap_or_default();
    json!({
        "line1": a.address,
        "city": a.city,
        "postal_code": a.zip_code,
        "state": a.state,
        "country": a.country_code.as_deref().map(country_name),
    })
}

/// Custom values by field name; only assigned ones.
pub(crate) fn render_custom(values: &BTreeMap<String, Value>, defs: &[CustomFieldDefinition]) -> Value {
    let mut out = Map::new();
    for d in defs {
        if let Some(v) = values.get(&d.id.to_string()) {
            let v = match v {
                Value::Object(_) if d.kind() == FieldKind::Address => {
                    render_address(serde_json::from_value::<Address>(v.clone()).ok().as_ref())
                }
                // Numbers are strings on Sell's wire; whole numbers without a fraction.
                Value::Number(n) => Value::String(match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                    _ => n.to_string(),
                }),
                other => other.clone(),
            };
            out.insert(d.name.clone(), v);
        }
    }
    Value::Object(out)
}

fn render_person(c: &Contact, defs: &[CustomFieldDefinition]) -> Value {
    let mut v = json!({
        "id": c.id,
        "creator_id": c.owner_id,
        "owner_id": c.owner_id,
        "is_organization": false,
        "contact_id": c.company_id,
        "parent_organization_id": null,
        "name": c.display_name(),
        "first_name": c.first_name,
        "last_name": c.last_name,
        "customer_status": "none",
        "prospect_status": "none",
        "title": c.job_title,
        "description": c.background,
        "industry": null,
        "email": c.emails.0.first().map(|e| e.value.clone()),
        "address": render_address(c.addresses.0.first()),
        "billing_address": null,
        "shipping_address": null,
        "tags": c.tags.0,
        "custom_fields": render_custom(&c.custom_fields.0, defs),
        "created_at": time(c.created_at),
        "updated_at": time(c.updated_at),
    });
    for (field, kind) in PHONES {
        v[*field] = json!(channel(&c.phones.0, kind));
    }
    for (field, kind) in URLS {
        v[*field] = json!(channel(&c.urls.0, kind));
    }
    v
}

fn render_organization(c: &Company, defs: &[CustomFieldDefinition]) -> Value {
    json!({
        "id": c.id,
        "creator_id": c.owner_id,
        "owner_id": c.owner_id,
        "is_organization": true,
        "contact_id": null,
        "parent_organization_id": null,
        "name": c.name,
        "first_name": null,
        "last_name": null,
        "customer_status": "none",
        "prospect_status": "none",
        "title": null,
        "description": c.description,
        "industry": c.industry,
        "website": c.url,
        "email": c.email,
        "phone": c.phone,
        "mobile": null,
        "fax": null,
        "twitter": null,
        "facebook": null,
        "linkedin": null,
        "skype": null,
        "address": render_address(c.address.0.as_ref()),
        "billing_address": null,
        "shipping_address": null,
        "tags": c.tags.0,
        "custom_fields": render_custom(&c.custom_fields.0, defs),
        "created_at": time(c.created_at),
        "updated_at": time(c.updated_at),
    })
}

/// Field definitions of persons and of organisations.
struct Defs {
    person: Vec<CustomFieldDefinition>,
    organization: Vec<CustomFieldDefinition>,
}

async fn defs(crm: &Crm, actor: Actor) -> ApiResult<Defs> {
    Ok(Defs {
        person: crm.custom_fields(actor, "contact").await?,
        organization: crm.custom_fields(actor, "company").await?,
    })
}

/// Either kind of Sell contact.
enum Record {
    Person(Contact),
    Organization(Company),
}

impl Record {
    fn render(&self, defs: &Defs) -> Value {
        match self {
            Record::Person(c) => render_person(c, &defs.person),
            Record::Organization(c) => render_organization(c, &defs.organization),
        }
    }
}

async fn find(crm: &Crm, actor: Actor, id: i64) -> ApiResult<Record> {
    if let Some(c) = crm.find::<Contact>(actor, id).await? {
        return Ok(Record::Person(c));
    }
    match crm.find::<Company>(actor, id).await? {
        Some(c) => Ok(Record::Organization(c)),
        None => Err(ApiError::not_found("contact")),
    }
}

/// A person or organisation as the Sync API hands it out; `None` when it is not live.
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    let record = match st.crm.find::<Contact>(actor, id).await? {
        Some(c) => Record::Person(c),
        None => match st.crm.find::<Company>(actor, id).await? {
            Some(c) => Record::Organization(c),
            None => return Ok(None),
        },
    };
    let defs = defs(&st.crm, actor).await?;
    Ok(Some(("contact", record.render(&defs))))
}

/// Reads `address` into the model's address; `None` when absent, `Some(None)` to clear it.
pub(crate) fn read_address(data: &mut Data, current: Option<Address>) -> Option<Option<Address>> {
    let obj = data.object("address")?;
    let Some(obj) = obj else { return Some(None) };
    Some(parse_address(data, "address", &obj, current))
}

/// An address object as Sell sends it (`line1`, `city`, `postal_code`, `state`, `country`),
/// over `current`; problems are reported under `field`. `None` when nothing is left in it.
fn parse_address(data: &mut Data, field: &str, obj: &Map<String, Value>, current: Option<Address>) -> Option<Address> {
    let mut a = current.unwrap_or_default();
    let text = |data: &mut Data, key: &str| -> Option<Option<String>> {
        match obj.get(key)? {
            Value::Null => Some(None),
            Value::String(s) => Some((!s.trim().is_empty()).then(|| s.trim().to_owned())),
            _ => {
                data.error(format!("{field}/{key}"), "must be a string");
                None
            }
        }
    };
    if let Some(v) = text(data, "line1") {
        a.address = v;
    }
    if let Some(v) = text(data, "city") {
        a.city = v;
    }
    if let Some(v) = text(data, "postal_code") {
        a.zip_code = v;
    }
    if let Some(v) = text(data, "state") {
        a.state = v;
    }
    if let Some(v) = text(data, "country") {
        a.country_code = match v {
            None => None,
            Some(name) => match country_code(&name) {
                Some(code) => Some(code),
                None => {
                    data.error(format!("{field}/country"), "is not a country name or ISO 3166 code");
                    None
                }
            },
        };
    }
    let empty = a.address.is_none() && a.city.is_none() && a.zip_code.is_none() && a.state.is_none();
    (!empty || a.country_code.is_some()).then_some(a)
}

/// Merges `custom_fields` (by name) over `current` (by definition id).
pub(crate) fn read_custom(data: &mut Data, defs: &[CustomFieldDefinition], current: &mut BTreeMap<String, Value>) {
    let Some(obj) = data.object("custom_fields") else { return };
    let Some(obj) = obj else {
        current.clear();
        return;
    };
    for (name, mut value) in obj {
        let Some(def) = defs.iter().find(|d| d.name == name) else {
            data.error(format!("custom_fields/{name}"), "is not a defined custom field");
            continue;
        };
        // Address values come in Sell's address shape; the model keeps its own.
        if let (FieldKind::Address, Value::Object(obj)) = (def.kind(), &value) {
            let field = format!("custom_fields/{name}");
            value = match parse_address(data, &field, obj, None) {
                Some(a) => serde_json::to_value(a).unwrap_or(Value::Null),
                None => Value::Null,
            };
        }
        match coerce(def, &value) {
            Ok(Some(v)) => {
                current.insert(def.id.to_string(), v);
            }
            Ok(None) => {
                current.remove(&def.id.to_string());
            }
            Err(m) => data.error(format!("custom_fields/{name}"), m),
        }
    }
}

/// Replaces (or adds, or removes) the channel of `kind` in `list`.
fn set_channel(list: &mut Vec<Channel>, kind: &str, value: Option<String>) {
    match (list.iter().position(|c| c.kind == kind), value) {
        (Some(i), Some(v)) => list[i].value = v,
        (Some(i), None) => {
            list.remove(i);
        }
        (None, Some(v)) => list.push(Channel { kind: kind.to_owned(), value: v }),
        (None, None) => {}
    }
}

fn person_draft(data: &mut Data, defs: &[CustomFieldDefinition], mut d: ContactDraft) -> ContactDraft {
    for (key, slot) in [("first_name", &mut d.first_name), ("last_name", &mut d.last_name)] {
        if let Some(v) = data.text(key, NAME_MAX) {
            *slot = v;
        }
    }
    if let Some(v) = data.text("title", NAME_MAX) {
        d.job_title = v;
    }
    if let Some(v) = data.text("description", 10_000) {
        d.background = v;
    }
    if let Some(v) = data.text("email", NAME_MAX) {
        match (d.emails.is_empty(), v) {
            (_, None) => {
                if !d.emails.is_empty() {
                    d.emails.remove(0);
                }
            }
            (true, Some(v)) => d.emails.push(Channel { kind: "work".into(), value: v }),
            (false, Some(v)) => d.emails[0].value = v,
        }
    }
    for (key, kind) in PHONES {
        if let Some(v) = data.text(key, 100) {
            set_channel(&mut d.phones, kind, v);
        }
    }
    for (key, kind) in URLS {
        if let Some(v) = data.text(key, 2048) {
            set_channel(&mut d.urls, kind, v);
        }
    }
    if let Some(a) = read_address(data, d.addresses.first().cloned()) {
        d.addresses = a.into_iter().collect();
    }
    if let Some(tags) = data.tags("tags") {
        d.tags = tags;
    }
    if let Some(owner) = data.id("owner_id") {
        d.owner_id = owner;
    }
    if let Some(org) = data.id("contact_id") {
        d.company = org.map_or(CompanyLink::None, CompanyLink::Id);
    }
    let mut custom: BTreeMap<String, Value> = d.custom_fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    read_custom(data, defs, &mut custom);
    d.custom_fields = custom.into_iter().filter_map(|(k, v)| k.parse().ok().map(|k| (k, v))).collect();
    d
}

/// Applies the attributes sent to an organisation's draft; `current` holds its stored custom
/// values (by definition id), over which `custom_fields` (by name) is read.
fn organization_draft(
    data: &mut Data,
    defs: &[CustomFieldDefinition],
    current: &BTreeMap<String, Value>,
    mut d: CompanyDraft,
) -> CompanyDraft {
    if let Some(v) = data.text("name", COMPANY_NAME_MAX) {
        match v {
            Some(name) => d.name = name,
            None => data.error("name", "can't be blank"),
        }
    }
    for (key, slot) in [
        ("description", &mut d.description),
        ("industry", &mut d.industry),
        ("website", &mut d.url),
        ("email", &mut d.email),
        ("phone", &mut d.phone),
    ] {
        if let Some(v) = data.text(key, 2048) {
            *slot = v;
        }
    }
    if let Some(a) = read_address(data, d.address.clone()) {
        d.address = a;
    }
    if let Some(tags) = data.tags("tags") {
        d.tags = tags;
    }
    if let Some(owner) = data.id("owner_id") {
        d.owner_id = owner;
    }
    if data.has("custom_fields") {
        let mut custom = current.clone();
        read_custom(data, defs, &mut custom);
        // The draft takes changes: what `custom_fields` left out of the stored values is cleared.
        let mut changes: BTreeMap<i64, Value> = current
            .keys()
            .filter(|k| !custom.contains_key(*k))
            .filter_map(|k| k.parse().ok())
            .map(|k| (k, Value::Null))
            .collect();
        changes.extend(custom.into_iter().filter_map(|(k, v)| k.parse().ok().map(|k| (k, v))));
        d.custom_fields = Some(changes);
    }
    d
}

/// Fields only a person has: an organisation cannot take them.
const PERSON_ONLY: &[&str] =
    &["first_name", "last_name", "title", "contact_id", "mobile", "fax", "twitter", "facebook", "linkedin", "skype"];

pub async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    let defs = defs(&st.crm, actor).await?;
    let is_org = data.boolean("is_organization").unwrap_or(false);
    let record = if is_org {
        for key in PERSON_ONLY {
            if data.raw(key).is_some_and(|v| !v.is_null()) {
                data.error(*key, "is not an attribute of an organization");
            }
        }
        if !data.has("name") {
            data.error("name", "can't be blank");
        }
        let draft = organization_draft(&mut data, &defs.organization, &BTreeMap::new(), CompanyDraft::new_by(actor));
        data.finish()?;
        Record::Organization(st.crm.create_company(actor, draft).await?)
    } else {
        if data.raw("last_name").is_none_or(Value::is_null) {
            data.error("last_name", "can't be blank");
        }
        let draft = person_draft(&mut data, &defs.person, ContactDraft::default());
        data.finish()?;
        Record::Person(st.crm.create_contact(actor, draft).await?)
    };
    Ok(one(StatusCode::OK, "contact", record.render(&defs)))
}

pub async fn get(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let record = find(&st.crm, actor, path_id(&id, "contact")?).await?;
    let defs = defs(&st.crm, actor).await?;
    Ok(one(StatusCode::OK, "contact", record.render(&defs)))
}

/// `PUT`: changes only the attributes sent; `tags` replaces the whole set.
pub async fn update(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let record = find(&st.crm, actor, path_id(&id, "contact")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let defs = defs(&st.crm, actor).await?;
    if let Some(is_org) = data.boolean("is_organization")
        && is_org != matches!(record, Record::Organization(_))
    {
        data.error("is_organization", "cannot be changed");
    }
    let saved = match record {
        Record::Person(c) => {
            let draft = person_draft(&mut data, &defs.person, c.draft());
            if draft.last_name.is_none() {
                data.error("last_name", "can't be blank");
            }
            data.finish()?;
            Record::Person(st.crm.update_contact(actor, c.id, draft).await?)
        }
        Record::Organization(c) => {
            for key in PERSON_ONLY {
                if data.raw(key).is_some_and(|v| !v.is_null()) {
                    data.error(*key, "is not an attribute of an organization");
                }
            }
            let draft = organization_draft(&mut data, &defs.organization, &c.custom_fields.0, c.draft());
            data.finish()?;
            Record::Organization(st.crm.update_company(actor, c.id, draft).await?)
        }
    };
    Ok(one(StatusCode::OK, "contact", saved.render(&defs)))
}

pub async fn delete(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    match find(&st.crm, actor, path_id(&id, "contact")?).await? {
        Record::Person(c) => st.crm.delete_contact_only(actor, c.id).await?,
        Record::Organization(c) => st.crm.delete::<Company>(actor, c.id).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Filters that apply to persons, organisations, or both, from the query.
struct ListFilters {
    person: Vec<Filter>,
    organization: Vec<Filter>,
    /// A filter only persons can meet (organisations are then left out).
    persons_only: bool,
}

/// The address filters a list takes (`address[city]=…`; the seed document's `city=…` too), each
/// with the model's key for that part of an address.
pub(crate) const ADDRESS_FILTERS: &[&str] =
    &["address[city]", "address[postal_code]", "address[country]", "address[state]", "city"];

/// Filters on the parts of an address kept in JSON `column` (`steps` lead to the address inside
/// it: a person's first address). A country is matched by its code, so it may be given by name.
pub(crate) fn address_filters(params: &Params, column: &str, steps: &[JsonStep]) -> ApiResult<Vec<Filter>> {
    let mut out = Vec::new();
    for param in ADDRESS_FILTERS {
        let Some(value) = params.get(param).filter(|s| !s.is_empty()) else { continue };
        let (key, value) = match *param {
            "address[city]" | "city" => ("city", value.to_owned()),
            "address[postal_code]" => ("zip_code", value.to_owned()),
            "address[state]" => ("state", value.to_owned()),
            _ => match country_code(value) {
                Some(code) => ("country_code", code),
                None => return Err(ApiError::bad_request(format!("{param}: {value:?} is not a country"))),
            },
        };
        let mut path = steps.to_vec();
        path.push(JsonStep::Key(key.to_owned()));
        out.push(Filter::Cmp {
            field: kith_domain::query::Field::JsonText { column: column.to_owned(), path },
            op: Op::Eq,
            value: value.into(),
        });
    }
    Ok(out)
}

fn list_filters(params: &Params) -> ApiResult<ListFilters> {
    let mut f = ListFilters { person: Vec::new(), organization: Vec::new(), persons_only: false };
    f.person.extend(address_filters(params, "addresses", &[JsonStep::Index(0)])?);
    f.organization.extend(address_filters(params, "address", &[])?);
    if let Some(ids) = params.ids()? {
        f.person.push(ids.clone());
        f.organization.push(ids);
    }
    if let Some(owner) = params.int("owner_id")? {
        f.person.push(Filter::eq("owner_id", owner));
        f.organization.push(Filter::eq("owner_id", owner));
    }
    if let Some(org) = params.int("contact_id")? {
        f.person.push(Filter::eq("company_id", org));
        f.persons_only = true;
    }
    if let Some(email) = params.get("email").filter(|s| !s.is_empty()) {
        f.person.push(Filter::cmp("email", Op::Eq, email));
        f.organization.push(Filter::cmp("email", Op::Eq, email));
    }
    if let Some(name) = params.get("name").filter(|s| !s.is_empty()) {
        // A person's name is first and last name together; match either part.
        f.person.push(Filter::Any(vec![
            Filter::cmp("last_name", Op::Contains, name),
            Filter::cmp("first_name", Op::Contains, name),
        ]));
        f.organization.push(Filter::cmp("name", Op::Contains, name));
    }
    for key in ["first_name", "last_name"] {
        if let Some(v) = params.get(key).filter(|s| !s.is_empty()) {
            f.person.push(Filter::cmp(key, Op::Eq, v));
            f.persons_only = true;
        }
    }
    Ok(f)
}

/// `GET /contacts`: persons and organisations (`is_organization` picks one), with `ids`,
/// `owner_id`, `contact_id`, `email`, `name`, `first_name`, `last_name`, `custom_fields[NAME]`;
/// `sort_by` `id`, `name`, `first_name`, `last_name`, `created_at`, `updated_at`,
/// `custom_fields:NAME`.
pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let known: &[&str] =
        &["is_organization", "owner_id", "contact_id", "email", "name", "first_name", "last_name", "custom_fields[]"];
    let params = Params::list(raw.as_deref(), &[known, ADDRESS_FILTERS].concat())?;
    let paging = params.paging()?;
    let filters = list_filters(&params)?;
    let kind = params.flag("is_organization")?;
    let defs = defs(&st.crm, actor).await?;
    let raw_sort = params.get("sort_by").unwrap_or("");
    let desc = raw_sort.ends_with(":desc");
    let custom_sort: Option<&str> = raw_sort
        .strip_prefix("custom_fields:")
        .map(|rest| rest.strip_suffix(":desc").or_else(|| rest.strip_suffix(":asc")).unwrap_or(rest));
    let sort_field = match (custom_sort, raw_sort.split(':').next().unwrap_or("")) {
        (Some(name), _) => {
            let known = defs.person.iter().chain(&defs.organization).any(|d| d.name == name);
            if !known {
                return Err(ApiError::bad_request(format!("sort_by: no custom field named {name:?}")));
            }
            "custom_fields"
        }
        (None, "") => "id",
        (None, f @ ("id" | "name" | "first_name" | "last_name" | "created_at" | "updated_at")) => f,
        (None, _) => {
            return Err(ApiError::bad_request(
                "sort_by must be one of id, name, first_name, last_name, created_at, updated_at, custom_fields:NAME",
            ));
        }
    };
    let person_custom = params.custom_filters(&defs.person)?;
    let organization_custom = params.custom_filters(&defs.organization)?;
    if person_custom.is_none() && organization_custom.is_none() {
        let names = params.custom_filter_names().join(", ");
        return Err(ApiError::bad_request(format!("custom_fields: no custom field named {names}")));
    }
    // `first_name` and `last_name` order persons by their name, as `name` does.
    let sort = match (custom_sort, sort_field) {
        (Some(name), _) => PeopleSort::CustomField(name.to_owned()),
        (None, "name" | "first_name" | "last_name") => PeopleSort::Name,
        (None, "created_at") => PeopleSort::CreatedAt,
        (None, "updated_at") => PeopleSort::UpdatedAt,
        (None, _) => PeopleSort::Id,
    };
    let with = |filters: Vec<Filter>, custom: Option<Vec<Filter>>| custom.map(|c| [filters, c].concat());
    let q = PeopleQuery {
        persons: if kind == Some(true) { None } else { with(filters.person, person_custom) },
        organizations: if kind == Some(false) || filters.persons_only {
            None
        } else {
            with(filters.organization, organization_custom)
        },
        sort,
        descending: desc,
        offset: (paging.page - 1) * paging.per_page,
        // One more than a page tells whether another follows.
        limit: paging.per_page + 1,
    };
    let mut page: Vec<Value> = st
        .crm
        .list_people_and_organizations(actor, &q)
        .await?
        .into_iter()
        .map(|r| match r {
            PersonOrOrganization::Person(c) => render_person(&c, &defs.person),
            PersonOrOrganization::Organization(c) => render_organization(&c, &defs.organization),
        })
        .collect();
    let links = paging.links("/v2/contacts", &mut page);
    Ok(collection("contact", page, links))
}
