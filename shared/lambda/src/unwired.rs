//! The stand-in for a port a function was built without.
//!
//! `App` holds a queue and a secret store, but not every function uses both: the router, crm-upsert and
//! timers never read channel credentials, and validate-credentials never touches a queue. Linking an SDK
//! client a function never calls costs its bootstrap size and init time (bench/coldstart/README.md), so
//! each function names the adapters it uses with `smsdesk-lambda` features (`queue`, `secrets`) and
//! [`crate::aws_app`] puts an [`Unwired`] in place of the others. If a handler ever calls one, the call
//! fails with a non-retryable [`PortError::Backend`] that names the missing feature, and the function's
//! Cargo.toml is where to fix it.

use async_trait::async_trait;
use secrecy::SecretString;
use smsdesk_domain::{ChannelId, QueueId};
use smsdesk_ports::{
    Credentials, DeadLetter, MessageQueue, PortError, PortResult, QueueKind, QueueMessage, Received,
    SecretStore,
};
use std::time::Duration;

/// A port this function was built without; `feature` is the `smsdesk-lambda` feature that wires it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unwired {
    pub port: &'static str,
    pub feature: &'static str,
}

impl Unwired {
    /// The queue port, wired by the `queue` feature.
    pub const QUEUE: Unwired = Unwired { port: "queue", feature: "queue" };
    /// The secret port, wired by the `secrets` feature.
    pub const SECRETS: Unwired = Unwired { port: "secret store", feature: "secrets" };

    pub fn error(&self) -> PortError {
        PortError::Backend(format!(
            "this function was built without the {} (enable the smsdesk-lambda feature `{}`)",
            self.port, self.feature
        ))
    }
}

#[async_trait]
impl MessageQueue for Unwired {
    async fn send(&self, _queue: QueueKind, _message: QueueMessage) -> PortResult<()> {
        Err(self.error())
    }
    async fn send_delayed(
        &self,
        _queue: QueueKind,
        _message: QueueMessage,
        _delay: Duration,
    ) -> PortResult<()> {
        Err(self.error())
    }
    async fn receive(
        &self,
        _queue: QueueKind,
        _max: usize,
        _visibility: Duration,
    ) -> PortResult<Vec<Received>> {
        Err(self.error())
    }
    async fn ack(&self, _queue: QueueKind, _receipt: &str) -> PortResult<()> {
        Err(self.error())
    }
    async fn retry_after(&self, _queue: QueueKind, _receipt: &str, _delay: Duration) -> PortResult<()> {
        Err(self.error())
    }
    async fn dead_letter(&self, _queue: QueueKind, _message: &Received, _reason: &str) -> PortResult<()> {
        Err(self.error())
    }
    async fn dead_letters(&self, _queue: QueueKind) -> PortResult<Vec<DeadLetter>> {
        Err(self.error())
    }
    async fn redrive(&self, _queue: QueueKind, _ids: Option<&[String]>) -> PortResult<usize> {
        Err(self.error())
    }
    async fn depth(&self, _queue: QueueKind) -> PortResult<u64> {
        Err(self.error())
    }
}

#[async_trait]
impl SecretStore for Unwired {
    async fn put_credentials(&self, _channel: &ChannelId, _credentials: &Credentials) -> PortResult<()> {
        Err(self.error())
    }
    async fn get_credentials(&self, _channel: &ChannelId) -> PortResult<Option<Credentials>> {
        Err(self.error())
    }
    async fn put_bot_secret(&self, _queue: &QueueId, _secret: &SecretString) -> PortResult<()> {
        Err(self.error())
    }
    async fn get_bot_secret(&self, _queue: &QueueId) -> PortResult<Option<SecretString>> {
        Err(self.error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_names_the_feature(result: PortResult<impl std::fmt::Debug>, feature: &str) {
        match result {
            Err(e @ PortError::Backend(_)) => {
                assert!(!e.is_retryable(), "a missing adapter does not come back by retrying");
                assert!(e.to_string().contains(&format!("`{feature}`")), "{e}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unwired_queue_refuses_every_call() {
        let q = Unwired::QUEUE;
        let message = QueueMessage { body: "{}".into(), group: None, dedupe_id: None };
        assert_names_the_feature(q.send(QueueKind::Crm, message).await, "queue");
        assert_names_the_feature(q.receive(QueueKind::Crm, 1, Duration::from_secs(1)).await, "queue");
        assert_names_the_feature(q.ack(QueueKind::Crm, "r").await, "queue");
        assert_names_the_feature(q.retry_after(QueueKind::Crm, "r", Duration::ZERO).await, "queue");
        assert_names_the_feature(q.dead_letters(QueueKind::Crm).await, "queue");
        assert_names_the_feature(q.depth(QueueKind::Crm).await, "queue");
    }

    #[tokio::test]
    async fn unwired_secrets_refuse_reads_and_writes() {
        let s = Unwired::SECRETS;
        let channel = ChannelId::new("ch_1");
        assert_names_the_feature(s.get_credentials(&channel).await, "secrets");
        assert_names_the_feature(
            s.put_credentials(&channel, &Credentials::empty(smsdesk_domain::ProviderKind::Sandbox)).await,
            "secrets",
        );
    }
}
