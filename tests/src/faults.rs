//! A fault injector around the app's real queue adapter (SQLite or SQS): everything goes through to the real
//! queue unless the test switches a fault on. Not a mock: the messages, receipts and redeliveries are the
//! real adapter's; the injector only refuses or holds back sends, as a queue outage or a slow network would,
//! and counts what the consumers asked of the queue so a test can see that something was deferred.

use async_trait::async_trait;
use smsdesk_ports::{DeadLetter, MessageQueue, PortError, PortResult, QueueKind, QueueMessage, Received};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Matcher = Box<dyn Fn(&QueueMessage) -> bool + Send + Sync>;

#[derive(Default)]
struct State {
    failing: HashSet<QueueKind>,
    hold: Vec<(QueueKind, Matcher)>,
    held: Vec<(QueueKind, QueueMessage)>,
    retries: HashMap<QueueKind, usize>,
}

/// Wraps the real queue; see the module documentation.
pub struct FaultyQueue {
    inner: Arc<dyn MessageQueue>,
    state: Mutex<State>,
}

impl FaultyQueue {
    pub fn new(inner: Arc<dyn MessageQueue>) -> Self {
        Self { inner, state: Mutex::new(State::default()) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends to `kind` fail (as SQS does when it is unreachable) until [`FaultyQueue::heal`].
    pub fn fail_sends(&self, kind: QueueKind) {
        self.state().failing.insert(kind);
    }

    pub fn heal(&self, kind: QueueKind) {
        self.state().failing.remove(&kind);
    }

    /// Sends to `kind` that `matches` are held back (acknowledged, not yet on the queue) until
    /// [`FaultyQueue::release`]: a message that is slow to arrive.
    pub fn hold(&self, kind: QueueKind, matches: impl Fn(&QueueMessage) -> bool + Send + Sync + 'static) {
        self.state().hold.push((kind, Box::new(matches)));
    }

    /// How many sends are held back.
    pub fn held(&self) -> usize {
        self.state().held.len()
    }

    /// Stops holding and puts every held message on its queue, in order.
    pub async fn release(&self) -> PortResult<()> {
        let held = {
            let mut state = self.state();
            state.hold.clear();
            std::mem::take(&mut state.held)
        };
        for (kind, message) in held {
            self.inner.send(kind, message).await?;
        }
        Ok(())
    }

    /// How many times a consumer of `kind` asked for a delivery to come back later (Outcome::RetryAfter).
    pub fn retries(&self, kind: QueueKind) -> usize {
        self.state().retries.get(&kind).copied().unwrap_or(0)
    }
}

#[async_trait]
impl MessageQueue for FaultyQueue {
    async fn send(&self, queue: QueueKind, message: QueueMessage) -> PortResult<()> {
        {
            let mut state = self.state();
            if state.failing.contains(&queue) {
                return Err(PortError::Unavailable(format!(
                    "{} queue unreachable (fault injected by the test)",
                    queue.name()
                )));
            }
            if state.hold.iter().any(|(kind, matches)| *kind == queue && matches(&message)) {
                state.held.push((queue, message));
                return Ok(());
            }
        }
        self.inner.send(queue, message).await
    }

    async fn send_delayed(&self, queue: QueueKind, message: QueueMessage, delay: Duration) -> PortResult<()> {
        if self.state().failing.contains(&queue) {
            return Err(PortError::Unavailable(format!(
                "{} queue unreachable (fault injected by the test)",
                queue.name()
            )));
        }
        self.inner.send_delayed(queue, message, delay).await
    }

    async fn receive(&self, queue: QueueKind, max: usize, visibility: Duration) -> PortResult<Vec<Received>> {
        self.inner.receive(queue, max, visibility).await
    }

    async fn ack(&self, queue: QueueKind, receipt: &str) -> PortResult<()> {
        self.inner.ack(queue, receipt).await
    }

    async fn retry_after(&self, queue: QueueKind, receipt: &str, delay: Duration) -> PortResult<()> {
        *self.state().retries.entry(queue).or_default() += 1;
        self.inner.retry_after(queue, receipt, delay).await
    }

    async fn dead_letter(&self, queue: QueueKind, message: &Received, reason: &str) -> PortResult<()> {
        self.inner.dead_letter(queue, message, reason).await
    }

    async fn dead_letters(&self, queue: QueueKind) -> PortResult<Vec<DeadLetter>> {
        self.inner.dead_letters(queue).await
    }

    async fn redrive(&self, queue: QueueKind, ids: Option<&[String]>) -> PortResult<usize> {
        self.inner.redrive(queue, ids).await
    }

    /// The real queue's depth plus the messages held back.
    async fn depth(&self, queue: QueueKind) -> PortResult<u64> {
        let held = self.state().held.iter().filter(|(kind, _)| *kind == queue).count() as u64;
        Ok(self.inner.depth(queue).await? + held)
    }
}
