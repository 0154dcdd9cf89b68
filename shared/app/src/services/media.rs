//! Media (MMS), in and out.
//!
//! In: the router files a customer's text and does everything the text asks for without waiting on its
//! media (consent, automated messages, routing); then [`receive`] fetches each item the provider announced,
//! at once (providers' URLs expire): only from the provider's own media host, with its credentials sent there
//! only (a redirect is followed without them: `smsdesk_providers::media`); at most the channel's size and
//! count; the type decided by the bytes and an image's pixel count read from its header. A fetch that
//! fails is tried [`FETCH_ATTEMPTS`] times, then kept as a failed item with the reason, which the transcript
//! shows; nothing is dropped silently. With customer attachments off, nothing is fetched or kept and the
//! customer is told once per conversation (a system message through the normal outbound path).
//!
//! Out: an agent uploads an item ([`upload`], `POST /v1/conversations/{id}/media`), then names its id in a
//! reply ([`reply_with_media`]); outbound-send gives the provider a short-lived link to each
//! ([`send_links`]). Agent attachments off, or a provider that carries no media: refused.

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::views::{MediaSummary, MediaView};
use crate::services::conversations::{Need, authorize};
use crate::services::idempotency::{self, IdempotencyKey};
use crate::services::{consent, crm, outbound};
use axum::http::StatusCode;
use serde_json::json;
use smsdesk_domain::media::{
    MediaItem, MediaLimits, MediaRef, MediaRefusal, MediaStatus, check_count, check_total, inspect,
};
use smsdesk_domain::media_send;
use smsdesk_domain::*;
use smsdesk_ports::{MediaClaim, MediaStore, PortError, PortResult};
use smsdesk_providers::media::{FetchError, fetch};
use std::time::Duration;

/// Tries of one fetch that fails for a reason worth retrying (unreachable host, 5xx, 429).
pub const FETCH_ATTEMPTS: u32 = 3;
/// The first wait between tries (then doubled).
const FETCH_RETRY_DELAY: Duration = Duration::from_millis(250);
/// The most time one message's media may take (well inside the router's function timeout): items not
/// fetched by then are shown failed, with this reason, rather than holding the customer's queue.
pub const MEDIA_BUDGET: Duration = Duration::from_secs(15);

