//! Upsales' small named lists, each one of the account's lists of choices (`Choice`):
//! activity types (`/activitytypes/activity`, and `/todoTypes`, the two built in), appointment
//! types (`/activitytypes/appointment`), account categories (`/clientcategories`) and their
//! types (`/clientCategoryTypes`), contact categories (`/contactcategories`) and their types
//! (`/contactCategoryTypes`), and roles (`/roles`). Each is listed with the query language,
//! read, created, renamed and deleted; a type is merged into another
//! (`/activitytypes/{activity|appointment}/merge/{id}/with/{id2}`: the records of `id` move to
//! `id2` and `id` goes).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, put};
use kith_domain::choices::{
    ACTIVITY_TYPES, APPOINTMENT_TYPES, CHOICE_NAME_MAX, COMPANY_CATEGORIES, COMPANY_CATEGORY_TYPES, CONTACT_CATEGORIES,
    CONTACT_CATEGORY_TYPES, ROLES,
};
use kith_domain::deals::DEFAULT_CURRENCY;
use kith_domain::model::Choice;
use kith_http::{AppState, Routes};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::query::{Attr, Kind, ListParams, Resource, col};
use crate::shapes::{self, Body_};
use crate::wire::{self, ApiError, ApiResult, path_id};

const ATTRS: &[Attr] =
    &[col("id", "id", Kind::Int), col("name", "name", Kind::Text), col("sortId", "position", Kind::Int)];
const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[], custom_kind: None };

/// One list as Upsales serves it.
pub struct List {
    /// The domain's list.
    pub list: &'static str,
    /// What a record is called in a 404.
    pub what: &'static str,
    pub render: fn(&Choice) -> Value,
    /// Checks what a body says beyond the name (a category's `categoryType`).
    pub check: fn(&mut Body_),
}

fn activity_type(c: &Choice) -> Value {
    json!({ "id": c.id, "name": c.name, "first": 0, "roles": [], "userRemovable": true, "userEditable": true })
}

fn category(c: &Choice) -> Value {
    json!({ "id": c.id, "name": c.name, "categoryType": 0, "roles": [] })
}

fn named(c: &Choice) -> Value {
    json!({ "id": c.id, "name": c.name })
}

fn role(c: &Choice) -> Value {
    json!({ "id": c.id, "name": c.name, "description": null, "defaultCurrency": DEFAULT_CURRENCY })
}

fn nothing_more(_: &mut Body_) {}

/// Kith keeps every account category in the standard type (0).
fn standard_type(b: &mut Body_) {
    if let Some(t) = b.integer("categoryType")
        && t.unwrap_or(0) != 0
    {
        b.error("categoryType", "must be 0 (Kith keeps every category in the standard type)");
    }
}

pub static ACTIVITY: List =
    List { list: ACTIVITY_TYPES, what: "activity type", render: activity_type, check: nothing_more };
pub static APPOINTMENT: List =
    List { list: APPOINTMENT_TYPES, what: "appointment type", render: activity_type, check: nothing_more };
static CATEGORIES: List =
    List { list: COMPANY_CATEGORIES, what: "client category", render: category, check: standard_type };
static CATEGORY_TYPES: List =
    List { list: COMPANY_CATEGORY_TYPES, what: "client category type", render: named, check: nothing_more };
static CONTACT_CATEGORY: List =
    List { list: CONTACT_CATEGORIES, what: "contact category", render: category, check: standard_type };
static CONTACT_CATEGORY_TYPE: List =
    List { list: CONTACT_CATEGORY_TYPES, what: "contact category type", render: named, check: nothing_more };
static ROLE: List = List { list: ROLES, what: "role", render: role, check: nothing_more };

pub fn routes() -> Routes {
    let mut r = Routes::new().route("/todotypes", get(todo_types));
    for (path, one, l) in [
        ("/activitytypes/activity", "/activitytypes/activity/{id}", &ACTIVITY),
        ("/activitytypes/appointment", "/activitytypes/appointment/{id}", &APPOINTMENT),
        ("/clientcategories", "/clientcategories/{id}", &CATEGORIES),
        ("/clientcategorytypes", "/clientcategorytypes/{id}", &CATEGORY_TYPES),
        ("/contactcategories", "/contactcategories/{id}", &CONTACT_CATEGORY),
        ("/contactcategorytypes", "/contactcategorytypes/{id}", &CONTACT_CATEGORY_TYPE),
        ("/roles", "/roles/{id}", &ROLE),
    ] {
        r = r.route(path, many(l)).route(one, single(l));
    }
    for (path, l) in [
        ("/activitytypes/activity/merge/{id}/with/{id2}", &ACTIVITY),
        ("/activitytypes/appointment/merge/{id}/with/{id2}", &APPOINTMENT),
    ] {
        r = r.route(path, put(move |st: State<AppState>, c: Caller, ids: Path<(String, String)>| merge(l, st, c, ids)));
    }
    r
}

