//! Offer timeouts to within seconds (issue 11.4). When a conversation is offered, [`arm`] puts a timer on
//! the timers queue, delivered when the offer runs out: SQS `DelaySeconds` in AWS (the queue port's
//! [`MessageQueue::send_delayed`](smsdesk_ports::MessageQueue::send_delayed), at most 15 minutes, which
//! covers every refusal timeout a queue may set), the embedded queue's visibility time locally. Its
//! consumer ([`OfferTimerConsumer`], run by the timers function in AWS and by a poller in `smsdesk dev`)
//! expires THAT offer if it is still pending: a conversation accepted, declined, closed or offered again
//! since (another expiry) is left alone. The timers' sweep ([`super::offers::expire_due`]) stays the
//! safety net for a timer that could not be queued.

use crate::App;
use crate::services::offers;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use smsdesk_domain::model::rfc3339;
use smsdesk_domain::{AgentId, ConversationId, ConversationState, Offer, offer};
use smsdesk_ports::{Consumer, MAX_DELAY, Outcome, PortResult, QueueKind, QueueMessage, Received};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Waited before a timer whose check failed (the store unreachable) is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// A timer on the timers queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Timer {
    /// The offer of `conversation_id` to `agent_id` that runs out at `expires_at`.
    OfferExpiry {
        conversation_id: ConversationId,
        agent_id: AgentId,
        #[serde(with = "rfc3339")]
        expires_at: OffsetDateTime,
    },
}

/// How long from `now` until `expires_at`, as a queue delay (none when already past; at most 15 minutes,
/// after which the consumer waits again for what is left).
pub fn delay_until(expires_at: OffsetDateTime, now: OffsetDateTime) -> Duration {
    let left = Duration::try_from(expires_at - now).unwrap_or(Duration::ZERO);
    left.min(MAX_DELAY)
}

/// Queues the timer of an offer just made. A timer that cannot be queued is logged, not an error: the
/// sweep expires the offer (later, at its next run).
pub async fn arm(app: &App, conversation: &ConversationId, agent: &AgentId, offer: &Offer) {
    let timer = Timer::OfferExpiry {
        conversation_id: conversation.clone(),
        agent_id: agent.clone(),
        expires_at: offer.expires_at,
    };
    let result = match serde_json::to_string(&timer) {
        Ok(body) => {
            let delay = delay_until(offer.expires_at, app.clock.now());
            let message = QueueMessage { body, group: None, dedupe_id: None };
            app.queue.send_delayed(QueueKind::Timers, message, delay).await
        }
        Err(e) => Err(smsdesk_ports::PortError::Backend(e.to_string())),
    };
    if let Err(e) = result {
        tracing::warn!(conversation = %conversation, error = %e, "offer timer not queued; the timers sweep will expire the offer");
    }
}

/// What to do with a timer now.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Expire the offer.
    Expire,
    /// Not due yet (the clock of the sender ran behind, or the timeout is over 15 minutes): wait this long.
    Wait(Duration),
    /// The offer it was set for is gone (accepted, declined, expired, offered again): nothing to do.
    Stale,
}

