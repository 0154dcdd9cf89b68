//! The SQS adapter of [`MessageQueue`]: inbound and outbound are FIFO queues, crm is standard; each has a
//! dead-letter queue. Consumers that give up move a message there themselves ([`MessageQueue::dead_letter`]:
//! SendMessage to the dead-letter queue with the reason as a message attribute, then DeleteMessage); SQS
//! fills it too after `maxReceiveCount` receives ([`QueueKind::max_receives`], the backstop; the redrive
//! policy that [`create_queues`] and the SAM template set).

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, MessageSystemAttributeNameForSends,
    MessageSystemAttributeValue, QueueAttributeName,
};
use sha2::{Digest, Sha256};
use smsdesk_ports::{DeadLetter, MessageQueue, PortError, PortResult, QueueKind, QueueMessage, Received};
use std::collections::HashSet;
use std::time::Duration;

use crate::config::{QueueUrls, env_var};
use crate::error::port_error;
use crate::lazy::LazyClient;

/// SQS's largest visibility timeout (12 hours).
const MAX_VISIBILITY_SECONDS: u64 = 43_200;
/// SQS returns at most 10 messages per receive.
const MAX_PER_RECEIVE: usize = 10;
/// Receives `dead_letters` and `redrive` make at most while they still find new messages.
const DEAD_LETTER_SWEEPS: usize = 10;
/// The message attribute that carries why a consumer gave up on a message.
const REASON_ATTRIBUTE: &str = "smsdesk_reason";
/// How long `redrive` hides a dead letter while it copies it back (then deletes it).
const REDRIVE_VISIBILITY: Duration = Duration::from_secs(30);

/// The SQS adapter of every queue port.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: LazyClient<Client>,
    urls: QueueUrls,
}

impl SqsQueue {
    pub fn new(client: Client, urls: QueueUrls) -> Self {
        Self::with_lazy_client(LazyClient::ready(client), urls)
    }

    /// As [`SqsQueue::new`], with a client built on first use.
    pub fn with_lazy_client(client: LazyClient<Client>, urls: QueueUrls) -> Self {
        Self { client, urls }
    }

    pub fn urls(&self) -> &QueueUrls {
        &self.urls
    }

    fn url(&self, queue: QueueKind) -> PortResult<&str> {
        self.urls.url(queue).ok_or_else(|| not_configured(queue, false))
    }

    fn dlq_url(&self, queue: QueueKind) -> PortResult<&str> {
        self.urls.dlq_url(queue).ok_or_else(|| not_configured(queue, true))
    }

    async fn receive_from(
        &self,
        url: &str,
        queue: QueueKind,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<Received>> {
        self.receive_raw(url, max, visibility).await?.iter().map(|m| received(queue, m)).collect()
    }

    async fn receive_raw(
        &self,
        url: &str,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<aws_sdk_sqs::types::Message>> {
        crate::usage::count("sqs:ReceiveMessage");
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, MAX_PER_RECEIVE) as i32)
            .visibility_timeout(seconds(visibility))
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_attribute_names(REASON_ATTRIBUTE)
            .send()
            .await
            .map_err(|e| port_error("ReceiveMessage", e))?;
        Ok(out.messages.unwrap_or_default())
    }