/// Merges type `id` into type `id2`: its records take `id2`, and `id` is deleted. Answers `id2`.
async fn merge(
    l: &List,
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path((from, into)): Path<(String, String)>,
) -> ApiResult {
    let from = get_one(l, &st, actor, &from).await?;
    let into = get_one(l, &st, actor, &into).await?;
    Ok(wire::one((l.render)(&st.crm.merge_choice(actor, l.list, from.id, into.id).await?)))
}

fn many(l: &'static List) -> MethodRouter<AppState> {
    get(move |st: State<AppState>, c: Caller, q: RawQuery| list(l, st, c, q))
        .post(move |st: State<AppState>, c: Caller, body: Body| create(l, st, c, body))
}

fn single(l: &'static List) -> MethodRouter<AppState> {
    get(move |st: State<AppState>, c: Caller, id: Path<String>| one(l, st, c, id))
        .put(move |st: State<AppState>, c: Caller, id: Path<String>, body: Body| update(l, st, c, id, body))
        .delete(move |st: State<AppState>, c: Caller, id: Path<String>| delete(l, st, c, id))
}

async fn list(l: &List, State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let p = ListParams::parse(q.as_deref())?;
    let query = p.query(&RESOURCE, &Default::default())?;
    let page = st.crm.choices_page(actor, l.list, query).await?;
    Ok(wire::page(page.rows.iter().map(l.render).collect(), page.total.unwrap_or(0), p.limit, p.offset))
}

async fn get_one(l: &List, st: &AppState, actor: kith_domain::Actor, raw: &str) -> ApiResult<Choice> {
    let id = path_id(raw, l.what)?;
    st.crm.choice(actor, l.list, id).await.map_err(|_| ApiError::not_found(l.what))
}

async fn one(l: &List, State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    Ok(wire::one((l.render)(&get_one(l, &st, actor, &raw).await?)))
}

/// The name of a body, and whatever else the list checks.
async fn read_name(l: &List, st: &AppState, body: Body, required: bool) -> ApiResult<Option<String>> {
    let mut b = shapes::read(st, body).await?;
    let name = b.text("name", CHOICE_NAME_MAX).flatten();
    if required && name.is_none() {
        b.error("name", "is required");
    }
    (l.check)(&mut b);
    b.finish()?;
    Ok(name)
}

async fn create(l: &List, State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let name = read_name(l, &st, body, true).await?.unwrap_or_default();
    Ok(wire::one((l.render)(&st.crm.create_choice(actor, l.list, &name).await?)))
}

async fn update(
    l: &List,
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    body: Body,
) -> ApiResult {
    let current = get_one(l, &st, actor, &raw).await?;
    let c = match read_name(l, &st, body, false).await? {
        Some(name) => st.crm.rename_choice(actor, l.list, current.id, &name).await?,
        None => current,
    };
    Ok(wire::one((l.render)(&c)))
}

async fn delete(l: &List, State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let c = get_one(l, &st, actor, &raw).await?;
    st.crm.delete_choice(actor, l.list, c.id).await?;
    Ok(wire::deleted())
}

/// `/todoTypes`: the two built-in activity types, by Upsales' names for them (a renamed or
/// deleted one is `null`). No envelope, as Upsales answers.
async fn todo_types(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult<Response> {
    let types = st.crm.choices(actor, ACTIVITY_TYPES).await?;
    let of = |key: &str, todo_type: i64, has_outcome: bool| match types.iter().find(|c| c.key == key) {
        Some(c) => {
            let mut v = activity_type(c);
            v["todoType"] = json!(todo_type);
            v["hasOutcome"] = json!(has_outcome);
            v
        }
        None => Value::Null,
    };
    Ok(axum::Json(json!({ "TODO": of("todo", 1, false), "PHONE_CALL": of("phone call", 2, true) })).into_response())
}
