//! `/pipelines` and `/stages`, which clients only read. A stage's Sell `category` comes from the
//! model's: the first open stage of a pipeline is `incoming`, later open ones `in_progress`;
//! `won`, `lost` and `unqualified` are as kept. Open stages are the `active` ones.

use kith_http::Routes;
use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::model::{Pipeline, Stage};
use kith_domain::query::{Field, Filter, ListQuery, Op, Sort, Value as SV};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{Params, RecordQuery, path_id};
use crate::wire::{ApiResult, collection, one, time};

pub fn routes() -> Routes {
    Routes::new()
        .route("/pipelines", get(list_pipelines))
        .route("/pipelines/{id}", get(get_pipeline))
        .route("/stages", get(list_stages))
        .route("/stages/{id}", get(get_stage))
}

fn render_pipeline(p: &Pipeline) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "disabled": false,
        "created_at": time(p.created_at),
        "updated_at": time(p.updated_at),
    })
}

/// The first open stage of each pipeline (Sell's `incoming` stage).
struct Incoming(HashMap<i64, i64>);

impl Incoming {
    async fn of(st: &AppState, actor: Actor) -> ApiResult<Incoming> {
        let q = ListQuery::all().filter(Filter::eq("category", "open")).sort(Sort::asc("position"));
        let first = st.crm.first_per::<Stage>(actor, "pipeline_id", &q).await?.rows;
        Ok(Incoming(first.into_iter().map(|s| (s.pipeline_id, s.id)).collect()))
    }

    fn category<'a>(&self, s: &'a Stage) -> &'a str {
        match s.category.as_str() {
            "open" if self.0.get(&s.pipeline_id) == Some(&s.id) => "incoming",
            "open" => "in_progress",
            other => other,
        }
    }
}

fn render_stage(s: &Stage, incoming: &Incoming) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "category": incoming.category(s),
        "active": s.category == "open",
        "position": s.position,
        "likelihood": s.probability,
        "pipeline_id": s.pipeline_id,
        "created_at": time(s.created_at),
        "updated_at": time(s.updated_at),
    })
}

/// `GET /pipelines`: filters `ids`, `name`; `sort_by` `id`, `name`, `created_at`, `updated_at`.
pub async fn list_pipelines(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["name"])?;
    let paging = params.paging()?;
    let q = params.named_list_query(&paging, crate::params::NAMED_SORTS)?;
    let mut rows = st.crm.list::<Pipeline>(actor, &q).await?.rows;
    let links = paging.links("/v2/pipelines", &mut rows);
    Ok(collection("pipeline", rows.iter().map(render_pipeline).collect(), links))
}

pub async fn get_pipeline(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let p = st.crm.get::<Pipeline>(actor, path_id(&id, "pipeline")?).await?;
    Ok(one(StatusCode::OK, "pipeline", render_pipeline(&p)))
}

/// The ids of the account's live pipelines: stages of deleted ones are not served.
async fn live_pipelines(st: &AppState, actor: Actor) -> ApiResult<Vec<i64>> {
    Ok(st.crm.all::<Pipeline>(actor, None).await?.iter().map(|p| p.id).collect())
}

/// `GET /stages`: filters `ids`, `pipeline_id`, `name`, `active`; `sort_by` `id`, `name`,
/// `position`, `created_at`, `updated_at` (`id` by default).
pub async fn list_stages(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["pipeline_id", "name", "active"])?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    if let Some(p) = params.int("pipeline_id")? {
        q = q.filter(Filter::eq("pipeline_id", p));
    }
    if let Some(name) = params.get("name").filter(|s| !s.is_empty()) {
        q = q.filter(Filter::eq("name", name));
    }
    if let Some(active) = params.flag("active")? {
        q = q.filter(Filter::cmp("category", if active { Op::Eq } else { Op::Ne }, "open"));
    }
    let sort = params.sort(
        &[
            ("id", "id"),
            ("name", "name"),
            ("position", "position"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
        ],
        |_| None,
    )?;
    let pipelines = live_pipelines(&st, actor).await?;
    q = q.filter(Filter::In { field: Field::col("pipeline_id"), values: pipelines.into_iter().map(SV::Int).collect() });
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("id")));
    let mut rows = st.crm.list::<Stage>(actor, &q).await?.rows;
    let links = paging.links("/v2/stages", &mut rows);
    let incoming = Incoming::of(&st, actor).await?;
    Ok(collection("stage", rows.iter().map(|s| render_stage(s, &incoming)).collect(), links))
}

/// A live stage of a live pipeline.
async fn find_stage(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<Stage>> {
    let Some(stage) = st.crm.find::<Stage>(actor, id).await? else { return Ok(None) };
    Ok(st.crm.find::<Pipeline>(actor, stage.pipeline_id).await?.map(|_| stage))
}

pub async fn get_stage(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let stage = find_stage(&st, actor, path_id(&id, "stage")?)
        .await?
        .ok_or_else(|| crate::wire::ApiError::not_found("stage"))?;
    let incoming = Incoming::of(&st, actor).await?;
    Ok(one(StatusCode::OK, "stage", render_stage(&stage, &incoming)))
}

/// A live pipeline as the Sync API sends it.
pub(crate) async fn sync_pipeline(
    st: &AppState,
    actor: Actor,
    id: i64,
) -> ApiResult<Option<(&'static str, serde_json::Value)>> {
    Ok(st.crm.find::<Pipeline>(actor, id).await?.map(|p| ("pipeline", render_pipeline(&p))))
}

/// A live stage as the Sync API sends it.
pub(crate) async fn sync_stage(
    st: &AppState,
    actor: Actor,
    id: i64,
) -> ApiResult<Option<(&'static str, serde_json::Value)>> {
    let Some(stage) = find_stage(st, actor, id).await? else { return Ok(None) };
    let incoming = Incoming::of(st, actor).await?;
    Ok(Some(("stage", render_stage(&stage, &incoming))))
}
