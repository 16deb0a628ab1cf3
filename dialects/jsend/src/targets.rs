//! `GET /salestargets`: the account's sales targets (quotas), by month then rep, paged as
//! `/opportunities/my` is.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use kith_domain::model::{SalesTarget, User};
use kith_domain::money::to_major;
use kith_domain::query::{Field, Filter, ListQuery, Page, Sort};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::wire::{ApiResult, success, uuid_id};

pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let paging = crate::opportunities::paging(raw.as_deref())?;
    let q = ListQuery::new(Page::Offset { offset: paging.offset(), limit: paging.per_page })
        .sort(Sort::asc("period_start"))
        .sort(Sort::asc("user_id"))
        .with_total();
    let page = st.crm.list::<SalesTarget>(actor, &q).await?;
    let user_ids: Vec<_> = page.rows.iter().filter_map(|t| t.user_id).map(Into::into).collect();
    let users: HashMap<i64, User> = if user_ids.is_empty() {
        HashMap::new()
    } else {
        let f = Filter::In { field: Field::col("id"), values: user_ids };
        st.crm.all::<User>(actor, Some(f)).await?.into_iter().map(|u| (u.id, u)).collect()
    };
    let items: Vec<Value> = page
        .rows
        .iter()
        .map(|t| {
            json!({
                "id": uuid_id(t.id),
                "email": t.user_id.and_then(|u| users.get(&u)).map(|u| u.email.clone()).unwrap_or_default(),
                "month": t.period_start,
                "amount": to_major(t.amount_minor, &t.currency),
                "currency": t.currency,
            })
        })
        .collect();
    let mut response = success(StatusCode::OK, Value::Array(items));
    response.headers_mut().insert("x-total-count", HeaderValue::from(page.total.unwrap_or(0)));
    Ok(response)
}
