//! One batch core for both shapes: the embedded poller ([`crate::worker`]) and the Lambda SQS glue
//! (`smsdesk_lambda::process_batch`) hand a received batch to [`run_batch`], which runs it by the plan of
//! the pure functions below and carries out every consumer [`Outcome`] through the queue port.
//!
//! The plan:
//! - [`lanes`]: a FIFO queue's batch is split by message group, each group in receive order; lanes run
//!   concurrently, the messages of one lane one after another. On a standard queue every message is its
//!   own lane.
//! - [`after`]: what a message's outcome does to it and to the rest of its lane. `Done` goes on.
//!   `RetryAfter(d)` delays the message and cuts the lane: the rest is not run and is delayed alike, so the
//!   group comes back together and in order. `Failed` moves the message to the dead-letter queue with its
//!   reason and the lane goes on (the group's order holds without it). A settle that could not be carried
//!   out (ack or dead-letter refused by the queue) cuts the lane too.
//! - [`may_start`]: no message starts after the deadline (Lambda's deadline minus the provider timeout);
//!   the rest of each lane is released untaken.
//!
//! Only consumers count failures (e.g. a reply's send attempts in the store), and only `Failed` dead-letters
//! a message: a skipped or untaken message is made visible again and never counted as a failure of its own.

use futures::future::join_all;
use smsdesk_ports::{Consumer, MessageQueue, Outcome, QueueKind, Received};
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;

/// What becomes of one message of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Handled: acked (or, in Lambda, left for Lambda to delete).
    Done,
    /// Moved to the dead-letter queue with this reason.
    DeadLettered(String),
    /// Handed back to come again after this delay (its own retry, or its group's).
    Delayed(Duration),
    /// Not run: an earlier message of its group did not finish, or the deadline came. Visible again now
    /// (or with its group's delay), not counted as a failure.
    Skipped,
    /// Its outcome could not be carried out; the visibility timeout brings it back.
    Unsettled,
}

impl Fate {
    /// Whether the message must be reported back (Lambda's batch item failures): it is still in the queue.
    pub fn must_return(&self) -> bool {
        !matches!(self, Fate::Done | Fate::DeadLettered(_))
    }
}

/// How the rest of a lane goes after a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Go,
    /// The rest is not run; it comes back after this delay (zero: at once).
    Cut(Duration),
}

/// The lanes of a batch, as indexes into it: per FIFO group in receive order (groups in order of first
/// appearance); on a standard queue, or for a message without a group, one lane per message.
pub fn lanes(messages: &[Received], fifo: bool) -> Vec<Vec<usize>> {
    let mut out: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let group = if fifo { m.group.as_deref() } else { None };
        match out.iter_mut().find(|(g, _)| g.is_some() && *g == group) {
            Some((_, lane)) => lane.push(i),
            None => out.push((group, vec![i])),
        }
    }
    out.into_iter().map(|(_, lane)| lane).collect()
}

/// What to do with a message given its outcome: (what the runtime carries out, what the lane does next if
/// that succeeds).
pub fn after(outcome: &Outcome) -> (Fate, Next) {
    match outcome {
        Outcome::Done => (Fate::Done, Next::Go),
        Outcome::RetryAfter(delay) => (Fate::Delayed(*delay), Next::Cut(*delay)),
        Outcome::Failed(reason) => (Fate::DeadLettered(reason.clone()), Next::Go),
    }
}

/// After a settle the queue refused: the message is unsettled and the rest of its lane comes back at once
/// (behind it: the unsettled message is still in flight, so its group stays blocked until it returns).
pub fn after_refused() -> (Fate, Next) {
    (Fate::Unsettled, Next::Cut(Duration::ZERO))
}

/// Whether a message may start now.
pub fn may_start(now: Instant, deadline: Option<Instant>) -> bool {
    deadline.is_none_or(|d| now < d)
}

/// How a runtime carries out outcomes.
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchOptions {
    /// Ack handled messages through the port (the embedded poller); false where the runtime deletes them
    /// itself (Lambda deletes every message its response does not report).
    pub ack_done: bool,
    /// Start no message after this.
    pub deadline: Option<Instant>,
}

/// Runs a batch; returns each message's fate, in batch order.
pub async fn run_batch(
    consumer: &dyn Consumer,
    queue: &dyn MessageQueue,
    kind: QueueKind,
    messages: &[Received],
    options: BatchOptions,
) -> Vec<Fate> {
    let plan = lanes(messages, kind.is_fifo());
    let runs = plan.iter().map(|lane| run_lane(consumer, queue, kind, messages, lane, options));
    let mut fates = vec![Fate::Skipped; messages.len()];
    for results in join_all(runs).await {
        for (i, fate) in results {
            fates[i] = fate;
        }
    }
    fates
}