/// Fetches and keeps the media announced with an inbound text (idempotent: an item kept or failed the
/// first time is not fetched again on a redelivery).
pub async fn receive(
    app: &App,
    channel: &Channel,
    conversation: &Conversation,
    message_id: &MessageId,
    refs: &[MediaRef],
) -> PortResult<()> {
    if refs.is_empty() {
        return Ok(());
    }
    if !channel.attachments.customer {
        tracing::info!(conversation = %conversation.id, items = refs.len(), "customer attachments are off on this channel: media not kept");
        return tell_not_accepted(app, channel, conversation).await;
    }
    let Some(media) = app.media() else {
        tracing::error!(conversation = %conversation.id, items = refs.len(), "no media store in this shape: media not kept");
        return Ok(());
    };
    let provider = app.providers.get(channel.provider.as_str());
    let origins = provider.map(|p| p.media_origins(channel)).unwrap_or_default();
    let credentials = app.secrets.get_credentials(&channel.id).await?;
    let authorization = match (provider, &credentials) {
        (Some(p), Some(c)) => p.media_authorization(c),
        _ => None,
    };
    let limits = channel.media_limits();
    let deadline = tokio::time::Instant::now() + MEDIA_BUDGET;
    let mut kept = Vec::new();
    let mut new_items = false;
    for (index, r) in refs.iter().enumerate() {
        let id = MediaItem::inbound_id(message_id, index);
        // Kept on an earlier delivery (one that failed after it): listed again, not fetched again.
        if let Some(existing) = media.get_item(&conversation.id, &id).await? {
            kept.push(existing);
            continue;
        }
        let outcome = if check_count(index + 1, &limits).is_err() {
            Err(MediaRefusal::TooMany { limit: limits.max_items }.to_string())
        } else if tokio::time::Instant::now() >= deadline {
            Err(format!("not fetched: the message's media took over {} s", MEDIA_BUDGET.as_secs()))
        } else {
            fetch_checked(app, &r.url, &origins, authorization.as_ref(), &limits, deadline).await
        };
        let mut item = MediaItem {
            id,
            conversation_id: conversation.id.clone(),
            message_id: Some(message_id.clone()),
            direction: Direction::Inbound,
            position: u32::try_from(index).unwrap_or(u32::MAX),
            status: MediaStatus::Failed,
            content_type: None,
            kind: None,
            size: None,
            width: None,
            height: None,
            error: None,
            created_at: app.clock.now(),
        };
        match outcome {
            Ok((inspected, bytes)) => {
                item.status = MediaStatus::Stored;
                item.content_type = Some(inspected.content_type.to_string());
                item.kind = Some(inspected.kind);
                item.size = Some(bytes.len() as u64);
                item.width = inspected.width;
                item.height = inspected.height;
                media.put_object(&item.object_key(), inspected.content_type, bytes).await?;
            }
            Err(reason) => {
                tracing::warn!(conversation = %conversation.id, media_id = %item.id, %reason, "customer media not kept");
                item.error = Some(reason);
            }
        }
        media.put_item(&item).await?;
        new_items = true;
        kept.push(item);
    }
    if new_items {
        // The text was filed (and shown) before its media were fetched: a change of the message tells the
        // console to read it again, with them.
        app.store.touch_message(message_id, app.clock.now()).await?;
    }
    if !kept.is_empty() {
        let detail = json!({"message_id": message_id, "items": kept.iter().map(summary).collect::<Vec<_>>()});
        // One entry per message, whichever delivery of it writes it.
        crm::timeline_once(app, &conversation.id, &format!("media:{message_id}"), "media_received", detail)
            .await?;
    }
    Ok(())
}

/// An item as the CRM and the export list it (no link).
pub fn summary(item: &MediaItem) -> MediaSummary {
    MediaSummary::from(item)
}

