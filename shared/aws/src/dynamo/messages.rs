//! Messages. The message item (`MSG#<id>`) is the one that changes; the transcript is a list of small
//! entries in the conversation's partition, sorted by creation time, so that it reads back consistently;
//! a `PROVREF#<channel>#<provider id>` pointer finds an outbound message from a delivery receipt.
//!
//! Status moves are conditional on the stored `status_rank` (and on the status not being terminal), so a
//! late or duplicate receipt can never move a message back; a send is claimed with a condition on
//! `claim_until`, so only one sender holds a live claim.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use smsdesk_domain::*;
use smsdesk_ports::{Append, ConversationStore, MessageStore, OpenWith, PortResult, SendClaim, StatusUpdate};
use std::time::Duration;
use time::OffsetDateTime;

use super::conversations::{absent, order_key};
use super::{Cond, DynamoStore, Query, Tx, attempts, contention, keys, unix_seconds};
use crate::attr::{Expr, Item, from_item, get_s, n, record_item, rfc3339, s};

const ALL_STATUSES: [MessageStatus; 7] = [
    MessageStatus::Received,
    MessageStatus::Queued,
    MessageStatus::Unknown,
    MessageStatus::Sent,
    MessageStatus::Delivered,
    MessageStatus::Failed,
    MessageStatus::Undelivered,
];

fn message_item(m: &Message) -> PortResult<Item> {
    let mut item = record_item(m)?;
    item.extend(keys::message(&m.id));
    item.insert("entity".into(), s("message"));
    item.insert("status_rank".into(), n(m.status.rank()));
    Ok(item)
}

fn provider_ref_item(channel: &ChannelId, provider_message_id: &str, message: &MessageId) -> Item {
    keys::item_with(
        keys::provider_ref(channel, provider_message_id),
        [("target", s(message.as_str())), ("entity", s("provider_ref"))],
    )
}

/// Nanoseconds since the epoch, the unit of `claim_until`.
fn nanos(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos()
}

/// The SET clauses and condition of a forward status move from `current`.
fn status_move(current: &Message, update: &StatusUpdate) -> PortResult<(String, String, Expr, bool)> {
    let mut expr = Expr::new();
    let mut sets = vec![
        expr.eq("status", s(update.status.as_str())),
        expr.eq("status_rank", n(update.status.rank())),
        expr.eq("updated_at", s(rfc3339(update.at)?)),
    ];
    let sets_provider_id = current.provider_message_id.is_none() && update.provider_message_id.is_some();
    if let Some(pid) = update.provider_message_id.as_ref().filter(|_| sets_provider_id) {
        sets.push(expr.eq("provider_message_id", s(pid.as_str())));
    }
    match &update.error {
        Some(error) => sets.push(expr.eq("error", s(error.as_str()))),
        // As `record_item` writes a message without one.
        None if update.status.clears_error() => sets.push(expr.eq("error", AttributeValue::Null(true))),
        None => {}
    }
    let open: Vec<String> =
        ALL_STATUSES.iter().filter(|st| !st.is_terminal()).map(|st| expr.value(s(st.as_str()))).collect();
    let rank = expr.name("status_rank");
    let mut condition = format!(
        "{rank} < {} AND {} IN ({})",
        expr.value(n(update.status.rank())),
        expr.name("status"),
        open.join(", ")
    );
    if sets_provider_id {
        let pid = expr.name("provider_message_id");
        condition = format!(
            "{condition} AND (attribute_not_exists({pid}) OR attribute_type({pid}, {}))",
            expr.value(s("NULL"))
        );
    }
    Ok((format!("SET {}", sets.join(", ")), condition, expr, sets_provider_id))
}