    /// Every message of `url` as `read` makes it a dead letter, without taking anything out (visibility 0;
    /// receives repeated until no new message id appears, at most [`DEAD_LETTER_SWEEPS`]).
    async fn peek(
        &self,
        url: &str,
        read: impl Fn(&aws_sdk_sqs::types::Message) -> Option<DeadLetter>,
    ) -> PortResult<Vec<DeadLetter>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for _ in 0..DEAD_LETTER_SWEEPS {
            let batch = self.receive_raw(url, MAX_PER_RECEIVE, Duration::ZERO).await?;
            let before = seen.len();
            for d in batch.iter().filter_map(&read) {
                if seen.insert(d.message_id.clone()) {
                    out.push(d);
                }
            }
            if seen.len() == before {
                break;
            }
        }
        Ok(out)
    }

    /// The records of the table stream's dead-letter queue (the `live` function's on-failure destination,
    /// `SMSDESK_LIVE_STREAM_DLQ_URL`): Lambda's note of each batch that failed every retry (its shard and
    /// sequence numbers, not the data), read without taking anything out. Nothing can be redriven from it:
    /// the changes are in the table, and consoles catch up when they reload.
    pub async fn stream_dead_letters(&self, url: &str) -> PortResult<Vec<DeadLetter>> {
        self.peek(url, |m| {
            Some(DeadLetter {
                message_id: m.message_id()?.to_string(),
                body: m.body().unwrap_or_default().to_string(),
                group: None,
                reason: "a batch of the table's stream that failed every retry of the live function".into(),
            })
        })
        .await
    }

    /// Puts `body` on `url` (a queue of `queue`'s kind), in `group` with `dedupe` on FIFO queues.
    async fn put(
        &self,
        url: &str,
        queue: QueueKind,
        body: &str,
        group: Option<&str>,
        dedupe: &str,
        reason: Option<&str>,
    ) -> PortResult<()> {
        let mut request = self.client.send_message().queue_url(url).message_body(body);
        if queue.is_fifo() {
            let group = group.ok_or_else(|| {
                PortError::Backend(format!("a message for the FIFO {} queue needs a group", queue.name()))
            })?;
            request =
                request.message_group_id(fifo_token(group)).message_deduplication_id(fifo_token(dedupe));
        }
        if let Some(reason) = reason {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(if reason.is_empty() { "(no reason)" } else { reason })
                .build()
                .map_err(|e| PortError::Backend(format!("message attribute: {e}")))?;
            request = request.message_attributes(REASON_ATTRIBUTE, value);
        }
        crate::usage::count("sqs:SendMessage");
        request.send().await.map_err(|e| port_error("SendMessage", e))?;
        Ok(())
    }
}

/// A dead letter as the port shows it; one that SQS moved itself has no reason attribute.
fn dead_letter_of(queue: QueueKind, m: &aws_sdk_sqs::types::Message) -> Option<DeadLetter> {
    let attr = |name: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&name)).cloned();
    let reason = m
        .message_attributes()
        .and_then(|a| a.get(REASON_ATTRIBUTE))
        .and_then(|v| v.string_value())
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "received {} times without being acknowledged (the queue's receive limit)",
                queue.max_receives()
            )
        });
    Some(DeadLetter {
        message_id: m.message_id()?.to_string(),
        body: m.body().unwrap_or_default().to_string(),
        group: if queue.is_fifo() { attr(MessageSystemAttributeName::MessageGroupId) } else { None },
        reason,
    })
}

fn not_configured(queue: QueueKind, dead_letter: bool) -> PortError {
    let var = env_var(queue, dead_letter);
    PortError::Backend(format!("the {} queue is not configured: set {var}", queue.name()))
}

/// Whole seconds, rounded up (a visibility is never shorter than asked), within SQS's range.
fn seconds(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.min(MAX_VISIBILITY_SECONDS) as i32
}

/// A FIFO group or deduplication id as SQS accepts it (1-128 printable ASCII characters); anything else
/// is replaced by its SHA-256, which keeps equal inputs equal.
fn fifo_token(value: &str) -> String {
    let valid = !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        return value.to_string();
    }
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256-{hex}")
}