/// One fetch with its retries, then the checks on the bytes. Err: the reason shown in the transcript.
async fn fetch_checked(
    app: &App,
    url: &str,
    origins: &[String],
    authorization: Option<&secrecy::SecretString>,
    limits: &MediaLimits,
    deadline: tokio::time::Instant,
) -> Result<(media::Inspected, Vec<u8>), String> {
    let client = app.media_http()?;
    let mut delay = FETCH_RETRY_DELAY;
    let mut attempt = 1;
    let fetched = loop {
        match fetch(client, url, origins, authorization, limits.max_bytes).await {
            Ok(f) => break f,
            Err(FetchError::Refused(reason)) => return Err(reason),
            Err(FetchError::Transient(reason))
                if attempt >= FETCH_ATTEMPTS || tokio::time::Instant::now() + delay >= deadline =>
            {
                return Err(format!("gave up after {attempt} attempts: {reason}"));
            }
            Err(FetchError::Transient(reason)) => {
                tracing::info!(attempt, %reason, "media fetch failed; trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
        }
    };
    let inspected = inspect(&fetched.bytes, limits).map_err(|r| r.to_string())?;
    if let Some(claimed) = fetched.claimed_type.as_deref()
        && !claimed.starts_with(inspected.content_type)
    {
        tracing::info!(
            claimed,
            sniffed = inspected.content_type,
            "media type claimed by the host differs from its bytes; the bytes decide"
        );
    }
    Ok((inspected, fetched.bytes))
}

/// The id of the one "attachments are not accepted" message of a conversation: queuing it twice sends it
/// once.
fn not_accepted_id(conversation: &ConversationId) -> MessageId {
    MessageId::new(format!("{}{conversation}-no-attachments", MessageId::PREFIX))
}

/// Tells the customer, once per conversation, that the channel does not take attachments. A customer who
/// opted out (with this very text, or before) is not told, and that is a normal outcome, not a failure:
/// nothing is queued, so the notice is still theirs should they opt in again in this conversation.
async fn tell_not_accepted(app: &App, channel: &Channel, conversation: &Conversation) -> PortResult<()> {
    let id = not_accepted_id(&conversation.id);
    if app.store.get_message(&id).await?.is_some() {
        return Ok(());
    }
    let (number, customer) = (&conversation.channel_number, &conversation.customer);
    if consent::refusal(app, number, customer, None).await?.is_some() {
        tracing::info!(conversation = %conversation.id, "attachments not accepted; the customer opted out, so is not told");
        return Ok(());
    }
    let text = MessageText::parse(channel.attachments.refused_text())
        .or_else(|_| MessageText::parse(media::DEFAULT_ATTACHMENTS_REFUSED_TEXT))
        .map_err(|e| PortError::Backend(format!("attachments-refused text: {e}")))?;
    outbound::queue_system(app, id, conversation, text)
        .await
        .map_err(|e| PortError::Unavailable(e.message))?;
    Ok(())
}

/// What the transcript's reply box may attach on this channel: the answer [`agent_may_attach`] gives, and
/// the channel's limits.
pub fn reply_attachments(app: &App, channel: &Channel) -> crate::http::views::ReplyAttachments {
    let limits = channel.media_limits();
    let refusal = agent_may_attach(app, channel).err();
    crate::http::views::ReplyAttachments {
        allowed: refusal.is_none(),
        reason: refusal.map(|e| e.message),
        max_bytes: limits.max_bytes,
        max_items: limits.max_items,
        types: smsdesk_domain::media_send::types(channel.provider).iter().map(|t| t.to_string()).collect(),
    }
}

/// Whether agents may attach media on this channel: 403 when the channel's toggle is off, 422 when its
/// provider carries no media.
fn agent_may_attach(app: &App, channel: &Channel) -> ApiResult<()> {
    if !channel.attachments.agent {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "attachments_disabled",
            format!(
                "channel '{}' does not allow agents to send attachments (attachments.agent is off)",
                channel.id
            ),
        ));
    }
    let support = app.providers.get(channel.provider.as_str()).map(|p| p.media_support());
    if !support.is_some_and(|s| s.outbound) {
        let why = support.map_or("this provider carries no media (MMS)", |s| s.outbound_refusal());
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "attachments_unsupported",
            format!("provider {} carries no media on this channel: {why}", channel.provider),
        ));
    }
    // A provider that sends media only from our S3 bucket (AWS End User Messaging) cannot send from the
    // embedded shape's folder: refused here rather than failing at the send.
    let from_s3 = app.providers.get(channel.provider.as_str()).is_some_and(|p| p.media_from_s3());
    if from_s3 && app.media().is_some_and(|m| m.s3_location(&format!("{}/probe", channel.id)).is_none()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "attachments_unsupported",
            format!(
                "provider {} sends media only from the S3 media bucket of the AWS deployment; this \
                 deployment keeps media in a local folder, so send the text without attachments",
                channel.provider
            ),
        ));
    }
    Ok(())
}

fn media_store(app: &App) -> ApiResult<&dyn MediaStore> {
    app.media().ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "attachments_unsupported",
            "no media store is configured",
        )
    })
}

/// The conversation's channel, when its agents may attach media there (else the refusal).
async fn attachable_channel(app: &App, conversation: &Conversation) -> ApiResult<Channel> {
    let channel = app
        .store
        .get_channel(&conversation.channel_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no channel '{}'", conversation.channel_id)))?;
    agent_may_attach(app, &channel)?;
    Ok(channel)
}

async fn open_for_reply(app: &App, who: &Principal, id: &str) -> ApiResult<(Conversation, Channel)> {
    let conversation = authorize(app, who, id, Need::Write).await?;
    if conversation.state == ConversationState::Closed {
        return Err(ApiError::conflict(
            "conversation_closed",
            format!("conversation '{}' is closed", conversation.id),
        ));
    }
    let channel = attachable_channel(app, &conversation).await?;
    Ok((conversation, channel))
}

/// The most bytes one outbound message's media may add up to on `provider` (None: no limit beyond each item's).
pub fn bytes_per_message(app: &App, provider: ProviderKind) -> Option<u64> {
    app.providers.get(provider.as_str()).and_then(|p| p.media_bytes_per_message())
}

fn refused(r: MediaRefusal) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "media_refused", format!("media: {r}"))
}

