//! inbound-webhook: verify the provider's signature, parse, dedupe, and acknowledge only once every event
//! is durable: a text on the inbound queue, a delivery receipt applied to its message (or queued, when its
//! message is not known yet).

use crate::App;
use crate::error::ApiError;
use crate::services::receipts::{self, Receipt};
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use smsdesk_domain::events::{InboundEvent, Known};
use smsdesk_domain::{Channel, ChannelId, ProviderKind};
use smsdesk_ports::{QueueKind, QueueMessage};
use smsdesk_providers::{WebhookError, WebhookReply, WebhookRequest};
use subtle::ConstantTimeEq;

/// What the webhook answer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IntakeSummary {
    /// Events handed to the queue (a replay of an event not handled yet is among them: the queue drops it).
    pub queued: usize,
    /// Delivery receipts applied on arrival (moved their message forward, or found it already as far).
    pub applied: usize,
    /// Replays of events already handled, acknowledged without queueing.
    pub duplicates: usize,
    /// Of those queued, how many are customers' texts (the rest: delivery receipts).
    #[serde(skip)]
    pub texts: usize,
}

/// The one answer to every webhook refused before (or at) its signature check: an unknown provider or
/// channel, a channel of another provider, missing credentials, a missing or bad signature, a sandbox
/// webhook without the admin token. The caller learns nothing about which check failed; `reason` goes to
/// the log only.
fn refused(provider: &str, channel_id: &str, reason: &str) -> ApiError {
    tracing::warn!(provider, channel = channel_id, reason, "webhook rejected: not authenticated");
    ApiError::unauthorized(WEBHOOK_REFUSED)
}

/// The message of every 401 a webhook gets.
pub const WEBHOOK_REFUSED: &str = "webhook signature check failed";

/// The sandbox has no secret to sign with: its webhook takes the admin bearer token instead (in the shapes
/// that have one; behind API Gateway there is none, and sandbox webhooks are refused).
fn sandbox_token_ok(app: &App, request: &WebhookRequest<'_>) -> Result<(), &'static str> {
    let admin = app.admin_token().ok_or("no admin token in this shape")?;
    let header = request.header("authorization").ok_or("no Authorization header")?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or("Authorization is not 'Bearer <token>'")?;
    if bool::from(token.as_bytes().ct_eq(admin.expose_secret().as_bytes())) {
        Ok(())
    } else {
        Err("the bearer token is not the admin token")
    }
}

/// Verifies and parses a webhook for `channel_id`, then queues its events. Answers with what was queued
/// and the reply the provider expects (`None`: the standard JSON acknowledgement).
pub async fn receive_webhook(
    app: &App,
    provider: &str,
    channel_id: &str,
    request: &WebhookRequest<'_>,
) -> Result<(IntakeSummary, Option<WebhookReply>), ApiError> {
    let kind =
        ProviderKind::parse(provider).ok_or_else(|| refused(provider, channel_id, "unknown provider"))?;
    let channel = match app.store.channel_settings(&ChannelId::new(channel_id)).await? {
        Some(c) if c.provider == kind => c,
        Some(c) => {
            return Err(refused(provider, channel_id, &format!("the channel is a {} channel", c.provider)));
        }
        None => return Err(refused(provider, channel_id, "no such channel")),
    };
    // Signatures that cover the URL are checked against the URL the provider was given: the channel's own
    // `public_url` when the admin set one (a proxy or an API Gateway stage in front), with the query string
    // the request came with (Twilio adds `bodySHA256` to it).
    let public_url = channel.public_url.as_deref().map(|url| with_query(url, request.query()));
    let request = &WebhookRequest { url: public_url.as_deref().unwrap_or(request.url), ..request.clone() };
    let now = app.clock.now();
    let Some(credentials) = app.webhook_keys.get(app.secrets.as_ref(), &channel.id, now).await? else {
        tracing::error!(channel = %channel.id, "channel has no stored credentials");
        return Err(refused(provider, channel_id, "the channel has no stored credentials"));
    };
    // A provider that exists only in `smsdesk dev` (the sandbox) has no secret to sign with: its webhook
    // takes the admin token instead.
    if app.providers.get(kind.as_str()).is_none_or(|p| p.embedded_only()) {
        sandbox_token_ok(app, request).map_err(|reason| refused(provider, channel_id, reason))?;
    }
    let mut verified = app.providers.receive_webhook_online(&channel, &credentials, request, now).await;
    if matches!(verified, Err(WebhookError::Unauthorized(_)))
        && let Some(Some(fresh)) =
            app.webhook_keys.reread_if_stale(app.secrets.as_ref(), &channel.id, now).await?
    {
        // The copy in memory may predate a key rotation: check once more with the stored credentials.
        verified = app.providers.receive_webhook_online(&channel, &fresh, request, now).await;
    }
    let outcome = verified.map_err(|e| match e {
        WebhookError::Unauthorized(reason) => {
            refused(provider, channel_id, &format!("bad signature: {reason}"))
        }
        WebhookError::Malformed(reason) => {
            tracing::warn!(channel = %channel.id, provider = %kind, %reason, "webhook rejected: malformed");
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_webhook", reason)
        }
        WebhookError::MethodNotAllowed(method) => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{kind} does not call its webhook with {method}"),
        ),
        WebhookError::Unavailable(reason) => {
            tracing::warn!(channel = %channel.id, provider = %kind, %reason, "webhook not handled now: the provider retries");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "webhook_unavailable", reason)
        }
    })?;
    let events = follow_moved_numbers(app, &channel, outcome.events).await?;
    let summary = accept_events(app, &events).await?;
    crate::services::telemetry::texts_in(app, &channel.id, kind, summary.texts);
    Ok((summary, outcome.reply))
}

