//! Bot hand-off: a queue may name a bot that gets the customer's texts before any agent. We sign each
//! request so the bot can trust it; the bot answers with replies (sent as system messages) and/or a
//! hand-off (to this queue or another, with context for the agent). Anything else hands over at once.

use crate::ids::{ConversationId, QueueId};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Header with the request's time (Unix seconds); part of what is signed, so a replay can be refused.
pub const TIMESTAMP_HEADER: &str = "x-smsdesk-timestamp";
/// Header with `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the queue's bot secret>`.
pub const SIGNATURE_HEADER: &str = "x-smsdesk-signature";
/// At most this many replies of one answer are sent.
pub const MAX_REPLIES: usize = 5;

/// What we send the bot (JSON body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotRequest {
    pub conversation_id: ConversationId,
    pub queue_id: QueueId,
    /// The customer's number, E.164.
    pub customer: String,
    pub language: Option<String>,
    /// The customer's text.
    pub text: String,
}

/// What the bot answers (JSON body of a 2xx).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BotAnswer {
    #[serde(default)]
    pub replies: Vec<String>,
    #[serde(default)]
    pub handoff: Option<BotHandoff>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BotHandoff {
    /// Another queue to hand over to; None: the bot's own queue.
    #[serde(default)]
    pub queue: Option<QueueId>,
    /// What the agent should know (shown on the conversation).
    #[serde(default)]
    pub context: Option<String>,
}

/// `sha256=<hex>`: HMAC-SHA256 keyed with `secret` over `<timestamp>.` followed by the body.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length; new_from_slice cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", hex::encode(digest))
}

/// What the bot's answer means for the conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BotOutcome {
    /// Keep talking with the bot; send these replies.
    Continue { replies: Vec<String> },
    /// Send these replies, then hand over to `queue` (None: the bot's queue) with `context`.
    HandOff { replies: Vec<String>, queue: Option<QueueId>, context: Option<String> },
}

/// Reads a bot's answer: the status and the body. A non-2xx status or a body that is not a [`BotAnswer`]
/// hands over at once (no replies, the reason as the context for the agent).
pub fn interpret(status: u16, body: &[u8]) -> BotOutcome {
    if !(200..300).contains(&status) {
        return failed(format!("the bot answered HTTP {status}"));
    }
    let answer: BotAnswer = match serde_json::from_slice(body) {
        Ok(a) => a,
        Err(e) => return failed(format!("the bot's answer is not valid: {e}")),
    };
    let replies: Vec<String> = answer
        .replies
        .into_iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .take(MAX_REPLIES)
        .collect();
    match answer.handoff {
        Some(h) => BotOutcome::HandOff { replies, queue: h.queue, context: h.context },
        None => BotOutcome::Continue { replies },
    }
}

/// The outcome when the bot could not be asked or answered nonsense.
pub fn failed(reason: impl Into<String>) -> BotOutcome {
    BotOutcome::HandOff {
        replies: vec![],
        queue: None,
        context: Some(format!("bot unavailable: {}", reason.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 shape: key "Jefe"; message here is "1700000000.{}".
        let sig = signature(b"Jefe", 1_700_000_000, b"{}");
        assert!(sig.starts_with("sha256="), "{sig}");
        assert_eq!(sig.len(), "sha256=".len() + 64);
        assert_eq!(sig, signature(b"Jefe", 1_700_000_000, b"{}"), "deterministic");
        assert_ne!(sig, signature(b"Jefe", 1_700_000_001, b"{}"), "the timestamp is signed");
        assert_ne!(sig, signature(b"Jefe", 1_700_000_000, b"{ }"), "the body is signed");
        assert_ne!(sig, signature(b"other", 1_700_000_000, b"{}"), "the secret keys it");
        // Independent check of the construction: HMAC over the concatenation.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{}");
        assert_eq!(sig, format!("sha256={}", hex::encode(mac.finalize().into_bytes())));
    }

    #[test]
    fn answers_table() {
        let cont = |r: &[&str]| BotOutcome::Continue { replies: r.iter().map(|s| s.to_string()).collect() };
        assert_eq!(interpret(200, br#"{"replies":["Hi"," "]}"#), cont(&["Hi"]));
        assert_eq!(interpret(200, br#"{}"#), cont(&[]));
        assert_eq!(
            interpret(200, br#"{"replies":["Bye"],"handoff":{"queue":"q_2","context":"wants a refund"}}"#),
            BotOutcome::HandOff {
                replies: vec!["Bye".into()],
                queue: Some(QueueId::new("q_2")),
                context: Some("wants a refund".into())
            }
        );
        assert_eq!(
            interpret(200, br#"{"handoff":{}}"#),
            BotOutcome::HandOff { replies: vec![], queue: None, context: None }
        );
        for (status, body) in [
            (500, &b"{}"[..]),
            (404, b""),
            (200, b"not json"),
            (200, br#"{"replies":"x"}"#),
            (200, br#"{"reply":[]}"#),
        ] {
            assert!(
                matches!(interpret(status, body), BotOutcome::HandOff { ref replies, queue: None, context: Some(_) } if replies.is_empty()),
                "{status} {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