fn received(queue: QueueKind, m: &aws_sdk_sqs::types::Message) -> PortResult<Received> {
    let attr = |name: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&name)).cloned();
    let receive_count = match attr(MessageSystemAttributeName::ApproximateReceiveCount) {
        Some(n) => n.parse().map_err(|_| PortError::Corrupt(format!("ApproximateReceiveCount {n:?}")))?,
        None => 1,
    };
    let missing = |what: &str| PortError::Corrupt(format!("SQS message without {what}"));
    Ok(Received {
        message_id: m.message_id().ok_or_else(|| missing("MessageId"))?.to_string(),
        receipt: m.receipt_handle().ok_or_else(|| missing("ReceiptHandle"))?.to_string(),
        body: m.body().unwrap_or_default().to_string(),
        // Standard queues have no groups, whatever a sender put there.
        group: if queue.is_fifo() { attr(MessageSystemAttributeName::MessageGroupId) } else { None },
        receive_count,
    })
}

/// The X-Ray trace header of the invocation in progress (Lambda's runtime sets `_X_AMZN_TRACE_ID` for each
/// one when tracing is active), if any.
fn trace_header() -> Option<String> {
    std::env::var("_X_AMZN_TRACE_ID").ok().filter(|t| !t.trim().is_empty())
}

#[async_trait]
impl MessageQueue for SqsQueue {
    async fn send(&self, queue: QueueKind, message: QueueMessage) -> PortResult<()> {
        let mut request = self.client.send_message().queue_url(self.url(queue)?).message_body(message.body);
        if queue.is_fifo() {
            let group = message.group.ok_or_else(|| {
                PortError::Backend(format!("a message for the FIFO {} queue needs a group", queue.name()))
            })?;
            // No dedupe id means "never drop it": a fresh id, since the queues do not dedupe by content.
            let dedupe = message.dedupe_id.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
            request =
                request.message_group_id(fifo_token(&group)).message_deduplication_id(fifo_token(&dedupe));
        }
        // X-Ray: the message carries the sending invocation's trace, so Lambda links the consumer's segment to
        // it and one text is followed from the webhook through the queues to the provider call.
        if let Some(trace) = trace_header()
            && let Ok(value) =
                MessageSystemAttributeValue::builder().data_type("String").string_value(trace).build()
        {
            request =
                request.message_system_attributes(MessageSystemAttributeNameForSends::AwsTraceHeader, value);
        }
        crate::usage::count("sqs:SendMessage");
        request.send().await.map_err(|e| port_error("SendMessage", e))?;
        Ok(())
    }

    async fn send_delayed(&self, queue: QueueKind, message: QueueMessage, delay: Duration) -> PortResult<()> {
        if queue.is_fifo() {
            return Err(PortError::Backend(format!(
                "the FIFO {} queue takes no per-message delay",
                queue.name()
            )));
        }
        let seconds = smsdesk_ports::delay_seconds(delay).ok_or_else(|| {
            PortError::Backend(format!("a delay of {delay:?} is over SQS's limit of 15 minutes"))
        })?;
        let mut request = self
            .client
            .send_message()
            .queue_url(self.url(queue)?)
            .message_body(message.body)
            .delay_seconds(seconds);
        if let Some(trace) = trace_header()
            && let Ok(value) =
                MessageSystemAttributeValue::builder().data_type("String").string_value(trace).build()
        {
            request =
                request.message_system_attributes(MessageSystemAttributeNameForSends::AwsTraceHeader, value);
        }
        request.send().await.map_err(|e| port_error("SendMessage", e))?;
        Ok(())
    }

