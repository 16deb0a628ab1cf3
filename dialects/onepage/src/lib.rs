//! The OnePageCRM API v3 dialect, mounted at `/api/v3`: HTTP Basic `user_id:api_key`,
//! 24-hex ids, the `{status, message, timestamp, data}` envelope.

mod actions;
mod attachments;
mod auth;
mod catalog;
mod companies;
mod contact_ops;
mod contacts;
mod deals;
mod engagements;
mod filters;
mod images;
mod input;
mod notifications;
mod params;
mod relationships;
mod settings;
mod webhooks;
pub mod wire;

pub use webhooks::OnePageWebhooks;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use kith_http::AppState;

use crate::wire::ApiError;

/// Where the dialect is mounted.
pub const MOUNT: &str = "/api/v3";

/// The OnePage dialect, as the server mounts it.
pub struct OnePage;

impl kith_http::Dialect for OnePage {
    fn name(&self) -> &'static str {
        "onepage"
    }
    fn mount(&self) -> &'static str {
        MOUNT
    }
    fn router(&self) -> Router<AppState> {
        router()
    }
    fn webhooks(&self) -> Option<std::sync::Arc<dyn kith_domain::webhooks::Render>> {
        Some(std::sync::Arc::new(OnePageWebhooks))
    }
    fn rewrite_path(&self, path: &str) -> Option<String> {
        strip_json_suffix(path)
    }
    fn bad_request(&self, message: String) -> Response {
        ApiError::bad_request(message).into_response()
    }
}