/// Texts the provider still delivers for a number that has left this channel (issue 9.9: a text in flight
/// when the number moved; the provider only let it through because the number left less than the grace
/// period ago) go on to the channel that has the number now, where the customer's open conversation went.
/// Delivery receipts stay: they apply to messages sent through this channel.
async fn follow_moved_numbers(
    app: &App,
    channel: &Channel,
    mut events: Vec<InboundEvent>,
) -> Result<Vec<InboundEvent>, ApiError> {
    let mut channels: Option<Vec<Channel>> = None;
    for event in &mut events {
        let InboundEvent::Message(message) = event else { continue };
        if message.channel_id != channel.id || channel.number(&message.to).is_some() {
            continue;
        }
        let list = match channels {
            Some(ref list) => list,
            None => channels.insert(app.store.list_channels().await?),
        };
        let Some(holder) = list.iter().find(|c| c.number(&message.to).is_some()) else {
            let reason = format!("number {} left this channel and is on no channel now", message.to.digits());
            tracing::warn!(channel = %channel.id, %reason, "webhook rejected: malformed");
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "malformed_webhook", reason));
        };
        tracing::info!(from = %channel.id, to = %holder.id, "late text for a moved number goes on to the channel that has it");
        message.channel_id = holder.id.clone();
    }
    Ok(events)
}

/// `url` (which has no query: see `channels::parse_public_url`) with the request's `query`.
fn with_query(url: &str, query: &str) -> String {
    if query.is_empty() { url.to_string() } else { format!("{url}?{query}") }
}

/// Takes a webhook's events durably, each before the 2xx:
/// - A text goes on the inbound queue (one durable write), unless it is a replay of a text already handled
///   ([`InboundEvent::known_by`]: a whole text by the message it was stored as, a part of a multipart text
///   by its dedupe key, which the router records once it has handled the part). So a failure anywhere
///   loses nothing: the provider retries, or the queue redelivers. A replay that comes before the text is
///   handled is sent again with the same deduplication id, and the queue drops it (FIFO deduplication, five
///   minutes); one later than both is handled again as a redelivery, which changes nothing.
/// - A delivery receipt is applied to its message here (its status write is the durable write; issue 12.4:
///   no queue message, no router invocation), and queued for the router only when no message of ours has
///   its reference yet (the send may not have recorded the provider's id). A replayed receipt changes
///   nothing: a status only moves forward.
pub async fn accept_events(app: &App, events: &[InboundEvent]) -> Result<IntakeSummary, ApiError> {
    let mut summary = IntakeSummary { queued: 0, applied: 0, duplicates: 0, texts: 0 };
    for event in events {
        let key = event.dedupe_key();
        let handled = match event.known_by() {
            Known::Message(id) => app.store.get_message(&id).await?.is_some(),
            Known::Key(key) => app.store.seen(&key, app.clock.now()).await?,
            Known::Not => false,
        };
        if handled {
            tracing::info!(%key, "replayed webhook acknowledged, nothing queued");
            summary.duplicates += 1;
            continue;
        }
        if let InboundEvent::Receipt(receipt) = event
            && receipts::apply(app, receipt).await? == Receipt::Applied
        {
            summary.applied += 1;
            continue;
        }
        let body = serde_json::to_string(event).map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("could not encode event: {e}"),
            )
        })?;
        app.queue
            .send(
                QueueKind::Inbound,
                QueueMessage { body, group: Some(event.group()), dedupe_id: Some(key.clone()) },
            )
            .await?;
        summary.queued += 1;
        summary.texts += usize::from(matches!(event, InboundEvent::Message(_)));
    }
    Ok(summary)
}
