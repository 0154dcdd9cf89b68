//! inbound-webhook: verify the provider's signature, parse, dedupe, and acknowledge only once every event
//! is durably on the inbound queue.

use crate::App;
use crate::error::ApiError;
use axum::http::StatusCode;
use smsdesk_domain::events::InboundEvent;
use smsdesk_domain::{ChannelId, ProviderKind};
use smsdesk_ports::{QueueKind, QueueMessage};
use smsdesk_providers::{WebhookError, WebhookReply, WebhookRequest};

/// What the webhook answer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IntakeSummary {
    pub queued: usize,
    pub duplicates: usize,
}

/// Verifies and parses a webhook for `channel_id`, then queues its events. Answers with what was queued
/// and the reply the provider expects (`None`: the standard JSON acknowledgement).
pub async fn receive_webhook(
    app: &App,
    provider: &str,
    channel_id: &str,
    request: &WebhookRequest<'_>,
) -> Result<(IntakeSummary, Option<WebhookReply>), ApiError> {
    let kind = ProviderKind::parse(provider)
        .ok_or_else(|| ApiError::not_found(format!("no provider named '{provider}'")))?;
    let channel_id = ChannelId::new(channel_id);
    let channel = app
        .store
        .get_channel(&channel_id)
        .await?
        .filter(|c| c.provider == kind)
        .ok_or_else(|| ApiError::not_found(format!("no {kind} channel '{channel_id}'")))?;
    let credentials = app.secrets.get_credentials(&channel.id).await?.ok_or_else(|| {
        tracing::error!(channel = %channel.id, "channel has no stored credentials");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "channel has no credentials")
    })?;
    let outcome = app.providers.receive_webhook(&channel, &credentials, request, app.clock.now()).map_err(|e| match e {
        WebhookError::Unauthorized(reason) => {
            tracing::warn!(channel = %channel.id, provider = %kind, %reason, "webhook rejected: bad signature");
            ApiError::unauthorized(format!("signature check failed: {reason}"))
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
    })?;
    Ok((enqueue_events(app, &outcome.events).await?, outcome.reply))
}

/// Puts events on the inbound queue, skipping those already queued (replays). A dedupe key is recorded only
/// after the queue has the event, so a failure here loses nothing: the provider retries.
pub async fn enqueue_events(app: &App, events: &[InboundEvent]) -> Result<IntakeSummary, ApiError> {
    let mut summary = IntakeSummary { queued: 0, duplicates: 0 };
    for event in events {
        let key = event.dedupe_key();
        let now = app.clock.now();
        if app.store.seen(&key, now).await? {
            tracing::info!(%key, "replayed webhook acknowledged, nothing queued");
            summary.duplicates += 1;
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
        app.store.remember(&key, now, app.config.dedupe_ttl).await?;
        summary.queued += 1;
    }
    Ok(summary)
}
