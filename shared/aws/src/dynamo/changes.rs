//! The change feed on DynamoDB (`infra/TABLES.md`, "Live updates"): the table's stream feeds the `live`
//! function, which turns each write of a conversation or a message into a change ([`change_of_write`]) and
//! appends a stream batch's changes ([`DynamoStore::append_changes`]) as one `CHG` item, keyed by the first
//! of the sequence numbers it holds, its changes' JSON deflated (one item per batch: its write costs a unit
//! per KB, where an item per change in a transaction cost two units per change).
//!
//! The numbers have no holes and are written in order: each item is put at the number after the newest
//! item, under `attribute_not_exists`, so of two writers that read the same newest item one wins and the
//! other reads again. A reader therefore sees the feed as a prefix of the numbers, never a later number
//! before an earlier one (which would make a resuming client skip it). The stream's own sequence numbers
//! are per shard, so they cannot be what a client resumes from.
//!
//! Items expire after [`RETENTION`] (TTL, never going down along the numbers); a client that resumes from
//! before the oldest one, or across a hole TTL left, is told to reload (`reset`). When no item is live (a
//! new table, or a day without a change) the numbers start again above every number given before: the
//! counter (`CHGSEQ`) moves, in the same transaction as the item, whenever the numbers pass a multiple of
//! [`BOUNDARY`] or start again, so they start again at the counter plus [`BOUNDARY`].

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use smsdesk_domain::ConversationId;
use smsdesk_ports::{Change, ChangeEntity, ChangeFeed, ChangePage, PortError, PortResult};

use super::conversations::absent;
use super::keys::{item_with, key};
use super::{DynamoStore, Query, backoff, unix_seconds};
use crate::attr::{Expr, Item, get_s, n, s};
use crate::error::corrupt;

/// The partition of the change items.
const CHANGES: &str = "CHG";
/// The counter item of the change numbers.
const COUNTER_PK: &str = "CHGSEQ";
/// How long a change is kept (a client away longer reloads).
pub const RETENTION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// Changes per batch item (a stream batch is 50 at most: infra/template.yaml; ~300 bytes each).
const PER_ITEM: usize = 100;
/// The counter moves when the numbers pass a multiple of this (and when the feed starts again), so every
/// number given is below the counter plus this: where the feed starts again after every item expired.
const BOUNDARY: i64 = 1024;
/// The most a batch item's changes may inflate to (100 changes of a few hundred bytes each, with room).
const MAX_UNPACKED: u64 = 4 << 20;
/// How much earlier than its `expires_at` an item counts as expired.
const EXPIRY_MARGIN_SECS: i64 = 60;
/// Tries of one append against racing writers (one per stream shard being read at once).
const APPEND_ATTEMPTS: u32 = 16;

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
/// before when it was an update; a message's (`MSG#<id>`/`MSG`) status, direction and author; a note's
/// (`NOTES#<conversation>`/`NOTE#...`, when it is added) author. Nothing for
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
    if pk.starts_with("NOTES#") && sk.starts_with("NOTE#") && old_image.is_none() {
        let id = new.get("id")?.as_str()?.to_string();
        let conversation_id = ConversationId::new(new.get("conversation_id")?.as_str()?);
        let data = json!({"agent_id": field(new, "agent_id")});
        return Some(NewChange { entity: ChangeEntity::Note, id, conversation_id, data, at });
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

fn now_secs() -> i64 {
    i64::try_from(unix_seconds()).unwrap_or(i64::MAX)
}

/// A change as a batch item holds it (short names: the item's size is what its write costs).
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(rename = "k")]
    kind: String,
    #[serde(rename = "i")]
    id: String,
    #[serde(rename = "c")]
    conversation_id: String,
    #[serde(rename = "d")]
    data: Value,
    #[serde(rename = "t")]
    at: i64,
}

/// The numbers one `CHG` item holds (none for the marker a restart leaves), and when it expires.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Span {
    first: i64,
    last: i64,
    expires_at: i64,
}

