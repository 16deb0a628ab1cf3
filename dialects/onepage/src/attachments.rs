//! Files: attachments on deals, notes, calls and meetings (OnePage's upload form and
//! `/attachments`, plus direct multipart uploads), pinned attachments, contact photos, company
//! logos, and `/files/{id}`, where the account (and only it) downloads stored bytes.
//!
//! OnePage's clients upload to S3 with a pre-signed form from `/attachments/s3_form`, then attach
//! the uploaded key. Kith serves the same form, pointing at its own `/attachments/upload`, which
//! checks the form's signed policy (HMAC-SHA256 with a per-account secret) as S3 would.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use hmac::{Hmac, Mac};
use kith_domain::Actor;
use kith_domain::files::{AttachedTo, AttachmentSource, MAX_FILE_BYTES, Upload};
use kith_domain::model::{Company, Contact};
use kith_http::AppState;
use serde_json::json;
use sha2::Sha256;

use crate::auth::Caller;
use crate::images;
use crate::input::Input;
use crate::params::{Params, path_id, read_input, read_input_within};
use crate::render::attachment::{attachment_data, file_path, render_attachment};
use crate::wire::{ApiError, ApiResult, hex_id, ok, parse_id};

/// How long an upload form stays valid.
const FORM_VALIDITY_SECS: i64 = 3600;

/// A JSON body carrying a base64 file is larger than the file by a third.
pub fn base64_body_limit() -> usize {
    MAX_FILE_BYTES / 3 * 4 + 64 * 1024
}

// ---- the upload form ----------------------------------------------------------------------

type HmacSha256 = Hmac<Sha256>;

