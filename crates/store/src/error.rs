use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The query itself is invalid (unknown field, value of the wrong type, bad cursor).
    #[error("invalid query: {0}")]
    Query(String),
    /// A text value holds a NUL character, which no backend keeps alike (PostgreSQL refuses
    /// it), so neither does the store.
    #[error("text must not contain NUL characters")]
    Nul,
    /// A uniqueness rule of the schema was broken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A row did not decode into the type its column promises.
    #[error("corrupt row: {0}")]
    Decode(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("unsupported database url: {0}")]
    Url(String),
    /// A backup could not be taken or restored.
    #[error("backup: {0}")]
    Backup(String),
}

impl StoreError {
    pub(crate) fn from_sqlx(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict(db.message().to_owned());
        }
        StoreError::Database(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
