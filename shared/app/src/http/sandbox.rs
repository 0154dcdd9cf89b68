//! The sandbox provider's routes (embedded shape only): play the customer with curl, read what was "sent".

use crate::App;
use crate::auth::{Admin, Principal};
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use crate::http::views::{OutboxList, OutboxView, SandboxAccepted};
use crate::services::intake;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use smsdesk_domain::events::{InboundEvent, InboundMessage};
use smsdesk_domain::*;
use std::sync::Arc;
use utoipa::ToSchema;

/// Adds the sandbox routes to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router.route("/v1/sandbox/inbound", post(inbound)).route("/v1/sandbox/outbox", get(outbox))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InboundBody {
    channel_id: String,
    from: String,
    to: String,
    text: String,
}

/// A customer's text, as if the provider had called the webhook (`smsdesk dev` only; admin).
#[utoipa::path(post, path = "/v1/sandbox/inbound", tag = "sandbox", request_body = InboundBody,
    responses((status = 202, description = "Queued", body = SandboxAccepted)))]
pub(crate) async fn inbound(
    State(app): State<Arc<App>>,
    _: Admin,
    Body(body): Body<InboundBody>,
) -> ApiResult<(StatusCode, Json<SandboxAccepted>)> {
    let channel = app
        .store
        .get_channel(&ChannelId::new(body.channel_id.clone()))
        .await?
        .ok_or_else(|| ApiError::field("channel_id", format!("no channel '{}'", body.channel_id)))?;
    let from = Phone::parse(&body.from).map_err(|e| ApiError::field("from", e))?;
    let to = Phone::parse(&body.to).map_err(|e| ApiError::field("to", e))?;
    if channel.number(&to).is_none() {
        return Err(ApiError::field("to", format!("{to} is not a number of channel '{}'", channel.id)));
    }
    if body.text.is_empty() {
        return Err(ApiError::field("text", "must not be empty"));
    }
    let event = InboundEvent::Message(InboundMessage {
        channel_id: channel.id.clone(),
        provider_message_id: app.ids.new_id("sbx_in_"),
        from,
        to,
        text: body.text,
        received_at: app.clock.now(),
        part: None,
        media: Vec::new(),
    });
    let summary = intake::accept_events(&app, std::slice::from_ref(&event)).await?;
    // Counted as a webhook's text is (the demo's texts show on /metrics as the provider's would).
    crate::services::telemetry::texts_in(&app, &channel.id, channel.provider, summary.texts);
    Ok((
        StatusCode::ACCEPTED,
        Json(SandboxAccepted { status: "accepted".into(), queued: summary.queued as u64 }),
    ))
}

/// What the sandbox provider "sent" (`smsdesk dev` only; admin).
#[utoipa::path(get, path = "/v1/sandbox/outbox", tag = "sandbox",
    responses((status = 200, description = "The sends, oldest first", body = OutboxList)))]
pub(crate) async fn outbox(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<OutboxList>> {
    who.require_admin()?;
    let items = app.store.list_outbox().await?;
    Ok(Json(OutboxList { items: items.iter().map(OutboxView::from).collect() }))
}
