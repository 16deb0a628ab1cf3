//! The Sync API: `/sync/start`, `/sync/{session}/queues/main`, `/sync/ack`.

use axum::Router;
use kith_http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
