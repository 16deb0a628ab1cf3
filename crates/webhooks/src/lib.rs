//! The webhook sender. Each Kith process runs one: it claims due deliveries from the store's
//! outbox (each the oldest undelivered one of its webhook, so a webhook receives its events in
//! commit order), renders the body in the webhook's dialect format on the first attempt, signs it
//! with HMAC-SHA256, posts it, and records the outcome: delivered on a 2xx, otherwise retried with
//! exponential backoff and jitter until `retry_for` has passed since the event, after which the
//! delivery fails and its webhook is disabled.
//!
//! Deliveries are leased, not held in memory: a process that dies mid-request leaves a lease that
//! runs out, and any process (a restarted one, another replica) sends the delivery again.

mod guard;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hmac::{Hmac, Mac};
use kith_domain::Crm;
use kith_store::{ClaimedDelivery, DeliveryOutcome};
use rand::Rng;
use sha2::Sha256;

pub use guard::{AddressPolicy, Refused};
pub use kith_domain::webhooks::Render;

/// How the sender behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Whole-request timeout (connect, send, response).
    pub timeout: Duration,
    /// The first retry waits about this long; each further one twice as long as the last.
    pub retry_base: Duration,
    /// No retry waits longer than this.
    pub retry_max: Duration,
    /// A delivery that still fails this long after its event gives up and disables the webhook.
    pub retry_for: Duration,
    /// How often an idle sender looks for due deliveries.
    pub poll: Duration,
    /// Deliveries sent at once (each to a different webhook).
    pub batch: usize,
    /// How long a lease outlives the request timeout before another process may take over.
    pub lease_margin: Duration,
    pub addresses: AddressPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            retry_for: Duration::from_secs(24 * 3600),
            poll: Duration::from_millis(500),
            batch: 16,
            lease_margin: Duration::from_secs(30),
            addresses: AddressPolicy::default(),
        }
    }
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before retry number `attempts + 1`: `base · 2^attempts`, at most `max`, of which a
/// random part (up to half) is taken off so that many failing deliveries do not retry in step.
pub fn backoff(base: Duration, max: Duration, attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 30)).unwrap_or(30);
    let full = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    let half = full / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis().min(u128::from(u64::MAX)) as u64);
    full - Duration::from_millis(jitter)
}

/// Headers every delivery carries.
pub mod headers {
    pub const SIGNATURE: &str = "Kith-Signature";
    pub const TIMESTAMP: &str = "Kith-Timestamp";
    pub const WEBHOOK: &str = "Kith-Webhook-Id";
    pub const DELIVERY: &str = "Kith-Delivery-Id";
    pub const EVENT: &str = "Kith-Event-Id";
    pub const ATTEMPT: &str = "Kith-Attempt";
}

enum SendError {
    /// The address is not one webhooks may reach; retrying will not help.
    Refused(String),
    /// Anything else: connection, timeout, TLS.
    Transport(String),
}

pub struct Sender {
    crm: Crm,
    settings: Settings,
    renderers: HashMap<String, Arc<dyn Render>>,
    client: reqwest::Client,
    /// Names this process in leases.
    owner: String,
}