impl Span {
    /// A batch item (`first`, `count`, `changes`), or one change as items were written before batches
    /// (`seq`, `kind`, `id`, ...: still read, so a table keeps its numbers across the upgrade).
    fn of(item: &Item) -> PortResult<Self> {
        let expires_at = number(item, crate::TTL_ATTRIBUTE)?;
        if item.contains_key("changes") {
            let first = number(item, "first")?;
            Ok(Span { first, last: first + number(item, "count")? - 1, expires_at })
        } else {
            let seq = number(item, "seq")?;
            Ok(Span { first: seq, last: seq, expires_at })
        }
    }

    /// Whether TTL may have removed it, or any item before it, by `now` (seconds; a minute early, so a
    /// clock a little behind DynamoDB's never takes a removed item's numbers for free).
    fn expired(&self, now: i64) -> bool {
        self.expires_at <= now + EXPIRY_MARGIN_SECS
    }
}

/// A batch's changes as the item holds them: their JSON, deflated (the write is billed per KB; a batch's
/// changes repeat their ids and field names, so they shrink several times).
fn pack(stored: &[Stored]) -> PortResult<Vec<u8>> {
    use std::io::Write;
    let json = serde_json::to_vec(stored).map_err(|e| corrupt(format!("changes do not encode: {e}")))?;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&json).and_then(|()| encoder.finish()).map_err(|e| corrupt(format!("deflate: {e}")))
}

/// The changes of a `CHG` item, numbered.
fn changes_of(item: &Item) -> PortResult<Vec<Change>> {
    use std::io::Read;
    let Some(packed) = item.get("changes") else { return Ok(vec![change_of_item(item)?]) };
    let first = number(item, "first")?;
    let bytes = packed.as_b().map_err(|_| corrupt(format!("changes {first}: not binary")))?;
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(bytes.as_ref())
        .take(MAX_UNPACKED)
        .read_to_end(&mut json)
        .map_err(|e| corrupt(format!("changes {first}: do not inflate: {e}")))?;
    let stored: Vec<Stored> =
        serde_json::from_slice(&json).map_err(|e| corrupt(format!("changes {first}: do not decode: {e}")))?;
    stored
        .into_iter()
        .zip(first..)
        .map(|(c, seq)| {
            let entity = entity_of(Some(&c.kind), seq)?;
            let conversation_id = ConversationId::new(c.conversation_id);
            Ok(Change { seq, entity, id: c.id, conversation_id, data: c.data, at: c.at })
        })
        .collect()
}

/// Where the next batch goes.
enum Position {
    /// Right after the newest item, which is live; expiring no earlier than it.
    After(Span),
    /// Nothing live: at the counter plus [`BOUNDARY`], moving the counter from what was read; a marker
    /// takes the number after the newest expired item (if any), so a writer whose clock still took that
    /// item for live cannot put its batch there once the feed started again.
    Restart { counter: Option<i64>, at: i64, marker: Option<i64> },
}

/// What the counter must hold for a batch's move of it to go through.
enum CounterWas {
    /// What this writer read (None: no counter yet), when the numbers start again.
    Read(Option<i64>),
    /// Anything below the move's value, when a batch passes a multiple of [`BOUNDARY`].
    Below,
}

/// Where the feed starts again when it holds no live item (a new table, or every item expired): above
/// every number ever given, by the counter ([`BOUNDARY`]); 1 on a new table.
fn restart_at(counter: Option<i64>) -> i64 {
    counter.map_or(1, |seq| seq + BOUNDARY)
}

/// Whether the numbers `first..=last` pass a multiple of [`BOUNDARY`] (then the counter moves with them).
fn crosses_boundary(first: i64, last: i64) -> bool {
    (first - 1).div_euclid(BOUNDARY) != last.div_euclid(BOUNDARY)
}

