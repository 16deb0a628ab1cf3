//! `/{contact|lead|deal}/custom_fields`.

use axum::Router;
use kith_http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
