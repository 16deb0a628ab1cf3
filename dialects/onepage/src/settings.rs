//! Account settings: `/bootstrap`, `/change_auth_key`, `/users`, `/statuses`, `/lead_sources`,
//! `/custom_fields`, `/company_fields`, `/deal_fields` and `/pipelines`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use kith_domain::custom_fields::{FieldKind, NewCustomField};
use kith_domain::engagements::CALL_RESULTS;
use kith_domain::model::{CustomFieldDefinition, LeadSource, Pipeline, Stage, Status, User};
use kith_domain::query::{Field, Filter, Sort};
use kith_domain::settings::{
    LEAD_SOURCE_NAME_MAX, STATUS_COLORS, STATUS_DESCRIPTION_MAX, STATUS_NAME_MAX, StatusDraft, UserDraft,
};
use kith_domain::{Actor, Crm};
use kith_http::AppState;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::params::{Params, path_id, read_input};
use crate::render::common::render_custom_field;
use crate::wire::{ApiError, ApiResult, hex_id, ok};

// ---- users ---------------------------------------------------------------------------------

fn account_rights(u: &User) -> Vec<&'static str> {
    match u.role.as_str() {
        "owner" => vec!["account_owner", "admin"],
        "admin" => vec!["admin"],
        _ => vec![],
    }
}

pub fn render_user(u: &User) -> Value {
    json!({
        "id": hex_id(u.id),
        "first_name": u.first_name.clone().unwrap_or_default(),
        "last_name": u.last_name.clone().unwrap_or_default(),
        "email": u.email,
        "company_name": u.company_name.clone().unwrap_or_default(),
        "account_rights": account_rights(u),
        "photo_url": "",
    })
}

pub async fn users(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let users = st.crm.all::<User>(actor, None).await?;
    Ok(ok(StatusCode::OK, Value::Array(users.iter().map(|u| json!({ "user": render_user(u) })).collect())))
}

pub async fn user(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let user = st.crm.get::<User>(actor, path_id(&id, "user")?).await?;
    Ok(ok(StatusCode::OK, json!({ "user": render_user(&user) })))
}

/// `PUT /users/{id}`: first name, last name and company name; the fields not sent are kept.
pub async fn update_user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "user")?;
    let user = st.crm.get::<User>(actor, id).await?;
    let mut input = read_input(&st, body).await?;
    let mut d = UserDraft {
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        company_name: user.company_name.clone(),
    };
    if let Some(v) = input.text("first_name", 100) {
        d.first_name = v;
    }
    if let Some(v) = input.text("last_name", 100) {
        d.last_name = v;
    }
    if let Some(v) = input.text("company_name", 100) {
        d.company_name = v;
    }
    input.finish()?;
    let user = st.crm.update_user(actor, id, d).await?;
    Ok(ok(StatusCode::OK, json!({ "user": render_user(&user) })))
}

/// `POST /change_auth_key`: replaces the key this request was made with; the old one stops working.
pub async fn change_auth_key(State(st): State<AppState>, Caller(actor): Caller, headers: HeaderMap) -> ApiResult {
    let Some(kith_http::Presented::Basic { secret, .. }) = kith_http::authorization(&headers) else {
        return Err(ApiError::unauthorized());
    };
    let key = st.crm.rotate_own_key(actor, &secret).await?;
    Ok(ok(StatusCode::CREATED, json!({ "auth_key": key.secret })))
}

// ---- statuses ------------------------------------------------------------------------------

async fn render_status(crm: &Crm, actor: Actor, s: &Status) -> ApiResult<Value> {
    let total = crm.count_contacts(actor, Filter::eq("status_id", s.id)).await?;
    let mine = crm
        .count_contacts(actor, Filter::All(vec![Filter::eq("status_id", s.id), Filter::eq("owner_id", actor.user_id)]))
        .await?;
    Ok(json!({
        "id": hex_id(s.id),
        "status": s.key,
        "text": s.name,
        "description": s.description.clone().unwrap_or_default(),
        "color": s.color.clone().unwrap_or_else(|| "666666".into()),
        "counts": mine,
        "total_count": total,
    }))
}

pub async fn statuses(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let list = st.crm.all_sorted::<Status>(actor, None, vec![Sort::asc("position")]).await?;
    let mut out = Vec::with_capacity(list.len());
    for s in &list {
        out.push(json!({ "status": render_status(&st.crm, actor, s).await? }));
    }
    Ok(ok(StatusCode::OK, Value::Array(out)))
}