impl DynamoStore {
    /// The `queued` entries of one partition older than `cutoff`, oldest first, up to `limit` messages still
    /// `queued`; entries of messages that moved on, and old orphans, are deleted on the way.
    async fn queued_in(
        &self,
        partition: &str,
        cutoff: OffsetDateTime,
        limit: usize,
    ) -> PortResult<Vec<Message>> {
        let mut out = Vec::new();
        let mut after = "MSG#".to_string();
        let bound = format!("MSG#{}", crate::attr::sortable(cutoff));
        while out.len() < limit {
            let page = Query { max: Some(100), ..Query::between(partition, &after, &bound) };
            let entries = self.query(page).await?;
            let Some(last) = entries.last().and_then(|e| get_s(e, "sk")) else { break };
            // The next page starts just after this one's last sort key.
            after = format!("{last}\u{0}");
            let listed: Vec<(String, MessageId, Option<u64>)> = entries
                .iter()
                .filter_map(|e| {
                    let written = e.get("written").and_then(|w| w.as_n().ok()).and_then(|w| w.parse().ok());
                    Some((get_s(e, "sk")?.to_string(), MessageId::new(get_s(e, "target")?), written))
                })
                .collect();
            let ids: Vec<MessageId> = listed.iter().map(|(_, id, _)| id.clone()).collect();
            let items = self.batch_get(ids.iter().map(keys::message).collect()).await?;
            let mut by_id = std::collections::HashMap::new();
            for item in &items {
                let m: Message = from_item(item)?;
                by_id.insert(m.id.clone(), m);
            }
            for (sk, id, written) in listed {
                match by_id.remove(&id) {
                    Some(m) if m.status != MessageStatus::Queued => {
                        self.delete(keys::key(partition, sk)).await?;
                    }
                    Some(m) if m.created_at < cutoff && out.len() < limit => out.push(m),
                    Some(_) => {}
                    // No message (yet): its insert writes the pointer first, so only an old orphan goes.
                    None if orphaned(written) => self.delete(keys::key(partition, sk)).await?,
                    None => {}
                }
            }
            if entries.len() < 100 {
                break;
            }
        }
        Ok(out)
    }

    /// The items that point at a message, written (together) before it: its transcript entry, the provider's
    /// reference of an outbound message that has one, and the `queued` entry of an outbound message still
    /// queued. `written` (wall clock, seconds) on the `queued` entry: the sweep leaves a pointer whose
    /// message it cannot find yet alone while the insert that wrote it may still be under way.
    async fn put_pointers(&self, m: &Message) -> PortResult<()> {
        let mut pointers = vec![keys::item_with(
            keys::transcript(&m.conversation_id, m.created_at, &m.id),
            [("target", s(m.id.as_str())), ("entity", s("transcript"))],
        )];
        if let (Direction::Outbound, Some(pid)) = (m.direction, &m.provider_message_id) {
            pointers.push(provider_ref_item(&m.channel_id, pid, &m.id));
        }
        if m.direction == Direction::Outbound && m.status == MessageStatus::Queued {
            pointers.push(keys::item_with(
                keys::queued(m.created_at, &m.id),
                [("target", s(m.id.as_str())), ("entity", s("queued")), ("written", n(unix_seconds()))],
            ));
        }
        futures_util::future::try_join_all(pointers.into_iter().map(|p| self.put(p, None))).await?;
        Ok(())
    }

    /// Deletes the transcript entry [`Self::put_pointers`] wrote for `m` (under `m.conversation_id`) when
    /// the message was not stored there. Left behind, it would name nothing (`list_messages` skips an entry
    /// whose message is in another conversation), so a failed delete is logged, not returned.
    async fn forget_transcript_entry(&self, m: &Message) {
        if let Err(e) = self.delete(keys::transcript(&m.conversation_id, m.created_at, &m.id)).await {
            tracing::warn!(message_id = %m.id, error = %e, "an unused transcript entry was left");
        }
    }

