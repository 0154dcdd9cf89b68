//! Media (MMS pictures, video, audio, files): what a provider announces, what we keep, and the checks every
//! item passes before it is kept, in or out. The type is decided by the bytes (`infer`), never by the
//! provider's or the uploader's header; an image's dimensions are read from its header (`imagesize`)
//! without decoding it, so a small file that would decompress to gigabytes is refused unread.

use crate::ids::{ConversationId, MessageId};
use crate::model::{Direction, ProviderKind, rfc3339};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// An item a provider announced with an inbound message (Twilio `MediaUrl{N}`, TeleSign `url_image_{N}`):
/// where to fetch it, and the type the provider claims (kept for the log; the bytes decide).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    /// The bytes are in the media store.
    Stored,
    /// Not kept: the fetch failed after its retries, or the item was refused; `error` says why.
    Failed,
}

/// How the transcript shows an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    File,
}

/// One media item of a conversation: an inbound item fetched from the provider (or failed, with the
/// reason), or an agent's upload (attached to a reply once `message_id` is set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaItem {
    /// `md_...`; for inbound items derived from the message and the item's position, so a redelivered
    /// event finds the item it kept the first time.
    pub id: String,
    pub conversation_id: ConversationId,
    /// The message it came with or goes out with (None: an upload not attached to a reply yet).
    pub message_id: Option<MessageId>,
    pub direction: Direction,
    /// Its place among its message's items (0 first).
    #[serde(default)]
    pub position: u32,
    pub status: MediaStatus,
    /// Sniffed from the bytes.
    pub content_type: Option<String>,
    pub kind: Option<MediaKind>,
    pub size: Option<u64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub error: Option<String>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

impl MediaItem {
    pub const PREFIX: &'static str = "md";

    /// The key of its bytes in the media store: `{conversation}/{id}`.
    pub fn object_key(&self) -> String {
        object_key(&self.conversation_id, &self.id)
    }

    /// The deterministic id of the `index`th item announced with inbound message `message`.
    pub fn inbound_id(message: &MessageId, index: usize) -> String {
        Self::derived_id(&format!("{message}:{index}"))
    }

    /// The deterministic id of the copy of an item that `message` carries again at `index` (a resend
    /// carries copies of the first message's items, each its own item of the new message), so that
    /// resending twice makes the same copies.
    pub fn copy_id(message: &MessageId, index: usize) -> String {
        Self::derived_id(&format!("{message}:copy:{index}"))
    }

    fn derived_id(seed: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(seed.as_bytes());
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        format!("{}_{hex}", Self::PREFIX)
    }
}

/// The key of an item's bytes in the media store.
pub fn object_key(conversation: &ConversationId, id: &str) -> String {
    format!("{conversation}/{id}")
}

/// Whether `s` can be a media item id (what the routes accept before looking anything up).
pub fn is_media_id(s: &str) -> bool {
    s.strip_prefix("md_").is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// The types smsdesk keeps and sends: what the MMS providers carry (Twilio's "accepted" list, TeleSign's
/// image/video/audio). Anything else is refused, whatever its header says.
pub const ALLOWED_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/bmp",
    "video/mp4",
    "video/3gpp",
    "video/3gpp2",
    "video/quicktime",
    "audio/mpeg",
    "audio/amr",
    "audio/mp4",
    "audio/ogg",
    "audio/x-wav",
    "application/pdf",
];

/// Size and count limits of one channel (its provider's, unless the channel sets lower ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaLimits {
    /// Largest item, in bytes.
    pub max_bytes: u64,
    /// Most items per message.
    pub max_items: u32,
    /// Largest image, in pixels (width x height): beyond it, an image is refused without decoding it.
    pub max_pixels: u64,
}

/// 40 megapixels: any phone camera's picture fits; a "decompression bomb" (a few KB that inflate to
/// gigapixels) does not.
pub const MAX_PIXELS: u64 = 40_000_000;