/// Routes that take a file: multipart bodies up to the file limit (JSON bodies with base64
/// images read their own, larger limit).
fn file_routes() -> Router<AppState> {
    use axum::routing::{patch, post};
    Router::new()
        .route("/attachments", post(attachments::create_any))
        .route("/attachments/upload", post(attachments::upload))
        .route("/deals/{id}/attachments", post(attachments::create_on_deal))
        .route("/notes/{id}/attachments", post(attachments::create_on_note))
        .route("/calls/{id}/attachments", post(attachments::create_on_call))
        .route("/meetings/{id}/attachments", post(attachments::create_on_meeting))
        .route(
            "/contacts/{id}/contact_photo",
            post(attachments::add_contact_photo)
                .put(attachments::replace_contact_photo)
                .delete(attachments::remove_contact_photo),
        )
        .route(
            "/companies/{id}/logo",
            post(attachments::set_company_logo)
                .patch(attachments::set_company_logo)
                .delete(attachments::remove_company_logo),
        )
        .route("/attachments/{id}", patch(attachments::rename).delete(attachments::delete))
        .route("/attachments/{id}/pin", patch(attachments::pin).put(attachments::pin))
        .route("/attachments/{id}/unpin", patch(attachments::unpin).put(attachments::unpin))
        .layer(axum::extract::DefaultBodyLimit::max(attachments::base64_body_limit()))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(file_routes())
        .route("/attachments/s3_form", get(attachments::s3_form))
        .route("/files/{id}", get(attachments::download))
        .route("/contacts/{id}/pinned_attachments", get(attachments::pinned_of_contact))
        .route("/companies/{id}/pinned_attachments", get(attachments::pinned_of_company))
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route(
            "/contacts/{id}",
            get(contacts::get).put(contacts::update).patch(contacts::update).delete(contacts::delete),
        )
        // Relationship types and relationships.
        .route("/relationship_types", get(relationships::list_types).post(relationships::create_type))
        .route(
            "/relationship_types/{id}",
            get(relationships::get_type)
                .put(relationships::update_type)
                .patch(relationships::update_type)
                .delete(relationships::delete_type),
        )
        .route("/contacts/{id}/relationships", get(relationships::list).post(relationships::create))
        .route(
            "/contacts/{id}/relationships/{relationship_id}",
            get(relationships::get)
                .put(relationships::update)
                .patch(relationships::update)
                .delete(relationships::delete),
        )
        // Predefined actions and items.
        .route("/predefined_actions", get(catalog::list_actions).post(catalog::create_action))
        .route(
            "/predefined_actions/{id}",
            get(catalog::get_action)
                .put(catalog::update_action)
                .patch(catalog::update_action)
                .delete(catalog::delete_action),
        )
        .route("/predefined_items", get(catalog::list_items).post(catalog::create_item))
        .route(
            "/predefined_items/{id}",
            get(catalog::get_item).put(catalog::update_item).patch(catalog::update_item).delete(catalog::delete_item),
        )
        .route("/predefined_item_groups", get(catalog::list_groups).post(catalog::create_group))
        .route("/predefined_item_groups/{id}", get(catalog::get_group).delete(catalog::delete_group))
        .route("/countries", get(catalog::countries))
        // Saved filters and notifications.
        .route("/filters", get(filters::list))
        .route("/filters/{id}", get(filters::get))
        .route("/contacts/filters/{id}", get(filters::contacts))
        .route("/notifications", get(notifications::list))
        .route("/notifications/mark_all_as_read", axum::routing::post(notifications::mark_all_as_read))
        .route("/notifications/{id}", get(notifications::get))
        .route("/notifications/{id}/mark_as_read", axum::routing::post(notifications::mark_as_read))
        // Account settings.
        .route("/bootstrap", get(settings::bootstrap))
        .route("/change_auth_key", axum::routing::post(settings::change_auth_key))
        .route("/users", get(settings::users))
        .route("/users/{id}", get(settings::user).put(settings::update_user).patch(settings::update_user))
        .route("/statuses", get(settings::statuses).post(settings::create_status))
        .route(
            "/statuses/{id}",
            get(settings::status)
                .put(settings::update_status)
                .patch(settings::update_status)
                .delete(settings::delete_status),
        )
        .route("/lead_sources", get(settings::lead_sources).post(settings::create_lead_source))
        .route(
            "/lead_sources/{id}",
            get(settings::lead_source)
                .put(settings::update_lead_source)
                .patch(settings::update_lead_source)
                .delete(settings::delete_lead_source),
        )
        .route("/custom_fields", get(settings::contact_fields::list).post(settings::contact_fields::create))
        .route(
            "/custom_fields/{id}",
            get(settings::contact_fields::get)
                .put(settings::contact_fields::update)
                .patch(settings::contact_fields::update)
                .delete(settings::contact_fields::delete),
        )
        .route("/company_fields", get(settings::company_fields::list).post(settings::company_fields::create))
        .route(
            "/company_fields/{id}",
            get(settings::company_fields::get)
                .put(settings::company_fields::update)
                .patch(settings::company_fields::update)
                .delete(settings::company_fields::delete),
        )
        .route("/deal_fields", get(settings::deal_fields::list).post(settings::deal_fields::create))
        .route(
            "/deal_fields/{id}",
            get(settings::deal_fields::get)
                .put(settings::deal_fields::update)
                .patch(settings::deal_fields::update)
                .delete(settings::deal_fields::delete),
        )
        .route("/pipelines", get(settings::pipelines))
        .route("/pipelines/{id}", get(settings::pipeline))
        // Operations on contacts, bulk delete and cascade; companies.
        .route("/contacts/delete", axum::routing::delete(contact_ops::delete_many))
        .route("/contacts/cascade", get(contact_ops::cascade))
        .route("/contacts/cascade/{last_id}", get(contact_ops::cascade_from))
        .route("/contacts/{id}/assign_tag/{tag}", put(contact_ops::assign_tag))
        .route("/contacts/{id}/unassign_tag/{tag}", put(contact_ops::unassign_tag))
        .route("/contacts/{id}/change_status/{status_id}", put(contact_ops::change_status))
        .route("/contacts/{id}/change_owner/{owner_id}", put(contact_ops::change_owner))
        .route("/contacts/{id}/star", put(contact_ops::star))
        .route("/contacts/{id}/unstar", put(contact_ops::unstar))
        .route("/contacts/{id}/close_sales_cycle", put(contact_ops::close_sales_cycle))
        .route("/contacts/{id}/force_close_sales_cycle", put(contact_ops::force_close_sales_cycle))
        .route("/contacts/{id}/reopen_sales_cycle", put(contact_ops::reopen_sales_cycle))
        .route("/contacts/{id}/split", put(contact_ops::split))
        .route("/companies", get(companies::list))
        .route("/companies/{id}/linked_contacts", get(companies::linked_contacts).post(companies::link_contact))
        .route("/companies/{id}/linked_contacts/{contact_id}", axum::routing::delete(companies::unlink_contact))
        .route("/companies/{id}", get(companies::get).put(companies::update).patch(companies::update))
        .route(
            "/companies/{id}/synced_status",
            axum::routing::post(companies::sync_status).delete(companies::unsync_status),
        )
        // Activities: actions and the action streams, deals, notes, calls and meetings.
        .route("/actions", get(actions::list).post(actions::create))
        .route("/actions/{id}", get(actions::get).put(actions::update).patch(actions::update).delete(actions::delete))
        .route("/actions/{id}/unassign", put(action_op_unassign))
        .route("/actions/{id}/mark_as_done", put(action_op_mark_as_done))
        .route("/actions/{id}/undo_completion", put(action_op_undo_completion))
        .route("/actions/{id}/unlink", put(action_op_unlink))
        .route("/actions/{id}/promote", put(action_op_promote))
        .route("/actions/{id}/revert_promotion", put(action_op_revert_promotion))
        .route("/actions/{id}/swap", put(action_op_swap))
        .route("/action_stream", get(actions::action_stream))
        .route("/team_stream", get(actions::team_stream))
        .route("/contacts/{id}/actions", get(actions::list_for_contact).post(actions::create_for_contact))
        .route("/companies/{id}/actions", get(actions::list_for_company))
        .route("/deals", get(deals::list).post(deals::create))
        .route("/deals/{id}", get(deals::get).put(deals::update).patch(deals::update).delete(deals::delete))
        .route("/contacts/{id}/deals", get(deals::list_for_contact).post(deals::create_for_contact))
        .route("/companies/{id}/deals", get(deals::list_for_company))
        .route("/notes", get(engagements::notes::list).post(engagements::notes::create))
        .route(
            "/notes/{id}",
            get(engagements::notes::get)
                .put(engagements::notes::update)
                .patch(engagements::notes::update)
                .delete(engagements::notes::delete),
        )
        .route(
            "/contacts/{id}/notes",
            get(engagements::notes::list_for_contact).post(engagements::notes::create_for_contact),
        )
        .route("/companies/{id}/notes", get(engagements::notes::list_for_company))
        .route("/calls", get(engagements::calls::list).post(engagements::calls::create))
        .route(
            "/calls/{id}",
            get(engagements::calls::get)
                .put(engagements::calls::update)
                .patch(engagements::calls::update)
                .delete(engagements::calls::delete),
        )
        .route(
            "/contacts/{id}/calls",
            get(engagements::calls::list_for_contact).post(engagements::calls::create_for_contact),
        )
        .route("/companies/{id}/calls", get(engagements::calls::list_for_company))
        .route("/call_results", get(engagements::call_results))
        .route("/meetings", get(engagements::meetings::list).post(engagements::meetings::create))
        .route(
            "/meetings/{id}",
            get(engagements::meetings::get)
                .put(engagements::meetings::update)
                .patch(engagements::meetings::update)
                .delete(engagements::meetings::delete),
        )
        .route(
            "/contacts/{id}/meetings",
            get(engagements::meetings::list_for_contact).post(engagements::meetings::create_for_contact),
        )
        .route("/companies/{id}/meetings", get(engagements::meetings::list_for_company))
        .route("/webhooks", get(webhooks::list))
        .route("/webhooks/{id}", get(webhooks::get).delete(webhooks::delete))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

macro_rules! action_operations {
    ($($name:ident => $op:ident),* $(,)?) => {$(
        async fn $name(
            axum::extract::State(st): axum::extract::State<AppState>,
            auth::Caller(actor): auth::Caller,
            axum::extract::Path(id): axum::extract::Path<String>,
        ) -> wire::ApiResult {
            actions::operate(st, actor, id, actions::Operation::$op).await
        }
    )*};
}

action_operations! {
    action_op_unassign => Unassign,
    action_op_mark_as_done => MarkAsDone,
    action_op_undo_completion => UndoCompletion,
    action_op_unlink => Unlink,
    action_op_promote => Promote,
    action_op_revert_promotion => RevertPromotion,
    action_op_swap => Swap,
}

/// A path OnePage does not have: a 404 once the caller is known (401 first, as OnePage does).
async fn not_found(_: auth::Caller) -> ApiError {
    ApiError::not_found("resource")
}

async fn method_not_allowed(_: auth::Caller) -> Response {
    let mut e = ApiError::bad_request("This method is not allowed on this resource.");
    e.status = StatusCode::METHOD_NOT_ALLOWED;
    e.message = "Method not allowed";
    e.error_name = "method_not_allowed";
    e.into_response()
}

/// OnePage accepts an optional `.json` suffix on every path; this strips it before routing.
pub fn strip_json_suffix(path: &str) -> Option<String> {
    (path.starts_with(MOUNT) && path.ends_with(".json")).then(|| path.trim_end_matches(".json").to_owned())
}