    /// A forward status move, deciding on `known` (a message the caller has just read) on the first try and
    /// on a fresh read after that; the update's condition is what keeps it correct either way.
    async fn advance(
        &self,
        id: &MessageId,
        mut known: Option<Message>,
        update: &StatusUpdate,
    ) -> PortResult<Option<Message>> {
        for _ in attempts() {
            let current = match known.take() {
                Some(m) => m,
                None => match self.get_message(id).await? {
                    Some(m) => m,
                    None => return Ok(None),
                },
            };
            if !current.status.can_advance_to(update.status) {
                return Ok(None);
            }
            let (set, condition, expr, sets_provider_id) = status_move(&current, update)?;
            let pointer = update
                .provider_message_id
                .as_ref()
                .filter(|_| sets_provider_id && current.direction == Direction::Outbound);
            // The provider reference first, then the message, each a plain write (issue 12.4: 1 WRU each
            // instead of 2 in a transaction): a message that names a provider id always has its pointer; a
            // pointer whose move then lost (another writer got there first) names a message that does not
            // carry that id, and `message_by_provider_id` skips it.
            if let Some(pid) = pointer {
                self.put(provider_ref_item(&current.channel_id, pid, id), None).await?;
            }
            if let Some(item) = self.update(keys::message(id), set, Some(condition), expr).await? {
                // Off `queued`: its entry is no longer the stranded-reply sweep's to read (deleted here, once
                // the move is stored, so the sweep never reads it again; should this delete fail, the sweep
                // deletes it as before).
                if current.status == MessageStatus::Queued
                    && update.status != MessageStatus::Queued
                    && let Err(e) = self.delete(keys::queued(current.created_at, id)).await
                {
                    tracing::warn!(message_id = %id, error = %e, "queued entry left for the sweep");
                }
                return from_item(&item).map(Some);
            }
            // Another writer moved it between our read and our write: decide again on what it is now.
        }
        Err(contention("advance_status"))
    }
}

#[async_trait]
impl MessageStore for DynamoStore {
    /// Plain writes, not a transaction (issue 12.4: a transaction bills 2 WRU per item, a Put 1): the
    /// pointers first (transcript entry, provider reference, `queued` entry), the message last, under its
    /// `attribute_not_exists` condition. So a message that exists always has its pointers, whatever stops
    /// between the writes; a pointer whose message never came is harmless (the transcript and the receipt
    /// lookup read through to the message and skip what is missing or not theirs, and the stranded-reply
    /// sweep deletes `queued` entries whose message moved on, or that have been without one for five minutes:
    /// never one whose insert may still be writing the message). A retried insert writes the same
    /// pointers again and returns false.
    async fn insert_message(&self, message: &Message) -> PortResult<bool> {
        let item = message_item(message)?;
        self.put_pointers(message).await?;
        self.put(item, Some(absent())).await
    }