impl MediaLimits {
    /// The provider's limits: Twilio 5 MB and 10 items per message; TeleSign, Vonage and AWS MMS carry up to
    /// about 1 MB per message reliably (carrier limits; UNCONFIRMED beyond), 10 items.
    /// AWS End User Messaging sends one file per MMS, an image of up to 2 MB (other types up to 600 KB:
    /// [`crate::media_send::check_send`]).
    pub fn for_provider(provider: ProviderKind) -> Self {
        if provider == ProviderKind::Aws {
            let aws = crate::media_send::AWS_IMAGE_MAX_BYTES;
            return Self {
                max_bytes: aws,
                max_items: crate::media_send::AWS_MAX_ITEMS,
                max_pixels: MAX_PIXELS,
            };
        }
        let max_bytes = match provider {
            ProviderKind::Twilio => 5 * 1024 * 1024,
            ProviderKind::Sandbox => 5 * 1024 * 1024,
            _ => 1024 * 1024,
        };
        Self { max_bytes, max_items: 10, max_pixels: MAX_PIXELS }
    }

    /// The provider's limits, lowered by the channel's own where it sets them.
    pub fn for_channel(provider: ProviderKind, max_bytes: Option<u64>, max_items: Option<u32>) -> Self {
        let base = Self::for_provider(provider);
        Self {
            max_bytes: max_bytes.map_or(base.max_bytes, |m| m.min(base.max_bytes)),
            max_items: max_items.map_or(base.max_items, |m| m.min(base.max_items)),
            max_pixels: base.max_pixels,
        }
    }
}

/// What the bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspected {
    pub content_type: &'static str,
    pub kind: MediaKind,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Why an item is not kept (inbound) or not accepted (an agent's upload: HTTP 422 with this message).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaRefusal {
    #[error("empty file")]
    Empty,
    #[error("too large: over the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("too many attachments: the limit is {limit} per message")]
    TooMany { limit: u32 },
    #[error("unrecognized content: the bytes are none of the accepted types ({})", ALLOWED_TYPES.join(", "))]
    UnknownType,
    #[error("type {content_type} is not accepted (accepted: {})", ALLOWED_TYPES.join(", "))]
    NotAllowed { content_type: String },
    #[error("image of {width}x{height} pixels is over the limit of {limit} pixels")]
    TooManyPixels { width: u64, height: u64, limit: u64 },
    #[error("the image's header is unreadable")]
    BadImage,
    /// The provider sends no media of this type (AWS End User Messaging's MMS types).
    #[error("type {content_type} is not sent by {provider} (it sends: {accepted})")]
    NotSentBy { content_type: String, provider: &'static str, accepted: String },
    /// The items of one message together are over the provider's limit per message (Twilio: 5 MB).
    #[error(
        "too large together: the attachments add up to {total} bytes, over {provider}'s limit of {limit} bytes per message"
    )]
    TooLargeTogether { total: u64, limit: u64, provider: String },
    /// The provider's limit for this type is lower than the channel's (AWS: 600 KB for non-images).
    #[error("too large for {provider}: {content_type} is over its limit of {limit} bytes")]
    TooLargeForType { content_type: String, provider: &'static str, limit: u64 },
}

/// The major brand of an ISO base media file (MP4, 3GPP, M4A, QuickTime): the four bytes after the `ftyp`
/// box's type, at the start of the file.
fn ftyp_brand(buf: &[u8]) -> Option<&[u8]> {
    (buf.len() >= 12 && &buf[4..8] == b"ftyp").then(|| &buf[8..12])
}

/// 3GPP (`3gp4`, `3gp5`, `3gp6`, `3ge6`, `3gg6`, `3gs7`, ...): Android's MMS recordings.
fn is_3gpp(buf: &[u8]) -> bool {
    ftyp_brand(buf).is_some_and(|b| b.starts_with(b"3g") && b[2] != b'2')
}

