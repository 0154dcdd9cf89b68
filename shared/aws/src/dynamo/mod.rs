//! The DynamoDB store: every store port on one table (see `infra/TABLES.md` for the design).
//!
//! Reads that decide something (get, list of a partition) are strongly consistent. Only three listings
//! read a global secondary index, which is eventually consistent: a queue's waiting conversations, every
//! open conversation, and idle ones; each result is re-checked before it is returned, and the writes that
//! follow them (assignment, close) are conditional, so a stale index entry cannot cause a wrong write.

mod changes;
mod connections;
mod contacts;
mod conversations;
mod customers;
mod directory;
mod keys;
mod media_claims;
mod messages;
mod notes;
mod pacing;
mod parts;
mod records;
mod schema;
mod teams;
mod transfers;

pub use changes::{NewChange, RETENTION, change_of_write, from_dynamodb_item, to_dynamodb_json};
pub use connections::{CONNECTION_TTL, Connection};
pub use schema::{TTL_ATTRIBUTE, create_table};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, ReturnConsumedCapacity, ReturnValue,
    TransactWriteItem, Update,
};
use smsdesk_ports::{PortError, PortResult};
use std::time::Duration;

use crate::attr::{Expr, Item, get_s};
use crate::error::{build_error, is_retryable_code, port_error};
use crate::lazy::LazyClient;
use crate::usage;

/// How often a transaction that lost a race on an item (TransactionConflict) is tried again before the
/// caller gets `Unavailable`. Racing assignments to one agent all touch its item, so a few losers per
/// round are normal; the backoff spreads them out.
const TRANSACTION_ATTEMPTS: u32 = 12;
/// How often a read-decide-write loop re-reads after its condition failed because another writer moved
/// the item between the read and the write.
const OPTIMISTIC_ATTEMPTS: u32 = 8;
/// BatchGetItem takes at most 100 keys per call.
const BATCH_GET_MAX: usize = 100;

/// The DynamoDB adapter of every store port (`smsdesk_ports::Store`).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: LazyClient<Client>,
    table: String,
}

