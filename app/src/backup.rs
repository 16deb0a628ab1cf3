//! `kith backup` and `kith restore` for the embedded database.
//!
//! A backup is a directory laid out like a data directory: `kith.db` (a consistent snapshot
//! taken while the server serves) and `files/` (the stored files), so `kith serve --data-dir
//! BACKUP` serves it as it is. A restore needs the server stopped: every server holds a shared
//! lock on `kith.db.lock` beside its database, and a restore takes it exclusively.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use kith_store::backup::{self, BackupInfo};

const DATABASE: &str = "kith.db";
const FILES: &str = "files";

/// What a backup or a restore copied.
#[derive(Debug)]
pub struct Copied {
    pub info: BackupInfo,
    pub database_bytes: u64,
    pub files: u64,
}

/// The lock a server holds on its SQLite database for as long as it runs (`None` on PostgreSQL
/// or in memory). Servers share it; a restore waits for none of them to hold it.
pub fn hold_shared(url: &str) -> anyhow::Result<Option<File>> {
    let Some(db) = backup::sqlite_file(url)? else {
        return Ok(None);
    };
    let lock = open_lock(&db)?;
    match lock.try_lock_shared() {
        Ok(()) => Ok(Some(lock)),
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!("{} is being restored; start the server once the restore has finished", db.display())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).context("cannot lock the database"),
    }
}

fn open_lock(db: &Path) -> anyhow::Result<File> {
    let path = sibling(db, ".lock");
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// Writes a backup of the database at `url` and of the files under `data_dir` to `dest`, a
/// directory that must not exist yet (or be empty).
pub async fn backup(url: &str, data_dir: &Path, dest: &Path) -> anyhow::Result<Copied> {
    if backup::sqlite_file(url)?.is_none() {
        bail!(
            "kith backup copies the embedded SQLite database; back up PostgreSQL with pg_dump \
             (pg_dump --format=custom --file kith.dump DATABASE_URL) and copy {} yourself",
            data_dir.join(FILES).display()
        );
    }
    if dest.exists() && std::fs::read_dir(dest).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} already exists and is not an empty directory", dest.display());
    }
    std::fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let opts = kith_store::StoreOptions { max_connections: 1, ..Default::default() };
    let store = kith_store::Store::connect(url, &opts).await?;
    // Files before the snapshot and again after it: a stored file is written before the row
    // that names it commits and is never rewritten (its key is new), so every file the snapshot
    // names is caught by one pass or the other, unless it is deleted before the second.
    let (from, to) = (data_dir.join(FILES), dest.join(FILES));
    let mut files = copy_tree(&from, &to)?;
    let db = dest.join(DATABASE);
    store.backup_to(&db).await?;
    store.close().await;
    files += copy_tree(&from, &to)?;
    let info = backup::check(&db)?;
    let database_bytes = std::fs::metadata(&db)?.len();
    Ok(Copied { info, database_bytes, files })
}

/// Replaces the database at `url` (and the files under `data_dir`) with the backup at `source`:
/// a backup directory, or a database file alone. Refused while a server uses the database, and
/// when a database is already there unless `force` (then the old one is kept beside it).
pub fn restore(url: &str, data_dir: &Path, source: &Path, force: bool) -> anyhow::Result<Copied> {
    let Some(target) = backup::sqlite_file(url)? else {
        bail!("kith restore writes the embedded SQLite database; restore PostgreSQL with pg_restore");
    };
    let (source_db, source_files) = if source.is_dir() {
        (source.join(DATABASE), Some(source.join(FILES)).filter(|f| f.is_dir()))
    } else {
        (source.to_owned(), None)
    };
    let info = backup::check(&source_db)?;
    let lock = open_lock(&target)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!("a Kith server is using {}: stop it before restoring", target.display())
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(e).context("cannot lock the database"),
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let kept = sibling(&target, &format!(".before-restore-{stamp}"));
    if target.exists() {
        if !force {
            bail!(
                "{} already holds a database; --force replaces it (the current one is kept as {})",
                target.display(),
                kept.display()
            );
        }
        // The write-ahead log folded in first: the file kept aside holds every committed write.
        backup::checkpoint(&target)?;
    }
    let partial = sibling(&target, ".restoring");
    std::fs::copy(&source_db, &partial)
        .with_context(|| format!("cannot copy {} to {}", source_db.display(), partial.display()))?;
    File::open(&partial)?.sync_all()?;
    if target.exists() {
        std::fs::rename(&target, &kept)?;
    }
    for stale in ["-wal", "-shm"] {
        let path = sibling(&target, stale);
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    std::fs::rename(&partial, &target)?;
    if let Some(dir) = target.parent() {
        File::open(dir)?.sync_all()?;
    }
    let mut files = 0;
    if let Some(source_files) = source_files {
        let live = data_dir.join(FILES);
        let incoming = data_dir.join("files.restoring");
        if incoming.exists() {
            std::fs::remove_dir_all(&incoming)?;
        }
        files = copy_tree(&source_files, &incoming)?;
        if live.exists() {
            std::fs::rename(&live, data_dir.join(format!("files.before-restore-{stamp}")))?;
        }
        std::fs::rename(&incoming, &live)?;
    }
    drop(lock);
    let database_bytes = std::fs::metadata(&target)?.len();
    Ok(Copied { info, database_bytes, files })
}

/// Copies the files under `from` that `to` lacks (none when `from` does not exist), leaving out
/// partial uploads. Returns how many it copied.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<u64> {
    if !from.is_dir() {
        return Ok(0);
    }
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let mut copied = 0;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".partial" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copied += copy_tree(&src, &dst)?;
        } else if kind.is_file() && !dst.exists() {
            match std::fs::copy(&src, &dst) {
                Ok(_) => copied += 1,
                // Deleted since it was listed: the snapshot no longer needs it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(anyhow!("cannot copy {}: {e}", src.display())),
            }
        }
    }
    Ok(copied)
}