    /// The conversation first, the message after, as plain writes (issue 12.4: a transaction bills 2 WRU per
    /// item, so the text's transaction of the conversation's move and the message cost ~6 WRU, these ~3):
    /// the conversation's `last_message_at` moves forward under the condition that it is open, and only
    /// then is the message stored (under its `attribute_not_exists` condition). So a text is stored only in
    /// a conversation that was open when its activity moved, and an idle close (conditional on that
    /// activity) can no longer take it. What a crash between the two leaves, the conversation moved without
    /// the message, the redelivered text completes: the conversation reads as already moved (the
    /// message's time is its `last_message_at`) and the message is stored, or, if it closed meanwhile, the
    /// text is filed into a new one. A text older than the conversation's activity (it moves nothing)
    /// keeps its transaction with the conversation's open check: nothing else would hold the close off.
    /// A text already stored is a duplicate before anything is written (one read).
    async fn append_message(&self, message: &Message) -> PortResult<Append> {
        let m = message;
        // A text stored already (filed before, perhaps in a conversation that has closed since) moves no
        // conversation: the one write that follows would not be undone with the message refused.
        if self.get(keys::message(&m.id)).await?.is_some() {
            return Ok(Append::Duplicate);
        }
        let mut pointed = false;
        for _ in attempts() {
            let conversation = self.get_conversation(&m.conversation_id).await?;
            let Some(c) = conversation.filter(|c| c.state != ConversationState::Closed) else {
                return Ok(Append::ConversationClosed);
            };
            // The pointers first, once, as plain Puts: a pointer whose message then went elsewhere (the
            // conversation closed: the router files it in a new one) is skipped by the readers, which read
            // through to the message and check it.
            if !pointed {
                self.put_pointers(m).await?;
                pointed = true;
            }
            let activity = order_key(m.created_at, &c.id);
            let mut expr = Expr::new();
            let open = format!(
                "attribute_exists({}) AND {} <> {}",
                expr.name("pk"),
                expr.name("state"),
                expr.value(s(ConversationState::Closed.as_str()))
            );
            if m.created_at >= c.last_message_at {
                if m.created_at > c.last_message_at {
                    let update = format!(
                        "SET {}, {}",
                        expr.eq("last_message_at", s(rfc3339(m.created_at)?)),
                        expr.eq("activity", s(activity.clone()))
                    );
                    let condition =
                        format!("{open} AND {} < {}", expr.name("activity"), expr.value(s(activity)));
                    let key = keys::conversation(&c.id);
                    if !self.update_if(key, update, condition, expr).await? {
                        // It closed, or another text moved it, between our read and our write: decide again.
                        continue;
                    }
                }
                // Moved by this text (now, or before a crash: the same `last_message_at`), while open.
                return Ok(if self.put(message_item(m)?, Some(absent())).await? {
                    Append::Appended
                } else {
                    Append::Duplicate
                });
            }
            let check = self.condition_check(keys::conversation(&c.id), Cond { expression: open, expr })?;
            let tx = vec![check, self.put_item(message_item(m)?, Some(absent()))?];
            match self.transact(tx).await? {
                Tx::Committed => return Ok(Append::Appended),
                outcome if outcome.failed_at(1) => return Ok(Append::Duplicate),
                // The conversation closed between our read and our write: decide again.
                Tx::Cancelled(_) => {}
            }
        }
        Err(contention("append_message"))
    }

    /// One transaction: the conversation's open pointer and item (as `create_conversation` writes them) and
    /// the message; the message's pointers before it, as plain Puts, as `append_message` writes them. Half
    /// the writes of a creation and an append: the conversation item and its index entries once.
    async fn open_with_message(
        &self,
        conversation: &Conversation,
        message: &Message,
    ) -> PortResult<OpenWith> {
        let c = Conversation { last_message_at: message.created_at, ..conversation.clone() };
        self.put_pointers(message).await?;
        for _ in attempts() {
            let mut tx = self.opening(&c)?;
            let message_at = tx.len();
            tx.push(self.put_item(message_item(message)?, Some(absent()))?);
            let outcome = self.transact(tx).await?;
            match outcome {
                Tx::Committed => return Ok(OpenWith::Opened),
                _ if outcome.failed_at(message_at) => {
                    // Stored already. Under another conversation (a replay), the entry written above is
                    // unused; under this one (an SDK retry of this transaction after it had committed),
                    // the entry is the message's own and stays.
                    let filed = self.get_message(&message.id).await?;
                    if filed.is_some_and(|m| m.conversation_id != c.id) {
                        self.forget_transcript_entry(message).await;
                    }
                    return Ok(OpenWith::Duplicate);
                }
                Tx::Cancelled(_) => {}
            }
            if let Some(open) = self.open_conversation(&c.channel_id, &c.channel_number, &c.customer).await? {
                // The message was not stored (its condition held), so the entry written above names
                // nothing; the caller files the text into `open`, which writes that one's entry.
                self.forget_transcript_entry(message).await;
                return Ok(OpenWith::Existing(Box::new(open)));
            }
            if self.get_conversation(&c.id).await?.is_some() {
                self.forget_transcript_entry(message).await;
                return Err(smsdesk_ports::PortError::Backend(format!("conversation id {} is taken", c.id)));
            }
            // The open one closed between our write and our read: try again.
        }
        Err(contention("open_with_message"))
    }

    async fn get_message(&self, id: &MessageId) -> PortResult<Option<Message>> {
        self.get(keys::message(id)).await?.map(|i| from_item(&i)).transpose()
    }

