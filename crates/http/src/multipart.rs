//! Multipart form bodies (file uploads): text fields and one file field, each bounded, with
//! every failure in the dialect's error shape.

use std::collections::HashMap;

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use kith_domain::files::Upload;

use crate::errors::WireError;

/// The longest text field a form may carry.
pub const MAX_TEXT_FIELD: usize = 64 * 1024;

/// A form as read: its text fields by name and the file, when one was sent.
#[derive(Debug, Default)]
pub struct Form {
    pub fields: HashMap<String, String>,
    pub file: Option<Upload>,
}

/// Reads a multipart body: `file_field` is the file (at most `max_file_bytes`: a larger one is
/// the dialect's 413), every other field text of at most `MAX_TEXT_FIELD` bytes. The file is
/// read chunk by chunk, so no more than the limit is ever held.
pub async fn read_form<E: WireError>(mut form: Multipart, file_field: &str, max_file_bytes: usize) -> Result<Form, E> {
    let bad = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            E::payload_too_large()
        } else {
            E::bad_request(format!("the multipart body could not be read: {}", e.body_text()))
        }
    };
    let mut out = Form::default();
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == file_field {
            let filename = field.file_name().unwrap_or("file").to_owned();
            let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if bytes.len() + chunk.len() > max_file_bytes {
                    return Err(E::payload_too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            out.file = Some(Upload { filename, content_type, bytes });
        } else {
            let text = field.text().await.map_err(bad)?;
            if text.len() > MAX_TEXT_FIELD {
                return Err(E::bad_request(format!("{name} is too long")));
            }
            out.fields.insert(name, text);
        }
    }
    Ok(out)
}