pub async fn status(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let s = st.crm.get::<Status>(actor, path_id(&id, "status")?).await?;
    Ok(ok(StatusCode::OK, json!({ "status": render_status(&st.crm, actor, &s).await? })))
}

fn read_status(input: &mut crate::input::Input, mut d: StatusDraft, partial: bool) -> StatusDraft {
    match input.text("text", STATUS_NAME_MAX) {
        Some(v) => d.name = v.unwrap_or_default(),
        None if !partial && !input.has("text") => input.error("text", "is required"),
        None => {}
    }
    match input.one_of("color", STATUS_COLORS) {
        Some(v) => d.color = v.unwrap_or_default(),
        None if !partial && !input.has("color") => input.error("color", "is required"),
        None => {}
    }
    match input.text("description", STATUS_DESCRIPTION_MAX) {
        Some(v) => d.description = v,
        None if !partial => d.description = None,
        None => {}
    }
    d
}

pub async fn create_status(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut input = read_input(&st, body).await?;
    let d = read_status(&mut input, StatusDraft::default(), false);
    input.finish()?;
    let s = st.crm.create_status(actor, d).await?;
    Ok(ok(StatusCode::CREATED, json!({ "status": render_status(&st.crm, actor, &s).await? })))
}

pub async fn update_status(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "status")?;
    let partial = Params::parse(raw.as_deref()).flag("partial")?.unwrap_or(false);
    let existing = st.crm.get::<Status>(actor, id).await?;
    let mut input = read_input(&st, body).await?;
    let base = StatusDraft {
        name: existing.name.clone(),
        color: existing.color.clone().unwrap_or_default(),
        description: existing.description.clone(),
    };
    let d = read_status(&mut input, base, partial);
    input.finish()?;
    let s = st.crm.update_status(actor, id, d).await?;
    Ok(ok(StatusCode::OK, json!({ "status": render_status(&st.crm, actor, &s).await? })))
}

pub async fn delete_status(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    st.crm.delete_status(actor, path_id(&id, "status")?).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

// ---- lead sources (addressed by their system id, the key) ----------------------------------

async fn render_lead_source(crm: &Crm, actor: Actor, s: &LeadSource) -> ApiResult<Value> {
    let total = crm.count_contacts(actor, Filter::eq("lead_source_id", s.id)).await?;
    let mine = crm
        .count_contacts(
            actor,
            Filter::All(vec![Filter::eq("lead_source_id", s.id), Filter::eq("owner_id", actor.user_id)]),
        )
        .await?;
    Ok(json!({ "id": s.key, "text": s.name, "counts": mine, "total_count": total }))
}

async fn lead_source_by_key(crm: &Crm, actor: Actor, key: &str) -> ApiResult<LeadSource> {
    let found = crm.all::<LeadSource>(actor, Some(Filter::eq("key", key))).await?;
    // Deal sources (made over Sell) are not OnePage lead sources.
    found
        .into_iter()
        .find(|s| s.kind() == kith_domain::sources::LEAD_SOURCES)
        .ok_or_else(|| ApiError::not_found("lead source"))
}

pub async fn lead_sources(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let lead = kith_domain::sources::kind_filter(kith_domain::sources::LEAD_SOURCES);
    let list = st.crm.all_sorted::<LeadSource>(actor, Some(lead), vec![Sort::asc("name")]).await?;
    let mut out = Vec::with_capacity(list.len());
    for s in &list {
        out.push(render_lead_source(&st.crm, actor, s).await?);
    }
    Ok(ok(StatusCode::OK, Value::Array(out)))
}

pub async fn lead_source(State(st): State<AppState>, Caller(actor): Caller, Path(key): Path<String>) -> ApiResult {
    let s = lead_source_by_key(&st.crm, actor, &key).await?;
    Ok(ok(StatusCode::OK, render_lead_source(&st.crm, actor, &s).await?))
}

fn read_lead_source_name(input: &mut crate::input::Input) -> String {
    match input.text("text", LEAD_SOURCE_NAME_MAX) {
        Some(Some(t)) => t,
        Some(None) => {
            input.error("text", "is required");
            String::new()
        }
        None => {
            if !input.has("text") {
                input.error("text", "is required");
            }
            String::new()
        }
    }
}

pub async fn create_lead_source(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut input = read_input(&st, body).await?;
    let name = read_lead_source_name(&mut input);
    input.finish()?;
    let s = st.crm.create_lead_source(actor, &name).await?;
    Ok(ok(StatusCode::CREATED, render_lead_source(&st.crm, actor, &s).await?))
}

pub async fn update_lead_source(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(key): Path<String>,
    body: Body,
) -> ApiResult {
    let s = lead_source_by_key(&st.crm, actor, &key).await?;
    let mut input = read_input(&st, body).await?;
    let name = read_lead_source_name(&mut input);
    input.finish()?;
    let s = st.crm.rename_lead_source(actor, s.id, &name).await?;
    Ok(ok(StatusCode::OK, render_lead_source(&st.crm, actor, &s).await?))
}

pub async fn delete_lead_source(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(key): Path<String>,
) -> ApiResult {
    let s = lead_source_by_key(&st.crm, actor, &key).await?;
    st.crm.delete_lead_source(actor, s.id).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

// ---- custom fields of contacts, companies and deals ----------------------------------------

/// Which custom fields a route serves: the entity kind and the wire names of one and many.
#[derive(Clone, Copy)]
pub enum Fields {
    Contact,
    Company,
    Deal,
}

impl Fields {
    fn kind(self) -> &'static str {
        match self {
            Fields::Contact => "contact",
            Fields::Company => "company",
            Fields::Deal => "deal",
        }
    }
    fn one(self) -> &'static str {
        match self {
            Fields::Contact => "custom_field",
            Fields::Company => "company_field",
            Fields::Deal => "deal_field",
        }
    }
    fn many(self) -> &'static str {
        match self {
            Fields::Contact => "custom_fields",
            Fields::Company => "company_fields",
            Fields::Deal => "deal_fields",
        }
    }
}

