//! Twilio's webhooks: inbound texts and status callbacks, both form-encoded (or in the query of a GET),
//! both to the channel's one webhook URL, both answered with an empty TwiML response.

use super::TwilioCredentials;
use super::signature::{self, FormPairs, SignatureError};
use crate::{WebhookError, WebhookOutcome, WebhookReply, WebhookRequest};
use serde_json::Value;
use smsdesk_domain::events::{DeliveryReceipt, InboundEvent, InboundMessage};
use smsdesk_domain::media::MediaRef;
use smsdesk_domain::{Channel, MessageStatus, Phone};
use std::borrow::Cow;
use time::OffsetDateTime;

/// The TwiML that tells Twilio to send nothing back.
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;
/// The query parameter our status callback URLs carry with our message id.
pub const MESSAGE_ID_PARAM: &str = "smsdesk_message";

/// Twilio's expected answer: 200 with an empty TwiML response.
pub fn twiml_reply() -> WebhookReply {
    WebhookReply {
        status: 200,
        content_type: Cow::Borrowed("text/xml"),
        body: Cow::Borrowed(EMPTY_TWIML),
        headers: Vec::new(),
    }
}

/// A request's parameters: the form body (POST, as the signature check decoded it), the query (GET), or a
/// JSON object's fields (JSON body); the ones every webhook is read for picked out in one pass. Where a name
/// is given several values, the first is the one read.
struct Params<'a> {
    pairs: FormPairs<'a>,
    known: Known,
}

/// The positions in [`Params::pairs`] of the parameters every webhook is read for.
#[derive(Default)]
struct Known {
    account_sid: Option<usize>,
    body: Option<usize>,
    error_code: Option<usize>,
    error_message: Option<usize>,
    from: Option<usize>,
    message_sid: Option<usize>,
    message_status: Option<usize>,
    num_media: Option<usize>,
    num_segments: Option<usize>,
    sms_message_sid: Option<usize>,
    sms_sid: Option<usize>,
    sms_status: Option<usize>,
    to: Option<usize>,
}

impl Known {
    fn of(pairs: &FormPairs<'_>) -> Self {
        let mut known = Known::default();
        for (at, (name, _)) in pairs.iter().enumerate() {
            let slot = match name.as_ref() {
                "AccountSid" => &mut known.account_sid,
                "Body" => &mut known.body,
                "ErrorCode" => &mut known.error_code,
                "ErrorMessage" => &mut known.error_message,
                "From" => &mut known.from,
                "MessageSid" => &mut known.message_sid,
                "MessageStatus" => &mut known.message_status,
                "NumMedia" => &mut known.num_media,
                "NumSegments" => &mut known.num_segments,
                "SmsMessageSid" => &mut known.sms_message_sid,
                "SmsSid" => &mut known.sms_sid,
                "SmsStatus" => &mut known.sms_status,
                "To" => &mut known.to,
                _ => continue,
            };
            slot.get_or_insert(at);
        }
        known
    }
}

impl<'a> Params<'a> {
    fn read(request: &WebhookRequest<'a>, verified: signature::Verified<'a>) -> Result<Self, WebhookError> {
        if verified.json_body {
            let v: Value = serde_json::from_slice(request.body)
                .map_err(|e| WebhookError::Malformed(format!("body is not JSON: {e}")))?;
            let Value::Object(map) = v else {
                return Err(WebhookError::Malformed("body is not a JSON object".into()));
            };
            let pairs = map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (Cow::Owned(k), Cow::Owned(s)),
                    other => (Cow::Owned(k), Cow::Owned(other.to_string())),
                })
                .collect();
            return Ok(Params::new(pairs));
        }
        if request.method.eq_ignore_ascii_case("GET") {
            return Ok(Params::new(signature::decode_form(request.query().as_bytes())));
        }
        Ok(Params::new(verified.form))
    }

    fn new(pairs: FormPairs<'a>) -> Self {
        Params { known: Known::of(&pairs), pairs }
    }

    fn at(&self, at: Option<usize>) -> Option<&str> {
        at.and_then(|at| self.pairs.get(at)).map(|(_, v)| v.as_ref())
    }

    /// A parameter that is not among the [`Known`] ones (the media items), by a scan.
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref())
    }

    fn non_empty_at(&self, at: Option<usize>) -> Option<&str> {
        non_empty(self.at(at))
    }

    /// The number at `at`, moved out of the parameters (a decoded `+1...` becomes the `Phone` as it is).
    fn phone(&mut self, at: Option<usize>, name: &str) -> Result<Phone, WebhookError> {
        if self.non_empty_at(at).is_none() {
            return Err(WebhookError::Malformed(format!("missing {name}")));
        }
        Phone::parse_owned(self.take(at)).map_err(|e| WebhookError::Malformed(format!("{name} {e}")))
    }

    fn count(&self, at: Option<usize>) -> u32 {
        self.non_empty_at(at).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// The value at `at`, moved out (a decoded value is not copied again); empty when absent.
    fn take(&mut self, at: Option<usize>) -> String {
        at.and_then(|at| self.pairs.get_mut(at))
            .map(|(_, v)| std::mem::take(v).into_owned())
            .unwrap_or_default()
    }
}