async fn run_lane(
    consumer: &dyn Consumer,
    queue: &dyn MessageQueue,
    kind: QueueKind,
    messages: &[Received],
    lane: &[usize],
    options: BatchOptions,
) -> Vec<(usize, Fate)> {
    let mut out = Vec::with_capacity(lane.len());
    let mut cut: Option<Duration> = None;
    for &i in lane {
        let message = &messages[i];
        let span = message_span(kind, message);
        if cut.is_none() && !may_start(Instant::now(), options.deadline) {
            span.in_scope(|| tracing::info!("not started: the invocation's deadline is near"));
            cut = Some(Duration::ZERO);
        }
        if let Some(delay) = cut {
            span.in_scope(|| tracing::info!("not processed: it goes back to the queue, uncounted"));
            // The message comes back with its group; should this fail, the visibility timeout does it.
            if let Err(error) = queue.retry_after(kind, &message.receipt, delay).instrument(span).await {
                tracing::warn!(%error, "could not hand a skipped message back; the visibility timeout will");
            }
            out.push((i, if delay.is_zero() { Fate::Skipped } else { Fate::Delayed(delay) }));
            continue;
        }
        let outcome = consumer.consume(message).instrument(span.clone()).await;
        let (fate, next) = settle(queue, kind, message, &outcome, options).instrument(span).await;
        out.push((i, fate));
        if let Next::Cut(delay) = next {
            cut = Some(delay);
        }
    }
    out
}

/// Carries out one outcome through the port.
async fn settle(
    queue: &dyn MessageQueue,
    kind: QueueKind,
    message: &Received,
    outcome: &Outcome,
    options: BatchOptions,
) -> (Fate, Next) {
    let (fate, next) = after(outcome);
    let applied = match &fate {
        Fate::Done if options.ack_done => queue.ack(kind, &message.receipt).await,
        Fate::Done => Ok(()),
        Fate::Delayed(delay) => {
            tracing::info!(
                delay_ms = delay.as_millis() as u64,
                "not done yet; it comes back after the delay"
            );
            queue.retry_after(kind, &message.receipt, *delay).await
        }
        Fate::DeadLettered(reason) => {
            tracing::warn!(%reason, "given up: moved to the dead-letter queue");
            queue.dead_letter(kind, message, reason).await
        }
        Fate::Skipped | Fate::Unsettled => Ok(()),
    };
    match applied {
        Ok(()) => (fate, next),
        // A delay the queue refused still returns the message (after its visibility timeout), reported.
        Err(error) if matches!(fate, Fate::Delayed(_)) => {
            tracing::warn!(%error, "could not delay the retry; the visibility timeout will bring it back");
            (fate, next)
        }
        Err(error) => {
            tracing::warn!(%error, "could not settle the message; it will be redelivered");
            after_refused()
        }
    }
}

fn message_span(kind: QueueKind, message: &Received) -> tracing::Span {
    tracing::info_span!(
        "queue_message",
        queue = kind.name(),
        message_id = %message.message_id,
        // A FIFO group id holds the customer's number (channel + phone): logged as a hash only.
        group = message.group.as_deref().map(smsdesk_domain::redact::log_hash).unwrap_or_default(),
        receive_count = message.receive_count,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, group: Option<&str>) -> Received {
        Received {
            message_id: id.into(),
            receipt: format!("rh-{id}"),
            body: String::new(),
            group: group.map(str::to_string),
            receive_count: 1,
        }
    }

    #[test]
    fn fifo_lanes_follow_groups_in_receive_order() {
        let batch = [msg("a1", Some("a")), msg("b1", Some("b")), msg("a2", Some("a")), msg("c1", Some("c"))];
        assert_eq!(lanes(&batch, true), vec![vec![0, 2], vec![1], vec![3]]);
    }

    #[test]
    fn standard_messages_are_each_their_own_lane() {
        let batch = [msg("a1", Some("a")), msg("a2", Some("a")), msg("x", None)];
        assert_eq!(lanes(&batch, false), vec![vec![0], vec![1], vec![2]]);
        // Without a group, even on a FIFO queue, nothing is ordered behind anything.
        assert_eq!(lanes(&[msg("x", None), msg("y", None)], true), vec![vec![0], vec![1]]);
    }

    #[test]
    fn done_goes_on_and_a_retry_cuts_the_lane_with_its_delay() {
        assert_eq!(after(&Outcome::Done), (Fate::Done, Next::Go));
        let d = Duration::from_secs(7);
        assert_eq!(after(&Outcome::RetryAfter(d)), (Fate::Delayed(d), Next::Cut(d)));
    }

    #[test]
    fn a_given_up_message_is_dead_lettered_and_its_group_goes_on() {
        let (fate, next) = after(&Outcome::Failed("gave up after 3 attempts".into()));
        assert_eq!(fate, Fate::DeadLettered("gave up after 3 attempts".into()));
        assert_eq!(next, Next::Go, "the rest of the group is not held back by a dead letter");
        assert!(!fate.must_return());
    }

    #[test]
    fn a_refused_settle_cuts_the_lane_at_once() {
        assert_eq!(after_refused(), (Fate::Unsettled, Next::Cut(Duration::ZERO)));
        assert!(Fate::Unsettled.must_return() && Fate::Skipped.must_return());
        assert!(Fate::Delayed(Duration::ZERO).must_return() && !Fate::Done.must_return());
    }

    #[test]
    fn nothing_starts_at_or_after_the_deadline() {
        let now = Instant::now();
        assert!(may_start(now, None));
        assert!(may_start(now, Some(now + Duration::from_millis(1))));
        assert!(!may_start(now, Some(now)));
        assert!(!may_start(now + Duration::from_secs(1), Some(now)));
    }
}