/// OnePage's type names, and the model's kinds they map to.
const WIRE_TYPES: &[(&str, FieldKind)] = &[
    ("single_line_text", FieldKind::Text),
    ("multi_line_text", FieldKind::MultiLineText),
    ("number", FieldKind::Number),
    ("date", FieldKind::Date),
    ("anniversary", FieldKind::Anniversary),
    ("select_box", FieldKind::Dropdown),
    ("multiple_choice", FieldKind::MultiSelect),
    ("external_id", FieldKind::ExternalId),
    ("section_divider", FieldKind::SectionDivider),
];

async fn field_of(crm: &Crm, actor: Actor, which: Fields, id: &str) -> ApiResult<CustomFieldDefinition> {
    let def = crm.get::<CustomFieldDefinition>(actor, path_id(id, which.one())?).await?;
    if def.entity_kind != which.kind() {
        return Err(ApiError::not_found(which.one()));
    }
    Ok(def)
}

pub async fn list_fields(st: AppState, actor: Actor, which: Fields, raw: Option<String>) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let paging = params.paging()?;
    let mut q = paging.query().filter(Filter::eq("entity_kind", which.kind()));
    if let Some(t) = params.get("type") {
        let kind = WIRE_TYPES.iter().find(|(n, _)| *n == t).map(|(_, k)| *k);
        let kind = kind.ok_or_else(|| ApiError::bad_request("type is not a custom field type"))?;
        q = q.filter(Filter::eq("field_type", kind.name()));
    }
    let sort = params.sort(&[("position", "position"), ("created_at", "created_at"), ("modified_at", "updated_at")])?;
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("position")));
    let page = st.crm.list::<CustomFieldDefinition>(actor, &q).await?;
    let items = page.rows.iter().map(|d| json!({ which.one(): render_custom_field(d) })).collect();
    Ok(ok(StatusCode::OK, paging.envelope(which.many(), items, page.total.unwrap_or(0))))
}

pub async fn get_field(st: AppState, actor: Actor, which: Fields, id: String) -> ApiResult {
    let def = field_of(&st.crm, actor, which, &id).await?;
    Ok(ok(StatusCode::OK, json!({ which.one(): render_custom_field(&def) })))
}

fn read_choices(input: &mut crate::input::Input) -> Option<Vec<String>> {
    input.strings("choices", 200)
}

pub async fn create_field(st: AppState, actor: Actor, which: Fields, body: Body) -> ApiResult {
    let mut input = read_input(&st, body).await?;
    let name = input.text("name", 60).flatten();
    if name.is_none() {
        input.error("name", "is required");
    }
    let names: Vec<&str> = WIRE_TYPES.iter().map(|(n, _)| *n).collect();
    let kind = match input.one_of("type", &names) {
        Some(Some(t)) => WIRE_TYPES.iter().find(|(n, _)| *n == t).map(|(_, k)| *k),
        Some(None) | None => {
            if !input.has("type") {
                input.error("type", "is required");
            }
            None
        }
    };
    let choices = read_choices(&mut input).unwrap_or_default();
    let position = input.integer("position").flatten();
    input.finish()?;
    let (Some(name), Some(kind)) = (name, kind) else {
        return Err(ApiError::bad_request("name and type are required"));
    };
    let def = st
        .crm
        .create_custom_field(actor, NewCustomField { entity_kind: which.kind().into(), name, kind, choices, position })
        .await?;
    Ok(ok(StatusCode::CREATED, json!({ which.one(): render_custom_field(&def) })))
}

