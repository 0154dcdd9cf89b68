//! The embedded media adapter: a folder beside the database (`<db>.media/`), private to its owner.
//! `objects/{conversation}/{id}` holds the bytes (and `.type` their content type), `items/{conversation}/
//! {id}.json` the records. Links are `{public_url}/v1/media/{conversation}/{id}?exp=<unix>&sig=<hex>`,
//! `sig` = HMAC-SHA256 over `{key}\n{exp}` with a random key kept in `link.key` (owner-only), served by the
//! HTTP router's media route through [`MediaStore::open_link`].

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use smsdesk_domain::ConversationId;
use smsdesk_domain::media::MediaItem;
use smsdesk_ports::{MediaObject, MediaStore, PortError, PortResult};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use crate::EmbeddedError;

/// The media folder and its link key.
#[derive(Clone)]
pub struct FolderMedia {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    public_base_url: String,
    key: [u8; 32],
}

impl std::fmt::Debug for FolderMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderMedia").field("root", &self.inner.root).finish_non_exhaustive()
    }
}

fn file_error(path: &Path, source: std::io::Error) -> EmbeddedError {
    EmbeddedError::File { path: path.display().to_string(), source }
}

#[cfg(unix)]
fn private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

fn io(context: &str, e: std::io::Error) -> PortError {
    PortError::Backend(format!("media folder: {context}: {e}"))
}

/// A key segment: ids only (letters, digits, `_`, `-`), so no key reaches outside the folder.
fn segment_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn split_key(key: &str) -> PortResult<(&str, &str)> {
    match key.split_once('/') {
        Some((a, b)) if segment_ok(a) && segment_ok(b) => Ok((a, b)),
        _ => Err(PortError::Backend(format!("media key '{key}' is not {{conversation}}/{{id}}"))),
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename (a reader never sees half a file).
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn read_opt(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl FolderMedia {
    /// Opens (creating) the media folder at `root`; links start with `public_base_url`.
    pub fn open(root: &Path, public_base_url: &str) -> Result<Self, EmbeddedError> {
        private_dir(root).map_err(|e| file_error(root, e))?;
        let key_path = root.join("link.key");
        let key = match read_opt(&key_path).map_err(|e| file_error(&key_path, e))? {
            Some(k) if k.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&k);
                key
            }
            _ => {
                let key: [u8; 32] = rand::random();
                write_atomic(&key_path, &key).map_err(|e| file_error(&key_path, e))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| file_error(&key_path, e))?;
                }
                key
            }
        };
        let public_base_url = public_base_url.trim_end_matches('/').to_string();
        Ok(Self { inner: Arc::new(Inner { root: root.to_path_buf(), public_base_url, key }) })
    }

    /// The folder beside a database file: `<db file>.media`.
    pub fn beside(db_file: &Path, public_base_url: &str) -> Result<Self, EmbeddedError> {
        let mut dir = db_file.as_os_str().to_owned();
        dir.push(".media");
        Self::open(Path::new(&dir), public_base_url)
    }

    fn sign(&self, key: &str, expires: i64) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.inner.key).expect("any key length");
        mac.update(format!("{key}\n{expires}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn object_paths(&self, key: &str) -> PortResult<(PathBuf, PathBuf)> {
        let (conversation, id) = split_key(key)?;
        let dir = self.inner.root.join("objects").join(conversation);
        Ok((dir.join(id), dir.join(format!("{id}.type"))))
    }

    fn item_dir(&self, conversation: &ConversationId) -> PortResult<PathBuf> {
        if !segment_ok(conversation.as_str()) {
            return Err(PortError::Backend(format!(
                "conversation id '{conversation}' is not a path segment"
            )));
        }
        Ok(self.inner.root.join("items").join(conversation.as_str()))
    }

    async fn blocking<T: Send + 'static>(
        f: impl FnOnce() -> PortResult<T> + Send + 'static,
    ) -> PortResult<T> {
        tokio::task::spawn_blocking(f).await.map_err(|e| PortError::Backend(format!("media task: {e}")))?
    }
}

#[async_trait]
impl MediaStore for FolderMedia {
    async fn put_object(&self, key: &str, content_type: &str, bytes: Vec<u8>) -> PortResult<()> {
        let (data, kind) = self.object_paths(key)?;
        let content_type = content_type.to_string();
        Self::blocking(move || {
            write_atomic(&data, &bytes).map_err(|e| io("write object", e))?;
            write_atomic(&kind, content_type.as_bytes()).map_err(|e| io("write object type", e))
        })
        .await
    }

    async fn get_object(&self, key: &str) -> PortResult<Option<MediaObject>> {
        let (data, kind) = self.object_paths(key)?;
        Self::blocking(move || {
            let Some(bytes) = read_opt(&data).map_err(|e| io("read object", e))? else {
                return Ok(None);
            };
            let content_type = read_opt(&kind)
                .map_err(|e| io("read object type", e))?
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_else(|| "application/octet-stream".into());
            Ok(Some(MediaObject { content_type, bytes }))
        })
        .await
    }