    async fn list_messages(&self, conversation: &ConversationId) -> PortResult<Vec<Message>> {
        let entries = self.query(Query::prefix(&format!("CONV#{conversation}"), "MSG#")).await?;
        let ids: Vec<MessageId> =
            entries.iter().filter_map(|e| get_s(e, "target")).map(MessageId::new).collect();
        let items = self.batch_get(ids.iter().map(keys::message).collect()).await?;
        let mut by_id = std::collections::HashMap::new();
        for item in &items {
            let m: Message = from_item(item)?;
            // An entry written before its message's filing went to another conversation is not this one's.
            if &m.conversation_id == conversation {
                by_id.insert(m.id.clone(), m);
            }
        }
        // Transcript order is the entries' (creation time, then id); each message once.
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    async fn message_by_provider_id(
        &self,
        channel: &ChannelId,
        provider_message_id: &str,
    ) -> PortResult<Option<Message>> {
        let key = keys::provider_ref(channel, provider_message_id);
        self.follow_pointer(key, |target| async move {
            let found = self.get_message(&MessageId::new(target)).await?;
            Ok(found.filter(|m| {
                m.direction == Direction::Outbound
                    && &m.channel_id == channel
                    && m.provider_message_id.as_deref() == Some(provider_message_id)
            }))
        })
        .await
    }

    async fn touch_message(&self, id: &MessageId, at: OffsetDateTime) -> PortResult<()> {
        let mut expr = Expr::new();
        let update = format!("SET {}", expr.eq("updated_at", s(rfc3339(at)?)));
        let condition = format!("attribute_exists({})", expr.name("pk"));
        self.update(keys::message(id), update, Some(condition), expr).await.map(|_| ())
    }

    async fn advance_status(&self, id: &MessageId, update: &StatusUpdate) -> PortResult<Option<Message>> {
        self.advance(id, None, update).await
    }

    async fn advance_status_from(
        &self,
        current: &Message,
        update: &StatusUpdate,
    ) -> PortResult<Option<Message>> {
        self.advance(&current.id, Some(current.clone()), update).await
    }

    /// Reads the `queued` entries of every shard, oldest first (each shard's up to `limit`, merged); entries
    /// of messages that moved on (their status move deletes its entry, should that delete have failed) are
    /// deleted here, so the lists stay as short as the replies in flight.
    async fn queued_before(&self, cutoff: OffsetDateTime, limit: usize) -> PortResult<Vec<Message>> {
        // The partitions at once, as `open_items` reads the open index's shards.
        let partitions: Vec<String> = keys::queued_partitions().collect();
        let reads = partitions.iter().map(|p| self.queued_in(p, cutoff, limit));
        let mut out: Vec<Message> =
            futures_util::future::try_join_all(reads).await?.into_iter().flatten().collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        out.truncate(limit);
        Ok(out)
    }

    async fn claim_send(&self, id: &MessageId, at: OffsetDateTime, lease: Duration) -> PortResult<SendClaim> {
        let lease_nanos = crate::attr::duration_nanos(lease);
        // This claim's own mark: should the write's answer be lost and the SDK's retry of it be refused (the
        // first try had claimed it), the read below knows the claim for this caller's, not another's.
        let token = uuid::Uuid::new_v4().simple().to_string();
        for _ in attempts() {
            let mut expr = Expr::new();
            let attempts_name = expr.name("attempts");
            let claim = expr.name("claim_until");
            let update = format!(
                "SET {claim} = {}, {} = {}, {attempts_name} = {attempts_name} + {}",
                expr.value(n(nanos(at).saturating_add(lease_nanos))),
                expr.name("claim_token"),
                expr.value(s(token.as_str())),
                expr.value(n(1))
            );
            // Only a message holding no claim: an expired one that was never released may have been sent.
            let condition = format!(
                "{} AND attribute_not_exists({claim})",
                expr.eq("status", s(MessageStatus::Queued.as_str()))
            );
            if let Some(item) = self.update(keys::message(id), update, Some(condition), expr).await? {
                return from_item(&item).map(SendClaim::Claimed);
            }
            let Some(item) = self.get(keys::message(id)).await? else { return Ok(SendClaim::NotQueued) };
            let message: Message = from_item(&item)?;
            if message.status != MessageStatus::Queued {
                return Ok(SendClaim::NotQueued);
            }
            if item.get("claim_token").and_then(|v| v.as_s().ok()) == Some(&token) {
                return Ok(SendClaim::Claimed(message));
            }
            let until =
                item.get("claim_until").and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i128>().ok());
            match until {
                Some(until) if until > nanos(at) => return Ok(SendClaim::Held),
                Some(_) => return Ok(SendClaim::Abandoned(message)),
                None => {} // released between our write and our read: try again
            }
        }
        Err(contention("claim_send"))
    }

