//! `/deals` and `/deals/{id}/associated_contacts`.

use axum::Router;
use kith_http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
