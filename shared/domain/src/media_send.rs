//! What a provider sends as media (MMS out), beyond the channel's size and count limits
//! ([`crate::media::MediaLimits`]): the per-type rules of providers that have them. Checked when an agent
//! uploads an item for a reply (a 422 naming the rule), so nothing the provider would refuse is queued.
//!
//! AWS End User Messaging (`SendMediaMessage`, AWS docs "MMS file types, size and character limits"): one
//! media file per message, read from an S3 bucket of the account; gif, jpeg and png images up to 2 MB;
//! audio, video, PDF (and tiff, vCard, iCalendar, which smsdesk does not keep) up to 600 KB. The sizes are
//! taken as decimal (2,000,000 and 600,000 bytes), the lower reading.

use crate::media::MediaRefusal;
use crate::model::ProviderKind;

/// AWS: the largest image (gif, jpeg, png).
pub const AWS_IMAGE_MAX_BYTES: u64 = 2_000_000;
/// AWS: the largest audio, video or document file.
pub const AWS_OTHER_MAX_BYTES: u64 = 600_000;
/// AWS: media files per message.
pub const AWS_MAX_ITEMS: u32 = 1;
/// AWS: the types smsdesk keeps that End User Messaging sends, with their size limit.
pub const AWS_TYPES: &[(&str, u64)] = &[
    ("image/jpeg", AWS_IMAGE_MAX_BYTES),
    ("image/png", AWS_IMAGE_MAX_BYTES),
    ("image/gif", AWS_IMAGE_MAX_BYTES),
    ("video/mp4", AWS_OTHER_MAX_BYTES),
    ("video/3gpp", AWS_OTHER_MAX_BYTES),
    ("video/3gpp2", AWS_OTHER_MAX_BYTES),
    ("video/quicktime", AWS_OTHER_MAX_BYTES),
    ("audio/mpeg", AWS_OTHER_MAX_BYTES),
    ("audio/amr", AWS_OTHER_MAX_BYTES),
    ("audio/mp4", AWS_OTHER_MAX_BYTES),
    ("audio/ogg", AWS_OTHER_MAX_BYTES),
    ("application/pdf", AWS_OTHER_MAX_BYTES),
];

/// The types a channel of `provider` carries: AWS's MMS types, or every type smsdesk keeps.
pub fn types(provider: ProviderKind) -> Vec<&'static str> {
    if provider == ProviderKind::Aws {
        return AWS_TYPES.iter().map(|(t, _)| *t).collect();
    }
    crate::media::ALLOWED_TYPES.to_vec()
}

/// Whether `provider` sends an item of `content_type` (sniffed from the bytes) and `size` bytes.
pub fn check_send(provider: ProviderKind, content_type: &str, size: u64) -> Result<(), MediaRefusal> {
    if provider != ProviderKind::Aws {
        return Ok(());
    }
    let Some((_, limit)) = AWS_TYPES.iter().find(|(t, _)| *t == content_type) else {
        return Err(MediaRefusal::NotSentBy {
            content_type: content_type.to_string(),
            provider: "AWS End User Messaging",
            accepted: AWS_TYPES.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", "),
        });
    };
    if size > *limit {
        return Err(MediaRefusal::TooLargeForType {
            content_type: content_type.to_string(),
            provider: "AWS End User Messaging",
            limit: *limit,
        });
    }
    Ok(())
}

