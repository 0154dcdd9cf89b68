//! Key layout of the table (`pk`, `sk`, both strings). `infra/TABLES.md` lists the same shapes; keep both
//! in step.

use aws_sdk_dynamodb::types::AttributeValue;
use smsdesk_domain::*;

use crate::attr::{Item, s, sortable};
use time::OffsetDateTime;

/// Global secondary index of waiting conversations: `wait_queue` (queue id) / `wait_order`.
pub(crate) const WAITING_INDEX: &str = "waiting";
/// Global secondary index of open conversations: `open_flag` ([`open_flag`]: `OPEN#<shard>`) / `pk`. Its
/// sort key never changes while a conversation is open (issue 12.4): a text or a reply (which move the
/// item's `activity`) rewrites the index entry in place (1 write) instead of moving it (a delete and a
/// put). Listings order by the `activity` attribute the entries carry. (It replaced the index `open`,
/// sorted by `activity`: infra/TABLES.md says how a deployed table moves over.)
pub(crate) const OPEN_INDEX: &str = "open_by_id";
pub(crate) const OPEN_FLAG: &str = "OPEN";

/// Write sharding (issue 12.8). Every assignment, close and presence change writes an agent item, and every
/// conversation creation, close and touch writes the open conversations' index: with one partition key value
/// each, both were held to one partition's ~1,000 writes/s. Each item now goes to one of N partition key values by a
/// stable hash of its id ([`shard`]), so writes spread over N partitions; a listing reads all N and merges
/// (scatter-gather). Which shard an item is in never changes, so every conditional write and transaction
/// names the same key as before and stays exactly as correct.
pub(crate) const AGENT_SHARDS: u32 = 4;
/// Shards of the `open_by_id` index.
pub(crate) const OPEN_SHARDS: u32 = 8;
/// Shards of the `queued` entries (a put when a reply is accepted, a delete when it leaves `queued`).
pub(crate) const QUEUED_SHARDS: u32 = 8;

/// The shard of `id` among `shards`: FNV-1a of its bytes, the same in every process and every release.
pub(crate) fn shard(id: &str, shards: u32) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in id.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % shards.max(1)
}

/// The partition of the agents of one shard: `AGENTS#<shard>`.
pub(crate) fn agents_partition(shard: u32) -> String {
    format!("{AGENTS}#{shard}")
}

/// Every agents partition (a listing reads them all).
pub(crate) fn agents_partitions() -> impl Iterator<Item = String> {
    (0..AGENT_SHARDS).map(agents_partition)
}

/// The `open_by_id` index's partition key of an open conversation: `OPEN#<shard>`.
pub(crate) fn open_flag(id: &ConversationId) -> String {
    format!("{OPEN_FLAG}#{}", shard(id.as_str(), OPEN_SHARDS))
}

/// Every partition key value of the `open_by_id` index.
pub(crate) fn open_flags() -> impl Iterator<Item = String> {
    (0..OPEN_SHARDS).map(|k| format!("{OPEN_FLAG}#{k}"))
}

