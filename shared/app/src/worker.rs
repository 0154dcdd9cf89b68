//! The embedded shape's queue runtime: polls a queue and runs each batch through [`crate::batch`], the
//! batch core the Lambda SQS glue uses in AWS.

use crate::batch::{BatchOptions, run_batch};
use smsdesk_ports::{Consumer, MessageQueue, QueueKind};
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

/// Handles one batch; returns how many messages it saw. The plan is [`crate::batch`]'s, the same as in
/// Lambda: FIFO groups run concurrently, each in order, cut at a retry; given-up messages go to the
/// dead-letter queue with their reason.
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
    let options = BatchOptions { ack_done: true, deadline: None };
    run_batch(consumer, queue, kind, &batch, options).await;
    batch.len()
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