/// 3GPP2 (`3g2a`, `3g2b`, `3g2c`): CDMA phones' recordings.
fn is_3gpp2(buf: &[u8]) -> bool {
    ftyp_brand(buf).is_some_and(|b| b.starts_with(b"3g2"))
}

/// MPEG-4 audio (`M4A `: iPhone voice memos and audio). `infer` names it `audio/m4a`, which is no registered
/// type: it is `audio/mp4` (RFC 4337), what providers take.
fn is_m4a(buf: &[u8]) -> bool {
    ftyp_brand(buf) == Some(b"M4A ")
}

/// Apple's MPEG-4 video (`M4V `): `infer`'s `video/x-m4v`, an MP4 file (`video/mp4`).
fn is_m4v(buf: &[u8]) -> bool {
    ftyp_brand(buf).is_some_and(|b| b == b"M4V " || b == b"M4VH" || b == b"M4VP")
}

/// `infer`'s matchers, after ours: the MPEG-4 family's brands it has none for, or names by a type no
/// provider lists.
static SNIFFER: std::sync::LazyLock<infer::Infer> = std::sync::LazyLock::new(|| {
    let mut sniffer = infer::Infer::new();
    sniffer.add("video/3gpp2", "3g2", is_3gpp2);
    sniffer.add("video/3gpp", "3gp", is_3gpp);
    sniffer.add("audio/mp4", "m4a", is_m4a);
    sniffer.add("video/mp4", "m4v", is_m4v);
    sniffer
});

/// The type of the bytes (None: nothing known), as providers name it.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    SNIFFER.get(bytes).map(|t| t.mime_type())
}

/// Checks an item's bytes against the limits: size, type by the bytes, and an image's pixel count from
/// its header. The header the item came with plays no part.
pub fn inspect(bytes: &[u8], limits: &MediaLimits) -> Result<Inspected, MediaRefusal> {
    if bytes.is_empty() {
        return Err(MediaRefusal::Empty);
    }
    if bytes.len() as u64 > limits.max_bytes {
        return Err(MediaRefusal::TooLarge { limit: limits.max_bytes });
    }
    let sniffed = sniff(bytes).ok_or(MediaRefusal::UnknownType)?;
    let content_type = ALLOWED_TYPES
        .iter()
        .copied()
        .find(|t| *t == sniffed)
        .ok_or_else(|| MediaRefusal::NotAllowed { content_type: sniffed.to_string() })?;
    let kind = match content_type.split('/').next() {
        Some("image") => MediaKind::Image,
        Some("video") => MediaKind::Video,
        Some("audio") => MediaKind::Audio,
        _ => MediaKind::File,
    };
    let (mut width, mut height) = (None, None);
    if kind == MediaKind::Image {
        let size = imagesize::blob_size(bytes).map_err(|_| MediaRefusal::BadImage)?;
        let (w, h) = (size.width as u64, size.height as u64);
        if w == 0 || h == 0 {
            return Err(MediaRefusal::BadImage);
        }
        if w.saturating_mul(h) > limits.max_pixels {
            return Err(MediaRefusal::TooManyPixels { width: w, height: h, limit: limits.max_pixels });
        }
        width = u32::try_from(w).ok();
        height = u32::try_from(h).ok();
    }
    Ok(Inspected { content_type, kind, width, height })
}

/// Checks the number of items of one message.
pub fn check_count(count: usize, limits: &MediaLimits) -> Result<(), MediaRefusal> {
    if count as u64 > u64::from(limits.max_items) {
        return Err(MediaRefusal::TooMany { limit: limits.max_items });
    }
    Ok(())
}

