//! Webhooks: where an account's changes are sent, and the log of what was sent. The outbox and
//! its delivery rows live in the store; the sender lives in `kith-webhooks`.

use chrono::{DateTime, Utc};
use kith_store::system::{WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES, WEBHOOKS};
use kith_store::{Filter, ListPage, ListQuery, Page, Row, Sort, Value, Visibility};

use crate::crm::{Actor, Crm};
use crate::error::{DomainError, Errors, Result};

/// Builds a webhook body in a dialect's documented format; each dialect with webhooks has one.
#[async_trait::async_trait]
pub trait Render: Send + Sync {
    /// The body for `delivery`, or `None` when the format has nothing to say about this kind
    /// of change. An `Err` is retried like a failed request.
    async fn render(
        &self,
        crm: &Crm,
        delivery: &ClaimedDelivery,
    ) -> std::result::Result<Option<serde_json::Value>, String>;

    /// Headers of the format sent with `body` (the rendered body, as sent) besides Kith's own:
    /// none unless the format has its own (Apideck's signature and event type).
    fn headers(&self, _delivery: &ClaimedDelivery, _body: &str) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// A delivery claimed for sending: the webhook, the event and what the payload is about.
pub use kith_store::ClaimedDelivery;

/// Entity kinds whose changes can be delivered.
pub const DELIVERED_KINDS: &[&str] = &["contact", "company", "deal", "lead", "action", "note", "call", "meeting"];

#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// Entity kinds delivered; empty: all.
    pub events: Vec<String>,
    pub secret: String,
    pub format: String,
    pub active: bool,
    pub consecutive_failures: i64,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What to create.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    pub name: String,
    pub url: String,
    /// The signing secret; a random one when none is given.
    pub secret: Option<String>,
    pub events: Vec<String>,
    pub format: String,
}

/// One delivery of one event to one webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub seq: i64,
    /// `pending`, `delivered`, `failed` or `skipped`.
    pub status: String,
    pub attempts: i64,
    pub entity_kind: String,
    pub entity_id: i64,
    pub operation: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub delivery_id: i64,
    pub attempt: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: DateTime<Utc>,
}

/// Reads a row of a store-owned table by column name.
struct Cols<'a> {
    spec: &'static kith_store::EntitySpec,
    row: &'a Row,
}

impl Cols<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.spec.position(name).and_then(|i| self.row.values.get(i))
    }
    fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_int)
    }
    fn text(&self, name: &str) -> Option<String> {
        self.get(name).and_then(Value::as_text).map(str::to_owned)
    }
    fn time(&self, name: &str) -> Option<DateTime<Utc>> {
        match self.get(name) {
            Some(Value::Time(t)) => Some(*t),
            _ => None,
        }
    }
}

impl Webhook {
    fn from_row(row: &Row) -> Self {
        let c = Cols { spec: &WEBHOOKS, row };
        let events = match c.get("events") {
            Some(Value::Json(serde_json::Value::Array(a))) => {
                a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
            }
            _ => Vec::new(),
        };
        Webhook {
            id: row.id,
            name: c.text("name").unwrap_or_default(),
            url: c.text("url").unwrap_or_default(),
            events,
            secret: c.text("secret").unwrap_or_default(),
            format: c.text("format").unwrap_or_default(),
            active: matches!(c.get("active"), Some(Value::Bool(true))),
            consecutive_failures: c.int("consecutive_failures").unwrap_or(0),
            disabled_at: c.time("disabled_at"),
            disabled_reason: c.text("disabled_reason"),
            created_at: row.created_at,
        }
    }
}

impl Delivery {
    fn from_row(row: &Row) -> Self {
        let c = Cols { spec: &WEBHOOK_DELIVERIES, row };
        Delivery {
            id: row.id,
            webhook_id: c.int("webhook_id").unwrap_or(0),
            event_id: c.int("event_id").unwrap_or(0),
            seq: c.int("seq").unwrap_or(0),
            status: c.text("status").unwrap_or_default(),
            attempts: c.int("attempts").unwrap_or(0),
            entity_kind: c.text("entity_kind").unwrap_or_default(),
            entity_id: c.int("entity_id").unwrap_or(0),
            operation: c.text("operation").unwrap_or_default(),
            next_attempt_at: c.time("next_attempt_at"),
            last_status_code: c.int("last_status_code"),
            last_error: c.text("last_error"),
            delivered_at: c.time("delivered_at"),
            created_at: row.created_at,
        }
    }
}

/// A random signing secret: 32 bytes as hex.
fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// An absolute http(s) URL with a host.
fn valid_url(raw: &str) -> bool {
    match url::Url::parse(raw) {
        Ok(u) => matches!(u.scheme(), "http" | "https") && u.host().is_some(),
        Err(_) => false,
    }
}

