//! The change feed on DynamoDB (`infra/TABLES.md`, "Live updates"): the table's stream feeds the `live`
//! function, which turns each write of a conversation or a message into a change ([`change_of_write`]) and
//! appends it ([`DynamoStore::append_changes`]) as a `CHG` item whose sort key is its sequence number.
//! The counter (`CHGSEQ`) and the items it numbers are written in one transaction, conditional on the
//! counter's old value: a reader sees the feed as a prefix of the numbers, never a later number before an
//! earlier one (which would make a resuming client skip it). The stream's own sequence numbers are per
//! shard, so they cannot be what a client resumes from. `CHG` items expire after [`RETENTION`] (TTL); a
//! client that resumes from before the oldest one is told to reload (`reset`).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use smsdesk_domain::ConversationId;
use smsdesk_ports::{Change, ChangeEntity, ChangeFeed, ChangePage, PortError, PortResult};

use super::keys::{item_with, key};
use super::{DynamoStore, Query, attempts, contention};
use crate::attr::{Expr, Item, get_s, n, s};
use crate::error::corrupt;

/// The partition of the change items.
const CHANGES: &str = "CHG";
/// The counter item of the change numbers.
const COUNTER_PK: &str = "CHGSEQ";
/// How long a change is kept (a client away longer reloads).
pub const RETENTION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// Changes per transaction (TransactWriteItems takes 100 items, one is the counter).
const PER_TRANSACTION: usize = 99;

/// A change before it has a number: what a write of the table means for the live updates.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChange {
    pub entity: ChangeEntity,
    pub id: String,
    pub conversation_id: ConversationId,
    pub data: Value,
    /// Milliseconds since the epoch.
    pub at: i64,
}

/// The change a stream record of the table means, from its images as plain JSON (see
/// [`from_dynamodb_item`]): a conversation's (`CONV#<id>`/`CONV`) state, queue and agent, with those
/// before when it was an update; a message's (`MSG#<id>`/`MSG`) status, direction and author. Nothing for
/// any other item, nor for a removal (conversations and messages are never deleted; TTL removes none).
/// Never a text or a phone number, as the embedded triggers.
pub fn change_of_write(new_image: Option<&Value>, old_image: Option<&Value>, at: i64) -> Option<NewChange> {
    let new = new_image?;
    let pk = new.get("pk")?.as_str()?;
    let sk = new.get("sk")?.as_str()?;
    let field = |image: &Value, name: &str| image.get(name).cloned().unwrap_or(Value::Null);
    if pk.starts_with("CONV#") && sk == "CONV" {
        let id = new.get("id")?.as_str()?.to_string();
        let mut data = json!({
            "state": field(new, "state"),
            "queue_id": field(new, "queue_id"),
            "agent_id": field(new, "agent_id"),
        });
        if let Some(old) = old_image {
            data["before"] = json!({
                "state": field(old, "state"),
                "queue_id": field(old, "queue_id"),
                "agent_id": field(old, "agent_id"),
            });
        }
        return Some(NewChange {
            entity: ChangeEntity::Conversation,
            conversation_id: ConversationId::new(id.clone()),
            id,
            data,
            at,
        });
    }
    if pk.starts_with("MSG#") && sk == "MSG" {
        let id = new.get("id")?.as_str()?.to_string();
        let conversation_id = ConversationId::new(new.get("conversation_id")?.as_str()?);
        let data = json!({
            "status": field(new, "status"),
            "direction": field(new, "direction"),
            "author": field(new, "author"),
        });
        return Some(NewChange { entity: ChangeEntity::Message, id, conversation_id, data, at });
    }
    None
}

/// Plain JSON from an item in DynamoDB's JSON form (attribute name -> `{"S": "x"}`, `{"N": "1"}`,
/// `{"M": {...}}`, ...), as a stream record carries its images. None when a value is no attribute value.
pub fn from_dynamodb_item(item: &Value) -> Option<Value> {
    item.as_object()?.iter().map(|(k, v)| Some((k.clone(), from_dynamodb_value(v)?))).collect()
}

