//! How OnePage shows notes, calls and meetings, and those of many contacts loaded at once.

use std::collections::HashMap;

use kith_domain::model::{Call, Deal, Meeting, Note, User};
use kith_domain::query::{Field, Filter, Value as SV};
use kith_domain::{Actor, Crm};
use serde_json::{Value, json};

use crate::render::common::{short_name, users};
use crate::wire::{ApiResult, hex_id, time};

/// The three kinds of logged engagement, which share their list and delete behaviour.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Note,
    Call,
    Meeting,
}

impl Kind {
    pub(crate) fn one(self) -> &'static str {
        match self {
            Kind::Note => "note",
            Kind::Call => "call",
            Kind::Meeting => "meeting",
        }
    }

    pub(crate) fn many(self) -> &'static str {
        match self {
            Kind::Note => "notes",
            Kind::Call => "calls",
            Kind::Meeting => "meetings",
        }
    }

    /// `date_filter` values: name, column, whether the column is a calendar date.
    pub(crate) fn date_columns(self) -> Vec<(&'static str, &'static str, bool)> {
        let mut v = vec![
            ("created_at", "created_at", false),
            ("modified_at", "updated_at", false),
            ("updated_at", "updated_at", false),
        ];
        v.push(match self {
            Kind::Note => ("date", "date", true),
            Kind::Call => ("call_time", "called_at", false),
            Kind::Meeting => ("meeting_time", "starts_at", false),
        });
        v
    }
}

/// What rendering needs besides the record: authors and linked deals' names.
pub(crate) struct Context {
    users: HashMap<i64, User>,
    deals: HashMap<i64, String>,
    /// Rendered attachments by record id.
    attachments: HashMap<i64, Vec<Value>>,
}

pub(crate) async fn context(
    crm: &Crm,
    actor: Actor,
    kind: Kind,
    ids: &[i64],
    deal_ids: Vec<i64>,
) -> ApiResult<Context> {
    let attachments = crate::render::attachment::attachments_by_record(crm, actor, kind.one(), ids).await?;
    let deals = if deal_ids.is_empty() {
        HashMap::new()
    } else {
        let f = Filter::In { field: Field::col("id"), values: deal_ids.into_iter().map(SV::Int).collect() };
        crm.all::<Deal>(actor, Some(f)).await?.into_iter().map(|d| (d.id, d.name)).collect()
    };
    Ok(Context { users: users(crm, actor).await?, deals, attachments })
}

pub(crate) fn ids_of<E: kith_domain::Entity>(rows: &[E]) -> Vec<i64> {
    rows.iter().map(kith_domain::Entity::id).collect()
}

pub(crate) fn author(cx: &Context, id: i64) -> String {
    cx.users.get(&id).map(short_name).unwrap_or_default()
}

pub(crate) fn render_note(n: &Note, cx: &Context) -> Value {
    json!({
        "id": hex_id(n.id),
        "contact_id": n.contact_id.map(hex_id).unwrap_or_default(),
        "text": n.text,
        "date": n.date.clone().unwrap_or_else(|| n.created_at.date_naive().format("%Y-%m-%d").to_string()),
        "linked_deal_id": n.deal_id.map(hex_id),
        "linked_deal_name": n.deal_id.and_then(|d| cx.deals.get(&d).cloned()).unwrap_or_default(),
        "author": author(cx, n.author_id),
        "attachments": cx.attachments.get(&n.id).cloned().unwrap_or_default(),
        "created_at": time(n.created_at),
        "modified_at": time(n.updated_at),
    })
}

pub(crate) fn render_call(c: &Call, cx: &Context) -> Value {
    json!({
        "id": hex_id(c.id),
        "contact_id": c.contact_id.map(hex_id).unwrap_or_default(),
        "text": c.text.clone().unwrap_or_default(),
        "call_result": c.call_result.clone().unwrap_or_default(),
        "call_time_int": c.called_at.timestamp(),
        "via": c.via.clone().unwrap_or_else(|| "unknown".into()),
        "phone_number": c.phone_number.clone().unwrap_or_default(),
        "recording_link": c.recording_url,
        "author": author(cx, c.author_id),
        "attachments": cx.attachments.get(&c.id).cloned().unwrap_or_default(),
        "created_at": time(c.created_at),
        "modified_at": time(c.updated_at),
    })
}

pub(crate) fn render_meeting(m: &Meeting, cx: &Context) -> Value {
    json!({
        "id": hex_id(m.id),
        "contact_id": m.contact_id.map(hex_id).unwrap_or_default(),
        "text": m.text.clone().unwrap_or_default(),
        "meeting_time_int": m.starts_at.timestamp(),
        "place": m.place.clone().unwrap_or_default(),
        "author": author(cx, m.author_id),
        "attachments": cx.attachments.get(&m.id).cloned().unwrap_or_default(),
        "created_at": time(m.created_at),
        "modified_at": time(m.updated_at),
    })
}

pub(crate) async fn note_data(crm: &Crm, actor: Actor, n: &Note) -> ApiResult<Value> {
    let cx = context(crm, actor, Kind::Note, &[n.id], n.deal_id.into_iter().collect()).await?;
    Ok(json!({ "note": render_note(n, &cx) }))
}

pub(crate) async fn call_data(crm: &Crm, actor: Actor, c: &Call) -> ApiResult<Value> {
    let cx = context(crm, actor, Kind::Call, &[c.id], Vec::new()).await?;
    Ok(json!({ "call": render_call(c, &cx) }))
}

pub(crate) async fn meeting_data(crm: &Crm, actor: Actor, m: &Meeting) -> ApiResult<Value> {
    let cx = context(crm, actor, Kind::Meeting, &[m.id], Vec::new()).await?;
    Ok(json!({ "meeting": render_meeting(m, &cx) }))
}

/// Notes, calls or meetings of contacts, rendered and grouped by contact (for `fields=…(all)`).
pub async fn by_contact(
    crm: &Crm,
    actor: Actor,
    kind: Kind,
    contact_ids: &[i64],
) -> ApiResult<HashMap<i64, Vec<Value>>> {
    let f = Filter::In { field: Field::col("contact_id"), values: contact_ids.iter().map(|i| SV::Int(*i)).collect() };
    let mut out: HashMap<i64, Vec<Value>> = HashMap::new();
    match kind {
        Kind::Note => {
            let rows = crm.all::<Note>(actor, Some(f)).await?;
            let cx = context(crm, actor, kind, &ids_of(&rows), rows.iter().filter_map(|n| n.deal_id).collect()).await?;
            for n in &rows {
                out.entry(n.contact_id.unwrap_or_default()).or_default().push(render_note(n, &cx));
            }
        }
        Kind::Call => {
            let rows = crm.all::<Call>(actor, Some(f)).await?;
            let cx = context(crm, actor, kind, &ids_of(&rows), Vec::new()).await?;
            for c in &rows {
                out.entry(c.contact_id.unwrap_or_default()).or_default().push(render_call(c, &cx));
            }
        }
        Kind::Meeting => {
            let rows = crm.all::<Meeting>(actor, Some(f)).await?;
            let cx = context(crm, actor, kind, &ids_of(&rows), Vec::new()).await?;
            for m in &rows {
                out.entry(m.contact_id.unwrap_or_default()).or_default().push(render_meeting(m, &cx));
            }
        }
    }
    Ok(out)
}
