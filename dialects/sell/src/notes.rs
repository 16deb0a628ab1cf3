//! `/notes`: notes on a contact (a person or an organisation), a lead or a deal. What a note is
//! about is required, and fixed once the note is made. A note on a deal also carries the deal's
//! primary contact, so OnePage shows it with that person, linked to the deal.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use kith_domain::Actor;
use kith_domain::engagements::{ENGAGEMENT_TEXT_MAX, NoteDraft};
use kith_domain::model::Note;
use kith_domain::query::{Filter, Op, Sort};
use kith_http::AppState;
use kith_http::Routes;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::input::Data;
use crate::params::{Params, RecordQuery, path_id, read_data};
use crate::resources::{self, CONTACT, DEAL, LEAD, sell_error};
use crate::wire::{ApiError, ApiResult, collection, one, time};

const TYPES: &[&str] = &[CONTACT, LEAD, DEAL];
const RENAMES: &[(&str, &str)] = &[("text", "content")];

pub fn routes() -> Routes {
    Routes::new().route("/notes", get(list).post(create)).route("/notes/{id}", get(get_one).put(update).delete(delete))
}

fn render(n: &Note) -> Value {
    let mut v = json!({
        "id": n.id,
        "creator_id": n.author_id,
        "content": n.text,
        "created_at": time(n.created_at),
        "updated_at": time(n.updated_at),
    });
    resources::put(&mut v, n.links());
    v
}

/// The `content` of a body, if sent: blank is a 422.
fn read_content(data: &mut Data) -> Option<String> {
    match data.text("content", ENGAGEMENT_TEXT_MAX)? {
        Some(c) => Some(c),
        None => {
            data.error("content", "can't be blank");
            None
        }
    }
}

async fn create(State(st): State<AppState>, Caller(actor): Caller, body: Body) -> ApiResult {
    let mut data = Data::new(read_data(&st, body).await?);
    if !data.has("content") {
        data.error("content", "can't be blank");
    }
    let content = read_content(&mut data);
    let sent = data.has("resource_type") || data.has("resource_id");
    let subject = resources::read(&st.crm, actor, &mut data, TYPES, None).await?;
    if !sent || subject == Some(None) {
        data.error("resource_type", "can't be blank");
        data.error("resource_id", "can't be blank");
    }
    data.finish()?;
    let (Some(text), Some(Some(subject))) = (content, subject) else {
        return Err(ApiError::validation("resource_id", "can't be blank"));
    };
    let note = st
        .crm
        .create_note(actor, NoteDraft { subject, text, date: None, deal_id: None })
        .await
        .map_err(|e| sell_error(e, RENAMES))?;
    Ok(one(StatusCode::OK, "note", render(&note)))
}

async fn get_one(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    _: RecordQuery,
) -> ApiResult {
    let note = st.crm.get::<Note>(actor, path_id(&id, "note")?).await?;
    Ok(one(StatusCode::OK, "note", render(&note)))
}

/// `PUT`: changes the content; `resource_type` and `resource_id` may be sent only as they are.
async fn update(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, body: Body) -> ApiResult {
    let note = st.crm.get::<Note>(actor, path_id(&id, "note")?).await?;
    let mut data = Data::new(read_data(&st, body).await?);
    let content = read_content(&mut data);
    let current = note.links().subject();
    if let Some(sent) = resources::read(&st.crm, actor, &mut data, TYPES, current).await?
        && sent != current
    {
        data.error("resource_id", "cannot be changed: a note stays on what it was made on");
    }
    data.finish()?;
    let Some(subject) = current else {
        return Err(ApiError::validation("resource_id", "the note is attached to nothing"));
    };
    // A note about a person has no deal (a deal's note is about the deal), so there is none to keep.
    let draft = NoteDraft {
        subject,
        text: content.unwrap_or_else(|| note.text.clone()),
        date: note.date.clone(),
        deal_id: None,
    };
    let note = st.crm.update_note(actor, note.id, draft).await.map_err(|e| sell_error(e, RENAMES))?;
    Ok(one(StatusCode::OK, "note", render(&note)))
}

async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    st.crm.delete::<Note>(actor, path_id(&id, "note")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /notes`: filters `ids`, `creator_id`, `q` (in the content), `resource_type`,
/// `resource_id`; `sort_by` `id`, `created_at`, `updated_at` (the default) and `resource_type`.
async fn list(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::list(raw.as_deref(), &["creator_id", "q", "resource_type", "resource_id"])?;
    let paging = params.paging()?;
    let mut q = paging.query();
    if let Some(f) = params.ids()? {
        q = q.filter(f);
    }
    if let Some(creator) = params.int("creator_id")? {
        q = q.filter(Filter::eq("author_id", creator));
    }
    if let Some(text) = params.get("q").filter(|s| !s.is_empty()) {
        q = q.filter(Filter::cmp("text", Op::Contains, text));
    }
    if let Some(f) = resources::filter(&params, TYPES, false, true)? {
        q = q.filter(f);
    }
    let mut rows = match resources::type_sort(&params) {
        Some(dir) => resources::page_by_type(&st.crm, actor, &q, paging, dir).await?,
        None => {
            let allowed =
                [("id", "id"), ("created_at", "created_at"), ("updated_at", "updated_at"), ("resource_type", "id")];
            q = q.sort(params.sort(&allowed, |_| None)?.unwrap_or_else(|| Sort::asc("updated_at")));
            st.crm.list::<Note>(actor, &q).await?.rows
        }
    };
    let links = paging.links("/v2/notes", &mut rows);
    Ok(collection("note", rows.iter().map(render).collect(), links))
}

/// The Sync API's view of a note: `("note", data)` while it is live.
#[allow(dead_code, reason = "the Sync API's to call")]
pub(crate) async fn sync_record(st: &AppState, actor: Actor, id: i64) -> ApiResult<Option<(&'static str, Value)>> {
    Ok(st.crm.find::<Note>(actor, id).await?.map(|n| ("note", render(&n))))
}