fn from_dynamodb_value(value: &Value) -> Option<Value> {
    let map = value.as_object().filter(|m| m.len() == 1)?;
    let (kind, inner) = map.iter().next()?;
    Some(match kind.as_str() {
        "S" | "BOOL" | "SS" | "NS" | "B" | "BS" => inner.clone(),
        "N" => {
            let text = inner.as_str()?;
            match text.parse::<i64>() {
                Ok(i) => json!(i),
                Err(_) => json!(text.parse::<f64>().ok()?),
            }
        }
        "NULL" => Value::Null,
        "L" => Value::Array(inner.as_array()?.iter().map(from_dynamodb_value).collect::<Option<_>>()?),
        "M" => from_dynamodb_item(inner)?,
        _ => return None,
    })
}

/// An SDK attribute value in DynamoDB's JSON form (what a stream record carries; the tests build Lambda's
/// stream events from DynamoDB Local's stream with it).
pub fn to_dynamodb_json(attr: &AttributeValue) -> Value {
    match attr {
        AttributeValue::S(v) => json!({"S": v}),
        AttributeValue::N(v) => json!({"N": v}),
        AttributeValue::Bool(v) => json!({"BOOL": v}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::L(items) => json!({"L": items.iter().map(to_dynamodb_json).collect::<Vec<_>>()}),
        AttributeValue::M(map) => {
            json!({"M": map.iter().map(|(k, v)| (k.clone(), to_dynamodb_json(v))).collect::<serde_json::Map<_, _>>()})
        }
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        _ => Value::Null,
    }
}

fn seq_key(seq: i64) -> String {
    format!("{seq:020}")
}

fn counter() -> Item {
    key(COUNTER_PK, "SEQ")
}

impl DynamoStore {
    /// Numbers `changes` in order after the newest change and writes them; returns them numbered.
    pub async fn append_changes(&self, changes: Vec<NewChange>) -> PortResult<Vec<Change>> {
        let mut written = Vec::with_capacity(changes.len());
        for chunk in changes.chunks(PER_TRANSACTION) {
            written.extend(self.append_chunk(chunk).await?);
        }
        Ok(written)
    }

    async fn append_chunk(&self, chunk: &[NewChange]) -> PortResult<Vec<Change>> {
        let count = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
        for _ in attempts() {
            let head = self.change_head().await?;
            let numbered: Vec<Change> = chunk
                .iter()
                .zip(head + 1..)
                .map(|(c, seq)| Change {
                    seq,
                    entity: c.entity,
                    id: c.id.clone(),
                    conversation_id: c.conversation_id.clone(),
                    data: c.data.clone(),
                    at: c.at,
                })
                .collect();
            let mut expr = Expr::new();
            let seq_name = expr.name("seq");
            let update = format!("SET {seq_name} = {}", expr.value(n(head + count)));
            let condition = if head == 0 {
                format!("attribute_not_exists({seq_name})")
            } else {
                format!("{seq_name} = {}", expr.value(n(head)))
            };
            let mut items = vec![self.update_item(counter(), update, Some(condition), expr)?];
            for change in &numbered {
                items.push(self.put_item(change_item(change)?, None)?);
            }
            if let super::Tx::Committed = self.transact(items).await? {
                return Ok(numbered);
            }
        }
        Err(contention("appending changes"))
    }

    /// The newest change number (0 before the first).
    async fn change_head(&self) -> PortResult<i64> {
        let Some(item) = self.get(counter()).await? else { return Ok(0) };
        number(&item, "seq")
    }
}

fn change_item(change: &Change) -> PortResult<Item> {
    let entity = match change.entity {
        ChangeEntity::Conversation => "conversation",
        ChangeEntity::Message => "message",
    };
    let expires = change.at / 1000 + i64::try_from(RETENTION.as_secs()).unwrap_or(i64::MAX);
    Ok(item_with(
        key(CHANGES, seq_key(change.seq)),
        [
            ("entity", s("change")),
            ("seq", n(change.seq)),
            ("kind", s(entity)),
            ("id", s(change.id.clone())),
            ("conversation_id", s(change.conversation_id.to_string())),
            ("data", s(change.data.to_string())),
            ("at", n(change.at)),
            (crate::TTL_ATTRIBUTE, n(expires)),
        ],
    ))
}

fn number(item: &Item, name: &str) -> PortResult<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(format!("change item: no number '{name}'")))
}

