//! `/accounts/self` and `/users`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::model::User;
use kith_http::AppState;
use kith_store::{Filter, ListQuery, Sort};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{Params, RecordQuery, path_id};
use crate::wire::{ApiError, ApiResult, collection, one, time};

pub async fn account(State(st): State<AppState>, Caller(actor): Caller, _: RecordQuery) -> ApiResult {
    let account = st.crm.account(actor).await?;
    Ok(one(
        StatusCode::OK,
        "account",
        json!({
            "id": account.id,
            "name": account.name,
            "currency": "USD",
            "time_format": "24H",
            "timezone": "UTC",
            "phone": null,
            "created_at": time(account.created_at),
            "updated_at": time(account.updated_at),
        }),
    ))
}

/// A user's name as Sell shows it: first and last name, or the email address without them.
fn user_name(u: &User) -> String {
    let name = [u.first_name.as_deref(), u.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if name.is_empty() { u.email.clone() } else { name }
}

fn render_user(u: &User) -> Value {
    json!({
        "id": u.id,
        "name": user_name(u),
        "email": u.email,
        "status": if u.active { "active" } else { "inactive" },
        "invited": false,
        "confirmed": true,
        // Sell has two roles; Kith's owner is an admin there.
        "role": if u.role == "user" { "user" } else { "admin" },
        "phone_number": u.phone,
        "timezone": u.timezone.clone().unwrap_or_else(|| "UTC".into()),
        "created_at": time(u.created_at),
        "updated_at": time(u.updated_at),
        "deleted_at": u.deleted_at.map(time),
    })
}

/// `GET /users`: filters `ids`, `email`, `name` (the whole name, exactly), `role`, `status`,
/// `confirmed` (every Kith user is confirmed); sorts `id`, `name`, `created_at`, `updated_at`.
pub async fn users(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["email", "name", "role", "status", "confirmed"])?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    if let Some(email) = params.get("email").filter(|s| !s.is_empty()) {
        q = q.filter(Filter::eq("email", email));
    }
    match params.get("role").filter(|s| !s.is_empty()) {
        Some("user") => q = q.filter(Filter::eq("role", "user")),
        Some("admin") => {
            q = q.filter(Filter::Not(Box::new(Filter::eq("role", "user"))));
        }
        Some(_) => return Err(ApiError::bad_request("role must be user or admin")),
        None => {}
    }
    if let Some(status) = params.get("status").filter(|s| !s.is_empty()) {
        match status {
            "active" => q = q.filter(Filter::eq("active", true)),
            "inactive" => q = q.filter(Filter::eq("active", false)),
            _ => return Err(ApiError::bad_request("status must be active or inactive")),
        }
    }
    if params.flag("confirmed")? == Some(false) {
        q = q.filter(Filter::eq("id", 0));
    }
    let sort = params.sort(
        &[("id", "id"), ("name", "first_name"), ("created_at", "created_at"), ("updated_at", "updated_at")],
        |_| None,
    )?;
    q = q.sort(sort.unwrap_or_else(|| Sort::asc("id")));
    let mut rows = match params.get("name").filter(|s| !s.is_empty()) {
        // The name is made of two columns (or the email): an account's users are few, so match
        // them in memory and page the matches.
        Some(name) => {
            let all = ListQuery { page: kith_store::Page::Offset { offset: 0, limit: u64::MAX >> 2 }, ..q };
            let matching: Vec<User> =
                st.crm.list::<User>(actor, &all).await?.rows.into_iter().filter(|u| user_name(u) == name).collect();
            matching.into_iter().skip(((paging.page - 1) * paging.per_page) as usize).collect()
        }
        None => st.crm.list::<User>(actor, &q).await?.rows,
    };
    let links = paging.links("/v2/users", &mut rows);
    Ok(collection("user", rows.iter().map(render_user).collect(), links))
}

pub async fn user(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let u = st.crm.get::<User>(actor, path_id(&id, "user")?).await?;
    Ok(one(StatusCode::OK, "user", render_user(&u)))
}

/// A user as the Sync API hands it out; `None` when it is not live.
pub(crate) async fn sync_record(
    st: &AppState,
    actor: kith_domain::Actor,
    id: i64,
) -> ApiResult<Option<(&'static str, Value)>> {
    Ok(st.crm.find::<User>(actor, id).await?.map(|u| ("user", render_user(&u))))
}

pub async fn me(State(st): State<AppState>, Caller(actor): Caller, _: RecordQuery) -> ApiResult {
    let u = st.crm.me(actor).await?;
    Ok(one(StatusCode::OK, "user", render_user(&u)))
}
