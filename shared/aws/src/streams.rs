//! Reading the table's DynamoDB stream as Lambda's event source mapping does, for tests and development
//! against DynamoDB Local (in AWS, Lambda reads the stream and invokes the `live` function): every record
//! since the last read, in each shard's order, shaped as the records of Lambda's DynamoDB event.
//!
//! It speaks the streams API's JSON itself rather than through aws-sdk-dynamodbstreams: DynamoDB Local
//! writes an empty map attribute into stream records as `{}` instead of `{"M": {}}`, which the SDK refuses
//! to parse (the whole GetRecords call fails), and which is repaired here. DynamoDB Local (`-sharedDb`, as
//! scripts/emulators.sh starts it) checks no signature; the request carries a well-formed dummy one.

use serde_json::{Value, json};
use smsdesk_ports::{PortError, PortResult};
use std::collections::BTreeMap;
use tokio::sync::Mutex;

/// A shard's next iterator and the sequence number of the last record read from it.
type ShardPosition = (Option<String>, Option<String>);

/// A reader of one table's stream on DynamoDB Local.
pub struct StreamReader {
    http: reqwest::Client,
    endpoint: String,
    stream_arn: String,
    /// Each shard's next iterator (None: the shard is closed and read to its end) and the sequence number
    /// of the last record read from it.
    iterators: Mutex<BTreeMap<String, ShardPosition>>,
}

fn failed(what: &str, e: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(format!("{what}: {e}"))
}

impl StreamReader {
    /// The reader of `table`'s latest stream on DynamoDB Local at `endpoint` (which serves streams too).
    pub async fn for_table(endpoint: &str, table: &str) -> PortResult<Self> {
        // reqwest is built without a TLS provider (workspace Cargo.toml); ring's, as everywhere else. The
        // endpoint is plain HTTP on loopback anyway.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().build().map_err(|e| failed("HTTP client", e))?;
        let mut reader = Self {
            http,
            endpoint: endpoint.to_string(),
            stream_arn: String::new(),
            iterators: Default::default(),
        };
        let described = reader.call("DynamoDB_20120810.DescribeTable", json!({"TableName": table})).await?;
        reader.stream_arn = described["Table"]["LatestStreamArn"]
            .as_str()
            .ok_or_else(|| PortError::Unavailable(format!("table {table} has no stream")))?
            .to_string();
        Ok(reader)
    }

    async fn call(&self, target: &str, body: Value) -> PortResult<Value> {
        let answer = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .header("x-amz-date", "20260101T000000Z")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| failed(target, e))?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| failed(target, e))?;
        if !status.is_success() {
            return Err(PortError::Unavailable(format!("{target} answered {status}: {text}")));
        }
        serde_json::from_str(&text).map_err(|e| failed(target, e))
    }

    /// Every record written since the last read (from the stream's start the first time), as the records
    /// of Lambda's DynamoDB event (`{"eventID", "eventName", "dynamodb": {"Keys", "NewImage", ...}}`).
    pub async fn read(&self) -> PortResult<Vec<Value>> {
        let mut iterators = self.iterators.lock().await;
        let described = self
            .call("DynamoDBStreams_20120810.DescribeStream", json!({"StreamArn": self.stream_arn}))
            .await?;
        let shards = described["StreamDescription"]["Shards"].as_array().cloned().unwrap_or_default();
        for shard in shards {
            let Some(id) = shard["ShardId"].as_str() else { continue };
            if iterators.contains_key(id) {
                continue;
            }
            let iterator = self.iterator(id, None).await?;
            iterators.insert(id.to_string(), (iterator, None));
        }
        let mut out = Vec::new();
        for (id, (next, last_seq)) in iterators.iter_mut() {
            let mut renewed = 0;
            while let Some(iterator) = next.take() {
                let page = match self
                    .call("DynamoDBStreams_20120810.GetRecords", json!({"ShardIterator": iterator}))
                    .await
                {
                    Ok(page) => page,
                    // An iterator that expired, or that the stream trimmed under it (DynamoDB Local does so
                    // while the table is busy): a new one after the last record read, at most a few times.
                    Err(PortError::Unavailable(e))
                        if renewed < 3
                            && (e.contains("TrimmedDataAccessException")
                                || e.contains("ExpiredIteratorException")) =>
                    {
                        renewed += 1;
                        *next = self.iterator(id, last_seq.as_deref()).await?;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let records = page["Records"].as_array().cloned().unwrap_or_default();
                let empty = records.is_empty();
                if let Some(seq) = records.last().and_then(|r| r["dynamodb"]["SequenceNumber"].as_str()) {
                    *last_seq = Some(seq.to_string());
                }
                out.extend(records.into_iter().map(|r| self.lambda_record(r)));
                // An open shard gives an iterator even at its end: keep it for the next read.
                *next = page["NextShardIterator"].as_str().map(str::to_string);
                if empty {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// An iterator for a shard: after `after` (a record's sequence number) when given, else from the
    /// oldest record the stream keeps.
    async fn iterator(&self, shard: &str, after: Option<&str>) -> PortResult<Option<String>> {
        let request = match after {
            Some(seq) => json!({"StreamArn": self.stream_arn, "ShardId": shard,
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seq}),
            None => {
                json!({"StreamArn": self.stream_arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})
            }
        };
        let answer = self.call("DynamoDBStreams_20120810.GetShardIterator", request).await?;
        Ok(answer["ShardIterator"].as_str().map(str::to_string))
    }

    /// A GetRecords record as Lambda hands it over: the same fields, the event source's ARN added, and
    /// DynamoDB Local's `{}` empty maps repaired.
    fn lambda_record(&self, mut record: Value) -> Value {
        record["eventSourceARN"] = json!(self.stream_arn);
        if let Some(data) = record.get_mut("dynamodb") {
            for image in ["Keys", "NewImage", "OldImage"] {
                if let Some(Value::Object(item)) = data.get_mut(image) {
                    item.values_mut().for_each(repair);
                }
            }
        }
        record
    }
}

/// An attribute value with every `{}` (DynamoDB Local's empty map) made `{"M": {}}`.
fn repair(value: &mut Value) {
    let Value::Object(map) = value else { return };
    if map.is_empty() {
        *value = json!({"M": {}});
        return;
    }
    if let Some(Value::Object(inner)) = map.get_mut("M") {
        inner.values_mut().for_each(repair);
    }
    if let Some(Value::Array(items)) = map.get_mut("L") {
        items.iter_mut().for_each(repair);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_maps_are_repaired_at_any_depth() {
        let mut value = json!({"M": {"a": {}, "b": {"L": [{}, {"S": "x"}]}}});
        repair(&mut value);
        assert_eq!(value, json!({"M": {"a": {"M": {}}, "b": {"L": [{"M": {}}, {"S": "x"}]}}}));
    }
}