impl Sender {
    pub fn new(crm: Crm, settings: Settings, renderers: HashMap<String, Arc<dyn Render>>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Kith-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(guard::GuardedResolver::new(settings.addresses.clone())))
            .build()?;
        let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4());
        Ok(Sender { crm, settings, renderers, client, owner })
    }

    fn lease(&self) -> Duration {
        self.settings.timeout + self.settings.lease_margin
    }

    /// Claims one batch of due deliveries and sends them; returns how many were claimed.
    pub async fn run_once(&self) -> Result<usize, kith_store::StoreError> {
        let claimed = self.crm.store().claim_deliveries(&self.owner, self.lease(), self.settings.batch).await?;
        let n = claimed.len();
        futures::future::join_all(claimed.into_iter().map(|d| self.deliver(d))).await;
        Ok(n)
    }

    /// Sends until `shutdown` completes; then finishes what it holds and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        loop {
            let busy = match self.run_once().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook sender: could not claim deliveries");
                    false
                }
            };
            if busy {
                // More may be due at once; look again unless asked to stop.
                if futures::FutureExt::now_or_never(&mut shutdown).is_some() {
                    return;
                }
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(self.settings.poll) => {}
            }
        }
    }

    async fn deliver(&self, d: ClaimedDelivery) {
        let started = Instant::now();
        let outcome = match self.body(&d).await {
            Ok(Some(body)) => self.attempt(&d, &body).await,
            Ok(None) => {
                DeliveryOutcome::Skipped { reason: format!("the {} format has no {} payload", d.format, d.entity_kind) }
            }
            Err(e) => self.retry_or_fail(&d, None, e),
        };
        let label = match &outcome {
            DeliveryOutcome::Delivered { .. } => "delivered",
            DeliveryOutcome::Retry { .. } => "retry",
            DeliveryOutcome::Failed { .. } => "failed",
            DeliveryOutcome::Skipped { .. } => "skipped",
        };
        metrics::counter!("kith_webhook_attempts_total", "outcome" => label).increment(1);
        if let DeliveryOutcome::Failed { reason, .. } = &outcome {
            metrics::counter!("kith_webhooks_disabled_total").increment(1);
            tracing::warn!(
                account_id = d.account_id,
                webhook_id = d.webhook_id,
                delivery_id = d.id,
                %reason,
                "webhook disabled"
            );
        }
        match self.crm.store().finish_delivery(&d, &self.owner, &outcome, started.elapsed()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(delivery_id = d.id, "webhook delivery lease ran out before its outcome was saved")
            }
            Err(e) => tracing::error!(delivery_id = d.id, error = %e, "could not save a webhook delivery's outcome"),
        }
    }

    /// The delivery's body: as first sent, or rendered now and kept.
    async fn body(&self, d: &ClaimedDelivery) -> Result<Option<String>, String> {
        if let Some(p) = &d.payload {
            return Ok(Some(p.clone()));
        }
        let Some(renderer) = self.renderers.get(&d.format) else {
            return Ok(None);
        };
        let Some(value) = renderer.render(&self.crm, d).await? else {
            return Ok(None);
        };
        let body = value.to_string();
        self.crm.store().save_delivery_payload(d, &self.owner, &body).await.map_err(|e| e.to_string())?;
        Ok(Some(body))
    }

    async fn attempt(&self, d: &ClaimedDelivery, body: &str) -> DeliveryOutcome {
        match self.post(d, body).await {
            Ok(status) if (200..300).contains(&status) => DeliveryOutcome::Delivered { status },
            Ok(410) => DeliveryOutcome::Failed {
                status: Some(410),
                error: "receiver answered 410 Gone".into(),
                reason: "the receiver answered 410 Gone".into(),
            },
            Ok(status) => self.retry_or_fail(d, Some(status), format!("receiver answered {status}")),
            Err(SendError::Refused(e)) => DeliveryOutcome::Failed { status: None, error: e.clone(), reason: e },
            Err(SendError::Transport(e)) => self.retry_or_fail(d, None, e),
        }
    }

    fn retry_or_fail(&self, d: &ClaimedDelivery, status: Option<u16>, error: String) -> DeliveryOutcome {
        let now = Utc::now();
        let age = (now - d.created_at).to_std().unwrap_or_default();
        if age >= self.settings.retry_for {
            let reason = format!(
                "delivery {} still failing after {} attempts over {}s: {error}",
                d.id,
                d.attempts + 1,
                age.as_secs()
            );
            return DeliveryOutcome::Failed { status, error, reason };
        }
        let wait = backoff(self.settings.retry_base, self.settings.retry_max, d.attempts);
        let next_attempt_at = now + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::hours(1));
        DeliveryOutcome::Retry { status, error, next_attempt_at }
    }

    async fn post(&self, d: &ClaimedDelivery, body: &str) -> Result<u16, SendError> {
        let url = url::Url::parse(&d.url).map_err(|e| SendError::Refused(format!("invalid webhook URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SendError::Refused(format!("webhook URL scheme {} is not http or https", url.scheme())));
        }
        // The resolver checks names; addresses written in the URL are checked here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(SendError::Refused("webhook URL has no host".into())),
        };
        if let Some(ip) = literal
            && !self.settings.addresses.permits(ip)
        {
            return Err(SendError::Refused(format!("{ip} is not an address webhooks may reach")));
        }
        let timestamp = Utc::now().timestamp();
        let mut req = self.client.post(url);
        if let Some(renderer) = self.renderers.get(&d.format) {
            for (name, value) in renderer.headers(d, body) {
                req = req.header(name, value);
            }
        }
        let res = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(headers::SIGNATURE, signature(&d.secret, timestamp, body))
            .header(headers::TIMESTAMP, timestamp.to_string())
            .header(headers::WEBHOOK, d.webhook_id.to_string())
            .header(headers::DELIVERY, d.id.to_string())
            .header(headers::EVENT, d.event_id.to_string())
            .header(headers::ATTEMPT, (d.attempts + 1).to_string())
            .body(body.to_owned())
            .send()
            .await;
        match res {
            Ok(r) => Ok(r.status().as_u16()),
            Err(e) => {
                let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
                while let Some(s) = source {
                    if let Some(r) = s.downcast_ref::<Refused>() {
                        return Err(SendError::Refused(r.to_string()));
                    }
                    source = s.source();
                }
                let what = if e.is_timeout() { "timed out" } else { "request failed" };
                Err(SendError::Transport(format!("{what}: {}", error_chain(&e))))
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 does not cover this framing; the value was computed independently with
        // `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret-key-0123456789`.
        let sig = signature("secret-key-0123456789", 1_700_000_000, r#"{"a":1}"#);
        assert_eq!(sig, "t=1700000000,v1=95a94f8e9919abdf552708a6c1d5604116ad2a78af755c3113cf47afa01d92f2");
        assert_ne!(sig, signature("secret-key-0123456789", 1_700_000_001, r#"{"a":1}"#));
        assert_ne!(sig, signature("another-secret-0123456", 1_700_000_000, r#"{"a":1}"#));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_at_most_half_taken_off() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(3600);
        for attempts in 0..40 {
            let full = base.saturating_mul(2u32.saturating_pow(attempts.min(30) as u32)).min(max);
            let wait = backoff(base, max, attempts);
            assert!(wait <= full && wait >= full / 2, "attempt {attempts}: {wait:?} vs {full:?}");
        }
        // Retries keep coming for the whole retry window: 24 h of waits take many attempts.
        let total: Duration = (0..30).map(|a| base.saturating_mul(2u32.saturating_pow(a)).min(max)).sum();
        assert!(total > Duration::from_secs(24 * 3600));
    }
}
