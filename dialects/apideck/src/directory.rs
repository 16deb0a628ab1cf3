//! `/crm/users` and `/crm/pipelines` (with their stages). Users are the account's team members
//! (the users every dialect shows); pipelines and stages are the account's, written whole with
//! their stages. The rules (who may add and remove users, what a pipeline's deals forbid) are the
//! domain's (`kith_domain::team`).

use kith_http::Routes;
use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::model::{Pipeline, Stage, User};
use kith_domain::query::{Dir, Filter, Op, Sort, Value as SV};
use kith_domain::team::{PipelineChanges, StageInput, USER_NAME_MAX, UserChanges};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{self, ListParams, ListSpec, by};
use crate::shapes;
use crate::wire::{ApiResult, envelope, id, path_id, time};
use crate::writes;

const USERS: ListSpec = ListSpec { resource: "users", filters: &["email", "name"], sorts: &[] };
const PIPELINES: ListSpec = ListSpec { resource: "pipelines", filters: &[], sorts: &[] };

pub fn routes() -> Routes {
    Routes::new()
        .route("/users", get(users).post(add_user))
        .route("/users/{id}", get(user).patch(update_user).delete(delete_user))
        .route("/pipelines", get(pipelines).post(add_pipeline))
        .route("/pipelines/{id}", get(pipeline).patch(update_pipeline).delete(delete_pipeline))
}

fn render_user(u: &User) -> Value {
    let name = [u.first_name.as_deref(), u.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    json!({
        "id": id(u.id),
        "name": if name.is_empty() { u.email.clone() } else { name },
        "first_name": u.first_name,
        "last_name": u.last_name,
        "username": u.email,
        "company_name": u.company_name,
        "status": if u.active { "active" } else { "inactive" },
        "emails": [{ "email": u.email, "type": "primary" }],
        "phone_numbers": u.phone.iter().map(|p| json!({ "number": p, "type": "primary" })).collect::<Vec<_>>(),
        "updated_at": time(u.updated_at),
        "created_at": time(u.created_at),
    })
}

async fn users(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = ListParams::parse(q.as_deref(), &USERS)?;
    let mut query = p.query(&st, actor, USERS.resource, vec![by("created_at", Dir::Asc)]).await?;
    let mut all = Vec::new();
    if let Some(email) = p.filter("email") {
        all.push(Filter::cmp("email", Op::Eq, email.to_lowercase()));
    }
    if let Some(name) = p.filter("name") {
        all.extend(name.split_whitespace().map(|w| {
            Filter::Any(vec![Filter::cmp("first_name", Op::Contains, w), Filter::cmp("last_name", Op::Contains, w)])
        }));
    }
    query.filter = (!all.is_empty()).then_some(Filter::All(all));
    let page = st.crm.list::<User>(actor, &query).await?;
    let previous = p.previous::<User>(&st, actor, &query).await?;
    let rows = page.rows.iter().map(render_user).collect();
    params::answer(&st, actor, &headers, &p, USERS.resource, rows, (page.next, previous)).await
}

async fn user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let u = st.crm.get::<User>(actor, path_id(&raw, "user")?).await?;
    Ok(envelope(StatusCode::OK, USERS.resource, "one", params::sparse(render_user(&u), c.fields.as_deref()), c.raw))
}

fn render_pipeline(p: &Pipeline, stages: &[&Stage]) -> Value {
    json!({
        "id": id(p.id),
        "name": p.name,
        "archived": false,
        "active": true,
        "display_order": p.position,
        "win_probability_enabled": true,
        "stages": stages.iter().map(|s| json!({
            "id": id(s.id),
            "name": s.name,
            "value": s.name.to_uppercase().replace(' ', "_"),
            "win_probability": s.probability,
            "display_order": s.position,
            "archived": false,
            "updated_at": time(s.updated_at),
            "created_at": time(s.created_at),
        })).collect::<Vec<_>>(),
        "updated_at": time(p.updated_at),
        "created_at": time(p.created_at),
    })
}

/// The stages of `pipelines`, in position order, by pipeline: one query.
async fn stages_of(st: &AppState, actor: Actor, pipelines: &[Pipeline]) -> ApiResult<Vec<Stage>> {
    if pipelines.is_empty() {
        return Ok(Vec::new());
    }
    let ids = pipelines.iter().map(|p| SV::Int(p.id)).collect();
    let f = Filter::In { field: kith_domain::query::Field::col("pipeline_id"), values: ids };
    Ok(st.crm.all_sorted::<Stage>(actor, Some(f), vec![Sort::asc("position")]).await?)
}

fn render_all(pipelines: &[Pipeline], stages: &[Stage]) -> Vec<Value> {
    let mut by_pipeline: HashMap<i64, Vec<&Stage>> = HashMap::new();
    for s in stages {
        by_pipeline.entry(s.pipeline_id).or_default().push(s);
    }
    pipelines.iter().map(|p| render_pipeline(p, by_pipeline.get(&p.id).map_or(&[][..], Vec::as_slice))).collect()
}

async fn pipelines(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let p = ListParams::parse(q.as_deref(), &PIPELINES)?;
    let query = p.query(&st, actor, PIPELINES.resource, vec![by("position", Dir::Asc)]).await?;
    let page = st.crm.list::<Pipeline>(actor, &query).await?;
    let previous = p.previous::<Pipeline>(&st, actor, &query).await?;
    let stages = stages_of(&st, actor, &page.rows).await?;
    let rows = render_all(&page.rows, &stages);
    params::answer(&st, actor, &headers, &p, PIPELINES.resource, rows, (page.next, previous)).await
}