/// An agent's upload for a reply on conversation `id`: checked (size, type by the bytes, pixels) and kept,
/// not attached to any message yet. 422 naming the limit it broke.
pub async fn upload(app: &App, who: &Principal, id: &str, bytes: Vec<u8>) -> ApiResult<MediaItem> {
    let (conversation, channel) = open_for_reply(app, who, id).await?;
    let media = media_store(app)?;
    let inspected = inspect(&bytes, &channel.media_limits()).map_err(refused)?;
    media_send::check_send(channel.provider, inspected.content_type, bytes.len() as u64).map_err(refused)?;
    // An item over the provider's limit per message could never go out, even alone.
    check_total([bytes.len() as u64], bytes_per_message(app, channel.provider), channel.provider.as_str())
        .map_err(refused)?;
    let item = MediaItem {
        id: format!("{}_{}", MediaItem::PREFIX, uuid::Uuid::new_v4().simple()),
        conversation_id: conversation.id.clone(),
        message_id: None,
        direction: Direction::Outbound,
        position: 0,
        status: MediaStatus::Stored,
        content_type: Some(inspected.content_type.to_string()),
        kind: Some(inspected.kind),
        size: Some(bytes.len() as u64),
        width: inspected.width,
        height: inspected.height,
        error: None,
        created_at: app.clock.now(),
    };
    media.put_object(&item.object_key(), inspected.content_type, bytes).await?;
    media.put_item(&item).await?;
    tracing::info!(conversation = %conversation.id, media_id = %item.id, size = item.size, "agent media uploaded");
    Ok(item)
}

/// A reply carrying uploaded media (`media`: ids from [`upload`] on this conversation, not yet sent). The
/// items are attached to the message before it is queued, so the send always sees them.
pub async fn reply_with_media(
    app: &App,
    who: &Principal,
    id: &str,
    text: &str,
    media_ids: &[String],
    key: Option<&IdempotencyKey>,
) -> ApiResult<Message> {
    let (conversation, channel) = open_for_reply(app, who, id).await?;
    let text = MessageText::parse(text)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", format!("text: {e}")))?;
    smsdesk_domain::validation::check_free_text("text", text.as_str())?;
    check_count(media_ids.len(), &channel.media_limits()).map_err(refused)?;
    let store = media_store(app)?;
    let mut items = Vec::new();
    for (position, media_id) in media_ids.iter().enumerate() {
        let unknown =
            || ApiError::field("media", format!("no uploaded media '{media_id}' in this conversation"));
        if !media::is_media_id(media_id) {
            return Err(unknown());
        }
        if media_ids[..position].contains(media_id) {
            return Err(ApiError::field("media", format!("names media '{media_id}' twice")));
        }
        let item = store.get_item(&conversation.id, media_id).await?.ok_or_else(unknown)?;
        if item.direction != Direction::Outbound || item.status != MediaStatus::Stored {
            return Err(unknown());
        }
        items.push((position, item));
    }
    // The provider's limit on the message's media together (Twilio: 5 MB), before anything is attached.
    let sizes = items.iter().map(|(_, item)| item.size.unwrap_or(0));
    check_total(sizes, bytes_per_message(app, channel.provider), channel.provider.as_str())
        .map_err(refused)?;
    // The key is claimed once the request is known good: one refused above may be corrected and sent
    // again under the same key.
    let message_id = match key {
        Some(key) => {
            let mut parts = vec!["reply", conversation.id.as_str(), text.as_str()];
            parts.extend(media_ids.iter().map(String::as_str));
            idempotency::claim(app, who, key, idempotency::fingerprint(&parts)).await?.message_id
        }
        None => MessageId::new(app.ids.new_id(MessageId::PREFIX)),
    };
    for (_, item) in &items {
        if let Some(other) = item.message_id.as_ref().filter(|m| **m != message_id) {
            return Err(claimed_by(&item.id, other));
        }
    }
    // Each upload goes out with one reply: the claim, atomic in the store, decides between replies racing
    // for one (the records read above may be stale); the loser is refused and nothing of it is queued.
    if let MediaClaim::Taken { media_id, message } =
        app.store.claim_media(&conversation.id, media_ids, &message_id, app.clock.now()).await?
    {
        return Err(claimed_by(&media_id, &message));
    }
    for (position, mut item) in items {
        item.message_id = Some(message_id.clone());
        item.position = u32::try_from(position).unwrap_or(u32::MAX);
        store.put_item(&item).await?;
    }
    let carried = media_ids.to_vec();
    outbound::queue_reply_as(app, message_id, &conversation, text, Author::Agent, who.agent_id(), carried)
        .await
}

