//! `/users` (the account's team, read only: Upsales creates users through its master API) and
//! `/self` (the caller and the account it belongs to).

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use kith_domain::model::User;
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::query::{Attr, Kind, ListParams, Resource, col, constant, link};
use crate::shapes::{Labels, user_name};
use crate::wire::{self, ApiResult, flag, path_id, time};

const ATTRS: &[Attr] = &[
    col("id", "id", Kind::Int),
    col("email", "email", Kind::Text),
    col("active", "active", Kind::Bool),
    col("regDate", "created_at", Kind::Time),
    col("modDate", "updated_at", Kind::Time),
    constant("ghost", Some(0)),
    constant("free", Some(0)),
    constant("teamLeader", Some(0)),
    link("role.id", kith_domain::links::ROLE),
];

const RESOURCE: Resource = Resource { attrs: ATTRS, relations: &[], custom_kind: None };

pub fn routes() -> Routes {
    Routes::new().route("/users", get(list)).route("/users/{id}", get(one)).route("/self", get(me))
}

fn administrator(u: &User) -> bool {
    u.role == "owner" || u.role == "admin"
}

fn render(u: &User, labels: &Labels) -> Value {
    json!({
        "id": u.id,
        "name": user_name(u),
        "email": u.email,
        "administrator": flag(administrator(u)),
        "billingAdmin": flag(u.role == "owner"),
        "role": labels.choice(u.id, kith_domain::links::ROLE),
        "teamLeader": 0,
        "active": flag(u.active),
        "ghost": 0,
        "free": 0,
        "export": 0,
        "userTitle": null,
        "userPhone": u.phone,
        "userCellPhone": null,
        "userAddress": null,
        "userZipCode": null,
        "userState": null,
        "language": null,
        "custom": [],
        "regDate": time(u.created_at),
        "crm": 1,
        "support": 0,
        "service": 0,
    })
}

async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(q): RawQuery) -> ApiResult {
    let p = ListParams::parse(q.as_deref())?;
    let query = p.query(&RESOURCE, &Default::default())?;
    let page = st.crm.list::<User>(actor, &query).await?;
    let labels = Labels::of(&st, actor, page.rows.iter().map(|u| u.id)).await?;
    let rows = page.rows.iter().map(|u| render(u, &labels)).collect();
    Ok(wire::page(rows, page.total.unwrap_or(0), p.limit, p.offset))
}

async fn one(State(st): State<AppState>, Caller(actor): Caller, Path(raw): Path<String>) -> ApiResult {
    let user = st.crm.get::<User>(actor, path_id(&raw, "user")?).await?;
    let labels = Labels::of(&st, actor, [user.id]).await?;
    Ok(wire::one(render(&user, &labels)))
}

/// The caller, with the account (`client`) it belongs to. The collection's example spells this
/// envelope `{errors: null, data}`; every other answer has `error`, so both are sent.
async fn me(State(st): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let user = st.crm.me(actor).await?;
    let account = st.crm.account(actor).await?;
    let labels = Labels::of(&st, actor, [user.id]).await?;
    let mut data = render(&user, &labels);
    data["client"] = json!({ "id": account.id, "name": account.name, "userId": user.id });
    data["clients"] = json!([{ "clientId": account.id, "name": account.name, "userId": user.id }]);
    data["version"] = json!("Kith");
    Ok(axum::response::IntoResponse::into_response(axum::Json(json!({ "error": null, "errors": null, "data": data }))))
}
