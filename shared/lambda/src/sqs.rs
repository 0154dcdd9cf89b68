//! SQS batches into [`Consumer`] calls, and [`Outcome`]s back into a partial batch response.
//!
//! The event source mapping must enable `ReportBatchItemFailures` (infra/template.yaml does): Lambda then
//! deletes every message not named in `batchItemFailures` and leaves the named ones to come back.
//! - Standard queue: messages run concurrently, each in its own span; only the failed ids are reported.
//! - FIFO queue: messages run in order; the first failure in a message group is reported together with
//!   every later message of that group, unprocessed, so the group's order survives the retry. Other groups
//!   go on.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use lambda_runtime::{LambdaEvent, service_fn};
use smsdesk_ports::{Consumer, MessageQueue, Outcome, QueueKind, Received};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Serves SQS batches for `kind` until the Lambda environment shuts down.
pub async fn run_sqs(
    consumer: Arc<dyn Consumer>,
    queue: Arc<dyn MessageQueue>,
    kind: QueueKind,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let consumer = Arc::clone(&consumer);
        let queue = Arc::clone(&queue);
        async move {
            let response = process_batch(consumer.as_ref(), queue.as_ref(), kind, event.payload).await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}

/// Runs one batch through `consumer` and says which messages must come back. Pure apart from the two
/// ports, so it is tested without Lambda.
pub async fn process_batch(
    consumer: &dyn Consumer,
    queue: &dyn MessageQueue,
    kind: QueueKind,
    event: SqsEvent,
) -> SqsBatchResponse {
    let messages: Vec<Received> = event.records.into_iter().filter_map(received_or_log).collect();
    let failed = if kind.is_fifo() {
        fifo(consumer, queue, kind, messages).await
    } else {
        standard(consumer, queue, kind, messages).await
    };
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed.into_iter().map(failure).collect();
    response
}

/// The port's view of one SQS record; `None` without a message id (nothing could name it in a response).
pub fn received_from(message: SqsMessage) -> Option<Received> {
    let message_id = message.message_id.filter(|id| !id.is_empty())?;
    let receive_count =
        message.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse::<u32>().ok()).unwrap_or(1);
    Some(Received {
        message_id,
        receipt: message.receipt_handle.unwrap_or_default(),
        body: message.body.unwrap_or_default(),
        group: message.attributes.get("MessageGroupId").cloned(),
        receive_count,
    })
}

fn received_or_log(message: SqsMessage) -> Option<Received> {
    let received = received_from(message);
    if received.is_none() {
        // Lambda deletes what a response does not name, so this record is lost; it cannot happen with
        // records that SQS produced, hence an error and not a retry.
        tracing::error!("SQS record without a messageId; it cannot be reported and is dropped");
    }
    received
}

fn failure(message_id: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = message_id;
    failure
}

async fn standard(
    consumer: &dyn Consumer,
    queue: &dyn MessageQueue,
    kind: QueueKind,
    messages: Vec<Received>,
) -> Vec<String> {
    let runs = messages.iter().map(|message| handle(consumer, queue, kind, message));
    let outcomes = join_all(runs).await;
    messages.iter().zip(outcomes).filter(|(_, ok)| !*ok).map(|(m, _)| m.message_id.clone()).collect()
}

/// What cut a FIFO group short: later messages of the group are failed the same way.
enum Cut {
    Failed,
    Retry(Duration),
}

async fn fifo(
    consumer: &dyn Consumer,
    queue: &dyn MessageQueue,
    kind: QueueKind,
    messages: Vec<Received>,
) -> Vec<String> {
    let mut cut: HashMap<Option<String>, Cut> = HashMap::new();
    let mut failed = Vec::new();
    for message in &messages {
        if let Some(reason) = cut.get(&message.group) {
            skip(queue, kind, message, reason).await;
            failed.push(message.message_id.clone());
            continue;
        }
        let span = message_span(kind, message);
        let outcome = consumer.consume(message).instrument(span.clone()).await;
        let reason = match &outcome {
            Outcome::Done => continue,
            Outcome::RetryAfter(delay) => Cut::Retry(*delay),
            Outcome::Failed(_) => Cut::Failed,
        };
        apply(queue, kind, message, outcome).instrument(span).await;
        cut.insert(message.group.clone(), reason);
        failed.push(message.message_id.clone());
    }
    failed
}

/// A later message of a cut group: not processed; when the cut was a delayed retry, it is delayed the same
/// so that the whole group becomes visible together.
async fn skip(queue: &dyn MessageQueue, kind: QueueKind, message: &Received, reason: &Cut) {
    let span = message_span(kind, message);
    span.in_scope(|| tracing::info!("not processed: an earlier message of its group failed"));
    if let Cut::Retry(delay) = reason {
        delay_or_log(queue, kind, message, *delay).instrument(span).await;
    }
}

