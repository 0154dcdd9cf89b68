//! What the adapters asked of AWS, counted in one place (issue 12): every DynamoDB call with the read and
//! write capacity units DynamoDB reports for it (`ReturnConsumedCapacity: TOTAL` on every request), every
//! SQS and Secrets Manager call, and (recorded by whoever invokes handlers) every Lambda invocation.
//! `smsdesk bench --aws` reads these counts from the AWS shape to write down the AWS requests per message,
//! from which BENCHMARKS.md works out the cost.
//!
//! Counts are kept per function: a call made inside [`in_function`] is counted under that function's name,
//! any other under [`OUTSIDE`]. The counters are process-wide and cheap (one short lock per AWS call); a
//! Lambda function keeps them too and never reads them.

use aws_sdk_dynamodb::types::ConsumedCapacity;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// The name calls made outside [`in_function`] are counted under.
pub const OUTSIDE: &str = "(outside any function)";

/// Calls and capacity units of one operation (e.g. `dynamodb:PutItem`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpUsage {
    pub calls: u64,
    /// Read capacity units DynamoDB reported (0 for other services, and for calls that failed).
    pub read_units: f64,
    /// Write capacity units DynamoDB reported.
    pub write_units: f64,
    /// Wall time of the calls, where it was recorded ([`timed`]: Lambda invocations).
    #[serde(default)]
    pub seconds: f64,
}

/// Every count so far: function -> operation (`service:Operation`, or `lambda:Invoke`) -> usage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub functions: BTreeMap<String, BTreeMap<String, OpUsage>>,
}

impl Usage {
    /// What happened between `earlier` and `self` (both snapshots of the same process).
    pub fn since(&self, earlier: &Usage) -> Usage {
        let mut out = Usage::default();
        for (function, ops) in &self.functions {
            for (op, now) in ops {
                let before =
                    earlier.functions.get(function).and_then(|o| o.get(op)).copied().unwrap_or_default();
                let delta = OpUsage {
                    calls: now.calls.saturating_sub(before.calls),
                    read_units: now.read_units - before.read_units,
                    write_units: now.write_units - before.write_units,
                    seconds: now.seconds - before.seconds,
                };
                if delta.calls > 0 {
                    out.functions.entry(function.clone()).or_default().insert(op.clone(), delta);
                }
            }
        }
        out
    }
}

static COUNTS: Mutex<Usage> = Mutex::new(Usage { functions: BTreeMap::new() });

tokio::task_local! {
    static FUNCTION: &'static str;
}

/// Runs `work` with every AWS call it makes counted under `function`.
pub async fn in_function<F: std::future::Future>(function: &'static str, work: F) -> F::Output {
    FUNCTION.scope(function, work).await
}

fn add(op: &str, calls: u64, read_units: f64, write_units: f64) {
    add_timed(op, calls, read_units, write_units, 0.0);
}

fn add_timed(op: &str, calls: u64, read_units: f64, write_units: f64, seconds: f64) {
    let function = FUNCTION.try_with(|f| *f).unwrap_or(OUTSIDE);
    let mut counts = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    let entry = counts.functions.entry(function.to_string()).or_default().entry(op.to_string()).or_default();
    entry.calls += calls;
    entry.read_units += read_units;
    entry.write_units += write_units;
    entry.seconds += seconds;
}

/// One call of `op` that took `seconds` (a Lambda invocation's duration, which Lambda bills).
pub fn timed(op: &str, seconds: f64) {
    add_timed(op, 1, 0.0, 0.0, seconds);
}

/// One call of `op` (`sqs:SendMessage`, `secretsmanager:GetSecretValue`, `lambda:Invoke`, ...).
pub fn count(op: &str) {
    add(op, 1, 0.0, 0.0);
}

/// `bytes` written to the function's log (standard output: CloudWatch Logs in AWS), counted as the
/// `calls` of the operation `logs:bytes`.
pub fn logged(bytes: usize) {
    add("logs:bytes", bytes as u64, 0.0, 0.0);
}

/// One DynamoDB call and the capacity it reported (none when it failed).
pub(crate) fn dynamo<'a>(op: &str, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
    let (mut read, mut write) = (0.0, 0.0);
    for c in consumed {
        match (c.read_capacity_units, c.write_capacity_units) {
            (None, None) => {
                // Only a total: reads are read units, anything else write units.
                if op.ends_with("GetItem") || op.ends_with("Query") || op.ends_with("Scan") {
                    read += c.capacity_units.unwrap_or(0.0);
                } else {
                    write += c.capacity_units.unwrap_or(0.0);
                }
            }
            (r, w) => {
                read += r.unwrap_or(0.0);
                write += w.unwrap_or(0.0);
            }
        }
    }
    add(op, 1, read, write);
}