fn change_of_item(item: &Item) -> PortResult<Change> {
    let seq = number(item, "seq")?;
    let entity = match get_s(item, "kind") {
        Some("conversation") => ChangeEntity::Conversation,
        Some("message") => ChangeEntity::Message,
        other => return Err(PortError::Corrupt(format!("change {seq}: kind {other:?}"))),
    };
    let text = |name: &str| {
        get_s(item, name).map(str::to_string).ok_or_else(|| corrupt(format!("change {seq}: no '{name}'")))
    };
    let data = serde_json::from_str(&text("data")?)
        .map_err(|e| PortError::Corrupt(format!("change {seq}: data does not decode: {e}")))?;
    Ok(Change {
        seq,
        entity,
        id: text("id")?,
        conversation_id: ConversationId::new(text("conversation_id")?),
        data,
        at: number(item, "at")?,
    })
}

#[async_trait]
impl ChangeFeed for DynamoStore {
    async fn changes_after(&self, after: i64, limit: usize) -> PortResult<ChangePage> {
        // The head first: a change appended meanwhile is then either in the page or above the head.
        let head = self.change_head().await?;
        // Every sort key of the partition is a zero-padded number (DynamoDB refuses an empty prefix).
        let mut oldest_query = Query::prefix(CHANGES, "0");
        oldest_query.max = Some(1);
        let oldest = match self.query(oldest_query).await?.first() {
            Some(item) => number(item, "seq")?,
            None => head + 1,
        };
        let q = Query { max: Some(limit), ..Query::above(CHANGES, &seq_key(after.max(0))) };
        let items = if after >= head || limit == 0 { Vec::new() } else { self.query(q).await? };
        let mut changes = items.iter().map(change_of_item).collect::<PortResult<Vec<_>>>()?;
        changes.retain(|c| c.seq > after && c.seq <= head);
        Ok(ChangePage { changes, oldest: oldest.min(head + 1), head })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_update_says_what_it_was_before_and_nothing_private() {
        let new = json!({"pk": "CONV#c1", "sk": "CONV", "id": "c1", "state": "active", "queue_id": "q1",
            "agent_id": "a1", "customer": "+15555550100"});
        let old = json!({"pk": "CONV#c1", "sk": "CONV", "id": "c1", "state": "open", "queue_id": "q1",
            "agent_id": null, "customer": "+15555550100"});
        let change = change_of_write(Some(&new), Some(&old), 7).expect("a change");
        assert_eq!(change.entity, ChangeEntity::Conversation);
        assert_eq!(change.data["state"], "active");
        assert_eq!(change.data["before"]["state"], "open");
        assert!(change.data["before"]["agent_id"].is_null());
        assert!(!change.data.to_string().contains("5555550100"));
    }

    #[test]
    fn a_message_is_its_status_and_other_items_are_nothing() {
        let msg = json!({"pk": "MSG#m1", "sk": "MSG", "id": "m1", "conversation_id": "c1", "status": "sent",
            "direction": "outbound", "author": "agent", "text": "secret words"});
        let change = change_of_write(Some(&msg), None, 7).expect("a change");
        assert_eq!((change.entity, change.conversation_id.as_str()), (ChangeEntity::Message, "c1"));
        assert!(!change.data.to_string().contains("secret"));
        let transcript = json!({"pk": "CONV#c1", "sk": "MSG#0001#m1", "id": "m1"});
        assert_eq!(change_of_write(Some(&transcript), None, 7), None);
        assert_eq!(change_of_write(None, Some(&msg), 7), None, "a removal is no change");
    }

    #[test]
    fn dynamodb_json_round_trips() {
        let attr = AttributeValue::M(
            [
                ("a".to_string(), AttributeValue::S("x".into())),
                ("n".to_string(), AttributeValue::N("12".into())),
                ("z".to_string(), AttributeValue::Null(true)),
                ("l".to_string(), AttributeValue::L(vec![AttributeValue::Bool(true)])),
            ]
            .into(),
        );
        let Value::Object(item) = to_dynamodb_json(&attr)["M"].clone() else { panic!("a map") };
        let plain = from_dynamodb_item(&Value::Object(item)).expect("plain");
        assert_eq!(plain, json!({"a": "x", "n": 12, "z": null, "l": [true]}));
    }
}