/// The refusal of a reply naming an upload that another reply took: 409 `in_use`, naming both.
fn claimed_by(media_id: &str, message: &MessageId) -> ApiError {
    ApiError::conflict(
        "in_use",
        format!(
            "media: '{media_id}' goes out with message '{message}' already; an upload is sent with one reply \
             (upload it again to send it once more)"
        ),
    )
}

/// The ids of the media items `message` carried: those it names, or for a message stored before messages
/// named them, the items attached to it.
async fn carried_by(store: &dyn MediaStore, message: &Message) -> PortResult<Vec<String>> {
    if !message.media.is_empty() {
        return Ok(message.media.clone());
    }
    let mut items: Vec<MediaItem> = store
        .list_items(&message.conversation_id)
        .await?
        .into_iter()
        .filter(|i| i.direction == Direction::Outbound && i.message_id.as_ref() == Some(&message.id))
        .collect();
    items.sort_by_key(|i| i.position);
    Ok(items.into_iter().map(|i| i.id).collect())
}

/// The refusal of a resend whose first message's attachment `media_id` can no longer be sent.
fn gone(original: &Message, media_id: &str) -> ApiError {
    ApiError::conflict(
        "not_resendable",
        format!(
            "message '{}' cannot be resent with its attachments: media '{media_id}' is no longer stored \
             (deleted by the media retention); upload it again and send a new reply",
            original.id
        ),
    )
}

