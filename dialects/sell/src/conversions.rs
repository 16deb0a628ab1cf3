//! `/lead_conversions`: converting a lead into a person and/or an organisation and a deal
//! (`kith_domain::conversions`). A lead converts once, so a conversion's id is its lead's id.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::conversions::ConversionDraft;
use kith_domain::model::Lead;
use kith_domain::query::{Filter, Sort};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::wire::{ApiResult, collection, one, time};

pub fn routes() -> Routes {
    Routes::new().route("/lead_conversions", get(list).post(create)).route("/lead_conversions/{id}", get(get_one))
}

fn render(l: &Lead) -> Value {
    json!({
        "id": l.id,
        "lead_id": l.id,
        "individual_id": l.converted_contact_id,
        "organization_id": l.converted_company_id,
        "deal_id": l.converted_deal_id,
        "creator_id": l.converted_by,
        "created_at": l.converted_at.map(time),
    })
}

/// `POST /lead_conversions` `{data: {lead_id, owner_id?, create_deal?}}`: 200 with the
/// conversion. A lead that is not a live, unconverted lead of the account is a 422 on `lead_id`.
async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    let mut draft = ConversionDraft {
        lead_id: data.id("lead_id").flatten(),
        owner_id: data.id("owner_id").flatten(),
        ..Default::default()
    };
    if let Some(create_deal) = data.boolean("create_deal") {
        draft.create_deal = create_deal;
    }
    data.finish()?;
    let lead = st.crm.convert_lead(actor, draft).await?;
    Ok(one(StatusCode::OK, "lead_conversion", render(&lead)))
}

async fn get_one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let lead = st.crm.conversion(actor, path_id(&id, "lead conversion")?).await?;
    Ok(one(StatusCode::OK, "lead_conversion", render(&lead)))
}

/// `GET /lead_conversions`: filters `ids`, `lead_id`, `individual_id`, `organization_id`,
/// `deal_id`, `creator_id`; `sort_by` `id`, `created_at`.
async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params =
        Params::list(raw.as_deref(), &["lead_id", "individual_id", "organization_id", "deal_id", "creator_id"])?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    for (key, column) in [
        ("lead_id", "id"),
        ("individual_id", "converted_contact_id"),
        ("organization_id", "converted_company_id"),
        ("deal_id", "converted_deal_id"),
        ("creator_id", "converted_by"),
    ] {
        if let Some(v) = params.int(key)? {
            q = q.filter(Filter::eq(column, v));
        }
    }
    let sort = params.sort(&[("id", "id"), ("created_at", "converted_at")], |_| None)?;
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("id")));
    let mut rows = st.crm.conversions(actor, &q).await?.rows;
    let links = paging.links("/v2/lead_conversions", &mut rows);
    Ok(collection("lead_conversion", rows.iter().map(render).collect(), links))
}
