//! How OnePage shows an attachment, and the attachments of many records loaded at once.

use std::collections::HashMap;

use kith_domain::model::Attachment;
use kith_domain::{Actor, Crm};
use serde_json::{Value, json};

use crate::wire::{ApiResult, hex_id, time};

/// The path a stored file is downloaded from.
pub fn file_path(file_id: i64) -> String {
    format!("{}/files/{}", crate::MOUNT, hex_id(file_id))
}

pub fn render_attachment(crm: &Crm, a: &Attachment) -> Value {
    let mut v = json!({
        "id": hex_id(a.id),
        "filename": a.filename,
        "pinned": a.pinned,
        "size": a.size_bytes,
        "storage_provider": a.link_type.clone().unwrap_or_else(|| "amazon".into()),
    });
    if let Some(name) = &a.custom_filename {
        v["custom_filename"] = json!(name);
    }
    if let Some(at) = a.pinned_at.filter(|_| a.pinned) {
        v["pinned_at"] = json!(time(at));
    }
    let url = match (&a.external_url, a.file_id) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(file)) => Some(crm.file_url(file, file_path)),
        (None, None) => None,
    };
    if let Some(url) = url {
        v["url"] = json!(url);
    }
    v
}

/// Rendered attachments of records of one kind, by record id.
pub async fn attachments_by_record(
    crm: &Crm,
    actor: Actor,
    kind: &str,
    ids: &[i64],
) -> ApiResult<HashMap<i64, Vec<Value>>> {
    let mut out: HashMap<i64, Vec<Value>> = HashMap::new();
    for a in crm.attachments_of(actor, kind, ids).await? {
        out.entry(a.reference_id).or_default().push(render_attachment(crm, &a));
    }
    Ok(out)
}

pub(crate) fn attachment_data(crm: &Crm, a: &Attachment) -> Value {
    json!({ "attachment": render_attachment(crm, a) })
}