/// Checks the sizes of one outbound message's items, together, against its provider's limit per message
/// (`limit`: None when the provider has none beyond each item's).
pub fn check_total(
    sizes: impl IntoIterator<Item = u64>,
    limit: Option<u64>,
    provider: &str,
) -> Result<(), MediaRefusal> {
    let Some(limit) = limit else { return Ok(()) };
    let total = sizes.into_iter().fold(0u64, u64::saturating_add);
    if total > limit {
        return Err(MediaRefusal::TooLargeTogether { total, limit, provider: provider.to_string() });
    }
    Ok(())
}

/// Checks a channel's attachment settings against its provider's limits: `refused_text` is a text that can
/// be sent (1 to 1600 characters; absent for the default), `max_bytes` and `max_items` more than 0 and
/// within the provider's (a channel may lower them, never raise them).
pub fn validate_policy(
    policy: &crate::model::AttachmentPolicy,
    provider: &MediaLimits,
) -> Result<(), crate::validation::FieldError> {
    use crate::validation::FieldError;
    if let Some(text) = &policy.refused_text
        && crate::text::MessageText::parse(text.as_str()).is_err()
    {
        return Err(FieldError::new(
            "attachments.refused_text",
            format!(
                "must be 1 to {} characters (leave it out for the default)",
                crate::text::MAX_MESSAGE_CHARS
            ),
        ));
    }
    if let Some(text) = &policy.refused_text {
        crate::validation::check_free_text("attachments.refused_text", text)?;
    }
    if let Some(max) = policy.max_bytes
        && !(1..=provider.max_bytes).contains(&max)
    {
        return Err(FieldError::new(
            "attachments.max_bytes",
            format!("must be 1 to {} bytes (the provider's limit per item)", provider.max_bytes),
        ));
    }
    if let Some(max) = policy.max_items
        && !(1..=provider.max_items).contains(&max)
    {
        return Err(FieldError::new(
            "attachments.max_items",
            format!("must be 1 to {} (the provider's limit per message)", provider.max_items),
        ));
    }
    Ok(())
}

/// The default text sent (once per conversation) to a customer whose attachments the channel does not take.
pub const DEFAULT_ATTACHMENTS_REFUSED_TEXT: &str =
    "Sorry, we cannot receive pictures or files here. Please describe your request in a text message.";

impl fmt::Display for MediaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MediaStatus::Stored => "stored",
            MediaStatus::Failed => "failed",
        })
    }
}

