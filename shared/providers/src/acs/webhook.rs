//! ACS inbound through Event Grid: a JSON array of events (Event Grid schema), or CloudEvents 1.0 (one event,
//! or a batch array). Event Grid does not sign what it delivers, so every request must carry the channel's
//! `event_grid_secret`, in the endpoint URL's `secret` query parameter (or an `x-smsdesk-secret` header set
//! as a delivery property), compared in constant time before anything is parsed. The subscription's
//! handshake is answered either way it comes: the Event Grid schema's validation event with
//! `{"validationResponse": <validationCode>}`, the CloudEvents schema's `OPTIONS` (the CloudEvents webhook
//! abuse protection) with 200 and `WebHook-Allowed-Origin` naming the `WebHook-Request-Origin` it gave.
//! `SMSReceived` events become texts and `SMSDeliveryReportReceived` events receipts. Keys of `data` are read
//! case-insensitively (Azure's examples use PascalCase, its SDK models camelCase).

use super::credentials::AcsCredentials;
use crate::{WebhookError, WebhookOutcome, WebhookReply, WebhookRequest};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use smsdesk_domain::events::{DeliveryReceipt, InboundEvent, InboundMessage};
use smsdesk_domain::{Channel, MessageStatus, Phone};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// The query parameter of the Event Grid endpoint URL carrying the channel's secret.
pub const SECRET_PARAM: &str = "secret";
/// The header alternative (an Event Grid delivery property).
pub const SECRET_HEADER: &str = "x-smsdesk-secret";

pub const VALIDATION_EVENT: &str = "Microsoft.EventGrid.SubscriptionValidationEvent";
pub const SMS_RECEIVED: &str = "Microsoft.Communication.SMSReceived";
pub const SMS_DELIVERY_REPORT: &str = "Microsoft.Communication.SMSDeliveryReportReceived";

/// The secret the request carries: the `secret` query parameter, else the header.
pub fn presented_secret(request: &WebhookRequest<'_>) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(request.query())
        .ok()
        .and_then(|q| q.into_iter().find(|(k, _)| k == SECRET_PARAM).map(|(_, v)| v))
        .or_else(|| request.header(SECRET_HEADER).map(|v| v.trim().to_string()))
}

/// Checks the request carries the channel's Event Grid secret (constant time).
pub fn authenticate(creds: &AcsCredentials, request: &WebhookRequest<'_>) -> Result<(), WebhookError> {
    let presented = presented_secret(request).ok_or_else(|| {
        WebhookError::Unauthorized(format!(
            "no Event Grid secret: neither the '{SECRET_PARAM}' query parameter nor the {SECRET_HEADER} header"
        ))
    })?;
    if bool::from(presented.as_bytes().ct_eq(creds.event_grid_secret.expose_secret().as_bytes())) {
        Ok(())
    } else {
        Err(WebhookError::Unauthorized("the Event Grid secret is not the channel's".into()))
    }
}

/// A key of an object, matched case-insensitively.
fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn text<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    field(obj, key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn required<'a>(obj: &'a Map<String, Value>, key: &str, event: &str) -> Result<&'a str, WebhookError> {
    text(obj, key).ok_or_else(|| WebhookError::Malformed(format!("{event}: missing data.{key}")))
}

/// ACS numbers come with or without `+`.
fn phone(obj: &Map<String, Value>, key: &str, event: &str) -> Result<Phone, WebhookError> {
    let raw = required(obj, key, event)?;
    let e164 = if raw.starts_with('+') { raw.to_string() } else { format!("+{raw}") };
    Phone::parse(&e164).map_err(|e| WebhookError::Malformed(format!("{event}: data.{key} {e}")))
}

/// The `{"validationResponse": code}` answer to Event Grid's handshake.
pub fn validation_reply(code: &str) -> WebhookReply {
    WebhookReply {
        status: 200,
        content_type: "application/json".into(),
        body: serde_json::json!({ "validationResponse": code }).to_string().into(),
        headers: Vec::new(),
    }
}

/// The request header of the CloudEvents abuse-protection handshake naming who will deliver.
pub const REQUEST_ORIGIN: &str = "webhook-request-origin";

/// The answer to the CloudEvents handshake: deliveries from `origin` are allowed, at any rate.
pub fn allowed_origin_reply(origin: &str) -> WebhookReply {
    WebhookReply {
        status: 200,
        content_type: "text/plain".into(),
        body: "".into(),
        headers: vec![("webhook-allowed-origin", origin.to_string()), ("webhook-allowed-rate", "*".into())],
    }
}

/// The CloudEvents schema's handshake (`OPTIONS` with `WebHook-Request-Origin`): allowed, echoing the origin.
fn abuse_protection(channel: &Channel, request: &WebhookRequest<'_>) -> Result<WebhookOutcome, WebhookError> {
    let origin = request
        .header(REQUEST_ORIGIN)
        .map(str::trim)
        .filter(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            WebhookError::Malformed(
                "OPTIONS without a WebHook-Request-Origin header (the CloudEvents handshake)".into(),
            )
        })?;
    tracing::info!(channel = %channel.id, "Event Grid CloudEvents handshake answered");
    Ok(WebhookOutcome { events: Vec::new(), reply: Some(allowed_origin_reply(origin)) })
}