    async fn release_send(&self, id: &MessageId, error: &str, at: OffsetDateTime) -> PortResult<()> {
        let mut expr = Expr::new();
        let update = format!(
            "SET {}, {} REMOVE {}, {}",
            expr.eq("error", s(error)),
            expr.eq("updated_at", s(rfc3339(at)?)),
            expr.name("claim_until"),
            expr.name("claim_token")
        );
        // Only a queued message has a claim to drop; a late release must not stamp an error on a sent one.
        let condition = format!(
            "attribute_exists({}) AND {}",
            expr.name("pk"),
            expr.eq("status", s(MessageStatus::Queued.as_str()))
        );
        self.update(keys::message(id), update, Some(condition), expr).await.map(|_| ())
    }
}

/// How long a `queued` pointer whose message is missing is given for its insert to finish.
const ORPHAN_GRACE_SECONDS: u64 = 300;

/// A pointer without its message that is past the grace (or from before pointers carried `written`).
fn orphaned(written: Option<u64>) -> bool {
    written.is_none_or(|at| unix_seconds().saturating_sub(at) > ORPHAN_GRACE_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(status: MessageStatus, pid: Option<&str>) -> Message {
        let at = time::macros::datetime!(2026-03-01 10:00 UTC);
        Message {
            id: MessageId::new("msg_1"),
            conversation_id: ConversationId::new("cv_1"),
            channel_id: ChannelId::new("ch_1"),
            direction: Direction::Outbound,
            author: Author::Agent,
            agent_id: None,
            text: "hi".into(),
            status,
            encoding: Encoding::Gsm7,
            segments: 1,
            provider_message_id: pid.map(str::to_string),
            error: None,
            attempts: 0,
            automated: None,
            over_limit: false,
            internal: false,
            media: Vec::new(),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_move_sets_the_provider_id_only_once() {
        let at = time::macros::datetime!(2026-03-01 10:01 UTC);
        let update = StatusUpdate {
            status: MessageStatus::Sent,
            provider_message_id: Some("r".into()),
            error: None,
            at,
        };
        let (set, condition, _, sets) = status_move(&message(MessageStatus::Queued, None), &update).unwrap();
        assert!(sets && set.contains("#provider_message_id") && condition.contains("attribute_type"));
        let (set, _, _, sets) = status_move(&message(MessageStatus::Queued, Some("old")), &update).unwrap();
        assert!(!sets && !set.contains("#provider_message_id"));
    }

    #[test]
    fn the_condition_lists_only_open_statuses() {
        let at = time::macros::datetime!(2026-03-01 10:01 UTC);
        let update =
            StatusUpdate { status: MessageStatus::Delivered, provider_message_id: None, error: None, at };
        let (_, condition, expr, _) = status_move(&message(MessageStatus::Sent, None), &update).unwrap();
        let values = expr.values().unwrap();
        let listed = &condition[condition.find("IN (").unwrap() + 4..condition.find(')').unwrap()];
        let listed: Vec<&str> = listed.split(", ").map(|p| values[p].as_s().unwrap().as_str()).collect();
        assert_eq!(listed, vec!["queued", "unknown", "sent"], "only open statuses may move");
        assert!(condition.starts_with("#status_rank <"));
    }
}
