//! The S3 adapter of the media port. One private bucket (declared in `infra/template.yaml`: SSE, public
//! access blocked, a lifecycle rule expiring objects after `MediaRetentionDays`): the bytes under
//! `objects/{conversation}/{id}`, the records as JSON under `items/{conversation}/{id}.json`. Links are
//! presigned GETs, valid for the asked time; S3 serves them, so [`MediaStore::open_link`] opens nothing.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use smsdesk_domain::ConversationId;
use smsdesk_domain::media::MediaItem;
use smsdesk_ports::{MediaObject, MediaStore, PortError, PortResult};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

use crate::error::port_error;
use crate::lazy::LazyClient;

/// The S3 adapter of the media port.
#[derive(Clone, Debug)]
pub struct S3Media {
    client: LazyClient<Client>,
    bucket: String,
}

/// An S3 client from the shared SDK configuration; path-style addressing when pointed at an emulator.
pub fn s3_client(sdk: &aws_types::SdkConfig, endpoint: Option<&str>) -> Client {
    let mut builder = aws_sdk_s3::config::Builder::from(sdk);
    if let Some(url) = endpoint {
        builder = builder.endpoint_url(url).force_path_style(true);
    }
    Client::from_conf(builder.build())
}

impl S3Media {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client: LazyClient::ready(client), bucket: bucket.into() }
    }

    /// As [`S3Media::new`], with a client built on first use.
    pub fn with_lazy_client(client: LazyClient<Client>, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn object_key(key: &str) -> String {
        format!("objects/{key}")
    }

    fn item_key(conversation: &ConversationId, id: &str) -> String {
        format!("items/{conversation}/{id}.json")
    }

    async fn get_bytes(&self, key: &str) -> PortResult<Option<(Option<String>, Vec<u8>)>> {
        let result = self.client.get_object().bucket(&self.bucket).key(key).send().await;
        let out = match result {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(port_error("GetObject", e)),
        };
        let content_type = out.content_type().map(str::to_string);
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| PortError::Unavailable(format!("GetObject body: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Some((content_type, bytes)))
    }
}

/// Creates the media bucket (tests and development against moto; in AWS the template makes it), private.
pub async fn create_media_bucket(client: &Client, bucket: &str) -> PortResult<()> {
    match client.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()) =>
        {
            Ok(())
        }
        Err(e) => Err(port_error("CreateBucket", e)),
    }
}

#[async_trait]
impl MediaStore for S3Media {
    async fn put_object(&self, key: &str, content_type: &str, bytes: Vec<u8>) -> PortResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::object_key(key))
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| port_error("PutObject", e))?;
        Ok(())
    }

    async fn get_object(&self, key: &str) -> PortResult<Option<MediaObject>> {
        Ok(self.get_bytes(&Self::object_key(key)).await?.map(|(content_type, bytes)| MediaObject {
            content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
            bytes,
        }))
    }

    async fn put_item(&self, item: &MediaItem) -> PortResult<()> {
        let body = serde_json::to_vec(item).map_err(|e| PortError::Backend(e.to_string()))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::item_key(&item.conversation_id, &item.id))
            .content_type("application/json")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| port_error("PutObject", e))?;
        Ok(())
    }

    async fn get_item(&self, conversation: &ConversationId, id: &str) -> PortResult<Option<MediaItem>> {
        match self.get_bytes(&Self::item_key(conversation, id)).await? {
            Some((_, bytes)) => {
                serde_json::from_slice(&bytes).map(Some).map_err(|e| PortError::Corrupt(e.to_string()))
            }
            None => Ok(None),
        }
    }

    async fn list_items(&self, conversation: &ConversationId) -> PortResult<Vec<MediaItem>> {
        let prefix = format!("items/{conversation}/");
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| port_error("ListObjectsV2", e))?;
            keys.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_string)));
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        let mut items = Vec::new();
        for key in keys {
            if let Some((_, bytes)) = self.get_bytes(&key).await? {
                let item: MediaItem =
                    serde_json::from_slice(&bytes).map_err(|e| PortError::Corrupt(e.to_string()))?;
                items.push(item);
            }
        }
        items.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(items)
    }

    async fn link(&self, key: &str, ttl: Duration, now: OffsetDateTime) -> PortResult<String> {
        let start = SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(now.unix_timestamp()).unwrap_or_default());
        let config = PresigningConfig::builder()
            .start_time(start)
            .expires_in(ttl)
            .build()
            .map_err(|e| PortError::Backend(format!("presigning: {e}")))?;
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(Self::object_key(key))
            .presigned(config)
            .await
            .map_err(|e| PortError::Backend(format!("presigning GetObject: {e}")))?;
        Ok(presigned.uri().to_string())
    }

    async fn open_link(
        &self,
        _key: &str,
        _expires: i64,
        _signature: &str,
        _now: OffsetDateTime,
    ) -> PortResult<Option<MediaObject>> {
        Ok(None)
    }

    fn s3_location(&self, key: &str) -> Option<String> {
        Some(format!("s3://{}/{}", self.bucket, Self::object_key(key)))
    }
}
