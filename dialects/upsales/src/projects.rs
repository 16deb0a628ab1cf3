//! `/projects`: Upsales' campaigns (the domain's `Campaign`): a name, a start and end day, an
//! active flag, a quota, notes and the users who run it, and `stats`: how many accounts,
//! contacts, activities, appointments, orders and opportunities are in it.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::campaigns::{CAMPAIGN_NAME_MAX, CAMPAIGN_NOTES_MAX, Campaign, CampaignDraft};
use kith_domain::links::CampaignStats;
use kith_domain::model::User;
use kith_http::{AppState, Routes};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::query::{self, Attr, Kind, Resource, col};
use crate::shapes::{self, Body_};
use crate::wire::{self, ApiResult, flag, path_id, time};

const ATTRS: &[Attr] = &[
    col("id", "id", Kind::Int),
    col("name", "name", Kind::Text),
    col("startDate", "start_date", Kind::Date),
    col("endDate", "end_date", Kind::Date),
    col("active", "active", Kind::Bool),
    col("quota", "quota", Kind::Int),
    col("notes", "notes", Kind::Text),
    col("regDate", "created_at", Kind::Time),
    col("modDate", "updated_at", Kind::Time),
];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[], custom_kind: None };

pub fn routes() -> Routes {
    Routes::new()
        .route("/projects", get(list).post(create))
        .route("/projects/{id}", get(one).put(update).delete(delete))
}

/// A day as Upsales writes a campaign's dates: its midnight UTC.
fn day(d: &Option<String>) -> Value {
    d.as_ref().map_or(Value::Null, |d| json!(format!("{d}T00:00:00.000Z")))
}

fn render(c: &Campaign, users: &HashMap<i64, User>, stats: &CampaignStats) -> Value {
    let users: Vec<Value> =
        c.user_ids.0.iter().map(|id| shapes::user_ref(users, Some(*id))).filter(|u| !u.is_null()).collect();
    json!({
        "id": c.id,
        "name": c.name,
        "startDate": day(&c.start_date),
        "endDate": day(&c.end_date),
        "active": flag(c.active),
        "quota": c.quota,
        "notes": c.notes,
        "regDate": time(c.created_at),
        "modDate": time(c.updated_at),
        "users": users,
        "custom": [],
        // The live records in the campaign, counted by the domain in the database.
        "stats": {
            "activity": stats.activities,
            "appointment": stats.appointments,
            "client": stats.companies,
            "contact": stats.contacts,
            "order": stats.orders,
            "opportunity": stats.opportunities,
        },
        "userRemovable": true,
        "userEditable": true,
    })
}

async fn users_of(st: &AppState, actor: Actor, rows: &[Campaign]) -> ApiResult<HashMap<i64, User>> {
    shapes::users(st, actor, rows.iter().flat_map(|c| c.user_ids.0.iter().copied().map(Some))).await
}

async fn render_all(st: &AppState, actor: Actor, rows: &[Campaign]) -> ApiResult<Vec<Value>> {
    let users = users_of(st, actor, rows).await?;
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let stats = st.crm.campaigns_stats(actor, &ids).await?;
    Ok(rows.iter().map(|c| render(c, &users, &stats.get(&c.id).copied().unwrap_or_default())).collect())
}

async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let (p, page) = query::fetch::<Campaign>(&st, actor, q.as_deref(), &RESOURCE).await?;
    let rows = render_all(&st, actor, &page.rows).await?;
    Ok(wire::page(rows, page.total.unwrap_or(0), p.limit, p.offset))
}

async fn answer(st: &AppState, actor: Actor, c: &Campaign) -> ApiResult {
    let mut rows = render_all(st, actor, std::slice::from_ref(c)).await?;
    Ok(wire::one(rows.pop().unwrap_or(Value::Null)))
}

async fn one(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let c = st.crm.get::<Campaign>(actor, path_id(&raw, "campaign")?).await?;
    answer(&st, actor, &c).await
}

fn apply(b: &mut Body_, d: &mut CampaignDraft) {
    if let Some(v) = b.text("name", CAMPAIGN_NAME_MAX) {
        d.name = v.unwrap_or_default();
    }
    for (key, slot) in [("startDate", &mut d.start_date), ("endDate", &mut d.end_date)] {
        if let Some(t) = shapes::time_in(b, key) {
            *slot = t.map(|t| t.date_naive().format("%Y-%m-%d").to_string());
        }
    }
    if let Some(v) = shapes::flag_in(b, "active") {
        d.active = v;
    }
    if let Some(v) = b.integer("quota") {
        d.quota = v.unwrap_or(0);
    }
    if let Some(v) = b.text("notes", CAMPAIGN_NOTES_MAX) {
        d.notes = v;
    }
    if let Some(users) = shapes::relations(b, "users") {
        d.user_ids = users;
    }
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut b = shapes::read(&st, body).await?;
    let mut d = CampaignDraft::named("", actor.user_id);
    apply(&mut b, &mut d);
    if !b.has("name") {
        b.error("name", "is required");
    }
    b.finish()?;
    let c = st.crm.create_campaign(actor, d).await?;
    answer(&st, actor, &c).await
}

async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>, body: Body) -> ApiResult {
    let c = st.crm.get::<Campaign>(actor, path_id(&raw, "campaign")?).await?;
    let mut b = shapes::read(&st, body).await?;
    let mut d = c.draft();
    apply(&mut b, &mut d);
    b.finish()?;
    let c = st.crm.update_campaign(actor, c.id, d).await?;
    answer(&st, actor, &c).await
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    st.crm.delete_campaign(actor, path_id(&raw, "campaign")?).await?;
    Ok(wire::deleted())
}