/// Authenticates, then parses an Event Grid delivery.
pub fn parse_webhook(
    channel: &Channel,
    creds: &AcsCredentials,
    request: &WebhookRequest<'_>,
    now: OffsetDateTime,
) -> Result<WebhookOutcome, WebhookError> {
    authenticate(creds, request)?;
    if request.method.eq_ignore_ascii_case("OPTIONS") {
        return abuse_protection(channel, request);
    }
    let body: Value = serde_json::from_slice(request.body)
        .map_err(|e| WebhookError::Malformed(format!("body is not JSON: {e}")))?;
    // Event Grid sends an array; a single event object is taken as an array of one.
    let events = match body {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => return Err(WebhookError::Malformed("body is not an array of events".into())),
    };
    let mut out = Vec::new();
    for event in &events {
        let Value::Object(event) = event else {
            return Err(WebhookError::Malformed("an event is not a JSON object".into()));
        };
        // Event Grid schema: eventType; CloudEvents: type.
        let kind = text(event, "eventType").or_else(|| text(event, "type")).unwrap_or_default();
        let data = field(event, "data").and_then(Value::as_object);
        match (kind, data) {
            (VALIDATION_EVENT, Some(data)) => {
                let code = required(data, "validationCode", "SubscriptionValidationEvent")?;
                tracing::info!(channel = %channel.id, "Event Grid subscription validation answered");
                return Ok(WebhookOutcome { events: Vec::new(), reply: Some(validation_reply(code)) });
            }
            (SMS_RECEIVED, Some(data)) => {
                out.extend(inbound(channel, data, now)?.map(InboundEvent::Message));
            }
            (SMS_DELIVERY_REPORT, Some(data)) => {
                out.push(InboundEvent::Receipt(receipt(channel, data, now)?))
            }
            (SMS_RECEIVED | SMS_DELIVERY_REPORT | VALIDATION_EVENT, None) => {
                return Err(WebhookError::Malformed(format!("{kind}: missing data")));
            }
            (other, _) => {
                tracing::info!(channel = %channel.id, event_type = other, "Event Grid event of another type ignored");
            }
        }
    }
    Ok(WebhookOutcome::events(out))
}

/// An `SMSReceived` event into a text; `None` for a text to a number that is not on this channel. The
/// Event Grid subscription covers every number of the ACS resource, which may be on other channels (or on
/// none), and one delivery may batch several events: such a text is skipped, not refused, so that the
/// batch's own events are filed (Event Grid does not retry a 400: the whole batch would be lost).
fn inbound(
    channel: &Channel,
    data: &Map<String, Value>,
    now: OffsetDateTime,
) -> Result<Option<InboundMessage>, WebhookError> {
    const EVENT: &str = "SMSReceived";
    let id = required(data, "MessageId", EVENT)?;
    let from = phone(data, "From", EVENT)?;
    let to = phone(data, "To", EVENT)?;
    if !channel.takes_webhooks_for(&to, now) {
        // `to` is the ACS resource's number, never the customer's.
        tracing::info!(channel = %channel.id, message_id = id, number = %to, "Event Grid text to a number not on this channel skipped");
        return Ok(None);
    }
    // ACS reassembles long texts itself (SegmentCount says how many parts there were).
    let message = field(data, "Message").and_then(Value::as_str).unwrap_or_default();
    Ok(Some(InboundMessage {
        channel_id: channel.id.clone(),
        provider_message_id: id.to_string(),
        from,
        to,
        text: message.to_string(),
        received_at: now,
        part: None,
        media: Vec::new(),
    }))
}

fn receipt(
    channel: &Channel,
    data: &Map<String, Value>,
    now: OffsetDateTime,
) -> Result<DeliveryReceipt, WebhookError> {
    const EVENT: &str = "SMSDeliveryReportReceived";
    let id = required(data, "MessageId", EVENT)?;
    let status = required(data, "DeliveryStatus", EVENT)?;
    let details = text(data, "DeliveryStatusDetails").map(str::to_string);
    Ok(DeliveryReceipt {
        channel_id: channel.id.clone(),
        provider_message_id: id.to_string(),
        external_id: text(data, "Tag").map(str::to_string),
        status: delivery_status(status),
        provider_status_code: status.to_string(),
        description: details,
        at: now,
        opted_out: false,
    })
}

/// ACS delivery statuses to ours (`Delivered`, `Failed`; the rest of the enum is not published, so
/// anything else claims no more than `sent`).
pub fn delivery_status(status: &str) -> MessageStatus {
    match status.to_ascii_lowercase().as_str() {
        "delivered" => MessageStatus::Delivered,
        "failed" => MessageStatus::Failed,
        "undelivered" | "expired" => MessageStatus::Undelivered,
        _ => MessageStatus::Sent,
    }
}
