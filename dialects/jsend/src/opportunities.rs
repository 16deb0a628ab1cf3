//! `GET /opportunities/my`: the caller's open opportunities, in the seed's shape.
//!
//! The seed answers with the whole list; Kith pages it for large books (`page`, `per_page`, 500 by
//! default and at most 1,000), with the total in `X-Total-Count` and the next page in `Link`,
//! so that `data` stays the bare array the seed shows.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use kith_domain::forecasts::Opportunity;
use kith_domain::money::to_major;
use kith_http::{AppState, PageNumber, PagingError};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::wire::{ApiError, ApiResult, success, uuid_id};

pub const DEFAULT_PER_PAGE: u64 = 500;
pub const MAX_PER_PAGE: u64 = 1_000;

/// A close date as PHP's `DateTime` serialises it (the shape the seed shows), in UTC.
fn close_date(date: Option<&str>) -> Value {
    match date {
        Some(d) => json!({ "date": format!("{d} 00:00:00.000000"), "timezone_type": 3, "timezone": "UTC" }),
        None => Value::Null,
    }
}

/// `page` and `per_page` of a list.
pub fn paging(query: Option<&str>) -> ApiResult<PageNumber> {
    let pairs = kith_http::query_pairs(query);
    let get = |k: &str| pairs.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    kith_http::page_number(get("page"), get("per_page"), DEFAULT_PER_PAGE, MAX_PER_PAGE).map_err(|e| match e {
        PagingError::Page | PagingError::PageTooLarge => ApiError::fail("page", "must be a whole number from 1"),
        PagingError::PerPage | PagingError::PerPageTooLarge => {
            ApiError::fail("per_page", format!("must be a whole number from 1 to {MAX_PER_PAGE}"))
        }
    })
}

fn render(o: &Opportunity) -> Value {
    let d = &o.deal;
    json!({
        "id": uuid_id(d.id),
        "active": if d.status == "pending" { "1" } else { "0" },
        "external_opp_id": d.external_id.clone().unwrap_or_default(),
        "name": d.name,
        "external_account_id": o.company.as_ref().and_then(|c| c.external_id.clone()).unwrap_or_default(),
        "account": o.company.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        "amount": to_major(d.value_minor.unwrap_or(0), &d.currency),
        "close_date": close_date(d.expected_close_date.as_deref()),
        "stage": o.stage,
        "forecast": o.forecast,
        "stage_system": o.stage_system,
        "forecast_system": o.forecast_system,
        "activity_index": o.activity_index,
        "relationship_index": o.relationship_index,
        "type": d.deal_type.clone().unwrap_or_default(),
        "website": o.company.as_ref().and_then(|c| c.url.clone()).unwrap_or_default(),
    })
}

pub async fn mine(
    State(st): State<AppState>,
    Caller(actor): Caller,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let paging = paging(raw.as_deref())?;
    let page = st.crm.open_opportunities_of(actor, actor.user_id, paging.offset(), paging.per_page).await?;
    let total = page.total.unwrap_or(0);
    let items: Vec<Value> = page.rows.iter().map(render).collect();
    let more = paging.offset() + (items.len() as u64) < total;
    let mut response = success(StatusCode::OK, Value::Array(items));
    let headers = response.headers_mut();
    headers.insert("x-total-count", HeaderValue::from(total));
    if more {
        let link = format!("<{}?page={}&per_page={}>; rel=\"next\"", uri.path(), paging.page + 1, paging.per_page);
        if let Ok(v) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, v);
        }
    }
    Ok(response)
}
