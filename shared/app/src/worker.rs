//! The embedded shape's queue runtime: polls a queue and carries out each consumer's [`Outcome`], as the
//! Lambda SQS glue does in AWS. Messages of one poll run one after another, so FIFO order holds.

use smsdesk_ports::{Consumer, MessageQueue, Outcome, QueueKind};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

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

/// Handles one batch; returns how many messages it saw.
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
    for message in batch {
        let span = tracing::info_span!("consume", queue = kind.name(), message_id = %message.message_id, receive = message.receive_count);
        let _guard = span.enter();
        let outcome = consumer.consume(&message).await;
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
        }
    }
    n
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