impl Crm {
    /// Registers a webhook (an administrator's act: from the command line).
    pub async fn create_webhook(&self, account_id: i64, new: NewWebhook) -> Result<Webhook> {
        let mut errors = Errors::default();
        let name = new.name.trim().to_owned();
        let url = new.url.trim().to_owned();
        if name.is_empty() {
            errors.add("name", "is required");
        }
        errors.max_len("name", Some(&name), 140);
        if !valid_url(&url) {
            errors.add("url", "must be an absolute http or https URL");
        }
        // The formats a payload can take are the dialects that render one (see `Crm::with_webhook_formats`).
        let formats = &self.webhook_formats;
        if !formats.contains(&new.format.as_str()) {
            errors.add("format", format!("must be one of {}", formats.join(", ")));
        }
        for e in &new.events {
            if !DELIVERED_KINDS.contains(&e.as_str()) {
                errors.add("events", format!("{e:?} is not one of {}", DELIVERED_KINDS.join(", ")));
            }
        }
        let secret = match new.secret.map(|s| s.trim().to_owned()) {
            Some(s) if s.len() < 16 => {
                errors.add("secret", "must be at least 16 characters");
                s
            }
            Some(s) => s,
            None => random_secret(),
        };
        errors.finish()?;
        let mut tx = self.store().begin(account_id, None).await?;
        if tx.get(&kith_store::system::ACCOUNTS, account_id, Visibility::All).await?.is_none() {
            return Err(DomainError::NotFound { kind: "account" });
        }
        let values = vec![
            Value::Text(url),
            Value::Json(serde_json::json!(new.events)),
            Value::Text(secret),
            Value::Bool(true),
            Value::Null,
            Value::Int(0),
            Value::Null,
            Value::Text(name),
            Value::Text(new.format),
            Value::Null,
        ];
        let row = tx.insert(&WEBHOOKS, values).await?;
        tx.commit().await?;
        Ok(Webhook::from_row(&row))
    }

    /// The account's webhooks, oldest first.
    pub async fn webhooks(&self, account_id: i64, limit: u64, offset: u64) -> Result<ListPage<Webhook>> {
        let q = ListQuery::new(Page::Offset { offset, limit }).sort(Sort::asc("id")).with_total();
        Ok(self.store().list(account_id, &WEBHOOKS, &q).await?.map(|r| Webhook::from_row(&r)))
    }

    pub async fn webhook(&self, account_id: i64, id: i64) -> Result<Webhook> {
        let row = self.store().get(account_id, &WEBHOOKS, id, Visibility::Live).await?;
        row.as_ref().map(Webhook::from_row).ok_or(DomainError::NotFound { kind: "webhook" })
    }

    /// Deletes a webhook; what it had not yet received is not sent.
    pub async fn delete_webhook(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        if !tx.delete(&WEBHOOKS, id).await? {
            return Err(DomainError::NotFound { kind: "webhook" });
        }
        tx.skip_pending_deliveries(id, "webhook deleted").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Turns a disabled webhook back on (its undelivered events go out again) or off.
    pub async fn set_webhook_active(&self, account_id: i64, id: i64, active: bool) -> Result<Webhook> {
        let mut tx = self.store().begin(account_id, None).await?;
        if !tx.set_webhook_active(id, active, Some("disabled by an administrator")).await? {
            return Err(DomainError::NotFound { kind: "webhook" });
        }
        tx.commit().await?;
        self.webhook(account_id, id).await
    }

    /// A webhook's deliveries, newest first.
    pub async fn webhook_deliveries(&self, account_id: i64, webhook_id: i64, limit: u64) -> Result<Vec<Delivery>> {
        self.webhook(account_id, webhook_id).await?;
        let q = ListQuery::new(Page::Offset { offset: 0, limit })
            .filter(Filter::eq("webhook_id", webhook_id))
            .sort(Sort::desc("seq"));
        let page = self.store().list(account_id, &WEBHOOK_DELIVERIES, &q).await?;
        Ok(page.rows.iter().map(Delivery::from_row).collect())
    }

    /// The attempts of one delivery, first first.
    pub async fn delivery_attempts(&self, account_id: i64, delivery_id: i64) -> Result<Vec<Attempt>> {
        let q = ListQuery::all().filter(Filter::eq("delivery_id", delivery_id)).sort(Sort::asc("attempt"));
        let page = self.store().list(account_id, &WEBHOOK_ATTEMPTS, &q).await?;
        Ok(page
            .rows
            .iter()
            .map(|row| {
                let c = Cols { spec: &WEBHOOK_ATTEMPTS, row };
                Attempt {
                    delivery_id,
                    attempt: c.int("attempt").unwrap_or(0),
                    status_code: c.int("status_code"),
                    error: c.text("error"),
                    duration_ms: c.int("duration_ms").unwrap_or(0),
                    at: row.created_at,
                }
            })
            .collect())
    }
}