/// A conditional write its condition refused: AWS bills it (1 WRU per KB of the item, at least 1) but
/// returns no capacity with the error, and DynamoDB Local reports none. Counted as 1 WRU, AWS's least for
/// it (most items written under a condition are under 1 KB); the call itself is counted by [`dynamo`].
pub(crate) fn refused_write(op: &str) {
    add(op, 0, 0.0, 1.0);
}

/// One TransactWriteItems of `items` items and the capacity it reported, asked per table and index
/// (`ReturnConsumedCapacity: INDEXES`). AWS bills a transactional write 2 WRU per KB of each item it
/// writes in the table (conditions checked included); DynamoDB Local reports less for a transaction of
/// several small items (a probe: five 30-byte Puts, 2.0 WRU where AWS bills 10). The table's count is the
/// larger of its report and 2 WRU per item, AWS's least for the transaction; the indexes' writes are added
/// as reported (an index entry moved by the transaction: a delete and a put). Before the split, the count
/// was the larger of the whole report and 2 WRU per item, which hid the index writes of transactions of
/// small items behind the floor (BENCHMARKS.md).
pub(crate) fn dynamo_transaction<'a>(consumed: impl IntoIterator<Item = &'a ConsumedCapacity>, items: usize) {
    let (mut table, mut indexes) = (0.0, 0.0);
    let mut answered = false;
    for c in consumed {
        answered = true;
        let total = c.write_capacity_units.or(c.capacity_units).unwrap_or(0.0);
        let on_indexes: f64 = c
            .global_secondary_indexes
            .iter()
            .flat_map(|gsi| gsi.values())
            .map(|cap| cap.write_capacity_units.or(cap.capacity_units).unwrap_or(0.0))
            .sum();
        let on_table = c.table.as_ref().and_then(|t| t.write_capacity_units.or(t.capacity_units));
        table += on_table.unwrap_or(total - on_indexes);
        indexes += on_indexes;
    }
    let write = if answered { table.max(2.0 * items as f64) + indexes } else { 0.0 };
    add("dynamodb:TransactWriteItems", 1, 0.0, write);
}

/// One kind of item a function's DynamoDB calls named, as IAM sees it: the action (`dynamodb:GetItem`; a
/// transaction's parts by their own actions, as IAM authorizes them), the index read (`None`: the table),
/// and the partition key's leading-key pattern ([`leading_key_pattern`]: what a `dynamodb:LeadingKeys`
/// condition must let through). The AWS-shape tests hold each function's uses to the template's policy, so
/// a code path that reaches an item kind its role does not allow fails there rather than in AWS.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyUse {
    pub action: String,
    pub index: Option<String>,
    pub leading_key: String,
}

static KEYS: Mutex<BTreeMap<String, BTreeSet<KeyUse>>> = Mutex::new(BTreeMap::new());

/// A partition key as a `dynamodb:LeadingKeys` pattern: up to its first `#` and `*` (`MSG#m_1` -> `MSG#*`,
/// `AGENTS#3` -> `AGENTS#*`), or the whole key when it has none (`CHANNELS`). Bounded: one per item kind.
pub fn leading_key_pattern(pk: &str) -> String {
    match pk.find('#') {
        Some(i) => format!("{}*", &pk[..=i]),
        None => pk.to_string(),
    }
}

/// A DynamoDB call of `action` naming partition key `pk` (of `index`, or of the table).
pub(crate) fn dynamo_key(action: &str, index: Option<&str>, pk: &str) {
    let function = FUNCTION.try_with(|f| *f).unwrap_or(OUTSIDE);
    let used = KeyUse {
        action: action.to_string(),
        index: index.map(str::to_string),
        leading_key: leading_key_pattern(pk),
    };
    let mut keys = KEYS.lock().unwrap_or_else(|p| p.into_inner());
    keys.entry(function.to_string()).or_default().insert(used);
}

