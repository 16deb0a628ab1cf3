//! Idempotent creates for any dialect: a create sent with `X-Unique-Transaction-ID` (Apideck) or
//! `Idempotency-Key` (the IETF draft, Stripe) runs once per key and account; a retry gets the
//! first answer, byte for byte, with `Idempotent-Replayed: true`. The rules (what is the same
//! request, how long keys live) are the domain's (`kith_domain::idempotency`).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kith_domain::Actor;
use kith_domain::idempotency::{Claim, check_key, fingerprint};

use crate::body::{BodyError, read_body};
use crate::{AppState, WireError, from_domain};

/// The request headers that carry a key, in the order they are looked for.
pub const KEY_HEADERS: [&str; 2] = ["x-unique-transaction-id", "idempotency-key"];
/// Set on an answer replayed for a retry.
pub const REPLAYED: &str = "idempotent-replayed";

/// The key a request carries, if any: the first of `KEY_HEADERS` present. A header that is not
/// text, or two headers with different keys, are an error naming the header.
fn key_of(headers: &HeaderMap) -> kith_domain::Result<Option<String>> {
    let mut found: Option<(&str, String)> = None;
    for name in KEY_HEADERS {
        let Some(v) = headers.get(name) else { continue };
        let text = v.to_str().unwrap_or("\u{0}");
        let key = check_key(name, text)?;
        match &found {
            Some((first, k)) if *k != key => {
                return Err(kith_domain::DomainError::invalid(*first, format!("differs from {name}")));
            }
            Some(_) => {}
            None => found = Some((name, key)),
        }
    }
    Ok(found.map(|(_, k)| k))
}

/// Runs `run` (a create handler, given the body) once per idempotency key: without a key it
/// just runs; with one, the first request runs and its successful answer is kept, and a retry
/// with the same request gets that answer. The same key for another request is `E::conflict`
/// (422 in most dialects), a retry while the first still runs `E::conflict` too unless the
/// dialect says otherwise through `in_progress`. `scope` names the operation (`POST /crm/contacts`).
pub async fn idempotent<E, F>(
    st: &AppState,
    actor: Actor,
    headers: &HeaderMap,
    scope: &str,
    body: Body,
    in_progress: impl FnOnce(String) -> E,
    run: F,
) -> Response
where
    E: WireError + IntoResponse,
    F: AsyncFnOnce(Body) -> Response,
{
    let key = match key_of(headers) {
        Ok(Some(key)) => key,
        Ok(None) => return run(body).await,
        Err(e) => return from_domain::<E>(e).into_response(),
    };
    let bytes = match read_body(body, st.config.json_body_limit).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return E::payload_too_large().into_response(),
        Err(BodyError::Unreadable) => {
            return E::bad_request("the request body could not be read".into()).into_response();
        }
    };
    let print = fingerprint(scope, &bytes);
    let ticket = match st.crm.claim_idempotent(actor, &key, &print).await {
        Ok(Claim::Run(ticket)) => ticket,
        Ok(Claim::Replay(answer)) => {
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
            let mut r = (status, answer.body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
            return r;
        }
        Ok(Claim::InProgress) => {
            let mut r =
                in_progress(format!("A request with the idempotency key {key} is still being processed; retry later."))
                    .into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
        Ok(Claim::Mismatch) => {
            return E::conflict(format!(
                "The idempotency key {key} was already used for another request; use a new key for a new request."
            ))
            .into_response();
        }
        Err(e) => return from_domain::<E>(e).into_response(),
    };
    let response = run(Body::from(bytes)).await;
    if !response.status().is_success() {
        if let Err(e) = st.crm.release_idempotent(ticket).await {
            tracing::warn!(error = %e, "could not free an idempotency key");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not read an answer to keep for its idempotency key");
            return E::internal().into_response();
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if let Err(e) = st.crm.finish_idempotent(ticket, parts.status.as_u16(), text).await {
        // The record was made: answer it. A retry finds the key pending until its lease ends.
        tracing::warn!(error = %e, "could not keep the answer of an idempotent request");
    }
    Response::from_parts(parts, Body::from(bytes))
}
