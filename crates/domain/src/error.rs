use kith_store::StoreError;
use thiserror::Error;

/// One invalid input field and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, Error)]
pub enum DomainError {
    /// No such record in the caller's account (records of other accounts included).
    #[error("{kind} not found")]
    NotFound { kind: &'static str },
    #[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The record's current state does not allow the operation.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("unauthorized")]
    Unauthorized,
    #[error(transparent)]
    Store(StoreError),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, message)])
    }
    pub(crate) fn corrupt(kind: &str, field: &str, e: String) -> Self {
        DomainError::Store(StoreError::Decode(format!("{kind}.{field}: {e}")))
    }
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Query(m) => DomainError::invalid("query", m),
            StoreError::Conflict(m) => DomainError::Conflict(m),
            // The dialects refuse NUL characters in every body and query string they read;
            // this catches any text that reaches the store some other way.
            StoreError::Nul => DomainError::invalid("text", "must not contain NUL (\\u0000) characters"),
            other => DomainError::Store(other),
        }
    }
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// Collects field errors and fails once with all of them.
#[derive(Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
    pub fn max_len(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value
            && v.chars().count() > max
        {
            self.add(field, format!("must be at most {max} characters"));
        }
    }
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(DomainError::Invalid(self.0)) }
    }
}