/// Tiny valid images for tests (a 1x1 PNG, and a PNG header claiming 100000x100000 pixels).
pub mod samples {
    /// A complete 1x1 transparent PNG (67 bytes).
    pub const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00,
        0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01,
        0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    /// A PNG whose header says `width` x `height` (CRC not checked by the header reader): what a
    /// decompression bomb looks like before it is decoded.
    pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut png = PNG_1X1.to_vec();
        png[16..20].copy_from_slice(&width.to_be_bytes());
        png[20..24].copy_from_slice(&height.to_be_bytes());
        png
    }

    /// The start of an ISO base media file (MP4, 3GPP, M4A) whose major brand is `brand`: an `ftyp` box
    /// (major brand, minor version, compatible brands `isom` and the brand) and an empty `mdat` box.
    pub fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
        let mut f = vec![0x00, 0x00, 0x00, 0x18];
        f.extend_from_slice(b"ftyp");
        f.extend_from_slice(brand);
        f.extend_from_slice(&[0x00, 0x00, 0x02, 0x00]);
        f.extend_from_slice(b"isom");
        f.extend_from_slice(brand);
        f.extend_from_slice(&[0x00, 0x00, 0x00, 0x08]);
        f.extend_from_slice(b"mdat");
        f
    }

    /// The start of a JPEG (SOI, a JFIF APP0, an SOF0 of 2x3 pixels, EOI): enough for sniffing and size.
    pub fn jpeg_2x3() -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        j.extend_from_slice(b"JFIF\0");
        j.extend_from_slice(&[0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
        j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x03, 0x00, 0x02, 0x03]);
        j.extend_from_slice(&[0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
        j.extend_from_slice(&[0xFF, 0xD9]);
        j
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    fn limits() -> MediaLimits {
        MediaLimits { max_bytes: 1000, max_items: 2, max_pixels: 1_000_000 }
    }

    #[test]
    fn a_png_is_an_image_by_its_bytes() {
        let i = inspect(PNG_1X1, &limits()).unwrap();
        assert_eq!(i.content_type, "image/png");
        assert_eq!(i.kind, MediaKind::Image);
        assert_eq!((i.width, i.height), (Some(1), Some(1)));
    }

    #[test]
    fn a_jpeg_is_sized_from_its_header() {
        let i = inspect(&jpeg_2x3(), &limits()).unwrap();
        assert_eq!(i.content_type, "image/jpeg");
        assert_eq!((i.width, i.height), (Some(2), Some(3)));
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        let bomb = png_claiming(100_000, 100_000);
        let err = inspect(&bomb, &limits()).unwrap_err();
        assert_eq!(err, MediaRefusal::TooManyPixels { width: 100_000, height: 100_000, limit: 1_000_000 });
        assert!(err.to_string().contains("over the limit of 1000000 pixels"));
    }

    #[test]
    fn a_file_over_the_limit_is_refused_naming_it() {
        let mut big = PNG_1X1.to_vec();
        big.resize(1001, 0);
        let err = inspect(&big, &limits()).unwrap_err();
        assert_eq!(err.to_string(), "too large: over the limit of 1000 bytes");
    }

    #[test]
    fn bytes_of_another_type_are_refused_whatever_the_header_said() {
        // An ELF executable (what a "photo.jpg" may really be).
        let mut elf = vec![0x7F, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3E, 0];
        elf.resize(64, 0);
        assert!(matches!(inspect(&elf, &limits()), Err(MediaRefusal::NotAllowed { .. })));
        // HTML (a login page served instead of the picture) is recognized as such, and refused.
        assert_eq!(
            inspect(b"<html><body>login</body></html>", &limits()),
            Err(MediaRefusal::NotAllowed { content_type: "text/html".into() })
        );
        // Bytes of no known type at all.
        assert_eq!(inspect(&[0x00, 0x13, 0x37, 0x42, 0x99], &limits()), Err(MediaRefusal::UnknownType));
        assert_eq!(inspect(b"", &limits()), Err(MediaRefusal::Empty));
    }

    #[test]
    fn three_gpp_video_and_m4a_audio_are_the_types_channels_list() {
        for (brand, expected, kind) in [
            (b"3gp4", "video/3gpp", MediaKind::Video),
            (b"3gp5", "video/3gpp", MediaKind::Video),
            (b"3gp6", "video/3gpp", MediaKind::Video),
            (b"3gs7", "video/3gpp", MediaKind::Video),
            (b"3g2a", "video/3gpp2", MediaKind::Video),
            (b"3g2c", "video/3gpp2", MediaKind::Video),
            (b"M4A ", "audio/mp4", MediaKind::Audio),
            (b"M4V ", "video/mp4", MediaKind::Video),
            (b"isom", "video/mp4", MediaKind::Video),
            (b"mp42", "video/mp4", MediaKind::Video),
            (b"qt  ", "video/quicktime", MediaKind::Video),
        ] {
            let bytes = ftyp(brand);
            let i = inspect(&bytes, &limits()).unwrap_or_else(|e| panic!("{brand:?}: {e}"));
            assert_eq!((i.content_type, i.kind), (expected, kind), "{brand:?}");
            assert!(ALLOWED_TYPES.contains(&i.content_type));
        }
    }

    #[test]
    fn only_an_ftyp_box_makes_a_brand() {
        // "3gp4" elsewhere than an ftyp box's major brand is no 3GPP file.
        let mut not_ftyp = ftyp(b"3gp4");
        not_ftyp[4..8].copy_from_slice(b"free");
        assert_ne!(sniff(&not_ftyp), Some("video/3gpp"));
        assert_eq!(sniff(b"\0\0\0\x18ftyp3g"), None, "too short for a brand");
    }

    #[test]
    fn counts_over_the_limit_are_refused() {
        assert!(check_count(2, &limits()).is_ok());
        assert_eq!(check_count(3, &limits()), Err(MediaRefusal::TooMany { limit: 2 }));
    }

    #[test]
    fn a_messages_items_together_stay_within_the_providers_limit_per_message() {
        assert_eq!(check_total([2_500_000, 2_500_000], Some(5_000_000), "twilio"), Ok(()));
        let err = check_total([3_000_067, 3_000_067], Some(5_000_000), "twilio").unwrap_err();
        assert_eq!(
            err.to_string(),
            "too large together: the attachments add up to 6000134 bytes, over twilio's limit of 5000000 \
             bytes per message"
        );
        assert!(check_total([5_000_001], Some(5_000_000), "twilio").is_err(), "one item alone too");
        assert_eq!(check_total([u64::MAX, u64::MAX], None, "telesign"), Ok(()), "no limit per message");
        assert!(check_total([u64::MAX, 1], Some(5_000_000), "twilio").is_err(), "no overflow");
    }

    #[test]
    fn a_channel_may_lower_its_providers_limits_never_raise_them() {
        let l = MediaLimits::for_channel(ProviderKind::Twilio, Some(1000), Some(50));
        assert_eq!((l.max_bytes, l.max_items), (1000, 10));
    }

    #[test]
    fn attachment_settings_are_within_the_providers_limits_and_name_the_field() {
        use crate::model::AttachmentPolicy;
        let twilio = MediaLimits::for_provider(ProviderKind::Twilio);
        let check = |p: AttachmentPolicy| validate_policy(&p, &twilio).map_err(|e| e.to_string());
        let base = AttachmentPolicy { customer: true, agent: true, ..AttachmentPolicy::default() };
        assert_eq!(check(base.clone()), Ok(()));
        let ok = AttachmentPolicy {
            refused_text: Some("x".repeat(1600)),
            max_bytes: Some(twilio.max_bytes),
            max_items: Some(1),
            ..base.clone()
        };
        assert_eq!(check(ok), Ok(()));
        for text in ["y".repeat(1601), String::new(), "  ".into()] {
            let err = check(AttachmentPolicy { refused_text: Some(text), ..base.clone() }).unwrap_err();
            assert!(err.starts_with("attachments.refused_text: must be 1 to 1600 characters"), "{err}");
        }
        for max in [0, twilio.max_bytes + 1] {
            let err = check(AttachmentPolicy { max_bytes: Some(max), ..base.clone() }).unwrap_err();
            assert_eq!(
                err,
                "attachments.max_bytes: must be 1 to 5242880 bytes (the provider's limit per item)"
            );
        }
        for max in [0, 11] {
            let err = check(AttachmentPolicy { max_items: Some(max), ..base.clone() }).unwrap_err();
            assert_eq!(err, "attachments.max_items: must be 1 to 10 (the provider's limit per message)");
        }
        // AWS End User Messaging sends one file per message.
        let aws = MediaLimits::for_provider(ProviderKind::Aws);
        let two = AttachmentPolicy { max_items: Some(2), ..base };
        assert!(validate_policy(&two, &aws).is_err());
    }

    #[test]
    fn inbound_ids_are_stable_and_valid() {
        let m = MessageId::new("msg_1");
        assert_eq!(MediaItem::inbound_id(&m, 0), MediaItem::inbound_id(&m, 0));
        assert_ne!(MediaItem::inbound_id(&m, 0), MediaItem::inbound_id(&m, 1));
        assert!(is_media_id(&MediaItem::inbound_id(&m, 0)));
        assert!(!is_media_id("md_../etc"));
        assert!(!is_media_id("x"));
    }
}