pub async fn update_field(st: AppState, actor: Actor, which: Fields, id: String, body: Body) -> ApiResult {
    let def = field_of(&st.crm, actor, which, &id).await?;
    let mut input = read_input(&st, body).await?;
    let name = input.text("name", 60).map(Option::unwrap_or_default).unwrap_or_else(|| def.name.clone());
    if let Some(t) = input.text("type", 100).flatten()
        && WIRE_TYPES.iter().find(|(n, _)| *n == t).map(|(_, k)| *k) != Some(def.kind())
    {
        input.error("type", "cannot be changed");
    }
    let choices = read_choices(&mut input).unwrap_or_else(|| def.choices.0.clone());
    let position = input.integer("position").flatten();
    input.finish()?;
    let def = st.crm.update_custom_field(actor, def.id, &name, choices, position).await?;
    Ok(ok(StatusCode::OK, json!({ which.one(): render_custom_field(&def) })))
}

pub async fn delete_field(st: AppState, actor: Actor, which: Fields, id: String) -> ApiResult {
    let def = field_of(&st.crm, actor, which, &id).await?;
    st.crm.delete::<CustomFieldDefinition>(actor, def.id).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

/// Handlers with axum's extractors for one kind of custom field.
macro_rules! field_routes {
    ($module:ident, $which:expr) => {
        pub mod $module {
            use super::*;

            pub async fn list(State(st): State<AppState>, Caller(a): Caller, RawQuery(q): RawQuery) -> ApiResult {
                super::list_fields(st, a, $which, q).await
            }
            pub async fn create(State(st): State<AppState>, Caller(a): Caller, body: Body) -> ApiResult {
                super::create_field(st, a, $which, body).await
            }
            pub async fn get(State(st): State<AppState>, Caller(a): Caller, Path(id): Path<String>) -> ApiResult {
                super::get_field(st, a, $which, id).await
            }
            pub async fn update(
                State(st): State<AppState>,
                Caller(a): Caller,
                Path(id): Path<String>,
                body: Body,
            ) -> ApiResult {
                super::update_field(st, a, $which, id, body).await
            }
            pub async fn delete(State(st): State<AppState>, Caller(a): Caller, Path(id): Path<String>) -> ApiResult {
                super::delete_field(st, a, $which, id).await
            }
        }
    };
}

field_routes!(contact_fields, Fields::Contact);
field_routes!(company_fields, Fields::Company);
field_routes!(deal_fields, Fields::Deal);

// ---- pipelines -----------------------------------------------------------------------------

/// A pipeline with its open stages; `stages` come in stage order (`stages_of`).
fn render_pipeline(p: &Pipeline, stages: &[Stage]) -> Value {
    let own: Vec<&Stage> = stages.iter().filter(|s| s.pipeline_id == p.id && s.category == "open").collect();
    json!({
        "id": hex_id(p.id),
        "name": p.name,
        "type": "sales",
        "default": p.is_default,
        "won_column_enabled": stages.iter().any(|s| s.pipeline_id == p.id && s.category == "won"),
        "won_column_name": stages.iter().find(|s| s.pipeline_id == p.id && s.category == "won").map(|s| s.name.clone()).unwrap_or_default(),
        "stages": own.iter().map(|s| json!({ "stage": s.probability, "label": s.name })).collect::<Vec<_>>(),
    })
}

pub async fn pipelines(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let paging = Params::parse(raw.as_deref()).paging()?;
    let q = paging.query().sort(Sort::asc("position"));
    let page = st.crm.list::<Pipeline>(actor, &q).await?;
    let ids = page.rows.iter().map(|p| p.id.into()).collect();
    let stages = stages_of(&st.crm, actor, Filter::In { field: Field::col("pipeline_id"), values: ids }).await?;
    let items = page.rows.iter().map(|p| json!({ "pipeline": render_pipeline(p, &stages) })).collect();
    Ok(ok(StatusCode::OK, paging.envelope("pipelines", items, page.total.unwrap_or(0))))
}

pub async fn pipeline(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let p = st.crm.get::<Pipeline>(actor, path_id(&id, "pipeline")?).await?;
    let stages = stages_of(&st.crm, actor, Filter::eq("pipeline_id", p.id)).await?;
    Ok(ok(StatusCode::OK, json!({ "pipeline": render_pipeline(&p, &stages) })))
}

/// The stages of the pipelines `pipelines` matches, in stage order.
async fn stages_of(crm: &Crm, actor: Actor, pipelines: Filter) -> ApiResult<Vec<Stage>> {
    Ok(crm.all_sorted::<Stage>(actor, Some(pipelines), vec![Sort::asc("position")]).await?)
}

// ---- bootstrap -----------------------------------------------------------------------------

/// `GET /bootstrap`: the caller, the team and the account's configuration in one answer.
pub async fn bootstrap(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let crm = &st.crm;
    let users = crm.all::<User>(actor, None).await?;
    let me = users.iter().find(|u| u.id == actor.user_id).ok_or_else(ApiError::unauthorized)?;
    let fields = |kind: &'static str| async move {
        Ok::<_, ApiError>(crm.custom_fields(actor, kind).await?.iter().map(render_custom_field).collect::<Vec<_>>())
    };
    let pipelines = crm.all::<Pipeline>(actor, None).await?;
    let stages = stages_of(crm, actor, Filter::All(Vec::new())).await?;
    let default_pipeline = pipelines.iter().find(|p| p.is_default).or(pipelines.first());
    let deal_stages: Vec<Value> = default_pipeline
        .map(|p| render_pipeline(p, &stages)["stages"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default();
    let call_results: Map<String, Value> = CALL_RESULTS.iter().map(|(k, t)| ((*k).to_owned(), json!(t))).collect();
    let data = json!({
        "user_id": hex_id(me.id),
        "user": render_user(me),
        "team": users.iter().map(render_user).collect::<Vec<_>>(),
        "account_type": "pro",
        "settings": {
            "time_zone": me.timezone.clone().unwrap_or_else(|| "UTC".into()),
            "date_format": "%Y-%m-%d",
            "time_with_ampm": false,
            "listing_size": crate::params::DEFAULT_PER_PAGE,
            "currency": kith_domain::deals::DEFAULT_CURRENCY,
            "deal_stages": deal_stages,
            "pipelines": pipelines.iter().map(|p| json!({ "pipeline": render_pipeline(p, &stages) })).collect::<Vec<_>>(),
        },
        "custom_fields": fields("contact").await?,
        "company_fields": fields("company").await?,
        "deal_fields": fields("deal").await?,
        "filters": [],
        "call_results": call_results,
        "call_results_order": CALL_RESULTS.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        "predefined_actions": [],
        "contact_titles": ["Mr", "Mrs", "Ms"],
    });
    Ok(ok(StatusCode::OK, data))
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/bootstrap", routing::get(bootstrap))
        .route("/change_auth_key", routing::post(change_auth_key))
        .route("/users", routing::get(users))
        .route("/users/{id}", routing::get(user).put(update_user).patch(update_user))
        .route("/statuses", routing::get(statuses).post(create_status))
        .route("/statuses/{id}", routing::get(status).put(update_status).patch(update_status).delete(delete_status))
        .route("/lead_sources", routing::get(lead_sources).post(create_lead_source))
        .route(
            "/lead_sources/{id}",
            routing::get(lead_source).put(update_lead_source).patch(update_lead_source).delete(delete_lead_source),
        )
        .route("/custom_fields", routing::get(contact_fields::list).post(contact_fields::create))
        .route(
            "/custom_fields/{id}",
            routing::get(contact_fields::get)
                .put(contact_fields::update)
                .patch(contact_fields::update)
                .delete(contact_fields::delete),
        )
        .route("/company_fields", routing::get(company_fields::list).post(company_fields::create))
        .route(
            "/company_fields/{id}",
            routing::get(company_fields::get)
                .put(company_fields::update)
                .patch(company_fields::update)
                .delete(company_fields::delete),
        )
        .route("/deal_fields", routing::get(deal_fields::list).post(deal_fields::create))
        .route(
            "/deal_fields/{id}",
            routing::get(deal_fields::get)
                .put(deal_fields::update)
                .patch(deal_fields::update)
                .delete(deal_fields::delete),
        )
        .route("/pipelines", routing::get(pipelines))
        .route("/pipelines/{id}", routing::get(pipeline))
}