/// Consumes one message and carries out its outcome; true when it is done.
async fn handle(
    consumer: &dyn Consumer,
    queue: &dyn MessageQueue,
    kind: QueueKind,
    message: &Received,
) -> bool {
    let span = message_span(kind, message);
    async {
        let outcome = consumer.consume(message).await;
        let done = outcome == Outcome::Done;
        apply(queue, kind, message, outcome).await;
        done
    }
    .instrument(span)
    .await
}

async fn apply(queue: &dyn MessageQueue, kind: QueueKind, message: &Received, outcome: Outcome) {
    match outcome {
        Outcome::Done => tracing::debug!("done"),
        Outcome::RetryAfter(delay) => {
            tracing::warn!(delay_secs = delay.as_secs(), "transient failure, retrying later");
            delay_or_log(queue, kind, message, delay).await;
        }
        Outcome::Failed(reason) => tracing::warn!(%reason, "failed; left to the visibility timeout"),
    }
}

/// The failure is reported either way; a failed delay only means the visibility timeout decides instead.
async fn delay_or_log(queue: &dyn MessageQueue, kind: QueueKind, message: &Received, delay: Duration) {
    if let Err(error) = queue.retry_after(kind, &message.receipt, delay).await {
        tracing::warn!(%error, "could not delay the retry; the visibility timeout will bring it back");
    }
}

