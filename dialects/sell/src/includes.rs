//! `includes=`: related records loaded alongside the ones asked for.
//!
//! Each requested relation is added to a record's `data` under its own name, rendered as its
//! own `GET` renders it (`data.organization` next to `data.contact_id`), or `null` when there is
//! none. Official clients hand clients the `data` object, so the related record is at hand there
//! (`deal.contact.name`). This runs after the handler, on any successful `GET`: the relations a
//! type offers are declared once, here, by the field holding the related id.

use std::collections::HashMap;

use axum::response::{IntoResponse, Response};
use kith_domain::Actor;
use kith_http::AppState;
use serde_json::Value;

use crate::wire::{ApiError, ApiResult};

/// What a related id names: a record of a fixed model kind, or the kind `resource_type` says.
#[derive(Clone, Copy)]
enum Target {
    Kind(&'static str),
    Resource,
}

/// A relation a Sell type offers: its name in `includes`, and the field with the related id.
struct Relation {
    name: &'static str,
    field: &'static str,
    target: Target,
}

const fn rel(name: &'static str, field: &'static str, kind: &'static str) -> Relation {
    Relation { name, field, target: Target::Kind(kind) }
}

const RESOURCE: Relation = Relation { name: "resource", field: "resource_id", target: Target::Resource };
const OWNER: Relation = rel("owner", "owner_id", "user");
const CREATOR: Relation = rel("creator", "creator_id", "user");

const CONTACT: &[Relation] = &[rel("organization", "contact_id", "company"), OWNER, CREATOR];
const LEAD: &[Relation] = &[
    OWNER,
    CREATOR,
    rel("source", "source_id", "lead_source"),
    rel("unqualified_reason", "unqualified_reason_id", "choice"),
];
const DEAL: &[Relation] = &[
    rel("contact", "contact_id", "contact"),
    rel("organization", "organization_id", "company"),
    OWNER,
    CREATOR,
    rel("stage", "stage_id", "stage"),
    rel("source", "source_id", "lead_source"),
    rel("loss_reason", "loss_reason_id", "loss_reason"),
    rel("unqualified_reason", "unqualified_reason_id", "choice"),
];
const ASSOCIATED_CONTACT: &[Relation] = &[rel("contact", "contact_id", "contact")];
const NOTE: &[Relation] = &[RESOURCE, CREATOR];
const TASK: &[Relation] = &[RESOURCE, OWNER, CREATOR];
const CALL: &[Relation] = &[RESOURCE, rel("user", "user_id", "user"), rel("outcome", "outcome_id", "choice")];
const VISIT: &[Relation] = &[RESOURCE, CREATOR, rel("outcome", "outcome_id", "choice")];
const TEXT_MESSAGE: &[Relation] = &[RESOURCE, rel("user", "user_id", "user")];
const STAGE: &[Relation] = &[rel("pipeline", "pipeline_id", "pipeline")];
const ORDER: &[Relation] = &[rel("deal", "deal_id", "deal")];
const LINE_ITEM: &[Relation] = &[rel("product", "product_id", "predefined_item")];
const LEAD_CONVERSION: &[Relation] = &[
    rel("individual", "individual_id", "contact"),
    rel("organization", "organization_id", "company"),
    rel("deal", "deal_id", "deal"),
    CREATOR,
];
const MADE_BY: &[Relation] = &[CREATOR];

/// The relations of each Sell type (as `meta.type` names it).
fn relations(sell_type: &str) -> &'static [Relation] {
    match sell_type {
        "contact" => CONTACT,
        "lead" => LEAD,
        "deal" => DEAL,
        "associated_contact" => ASSOCIATED_CONTACT,
        "note" => NOTE,
        "task" => TASK,
        "call" => CALL,
        "visit" => VISIT,
        "text_message" => TEXT_MESSAGE,
        "stage" => STAGE,
        "order" => ORDER,
        "line_item" => LINE_ITEM,
        "lead_conversion" => LEAD_CONVERSION,
        "tag" | "lead_source" | "deal_source" | "source" | "loss_reason" | "deal_unqualified_reason" => MADE_BY,
        _ => &[],
    }
}

/// The relation names a request asks for (`includes=organization,owner`); `None` for none.
pub fn requested(query: Option<&str>) -> Option<Vec<String>> {
    let raw = kith_http::query_pairs(query).into_iter().rev().find(|(k, _)| k == "includes")?.1;
    let names: Vec<String> = raw.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    (!names.is_empty()).then_some(names)
}

/// Adds the requested relations to a successful JSON answer of `actor`'s request.
pub async fn expand(response: Response, names: Vec<String>, caller: Option<(Actor, AppState)>) -> Response {
    let Some((actor, st)) = caller else { return response };
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::bad_request("the answer could not be read").into_response();
    };
    let Ok(mut json) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    let mut loaded = Loaded { st: &st, actor, cache: HashMap::new() };
    let result = match json.get_mut("items").and_then(Value::as_array_mut) {
        Some(items) => {
            let mut out = Ok(());
            for item in items.iter_mut() {
                out = loaded.expand_item(item, &names).await;
                if out.is_err() {
                    break;
                }
            }
            out
        }
        None => loaded.expand_item(&mut json, &names).await,
    };
    match result {
        Ok(()) => (parts.status, axum::Json(json)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Related records rendered so far in one answer: a page often names the same user or stage
/// many times.
struct Loaded<'a> {
    st: &'a AppState,
    actor: Actor,
    cache: HashMap<(&'static str, i64), Value>,
}

impl Loaded<'_> {
    /// Adds `names` to one `{data, meta}` envelope.
    async fn expand_item(&mut self, envelope: &mut Value, names: &[String]) -> ApiResult<()> {
        let sell_type = envelope["meta"]["type"].as_str().unwrap_or_default().to_owned();
        let offered = relations(&sell_type);
        for name in names {
            let Some(relation) = offered.iter().find(|r| r.name == name) else {
                let names: Vec<&str> = offered.iter().map(|r| r.name).collect();
                return Err(ApiError::bad_request(if names.is_empty() {
                    format!("includes: a {sell_type} has no related records to include")
                } else {
                    format!("includes: a {sell_type} can include {}", names.join(", "))
                }));
            };
            let data = &envelope["data"];
            let kind = match relation.target {
                Target::Kind(kind) => Some(kind),
                Target::Resource => match data["resource_type"].as_str() {
                    Some("lead") => Some("lead"),
                    Some("contact") => Some("contact"),
                    Some("deal") => Some("deal"),
                    _ => None,
                },
            };
            let related = match (kind, data[relation.field].as_i64()) {
                (Some(kind), Some(id)) => self.load(kind, id).await?,
                _ => Value::Null,
            };
            if let Some(obj) = envelope["data"].as_object_mut() {
                obj.insert(relation.name.to_owned(), related);
            }
        }
        Ok(())
    }

    async fn load(&mut self, kind: &'static str, id: i64) -> ApiResult<Value> {
        if let Some(v) = self.cache.get(&(kind, id)) {
            return Ok(v.clone());
        }
        let v = crate::sync::record(self.st, self.actor, kind, id).await?.map_or(Value::Null, |(_, data)| data);
        self.cache.insert((kind, id), v.clone());
        Ok(v)
    }
}