    async fn put_item(&self, item: &MediaItem) -> PortResult<()> {
        let dir = self.item_dir(&item.conversation_id)?;
        if !segment_ok(&item.id) {
            return Err(PortError::Backend(format!("media id '{}' is not a path segment", item.id)));
        }
        let path = dir.join(format!("{}.json", item.id));
        let body = serde_json::to_vec(item).map_err(|e| PortError::Backend(e.to_string()))?;
        Self::blocking(move || write_atomic(&path, &body).map_err(|e| io("write item", e))).await
    }

    async fn get_item(&self, conversation: &ConversationId, id: &str) -> PortResult<Option<MediaItem>> {
        if !segment_ok(id) {
            return Ok(None);
        }
        let path = self.item_dir(conversation)?.join(format!("{id}.json"));
        Self::blocking(move || match read_opt(&path).map_err(|e| io("read item", e))? {
            Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| PortError::Corrupt(e.to_string())),
            None => Ok(None),
        })
        .await
    }

    async fn list_items(&self, conversation: &ConversationId) -> PortResult<Vec<MediaItem>> {
        let dir = self.item_dir(conversation)?;
        Self::blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(io("list items", e)),
            };
            let mut items = Vec::new();
            for entry in entries {
                let path = entry.map_err(|e| io("list items", e))?.path();
                if path.extension().and_then(|e| e.to_str()) != Some("json") {
                    continue;
                }
                let bytes = std::fs::read(&path).map_err(|e| io("read item", e))?;
                let item: MediaItem =
                    serde_json::from_slice(&bytes).map_err(|e| PortError::Corrupt(e.to_string()))?;
                items.push(item);
            }
            items.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
            Ok(items)
        })
        .await
    }

    async fn link(&self, key: &str, ttl: Duration, now: OffsetDateTime) -> PortResult<String> {
        split_key(key)?;
        let expires = now.unix_timestamp() + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let sig = self.sign(key, expires);
        Ok(format!("{}/v1/media/{key}?exp={expires}&sig={sig}", self.inner.public_base_url))
    }

    async fn open_link(
        &self,
        key: &str,
        expires: i64,
        signature: &str,
        now: OffsetDateTime,
    ) -> PortResult<Option<MediaObject>> {
        if split_key(key).is_err() || expires < now.unix_timestamp() {
            return Ok(None);
        }
        let Ok(given) = hex::decode(signature) else { return Ok(None) };
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.inner.key).expect("any key length");
        mac.update(format!("{key}\n{expires}").as_bytes());
        if mac.verify_slice(&given).is_err() {
            return Ok(None);
        }
        self.get_object(key).await
    }

    /// A folder is no S3 bucket: providers that send media only from S3 cannot send from it.
    fn s3_location(&self, _key: &str) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_link_opens_until_it_expires_and_not_when_tampered() {
        let dir = tempfile::tempdir().unwrap();
        let media = FolderMedia::open(dir.path(), "http://127.0.0.1:1/").unwrap();
        media.put_object("cv_1/md_a", "image/png", vec![1, 2, 3]).await.unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let link = media.link("cv_1/md_a", Duration::from_secs(60), now).await.unwrap();
        assert!(link.starts_with("http://127.0.0.1:1/v1/media/cv_1/md_a?exp=1000060&sig="), "{link}");
        let sig = link.rsplit_once("sig=").unwrap().1.to_string();
        let opened = media.open_link("cv_1/md_a", 1_000_060, &sig, now).await.unwrap();
        assert_eq!(opened.unwrap().bytes, vec![1, 2, 3]);
        let later = now + time::Duration::seconds(61);
        assert_eq!(media.open_link("cv_1/md_a", 1_000_060, &sig, later).await.unwrap(), None, "expired");
        assert_eq!(media.open_link("cv_1/md_a", 1_000_999, &sig, now).await.unwrap(), None, "exp changed");
        assert_eq!(media.open_link("cv_1/md_b", 1_000_060, &sig, now).await.unwrap(), None, "other key");
        // The key survives a reopen: links made before a restart still open.
        let again = FolderMedia::open(dir.path(), "http://127.0.0.1:1").unwrap();
        assert!(again.open_link("cv_1/md_a", 1_000_060, &sig, now).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn keys_outside_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let media = FolderMedia::open(dir.path(), "http://x").unwrap();
        assert!(media.put_object("../etc/passwd", "text/plain", vec![1]).await.is_err());
        assert!(media.put_object("cv_1/..", "text/plain", vec![1]).await.is_err());
        assert_eq!(media.get_item(&ConversationId::new("cv_1"), "../x").await.unwrap(), None);
    }
}