/// Whether the items a message carried may go out again together in a new message (a resend): the rules an
/// upload and a reply passed, checked again against the channel's settings and the provider's limits as
/// they are now (either may have been lowered since): how many, each one's size, what `provider` sends of
/// each type, and their total per message (`per_message`, as [`crate::media::check_total`] takes it).
pub fn check_again(
    items: &[crate::media::MediaItem],
    limits: &crate::media::MediaLimits,
    provider: ProviderKind,
    per_message: Option<u64>,
) -> Result<(), MediaRefusal> {
    crate::media::check_count(items.len(), limits)?;
    for item in items {
        let size = item.size.unwrap_or(0);
        if size > limits.max_bytes {
            return Err(MediaRefusal::TooLarge { limit: limits.max_bytes });
        }
        let content_type = item.content_type.as_deref().unwrap_or("application/octet-stream");
        if !crate::media::ALLOWED_TYPES.contains(&content_type) {
            return Err(MediaRefusal::NotAllowed { content_type: content_type.to_string() });
        }
        check_send(provider, content_type, size)?;
    }
    crate::media::check_total(items.iter().map(|i| i.size.unwrap_or(0)), per_message, provider.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{ALLOWED_TYPES, MediaLimits};

    #[test]
    fn aws_sends_images_up_to_2_mb_and_other_types_up_to_600_kb() {
        assert_eq!(check_send(ProviderKind::Aws, "image/png", 2_000_000), Ok(()));
        let err = check_send(ProviderKind::Aws, "image/png", 2_000_001).unwrap_err();
        assert!(err.to_string().contains("over its limit of 2000000 bytes"), "{err}");
        assert_eq!(check_send(ProviderKind::Aws, "video/mp4", 600_000), Ok(()));
        let err = check_send(ProviderKind::Aws, "video/mp4", 600_001).unwrap_err();
        assert!(err.to_string().contains("video/mp4 is over its limit of 600000 bytes"), "{err}");
    }

    #[test]
    fn aws_refuses_the_types_it_does_not_send_naming_those_it_does() {
        let err = check_send(ProviderKind::Aws, "image/webp", 10).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("image/webp is not sent by AWS End User Messaging"), "{text}");
        assert!(text.contains("image/jpeg") && text.contains("application/pdf"), "{text}");
        assert!(check_send(ProviderKind::Aws, "audio/x-wav", 10).is_err());
        // Every AWS type is one smsdesk keeps at all.
        assert!(AWS_TYPES.iter().all(|(t, _)| ALLOWED_TYPES.contains(t)));
    }

    #[test]
    fn aws_sends_one_file_per_message_and_other_providers_have_no_per_type_rule() {
        let l = MediaLimits::for_provider(ProviderKind::Aws);
        assert_eq!((l.max_items, l.max_bytes), (1, AWS_IMAGE_MAX_BYTES));
        assert_eq!(check_send(ProviderKind::Twilio, "image/webp", 5_000_000), Ok(()));
    }

    fn item(content_type: &str, size: u64) -> crate::media::MediaItem {
        crate::media::MediaItem {
            id: "md_a".into(),
            conversation_id: crate::ConversationId::new("cv_1"),
            message_id: Some(crate::MessageId::new("msg_1")),
            direction: crate::model::Direction::Outbound,
            position: 0,
            status: crate::media::MediaStatus::Stored,
            content_type: Some(content_type.into()),
            kind: Some(crate::media::MediaKind::Image),
            size: Some(size),
            width: None,
            height: None,
            error: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_resend_s_items_are_checked_against_the_limits_as_they_are_now() {
        let twilio = MediaLimits::for_provider(ProviderKind::Twilio);
        let two = [item("image/png", 3_000_000), item("image/jpeg", 1_000)];
        assert_eq!(check_again(&two, &twilio, ProviderKind::Twilio, Some(5_000_000)), Ok(()));
        // The channel's limits lowered since the first send: one item, 2000 bytes.
        let lowered = MediaLimits::for_channel(ProviderKind::Twilio, Some(2_000), Some(1));
        let err = check_again(&two, &lowered, ProviderKind::Twilio, Some(5_000_000)).unwrap_err();
        assert_eq!(err, MediaRefusal::TooMany { limit: 1 });
        let err = check_again(&two[..1], &lowered, ProviderKind::Twilio, Some(5_000_000)).unwrap_err();
        assert_eq!(err, MediaRefusal::TooLarge { limit: 2_000 });
        // Together over the provider's limit per message.
        let err = check_again(&two, &twilio, ProviderKind::Twilio, Some(3_000_500)).unwrap_err();
        assert!(matches!(err, MediaRefusal::TooLargeTogether { total: 3_001_000, .. }), "{err}");
        // A type the provider does not send, or none smsdesk keeps.
        let aws = MediaLimits::for_provider(ProviderKind::Aws);
        let err = check_again(&[item("image/webp", 10)], &aws, ProviderKind::Aws, None).unwrap_err();
        assert!(matches!(err, MediaRefusal::NotSentBy { .. }), "{err}");
        let err = check_again(&[item("text/html", 10)], &twilio, ProviderKind::Twilio, None).unwrap_err();
        assert!(matches!(err, MediaRefusal::NotAllowed { .. }), "{err}");
    }
}