fn sign(secret: &str, policy: &str) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(policy.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn verify(secret: &str, policy: &str, signature: &str) -> bool {
    let Ok(given) = hex::decode(signature) else { return false };
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(policy.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// `GET /attachments/s3_form?contact_id=`: the fields of a form that uploads one file.
pub async fn s3_form(State(st): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult {
    let params = Params::parse(raw.as_deref());
    let contact_id = match params.get("contact_id") {
        Some(raw) => parse_id(raw.trim()).ok_or_else(|| ApiError::bad_request("contact_id is not a valid id"))?,
        None => return Err(ApiError::bad_request("contact_id is required")),
    };
    st.crm.get::<Contact>(actor, contact_id).await?;
    let secret = st.crm.upload_secret(actor.account_id).await?;
    let now = Utc::now();
    let policy = json!({
        "account": actor.account_id,
        "user": actor.user_id,
        "contact": contact_id,
        "expires": now.timestamp() + FORM_VALIDITY_SECS,
        "max": MAX_FILE_BYTES,
    });
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let quota = 1024u64 * 1024 * 1024;
    Ok(ok(
        StatusCode::OK,
        json!({
            "quota": quota,
            "display_quota": "1024MB",
            "url": format!("{}{}/attachments/upload", st.crm.public_url(), crate::MOUNT),
            "fields": {
                "key": "",
                "x-ignore-pattern": format!("{}/__timestamp__/${{filename}}", hex_id(contact_id)),
                "acl": "private",
                "success_action_status": 201,
                "policy": policy,
                "x-amz-algorithm": "KITH-HMAC-SHA256",
                "x-amz-credential": format!("{}/{}/kith/upload", hex_id(actor.user_id), now.format("%Y%m%d")),
                "x-amz-date": now.format("%Y%m%dT%H%M%SZ").to_string(),
                "x-amz-signature": sign(&secret, &policy),
            },
        }),
    ))
}

#[derive(serde::Deserialize)]
struct Policy {
    account: i64,
    user: i64,
    contact: i64,
    expires: i64,
}

/// Reads a multipart body: text fields, and the `file` field (at most `MAX_FILE_BYTES`).
async fn read_multipart(form: Multipart) -> ApiResult<(HashMap<String, String>, Option<Upload>)> {
    let form = kith_http::multipart::read_form::<ApiError>(form, "file", MAX_FILE_BYTES).await?;
    Ok((form.fields, form.file))
}

/// `POST /attachments/upload`: the upload form's target. No credentials: the signed policy
/// says which account and contact the file is for, until when.
pub async fn upload(State(st): State<AppState>, form: Multipart) -> Response {
    match upload_inner(&st, form).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn upload_inner(st: &AppState, form: Multipart) -> ApiResult {
    let (fields, file) = read_multipart(form).await?;
    let field = |k: &str| fields.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let (Some(policy_b64), Some(signature)) = (field("policy"), field("x-amz-signature")) else {
        return Err(ApiError::bad_request("policy and x-amz-signature are required"));
    };
    let forbidden = || {
        let mut e = ApiError::bad_request("the upload form's signature does not match or has expired");
        e.status = StatusCode::FORBIDDEN;
        e.message = "Forbidden";
        e.error_name = "forbidden";
        e
    };
    let policy: Policy = base64::engine::general_purpose::STANDARD
        .decode(policy_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(forbidden)?;
    let secret = st.crm.upload_secret(policy.account).await.map_err(|_| forbidden())?;
    if !verify(&secret, policy_b64, signature) || policy.expires < Utc::now().timestamp() {
        return Err(forbidden());
    }
    let Some(mut upload) = file else { return Err(ApiError::bad_request("file is required")) };
    let key = field("key").ok_or_else(|| ApiError::bad_request("key is required"))?.to_owned();
    // `{contact_id}/{timestamp}/{filename}`, with `${filename}` standing for the file's name.
    let key = key.replace("${filename}", &upload.filename);
    let mut parts = key.splitn(3, '/');
    let (contact, _stamp, name) = (parts.next(), parts.next(), parts.next());
    if contact.and_then(parse_id) != Some(policy.contact) || name.is_none_or(str::is_empty) {
        return Err(ApiError::bad_request("key must be {contact_id}/{timestamp}/{filename} for the form's contact"));
    }
    if let Some(name) = field("filename").or(name) {
        upload.filename = name.to_owned();
    }
    let actor = Actor { account_id: policy.account, user_id: policy.user };
    st.crm.get::<Contact>(actor, policy.contact).await?;
    let stored = st.crm.store_file(actor, upload, "upload", Some(key.clone()), Some(policy.contact)).await?;
    let location = st.crm.file_url(stored.id, file_path);
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location><Bucket>kith</Bucket>\
         <Key>{}</Key><ETag>\"{}\"</ETag></PostResponse>",
        xml_escape(&location),
        xml_escape(&key),
        stored.sha256
    );
    Ok((StatusCode::CREATED, [(header::CONTENT_TYPE, "application/xml")], xml).into_response())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

// ---- attachments ---------------------------------------------------------------------------

fn reference(input: &mut Input, fixed: Option<AttachedTo>) -> Option<AttachedTo> {
    if let Some(to) = fixed {
        return Some(to);
    }
    let kind = input.one_of("reference_type", &["deal", "note", "call", "meeting"]);
    let id = input.required_id("reference_id");
    match (kind, id) {
        (Some(Some(kind)), Some(id)) => AttachedTo::parse(&kind, id),
        (Some(None), _) | (None, _) if !input.has("reference_type") => {
            input.error("reference_type", "is required");
            None
        }
        _ => None,
    }
}

/// A JSON body: an uploaded `key` or an `external_url` link.
async fn create_from_json(st: &AppState, actor: Actor, body: Body, fixed: Option<AttachedTo>) -> ApiResult {
    let mut input = read_input(st, body).await?;
    let to = reference(&mut input, fixed);
    let name = input.text("name", 255).flatten();
    let key = input.text("key", 1024).flatten();
    let external_url = input.text("external_url", 2048).flatten();
    let link_type = input.one_of("link_type", kith_domain::files::LINK_TYPES).flatten();
    let size = input.integer("size");
    let source = match (external_url, key) {
        (Some(url), _) => {
            if link_type.is_none() {
                input.error("link_type", "is required with external_url");
            }
            Some(AttachmentSource::Link {
                url,
                link_type: link_type.unwrap_or_default(),
                filename: name.clone().unwrap_or_default(),
                size: size.flatten().unwrap_or(0),
            })
        }
        (None, Some(key)) => Some(AttachmentSource::Uploaded { key }),
        (None, None) => {
            input.error("key", "is required (or external_url with link_type)");
            None
        }
    };
    input.finish()?;
    let (Some(to), Some(source)) = (to, source) else {
        return Err(ApiError::bad_request("reference_type and reference_id are required"));
    };
    let a = st.crm.create_attachment(actor, to, name, source).await?;
    Ok(ok(StatusCode::CREATED, attachment_data(&st.crm, &a)))
}

/// A multipart body: the `file` itself, with the reference as fields.
async fn create_from_multipart(st: &AppState, actor: Actor, form: Multipart, fixed: Option<AttachedTo>) -> ApiResult {
    let (fields, file) = read_multipart(form).await?;
    let to = match fixed {
        Some(to) => to,
        None => {
            let kind = fields.get("reference_type").map(|s| s.trim()).unwrap_or_default();
            let id = fields.get("reference_id").and_then(|s| parse_id(s.trim()));
            match id.and_then(|id| AttachedTo::parse(kind, id)) {
                Some(to) => to,
                None => {
                    return Err(ApiError::bad_request(
                        "reference_type (deal, note, call or meeting) and reference_id are required",
                    ));
                }
            }
        }
    };
    let Some(upload) = file else { return Err(ApiError::bad_request("file is required")) };
    let name = fields.get("name").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let a = st.crm.create_attachment(actor, to, name, AttachmentSource::File(upload)).await?;
    Ok(ok(StatusCode::CREATED, attachment_data(&st.crm, &a)))
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("multipart/form-data"))
}

async fn create(st: AppState, actor: Actor, req: Request, fixed: Option<AttachedTo>) -> ApiResult {
    if is_multipart(req.headers()) {
        let form = Multipart::from_request(req, &st)
            .await
            .map_err(|e| ApiError::bad_request(format!("the multipart body could not be read: {}", e.body_text())))?;
        create_from_multipart(&st, actor, form, fixed).await
    } else {
        create_from_json(&st, actor, req.into_body(), fixed).await
    }
}

/// `POST /attachments`.
pub async fn create_any(State(st): State<AppState>, Caller(actor): Caller, req: Request) -> ApiResult {
    create(st, actor, req, None).await
}

macro_rules! create_on {
    ($($name:ident => $variant:ident, $what:literal;)*) => {$(
        /// `POST /{kind}s/{id}/attachments`.
        pub async fn $name(
            State(st): State<AppState>,
            Caller(actor): Caller,
            Path(id): Path<String>,
            req: Request,
        ) -> ApiResult {
            let id = path_id(&id, $what)?;
            create(st, actor, req, Some(AttachedTo::$variant(id))).await
        }
    )*};
}

create_on! {
    create_on_deal => Deal, "deal";
    create_on_note => Note, "note";
    create_on_call => Call, "call";
    create_on_meeting => Meeting, "meeting";
}

/// `PATCH /attachments/{id}`: `{attachment: {custom_filename}}` (a bare `custom_filename` too).
pub async fn rename(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "attachment")?;
    let mut input = read_input(&st, body).await?;
    let mut inner = match input.object("attachment") {
        Some(Some(obj)) => Input::new(obj),
        _ => input,
    };
    let name = inner.text("custom_filename", 255);
    inner.finish()?;
    let Some(Some(name)) = name else {
        return Err(ApiError::invalid(vec![kith_domain::FieldError::new(
            "custom_filename",
            "is required and cannot be empty",
        )]));
    };
    let a = st.crm.rename_attachment(actor, id, &name).await?;
    Ok(ok(StatusCode::OK, render_attachment(&st.crm, &a)))
}

pub async fn delete(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    st.crm.delete_attachment(actor, path_id(&id, "attachment")?).await?;
    Ok(ok(StatusCode::OK, json!({})))
}

pub async fn pin(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let a = st.crm.pin_attachment(actor, path_id(&id, "attachment")?, true).await?;
    Ok(ok(StatusCode::OK, render_attachment(&st.crm, &a)))
}

pub async fn unpin(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let a = st.crm.pin_attachment(actor, path_id(&id, "attachment")?, false).await?;
    Ok(ok(StatusCode::OK, render_attachment(&st.crm, &a)))
}

async fn pinned_page(st: &AppState, actor: Actor, contact_ids: &[i64], raw: Option<&str>) -> ApiResult {
    let paging = Params::parse(raw).paging()?;
    let page = st.crm.pinned_attachments(actor, contact_ids, paging.per_page, paging.offset()).await?;
    let items = page.rows.iter().map(|a| render_attachment(&st.crm, a)).collect();
    Ok(ok(StatusCode::OK, paging.envelope("pinned_attachments", items, page.total.unwrap_or(0))))
}

/// `GET /contacts/{id}/pinned_attachments`.
pub async fn pinned_of_contact(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let contact = st.crm.get::<Contact>(actor, path_id(&id, "contact")?).await?;
    pinned_page(&st, actor, &[contact.id], raw.as_deref()).await
}

/// `GET /companies/{id}/pinned_attachments`: pinned to any of the company's contacts.
pub async fn pinned_of_company(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let company = st.crm.get::<Company>(actor, path_id(&id, "company")?).await?;
    let ids = st.crm.contact_ids_of_company(actor, company.id).await?;
    pinned_page(&st, actor, &ids, raw.as_deref()).await
}

// ---- photos, logos and downloads ------------------------------------------------------------

/// The `image` of a JSON body, decoded and made into the square PNG OnePage keeps.
async fn image_of(body: Body) -> ApiResult<Upload> {
    let mut input = read_input_within(body, base64_body_limit()).await?;
    let image = input.text("image", base64_body_limit());
    input.finish()?;
    let Some(Some(image)) = image else {
        return Err(ApiError::invalid(vec![kith_domain::FieldError::new("image", "is required")]));
    };
    images::square_png(&image)
}

/// `POST /contacts/{id}/contact_photo` (201) and `PUT` (200).
pub async fn add_contact_photo(st: State<AppState>, caller: Caller, id: Path<String>, body: Body) -> ApiResult {
    set_contact_photo(st, caller, id, body, StatusCode::CREATED).await
}

pub async fn replace_contact_photo(st: State<AppState>, caller: Caller, id: Path<String>, body: Body) -> ApiResult {
    set_contact_photo(st, caller, id, body, StatusCode::OK).await
}

async fn set_contact_photo(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
    status: StatusCode,
) -> ApiResult {
    let id = path_id(&id, "contact")?;
    st.crm.get::<Contact>(actor, id).await?;
    let image = image_of(body).await?;
    let contact = st.crm.set_contact_photo(actor, id, Some(image), |f| st.crm.file_url(f, file_path)).await?;
    let lk = st.crm.contact_lookups(actor).await?;
    Ok(ok(status, crate::render::contact::contact_data(&st.crm, actor, &lk, &contact).await?))
}

/// `DELETE /contacts/{id}/contact_photo`.
pub async fn remove_contact_photo(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = path_id(&id, "contact")?;
    let contact = st.crm.set_contact_photo(actor, id, None, |f| st.crm.file_url(f, file_path)).await?;
    let lk = st.crm.contact_lookups(actor).await?;
    Ok(ok(StatusCode::OK, crate::render::contact::contact_data(&st.crm, actor, &lk, &contact).await?))
}

/// `POST|PATCH /companies/{id}/logo`.
pub async fn set_company_logo(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let id = path_id(&id, "company")?;
    st.crm.get::<Company>(actor, id).await?;
    let image = image_of(body).await?;
    let company = st.crm.set_company_logo(actor, id, Some(image), |f| st.crm.file_url(f, file_path)).await?;
    Ok(ok(StatusCode::OK, crate::render::company::company_data(&st.crm, actor, &company).await?))
}

/// `DELETE /companies/{id}/logo`.
pub async fn remove_company_logo(
    State(st): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = path_id(&id, "company")?;
    let company = st.crm.set_company_logo(actor, id, None, |f| st.crm.file_url(f, file_path)).await?;
    Ok(ok(StatusCode::OK, crate::render::company::company_data(&st.crm, actor, &company).await?))
}

/// `GET /files/{id}`: the bytes, for the owning account only.
pub async fn download(State(st): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult {
    let (file, bytes) = st.crm.read_file(actor, path_id(&id, "file")?).await?;
    let disposition = format!("attachment; filename=\"{}\"", file.filename.replace(['"', '\\', '\r', '\n'], "_"));
    let headers = [
        (header::CONTENT_TYPE, file.content_type.clone()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, "private, max-age=0".to_owned()),
        (header::HeaderName::from_static("x-content-type-options"), "nosniff".to_owned()),
    ];
    Ok((StatusCode::OK, headers, bytes).into_response())
}

/// This module's routes, relative to the dialect's mount.
pub fn routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/attachments/s3_form", routing::get(s3_form))
        .route("/files/{id}", routing::get(download))
        .route("/contacts/{id}/pinned_attachments", routing::get(pinned_of_contact))
        .route("/companies/{id}/pinned_attachments", routing::get(pinned_of_company))
}

/// Routes that take a file: multipart bodies up to the file limit (JSON bodies with base64
/// images read their own, larger limit).
pub fn file_routes() -> kith_http::Routes {
    use axum::routing;
    kith_http::Routes::new()
        .route("/attachments", routing::post(create_any))
        .route("/attachments/upload", routing::post(upload))
        .route("/deals/{id}/attachments", routing::post(create_on_deal))
        .route("/notes/{id}/attachments", routing::post(create_on_note))
        .route("/calls/{id}/attachments", routing::post(create_on_call))
        .route("/meetings/{id}/attachments", routing::post(create_on_meeting))
        .route(
            "/contacts/{id}/contact_photo",
            routing::post(add_contact_photo).put(replace_contact_photo).delete(remove_contact_photo),
        )
        .route(
            "/companies/{id}/logo",
            routing::post(set_company_logo).patch(set_company_logo).delete(remove_company_logo),
        )
        .route("/attachments/{id}", routing::patch(rename).delete(delete))
        .route("/attachments/{id}/pin", routing::patch(pin).put(pin))
        .route("/attachments/{id}/unpin", routing::patch(unpin).put(unpin))
        .layer(axum::extract::DefaultBodyLimit::max(base64_body_limit()))
}
