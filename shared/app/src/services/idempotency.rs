//! `Idempotency-Key` on the routes that create a reply: a client that retries a request (after a timeout, a
//! dropped connection) with the same key gets the first request's reply (same message id, 202), not a second
//! message. The key is kept in the store for a day, scoped to the caller, with a fingerprint of the request:
//! the same key with a different request is refused (422), as it is almost certainly a client bug.

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::services::outbound;
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use smsdesk_domain::{Message, MessageId};
use smsdesk_ports::IdempotencyRecord;
use std::time::Duration;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// How long a key is remembered.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A key as the client sent it: 1 to 255 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let ok = !raw.is_empty() && raw.len() <= MAX_KEY_LEN && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(ApiError::field(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters (no spaces)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fingerprint of what a request asks: its route and the parts of its body that decide the reply.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What the request with this key is to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The message id to use: a fresh one for the first request, the first request's for a retry.
    pub message_id: MessageId,
    /// Whether an earlier request holds the key (this one is a retry).
    pub retry: bool,
}

/// Records `key` for the caller (or finds the earlier request that used it).
pub async fn claim(
    app: &App,
    who: &Principal,
    key: &IdempotencyKey,
    fingerprint: String,
) -> ApiResult<Claimed> {
    let scope = match who.agent_id() {
        Some(agent) => format!("agent:{agent}"),
        None => "admin".to_string(),
    };
    let record = IdempotencyRecord {
        key: format!("{scope}:{}", key.as_str()),
        fingerprint,
        message_id: MessageId::new(app.ids.new_id(MessageId::PREFIX)),
        at: app.clock.now(),
    };
    let held = app.store.remember_request(&record, TTL).await?;
    if held.fingerprint != record.fingerprint {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "Idempotency-Key: was used with a different request; use a new key for a new message",
        ));
    }
    let retry = held.message_id != record.message_id;
    Ok(Claimed { message_id: held.message_id, retry })
}

/// What a request with an optional key does.
pub enum Replay {
    /// A retry whose first request created this message: answer with it (queued again if still `queued`).
    Answered(Box<Message>),
    /// Go on, creating the message under this id (None: no key, any fresh id).
    Proceed(Option<MessageId>),
}

/// For a route that creates one message and does other things first (open, assign, close): a retry
/// answers with the first request's message and does nothing else.
pub async fn replay(
    app: &App,
    who: &Principal,
    key: Option<&IdempotencyKey>,
    print: &[&str],
) -> ApiResult<Replay> {
    let Some(key) = key else { return Ok(Replay::Proceed(None)) };
    let claimed = claim(app, who, key, fingerprint(print)).await?;
    match app.store.get_message(&claimed.message_id).await? {
        Some(first) => Ok(Replay::Answered(Box::new(outbound::resume(app, first).await?))),
        None => Ok(Replay::Proceed(Some(claimed.message_id))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse("4f9c1b2e-retry-1").is_ok());
        for bad in ["", "with space", "tab\there", "é", &"k".repeat(MAX_KEY_LEN + 1)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(MAX_KEY_LEN)).is_ok());
    }

    #[test]
    fn fingerprints_separate_their_parts() {
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["ab", ""]), fingerprint(&["a", "b"]));
    }
}
