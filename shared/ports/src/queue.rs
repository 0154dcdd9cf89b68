//! Durable queues between the functions, with SQS semantics in both adapters: at-least-once delivery,
//! a visibility timeout, a receive count; FIFO queues keep order within a group (no message of a group is
//! delivered while an earlier one is in flight) and drop a message whose dedupe id was seen in the last five
//! minutes.
//!
//! Dead letters: a message goes to its queue's dead-letter queue when its consumer gives up on it
//! ([`Outcome::Failed`], after the retry policy gave up, with the reason kept: [`MessageQueue::dead_letter`]).
//! The queue's own receive limit ([`QueueKind::max_receives`]) is only a backstop against crash loops, far
//! above what the retry policies spend, because receives are also spent by deliveries that were no failure
//! of the message (a FIFO message skipped behind a failing one, a batch cut at the Lambda deadline, a send
//! claim held elsewhere).

use async_trait::async_trait;
use std::time::Duration;

use crate::PortResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueKind {
    /// inbound-webhook -> router (FIFO, group = channel + customer phone).
    Inbound,
    /// agent-api / router -> outbound-send (FIFO, group = conversation).
    Outbound,
    /// router / agent-api / timers -> crm-upsert (standard).
    Crm,
    /// Timers due at a set time (an offer's refusal timeout), sent with a delay -> timers (standard: FIFO
    /// queues take no per-message delay).
    Timers,
}

impl QueueKind {
    pub const ALL: [QueueKind; 4] =
        [QueueKind::Inbound, QueueKind::Outbound, QueueKind::Crm, QueueKind::Timers];

    pub fn name(self) -> &'static str {
        match self {
            QueueKind::Inbound => "inbound",
            QueueKind::Outbound => "outbound",
            QueueKind::Crm => "crm",
            QueueKind::Timers => "timers",
        }
    }

    pub fn is_fifo(self) -> bool {
        !matches!(self, QueueKind::Crm | QueueKind::Timers)
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Receives after which the queue itself moves a message to the dead-letter queue (SQS's
    /// `maxReceiveCount`): a backstop for messages that crash their consumer, not the retry policy. It is
    /// far above the receives a retry policy spends, so that receives spent on skips, deadline cuts and held
    /// claims never dead-letter a message that was not given up on. The outbound queue's is higher: a
    /// reply waiting for its number's send pace comes back once per interval at most
    /// (`smsdesk_domain::pacing::decide`), and a burst on a one-per-second number (a
    /// campaign's automated texts) can keep it waiting for minutes.
    pub fn max_receives(self) -> u32 {
        match self {
            QueueKind::Outbound => OUTBOUND_MAX_RECEIVES,
            _ => 20,
        }
    }
}

/// The outbound queue's receive limit: ten minutes of waiting for a one-per-second number's pace (the
/// stranded-reply sweep takes over a reply queued longer than that).
pub const OUTBOUND_MAX_RECEIVES: u32 = 600;

/// The longest delay a message may be sent with ([`MessageQueue::send_delayed`]; SQS's limit, 15 minutes).
pub const MAX_DELAY: Duration = Duration::from_secs(900);

/// A delay as SQS takes it: whole seconds, rounded up; None beyond [`MAX_DELAY`].
pub fn delay_seconds(delay: Duration) -> Option<i32> {
    if delay > MAX_DELAY {
        return None;
    }
    let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    i32::try_from(secs).ok()
}

/// A message in a dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id in the dead-letter queue (what [`MessageQueue::redrive`] names).
    pub message_id: String,
    pub body: String,
    pub group: Option<String>,
    /// Why it died: the consumer's reason, or the receive limit (the backstop).
    pub reason: String,
}

/// A message to put on a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueMessage {
    pub body: String,
    /// FIFO message group (required on FIFO queues, ignored on standard ones).
    pub group: Option<String>,
    /// FIFO deduplication id (a second send with the same id within five minutes is dropped).
    pub dedupe_id: Option<String>,
}

/// A message handed to a consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The queue's id for the message (SQS MessageId).
    pub message_id: String,
    /// What acks or delays this delivery (SQS ReceiptHandle).
    pub receipt: String,
    pub body: String,
    pub group: Option<String>,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

#[async_trait]
pub trait MessageQueue: Send + Sync {
    /// Durably stores the message; when this returns Ok the message will be delivered (at least once).
    async fn send(&self, queue: QueueKind, message: QueueMessage) -> PortResult<()>;
    /// As [`MessageQueue::send`], delivered no sooner than `delay` from now (SQS `DelaySeconds`, whole
    /// seconds rounded up, at most [`MAX_DELAY`]; a longer delay is refused). Standard queues only: a FIFO
    /// queue takes no per-message delay, and refuses one.
    async fn send_delayed(&self, queue: QueueKind, message: QueueMessage, delay: Duration) -> PortResult<()>;
    /// Up to `max` visible messages, each hidden for `visibility` unless acked. Messages received more than
    /// `max_receives` times move to the queue's dead-letter queue instead of being returned.
    async fn receive(&self, queue: QueueKind, max: usize, visibility: Duration) -> PortResult<Vec<Received>>;
    /// Deletes a delivered message.
    async fn ack(&self, queue: QueueKind, receipt: &str) -> PortResult<()>;
    /// Makes a delivered message visible again after `delay` (SQS ChangeMessageVisibility).
    async fn retry_after(&self, queue: QueueKind, receipt: &str, delay: Duration) -> PortResult<()>;
    /// Moves a delivered message to the queue's dead-letter queue with `reason`, and deletes it from the
    /// queue (a FIFO group goes on with its next message). A stale receipt moves nothing.
    async fn dead_letter(&self, queue: QueueKind, message: &Received, reason: &str) -> PortResult<()>;
    /// The queue's dead letters with why they died, oldest first (for operators and tests).
    async fn dead_letters(&self, queue: QueueKind) -> PortResult<Vec<DeadLetter>>;
    /// Moves dead letters back to the end of their queue (the ones named, or all of them when `ids` is
    /// None), as new messages with a fresh receive count and their FIFO group; returns how many moved.
    async fn redrive(&self, queue: QueueKind, ids: Option<&[String]>) -> PortResult<usize>;
    /// Messages waiting (delayed ones included) or in flight (approximate in SQS).
    async fn depth(&self, queue: QueueKind) -> PortResult<u64>;
}

/// What a consumer made of one delivery; the runtime (the embedded poller, or the Lambda SQS glue) carries
/// it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Handled (or a harmless duplicate): delete it.
    Done,
    /// Not handled yet: deliver it again after this delay (SQS ChangeMessageVisibility; in Lambda the
    /// message is also reported as a batch item failure). Never a step towards the dead-letter queue: a
    /// consumer that retries a failure counts its attempts itself (e.g. a reply's send attempts in the store)
    /// and answers `Failed` when its retry policy gives up.
    RetryAfter(Duration),
    /// Given up (the retry policy gave up, or it can never succeed): the runtime moves it to the dead-letter
    /// queue at once, with this reason.
    Failed(String),
}

/// A queue consumer: router, outbound-send, crm-upsert. Must be idempotent: a redelivered message changes
/// nothing the second time.
#[async_trait]
pub trait Consumer: Send + Sync {
    async fn consume(&self, message: &Received) -> Outcome;
}
