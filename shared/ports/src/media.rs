//! The media port: MMS pictures, video and audio, in and out. Two adapters: S3 (private, encrypted, a
//! lifecycle rule for retention) and a folder beside the embedded database. Each keeps, per conversation,
//! the items' records (what the transcript shows, failed items with their reason) and the stored bytes, and
//! hands out short-lived links to the bytes: an S3 presigned GET in AWS, an HMAC-signed
//! `/v1/media/{conversation}/{id}?exp=..&sig=..` URL served by the embedded shape's HTTP router.

use async_trait::async_trait;
use smsdesk_domain::ConversationId;
use smsdesk_domain::media::MediaItem;
use std::time::Duration;
use time::OffsetDateTime;

use crate::PortResult;

/// Stored bytes and their (sniffed) content type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaObject {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Stores the bytes of an item under `key` ([`MediaItem::object_key`]); storing again replaces them.
    async fn put_object(&self, key: &str, content_type: &str, bytes: Vec<u8>) -> PortResult<()>;

    /// The bytes under `key`, or None.
    async fn get_object(&self, key: &str) -> PortResult<Option<MediaObject>>;

    /// Writes an item's record (insert or replace, by conversation and id).
    async fn put_item(&self, item: &MediaItem) -> PortResult<()>;

    /// One item of a conversation.
    async fn get_item(&self, conversation: &ConversationId, id: &str) -> PortResult<Option<MediaItem>>;

    /// A conversation's items, oldest first (ties by id).
    async fn list_items(&self, conversation: &ConversationId) -> PortResult<Vec<MediaItem>>;

    /// A link that serves the bytes under `key` to whoever holds it, for `ttl` from `now`; nobody gets one
    /// without having been authorized for the conversation first (the caller's duty).
    async fn link(&self, key: &str, ttl: Duration, now: OffsetDateTime) -> PortResult<String>;

    /// The bytes behind a link made by [`MediaStore::link`] of this adapter when it serves links through our
    /// own HTTP route (the embedded shape): None when the signature is wrong, the link expired, or this
    /// adapter's links are served elsewhere (S3 serves its presigned links itself).
    async fn open_link(
        &self,
        key: &str,
        expires: i64,
        signature: &str,
        now: OffsetDateTime,
    ) -> PortResult<Option<MediaObject>>;

    /// Where the bytes under `key` live as an S3 object, `s3://{bucket}/{object key}`, for a provider that
    /// sends media from the account's own bucket (AWS End User Messaging's `SendMediaMessage` takes only
    /// such URIs); None when this store is not an S3 bucket (the embedded folder).
    fn s3_location(&self, key: &str) -> Option<String>;
}
