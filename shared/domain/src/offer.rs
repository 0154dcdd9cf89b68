//! Offers (issue 11.4): a conversation picked for an agent is first offered to them, taking one of their
//! slots; they accept (it becomes `active`) or decline, and an offer not accepted within the queue's refusal
//! timeout goes to another agent. An agent who lets `max_missed_offers` offers expire in a row is set away.
//! A queue with `auto_accept` skips the offer.

use crate::lifecycle::FieldError;
use crate::model::{Offer, WorkQueue};
use time::{Duration, OffsetDateTime};

/// The shortest refusal timeout a queue may set.
pub const MIN_REFUSAL_TIMEOUT_SECS: u64 = 5;
/// The longest: 15 minutes (also the longest delay of an SQS message, which can carry the expiry in AWS).
pub const MAX_REFUSAL_TIMEOUT_SECS: u64 = 900;
/// The most missed offers a queue may tolerate before setting the agent away.
pub const MAX_MISSED_OFFERS_LIMIT: u32 = 100;

/// How an offer ended without being accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The agent said no: others are asked first, and the agent again only after
    /// [`crate::assign::ASK_AGAIN_AFTER_DECLINE`].
    Declined,
    /// It ran out unanswered: others are asked first; the agent's missed offers grow by one.
    Missed,
    /// Taken back because the agent stopped taking work (busy, away, offline): no refusal is recorded, so
    /// the agent is asked like anyone once available again.
    Withdrawn,
}

/// The offer made at `at` for a conversation of `queue` (None: the queue is gone; the defaults apply).
pub fn make(queue: Option<&WorkQueue>, at: OffsetDateTime) -> Offer {
    let secs = queue.map_or(crate::model::DEFAULT_REFUSAL_TIMEOUT_SECS, |q| q.refusal_timeout_secs);
    Offer { offered_at: at, expires_at: at + Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX)) }
}

/// Whether the offer ran out at `now`.
pub fn expired(offer: &Offer, now: OffsetDateTime) -> bool {
    now >= offer.expires_at
}

/// Whether `offer` may end `how` at `at`: an offer is missed only once it ran out, so an expiry read before
/// the agent was offered the conversation again (a stale sweep, a timer delivered twice) never takes the
/// new offer away. A decline or a withdrawal may come any time.
pub fn may_end(offer: &Offer, how: Refusal, at: OffsetDateTime) -> bool {
    how != Refusal::Missed || expired(offer, at)
}

/// Whether an agent who has now missed `missed` offers in a row is set away by `queue`'s rule.
pub fn sets_away(queue: Option<&WorkQueue>, missed: u32) -> bool {
    let limit = queue.map_or(crate::model::DEFAULT_MAX_MISSED_OFFERS, |q| q.max_missed_offers);
    limit > 0 && missed >= limit
}

/// Whether a conversation of `queue` goes straight to its agent, with no offer.
pub fn auto_accept(queue: Option<&WorkQueue>) -> bool {
    queue.is_some_and(|q| q.auto_accept)
}

/// The queue's offer settings: a 400 naming the field and the rule.
pub fn validate(queue: &WorkQueue) -> Result<(), FieldError> {
    if !(MIN_REFUSAL_TIMEOUT_SECS..=MAX_REFUSAL_TIMEOUT_SECS).contains(&queue.refusal_timeout_secs) {
        return Err(FieldError::new(
            "refusal_timeout_secs",
            format!("between {MIN_REFUSAL_TIMEOUT_SECS} and {MAX_REFUSAL_TIMEOUT_SECS} seconds"),
        ));
    }
    if queue.max_missed_offers > MAX_MISSED_OFFERS_LIMIT {
        return Err(FieldError::new(
            "max_missed_offers",
            format!("between 0 (never set away) and {MAX_MISSED_OFFERS_LIMIT}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QueueId;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);

    fn queue() -> WorkQueue {
        WorkQueue::new(QueueId::new("q_1"), "Support", AT)
    }

    #[test]
    fn an_offer_runs_for_the_queues_refusal_timeout_a_minute_by_default() {
        let offer = make(Some(&queue()), AT);
        assert_eq!((offer.offered_at, offer.expires_at), (AT, AT + Duration::seconds(60)));
        assert!(!expired(&offer, AT + Duration::seconds(59)));
        assert!(expired(&offer, AT + Duration::seconds(60)));
        let mut q = queue();
        q.refusal_timeout_secs = 15;
        assert_eq!(make(Some(&q), AT).expires_at, AT + Duration::seconds(15));
        assert_eq!(make(None, AT).expires_at, AT + Duration::seconds(60), "queue gone: the default");
    }

    #[test]
    fn missing_the_queues_number_of_offers_in_a_row_sets_the_agent_away() {
        let mut q = queue();
        assert!(!sets_away(Some(&q), 2) && sets_away(Some(&q), 3), "default 3");
        q.max_missed_offers = 1;
        assert!(sets_away(Some(&q), 1));
        q.max_missed_offers = 0;
        assert!(!sets_away(Some(&q), 1_000), "0: never");
    }

    #[test]
    fn offers_are_the_default_and_auto_accept_is_the_queues_choice() {
        let mut q = queue();
        assert!(!auto_accept(Some(&q)) && !auto_accept(None));
        q.auto_accept = true;
        assert!(auto_accept(Some(&q)));
    }

    #[test]
    fn offer_settings_name_the_field_and_rule() {
        assert_eq!(validate(&queue()), Ok(()));
        let mut q = queue();
        q.refusal_timeout_secs = 4;
        assert_eq!(validate(&q).unwrap_err().field, "refusal_timeout_secs");
        q.refusal_timeout_secs = 901;
        assert_eq!(validate(&q).unwrap_err().field, "refusal_timeout_secs");
        let mut q = queue();
        q.max_missed_offers = 101;
        assert_eq!(validate(&q).unwrap_err().field, "max_missed_offers");
    }
}
