//! The Kith server: mounts every dialect on one router, with request ids, metrics, health
//! checks, body limits and graceful shutdown.

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use kith_domain::Crm;
use kith_domain::files::Files;
use kith_http::{AppState, HttpConfig};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub mod seed;

pub use kith_http::HttpConfig as Config;

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

/// Opens and migrates the database; stored files go to `files`.
pub async fn open(url: &str, max_connections: u32, files: Files) -> anyhow::Result<Crm> {
    let opts = kith_store::StoreOptions { max_connections, ..Default::default() };
    Ok(kith_domain::open(url, &opts).await?.with_files(files))
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
    let mut renderers: std::collections::HashMap<String, Arc<dyn kith_webhooks::Render>> = Default::default();
    renderers.insert("onepage".into(), Arc::new(kith_onepage::OnePageWebhooks));
    kith_webhooks::Sender::new(crm, settings, renderers)
}

/// The whole HTTP application.
pub fn app(crm: Crm, config: HttpConfig) -> Router {
    prometheus();
    let state = AppState { crm, config: Arc::new(config) };
    Router::new()
        .nest(kith_onepage::MOUNT, kith_onepage::router())
        .nest(kith_sell::MOUNT, kith_sell::router())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_page))
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

/// Rewrites paths before routing (OnePage's optional `.json` suffix).
fn rewrite(mut req: Request) -> Request {
    if let Some(path) = kith_onepage::strip_json_suffix(req.uri().path()) {
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

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    crm: Crm,
    config: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(crm, config);
    let service = tower::util::MapRequestLayer::new(rewrite).layer(router);
    axum::serve(listener, axum::ServiceExt::<Request>::into_make_service(service))
        .with_graceful_shutdown(shutdown)
        .await
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
