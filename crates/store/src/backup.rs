//! Backups of the embedded database: a consistent copy taken while the server serves, and the
//! checks a copy must pass before it replaces a database. (A PostgreSQL database is backed up
//! with `pg_dump`.)

use std::path::{Path, PathBuf};

use rusqlite::OpenFlags;

use crate::db::Store;
use crate::error::{Result, StoreError};

impl Store {
    /// Writes a snapshot of the SQLite database to `dest`, a file that must not exist yet, while
    /// reads and writes go on. `VACUUM INTO` on a reading connection copies what one read
    /// transaction sees: every write committed before it began and nothing after, and in WAL
    /// mode it holds no writer back.
    pub async fn backup_to(&self, dest: &Path) -> Result<()> {
        let Some(db) = self.sqlite() else {
            return Err(StoreError::Backup("a PostgreSQL database is backed up with pg_dump".into()));
        };
        if dest.exists() {
            return Err(StoreError::Backup(format!("{} already exists", dest.display())));
        }
        let dest = dest
            .to_str()
            .ok_or_else(|| StoreError::Backup(format!("{}: the path is not UTF-8", dest.display())))?
            .to_owned();
        db.read(move |c| c.execute("VACUUM INTO ?1", [&dest]).map(|_| ()).map_err(crate::sqlite::error)).await
    }
}

/// What a checked backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupInfo {
    pub schema_version: u32,
    pub accounts: i64,
}

/// Opens the SQLite file at `path` read-only and checks that it is whole (`PRAGMA
/// integrity_check`) and a Kith database (it has a schema version and accounts).
pub fn check(path: &Path) -> Result<BackupInfo> {
    let refused = |why: String| StoreError::Backup(format!("{}: {why}", path.display()));
    if !path.is_file() {
        return Err(refused("no such file".into()));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(|e| refused(e.to_string()))?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| refused(format!("not a readable SQLite database ({e})")))?;
    if verdict != "ok" {
        return Err(refused(format!("the integrity check failed: {verdict}")));
    }
    let version: i64 = conn
        .query_row("SELECT COALESCE(MAX(version), 0) FROM kith_migrations", [], |r| r.get(0))
        .map_err(|_| refused("not a Kith database (it has no schema version)".into()))?;
    let accounts: i64 = conn
        .query_row(&format!("SELECT COUNT(*) FROM {}", crate::system::ACCOUNTS.table), [], |r| r.get(0))
        .map_err(|_| refused("not a Kith database (it has no accounts table)".into()))?;
    Ok(BackupInfo { schema_version: u32::try_from(version).unwrap_or(0), accounts })
}

/// Folds the write-ahead log of the SQLite database at `path` into the file itself, so that the
/// file alone holds every committed write (before it is moved aside by a restore).
pub fn checkpoint(path: &Path) -> Result<()> {
    let conn = rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| StoreError::Backup(format!("{}: {e}", path.display())))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| StoreError::Backup(format!("{}: cannot checkpoint: {e}", path.display())))?;
    Ok(())
}

/// The database file a `sqlite:` URL names: `None` for PostgreSQL and in-memory databases.
pub fn sqlite_file(url: &str) -> Result<Option<PathBuf>> {
    if !url.starts_with("sqlite:") {
        return Ok(None);
    }
    crate::sqlite::file_of(url)
}