    async fn receive(&self, queue: QueueKind, max: usize, visibility: Duration) -> PortResult<Vec<Received>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        self.receive_from(self.url(queue)?, queue, max, visibility).await
    }

    async fn ack(&self, queue: QueueKind, receipt: &str) -> PortResult<()> {
        let request = self.client.delete_message().queue_url(self.url(queue)?).receipt_handle(receipt);
        crate::usage::count("sqs:DeleteMessage");
        request.send().await.map_err(|e| port_error("DeleteMessage", e))?;
        Ok(())
    }

    async fn retry_after(&self, queue: QueueKind, receipt: &str, delay: Duration) -> PortResult<()> {
        let request = self
            .client
            .change_message_visibility()
            .queue_url(self.url(queue)?)
            .receipt_handle(receipt)
            .visibility_timeout(seconds(delay));
        crate::usage::count("sqs:ChangeMessageVisibility");
        request.send().await.map_err(|e| port_error("ChangeMessageVisibility", e))?;
        Ok(())
    }

    /// SendMessage to the dead-letter queue (same group; the source message id as dedupe id, so a retried
    /// move does not copy it twice), then DeleteMessage from the queue.
    async fn dead_letter(&self, queue: QueueKind, message: &Received, reason: &str) -> PortResult<()> {
        let dlq = self.dlq_url(queue)?;
        let dedupe = format!("dl-{}", message.message_id);
        self.put(dlq, queue, &message.body, message.group.as_deref(), &dedupe, Some(reason)).await?;
        self.ack(queue, &message.receipt).await
    }

    /// Reads the dead-letter queue without taking anything out: visibility 0, so every message stays
    /// there for operators (and SQS's own retention).
    async fn dead_letters(&self, queue: QueueKind) -> PortResult<Vec<DeadLetter>> {
        let url = self.dlq_url(queue)?;
        self.peek(url, |m| dead_letter_of(queue, m)).await
    }

    /// Receives dead letters (hidden for a while), copies the chosen ones to the end of the queue, deletes
    /// them from the dead-letter queue, and makes the others visible again.
    async fn redrive(&self, queue: QueueKind, ids: Option<&[String]>) -> PortResult<usize> {
        let (url, dlq) = (self.url(queue)?, self.dlq_url(queue)?);
        let mut moved = 0;
        let mut passed_over = Vec::new();
        for _ in 0..DEAD_LETTER_SWEEPS {
            let batch = self.receive_raw(dlq, MAX_PER_RECEIVE, REDRIVE_VISIBILITY).await?;
            if batch.is_empty() {
                break;
            }
            for m in &batch {
                let (Some(d), Some(receipt)) = (dead_letter_of(queue, m), m.receipt_handle()) else {
                    continue;
                };
                if ids.is_some_and(|ids| !ids.contains(&d.message_id)) {
                    passed_over.push(receipt.to_string());
                    continue;
                }
                let dedupe = format!("rd-{}", d.message_id);
                self.put(url, queue, &d.body, d.group.as_deref(), &dedupe, None).await?;
                let delete = self.client.delete_message().queue_url(dlq).receipt_handle(receipt);
                crate::usage::count("sqs:DeleteMessage");
                delete.send().await.map_err(|e| port_error("DeleteMessage", e))?;
                moved += 1;
            }
        }
        for receipt in passed_over {
            let request = self.client.change_message_visibility().queue_url(dlq).receipt_handle(receipt);
            crate::usage::count("sqs:ChangeMessageVisibility");
            request
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|e| port_error("ChangeMessageVisibility", e))?;
        }
        Ok(moved)
    }

    async fn depth(&self, queue: QueueKind) -> PortResult<u64> {
        crate::usage::count("sqs:GetQueueAttributes");
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(self.url(queue)?)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| port_error("GetQueueAttributes", e))?;
        let count = |name: QueueAttributeName| -> PortResult<u64> {
            match out.attributes().and_then(|a| a.get(&name)) {
                Some(v) => v.parse().map_err(|_| PortError::Corrupt(format!("{name:?} {v:?}"))),
                None => Ok(0),
            }
        };
        // Delayed messages count too, as they do in the embedded queue: they are waiting.
        Ok(count(QueueAttributeName::ApproximateNumberOfMessages)?
            + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?
            + count(QueueAttributeName::ApproximateNumberOfMessagesDelayed)?)
    }
}

