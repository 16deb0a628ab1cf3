//! Webhook bodies in Apideck's unified event format: `{"payload": {event_type, entity_type,
//! entity_id, entity_url, event_id, occurred_at, service_id, consumer_id, unified_api}}`, with
//! Apideck's `x-apideck-event-type`, `x-apideck-idempotency-key` and `x-apideck-signature`
//! headers besides Kith's own. Webhooks are registered with `kith webhook create --format apideck`.

use hmac::{Hmac, Mac};
use kith_domain::Crm;
use kith_domain::webhooks::{ClaimedDelivery, Render};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::wire::{SERVICE, time};

/// Apideck's name and path for a kind of record Kith changes (`None`: not an Apideck resource).
pub fn resource(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "contact" => ("contact", "contacts"),
        "company" => ("company", "companies"),
        "deal" => ("opportunity", "opportunities"),
        "lead" => ("lead", "leads"),
        "note" => ("note", "notes"),
        "call" | "meeting" | "action" => ("activity", "activities"),
        _ => return None,
    })
}

/// `crm.<entity>.<created|updated|deleted>`; a restored record (undo of a delete) is created
/// again, for a receiver that dropped it.
pub fn event_type(kind: &str, operation: &str) -> Option<String> {
    let (entity, _) = resource(kind)?;
    let op = match operation {
        "created" | "restored" => "created",
        "updated" => "updated",
        "deleted" => "deleted",
        _ => return None,
    };
    Some(format!("crm.{entity}.{op}"))
}

/// Apideck's webhook bodies.
pub struct ApideckWebhooks;

/// The body for a change, keys in alphabetical order (Apideck's receivers sign the body with its
/// keys sorted).
pub fn payload(public_url: &str, d: &ClaimedDelivery) -> Option<Value> {
    let (entity, path) = resource(&d.entity_kind)?;
    let event_type = event_type(&d.entity_kind, &d.operation)?;
    Some(json!({
        "payload": {
            "consumer_id": d.account_id.to_string(),
            "entity_id": d.entity_id.to_string(),
            "entity_type": entity,
            "entity_url": format!("{public_url}{}/{path}/{}", crate::MOUNT, d.entity_id),
            "event_id": d.event_id.to_string(),
            "event_type": event_type,
            "occurred_at": time(d.created_at),
            "service_id": SERVICE,
            "unified_api": "crm",
        }
    }))
}

/// The hex HMAC-SHA256 of `body` keyed with the webhook's secret.
pub fn signature(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[async_trait::async_trait]
impl Render for ApideckWebhooks {
    async fn render(&self, crm: &Crm, d: &ClaimedDelivery) -> Result<Option<Value>, String> {
        Ok(payload(crm.public_url(), d))
    }

    fn headers(&self, d: &ClaimedDelivery, body: &str) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("x-apideck-signature", signature(&d.secret, body)),
            // The same on every attempt of a delivery.
            ("x-apideck-idempotency-key", d.id.to_string()),
        ];
        if let Some(t) = event_type(&d.entity_kind, &d.operation) {
            out.push(("x-apideck-event-type", t));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_named_as_apideck_names_them() {
        assert_eq!(event_type("contact", "created").as_deref(), Some("crm.contact.created"));
        assert_eq!(event_type("deal", "updated").as_deref(), Some("crm.opportunity.updated"));
        assert_eq!(event_type("action", "deleted").as_deref(), Some("crm.activity.deleted"));
        assert_eq!(event_type("meeting", "restored").as_deref(), Some("crm.activity.created"));
        assert_eq!(event_type("user", "created"), None);
    }

    #[test]
    fn the_signature_is_the_hex_hmac_of_the_body() {
        // Computed independently: printf '{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", r#"{"a":1}"#),
            "aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494"
        );
        assert_ne!(signature("secret", r#"{"a":1}"#), signature("secret", r#"{"a":2}"#));
    }
}
