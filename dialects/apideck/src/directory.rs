//! `/crm/users` and `/crm/pipelines` (with their stages): read-only here. Users are the
//! account's team members (made with the CLI); pipelines and stages are the account's.

use kith_http::Routes;
use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::model::{Pipeline, Stage, User};
use kith_domain::query::{Dir, Filter, Op, Sort, Value as SV};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{self, ListParams, ListSpec, by};
use crate::wire::{ApiResult, envelope, id, path_id, time};

const USERS: ListSpec = ListSpec { resource: "users", filters: &["email", "name"], sorts: &[] };
const PIPELINES: ListSpec = ListSpec { resource: "pipelines", filters: &[], sorts: &[] };

pub fn routes() -> Routes {
    Routes::new()
        .route("/users", get(users))
        .route("/users/{id}", get(user))
        .route("/pipelines", get(pipelines))
        .route("/pipelines/{id}", get(pipeline))
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
