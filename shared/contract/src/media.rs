//! The media port contract: bytes and records read back as written, per conversation and in order; a
//! later write replaces; nothing leaks between conversations; a link serves the bytes.

use smsdesk_domain::media::{MediaItem, MediaKind, MediaStatus};
use smsdesk_domain::{ConversationId, Direction, MessageId};
use smsdesk_ports::{MediaStore, PortResult};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use crate::fixtures;

fn ok<T>(result: PortResult<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("media contract: {what} failed: {e}"),
    }
}

/// Fetches a link the adapter made, the way its users do (an HTTP GET for S3's presigned links; the media
/// route's check for the embedded ones): the bytes, or None when it does not open.
pub type OpenLink =
    Box<dyn Fn(String) -> Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send>> + Send + Sync>;

fn item(conversation: &ConversationId, id: &str, at: OffsetDateTime, status: MediaStatus) -> MediaItem {
    MediaItem {
        id: id.to_string(),
        conversation_id: conversation.clone(),
        message_id: Some(MessageId::new(format!("msg_{id}"))),
        direction: Direction::Inbound,
        position: 0,
        status,
        content_type: (status == MediaStatus::Stored).then(|| "image/png".to_string()),
        kind: (status == MediaStatus::Stored).then_some(MediaKind::Image),
        size: (status == MediaStatus::Stored).then_some(3),
        width: Some(1),
        height: Some(1),
        error: (status == MediaStatus::Failed).then(|| "provider answered 404".to_string()),
        created_at: at,
    }
}

/// Runs the media contract against `media`; `open` fetches one of its links.
pub async fn media_contract(media: Arc<dyn MediaStore>, open: OpenLink) {
    let tag = fixtures::run_tag();
    let conv = ConversationId::new(format!("cv_media_{tag}"));
    let other = ConversationId::new(format!("cv_other_{tag}"));
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or(OffsetDateTime::UNIX_EPOCH);

    // Nothing yet.
    assert_eq!(
        ok(media.list_items(&conv).await, "list empty"),
        Vec::new(),
        "a new conversation has no media"
    );
    assert_eq!(ok(media.get_item(&conv, "md_none").await, "get missing item"), None, "missing item is None");
    let key_b = smsdesk_domain::media::object_key(&conv, "md_b");
    assert_eq!(ok(media.get_object(&key_b).await, "get missing object"), None, "missing object is None");

    // Bytes read back with their type; a second put replaces.
    ok(media.put_object(&key_b, "image/png", vec![1, 2, 3]).await, "put object");
    let got = ok(media.get_object(&key_b).await, "get object").expect("stored object reads back");
    assert_eq!((got.content_type.as_str(), got.bytes.as_slice()), ("image/png", &[1u8, 2, 3][..]));
    ok(media.put_object(&key_b, "image/jpeg", vec![9]).await, "replace object");
    let got = ok(media.get_object(&key_b).await, "get replaced").expect("replaced object reads back");
    assert_eq!(
        (got.content_type.as_str(), got.bytes.as_slice()),
        ("image/jpeg", &[9u8][..]),
        "a put replaces"
    );

    // Records: oldest first, ties by id; a put replaces; other conversations see nothing.
    let b = item(&conv, "md_b", t0, MediaStatus::Stored);
    let a = item(&conv, "md_a", t0, MediaStatus::Failed);
    let c = item(&conv, "md_c", t0 - time::Duration::seconds(5), MediaStatus::Stored);
    for i in [&b, &a, &c] {
        ok(media.put_item(i).await, "put item");
    }
    let list = ok(media.list_items(&conv).await, "list");
    let ids: Vec<&str> = list.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["md_c", "md_a", "md_b"], "items list oldest first, ties by id");
    assert_eq!(list[1], a, "a failed item reads back with its reason");
    let mut a2 = a.clone();
    a2.error = Some("retried: still 404".into());
    ok(media.put_item(&a2).await, "replace item");
    assert_eq!(ok(media.get_item(&conv, "md_a").await, "get item"), Some(a2), "a put replaces the record");
    assert_eq!(ok(media.list_items(&conv).await, "list again").len(), 3, "a replaced record is not doubled");
    assert_eq!(
        ok(media.list_items(&other).await, "list other"),
        Vec::new(),
        "no media leaks across conversations"
    );
    assert_eq!(ok(media.get_item(&other, "md_a").await, "get other"), None, "ids are per conversation");

    // A link serves the bytes.
    let link = ok(media.link(&key_b, Duration::from_secs(300), OffsetDateTime::now_utc()).await, "link");
    assert!(link.starts_with("http"), "a link is a URL: {link}");
    assert_eq!(open(link).await, Some(vec![9]), "a fresh link serves the stored bytes");

    // An S3 store names each object's S3 location (what AWS End User Messaging sends media from): one
    // object per key, in a bucket named as S3 names them; another store names none.
    if let Some(location) = media.s3_location(&key_b) {
        let (bucket, object) = s3_parts(&location).unwrap_or_else(|| panic!("not an s3:// URI: {location}"));
        assert!(
            (3..=63).contains(&bucket.len())
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'),
            "bucket of {location}"
        );
        assert!(object.ends_with(&key_b), "{location} names the object of {key_b}");
        let key_c = smsdesk_domain::media::object_key(&conv, "md_c");
        assert_ne!(media.s3_location(&key_c), Some(location.clone()), "one location per object");
    }
}

/// `s3://bucket/key` into its bucket and key.
pub fn s3_parts(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}
