//! The Kith server: mounts every dialect on one router, with request ids, metrics, health
//! checks, body limits, request and connection timeouts, a connection cap and graceful shutdown.

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kith_domain::Crm;
use kith_domain::files::Files;
use kith_http::{AppState, Dialect, HttpConfig};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub mod backup;
pub mod seed;
mod server;

pub use kith_http::DEFAULT_REQUEST_TIMEOUT;
pub use kith_http::HttpConfig as Config;

/// The default `ServeConfig::header_read_timeout`.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default `ServeConfig::idle_timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// The default `ServeConfig::max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4096;

/// What `serve` needs: the application's settings and the limits on connections.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub http: HttpConfig,
    /// How long a client may take to send a request head (request line and headers): from
    /// connecting for the first request, from its first byte for a later one. Past it the
    /// connection is closed. `None`: no limit.
    pub header_read_timeout: Option<Duration>,
    /// How long a connection may stay open with no request in progress after a response, or
    /// with a response its client does not read. Past it the connection is closed. `None`: no
    /// limit.
    pub idle_timeout: Option<Duration>,
    /// Most connections served at once (at least 1). Further connections wait in the listen
    /// queue until one closes.
    pub max_connections: u32,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig::from(HttpConfig::default())
    }
}

impl From<HttpConfig> for ServeConfig {
    fn from(http: HttpConfig) -> Self {
        ServeConfig {
            http,
            header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

/// The database URL for `--database`, or the SQLite file in `data_dir` (created if missing).
pub fn database_url(database: Option<&str>, data_dir: &Path) -> anyhow::Result<String> {
    if let Some(url) = database.filter(|u| !u.trim().is_empty()) {
        return Ok(url.trim().to_owned());
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create the data directory {}: {e}", data_dir.display()))?;
    Ok(format!("sqlite://{}", data_dir.join("kith.db").display()))
}

/// Every dialect the server speaks, each mounted at its own path.
pub fn dialects() -> &'static [Arc<dyn Dialect>] {
    static DIALECTS: OnceLock<Vec<Arc<dyn Dialect>>> = OnceLock::new();
    DIALECTS.get_or_init(|| {
        vec![
            Arc::new(kith_onepage::OnePage),
            Arc::new(kith_sell::Sell),
            Arc::new(kith_apideck::Apideck),
            Arc::new(kith_jsend::JSend),
            Arc::new(kith_upsales::Upsales),
        ]
    })
}

/// The dialect serving `path`, by its mount.
fn dialect_of(path: &str) -> Option<&'static Arc<dyn Dialect>> {
    dialects()
        .iter()
        .find(|d| path.strip_prefix(d.mount()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

/// Opens and migrates the database; stored files go to `files`.
pub async fn open(url: &str, max_connections: u32, files: Files) -> anyhow::Result<Crm> {
    let opts = kith_store::StoreOptions { max_connections, ..Default::default() };
    let formats = dialects().iter().filter(|d| d.webhooks().is_some()).map(|d| d.name()).collect();
    Ok(kith_domain::open(url, &opts).await?.with_files(files).with_webhook_formats(formats))
}

/// Stored files on local disk under the data directory, linked from `public_url`.
pub fn local_files(data_dir: &Path, public_url: &str) -> Files {
    Files::local(&data_dir.join("files"), public_url)
}

fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Several servers in one process (tests) share the first recorder.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The webhook sender, with every dialect's payload format.
pub fn webhook_sender(crm: Crm, settings: kith_webhooks::Settings) -> anyhow::Result<kith_webhooks::Sender> {
    let renderers = dialects().iter().filter_map(|d| Some((d.name().to_owned(), d.webhooks()?))).collect();
    kith_webhooks::Sender::new(crm, settings, renderers)
}

/// The whole HTTP application.
pub fn app(crm: Crm, config: HttpConfig) -> Router {
    prometheus();
    let request_timeout = config.request_timeout;
    let state = AppState { crm, config: Arc::new(config) };
    let mut router = Router::new();
    for dialect in dialects() {
        router = router.nest(dialect.mount(), kith_http::mounted(dialect.clone()));
    }
    router = router.route("/healthz", get(healthz)).route("/metrics", get(metrics_page));
    if let Some(limit) = request_timeout {
        // Inside the metrics layer, so a request cut short is counted under its route as a 503.
        router = router.layer(axum::middleware::from_fn_with_state(limit, time_limit));
    }
    router
        .layer(axum::middleware::from_fn(kith_http::track_metrics))
        .with_state(state)
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

async fn healthz(State(st): State<AppState>) -> impl IntoResponse {
    match st.crm.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" }))),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "status": "unavailable" })))
        }
    }
}

async fn metrics_page(State(st): State<AppState>) -> impl IntoResponse {
    let (size, idle) = st.crm.pool_stats();
    metrics::gauge!("kith_db_pool_connections").set(size as f64);
    metrics::gauge!("kith_db_pool_idle_connections").set(idle as f64);
    ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], prometheus().render())
}

/// Rewrites paths before routing, as each dialect asks (OnePage's optional `.json` suffix).
pub(crate) fn rewrite(mut req: Request) -> Request {
    if let Some(path) = dialects().iter().find_map(|d| d.rewrite_path(req.uri().path())) {
        let pq = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// Answers a request that takes longer than `limit` with a 503 in its dialect's error shape;
/// the handler is dropped (a write it had not committed is rolled back).
async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let dialect = dialect_of(req.uri().path());
    let request_id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Ok(response) = tokio::time::timeout(limit, next.run(req)).await else {
        tracing::warn!(limit_ms = limit.as_millis() as u64, "request timed out");
        let message = format!("The request took longer than {} ms; it was abandoned.", limit.as_millis());
        return match dialect {
            Some(d) => d.timed_out(message, request_id.as_deref()),
            None => (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "unavailable", "message": message })),
            )
                .into_response(),
        };
    };
    response
}

/// Serves until `shutdown` completes, then lets the requests in flight finish. `config` is a
/// `ServeConfig`, or an `HttpConfig` for the default connection limits.
pub async fn serve(
    listener: TcpListener,
    crm: Crm,
    config: impl Into<ServeConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = config.into();
    let limits = server::Limits {
        header_read_timeout: config.header_read_timeout,
        idle_timeout: config.idle_timeout,
        max_connections: config.max_connections,
    };
    server::run(listener, app(crm, config.http), limits, shutdown).await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