impl DynamoStore {
    /// A store on `table`, which must have the schema of [`create_table`] (which creates it
    /// in tests and development; SAM declares it in AWS).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self::with_lazy_client(LazyClient::ready(client), table)
    }

    /// As [`DynamoStore::new`], with a client built on first use.
    pub fn with_lazy_client(client: LazyClient<Client>, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// What a transaction came to.
#[derive(Debug)]
pub(crate) enum Tx {
    Committed,
    /// A condition failed. One code per item, in order (`None` for items that were fine,
    /// `ConditionalCheckFailed` for those whose condition failed).
    Cancelled(Vec<String>),
}

impl Tx {
    /// Whether the condition of item `index` failed.
    pub(crate) fn failed_at(&self, index: usize) -> bool {
        match self {
            Tx::Committed => false,
            Tx::Cancelled(codes) => codes.get(index).is_some_and(|c| c == CONDITION_FAILED),
        }
    }
}

const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// A condition expression with its placeholders.
pub(crate) struct Cond {
    pub(crate) expression: String,
    pub(crate) expr: Expr,
}

impl DynamoStore {
    pub(crate) async fn get(&self, key: Item) -> PortResult<Option<Item>> {
        self.get_with(key, true).await
    }

    /// GetItem, eventually consistent (half the read units): for settings a few seconds of staleness cannot
    /// harm, never for an item a decision is conditioned on.
    pub(crate) async fn get_eventually(&self, key: Item) -> PortResult<Option<Item>> {
        self.get_with(key, false).await
    }

    async fn get_with(&self, key: Item, consistent: bool) -> PortResult<Option<Item>> {
        usage::dynamo_key("dynamodb:GetItem", None, pk_of(&key));
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        usage::dynamo("dynamodb:GetItem", out.as_ref().ok().and_then(|o| o.consumed_capacity.as_ref()));
        Ok(out.map_err(|e| port_error("GetItem", e))?.item)
    }

    /// Follows a pointer item (its `target` is the id of the item it names) to what `follow` makes of that id
    /// (`follow` reads the target consistently and checks it against the pointer's key). The pointer is read
    /// eventually consistently first (half the units): a pointer is written once and is only ever deleted,
    /// or replaced under its key after its target stopped matching. When that read finds nothing `follow`
    /// accepts, the pointer is read again consistently and followed if it names another target: the answer
    /// is the one a consistent read of the pointer gives, paid for in full only when it differs.
    pub(crate) async fn follow_pointer<T, F, Fut>(&self, key: Item, follow: F) -> PortResult<Option<T>>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = PortResult<Option<T>>>,
    {
        let target = |item: Option<Item>| item.and_then(|p| get_s(&p, "target").map(str::to_string));
        let seen = target(self.get_eventually(key.clone()).await?);
        if let Some(id) = &seen
            && let Some(found) = follow(id.clone()).await?
        {
            return Ok(Some(found));
        }
        match target(self.get(key).await?) {
            Some(id) if seen.as_ref() != Some(&id) => follow(id).await,
            _ => Ok(None),
        }
    }

    /// DeleteItem, unconditional.
    pub(crate) async fn delete(&self, key: Item) -> PortResult<()> {
        usage::dynamo_key("dynamodb:DeleteItem", None, pk_of(&key));
        let request = self.client.delete_item().table_name(&self.table).set_key(Some(key));
        let out = request.return_consumed_capacity(ReturnConsumedCapacity::Total).send().await;
        usage::dynamo("dynamodb:DeleteItem", out.as_ref().ok().and_then(|o| o.consumed_capacity.as_ref()));
        out.map_err(|e| port_error("DeleteItem", e))?;
        Ok(())
    }

    /// DeleteItem under `condition`; false when the condition failed.
    pub(crate) async fn delete_if(&self, key: Item, condition: Cond) -> PortResult<bool> {
        usage::dynamo_key("dynamodb:DeleteItem", None, pk_of(&key));
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.expr.names())
            .set_expression_attribute_values(condition.expr.values())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        usage::dynamo("dynamodb:DeleteItem", result.as_ref().ok().and_then(|o| o.consumed_capacity.as_ref()));
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                usage::refused_write("dynamodb:DeleteItem");
                Ok(false)
            }
            Err(e) => Err(port_error("DeleteItem", e)),
        }
    }

    /// PutItem; returns false when `condition` failed.
    pub(crate) async fn put(&self, item: Item, condition: Option<Cond>) -> PortResult<bool> {
        usage::dynamo_key("dynamodb:PutItem", None, pk_of(&item));
        let (expression, expr) = split(condition);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(expression)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        usage::dynamo("dynamodb:PutItem", result.as_ref().ok().and_then(|o| o.consumed_capacity.as_ref()));
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                usage::refused_write("dynamodb:PutItem");
                Ok(false)
            }
            Err(e) => Err(port_error("PutItem", e)),
        }
    }

    /// UpdateItem returning the new item; None when the condition failed.
    pub(crate) async fn update(
        &self,
        key: Item,
        update_expression: String,
        condition: Option<String>,
        expr: Expr,
    ) -> PortResult<Option<Item>> {
        self.update_returning(key, update_expression, condition, expr, ReturnValue::AllNew).await
    }

    /// A conditional UpdateItem that answers nothing back: whether its condition held.
    pub(crate) async fn update_if(
        &self,
        key: Item,
        update_expression: String,
        condition: String,
        expr: Expr,
    ) -> PortResult<bool> {
        let answer = self.update_returning(key, update_expression, Some(condition), expr, ReturnValue::None);
        Ok(answer.await?.is_some())
    }

    /// UpdateItem returning what `returns` asks for (the item before the update with `AllOld`: empty when
    /// the item was new); None when the condition failed.
    pub(crate) async fn update_returning(
        &self,
        key: Item,
        update_expression: String,
        condition: Option<String>,
        expr: Expr,
        returns: ReturnValue,
    ) -> PortResult<Option<Item>> {
        usage::dynamo_key("dynamodb:UpdateItem", None, pk_of(&key));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update_expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(returns)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        usage::dynamo("dynamodb:UpdateItem", result.as_ref().ok().and_then(|o| o.consumed_capacity.as_ref()));
        match result {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                usage::refused_write("dynamodb:UpdateItem");
                Ok(None)
            }
            Err(e) => Err(port_error("UpdateItem", e)),
        }
    }

    /// Every item of a query, following pages, up to `max` items when given.
    pub(crate) async fn query(&self, q: Query) -> PortResult<Vec<Item>> {
        usage::dynamo_key("dynamodb:Query", q.index, q.partition().unwrap_or_default());
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(q.index.map(str::to_string))
                .key_condition_expression(&q.key_condition)
                .set_filter_expression(q.filter.clone())
                .set_expression_attribute_names(q.expr.names())
                .set_expression_attribute_values(q.expr.values())
                .scan_index_forward(q.forward)
                // A global secondary index cannot be read consistently.
                .consistent_read(q.index.is_none())
                .set_exclusive_start_key(start.take())
                // Without a filter, `Limit` is exactly how many items we still want.
                .set_limit(q.max.filter(|_| q.filter.is_none()).map(|m| i32::try_from(m).unwrap_or(i32::MAX)))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            usage::dynamo("dynamodb:Query", out.as_ref().ok().and_then(|o| o.consumed_capacity.as_ref()));
            let out = out.map_err(|e| port_error("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            if q.max.is_some_and(|m| items.len() >= m) {
                items.truncate(q.max.unwrap_or(items.len()));
                return Ok(items);
            }
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(items),
            }
        }
    }

    /// Several queries at once (scatter-gather over a sharded key): every item of each, in query order.
    pub(crate) async fn query_all(&self, queries: Vec<Query>) -> PortResult<Vec<Vec<Item>>> {
        futures_util::future::try_join_all(queries.into_iter().map(|q| self.query(q))).await
    }

    /// Strongly consistent reads of many items by key; missing ones are left out, order is not kept.
    pub(crate) async fn batch_get(&self, mut keys: Vec<Item>) -> PortResult<Vec<Item>> {
        keys.sort_by_key(key_text);
        keys.dedup_by(|a, b| key_text(a) == key_text(b));
        for key in &keys {
            usage::dynamo_key("dynamodb:BatchGetItem", None, pk_of(key));
        }
        let mut items = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| build_error("BatchGetItem keys", e))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await;
                usage::dynamo(
                    "dynamodb:BatchGetItem",
                    out.as_ref().ok().into_iter().flat_map(|o| o.consumed_capacity()),
                );
                let out = out.map_err(|e| port_error("BatchGetItem", e))?;
                if let Some(mut responses) = out.responses {
                    items.extend(responses.remove(&self.table).unwrap_or_default());
                }
                if let Some(mut unprocessed) = out.unprocessed_keys {
                    pending = unprocessed.remove(&self.table).map(|k| k.keys).unwrap_or_default();
                }
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > TRANSACTION_ATTEMPTS {
                        return Err(PortError::Unavailable("BatchGetItem: keys left unprocessed".into()));
                    }
                    backoff(attempt).await;
                }
            }
        }
        Ok(items)
    }

    /// TransactWriteItems. Conflicts with other transactions on the same items are retried here with
    /// backoff, so that the caller only ever sees the real outcome: committed, or a condition failed.
    ///
    /// Every attempt of one call carries the same client request token (the SDK's own retries resend it
    /// too): when a commit went through but its answer was lost, DynamoDB answers the retry with success
    /// instead of cancelling it on the conditions the first commit already changed, which the caller would
    /// take for a lost race. The token is drawn once per call, not derived from the items: two callers
    /// racing with identical items (the same close at the same instant) are two operations, and a shared
    /// token would tell both that they won.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> PortResult<Tx> {
        // IAM authorizes a transaction by its parts' own actions, each on its item's key.
        for item in &items {
            let (action, key) = match (item.put(), item.update(), item.delete(), item.condition_check()) {
                (Some(put), ..) => ("dynamodb:PutItem", put.item()),
                (_, Some(update), ..) => ("dynamodb:UpdateItem", update.key()),
                (_, _, Some(delete), _) => ("dynamodb:DeleteItem", delete.key()),
                (_, _, _, Some(check)) => ("dynamodb:ConditionCheckItem", check.key()),
                _ => continue,
            };
            usage::dynamo_key(action, None, pk_of(key));
        }
        let token = uuid::Uuid::new_v4().to_string();
        for attempt in 1..=TRANSACTION_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                // Per table and index: the table's part is billed per item (usage::dynamo_transaction).
                .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
                .send()
                .await;
            usage::dynamo_transaction(
                result.as_ref().ok().into_iter().flat_map(|o| o.consumed_capacity()),
                items.len(),
            );
            let err = match result {
                Ok(_) => return Ok(Tx::Committed),
                Err(err) => err,
            };
            match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let codes = cancellation_codes(
                        cancelled.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")),
                        cancelled.message(),
                    );
                    if codes.iter().any(|c| c == CONDITION_FAILED) {
                        return Ok(Tx::Cancelled(codes));
                    }
                    if !codes.iter().any(|c| is_transient_cancellation(c)) {
                        return Err(PortError::Backend(format!("TransactWriteItems cancelled: {codes:?}")));
                    }
                }
                Some(other) if other.code().is_some_and(is_retryable_code) => {}
                _ => return Err(port_error("TransactWriteItems", err)),
            }
            backoff(attempt).await;
        }
        Err(PortError::Unavailable(format!(
            "TransactWriteItems: still conflicting after {TRANSACTION_ATTEMPTS} attempts"
        )))
    }

    pub(crate) fn put_item(&self, item: Item, condition: Option<Cond>) -> PortResult<TransactWriteItem> {
        let (expression, expr) = split(condition);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(expression)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(|e| build_error("Put", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(crate) fn update_item(
        &self,
        key: Item,
        update_expression: String,
        condition: Option<String>,
        expr: Expr,
    ) -> PortResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update_expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(|e| build_error("Update", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A transaction part that only checks a condition on an item.
    pub(crate) fn condition_check(&self, key: Item, condition: Cond) -> PortResult<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.expr.names())
            .set_expression_attribute_values(condition.expr.values())
            .build()
            .map_err(|e| build_error("ConditionCheck", e))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    pub(crate) fn delete_item(&self, key: Item, condition: Option<Cond>) -> PortResult<TransactWriteItem> {
        let (expression, expr) = split(condition);
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(expression)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .map_err(|e| build_error("Delete", e))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

/// A query: partition (and optional sort) condition, on the table or one of its indexes.
pub(crate) struct Query {
    pub(crate) index: Option<&'static str>,
    pub(crate) key_condition: String,
    pub(crate) filter: Option<String>,
    pub(crate) expr: Expr,
    pub(crate) forward: bool,
    pub(crate) max: Option<usize>,
}

impl Query {
    /// The partition key value the query names: the value of the key condition's equality
    /// (`#n = :v [AND ...]`).
    fn partition(&self) -> Option<&str> {
        let equality = self.key_condition.split(" AND ").next()?;
        let placeholder = equality.split(" = ").nth(1)?.trim();
        self.expr.value_of(placeholder)?.as_s().ok().map(String::as_str)
    }

    /// Every item of partition `pk` whose sort key meets the condition `sort` writes (given the sort key's
    /// placeholder name), in sort key order.
    fn in_partition(pk: &str, sort: impl FnOnce(&mut Expr, &str) -> String) -> Self {
        let mut expr = Expr::new();
        let partition = expr.eq("pk", AttributeValue::S(pk.into()));
        let sk = expr.name("sk");
        let key_condition = format!("{partition} AND {}", sort(&mut expr, &sk));
        Query { index: None, key_condition, filter: None, expr, forward: true, max: None }
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, in sort key order.
    pub(crate) fn prefix(pk: &str, prefix: &str) -> Self {
        Self::in_partition(pk, |expr, sk| {
            format!("begins_with({sk}, {})", expr.value(AttributeValue::S(prefix.into())))
        })
    }

    /// Every item of partition `pk` whose sort key lies between `first` and `last` (both included), in sort
    /// key order.
    pub(crate) fn between(pk: &str, first: &str, last: &str) -> Self {
        Self::in_partition(pk, |expr, sk| {
            let (first, last) =
                (expr.value(AttributeValue::S(first.into())), expr.value(AttributeValue::S(last.into())));
            format!("{sk} BETWEEN {first} AND {last}")
        })
    }

    /// Every item of partition `pk` whose sort key is below `before`, in sort key order.
    pub(crate) fn below(pk: &str, before: &str) -> Self {
        Self::in_partition(pk, |expr, sk| format!("{sk} < {}", expr.value(AttributeValue::S(before.into()))))
    }
}

fn split(condition: Option<Cond>) -> (Option<String>, Expr) {
    match condition {
        Some(c) => (Some(c.expression), c.expr),
        None => (None, Expr::new()),
    }
}

/// An item's (or a key's) partition key.
fn pk_of(item: &Item) -> &str {
    item.get("pk").and_then(|v| v.as_s().ok()).map_or("", String::as_str)
}

fn key_text(key: &Item) -> String {
    let part = |n: &str| key.get(n).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    format!("{}\u{0}{}", part("pk"), part("sk"))
}

/// Cancellation codes from the structured reasons or, when an emulator leaves them out, from the message
/// (`... reasons [ConditionalCheckFailed, None]`).
fn cancellation_codes<'a>(structured: impl Iterator<Item = &'a str>, message: Option<&str>) -> Vec<String> {
    let codes: Vec<String> = structured.map(str::to_string).collect();
    if !codes.is_empty() {
        return codes;
    }
    let Some(message) = message else { return codes };
    match (message.rfind('['), message.rfind(']')) {
        (Some(open), Some(close)) if open < close => {
            message[open + 1..close].split(',').map(|c| c.trim().to_string()).collect()
        }
        _ => codes,
    }
}

/// Cancellation reasons that go away when the transaction is tried again.
fn is_transient_cancellation(code: &str) -> bool {
    matches!(code, "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
        || is_retryable_code(code)
}

/// Exponential backoff with jitter: 10 ms doubling up to 640 ms, times a factor in [0.5, 1.5).
pub(crate) async fn backoff(attempt: u32) {
    let base = 10u64 << attempt.min(6);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let jitter = u64::from(nanos % 1000);
    tokio::time::sleep(Duration::from_millis(base / 2 + base * jitter / 1000)).await;
}

/// The wall clock in seconds since the epoch (for expiry decisions DynamoDB's TTL makes on its own clock).
pub(crate) fn unix_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// One step of a read-decide-write loop; `None` asks for another round.
pub(crate) fn attempts() -> std::ops::RangeInclusive<u32> {
    1..=OPTIMISTIC_ATTEMPTS
}

/// The error when a read-decide-write loop kept losing races.
pub(crate) fn contention(what: &str) -> PortError {
    PortError::Unavailable(format!("{what}: the item kept changing under {OPTIMISTIC_ATTEMPTS} attempts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_reasons_or_message() {
        let structured = cancellation_codes(["None", "ConditionalCheckFailed"].into_iter(), None);
        assert_eq!(structured, vec!["None", "ConditionalCheckFailed"]);
        let parsed = cancellation_codes(
            std::iter::empty(),
            Some(
                "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
            ),
        );
        assert_eq!(parsed, vec!["None", "TransactionConflict"]);
        assert!(cancellation_codes(std::iter::empty(), Some("no list")).is_empty());
    }

    #[test]
    fn conflicts_are_transient_conditions_are_not() {
        assert!(is_transient_cancellation("TransactionConflict"));
        assert!(!is_transient_cancellation("ConditionalCheckFailed"));
        assert!(!is_transient_cancellation("ValidationError"));
    }

    #[test]
    fn failed_at_names_the_item() {
        let tx = Tx::Cancelled(vec!["None".into(), CONDITION_FAILED.into()]);
        assert!(!tx.failed_at(0));
        assert!(tx.failed_at(1));
        assert!(!Tx::Committed.failed_at(0));
    }
}