/// Creates the six queues named `<prefix>-inbound.fifo`, `<prefix>-inbound-dlq.fifo`,
/// `<prefix>-outbound.fifo`, `<prefix>-outbound-dlq.fifo`, `<prefix>-crm`, `<prefix>-crm-dlq`, with the
/// attributes the SAM template declares, and returns their URLs. Creating existing queues with the same
/// attributes is a no-op in SQS, so this is safe to repeat.
pub async fn create_queues(client: &Client, prefix: &str) -> PortResult<QueueUrls> {
    let mut urls = QueueUrls::default();
    for kind in QueueKind::ALL {
        let dlq = create_queue(client, &queue_name(prefix, kind, true), kind, None).await?;
        let arn = queue_arn(client, &dlq).await?;
        let main = create_queue(client, &queue_name(prefix, kind, false), kind, Some(&arn)).await?;
        urls.set(kind, main, dlq);
    }
    Ok(urls)
}

/// `<prefix>-<kind>[-dlq][.fifo]`: FIFO queue names must end in `.fifo`.
pub fn queue_name(prefix: &str, queue: QueueKind, dead_letter: bool) -> String {
    let dlq = if dead_letter { "-dlq" } else { "" };
    let fifo = if queue.is_fifo() { ".fifo" } else { "" };
    format!("{prefix}-{}{dlq}{fifo}", queue.name())
}

/// The redrive policy: dead letter after [`QueueKind::max_receives`] receives.
fn redrive_policy(dead_letter_arn: &str, queue: QueueKind) -> String {
    serde_json::json!({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": queue.max_receives()})
        .to_string()
}

async fn create_queue(
    client: &Client,
    name: &str,
    kind: QueueKind,
    dead_letter_arn: Option<&str>,
) -> PortResult<String> {
    let mut request = client.create_queue().queue_name(name);
    if kind.is_fifo() {
        request = request
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
            // High-throughput FIFO (issue 12.8): the throughput limit per message group, not per queue
            // (300 calls/s per action). Deduplication per group loses nothing: a replay has its group.
            .attributes(QueueAttributeName::DeduplicationScope, "messageGroup")
            .attributes(QueueAttributeName::FifoThroughputLimit, "perMessageGroupId");
    }
    if let Some(arn) = dead_letter_arn {
        request = request.attributes(QueueAttributeName::RedrivePolicy, redrive_policy(arn, kind));
    }
    let out = request.send().await.map_err(|e| port_error("CreateQueue", e))?;
    out.queue_url()
        .map(str::to_string)
        .ok_or_else(|| PortError::Backend(format!("CreateQueue {name}: no URL")))
}

async fn queue_arn(client: &Client, url: &str) -> PortResult<String> {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| port_error("GetQueueAttributes", e))?;
    out.attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| PortError::Backend(format!("queue {url} has no ARN")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_rounds_up_to_whole_seconds() {
        assert_eq!(seconds(Duration::ZERO), 0);
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::from_secs(30)), 30);
        assert_eq!(seconds(Duration::from_secs(100_000)), 43_200);
    }

    #[test]
    fn fifo_tokens_keep_valid_ids_and_hash_the_rest() {
        assert_eq!(fifo_token("ch_1:+447700900123"), "ch_1:+447700900123");
        let long = "x".repeat(200);
        assert_eq!(fifo_token(&long), fifo_token(&long));
        assert!(fifo_token(&long).len() <= 128);
        assert!(fifo_token("has space").starts_with("sha256-"));
        assert!(fifo_token("").starts_with("sha256-"));
    }

    #[test]
    fn names_follow_the_template() {
        assert_eq!(queue_name("smsdesk", QueueKind::Inbound, false), "smsdesk-inbound.fifo");
        assert_eq!(queue_name("smsdesk", QueueKind::Outbound, true), "smsdesk-outbound-dlq.fifo");
        assert_eq!(queue_name("smsdesk", QueueKind::Crm, true), "smsdesk-crm-dlq");
        let policy: serde_json::Value =
            serde_json::from_str(&redrive_policy("arn:x", QueueKind::Crm)).unwrap();
        assert_eq!(policy["maxReceiveCount"], QueueKind::Crm.max_receives());
    }
}