/// The value trimmed, when anything is left. A value that starts and ends with a visible ASCII character
/// (every id, number and count Twilio sends) has nothing to trim and is not scanned for Unicode whitespace.
fn non_empty(value: Option<&str>) -> Option<&str> {
    let visible = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    value
        .map(|v| if visible(v.as_bytes().first()) && visible(v.as_bytes().last()) { v } else { v.trim() })
        .filter(|v| !v.is_empty())
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
    let mut params = Params::read(request, verified)?;
    let known = &params.known;
    if let Some(account) = params.non_empty_at(known.account_sid)
        && account != creds.account_sid
    {
        return Err(WebhookError::Unauthorized("AccountSid is not the channel's account".into()));
    }
    let status = params.non_empty_at(known.message_status).or_else(|| params.non_empty_at(known.sms_status));
    let inbound = match status {
        Some(s) => matches!(s, "received" | "receiving"),
        None => known.body.is_some(),
    };
    let events = if inbound {
        parse_inbound(channel, &mut params, now)?.map(InboundEvent::Message).into_iter().collect()
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
    params: &mut Params<'_>,
    now: OffsetDateTime,
) -> Result<Option<InboundMessage>, WebhookError> {
    let known = &params.known;
    let sid = params
        .non_empty_at(known.message_sid)
        .or_else(|| params.non_empty_at(known.sms_message_sid))
        .or_else(|| params.non_empty_at(known.sms_sid))
        .ok_or_else(|| WebhookError::Malformed("missing MessageSid".into()))?
        .to_string();
    let (from_at, to_at) = (known.from, known.to);
    let from = params.phone(from_at, "From")?;
    let to = params.phone(to_at, "To")?;
    if !channel.takes_webhooks_for(&to, now) {
        return Err(WebhookError::Malformed(format!("number {} is not on this channel", to.digits())));
    }
    let media = parse_media(params)?;
    let segments = params.count(params.known.num_segments);
    let body = params.known.body;
    let text = params.take(body);
    if text.is_empty() && media.is_empty() {
        return Ok(None);
    }
    tracing::debug!(channel = %channel.id, segments, media = media.len(), "Twilio inbound text");
    Ok(Some(InboundMessage {
        channel_id: channel.id.clone(),
        provider_message_id: sid,
        from,
        to,
        text,
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
    let count = params.count(params.known.num_media);
    if count > MAX_ANNOUNCED_MEDIA {
        return Err(WebhookError::Malformed(format!("NumMedia {count} is over {MAX_ANNOUNCED_MEDIA}")));
    }
    (0..count)
        .map(|n| {
            let url = non_empty(params.get(&format!("MediaUrl{n}"))).ok_or_else(|| {
                WebhookError::Malformed(format!("NumMedia is {count} but MediaUrl{n} is missing"))
            })?;
            Ok(MediaRef {
                url: url.to_string(),
                content_type: non_empty(params.get(&format!("MediaContentType{n}"))).map(str::to_string),
            })
        })
        .collect()
}

fn parse_receipt(
    channel: &Channel,
    request: &WebhookRequest<'_>,
    params: &Params<'_>,
    status: &str,
    now: OffsetDateTime,
) -> Result<DeliveryReceipt, WebhookError> {
    let known = &params.known;
    let sid = params
        .non_empty_at(known.message_sid)
        .or_else(|| params.non_empty_at(known.sms_sid))
        .ok_or_else(|| WebhookError::Malformed("missing MessageSid".into()))?;
    let error_code = params.non_empty_at(known.error_code).filter(|c| *c != "0");
    let description = match (error_code, params.non_empty_at(known.error_message)) {
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
        opted_out: error_code.and_then(|c| c.parse::<i64>().ok()) == Some(super::OPTED_OUT_CODE),
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

#[cfg(test)]
mod tests {
    use super::non_empty;

    /// The shortcut for visible ASCII ends gives what a full trim gives, Unicode whitespace included.
    #[test]
    fn non_empty_is_a_trim_that_drops_empty_values() {
        for v in
            ["", " ", "\t\n", "SM1", " SM1", "SM1 ", "\u{a0}+1555\u{a0}", "\u{2003}", "é", " é ", "a b", "+"]
        {
            let trimmed = v.trim();
            assert_eq!(non_empty(Some(v)), (!trimmed.is_empty()).then_some(trimmed), "{v:?}");
        }
        assert_eq!(non_empty(None), None);
    }
}
