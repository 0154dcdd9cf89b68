//! Twilio's webhooks: inbound texts and status callbacks, both form-encoded (or in the query of a GET),
//! both to the channel's one webhook URL, both answered with an empty TwiML response.

use super::TwilioCredentials;
use super::signature::{self, SignatureError};
use crate::{WebhookError, WebhookOutcome, WebhookReply, WebhookRequest};
use serde_json::Value;
use smsdesk_domain::events::{DeliveryReceipt, InboundEvent, InboundMessage};
use smsdesk_domain::media::MediaRef;
use smsdesk_domain::{Channel, MessageStatus, Phone};
use time::OffsetDateTime;

/// The TwiML that tells Twilio to send nothing back.
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;
/// The query parameter our status callback URLs carry with our message id.
pub const MESSAGE_ID_PARAM: &str = "smsdesk_message";

/// Twilio's expected answer: 200 with an empty TwiML response.
pub fn twiml_reply() -> WebhookReply {
    WebhookReply { status: 200, content_type: "text/xml".into(), body: EMPTY_TWIML.into() }
}

/// A request's parameters: the form body (POST), the query (GET), or a JSON object's fields (JSON body).
struct Params(Vec<(String, String)>);

impl Params {
    fn read(request: &WebhookRequest<'_>, json_body: bool) -> Result<Self, WebhookError> {
        if json_body {
            let v: Value = serde_json::from_slice(request.body)
                .map_err(|e| WebhookError::Malformed(format!("body is not JSON: {e}")))?;
            let Value::Object(map) = v else {
                return Err(WebhookError::Malformed("body is not a JSON object".into()));
            };
            let pairs = map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect();
            return Ok(Params(pairs));
        }
        let raw: &[u8] = if request.method.eq_ignore_ascii_case("GET") {
            request.query().as_bytes()
        } else {
            request.body
        };
        serde_urlencoded::from_bytes(raw)
            .map(Params)
            .map_err(|e| WebhookError::Malformed(format!("body is not a form: {e}")))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> Result<&str, WebhookError> {
        self.non_empty(name).ok_or_else(|| WebhookError::Malformed(format!("missing {name}")))
    }

    fn phone(&self, name: &str) -> Result<Phone, WebhookError> {
        let raw = self.required(name)?;
        Phone::parse(raw).map_err(|e| WebhookError::Malformed(format!("{name} {e}")))
    }

    fn count(&self, name: &str) -> u32 {
        self.non_empty(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

/// Verifies a Twilio webhook, then parses it: an inbound text or a status callback.
pub fn parse_webhook(
    channel: &Channel,
    creds: &TwilioCredentials,
    request: &WebhookRequest<'_>,
    now: OffsetDateTime,
) -> Result<WebhookOutcome, WebhookError> {
    // A body that is not even a form cannot be verified: a 401 like any other unverifiable request, so
    // nothing unauthenticated is ever reported on as if it were read.
    let verified = signature::verify(&creds.webhook_keys(now), request)
        .map_err(|e: SignatureError| WebhookError::Unauthorized(e.to_string()))?;
    let params = Params::read(request, verified.json_body)?;
    if let Some(account) = params.non_empty("AccountSid")
        && account != creds.account_sid
    {
        return Err(WebhookError::Unauthorized("AccountSid is not the channel's account".into()));
    }
    let status = params.non_empty("MessageStatus").or_else(|| params.non_empty("SmsStatus"));
    let inbound = match status {
        Some(s) => matches!(s, "received" | "receiving"),
        None => params.get("Body").is_some(),
    };
    let events = if inbound {
        parse_inbound(channel, &params, now)?.map(InboundEvent::Message).into_iter().collect()
    } else {
        let Some(status) = status else {
            return Err(WebhookError::Malformed(
                "neither Body (inbound text) nor MessageStatus (status callback)".into(),
            ));
        };
        vec![InboundEvent::Receipt(parse_receipt(channel, request, &params, status, now)?)]
    };
    Ok(WebhookOutcome { events, reply: Some(twiml_reply()) })
}

/// An inbound text. Twilio reassembles multipart texts itself (`NumSegments` says how many parts); media
/// (`MediaUrl{N}`) is noted, not fetched: an MMS without text is acknowledged and ignored.
fn parse_inbound(
    channel: &Channel,
    params: &Params,
    now: OffsetDateTime,
) -> Result<Option<InboundMessage>, WebhookError> {
    let sid = params
        .non_empty("MessageSid")
        .or_else(|| params.non_empty("SmsMessageSid"))
        .or_else(|| params.non_empty("SmsSid"))
        .ok_or_else(|| WebhookError::Malformed("missing MessageSid".into()))?;
    let from = params.phone("From")?;
    let to = params.phone("To")?;
    if channel.number(&to).is_none() {
        return Err(WebhookError::Malformed(format!("number {} is not on this channel", to.digits())));
    }
    let text = params.get("Body").unwrap_or_default();
    let media = parse_media(params)?;
    let segments = params.count("NumSegments");
    if text.is_empty() && media.is_empty() {
        return Ok(None);
    }
    tracing::debug!(channel = %channel.id, segments, media = media.len(), "Twilio inbound text");
    Ok(Some(InboundMessage {
        channel_id: channel.id.clone(),
        provider_message_id: sid.to_string(),
        from,
        to,
        text: text.to_string(),
        received_at: now,
        part: None,
        media,
    }))
}

/// The most items read from one webhook (Twilio sends at most 10; the channel's own limit is applied when
/// they are fetched).
const MAX_ANNOUNCED_MEDIA: u32 = 20;

/// `NumMedia` items, each `MediaUrl{N}` with its claimed `MediaContentType{N}`, N = 0..NumMedia-1.
fn parse_media(params: &Params) -> Result<Vec<MediaRef>, WebhookError> {
    let count = params.count("NumMedia");
    if count > MAX_ANNOUNCED_MEDIA {
        return Err(WebhookError::Malformed(format!("NumMedia {count} is over {MAX_ANNOUNCED_MEDIA}")));
    }
    (0..count)
        .map(|n| {
            let url = params.non_empty(&format!("MediaUrl{n}")).ok_or_else(|| {
                WebhookError::Malformed(format!("NumMedia is {count} but MediaUrl{n} is missing"))
            })?;
            Ok(MediaRef {
                url: url.to_string(),
                content_type: params.non_empty(&format!("MediaContentType{n}")).map(str::to_string),
            })
        })
        .collect()
}

fn parse_receipt(
    channel: &Channel,
    request: &WebhookRequest<'_>,
    params: &Params,
    status: &str,
    now: OffsetDateTime,
) -> Result<DeliveryReceipt, WebhookError> {
    let sid = params
        .non_empty("MessageSid")
        .or_else(|| params.non_empty("SmsSid"))
        .ok_or_else(|| WebhookError::Malformed("missing MessageSid".into()))?;
    let error_code = params.non_empty("ErrorCode").filter(|c| *c != "0");
    let description = match (error_code, params.non_empty("ErrorMessage")) {
        (_, Some(message)) => Some(message.to_string()),
        (Some(code), None) => {
            Some(error_meaning(code).map_or_else(|| format!("Twilio error {code}"), str::to_string))
        }
        (None, None) => None,
    };
    let external_id = serde_urlencoded::from_str::<Vec<(String, String)>>(request.query())
        .ok()
        .and_then(|q| q.into_iter().find(|(k, _)| k == MESSAGE_ID_PARAM).map(|(_, v)| v))
        .filter(|v| !v.is_empty());
    Ok(DeliveryReceipt {
        channel_id: channel.id.clone(),
        provider_message_id: sid.to_string(),
        external_id,
        status: delivery_status(status),
        provider_status_code: match error_code {
            Some(code) => format!("{status}/{code}"),
            None => status.to_string(),
        },
        description,
        at: now,
    })
}

/// Twilio's message statuses to ours. Statuses only move forward, so the early ones (`accepted`, `queued`,
/// `sending`) claim no more than `Sent`, which the accepted send already recorded.
pub fn delivery_status(status: &str) -> MessageStatus {
    match status {
        "delivered" | "read" => MessageStatus::Delivered,
        "undelivered" => MessageStatus::Undelivered,
        "failed" | "canceled" => MessageStatus::Failed,
        // accepted, scheduled, queued, sending, sent, partially_delivered and anything new.
        _ => MessageStatus::Sent,
    }
}

/// What the common asynchronous error codes mean (Twilio's error catalogue), for the transcript.
pub fn error_meaning(code: &str) -> Option<&'static str> {
    Some(match code {
        "21610" => "the customer replied STOP: unsubscribed recipient",
        "30001" => "queue overflow",
        "30003" => "unreachable destination handset",
        "30004" => "message blocked",
        "30005" => "unknown destination handset",
        "30006" => "landline or unreachable carrier",
        "30007" => "filtered by the carrier",
        "30008" => "unknown error",
        "30010" => "price exceeds MaxPrice",
        "30022" => "10DLC rate limit exceeded",
        "30032" => "toll-free number not verified",
        "30034" => "unregistered 10DLC number",
        _ => return None,
    })
}
