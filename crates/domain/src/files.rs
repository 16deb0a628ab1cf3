//! Stored files and attachments. Bytes go to a `BlobStore` (local disk by default; the trait is
//! small so that an S3-compatible store can be added) under a key Kith makes up, never one a
//! client names; the `StoredFile` row is written only after the bytes are safely in place, and
//! the bytes are removed again if the row cannot be written, so a failed upload leaves neither a
//! half-written file nor an orphan row.

use chrono::Utc;
use kith_store::{Dir, Field, Filter, ListPage, ListQuery, Page, Sort, Value};
use sha2::{Digest, Sha256};

pub use crate::blobs::{BlobStore, Files, LocalDisk};
use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::error::{DomainError, Result};
use crate::model::{Attachment, Call, Company, Contact, Deal, Meeting, Note, StoredFile};

/// The largest file Kith stores (OnePage's limit for attachments).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

fn io_error(e: std::io::Error) -> DomainError {
    DomainError::Store(kith_store::StoreError::Query(format!("file storage: {e}")))
}

/// A file as received.
#[derive(Debug, Clone)]
pub struct Upload {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What an attachment is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachedTo {
    Deal(i64),
    Note(i64),
    Call(i64),
    Meeting(i64),
}

impl AttachedTo {
    pub fn parse(kind: &str, id: i64) -> Option<Self> {
        Some(match kind {
            "deal" => AttachedTo::Deal(id),
            "note" => AttachedTo::Note(id),
            "call" => AttachedTo::Call(id),
            "meeting" => AttachedTo::Meeting(id),
            _ => return None,
        })
    }
    pub fn kind(self) -> &'static str {
        match self {
            AttachedTo::Deal(_) => "deal",
            AttachedTo::Note(_) => "note",
            AttachedTo::Call(_) => "call",
            AttachedTo::Meeting(_) => "meeting",
        }
    }
    pub fn id(self) -> i64 {
        match self {
            AttachedTo::Deal(id) | AttachedTo::Note(id) | AttachedTo::Call(id) | AttachedTo::Meeting(id) => id,
        }
    }
}

/// What an attachment holds: a file Kith stores, or a link to one kept elsewhere.
#[derive(Debug, Clone)]
pub enum AttachmentSource {
    /// A file uploaded earlier through the upload form, named by its upload key.
    Uploaded {
        key: String,
    },
    /// A file sent with the request.
    File(Upload),
    Link {
        url: String,
        link_type: String,
        filename: String,
        size: i64,
    },
}

/// The link providers OnePage knows.
pub const LINK_TYPES: &[&str] = &["dropbox", "google_drive", "evernote"];

impl Crm {
    /// The account's secret for signing upload forms, made on first use.
    pub async fn upload_secret(&self, account_id: i64) -> Result<String> {
        self.account_secret(account_id, "upload_signing_secret").await
    }

    /// The account's secret for signing list cursors (a cursor is valid only for the account
    /// it was made for), made on first use and kept in the account's settings, so that every
    /// replica signs and checks with the same one.
    pub async fn cursor_secret(&self, account_id: i64) -> Result<String> {
        if let Some(hit) = self.caches.cursor_secrets.lock().unwrap_or_else(|p| p.into_inner()).get(&account_id) {
            return Ok(hit.clone());
        }
        let secret = self.account_secret(account_id, "cursor_signing_secret").await?;
        let mut cache = self.caches.cursor_secrets.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(account_id, secret.clone());
        Ok(secret)
    }

    /// A random secret of the account kept in its settings under `key`, made on first use.
    async fn account_secret(&self, account_id: i64, key: &str) -> Result<String> {
        use kith_store::Visibility;
        use kith_store::system::ACCOUNTS;
        let read = |row: &kith_store::Row| match ACCOUNTS.position("settings").and_then(|i| row.values.get(i)) {
            Some(Value::Json(serde_json::Value::Object(m))) => m.clone(),
            _ => serde_json::Map::new(),
        };
        // Read first without a write transaction: the secret exists after the first use.
        if let Some(row) = self.store().get(account_id, &ACCOUNTS, account_id, Visibility::All).await?
            && let Some(secret) = read(&row).get(key).and_then(|v| v.as_str())
        {
            return Ok(secret.to_owned());
        }
        let mut tx = self.store().begin(account_id, None).await?;
        let row =
            tx.get(&ACCOUNTS, account_id, Visibility::All).await?.ok_or(DomainError::NotFound { kind: "account" })?;
        let mut settings = read(&row);
        if let Some(secret) = settings.get(key).and_then(|v| v.as_str()) {
            return Ok(secret.to_owned());
        }
        let secret = {
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            hex::encode(bytes)
        };
        settings.insert(key.into(), serde_json::Value::String(secret.clone()));
        tx.update(&ACCOUNTS, account_id, &[("settings", Value::Json(serde_json::Value::Object(settings)))]).await?;
        tx.commit().await?;
        Ok(secret)
    }

