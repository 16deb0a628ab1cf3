//! `/orderstages`: the stages of deals, from every pipeline of the account. A stage's
//! probability is what a deal entering it takes; at 100 its deals are won, at 0 lost.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use kith_domain::model::Stage;
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::query::{Attr, Kind, ListParams, Resource, col};
use crate::shapes;
use crate::wire::{self, ApiResult, path_id};

const ATTRS: &[Attr] = &[
    col("id", "id", Kind::Int),
    col("name", "name", Kind::Text),
    col("probability", "probability", Kind::Int),
    col("sortId", "position", Kind::Int),
];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[], custom_kind: None };

pub fn routes() -> Routes {
    Routes::new()
        .route("/orderstages", get(list).post(create))
        .route("/orderstages/{id}", get(one).put(update).delete(delete))
}

fn render(s: &Stage) -> Value {
    json!({ "id": s.id, "name": s.name, "probability": s.probability, "exclude": 0, "roles": [] })
}

async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let p = ListParams::parse(q.as_deref())?;
    let mut query = p.query(&RESOURCE, &Default::default())?;
    if query.sorts.is_empty() {
        query =
            query.sort(kith_domain::query::Sort::asc("pipeline_id")).sort(kith_domain::query::Sort::asc("position"));
    }
    let page = st.crm.list::<Stage>(actor, &query).await?;
    Ok(wire::page(page.rows.iter().map(render).collect(), page.total.unwrap_or(0), p.limit, p.offset))
}

async fn one(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let stage = st.crm.get::<Stage>(actor, path_id(&raw, "stage")?).await?;
    Ok(wire::one(render(&stage)))
}

async fn write(st: &AppState, actor: kith_domain::Actor, mut stage: Stage, body: Body) -> ApiResult {
    let mut b = shapes::read(st, body).await?;
    if let Some(v) = b.text("name", 100) {
        stage.name = v.unwrap_or_default();
    } else if stage.id == 0 {
        b.error("name", "is required");
    }
    if let Some(v) = b.integer("probability") {
        stage.probability = v.unwrap_or(0);
    }
    b.finish()?;
    let stage = st.crm.write_stage(actor, stage).await?;
    Ok(wire::one(render(&stage)))
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let t = chrono::Utc::now();
    let stage = Stage {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        pipeline_id: 0,
        name: String::new(),
        position: 0,
        probability: 0,
        category: String::new(),
    };
    write(&st, actor, stage, body).await
}

async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>, body: Body) -> ApiResult {
    let stage = st.crm.get::<Stage>(actor, path_id(&raw, "stage")?).await?;
    write(&st, actor, stage, body).await
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    st.crm.delete_stage(actor, path_id(&raw, "stage")?).await?;
    Ok(wire::deleted())
}
