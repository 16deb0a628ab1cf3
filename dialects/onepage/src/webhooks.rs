//! `/webhooks` (list, get, delete; webhooks are created by an administrator with
//! `kith webhook create`) and the body OnePage sends to a webhook: `{timestamp, secretkey,
//! reason, type, data}`, where `data` is what the API returns for the record.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use kith_domain::model::{Action, Call, Company, Contact, Deal, Meeting, Note};
use kith_domain::webhooks::{ClaimedDelivery, Render, Webhook};
use kith_domain::{Actor, Crm};
use kith_http::AppState;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::params::{Params, path_id};
use crate::wire::{ApiResult, hex_id, ok};

fn render_webhook(w: &Webhook) -> Value {
    json!({
        "id": hex_id(w.id),
        "name": w.name,
        "hook_url": w.url,
        "secretkey": w.secret,
    })
}

pub async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let paging = Params::parse(raw.as_deref()).paging()?;
    let page = st.crm.webhooks(actor.account_id, paging.per_page, paging.offset()).await?;
    let items = page.rows.iter().map(|w| json!({ "webhook": render_webhook(w) })).collect();
    Ok(ok(StatusCode::OK, paging.envelope("webhooks", items, page.total.unwrap_or(0))))
}

pub async fn get(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let webhook = st.crm.webhook(actor.account_id, path_id(&id, "webhook")?).await?;
    Ok(ok(StatusCode::OK, render_webhook(&webhook)))
}

pub async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    st.crm.delete_webhook(actor, path_id(&id, "webhook")?).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

/// OnePage's webhook bodies.
pub struct OnePageWebhooks;

/// What the API would return for the record, deleted or not; `{}` if it no longer exists.
/// `None` for what OnePage does not show: records of other kinds, and deals and activities with
/// no person (made through other dialects, on organisations or leads).
async fn record_data(crm: &Crm, actor: Actor, kind: &str, id: i64) -> ApiResult<Option<Value>> {
    let data = match kind {
        "contact" => match crm.find_any::<Contact>(actor, id).await? {
            Some(c) => {
                let lk = crm.contact_lookups(actor).await?;
                crate::render::contact::contact_data(crm, actor, &lk, &c).await?
            }
            None => json!({}),
        },
        "company" => match crm.find_any::<Company>(actor, id).await? {
            Some(c) => crate::render::company::company_data(crm, actor, &c).await?,
            None => json!({}),
        },
        "deal" => match crm.find_any::<Deal>(actor, id).await? {
            Some(d) if d.contact_id.is_none() => return Ok(None),
            Some(d) => crate::render::deal::deal_data(crm, actor, &d).await?,
            None => json!({}),
        },
        "action" => match crm.find_any::<Action>(actor, id).await? {
            Some(a) if a.contact_id.is_none() => return Ok(None),
            Some(a) => crate::render::action::action_data(&a),
            None => json!({}),
        },
        "note" => match crm.find_any::<Note>(actor, id).await? {
            Some(n) if n.contact_id.is_none() => return Ok(None),
            Some(n) => crate::render::engagement::note_data(crm, actor, &n).await?,
            None => json!({}),
        },
        "call" => match crm.find_any::<Call>(actor, id).await? {
            Some(c) if c.contact_id.is_none() => return Ok(None),
            Some(c) => crate::render::engagement::call_data(crm, actor, &c).await?,
            None => json!({}),
        },
        "meeting" => match crm.find_any::<Meeting>(actor, id).await? {
            Some(m) if m.contact_id.is_none() => return Ok(None),
            Some(m) => crate::render::engagement::meeting_data(crm, actor, &m).await?,
            None => json!({}),
        },
        _ => return Ok(None),
    };
    Ok(Some(data))
}

#[async_trait::async_trait]
impl Render for OnePageWebhooks {
    async fn render(&self, crm: &Crm, d: &ClaimedDelivery) -> Result<Option<Value>, String> {
        // Fields that depend on the viewer (stars) are rendered for the user who made the change.
        let actor = Actor { account_id: d.account_id, user_id: d.actor_id.unwrap_or(0) };
        let data = record_data(crm, actor, &d.entity_kind, d.entity_id)
            .await
            .map_err(|e| format!("rendering {} {}: {}", d.entity_kind, d.entity_id, e.error_message))?;
        Ok(data.map(|data| {
            json!({
                "timestamp": d.created_at.timestamp(),
                "secretkey": d.secret,
                "reason": d.operation,
                "type": d.entity_kind,
                "data": data,
            })
        }))
    }
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/webhooks", routing::get(list))
        .route("/webhooks/{id}", routing::get(get).delete(delete))
}