    pub fn files(&self) -> Result<&Files> {
        self.files.as_ref().ok_or_else(|| DomainError::Conflict("file storage is not configured".into()))
    }

    /// Stores bytes and records them; the row exists only if the bytes do.
    pub async fn store_file(
        &self,
        actor: Actor,
        upload: Upload,
        purpose: &str,
        upload_key: Option<String>,
        contact_id: Option<i64>,
    ) -> Result<StoredFile> {
        if upload.bytes.len() > MAX_FILE_BYTES {
            return Err(DomainError::invalid("file", format!("must be at most {MAX_FILE_BYTES} bytes")));
        }
        self.store_bytes(actor, upload, purpose, upload_key, contact_id).await
    }

    /// Stores a file Kith made for the caller (an import's error report), which no client
    /// upload limit applies to.
    pub async fn store_report(&self, actor: Actor, upload: Upload, purpose: &str) -> Result<StoredFile> {
        self.store_bytes(actor, upload, purpose, None, None).await
    }

    async fn store_bytes(
        &self,
        actor: Actor,
        upload: Upload,
        purpose: &str,
        upload_key: Option<String>,
        contact_id: Option<i64>,
    ) -> Result<StoredFile> {
        let files = self.files()?;
        let storage_key = format!("{}/{}", actor.account_id, uuid::Uuid::new_v4());
        files.blobs.put(&storage_key, &upload.bytes).await.map_err(io_error)?;
        let t = Utc::now();
        let record = StoredFile {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            storage_key: storage_key.clone(),
            filename: upload.filename,
            content_type: upload.content_type,
            size_bytes: upload.bytes.len() as i64,
            sha256: hex::encode(Sha256::digest(&upload.bytes)),
            purpose: purpose.to_owned(),
            upload_key,
            contact_id,
            uploaded_by: Some(actor.user_id),
        };
        match self.create(actor, record).await {
            Ok(f) => Ok(f),
            Err(e) => {
                let _ = files.blobs.delete(&storage_key).await;
                Err(e)
            }
        }
    }

    /// A stored file of the account and its bytes.
    pub async fn read_file(&self, actor: Actor, id: i64) -> Result<(StoredFile, Vec<u8>)> {
        let file = self.get::<StoredFile>(actor, id).await?;
        let bytes = self.files()?.blobs.get(&file.storage_key).await.map_err(io_error)?;
        Ok((file, bytes.ok_or(DomainError::NotFound { kind: "file" })?))
    }

    /// Removes a stored file's row, then its bytes.
    async fn remove_file(&self, actor: Actor, id: i64) -> Result<()> {
        if let Some(file) = self.find::<StoredFile>(actor, id).await? {
            self.delete::<StoredFile>(actor, id).await?;
            self.files()?.blobs.delete(&file.storage_key).await.map_err(io_error)?;
        }
        Ok(())
    }

    /// The base URL clients reach Kith at (empty when file storage is not configured).
    pub fn public_url(&self) -> &str {
        self.files.as_ref().map_or("", |f| f.public_url.as_str())
    }

    /// The download address of a stored file.
    pub fn file_url(&self, file_id: i64, path_of: impl Fn(i64) -> String) -> String {
        format!("{}{}", self.public_url(), path_of(file_id))
    }

    /// The contact a deal, note, call or meeting belongs to; `NotFound` if it is not live.
    async fn owner_contact(&self, actor: Actor, to: AttachedTo) -> Result<Option<i64>> {
        Ok(match to {
            AttachedTo::Deal(id) => self.get::<Deal>(actor, id).await?.contact_id,
            AttachedTo::Note(id) => self.get::<Note>(actor, id).await?.contact_id,
            AttachedTo::Call(id) => self.get::<Call>(actor, id).await?.contact_id,
            AttachedTo::Meeting(id) => self.get::<Meeting>(actor, id).await?.contact_id,
        })
    }