/// The media a resend (`resend`, the new message's id) of `original` carries: a copy of each item the
/// first message carried, attached to the new message, after the same checks a reply passes (the channel's
/// attachment settings and limits and the provider's, as they are now). None for a text. Refused, rather
/// than sent as text only, when an item is gone (the retention deleted it) or may no longer be sent.
pub async fn carry_again(
    app: &App,
    conversation: &Conversation,
    original: &Message,
    resend: &MessageId,
) -> ApiResult<Vec<String>> {
    if original.author != Author::Agent {
        return Ok(Vec::new());
    }
    let ids = match app.media() {
        Some(store) => carried_by(store, original).await?,
        None => original.media.clone(),
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let store = media_store(app)?;
    let channel = attachable_channel(app, conversation).await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in &ids {
        let item = store
            .get_item(&conversation.id, id)
            .await?
            .filter(|i| i.direction == Direction::Outbound && i.status == MediaStatus::Stored)
            .ok_or_else(|| gone(original, id))?;
        items.push(item);
    }
    let per_message = bytes_per_message(app, channel.provider);
    media_send::check_again(&items, &channel.media_limits(), channel.provider, per_message)
        .map_err(refused)?;
    // Every item's bytes are read before any copy is written: a resend is refused whole or carries all.
    let mut objects = Vec::with_capacity(items.len());
    for item in &items {
        objects.push(store.get_object(&item.object_key()).await?.ok_or_else(|| gone(original, &item.id))?);
    }
    let now = app.clock.now();
    let ids: Vec<String> = (0..items.len()).map(|position| MediaItem::copy_id(resend, position)).collect();
    // The copies are the resend's own (their ids derive from it), claimed for it like any reply's items.
    if let MediaClaim::Taken { media_id, message } =
        app.store.claim_media(&conversation.id, &ids, resend, now).await?
    {
        return Err(claimed_by(&media_id, &message));
    }
    let mut copies = Vec::with_capacity(items.len());
    for (position, (item, object)) in items.into_iter().zip(objects).enumerate() {
        let copy = MediaItem {
            id: MediaItem::copy_id(resend, position),
            message_id: Some(resend.clone()),
            position: u32::try_from(position).unwrap_or(u32::MAX),
            created_at: now,
            ..item
        };
        store.put_object(&copy.object_key(), &object.content_type, object.bytes).await?;
        store.put_item(&copy).await?;
        copies.push(copy.id);
    }
    Ok(copies)
}

/// The links a provider fetches an outbound message's media by. Err: the reason the message cannot go out
/// (its provider carries no media).
pub async fn send_links(
    app: &App,
    channel: &Channel,
    message: &Message,
) -> PortResult<Result<Vec<String>, String>> {
    if message.direction != Direction::Outbound || message.author != Author::Agent {
        return Ok(Ok(Vec::new()));
    }
    let Some(store) = app.media() else {
        if message.media.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        return Ok(Err("not sent: the reply carries media and this deployment keeps none".into()));
    };
    // The items the reply names, each still stored and attached to it: a reply that asked for media goes
    // out with all of it, or fails with the reason, never as its text alone.
    let mut items = Vec::new();
    for id in carried_by(store, message).await? {
        match store.get_item(&message.conversation_id, &id).await? {
            Some(item)
                if item.status == MediaStatus::Stored && item.message_id.as_ref() == Some(&message.id) =>
            {
                items.push(item);
            }
            Some(item) if item.status == MediaStatus::Stored => {
                let other = item.message_id.map_or_else(|| "no message".into(), |m| format!("message '{m}'"));
                return Ok(Err(format!(
                    "not sent: its attachment '{id}' is attached to {other}, not to this reply"
                )));
            }
            _ => {
                return Ok(Err(format!(
                    "not sent: its attachment '{id}' is no longer stored (deleted by the media retention)"
                )));
            }
        }
    }
    if items.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let Some(provider) = app.providers.get(channel.provider.as_str()).filter(|p| p.sends_media()) else {
        return Ok(Err(format!("provider {} carries no media", channel.provider)));
    };
    items.sort_by_key(|i| i.position);
    let now = app.clock.now();
    let mut links = Vec::new();
    for item in &items {
        if provider.media_from_s3() {
            // The object's S3 URI: the provider reads it from our bucket with the sender's role.
            match store.s3_location(&item.object_key()) {
                Some(location) => links.push(location),
                None => {
                    return Ok(Err(format!(
                        "provider {} sends media only from an S3 bucket, and this media store is none",
                        channel.provider
                    )));
                }
            }
        } else {
            links.push(store.link(&item.object_key(), app.config.media_send_ttl, now).await?);
        }
    }
    Ok(Ok(links))
}

/// An item as the transcript shows it: a short-lived link for a stored one (only ever built after the
/// caller was authorized for the conversation), the reason for a failed one.
pub async fn view(app: &App, item: &MediaItem) -> PortResult<MediaView> {
    let mut v = MediaView { summary: summary(item), url: None, url_expires_at: None };
    if let (MediaStatus::Stored, Some(store)) = (item.status, app.media()) {
        let now = app.clock.now();
        let ttl = app.config.media_view_ttl;
        v.url = Some(store.link(&item.object_key(), ttl, now).await?);
        let expires = now + time::Duration::seconds(i64::try_from(ttl.as_secs()).unwrap_or(0));
        v.url_expires_at = expires.format(&time::format_description::well_known::Rfc3339).ok();
    }
    Ok(v)
}

/// A conversation's items (none without a media store).
pub async fn items(app: &App, conversation: &ConversationId) -> PortResult<Vec<MediaItem>> {
    match app.media() {
        Some(store) => store.list_items(conversation).await,
        None => Ok(Vec::new()),
    }
}
