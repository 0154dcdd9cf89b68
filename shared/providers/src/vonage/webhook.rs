//! Vonage's webhooks: inbound texts (each part of a long text on its own, with `concat-*`) and delivery
//! receipts (one per part), by GET (query), POST form or POST JSON, signed with `sig`.

use super::VonageCredentials;
use super::signature;
use crate::{WebhookError, WebhookOutcome, WebhookRequest};
use serde_json::Value;
use smsdesk_domain::events::{DeliveryReceipt, InboundEvent, InboundMessage, MessagePart};
use smsdesk_domain::{Channel, MessageStatus, Phone};
use std::borrow::Cow;
use time::OffsetDateTime;
use time::macros::format_description;

/// Every parameter of the request, as strings: the query for a GET, the JSON object's fields or the form
/// for a POST. Read before verification because the signature is over them; nothing else is looked at
/// until it matches.
pub(crate) fn params<'a>(request: &WebhookRequest<'a>) -> Result<Pairs<'a>, WebhookError> {
    let unreadable = |what: String| WebhookError::Unauthorized(format!("cannot verify: {what}"));
    if request.method.eq_ignore_ascii_case("GET") {
        return Ok(crate::form::decode(request.query().as_bytes()));
    }
    let json = request.header("content-type").is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    if json {
        let v: Value =
            serde_json::from_slice(request.body).map_err(|e| unreadable(format!("body is not JSON: {e}")))?;
        let Value::Object(map) = v else { return Err(unreadable("body is not a JSON object".into())) };
        return Ok(map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (Cow::Owned(k), Cow::Owned(s)),
                other => (Cow::Owned(k), Cow::Owned(other.to_string())),
            })
            .collect());
    }
    Ok(crate::form::decode(request.body))
}

/// Decoded parameters, borrowed from the request where nothing needed decoding.
pub(crate) type Pairs<'a> = crate::form::FormPairs<'a>;

struct Params<'a>(Pairs<'a>);

impl Params<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> Result<&str, WebhookError> {
        self.get(name).ok_or_else(|| WebhookError::Malformed(format!("missing {name}")))
    }

    fn phone(&self, name: &str) -> Result<Phone, WebhookError> {
        Phone::parse(self.required(name)?).map_err(|e| WebhookError::Malformed(format!("{name} {e}")))
    }

    fn number(&self, name: &str) -> Result<u32, WebhookError> {
        self.required(name)?.parse().map_err(|_| WebhookError::Malformed(format!("{name} is not a number")))
    }

    /// `message-timestamp` (`YYYY-MM-DD HH:MM:SS`, UTC).
    fn time(&self, name: &str) -> Option<OffsetDateTime> {
        let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        self.get(name).and_then(|v| time::PrimitiveDateTime::parse(v, format).ok()).map(|t| t.assume_utc())
    }
}

/// Verifies a Vonage webhook with the channel's signature secret (the retired one too during a rotation's
/// grace), then parses it: a delivery receipt (it has `status`) or an inbound text.
pub fn parse_webhook(
    channel: &Channel,
    creds: &VonageCredentials,
    request: &WebhookRequest<'_>,
    now: OffsetDateTime,
) -> Result<WebhookOutcome, WebhookError> {
    let raw = params(request)?;
    signature::verify(creds.signature_method, &creds.webhook_secrets(now), &raw, now)
        .map_err(|e| WebhookError::Unauthorized(e.to_string()))?;
    let params = Params(raw);
    if let Some(key) = params.get("api-key")
        && key != creds.api_key
    {
        return Err(WebhookError::Unauthorized("api-key is not the channel's account".into()));
    }
    let event = if params.get("status").is_some() {
        InboundEvent::Receipt(parse_receipt(channel, &params, now)?)
    } else if params.get("msisdn").is_some() && params.get("messageId").is_some() {
        InboundEvent::Message(parse_inbound(channel, &params, now)?)
    } else {
        return Err(WebhookError::Malformed(
            "neither msisdn and messageId (inbound text) nor status (delivery receipt)".into(),
        ));
    };
    Ok(WebhookOutcome::events(vec![event]))
}

fn parse_inbound(
    channel: &Channel,
    params: &Params<'_>,
    now: OffsetDateTime,
) -> Result<InboundMessage, WebhookError> {
    let from = params.phone("msisdn")?;
    let to = params.phone("to")?;
    if !channel.takes_webhooks_for(&to, now) {
        return Err(WebhookError::Malformed(format!("number {} is not on this channel", to.digits())));
    }
    let part = if params.get("concat") == Some("true") {
        let part = MessagePart {
            reference: params.required("concat-ref")?.to_string(),
            number: params.number("concat-part")?,
            total: params.number("concat-total")?,
        };
        if part.number == 0 || part.total == 0 || part.number > part.total {
            return Err(WebhookError::Malformed(format!(
                "concat-part {} of concat-total {} is not a part",
                part.number, part.total
            )));
        }
        Some(part)
    } else {
        None
    };
    Ok(InboundMessage {
        channel_id: channel.id.clone(),
        provider_message_id: params.required("messageId")?.to_string(),
        from,
        to,
        text: params.0.iter().find(|(k, _)| k == "text").map(|(_, v)| v.to_string()).unwrap_or_default(),
        received_at: params.time("message-timestamp").unwrap_or(now),
        part,
        media: Vec::new(),
    })
}

fn parse_receipt(
    channel: &Channel,
    params: &Params<'_>,
    now: OffsetDateTime,
) -> Result<DeliveryReceipt, WebhookError> {
    let status = params.required("status")?;
    let err_code = params.get("err-code").filter(|c| *c != "0");
    Ok(DeliveryReceipt {
        channel_id: channel.id.clone(),
        provider_message_id: params.required("messageId")?.to_string(),
        external_id: params.get("client-ref").map(str::to_string),
        status: delivery_status(status),
        provider_status_code: match err_code {
            Some(code) => format!("{status}/{code}"),
            None => status.to_string(),
        },
        description: err_code
            .map(|c| error_meaning(c).map_or_else(|| format!("Vonage error {c}"), str::to_string)),
        at: params.time("message-timestamp").unwrap_or(now),
        opted_out: false,
    })
}

/// Vonage's receipt statuses to ours: `accepted` and `buffered` claim no more than `Sent`; `delivered` is
/// delivered; `expired` and `failed` are undelivered; `rejected` (Vonage refused it) failed; `unknown` and
/// anything new claim nothing beyond `Sent`.
pub fn delivery_status(status: &str) -> MessageStatus {
    match status {
        "delivered" => MessageStatus::Delivered,
        "expired" | "failed" => MessageStatus::Undelivered,
        "rejected" => MessageStatus::Failed,
        _ => MessageStatus::Sent,
    }
}

/// Vonage's delivery `err-code`s (support article "SMS Delivery Error Codes").
pub fn error_meaning(code: &str) -> Option<&'static str> {
    Some(match code {
        "1" => "unknown",
        "2" => "absent subscriber (temporary)",
        "3" => "absent subscriber (permanent)",
        "4" => "call barred by the user",
        "5" => "portability error",
        "6" => "anti-spam rejection",
        "7" => "handset busy",
        "8" => "network error",
        "9" => "illegal number: the customer opted out of the service",
        "10" => "illegal message",
        "11" => "unroutable",
        "12" => "destination unreachable",
        "13" => "subscriber age restriction",
        "14" => "number blocked by the carrier",
        _ => return None,
    })
}