    pub async fn create_attachment(
        &self,
        actor: Actor,
        to: AttachedTo,
        name: Option<String>,
        source: AttachmentSource,
    ) -> Result<Attachment> {
        let contact_id = self.owner_contact(actor, to).await?;
        let (file, filename, size, content_type, external_url, link_type) = match source {
            AttachmentSource::Uploaded { key } => {
                let q = ListQuery::all().filter(Filter::eq("upload_key", key.as_str()));
                let file = self
                    .list::<StoredFile>(actor, &q)
                    .await?
                    .rows
                    .into_iter()
                    .next()
                    .ok_or_else(|| DomainError::invalid("key", "no file was uploaded with this key"))?;
                let name = name.clone().unwrap_or_else(|| file.filename.clone());
                (Some(file.id), name, file.size_bytes, Some(file.content_type), None, None)
            }
            AttachmentSource::File(upload) => {
                let name = name.clone().unwrap_or_else(|| upload.filename.clone());
                let file = self.store_file(actor, upload, "attachment", None, contact_id).await?;
                (Some(file.id), name, file.size_bytes, Some(file.content_type), None, None)
            }
            AttachmentSource::Link { url, link_type, filename, size } => {
                if !LINK_TYPES.contains(&link_type.as_str()) {
                    return Err(DomainError::invalid("link_type", format!("must be one of {}", LINK_TYPES.join(", "))));
                }
                match url::Url::parse(&url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    _ => return Err(DomainError::invalid("external_url", "must be an absolute http or https URL")),
                }
                (None, filename, size, None, Some(url), Some(link_type))
            }
        };
        if filename.trim().is_empty() {
            return Err(DomainError::invalid("name", "is required"));
        }
        let t = Utc::now();
        let record = Attachment {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            author_id: actor.user_id,
            reference_kind: to.kind().to_owned(),
            reference_id: to.id(),
            contact_id,
            filename,
            content_type,
            size_bytes: size.max(0),
            storage_key: None,
            external_url,
            provider: link_type.clone(),
            pinned: false,
            custom_filename: None,
            pinned_at: None,
            link_type,
            file_id: file,
        };
        let mut tx = self.begin(actor).await?;
        let created = insert_in(&mut tx, record).await?;
        if let Some(file_id) = file {
            // An upload becomes an attachment's file: it is no longer waiting to be attached.
            let mut f = get_in::<StoredFile>(&mut tx, file_id).await?;
            if f.purpose == "upload" {
                f.purpose = "attachment".into();
                save_in(&mut tx, &f).await?;
            }
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Sets the name shown for an attachment; it cannot be unset.
    pub async fn rename_attachment(&self, actor: Actor, id: i64, custom_filename: &str) -> Result<Attachment> {
        let name = custom_filename.trim();
        if name.is_empty() {
            return Err(DomainError::invalid("custom_filename", "cannot be empty"));
        }
        if name.chars().count() > 255 {
            return Err(DomainError::invalid("custom_filename", "must be at most 255 characters"));
        }
        let mut a = self.get::<Attachment>(actor, id).await?;
        a.custom_filename = Some(name.to_owned());
        self.save(actor, a).await
    }

    /// Pins an attachment to its contact, or unpins it.
    pub async fn pin_attachment(&self, actor: Actor, id: i64, pinned: bool) -> Result<Attachment> {
        let mut a = self.get::<Attachment>(actor, id).await?;
        if a.pinned != pinned {
            a.pinned = pinned;
            a.pinned_at = pinned.then(Utc::now);
            return self.save(actor, a).await;
        }
        Ok(a)
    }

    /// Deletes an attachment and, if it held a stored file, the file.
    pub async fn delete_attachment(&self, actor: Actor, id: i64) -> Result<()> {
        let a = self.get::<Attachment>(actor, id).await?;
        self.delete::<Attachment>(actor, id).await?;
        if let Some(file_id) = a.file_id {
            self.remove_file(actor, file_id).await?;
        }
        Ok(())
    }

    /// The live attachments of records of one kind, oldest first.
    pub async fn attachments_of(&self, actor: Actor, kind: &str, ids: &[i64]) -> Result<Vec<Attachment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let f = Filter::All(vec![
            Filter::eq("reference_kind", kind),
            Filter::In { field: Field::col("reference_id"), values: ids.iter().map(|i| Value::Int(*i)).collect() },
        ]);
        self.all::<Attachment>(actor, Some(f)).await
    }

    /// Attachments pinned to any of `contact_ids`, most recently pinned first.
    pub async fn pinned_attachments(
        &self,
        actor: Actor,
        contact_ids: &[i64],
        limit: u64,
        offset: u64,
    ) -> Result<ListPage<Attachment>> {
        let f = Filter::All(vec![
            Filter::eq("pinned", true),
            Filter::In {
                field: Field::col("contact_id"),
                values: contact_ids.iter().map(|i| Value::Int(*i)).collect(),
            },
        ]);
        let q = ListQuery::new(Page::Offset { offset, limit })
            .filter(f)
            .sort(Sort { field: Field::col("pinned_at"), dir: Dir::Desc })
            .with_total();
        self.list::<Attachment>(actor, &q).await
    }

    /// Replaces a contact's photo (`None` removes it). `url_of` gives a stored file's address.
    pub async fn set_contact_photo(
        &self,
        actor: Actor,
        contact_id: i64,
        image: Option<Upload>,
        url_of: impl Fn(i64) -> String,
    ) -> Result<Contact> {
        let mut contact = self.get::<Contact>(actor, contact_id).await?;
        let old = contact.photo_url.clone();
        contact.photo_url = match image {
            Some(upload) => Some(url_of(self.store_file(actor, upload, "photo", None, Some(contact_id)).await?.id)),
            None => None,
        };
        let saved = self.save(actor, contact).await?;
        self.forget_replaced_image(actor, old.as_deref(), &url_of).await?;
        Ok(saved)
    }

    /// Replaces a company's logo (`None` removes it).
    pub async fn set_company_logo(
        &self,
        actor: Actor,
        company_id: i64,
        image: Option<Upload>,
        url_of: impl Fn(i64) -> String,
    ) -> Result<Company> {
        let mut company = self.get::<Company>(actor, company_id).await?;
        let old = company.photo_url.clone();
        company.photo_url = match image {
            Some(upload) => Some(url_of(self.store_file(actor, upload, "logo", None, None).await?.id)),
            None => None,
        };
        let saved = self.save(actor, company).await?;
        self.forget_replaced_image(actor, old.as_deref(), &url_of).await?;
        Ok(saved)
    }

    /// Deletes the stored file behind a replaced photo or logo URL, if Kith stored it.
    async fn forget_replaced_image(
        &self,
        actor: Actor,
        old: Option<&str>,
        url_of: &impl Fn(i64) -> String,
    ) -> Result<()> {
        let Some(old) = old else { return Ok(()) };
        let q = ListQuery::all().filter(Filter::In {
            field: Field::col("purpose"),
            values: vec![Value::Text("photo".into()), Value::Text("logo".into())],
        });
        let candidates = self.list::<StoredFile>(actor, &q).await?.rows;
        if let Some(f) = candidates.iter().find(|f| url_of(f.id) == old) {
            self.remove_file(actor, f.id).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn account_secrets_are_made_once_per_account_and_purpose() {
        let t = crate::testing::crm().await;
        let other = t.crm.create_account("Rival", "owner@rival.test").await.unwrap_or_else(|e| panic!("{e}"));
        let first = t.crm.cursor_secret(t.actor.account_id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.len(), 64);
        assert_eq!(t.crm.cursor_secret(t.actor.account_id).await.unwrap_or_else(|e| panic!("{e}")), first);
        // Kept in the database, not only in this process's cache.
        let fresh = Crm::new(t.crm.store().clone());
        assert_eq!(fresh.cursor_secret(t.actor.account_id).await.unwrap_or_else(|e| panic!("{e}")), first);
        assert_ne!(t.crm.cursor_secret(other.account_id).await.unwrap_or_else(|e| panic!("{e}")), first);
        assert_ne!(t.crm.upload_secret(t.actor.account_id).await.unwrap_or_else(|e| panic!("{e}")), first);
    }

    #[tokio::test]
    async fn local_disk_writes_whole_files_and_refuses_odd_keys() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let disk = LocalDisk::new(dir.path());
        disk.put("7/abc", b"hello").await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(disk.get("7/abc").await.unwrap_or_else(|e| panic!("{e}")), Some(b"hello".to_vec()));
        assert_eq!(disk.get("7/missing").await.unwrap_or_else(|e| panic!("{e}")), None);
        for bad in ["", "../x", "7/../../etc/passwd", "/abs", "a//b", "a/./b", "sp ace"] {
            assert!(disk.put(bad, b"x").await.is_err(), "{bad:?}");
        }
        // Nothing half-written is left behind.
        let partial: Vec<_> = std::fs::read_dir(dir.path().join(".partial"))
            .map(|d| d.filter_map(std::result::Result::ok).collect())
            .unwrap_or_default();
        assert!(partial.is_empty(), "{partial:?}");
        disk.delete("7/abc").await.unwrap_or_else(|e| panic!("{e}"));
        disk.delete("7/abc").await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(disk.get("7/abc").await.unwrap_or_else(|e| panic!("{e}")), None);
    }
}
