//! Where stored files' bytes are kept: a small trait (an S3-compatible store can be added) and
//! its local-disk implementation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where file bytes are kept.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`, all or nothing.
    async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    async fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>>;
    /// Removes `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> std::io::Result<()>;
}

/// Files under a directory. A write goes to a temporary file that is synced and then renamed
/// into place, so a crash leaves either the whole file or none.
pub struct LocalDisk {
    root: PathBuf,
}

impl LocalDisk {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalDisk { root: root.into() }
    }

    fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        let valid = !key.is_empty()
            && key.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            });
        if !valid {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("invalid blob key {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalDisk {
    async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let path = self.path(key)?;
        let tmp_dir = self.root.join(".partial");
        tokio::fs::create_dir_all(&tmp_dir).await?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let tmp = tmp_dir.join(uuid::Uuid::new_v4().to_string());
        let written = async {
            let mut f = tokio::fs::File::create(&tmp).await?;
            f.write_all(bytes).await?;
            f.sync_all().await?;
            tokio::fs::rename(&tmp, &path).await
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        written
    }

    async fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// File storage and the address its files are downloaded from.
#[derive(Clone)]
pub struct Files {
    pub blobs: Arc<dyn BlobStore>,
    /// The base URL clients reach Kith at (`https://crm.example.com`), for download links.
    pub public_url: String,
}

impl Files {
    pub fn local(root: &Path, public_url: &str) -> Self {
        Files { blobs: Arc::new(LocalDisk::new(root)), public_url: public_url.trim_end_matches('/').to_owned() }
    }
}
