//! One mapping from domain errors to every dialect's error type.

use kith_domain::{DomainError, FieldError};

/// The errors every dialect can express, each in its own wire shape. A dialect implements it
/// once for its error type; the kit's readers and [`from_domain`] build errors through it.
pub trait WireError: Sized {
    fn not_found(kind: &str) -> Self;
    /// Input that failed validation, one entry per field (400 or 422, as the vendor does).
    fn invalid(fields: Vec<FieldError>) -> Self;
    fn bad_request(message: String) -> Self;
    fn conflict(message: String) -> Self;
    fn forbidden(message: String) -> Self;
    fn unauthorized() -> Self;
    fn payload_too_large() -> Self;
    fn internal() -> Self;
}

/// The dialect's answer to a domain error. Store failures are logged here and shown to the
/// client as a bare internal error.
pub fn from_domain<E: WireError>(e: DomainError) -> E {
    match e {
        DomainError::NotFound { kind } => E::not_found(kind),
        DomainError::Invalid(fields) => E::invalid(fields),
        DomainError::Conflict(m) => E::conflict(m),
        DomainError::Forbidden(m) => E::forbidden(m),
        DomainError::Unauthorized => E::unauthorized(),
        DomainError::Store(e) => {
            tracing::error!(error = %e, "store error");
            E::internal()
        }
    }
}