fn step(
    state: Option<(ConversationState, Option<&AgentId>, Option<&Offer>)>,
    agent: &AgentId,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Step {
    let Some((ConversationState::Offered, Some(holder), Some(current))) = state else { return Step::Stale };
    if holder != agent || current.expires_at != expires_at {
        return Step::Stale;
    }
    if offer::expired(current, now) {
        return Step::Expire;
    }
    Step::Wait(delay_until(current.expires_at, now).max(Duration::from_secs(1)))
}

async fn handle(app: &App, timer: &Timer) -> PortResult<Step> {
    let Timer::OfferExpiry { conversation_id, agent_id, expires_at } = timer;
    let conversation = app.store.get_conversation(conversation_id).await?;
    let state = conversation.as_ref().map(|c| (c.state, c.agent_id.as_ref(), c.offer.as_ref()));
    let now = app.clock.now();
    let next = step(state, agent_id, *expires_at, now);
    if next == Step::Expire {
        let expired = offers::expire(app, conversation_id, agent_id).await?;
        tracing::info!(conversation = %conversation_id, agent = %agent_id, expired, "offer timer ran out");
    }
    Ok(next)
}

/// The timers queue's consumer.
pub struct OfferTimerConsumer {
    app: Arc<App>,
}

impl OfferTimerConsumer {
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

#[async_trait]
impl Consumer for OfferTimerConsumer {
    async fn consume(&self, message: &Received) -> Outcome {
        let timer: Timer = match serde_json::from_str(&message.body) {
            Ok(t) => t,
            Err(e) => return Outcome::Failed(format!("not a timer: {e}")),
        };
        match handle(&self.app, &timer).await {
            Ok(Step::Expire | Step::Stale) => Outcome::Done,
            Ok(Step::Wait(left)) => Outcome::RetryAfter(left),
            Err(e) => {
                tracing::warn!(error = %e, "offer timer failed; trying again");
                Outcome::RetryAfter(RETRY)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    fn offer_until(expires_at: OffsetDateTime) -> Offer {
        Offer { offered_at: expires_at - time::Duration::seconds(60), expires_at }
    }

    #[test]
    fn the_offer_it_was_set_for_expires_once_due() {
        let (ada, o) = (AgentId::new("ag_ada"), offer_until(AT));
        let state = Some((ConversationState::Offered, Some(&ada), Some(&o)));
        assert_eq!(step(state, &ada, AT, AT), Step::Expire);
        assert_eq!(step(state, &ada, AT, AT + time::Duration::seconds(3)), Step::Expire);
        // Early (the sender's clock ran behind): wait for what is left, at least a second.
        assert_eq!(
            step(state, &ada, AT, AT - time::Duration::seconds(4)),
            Step::Wait(Duration::from_secs(4))
        );
        assert_eq!(
            step(state, &ada, AT, AT - time::Duration::milliseconds(10)),
            Step::Wait(Duration::from_secs(1))
        );
    }

    #[test]
    fn an_accepted_declined_reoffered_or_gone_conversation_is_left_alone() {
        let (ada, bob) = (AgentId::new("ag_ada"), AgentId::new("ag_bob"));
        let o = offer_until(AT);
        let later = AT + time::Duration::seconds(5);
        // Accepted: active now.
        assert_eq!(step(Some((ConversationState::Active, Some(&ada), None)), &ada, AT, later), Step::Stale);
        // Declined and offered to someone else.
        assert_eq!(
            step(Some((ConversationState::Offered, Some(&bob), Some(&o))), &ada, AT, later),
            Step::Stale
        );
        // Offered again to the same agent: a new expiry, its own timer.
        let again = offer_until(AT + time::Duration::seconds(60));
        assert_eq!(
            step(Some((ConversationState::Offered, Some(&ada), Some(&again))), &ada, AT, later),
            Step::Stale
        );
        // Back in line, closed, or gone.
        assert_eq!(step(Some((ConversationState::Open, None, None)), &ada, AT, later), Step::Stale);
        assert_eq!(step(Some((ConversationState::Closed, Some(&ada), None)), &ada, AT, later), Step::Stale);
        assert_eq!(step(None, &ada, AT, later), Step::Stale);
    }

    #[test]
    fn a_timer_waits_at_most_fifteen_minutes_at_once() {
        assert_eq!(delay_until(AT + time::Duration::seconds(60), AT), Duration::from_secs(60));
        assert_eq!(delay_until(AT - time::Duration::seconds(1), AT), Duration::ZERO);
        assert_eq!(delay_until(AT + time::Duration::hours(2), AT), MAX_DELAY);
    }

    #[test]
    fn timers_read_back_as_written() {
        let t = Timer::OfferExpiry {
            conversation_id: ConversationId::new("cv_1"),
            agent_id: AgentId::new("ag_1"),
            expires_at: AT,
        };
        let body = serde_json::to_string(&t).unwrap();
        assert!(body.contains(r#""kind":"offer_expiry""#), "{body}");
        assert_eq!(serde_json::from_str::<Timer>(&body).unwrap(), t);
    }
}
