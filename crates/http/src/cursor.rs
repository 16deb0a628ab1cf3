//! Signed keyset cursors: what a dialect with opaque `cursor` paging hands out. A cursor holds
//! the store's keyset position (`kith_domain::query::Cursor`) and is signed with HMAC-SHA256
//! under a secret (an account's: `Crm::cursor_secret`) over a `scope` the dialect chooses (the
//! resource, its sort and filters), so a cursor is refused when it was altered, made for another
//! account, or made for another list. The text is URL-safe base64 `payload.signature`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use kith_domain::query::Cursor;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The longest cursor text accepted (a keyset of a few values is far shorter).
pub const MAX_CURSOR_LEN: usize = 4096;

fn mac(secret: &[u8], scope: &str, payload: &str) -> HmacSha256 {
    // `Hmac` takes keys of any length.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(scope.as_bytes());
    mac.update(b"\n");
    mac.update(payload.as_bytes());
    mac
}

/// The cursor as signed, opaque text.
pub fn sign_cursor(secret: &[u8], scope: &str, cursor: &Cursor) -> String {
    let payload = cursor.encode();
    let tag = mac(secret, scope, &payload).finalize().into_bytes();
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The cursor in `text`, when it was signed with `secret` for `scope` and has not been altered;
/// `None` otherwise (a client's answer to which is the dialect's "invalid cursor" error).
pub fn verify_cursor(secret: &[u8], scope: &str, text: &str) -> Option<Cursor> {
    if text.len() > MAX_CURSOR_LEN {
        return None;
    }
    let (payload, tag) = text.trim().split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    // Constant-time comparison.
    mac(secret, scope, payload).verify_slice(&tag).ok()?;
    Cursor::decode(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kith_domain::query::Value;

    #[test]
    fn round_trips_and_refuses_tampering_other_secrets_and_scopes() {
        let c = Cursor { keys: vec![Value::Text("lovelace".into()), Value::Int(3)], id: 42 };
        let text = sign_cursor(b"secret-a", "contacts|name|asc", &c);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
        assert_eq!(verify_cursor(b"secret-a", "contacts|name|asc", &text), Some(c.clone()));
        assert_eq!(verify_cursor(b"secret-b", "contacts|name|asc", &text), None);
        assert_eq!(verify_cursor(b"secret-a", "contacts|name|desc", &text), None);
        // A payload changed by one character no longer matches its signature.
        let (payload, tag) = text.split_once('.').unwrap_or_default();
        let forged = Cursor { keys: c.keys.clone(), id: 43 }.encode();
        assert_ne!(forged, payload);
        assert_eq!(verify_cursor(b"secret-a", "contacts|name|asc", &format!("{forged}.{tag}")), None);
        for junk in ["", ".", "abc", "abc.def", "Y3Vyc29yOjI=", &"a".repeat(MAX_CURSOR_LEN + 1)] {
            assert_eq!(verify_cursor(b"secret-a", "contacts|name|asc", junk), None, "{junk}");
        }
    }
}
