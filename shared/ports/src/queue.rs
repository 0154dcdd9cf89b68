//! Durable queues between the functions, with SQS semantics in both adapters: at-least-once delivery,
//! a visibility timeout, a receive count, dead letter after `max_receives`; FIFO queues keep order within
//! a group (no message of a group is delivered while an earlier one is in flight) and drop a message whose
//! dedupe id was seen in the last five minutes.

use async_trait::async_trait;
use std::time::Duration;

use crate::PortResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueKind {
    /// inbound-webhook -> router (FIFO, group = channel + customer phone).
    Inbound,
    /// agent-api / router -> outbound-send (FIFO, group = conversation).
    Outbound,
    /// router / agent-api -> crm-upsert (standard).
    Crm,
}

impl QueueKind {
    pub const ALL: [QueueKind; 3] = [QueueKind::Inbound, QueueKind::Outbound, QueueKind::Crm];

    pub fn name(self) -> &'static str {
        match self {
            QueueKind::Inbound => "inbound",
            QueueKind::Outbound => "outbound",
            QueueKind::Crm => "crm",
        }
    }

    pub fn is_fifo(self) -> bool {
        !matches!(self, QueueKind::Crm)
    }

    /// Receives after which a message goes to the dead-letter queue.
    pub fn max_receives(self) -> u32 {
        3
    }
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
    /// Up to `max` visible messages, each hidden for `visibility` unless acked. Messages received more than
    /// `max_receives` times move to the queue's dead-letter queue instead of being returned.
    async fn receive(&self, queue: QueueKind, max: usize, visibility: Duration) -> PortResult<Vec<Received>>;
    /// Deletes a delivered message.
    async fn ack(&self, queue: QueueKind, receipt: &str) -> PortResult<()>;
    /// Makes a delivered message visible again after `delay` (SQS ChangeMessageVisibility).
    async fn retry_after(&self, queue: QueueKind, receipt: &str, delay: Duration) -> PortResult<()>;
    /// Bodies in the queue's dead-letter queue (for operators and tests).
    async fn dead_letters(&self, queue: QueueKind) -> PortResult<Vec<String>>;
    /// Messages waiting or in flight (approximate in SQS).
    async fn depth(&self, queue: QueueKind) -> PortResult<u64>;
}

/// What a consumer made of one delivery; the runtime (the embedded poller, or the Lambda SQS glue) carries
/// it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Handled (or a harmless duplicate): delete it.
    Done,
    /// A transient failure: deliver it again after this delay (SQS ChangeMessageVisibility; in Lambda the
    /// message is also reported as a batch item failure).
    RetryAfter(Duration),
    /// Failed: leave it to the visibility timeout; after `max_receives` it goes to the dead-letter queue.
    Failed(String),
}

/// A queue consumer: router, outbound-send, crm-upsert. Must be idempotent: a redelivered message changes
/// nothing the second time.
#[async_trait]
pub trait Consumer: Send + Sync {
    async fn consume(&self, message: &Received) -> Outcome;
}
