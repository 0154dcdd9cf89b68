//! The embedded shape's queue runtime: polls a queue and carries out each consumer's [`Outcome`], as the
//! Lambda SQS glue does in AWS.

use smsdesk_ports::{Consumer, MessageQueue, Outcome, QueueKind, Received};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

#[derive(Clone, Debug)]
pub struct PollerConfig {
    pub batch: usize,
    pub visibility: Duration,
    /// Sleep when the queue was empty.
    pub idle: Duration,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self { batch: 10, visibility: Duration::from_secs(60), idle: Duration::from_millis(100) }
    }
}

/// Handles one batch; returns how many messages it saw. Messages of one FIFO group run one after another in
/// order, and a group stops at its first message that does not succeed (the rest come back after the
/// visibility timeout, still in order); different groups, and standard-queue messages, run concurrently, so
/// one slow provider call does not hold up every other conversation.
pub async fn poll_once(
    queue: &dyn MessageQueue,
    kind: QueueKind,
    consumer: &dyn Consumer,
    cfg: &PollerConfig,
) -> usize {
    let batch = match queue.receive(kind, cfg.batch, cfg.visibility).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(queue = kind.name(), error = %e, "receive failed");
            return 0;
        }
    };
    let n = batch.len();
    let mut groups: Vec<(Option<String>, Vec<Received>)> = Vec::new();
    for message in batch {
        match groups.iter_mut().find(|(g, _)| g.is_some() && *g == message.group) {
            Some((_, members)) => members.push(message),
            None => groups.push((message.group.clone(), vec![message])),
        }
    }
    futures::future::join_all(groups.into_iter().map(|(_, members)| async move {
        for message in members {
            if !settle(queue, kind, consumer, &message).await {
                break;
            }
        }
    }))
    .await;
    n
}

/// Runs the consumer on one message and carries out its outcome; true when the message is done.
async fn settle(
    queue: &dyn MessageQueue,
    kind: QueueKind,
    consumer: &dyn Consumer,
    message: &Received,
) -> bool {
    let span = tracing::info_span!("consume", queue = kind.name(), message_id = %message.message_id, receive = message.receive_count);
    let outcome = consumer.consume(message).instrument(span).await;
    let applied = match &outcome {
        Outcome::Done => queue.ack(kind, &message.receipt).await,
        Outcome::RetryAfter(delay) => queue.retry_after(kind, &message.receipt, *delay).await,
        Outcome::Failed(reason) => {
            tracing::warn!(queue = kind.name(), %reason, "message failed; it returns after the visibility timeout");
            Ok(())
        }
    };
    if let Err(e) = applied {
        tracing::warn!(queue = kind.name(), error = %e, "could not settle a message; it will be redelivered");
        return false;
    }
    outcome == Outcome::Done
}

/// Polls until `shutdown` turns true.
pub async fn run_poller(
    queue: Arc<dyn MessageQueue>,
    kind: QueueKind,
    consumer: Arc<dyn Consumer>,
    cfg: PollerConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let seen = poll_once(queue.as_ref(), kind, consumer.as_ref(), &cfg).await;
        if seen == 0 {
            tokio::select! {
                _ = tokio::time::sleep(cfg.idle) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