async fn pipeline(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let c = params::one(q.as_deref())?;
    let p = st.crm.get::<Pipeline>(actor, path_id(&raw, "pipeline")?).await?;
    let stages = stages_of(&st, actor, std::slice::from_ref(&p)).await?;
    let data = render_all(std::slice::from_ref(&p), &stages).into_iter().next().unwrap_or(Value::Null);
    Ok(envelope(StatusCode::OK, PIPELINES.resource, "one", params::sparse(data, c.fields.as_deref()), c.raw))
}

/// A user body: names, `emails` (the first is the user's email; `username` when it is an email
/// and no `emails` are given), the first of `phone_numbers`, `company_name` and `status`
/// (`active` or `inactive`). `password` and the rest are accepted and not kept.
fn user_changes(b: &mut shapes::Body_) -> UserChanges {
    let mut c = UserChanges {
        first_name: b.text("first_name", USER_NAME_MAX),
        last_name: b.text("last_name", USER_NAME_MAX),
        company_name: b.text("company_name", USER_NAME_MAX),
        ..Default::default()
    };
    let emails = shapes::channels(b, "emails", "email", "primary");
    c.email = match emails {
        Some(list) => match list.into_iter().next() {
            Some(first) => Some(first.value),
            None => {
                b.error("emails", "must hold the user's email");
                None
            }
        },
        None => b.text("username", 254).flatten().filter(|u| u.contains('@')),
    };
    if let Some(list) = shapes::channels(b, "phone_numbers", "number", "primary") {
        c.phone = Some(list.into_iter().next().map(|p| p.value));
    }
    c.active = match b.one_of("status", &["active", "inactive"]) {
        Some(Some(s)) => Some(s == "active"),
        _ => None,
    };
    c
}

async fn add_user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    let names = (USERS.resource, USERS.resource);
    writes::create(&st, actor, &headers, q, body, names, user_changes, async |c| {
        Ok(st.crm.create_user(actor, c).await?.id)
    })
    .await
}

async fn update_user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let user_id = path_id(&raw, "user")?;
    writes::update(&st, q, body, USERS.resource, user_changes, async |c| {
        Ok(st.crm.change_user(actor, user_id, c).await?.id)
    })
    .await
}

async fn delete_user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let user_id = path_id(&raw, "user")?;
    writes::delete(q, USERS.resource, user_id, async || Ok(st.crm.remove_user(actor, user_id).await?)).await
}

/// A pipeline body: `name`, `display_order` and `stages` (given whole, in `display_order` or
/// else array order; a stage's `id` keeps that stage). `currency`, `archived`, `active` and
/// `win_probability_enabled` are accepted and not kept.
fn pipeline_changes(b: &mut shapes::Body_) -> PipelineChanges {
    let mut c = PipelineChanges::default();
    if let Some(name) = b.text("name", kith_domain::team::PIPELINE_NAME_MAX) {
        c.name = Some(name.unwrap_or_default());
    }
    c.position = b.integer("display_order").flatten();
    let Some(items) = shapes::objects(b, "stages") else { return c };
    let mut stages: Vec<(i64, StageInput)> = Vec::new();
    for (i, m) in items.iter().enumerate() {
        let at = format!("stages[{i}]");
        let stage_id = match m.get("id").map(<crate::wire::ApideckWire as kith_http::WireFormat>::read_id) {
            None => None,
            Some(Ok(v)) => v,
            Some(Err(message)) => {
                b.error(format!("{at}.id"), message);
                None
            }
        };
        let name = shapes::text_in(b, at.clone(), m, "name", kith_domain::deal_rows::STAGE_NAME_MAX)
            .or_else(|| shapes::text_in(b, at.clone(), m, "value", kith_domain::deal_rows::STAGE_NAME_MAX));
        let int = |b: &mut shapes::Body_, key: &str| match m.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(n) => Some(n),
                None => {
                    b.error(format!("{at}.{key}"), "must be an integer");
                    None
                }
            },
        };
        let probability = int(b, "win_probability").unwrap_or(50);
        let order = int(b, "display_order").unwrap_or(i as i64);
        stages.push((order, StageInput { id: stage_id, name: name.unwrap_or_default(), probability }));
    }
    stages.sort_by_key(|(order, _)| *order);
    c.stages = Some(stages.into_iter().map(|(_, s)| s).collect());
    c
}

async fn add_pipeline(
    State(st): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Response {
    let names = (PIPELINES.resource, PIPELINES.resource);
    writes::create(&st, actor, &headers, q, body, names, pipeline_changes, async |c| {
        Ok(st.crm.create_pipeline(actor, c).await?.0.id)
    })
    .await
}

async fn update_pipeline(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult {
    let pipeline_id = path_id(&raw, "pipeline")?;
    writes::update(&st, q, body, PIPELINES.resource, pipeline_changes, async |c| {
        Ok(st.crm.change_pipeline(actor, pipeline_id, c).await?.0.id)
    })
    .await
}

async fn delete_pipeline(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pipeline_id = path_id(&raw, "pipeline")?;
    writes::delete(q, PIPELINES.resource, pipeline_id, async || Ok(st.crm.delete_pipeline(actor, pipeline_id).await?))
        .await
}