impl DynamoStore {
    /// Numbers `changes` in order after the newest change and writes them; returns them numbered.
    pub async fn append_changes(&self, changes: Vec<NewChange>) -> PortResult<Vec<Change>> {
        let mut written = Vec::with_capacity(changes.len());
        for chunk in changes.chunks(PER_ITEM) {
            written.extend(self.append_chunk(chunk).await?);
        }
        Ok(written)
    }

    /// One batch item, written right after the newest live one: its key is the next number, so of two
    /// writers that read the same newest item one wins the put and the other reads again.
    async fn append_chunk(&self, chunk: &[NewChange]) -> PortResult<Vec<Change>> {
        let count = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
        let stored = chunk
            .iter()
            .map(|c| Stored {
                kind: entity_name(c.entity).to_string(),
                id: c.id.clone(),
                conversation_id: c.conversation_id.to_string(),
                data: c.data.clone(),
                at: c.at,
            })
            .collect::<Vec<_>>();
        let packed = pack(&stored)?;
        let retention = i64::try_from(RETENTION.as_secs()).unwrap_or(i64::MAX);
        let batch = |first: i64, count: i64, packed: &[u8], expires: i64| {
            item_with(
                key(CHANGES, seq_key(first)),
                [
                    ("entity", s("changes")),
                    ("first", n(first)),
                    ("count", n(count)),
                    ("changes", AttributeValue::B(Blob::new(packed))),
                    (crate::TTL_ATTRIBUTE, n(expires)),
                ],
            )
        };
        for attempt in 1..=APPEND_ATTEMPTS {
            let now = now_secs();
            let (first, committed) = match self.position(now).await? {
                Position::After(newest) => {
                    let first = newest.last + 1;
                    let last = first + count - 1;
                    // Expiry never goes down along the numbers.
                    let item = batch(first, count, &packed, (now + retention).max(newest.expires_at));
                    let committed = if crosses_boundary(first, last) {
                        // A multiple of BOUNDARY passed: the counter moves to `last` in the same write.
                        let items = vec![
                            self.counter_to(last, CounterWas::Below)?,
                            self.put_item(item, Some(absent()))?,
                        ];
                        matches!(self.transact(items).await?, super::Tx::Committed)
                    } else {
                        self.put(item, Some(absent())).await?
                    };
                    (first, committed)
                }
                Position::Restart { counter: read, at, marker } => {
                    let mut items = vec![
                        self.counter_to(at + count - 1, CounterWas::Read(read))?,
                        self.put_item(batch(at, count, &packed, now + retention), Some(absent()))?,
                    ];
                    if let Some(marker) = marker.filter(|m| *m != at) {
                        items.push(
                            self.put_item(batch(marker, 0, &pack(&[])?, now + retention), Some(absent()))?,
                        );
                    }
                    (at, matches!(self.transact(items).await?, super::Tx::Committed))
                }
            };
            if committed {
                return Ok(chunk
                    .iter()
                    .zip(first..)
                    .map(|(c, seq)| Change {
                        seq,
                        entity: c.entity,
                        id: c.id.clone(),
                        conversation_id: c.conversation_id.clone(),
                        data: c.data.clone(),
                        at: c.at,
                    })
                    .collect());
            }
            // Another writer took the number: it is the newest now; read again, after a jittered pause
            // so that racing writers spread out.
            backoff(attempt).await;
        }
        Err(PortError::Unavailable(format!("appending changes: lost the race {APPEND_ATTEMPTS} times")))
    }

    /// Where the next batch goes (see [`Position`]). When the newest item is not live, the counter is read
    /// and then the newest item again: a restart commits its item with the counter, so a restart by
    /// another writer meanwhile shows in that second read, or fails this writer's counter condition.
    async fn position(&self, now: i64) -> PortResult<Position> {
        let newest = self.newest_span().await?;
        if let Some(span) = newest.filter(|s| !s.expired(now)) {
            return Ok(Position::After(span));
        }
        let counter = self.counter_value().await?;
        let newest = self.newest_span().await?;
        match newest {
            Some(span) if !span.expired(now) => Ok(Position::After(span)),
            _ => {
                Ok(Position::Restart { counter, at: restart_at(counter), marker: newest.map(|s| s.last + 1) })
            }
        }
    }