fn message_span(kind: QueueKind, message: &Received) -> tracing::Span {
    tracing::info_span!(
        "sqs_message",
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
    use async_trait::async_trait;
    use smsdesk_ports::{PortError, PortResult, QueueMessage};
    use std::sync::Mutex;

    /// Consumes by body: "ok" -> Done, "fail" -> Failed, "retry" -> RetryAfter(30 s); records the order.
    #[derive(Default)]
    struct ByBody {
        seen: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Consumer for ByBody {
        async fn consume(&self, message: &Received) -> Outcome {
            self.seen.lock().unwrap().push(message.message_id.clone());
            match message.body.as_str() {
                "ok" => Outcome::Done,
                "retry" => Outcome::RetryAfter(Duration::from_secs(30)),
                other => Outcome::Failed(format!("body {other}")),
            }
        }
    }

    /// Records retry_after calls; fails them when `broken`.
    #[derive(Default)]
    struct Delays {
        calls: Mutex<Vec<(QueueKind, String, Duration)>>,
        broken: bool,
    }

    #[async_trait]
    impl MessageQueue for Delays {
        async fn send(&self, _: QueueKind, _: QueueMessage) -> PortResult<()> {
            Err(PortError::Backend("not used".into()))
        }
        async fn receive(&self, _: QueueKind, _: usize, _: Duration) -> PortResult<Vec<Received>> {
            Err(PortError::Backend("not used".into()))
        }
        async fn ack(&self, _: QueueKind, _: &str) -> PortResult<()> {
            Err(PortError::Backend("not used".into()))
        }
        async fn retry_after(&self, queue: QueueKind, receipt: &str, delay: Duration) -> PortResult<()> {
            self.calls.lock().unwrap().push((queue, receipt.to_owned(), delay));
            if self.broken { Err(PortError::Unavailable("down".into())) } else { Ok(()) }
        }
        async fn dead_letters(&self, _: QueueKind) -> PortResult<Vec<String>> {
            Err(PortError::Backend("not used".into()))
        }
        async fn depth(&self, _: QueueKind) -> PortResult<u64> {
            Err(PortError::Backend("not used".into()))
        }
    }

    fn record(id: &str, group: Option<&str>, body: &str) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.to_owned());
        message.receipt_handle = Some(format!("rh-{id}"));
        message.body = Some(body.to_owned());
        message.attributes.insert("ApproximateReceiveCount".into(), "2".into());
        if let Some(group) = group {
            message.attributes.insert("MessageGroupId".into(), group.to_owned());
        }
        message
    }

    fn event(records: Vec<SqsMessage>) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = records;
        event
    }

    fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
        response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
    }

    #[test]
    fn a_record_becomes_a_received_message() {
        let received = received_from(record("m1", Some("g1"), "hello")).unwrap();
        assert_eq!(
            received,
            Received {
                message_id: "m1".into(),
                receipt: "rh-m1".into(),
                body: "hello".into(),
                group: Some("g1".into()),
                receive_count: 2,
            }
        );
        let mut bare = SqsMessage::default();
        bare.message_id = Some("m2".into());
        assert_eq!(received_from(bare).unwrap().receive_count, 1);
        assert_eq!(received_from(SqsMessage::default()), None);
    }

    #[test]
    fn a_fifo_event_from_lambda_parses() {
        let json = r#"{"Records":[{"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a","body":"{\"k\":1}",
            "attributes":{"ApproximateReceiveCount":"3","SentTimestamp":"1545082649183",
              "SenderId":"AIDAIENQZJOLO23YVJ4VO","ApproximateFirstReceiveTimestamp":"1545082649185",
              "SequenceNumber":"18849496460467696128","MessageGroupId":"ch_1:+15551230000",
              "MessageDeduplicationId":"tx-1"},
            "messageAttributes":{},"md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-2:123456789012:inbound.fifo",
            "awsRegion":"us-east-2"}]}"#;
        let event: SqsEvent = serde_json::from_str(json).unwrap();
        let received = received_from(event.records.into_iter().next().unwrap()).unwrap();
        assert_eq!(received.group.as_deref(), Some("ch_1:+15551230000"));
        assert_eq!(received.receive_count, 3);
        assert_eq!(received.body, r#"{"k":1}"#);
    }

    #[tokio::test]
    async fn standard_queue_reports_only_the_failed_ids() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let batch = event(vec![record("a", None, "ok"), record("b", None, "fail"), record("c", None, "ok")]);
        let response = process_batch(&consumer, &queue, QueueKind::Crm, batch).await;
        assert_eq!(failed_ids(&response), ["b"]);
        assert_eq!(consumer.seen.lock().unwrap().len(), 3);
        assert!(queue.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_all_good_batch_reports_nothing() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let batch = event(vec![record("a", Some("g"), "ok"), record("b", Some("g"), "ok")]);
        let response = process_batch(&consumer, &queue, QueueKind::Inbound, batch).await;
        assert!(response.batch_item_failures.is_empty());
    }

    #[tokio::test]
    async fn retry_after_delays_the_message_and_reports_it() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let batch = event(vec![record("a", None, "retry"), record("b", None, "ok")]);
        let response = process_batch(&consumer, &queue, QueueKind::Crm, batch).await;
        assert_eq!(failed_ids(&response), ["a"]);
        assert_eq!(
            *queue.calls.lock().unwrap(),
            [(QueueKind::Crm, "rh-a".to_owned(), Duration::from_secs(30))]
        );
    }

    #[tokio::test]
    async fn a_failed_delay_still_reports_the_message() {
        let consumer = ByBody::default();
        let queue = Delays { broken: true, ..Delays::default() };
        let batch = event(vec![record("a", None, "retry")]);
        let response = process_batch(&consumer, &queue, QueueKind::Crm, batch).await;
        assert_eq!(failed_ids(&response), ["a"]);
    }

    #[tokio::test]
    async fn fifo_cuts_the_failed_group_and_lets_other_groups_go_on() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let batch = event(vec![
            record("g1-1", Some("g1"), "ok"),
            record("g1-2", Some("g1"), "fail"),
            record("g2-1", Some("g2"), "ok"),
            record("g1-3", Some("g1"), "ok"),
            record("g2-2", Some("g2"), "ok"),
        ]);
        let response = process_batch(&consumer, &queue, QueueKind::Inbound, batch).await;
        assert_eq!(failed_ids(&response), ["g1-2", "g1-3"]);
        // g1-3 was never handed to the consumer; everything else was, in order.
        assert_eq!(*consumer.seen.lock().unwrap(), ["g1-1", "g1-2", "g2-1", "g2-2"]);
        assert!(queue.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn fifo_retry_delays_the_rest_of_the_group_alike() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let batch = event(vec![
            record("a", Some("conv-1"), "retry"),
            record("b", Some("conv-1"), "ok"),
            record("c", Some("conv-2"), "fail"),
        ]);
        let response = process_batch(&consumer, &queue, QueueKind::Outbound, batch).await;
        assert_eq!(failed_ids(&response), ["a", "b", "c"]);
        assert_eq!(*consumer.seen.lock().unwrap(), ["a", "c"]);
        let delayed: Vec<String> = queue.calls.lock().unwrap().iter().map(|(_, r, _)| r.clone()).collect();
        assert_eq!(delayed, ["rh-a", "rh-b"]);
    }

    #[tokio::test]
    async fn the_response_serializes_as_lambda_expects() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let response =
            process_batch(&consumer, &queue, QueueKind::Crm, event(vec![record("x", None, "fail")])).await;
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json, serde_json::json!({"batchItemFailures": [{"itemIdentifier": "x"}]}));
    }
}