/// Partitions that hold a whole (small) collection, so it can be listed with one consistent query.
pub(crate) const CHANNELS: &str = "CHANNELS";
pub(crate) const QUEUES: &str = "QUEUES";
pub(crate) const AGENTS: &str = "AGENTS";
pub(crate) const MENUS: &str = "MENUS";
pub(crate) const QUICK_REPLIES: &str = "QUICK_REPLIES";
pub(crate) const OUTBOX: &str = "OUTBOX";
/// Outbound messages still `queued`, by creation time (the timers' sweep of stranded replies).
pub(crate) const QUEUED: &str = "QUEUED";

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    Item::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// `key` plus further attributes: a whole pointer or marker item.
pub(crate) fn item_with(key: Item, attrs: impl IntoIterator<Item = (&'static str, AttributeValue)>) -> Item {
    let mut item = key;
    item.extend(attrs.into_iter().map(|(k, v)| (k.to_string(), v)));
    item
}

pub(crate) fn channel(id: &ChannelId) -> Item {
    key(CHANNELS, format!("CHANNEL#{id}"))
}

pub(crate) fn queue(id: &QueueId) -> Item {
    key(QUEUES, format!("QUEUE#{id}"))
}

pub(crate) fn menu(id: &MenuId) -> Item {
    key(MENUS, format!("MENU#{id}"))
}

pub(crate) fn quick_reply(id: &QuickReplyId) -> Item {
    key(QUICK_REPLIES, format!("QR#{id}"))
}

/// Pointer from a quick reply's scope (queue or `*`, language, shortcut) to the one quick reply holding it.
pub(crate) fn quick_reply_scope(scope: &str) -> Item {
    key(format!("QRSCOPE#{scope}"), "QRSCOPE")
}

/// A customer's language, picked by keyword or set by an admin.
pub(crate) fn customer_language(customer: &Phone) -> Item {
    key(format!("CUSTOMER#{}", customer.e164()), "LANGUAGE")
}

pub(crate) fn agent(id: &AgentId) -> Item {
    key(agents_partition(shard(id.as_str(), AGENT_SHARDS)), format!("AGENT#{id}"))
}

/// Pointer from an API token's SHA-256 to its agent.
pub(crate) fn token(sha256: &str) -> Item {
    key(format!("TOKEN#{sha256}"), "TOKEN")
}

/// Pointer from an identity provider user id (a JWT's `sub`) to its agent; one agent per subject.
pub(crate) fn subject(sub: &str) -> Item {
    key(format!("SUBJECT#{sub}"), "SUBJECT")
}

pub(crate) fn conversation(id: &ConversationId) -> Item {
    key(format!("CONV#{id}"), "CONV")
}

/// The one open conversation of a customer on one of our numbers; exists only while it is open.
pub(crate) fn open_pointer(channel: &ChannelId, number: &Phone, customer: &Phone) -> Item {
    key(format!("OPEN#{channel}#{}#{}", number.e164(), customer.e164()), "OPEN")
}

/// Membership of a conversation in an agent's work: exists while the agent holds one `active` for it.
pub(crate) fn work(agent: &AgentId, conversation: &ConversationId) -> Item {
    key(work_partition(agent), format!("CONV#{conversation}"))
}

/// Teams (issue 11.3): spread over [`TEAM_SHARDS`] partitions by a hash of their id, as agents are: every
/// assignment and release of a member writes its team's item in the same transaction as the agent's.
pub(crate) const TEAM_SHARDS: u32 = 4;
pub(crate) const TEAMS: &str = "TEAMS";

pub(crate) fn team(id: &TeamId) -> Item {
    key(format!("{TEAMS}#{}", shard(id.as_str(), TEAM_SHARDS)), format!("TEAM#{id}"))
}

/// Every teams partition (a listing reads them all).
pub(crate) fn teams_partitions() -> impl Iterator<Item = String> {
    (0..TEAM_SHARDS).map(|k| format!("{TEAMS}#{k}"))
}

pub(crate) fn work_partition(agent: &AgentId) -> String {
    format!("WORK#{agent}")
}

pub(crate) fn message(id: &MessageId) -> Item {
    key(format!("MSG#{id}"), "MSG")
}

/// A transcript entry: in the conversation's partition, sorted by creation time.
pub(crate) fn transcript(conversation: &ConversationId, created_at: OffsetDateTime, id: &MessageId) -> Item {
    key(format!("CONV#{conversation}"), format!("MSG#{}#{id}", sortable(created_at)))
}

/// A `queued` outbound message listed in its shard of [`QUEUED`] (`QUEUED#<shard of its id>`), sorted by
/// creation time.
pub(crate) fn queued(created_at: OffsetDateTime, id: &MessageId) -> Item {
    key(
        format!("{QUEUED}#{}", shard(id.as_str(), QUEUED_SHARDS)),
        format!("MSG#{}#{id}", sortable(created_at)),
    )
}

/// Every partition of `queued` entries the stranded-reply sweep reads: the shards, and `QUEUED` itself,
/// where a table written before the sharding may still hold entries (the sweep deletes them as their
/// messages move on).
pub(crate) fn queued_partitions() -> impl Iterator<Item = String> {
    (0..QUEUED_SHARDS).map(|k| format!("{QUEUED}#{k}")).chain(std::iter::once(QUEUED.to_string()))
}

/// Pointer from the provider's id of an outbound message to the message.
pub(crate) fn provider_ref(channel: &ChannelId, provider_message_id: &str) -> Item {
    key(format!("PROVREF#{channel}#{provider_message_id}"), "PROVREF")
}

pub(crate) fn contact(id: &ContactId) -> Item {
    key(format!("CONTACT#{id}"), "CONTACT")
}

pub(crate) fn timeline(contact: &ContactId, event_id: &str) -> Item {
    key(format!("CONTACT#{contact}"), format!("TL#{event_id}"))
}

pub(crate) fn phone_partition(phone: &Phone) -> String {
    format!("PHONE#{}", phone.e164())
}

/// Exists once any contact has had this phone: what `create_contact_if_none` conditions on.
pub(crate) fn phone_claim(phone: &Phone) -> Item {
    key(phone_partition(phone), "CLAIM")
}

/// A contact listed under its phone.
pub(crate) fn phone_contact(phone: &Phone, contact: &ContactId) -> Item {
    key(phone_partition(phone), format!("CONTACT#{contact}"))
}

/// A customer's consent log: one partition per customer, one item per change id.
pub(crate) fn consent_partition(customer: &Phone) -> String {
    format!("CONSENTLOG#{}", customer.e164())
}

pub(crate) fn consent_change(customer: &Phone, id: &str) -> Item {
    key(consent_partition(customer), format!("CHANGE#{id}"))
}

/// The partition of a multipart text's group (its `GROUP` item and its `PART#...` items).
pub(crate) fn parts_partition(group: &str) -> String {
    format!("PARTS#{group}")
}

/// A multipart text's group item.
pub(crate) fn part_group(group: &str) -> Item {
    key(parts_partition(group), "GROUP")
}

/// Groups of parts not filed yet, by when they opened (the timers' sweep of texts that timed out).
pub(crate) const OPEN_PARTS: &str = "PARTSOPEN";

pub(crate) fn open_parts(opened: OffsetDateTime, group: &str) -> Item {
    key(OPEN_PARTS, format!("{}#{group}", sortable(opened)))
}

/// The partition of a queue's answer counts per UTC day (its service level, issue 11.1).
pub(crate) fn answers_partition(queue: &QueueId) -> String {
    format!("ANSWERS#{queue}")
}

/// A queue's answer counts on one UTC day (`YYYY-MM-DD`, so that key order is day order).
pub(crate) fn answers(queue: &QueueId, day: time::Date) -> Item {
    key(answers_partition(queue), format!("DAY#{day}"))
}

/// A number's send schedule (issue 9.10).
/// The claim of one of our numbers by the channel that has it (one channel per number).
pub(crate) fn number_claim(number: &Phone) -> Item {
    key(format!("NUMBER#{}", number.digits()), "CLAIM")
}

pub(crate) fn send_rate(number: &Phone) -> Item {
    key(format!("RATE#{}", number.digits()), "RATE")
}

pub(crate) fn dedupe(dedupe_key: &str) -> Item {
    key(format!("DEDUPE#{dedupe_key}"), "DEDUPE")
}

/// An API request's `Idempotency-Key` (scoped to its caller) and what it created.
pub(crate) fn idempotency(scoped_key: &str) -> Item {
    key(format!("IDEM#{scoped_key}"), "IDEM")
}

pub(crate) fn outbox(at: OffsetDateTime, id: &str) -> Item {
    key(OUTBOX, format!("ENTRY#{}#{id}", sortable(at)))
}
