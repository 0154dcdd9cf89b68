//! SQS batches into [`Consumer`] calls, and [`Outcome`]s back into a partial batch response.
//!
//! The event source mapping must enable `ReportBatchItemFailures` (infra/template.yaml does): Lambda then
//! deletes every message not named in `batchItemFailures` and leaves the named ones to come back. What runs
//! and in which order is the batch core's ([`smsdesk_app::batch`], shared with the embedded poller): FIFO
//! groups concurrently, each in order and cut at its first retry (the rest of the group reported and
//! delayed alike); given-up messages moved to the dead-letter queue with their reason; standard-queue
//! messages all concurrently. No message starts later than the provider timeout before the invocation's
//! deadline: the untaken rest is reported (and made visible again) without counting as a failure.
//!
//! Messages given up on (dead-lettered) or whose outcome the queue refused are counted as the function's
//! failures ([`Failures`]): they are no Lambda error, so its `Errors` metric never sees them.

use crate::failures::Failures;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{LambdaEvent, service_fn};
use smsdesk_app::batch::{BatchOptions, Fate, run_batch};
use smsdesk_ports::{Consumer, MessageQueue, QueueKind, Received};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Serves SQS batches for `kind` until the Lambda environment shuts down, counting failed messages.
pub async fn run_sqs(
    consumer: Arc<dyn Consumer>,
    queue: Arc<dyn MessageQueue>,
    kind: QueueKind,
    failures: Failures,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let consumer = Arc::clone(&consumer);
        let queue = Arc::clone(&queue);
        let failures = failures.clone();
        async move {
            let deadline = last_start(event.context.deadline, crate::app::PROVIDER_TIMEOUT);
            let (consumer, queue) = (consumer.as_ref(), queue.as_ref());
            let response =
                process_batch_until(consumer, queue, kind, event.payload, Some(deadline), &failures).await;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}

/// The last moment a message may start: the invocation's deadline (milliseconds since the epoch, from the
/// Lambda context) less `margin` (the provider timeout), as a monotonic instant.
pub fn last_start(deadline_epoch_ms: u64, margin: Duration) -> Instant {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let left = Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms));
    Instant::now() + left.saturating_sub(margin)
}

/// Runs one batch through `consumer` and says which messages must come back. Pure apart from the two
/// ports, so it is tested without Lambda. No deadline, failures not counted: see [`process_batch_until`].
pub async fn process_batch(
    consumer: &dyn Consumer,
    queue: &dyn MessageQueue,
    kind: QueueKind,
    event: SqsEvent,
) -> SqsBatchResponse {
    process_batch_until(consumer, queue, kind, event, None, &Failures::nowhere()).await
}

/// As [`process_batch`], starting no message after `deadline` (the untaken ones are reported), and counting
/// into `failures` the messages that failed ([`failed`]).
pub async fn process_batch_until(
    consumer: &dyn Consumer,
    queue: &dyn MessageQueue,
    kind: QueueKind,
    event: SqsEvent,
    deadline: Option<Instant>,
    failures: &Failures,
) -> SqsBatchResponse {
    let messages: Vec<Received> = event.records.into_iter().filter_map(received_or_log).collect();
    // Lambda deletes what the response does not name: handled messages are not acked one by one.
    let options = BatchOptions { ack_done: false, deadline };
    let fates = run_batch(consumer, queue, kind, &messages, options).await;
    failures.record(fates.iter().filter(|fate| failed(fate)).count());
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = messages
        .into_iter()
        .zip(fates)
        .filter(|(_, fate)| fate.must_return())
        .map(|(m, _)| failure(m.message_id))
        .collect();
    response
}