    async fn newest_span(&self) -> PortResult<Option<Span>> {
        self.newest_item().await?.as_ref().map(Span::of).transpose()
    }

    /// The item with the highest numbers (consistent).
    async fn newest_item(&self) -> PortResult<Option<Item>> {
        let q = Query { forward: false, max: Some(1), ..Query::prefix(CHANGES, "0") };
        Ok(self.query(q).await?.into_iter().next())
    }

    /// The counter's move to `to`, a part of the batch's transaction, under the condition `was`.
    fn counter_to(&self, to: i64, was: CounterWas) -> PortResult<TransactWriteItem> {
        let mut expr = Expr::new();
        let seq = expr.name("seq");
        let update = format!("SET {seq} = {}", expr.value(n(to)));
        let condition = match was {
            CounterWas::Read(Some(read)) => format!("{seq} = {}", expr.value(n(read))),
            CounterWas::Read(None) => format!("attribute_not_exists({seq})"),
            CounterWas::Below => format!("attribute_not_exists({seq}) OR {seq} < {}", expr.value(n(to))),
        };
        self.update_item(counter(), update, Some(condition), expr)
    }

    /// The counter's value: every number ever given is below it plus [`BOUNDARY`].
    async fn counter_value(&self) -> PortResult<Option<i64>> {
        let Some(item) = self.get(counter()).await? else { return Ok(None) };
        number(&item, "seq").map(Some)
    }
}

fn entity_name(entity: ChangeEntity) -> &'static str {
    match entity {
        ChangeEntity::Conversation => "conversation",
        ChangeEntity::Message => "message",
        ChangeEntity::Note => "note",
    }
}

/// The entity a stored change's `kind` names.
fn entity_of(kind: Option<&str>, seq: i64) -> PortResult<ChangeEntity> {
    match kind {
        Some("conversation") => Ok(ChangeEntity::Conversation),
        Some("message") => Ok(ChangeEntity::Message),
        Some("note") => Ok(ChangeEntity::Note),
        other => Err(corrupt(format!("change {seq}: kind {other:?}"))),
    }
}

fn number(item: &Item, name: &str) -> PortResult<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(format!("change item: no number '{name}'")))
}