/// Every item kind each function's DynamoDB calls named so far (function -> uses).
pub fn key_uses() -> BTreeMap<String, BTreeSet<KeyUse>> {
    KEYS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Every count so far.
pub fn snapshot() -> Usage {
    COUNTS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::Capacity;

    #[tokio::test]
    async fn calls_are_counted_under_their_function_and_deltas_subtract() {
        let before = snapshot();
        in_function("usage-test-fn", async {
            count("sqs:SendMessage");
            let consumed = ConsumedCapacity::builder().capacity_units(1.0).write_capacity_units(1.0).build();
            dynamo("dynamodb:PutItem", [&consumed]);
            let total_only = ConsumedCapacity::builder().capacity_units(0.5).build();
            dynamo("dynamodb:GetItem", [&total_only]);
        })
        .await;
        let delta = snapshot().since(&before);
        let ops = &delta.functions["usage-test-fn"];
        assert_eq!(ops["sqs:SendMessage"].calls, 1);
        let op = |calls, read_units, write_units| OpUsage { calls, read_units, write_units, seconds: 0.0 };
        assert_eq!(ops["dynamodb:PutItem"], op(1, 0.0, 1.0));
        assert_eq!(ops["dynamodb:GetItem"], op(1, 0.5, 0.0));
    }

    #[test]
    fn a_partition_key_becomes_its_leading_key_pattern() {
        assert_eq!(leading_key_pattern("MSG#m_1"), "MSG#*");
        assert_eq!(leading_key_pattern("OPEN#ch_1#+15550100#+15550123"), "OPEN#*");
        assert_eq!(leading_key_pattern("AGENTS#3"), "AGENTS#*");
        assert_eq!(leading_key_pattern("CHANNELS"), "CHANNELS");
        assert_eq!(leading_key_pattern("CHGSEQ"), "CHGSEQ");
    }

    #[tokio::test]
    async fn the_item_kinds_a_function_names_are_kept_once_each() {
        in_function("usage-test-keys", async {
            dynamo_key("dynamodb:GetItem", None, "CONV#c_1");
            dynamo_key("dynamodb:GetItem", None, "CONV#c_2");
            dynamo_key("dynamodb:Query", Some("waiting"), "q_1");
        })
        .await;
        let uses: Vec<KeyUse> = key_uses()["usage-test-keys"].iter().cloned().collect();
        let used = |action: &str, index: Option<&str>, key: &str| KeyUse {
            action: action.into(),
            index: index.map(str::to_string),
            leading_key: key.into(),
        };
        assert_eq!(
            uses,
            [used("dynamodb:GetItem", None, "CONV#*"), used("dynamodb:Query", Some("waiting"), "q_1")]
        );
    }

    #[tokio::test]
    async fn a_write_its_condition_refused_counts_one_write_unit() {
        let before = snapshot();
        in_function("usage-test-refused", async {
            dynamo("dynamodb:PutItem", []);
            refused_write("dynamodb:PutItem");
        })
        .await;
        let ops = &snapshot().since(&before).functions["usage-test-refused"];
        assert_eq!(
            ops["dynamodb:PutItem"],
            OpUsage { calls: 1, read_units: 0.0, write_units: 1.0, seconds: 0.0 }
        );
    }

    #[tokio::test]
    async fn a_transaction_counts_at_least_two_write_units_per_item() {
        let before = snapshot();
        in_function("usage-test-tx", async {
            // DynamoDB Local's report for three small Puts: less than AWS bills.
            let small = ConsumedCapacity::builder().capacity_units(2.0).build();
            dynamo_transaction([&small], 3);
            // A report above the floor (large items) stands.
            let large = ConsumedCapacity::builder().capacity_units(9.0).build();
            dynamo_transaction([&large], 2);
            // Index writes come on top of the table's floor: DynamoDB Local's report for an update that
            // moves an index key and a small Put (table 4, index 4), and for two small Puts beside an
            // index write (table 2, under the floor of 6 for three items, index 2).
            let indexed = |table: f64, index: f64| {
                ConsumedCapacity::builder()
                    .capacity_units(table + index)
                    .table(Capacity::builder().capacity_units(table).build())
                    .global_secondary_indexes("open", Capacity::builder().capacity_units(index).build())
                    .build()
            };
            dynamo_transaction([&indexed(4.0, 4.0)], 2);
            dynamo_transaction([&indexed(2.0, 2.0)], 3);
            // A failed call reports nothing and is counted as a call only.
            dynamo_transaction([], 4);
        })
        .await;
        let delta = snapshot().since(&before);
        let tx = delta.functions["usage-test-tx"]["dynamodb:TransactWriteItems"];
        assert_eq!((tx.calls, tx.write_units), (5, 6.0 + 9.0 + 8.0 + (6.0 + 2.0)));
    }
}