/// Whether a message's fate is a failure of the function: its consumer gave up on it (dead-lettered with a
/// reason), or the queue refused to carry out its outcome (left for the visibility timeout). A message
/// handed back to come again later (a wait, or a retry the consumer chose) or not started is reported to
/// Lambda all the same, but failed at nothing: a reply waiting for its number's send pace comes back once
/// per interval, and must not look like a broken release.
pub fn failed(fate: &Fate) -> bool {
    matches!(fate, Fate::DeadLettered(_) | Fate::Unsettled)
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

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use smsdesk_ports::{DeadLetter, Outcome, PortError, PortResult, QueueMessage};
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

    /// Records retry_after and dead_letter calls; fails them when `broken`.
    #[derive(Default)]
    struct Delays {
        calls: Mutex<Vec<(QueueKind, String, Duration)>>,
        buried: Mutex<Vec<(String, String)>>,
        broken: bool,
    }

    #[async_trait]
    impl MessageQueue for Delays {
        async fn send(&self, _: QueueKind, _: QueueMessage) -> PortResult<()> {
            Err(PortError::Backend("not used".into()))
        }
        async fn send_delayed(&self, _: QueueKind, _: QueueMessage, _: Duration) -> PortResult<()> {
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
        async fn dead_letter(&self, _: QueueKind, message: &Received, reason: &str) -> PortResult<()> {
            if self.broken {
                return Err(PortError::Unavailable("down".into()));
            }
            self.buried.lock().unwrap().push((message.message_id.clone(), reason.to_owned()));
            Ok(())
        }
        async fn dead_letters(&self, _: QueueKind) -> PortResult<Vec<DeadLetter>> {
            Err(PortError::Backend("not used".into()))
        }
        async fn redrive(&self, _: QueueKind, _: Option<&[String]>) -> PortResult<usize> {
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

    fn seen_in(consumer: &ByBody, ids: &[&str]) -> Vec<String> {
        consumer.seen.lock().unwrap().iter().filter(|id| ids.contains(&id.as_str())).cloned().collect()
    }

    #[tokio::test]
    async fn standard_queue_reports_retries_and_dead_letters_what_failed() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let batch =
            event(vec![record("a", None, "ok"), record("b", None, "fail"), record("c", None, "retry")]);
        let response = process_batch(&consumer, &queue, QueueKind::Crm, batch).await;
        assert_eq!(failed_ids(&response), ["c"], "a dead-lettered message is out of the queue: not reported");
        assert_eq!(consumer.seen.lock().unwrap().len(), 3);
        assert_eq!(*queue.buried.lock().unwrap(), [("b".to_owned(), "body fail".to_owned())]);
        assert_eq!(
            *queue.calls.lock().unwrap(),
            [(QueueKind::Crm, "rh-c".to_owned(), Duration::from_secs(30))]
        );
    }

    #[tokio::test]
    async fn messages_given_up_on_or_unsettled_are_counted_as_the_functions_failures_and_waits_are_not() {
        use crate::failures::tests::Recorded;
        let metrics = Arc::new(Recorded::default());
        let failures = Failures::to(metrics.clone(), "stack-RouterFunction-x");
        let consumer = ByBody::default();
        let batch = event(vec![
            record("a", None, "ok"),
            record("b", None, "fail"),
            record("c", None, "retry"),
            record("d", None, "fail"),
        ]);
        let response =
            process_batch_until(&consumer, &Delays::default(), QueueKind::Crm, batch, None, &failures).await;
        assert_eq!(failed_ids(&response), ["c"]);
        assert_eq!(metrics.failures(), [("stack-RouterFunction-x".to_owned(), 2.0)], "b and d; c only waits");

        // A dead letter the queue refuses is a failure too (the message comes back by its visibility).
        let metrics = Arc::new(Recorded::default());
        let failures = Failures::to(metrics.clone(), "f");
        let broken = Delays { broken: true, ..Delays::default() };
        let batch = event(vec![record("e", Some("g"), "fail"), record("f", Some("g"), "ok")]);
        process_batch_until(&consumer, &broken, QueueKind::Outbound, batch, None, &failures).await;
        assert_eq!(metrics.failures(), [("f".to_owned(), 1.0)]);

        // Waits, skips and the untaken rest at the deadline are not failures: nothing recorded.
        let metrics = Arc::new(Recorded::default());
        let failures = Failures::to(metrics.clone(), "f");
        let batch = event(vec![record("g", Some("h"), "retry"), record("i", Some("h"), "fail")]);
        process_batch_until(&consumer, &Delays::default(), QueueKind::Inbound, batch, None, &failures).await;
        let late = event(vec![record("j", None, "fail")]);
        let deadline = Some(Instant::now());
        process_batch_until(&consumer, &Delays::default(), QueueKind::Crm, late, deadline, &failures).await;
        assert!(metrics.0.lock().unwrap().is_empty());
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
    async fn a_failed_delay_still_reports_the_message() {
        let consumer = ByBody::default();
        let queue = Delays { broken: true, ..Delays::default() };
        let batch = event(vec![record("a", None, "retry")]);
        let response = process_batch(&consumer, &queue, QueueKind::Crm, batch).await;
        assert_eq!(failed_ids(&response), ["a"]);
    }

    #[tokio::test]
    async fn fifo_cuts_a_retried_group_and_lets_other_groups_go_on() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let batch = event(vec![
            record("g1-1", Some("g1"), "ok"),
            record("g1-2", Some("g1"), "retry"),
            record("g2-1", Some("g2"), "ok"),
            record("g1-3", Some("g1"), "ok"),
            record("g2-2", Some("g2"), "ok"),
        ]);
        let response = process_batch(&consumer, &queue, QueueKind::Inbound, batch).await;
        assert_eq!(failed_ids(&response), ["g1-2", "g1-3"]);
        // g1-3 was never handed to the consumer; each group ran in order.
        assert_eq!(seen_in(&consumer, &["g1-1", "g1-2", "g1-3"]), ["g1-1", "g1-2"]);
        assert_eq!(seen_in(&consumer, &["g2-1", "g2-2"]), ["g2-1", "g2-2"]);
        let delayed: Vec<String> = queue.calls.lock().unwrap().iter().map(|(_, r, _)| r.clone()).collect();
        assert_eq!(delayed, ["rh-g1-2", "rh-g1-3"], "the rest of the group comes back with it");
    }

    #[tokio::test]
    async fn a_given_up_message_is_dead_lettered_and_its_group_goes_on() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let batch = event(vec![
            record("a", Some("conv-1"), "fail"),
            record("b", Some("conv-1"), "ok"),
            record("c", Some("conv-1"), "ok"),
        ]);
        let response = process_batch(&consumer, &queue, QueueKind::Outbound, batch).await;
        assert!(response.batch_item_failures.is_empty(), "{:?}", failed_ids(&response));
        assert_eq!(*consumer.seen.lock().unwrap(), ["a", "b", "c"]);
        assert_eq!(queue.buried.lock().unwrap().len(), 1);
        assert!(queue.calls.lock().unwrap().is_empty(), "nothing skipped, nothing delayed");
    }

    #[tokio::test]
    async fn a_dead_letter_the_queue_refuses_cuts_the_group() {
        let consumer = ByBody::default();
        let queue = Delays { broken: true, ..Delays::default() };
        let batch = event(vec![record("a", Some("g"), "fail"), record("b", Some("g"), "ok")]);
        let response = process_batch(&consumer, &queue, QueueKind::Outbound, batch).await;
        assert_eq!(failed_ids(&response), ["a", "b"]);
        assert_eq!(*consumer.seen.lock().unwrap(), ["a"]);
    }

    #[tokio::test]
    async fn past_the_deadline_nothing_starts_and_everything_is_handed_back_uncounted() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let batch = event(vec![record("a", Some("g"), "ok"), record("b", Some("h"), "fail")]);
        let deadline = Some(Instant::now());
        let response = process_batch_until(
            &consumer,
            &queue,
            QueueKind::Outbound,
            batch,
            deadline,
            &Failures::nowhere(),
        )
        .await;
        assert_eq!(failed_ids(&response), ["a", "b"]);
        assert!(consumer.seen.lock().unwrap().is_empty());
        assert!(queue.buried.lock().unwrap().is_empty(), "an untaken message is no failure");
        let released: Vec<Duration> = queue.calls.lock().unwrap().iter().map(|(_, _, d)| *d).collect();
        assert_eq!(released, [Duration::ZERO, Duration::ZERO], "visible again at once");
    }

    #[test]
    fn the_last_start_leaves_the_provider_timeout_before_the_deadline() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let start = Instant::now();
        let last = last_start(now_ms + 60_000, Duration::from_secs(15));
        let left = last.duration_since(start);
        // Epoch milliseconds are whole: allow for the one lost in the test's own reading of the clock.
        let (low, high) = (Duration::from_secs(44), Duration::from_secs(45) + Duration::from_millis(2));
        assert!(left > low && left <= high, "{left:?}");
        assert!(last_start(now_ms + 5_000, Duration::from_secs(15)) <= Instant::now());
    }

    #[tokio::test]
    async fn the_response_serializes_as_lambda_expects() {
        let consumer = ByBody::default();
        let queue = Delays::default();
        let response =
            process_batch(&consumer, &queue, QueueKind::Crm, event(vec![record("x", None, "retry")])).await;
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json, serde_json::json!({"batchItemFailures": [{"itemIdentifier": "x"}]}));
    }
}