/// One change as an item of its own (how changes were stored before batch items).
fn change_of_item(item: &Item) -> PortResult<Change> {
    let seq = number(item, "seq")?;
    let entity = entity_of(get_s(item, "kind"), seq)?;
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
        // The newest item first: an item appended meanwhile is then either in the page or above the head.
        let head = match self.newest_span().await? {
            Some(span) if !span.expired(now_secs()) => span.last,
            // Nothing live: the next change is numbered where the feed starts again, so a client told to
            // reload to just below it follows on without a second reload.
            _ => {
                let head = restart_at(self.counter_value().await?) - 1;
                return Ok(ChangePage { changes: Vec::new(), oldest: head + 1, head });
            }
        };
        let mut oldest_query = Query::prefix(CHANGES, "0");
        oldest_query.max = Some(1);
        let oldest = match self.query(oldest_query).await?.first() {
            Some(item) => Span::of(item)?.first,
            None => head + 1,
        };
        if after >= head || limit == 0 {
            return Ok(ChangePage { changes: Vec::new(), oldest: oldest.min(head + 1), head });
        }
        // The page starts in the item holding `after + 1` (when that item is still kept).
        let holding = Query { forward: false, max: Some(1), ..Query::below(CHANGES, &seq_key(after + 2)) };
        let from = match self.query(holding).await?.first().map(Span::of).transpose()? {
            Some(span) if span.last > after => span.first,
            _ => after + 1,
        };
        let q = Query { max: Some(limit), ..Query::between(CHANGES, &seq_key(from), &seq_key(head)) };
        let mut changes = Vec::new();
        for item in self.query(q).await? {
            changes.extend(changes_of(&item)?.into_iter().filter(|c| c.seq > after && c.seq <= head));
        }
        changes.truncate(limit);
        // Numbers are given without holes: a hole is changes TTL removed (or a restart), which the client
        // missed, so it reloads (an empty page whose oldest is past the hole).
        if let Some(hole) = changes.iter().zip(after + 1..).find(|(c, expected)| c.seq != *expected) {
            let oldest = hole.0.seq;
            return Ok(ChangePage { changes: Vec::new(), oldest, head });
        }
        if changes.is_empty() {
            return Ok(ChangePage { changes, oldest: head + 1, head });
        }
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
    fn the_counter_moves_when_a_batch_passes_a_multiple_of_the_boundary() {
        assert!(!crosses_boundary(1, 3));
        assert!(crosses_boundary(1000, 1024), "ends on the multiple");
        assert!(crosses_boundary(1024, 1024), "is the multiple");
        assert!(!crosses_boundary(1025, 2047));
        assert!(crosses_boundary(2000, 2100));
        assert_eq!(restart_at(None), 1, "a new table starts at 1");
        assert_eq!(restart_at(Some(1120)), 2144);
    }

    #[test]
    fn an_item_expires_a_minute_early_and_a_marker_holds_no_number() {
        let batch = item_with(
            key(CHANGES, seq_key(5)),
            [
                ("first", n(5)),
                ("count", n(0)),
                ("changes", AttributeValue::B(Blob::new(pack(&[]).expect("packed")))),
                (crate::TTL_ATTRIBUTE, n(1000)),
            ],
        );
        let span = Span::of(&batch).expect("a span");
        assert_eq!((span.first, span.last), (5, 4));
        assert!(changes_of(&batch).expect("changes").is_empty());
        assert!(!span.expired(1000 - EXPIRY_MARGIN_SECS - 1));
        assert!(span.expired(1000 - EXPIRY_MARGIN_SECS));
    }

    #[test]
    fn a_batch_packs_to_a_fraction_of_its_json_and_reads_back() {
        // A batch as the load run's: texts and replies of a few conversations, their statuses moving.
        let stored: Vec<Stored> = (0..15)
            .map(|i| Stored {
                kind: if i % 3 == 0 { "conversation" } else { "message" }.to_string(),
                id: format!("msg_01JDX4KQ7Z8N3V5T2R{i:06}"),
                conversation_id: format!("conv_01JDX4KQ7Z8N3V5T2R{:06}", i % 4),
                data: if i % 3 == 0 {
                    json!({"state": "active", "queue_id": "q_support", "agent_id": "agent_ada",
                        "before": {"state": "open", "queue_id": "q_support", "agent_id": null}})
                } else {
                    json!({"status": "sent", "direction": "outbound", "author": "agent"})
                },
                at: 1_764_561_234_567 + i,
            })
            .collect();
        let json = serde_json::to_vec(&stored).expect("json");
        let packed = pack(&stored).expect("packed");
        assert!(packed.len() * 3 < json.len(), "{} bytes packed of {}", packed.len(), json.len());
        let item = item_with(
            key(CHANGES, seq_key(41)),
            [
                ("first", n(41)),
                ("count", n(15)),
                ("changes", AttributeValue::B(Blob::new(packed))),
                (crate::TTL_ATTRIBUTE, n(1000)),
            ],
        );
        let changes = changes_of(&item).expect("changes");
        assert_eq!(changes.iter().map(|c| c.seq).collect::<Vec<_>>(), (41..56).collect::<Vec<_>>());
        assert_eq!(changes[3].entity, ChangeEntity::Conversation);
        assert_eq!(changes[4].data["status"], "sent");
        assert_eq!(changes[4].conversation_id.as_str(), "conv_01JDX4KQ7Z8N3V5T2R000000");
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
