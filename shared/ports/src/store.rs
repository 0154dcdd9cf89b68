//! The store: one trait per capability. AWS: DynamoDB; embedded: SQLite.

use async_trait::async_trait;
use smsdesk_domain::offer::Refusal;
use smsdesk_domain::*;
use std::time::Duration;
use time::OffsetDateTime;

use crate::{PortError, PortResult};

/// Outcome of storing a channel: a number is on one channel at a time.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelWrite {
    Stored,
    /// `number`, one of the channel's, is claimed by `channel`, another one; nothing was written.
    NumberTaken {
        number: Phone,
        channel: ChannelId,
    },
}

#[async_trait]
pub trait ChannelStore: Send + Sync {
    /// Stores or replaces `channel`, claiming each of its numbers for it in the same atomic write: when
    /// another channel holds the claim of one of them, nothing is written ([`ChannelWrite::NumberTaken`]),
    /// so that of concurrent writes listing one number on different channels exactly one is stored. The
    /// claims of numbers the stored channel had and `channel` no longer lists are released in that write
    /// (another channel may then take them). Writing a channel again with its numbers unchanged is never
    /// refused.
    async fn put_channel(&self, channel: &Channel) -> PortResult<ChannelWrite>;
    async fn get_channel(&self, id: &ChannelId) -> PortResult<Option<Channel>>;
    /// The channel as the message paths read its settings (webhook checks, sends, automated texts): the same
    /// as [`ChannelStore::get_channel`], except that a change may show a few seconds late (half the read
    /// cost in AWS: an eventually consistent read). A channel that exists is never missed (an absent answer
    /// is read again, consistently). Never for what the API answers after a write, nor for any decision
    /// that must see the latest write.
    async fn channel_settings(&self, id: &ChannelId) -> PortResult<Option<Channel>> {
        self.get_channel(id).await
    }
    async fn list_channels(&self) -> PortResult<Vec<Channel>>;
}

#[async_trait]
pub trait WorkQueueStore: Send + Sync {
    async fn put_queue(&self, queue: &WorkQueue) -> PortResult<()>;
    async fn get_queue(&self, id: &QueueId) -> PortResult<Option<WorkQueue>>;
    /// The queue as the message paths read its settings (service level, automated texts), as
    /// [`ChannelStore::channel_settings`] reads a channel: a change may show a few seconds late, an existing
    /// queue is never missed.
    async fn queue_settings(&self, id: &QueueId) -> PortResult<Option<WorkQueue>> {
        self.get_queue(id).await
    }
    async fn list_queues(&self) -> PortResult<Vec<WorkQueue>>;
    /// Removes the queue; false when there was none. What still uses it is the caller's to check first.
    async fn delete_queue(&self, id: &QueueId) -> PortResult<bool>;
    /// Counts one conversation answered out of `queue` on UTC `day` (atomically: concurrent answers all
    /// count), and whether it was within the queue's service-level target (issue 11.1).
    async fn record_answer(&self, queue: &QueueId, day: time::Date, within_target: bool) -> PortResult<()>;
    /// The answer counts of `queue` for each day from `first` to `last` (inclusive) that has any, oldest
    /// first.
    async fn answer_counts(
        &self,
        queue: &QueueId,
        first: time::Date,
        last: time::Date,
    ) -> PortResult<Vec<(time::Date, smsdesk_domain::service_level::DayCounts)>>;
}

/// Keyword menus (`smsdesk_domain::menu`).
#[async_trait]
pub trait MenuStore: Send + Sync {
    /// Stores or replaces.
    async fn put_menu(&self, menu: &Menu) -> PortResult<()>;
    async fn get_menu(&self, id: &MenuId) -> PortResult<Option<Menu>>;
    async fn list_menus(&self) -> PortResult<Vec<Menu>>;
    /// Removes the menu; false when there was none.
    async fn delete_menu(&self, id: &MenuId) -> PortResult<bool>;
}

/// Outcome of storing an agent: its `subject` (identity provider user id) is unique among agents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentWrite {
    Stored,
    /// Another agent has this agent's subject; nothing was written.
    SubjectTaken,
}

/// What an admin may change on an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentSettings {
    pub name: String,
    pub queues: Vec<QueueId>,
    pub capacity: u32,
}

#[async_trait]
pub trait AgentStore: Send + Sync {
    /// Stores an agent with the SHA-256 hex of its API token (the token itself is never stored), unless
    /// another agent already has its `subject`.
    async fn put_agent(&self, agent: &Agent, token_sha256: &str) -> PortResult<AgentWrite>;
    async fn get_agent(&self, id: &AgentId) -> PortResult<Option<Agent>>;
    async fn agent_by_token(&self, token_sha256: &str) -> PortResult<Option<Agent>>;
    /// The agent whose `subject` is this identity provider user id (a JWT's `sub`), if any.
    async fn agent_by_subject(&self, subject: &str) -> PortResult<Option<Agent>>;
    /// Sets the agent's presence; when it differs from the one it had, `presence_changed_at` becomes `at`
    /// (setting the same presence again keeps the time it last changed). Returns the updated agent, or None
    /// when there is no such agent.
    async fn set_presence(
        &self,
        id: &AgentId,
        presence: Presence,
        at: OffsetDateTime,
    ) -> PortResult<Option<Agent>>;
    /// Atomically changes the agent's settings (`PATCH /v1/agents/{id}`): its name, the queues it serves and
    /// its capacity; its presence, counts and token stay as they are. Returns the updated agent, or None when
    /// there is no such agent. A capacity below the agent's `active` count takes nothing away: the agent
    /// just gets nothing new until it is below.
    async fn update_agent(&self, id: &AgentId, settings: &AgentSettings) -> PortResult<Option<Agent>>;
    /// Every agent that serves `queue`, with its current `active` count.
    async fn agents_for_queue(&self, queue: &QueueId) -> PortResult<Vec<Agent>>;
    async fn list_agents(&self) -> PortResult<Vec<Agent>>;
}

/// Outcome of creating a conversation when only one may be open per (channel, our number, customer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenOutcome {
    Created(Conversation),
    /// Another writer opened one first; this is it.
    Existing(Conversation),
}

impl OpenOutcome {
    pub fn conversation(&self) -> &Conversation {
        match self {
            OpenOutcome::Created(c) | OpenOutcome::Existing(c) => c,
        }
    }
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// The customer's conversation on `number` of `channel` that is not closed, if any.
    async fn open_conversation(
        &self,
        channel: &ChannelId,
        number: &Phone,
        customer: &Phone,
    ) -> PortResult<Option<Conversation>>;
    /// Stores `conversation` (state `waiting`) unless one is already open for its channel, number and
    /// customer; atomically.
    async fn create_conversation(&self, conversation: &Conversation) -> PortResult<OpenOutcome>;
    async fn get_conversation(&self, id: &ConversationId) -> PortResult<Option<Conversation>>;
    /// The agent's conversations that are not closed, most recent activity first.
    async fn work_items(&self, agent: &AgentId) -> PortResult<Vec<Conversation>>;
    /// Every conversation that is not closed (supervisors, admins), most recent activity first.
    async fn open_conversations(&self) -> PortResult<Vec<Conversation>>;
    /// Conversations waiting in `queue`, oldest `queued_at` first.
    async fn waiting_in_queue(&self, queue: &QueueId, limit: usize) -> PortResult<Vec<Conversation>>;
    /// Atomically: if the conversation is `waiting` and the agent is `available` with `active < capacity`
    /// (and, when it is in a team, the team's `active < capacity`), the conversation becomes `assigned` to it
    /// and the agent's `active` grows by one, its team's too (and its `last_assigned_at` becomes `at`). Returns the updated conversation, or None when any condition failed.
    async fn assign(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically, as [`ConversationStore::assign`] but the conversation becomes `offered` to the agent with
    /// `offer` (issue 11.4): the offer takes one of the agent's slots (`active` grows by one, and
    /// `last_assigned_at` becomes `offer.offered_at`). Returns the offered conversation, or None when any
    /// condition failed.
    async fn offer(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        offer: &Offer,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically: if the conversation is `offered` to `agent`, it becomes `active` with it (the slot taken by
    /// the offer stays), its offer is dropped, `state_changed_at` becomes `at`, and the agent's
    /// `missed_offers` goes back to 0. Returns the active conversation, or None when it is not offered to
    /// this agent (expired and offered elsewhere, declined, closed, gone).
    async fn accept_offer(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically: if the conversation is `offered` to `agent`, it goes back to `open` in its queue (keeping
    /// its `queued_at`, so its place in line) with no agent and no offer, and the agent gets the slot back.
    /// As `how` says: `Missed` (the offer expired) puts `agent` in its `refused_by` and grows the agent's
    /// `missed_offers` by one; `Declined` puts `agent` in its `refused_by` and `declined_by`, and its
    /// `declined_at` becomes `at`; `Withdrawn` (the agent stopped taking work) records no refusal. Returns
    /// the conversation as it now is, or None when it is not offered to this agent, or when `how` is
    /// `Missed` and the offer has not run out at `at` (it is a newer offer than the one that expired:
    /// [`smsdesk_domain::offer::may_end`]).
    async fn refuse_offer(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        how: Refusal,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically: if the conversation is not closed it becomes `closed` (with `closed_at` and the reason),
    /// and its agent, if any, gets one `active` back. Returns the closed conversation, or None when it was
    /// already closed or does not exist.
    async fn close(
        &self,
        conversation: &ConversationId,
        at: OffsetDateTime,
        reason: &str,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically: if the conversation is still in the state and with the agent `as_read` (the caller's
    /// read: a conversation that moved on meanwhile, taken by another agent, transferred, closed, is never
    /// pulled back), its agent (if any) gets one `active` back and it goes back to `waiting` in `queue` with
    /// `queued_at = at`. Returns the updated conversation, or None when it was not as read (or closed).
    async fn requeue(
        &self,
        conversation: &ConversationId,
        queue: &QueueId,
        as_read: (ConversationState, Option<&AgentId>),
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>>;
    /// Offline hand-back (issue 10.2): as [`ConversationStore::requeue`] into the conversation's own queue,
    /// and only while it is still held by `agent` in a state that is handed back (`offered`, `active`,
    /// `waiting`; `smsdesk_domain::handback::handed_back_in`), checked atomically with the move: a
    /// conversation is handed back once, and never after it moved on (closed, wrap-up, transferred, taken
    /// by another agent). The agent gets its slot back exactly once. Returns the conversation now `open`,
    /// or None when any condition failed.
    async fn hand_back(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>>;
    /// A supervisor's move of a waiting conversation to another queue: atomically, only while it is `open`
    /// in `from` with no agent (nobody holds or is offered it) and no transfer under way, it waits in `to`
    /// from `at` (`queued_at`, its place in the queue), with the old queue's declines and refusals
    /// forgotten. No agent's slot changes. Returns the moved conversation, or None when any condition failed.
    async fn move_waiting(
        &self,
        conversation: &ConversationId,
        from: &QueueId,
        to: &QueueId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically: if the conversation is `routing` and its routing's `since` is `expected`, its routing
    /// becomes `routing`. Returns the updated conversation, or None when any condition failed (another
    /// writer moved it first: read it again).
    async fn set_routing(
        &self,
        conversation: &ConversationId,
        expected: OffsetDateTime,
        routing: &Routing,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically: if the conversation is `routing` and its routing's `since` is `expected`, it becomes
    /// `open` in `queue` with `queued_at = at` (its routing is kept, with `context` when given). Returns the
    /// updated conversation, or None when any condition failed.
    async fn leave_routing(
        &self,
        conversation: &ConversationId,
        expected: OffsetDateTime,
        queue: &QueueId,
        context: Option<&str>,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically: if the conversation is in `from`, it moves to `to` and `state_changed_at` becomes `at`.
    /// Both states hold an agent ([`ConversationState::holds_agent`]: `active`, `waiting`, `wrap_up`), so the
    /// agent and its slot stay as they are; any other pair is a `PortError::Backend`. Returns the updated
    /// conversation, or None when it is not in `from` (or is gone).
    async fn transition(
        &self,
        conversation: &ConversationId,
        from: ConversationState,
        to: ConversationState,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically: if the conversation is in `wrap_up`, keeps `wrap_up` on it. Returns the updated
    /// conversation, or None when it is not in `wrap_up` (or is gone).
    async fn record_wrap_up(
        &self,
        conversation: &ConversationId,
        wrap_up: &WrapUp,
    ) -> PortResult<Option<Conversation>>;
    /// As [`ConversationStore::close`], only while the conversation is in `state` (checked atomically with
    /// the close): the wrap-up limit closes only what is still in wrap-up.
    async fn close_in_state(
        &self,
        conversation: &ConversationId,
        state: ConversationState,
        at: OffsetDateTime,
        reason: &str,
    ) -> PortResult<Option<Conversation>>;
    /// Moves `last_message_at` forward (never back).
    async fn touch(&self, conversation: &ConversationId, at: OffsetDateTime) -> PortResult<()>;
    /// An agent's reply: as [`ConversationStore::touch`], and marks the conversation answered by an agent,
    /// in the same write. Returns true for exactly one call per conversation (the first agent reply), false
    /// for every later one and for a conversation that is gone. The first reply is known without reading the
    /// transcript (the time-to-first-reply metric).
    async fn touch_agent_reply(&self, conversation: &ConversationId, at: OffsetDateTime) -> PortResult<bool>;
    async fn set_contact_link(&self, conversation: &ConversationId, link: &ContactLink) -> PortResult<()>;
    /// As [`ConversationStore::close`], and only if the conversation's last message is still older than
    /// `cutoff` (no activity since the cut-off): atomically, so a text filed meanwhile keeps it open. Returns
    /// the closed conversation, or None when it was closed already, is gone, or saw activity.
    async fn close_idle(
        &self,
        conversation: &ConversationId,
        cutoff: OffsetDateTime,
        at: OffsetDateTime,
        reason: &str,
    ) -> PortResult<Option<Conversation>>;
    /// A number moved to channel `to` (issue 9.9): atomically, if the conversation is not closed, it goes on
    /// on `to` (its `channel_id` and its place as the customer's one open conversation on that number), so
    /// the customer's next text through `to` lands in it and replies go out through `to`. Returns the moved
    /// conversation (unchanged when it is on `to` already), or None when it is closed or gone, or the customer
    /// already has another open conversation on that number of `to`.
    async fn move_conversation(
        &self,
        conversation: &ConversationId,
        to: &ChannelId,
    ) -> PortResult<Option<Conversation>>;
}

/// Outcome of [`MessageStore::append_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Append {
    /// Stored, and the conversation's `last_message_at` moved to the message's `created_at`.
    Appended,
    /// A message with this id exists already; nothing changed.
    Duplicate,
    /// The conversation is closed (or gone): nothing was stored. File the message into an open one.
    ConversationClosed,
}

/// Outcome of [`MessageStore::open_with_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenWith {
    /// The conversation and its first message were stored, together.
    Opened,
    /// A conversation is open already for the channel, number and customer: nothing was stored. This is
    /// it; file the message into it.
    Existing(Box<Conversation>),
    /// A message with this id exists already: nothing was stored.
    Duplicate,
}

/// Outcome of [`MessageStore::claim_send`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendClaim {
    /// The caller holds the claim and may call the provider once; the message carries its new attempt count.
    Claimed(Message),
    /// Another sender holds a live claim.
    Held,
    /// An earlier claim was neither released nor settled before its lease ran out: that sender may have
    /// reached the provider (then crashed, or could not record the answer). The message is unchanged and
    /// must not be sent again blindly.
    Abandoned(Message),
    /// No such message, not outbound, or not `queued` (sent, failed, unknown, ...).
    NotQueued,
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores the message unless one with its id exists. Returns whether it was stored.
    async fn insert_message(&self, message: &Message) -> PortResult<bool>;
    /// If the message's conversation exists and is not closed and no message has its id, stores the message
    /// and moves the conversation's `last_message_at` forward to the message's `created_at`. A text is never
    /// filed into a conversation that was closed when it was filed: either both happen in one write, or the
    /// conversation is moved first, under the condition that it is open, and the message stored after
    /// (then an idle close, conditional on that activity, can no longer take the conversation; a crash
    /// between leaves only the move, and the text's redelivery stores the message, or files it anew if the
    /// conversation closed meanwhile).
    async fn append_message(&self, message: &Message) -> PortResult<Append>;
    /// Atomically: unless a conversation is open already for `conversation`'s channel, number and customer,
    /// or a message has `message`'s id, stores the new conversation (its `last_message_at` is the message's
    /// `created_at`) and its first message, in one write. A customer's first text opens its conversation.
    async fn open_with_message(&self, conversation: &Conversation, message: &Message)
    -> PortResult<OpenWith>;
    async fn get_message(&self, id: &MessageId) -> PortResult<Option<Message>>;
    /// The transcript, oldest first.
    async fn list_messages(&self, conversation: &ConversationId) -> PortResult<Vec<Message>>;
    /// The outbound message the provider knows by `provider_message_id` on `channel`.
    async fn message_by_provider_id(
        &self,
        channel: &ChannelId,
        provider_message_id: &str,
    ) -> PortResult<Option<Message>>;
    /// Marks the message changed at `at` (its `updated_at`; nothing else moves), so the change feed carries
    /// it again: what is shown with it changed outside its item (an inbound MMS's media, kept after the
    /// text was filed). Nothing when there is no such message.
    async fn touch_message(&self, id: &MessageId, at: OffsetDateTime) -> PortResult<()>;
    /// Atomically moves the message's status forward ([`MessageStatus::can_advance_to`]), setting the
    /// provider id (when given and not yet set) and the error (when given). Returns the updated message,
    /// or None when the move was not forward (nothing changed).
    async fn advance_status(&self, id: &MessageId, update: &StatusUpdate) -> PortResult<Option<Message>>;
    /// As [`MessageStore::advance_status`], for a caller that has just read the message (`current`): an
    /// adapter may decide on it instead of reading the message again (issue 12.4: one read less per
    /// delivery receipt and per send). The move's conditions are still checked against what is stored, so
    /// a stale `current` costs a read again and never moves a status backward.
    async fn advance_status_from(
        &self,
        current: &Message,
        update: &StatusUpdate,
    ) -> PortResult<Option<Message>> {
        self.advance_status(&current.id, update).await
    }
    /// Claims the right to call the provider for a `queued` message: succeeds only when it holds no claim
    /// (never claimed, or released by [`MessageStore::release_send`]); counts the attempt. A claim younger
    /// than `lease` is [`SendClaim::Held`]; an older one that was never released is
    /// [`SendClaim::Abandoned`] and is not taken over (its send may have reached the provider).
    async fn claim_send(&self, id: &MessageId, at: OffsetDateTime, lease: Duration) -> PortResult<SendClaim>;
    /// Drops a claim after a failure that certainly sent nothing, keeping the error for the transcript.
    async fn release_send(&self, id: &MessageId, error: &str, at: OffsetDateTime) -> PortResult<()>;
    /// Outbound messages still `queued` that were created before `cutoff`, oldest first, at most `limit`
    /// (the timers' sweep of replies stranded on the way to the provider).
    async fn queued_before(&self, cutoff: OffsetDateTime, limit: usize) -> PortResult<Vec<Message>>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusUpdate {
    pub status: MessageStatus,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    pub at: OffsetDateTime,
}

/// Outcome of creating a contact for a phone when none may exist yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactCreate {
    Created(Contact),
    /// Contacts with this phone already exist (someone created one first).
    Existing(Vec<Contact>),
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    async fn contacts_by_phone(&self, phone: &Phone) -> PortResult<Vec<Contact>>;
    async fn get_contact(&self, id: &ContactId) -> PortResult<Option<Contact>>;
    /// Stores a contact unconditionally (CRM import, admin).
    async fn put_contact(&self, contact: &Contact) -> PortResult<()>;
    /// Atomically stores `contact` only if no contact has its phone yet.
    async fn create_contact_if_none(&self, contact: &Contact) -> PortResult<ContactCreate>;
    /// Appends an event unless one with its id exists.
    async fn append_timeline(&self, event: &TimelineEvent) -> PortResult<()>;
    /// Oldest first.
    async fn timeline(&self, contact: &ContactId) -> PortResult<Vec<TimelineEvent>>;
}

/// Consent: an append-only log of every change of a customer's consent (per our number, or for every
/// number), from which [`smsdesk_domain::consent::opted_out`] decides. Nothing is ever updated or deleted:
/// the log is the audit trail.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Appends `change` unless a change with its id exists. Returns whether it was stored.
    async fn record_consent(&self, change: &smsdesk_domain::consent::ConsentChange) -> PortResult<bool>;
    /// Every change recorded for `customer`, oldest `at` first (ties: in id order).
    async fn consent_history(
        &self,
        customer: &Phone,
    ) -> PortResult<Vec<smsdesk_domain::consent::ConsentChange>>;
}

#[async_trait]
pub trait DedupeStore: Send + Sync {
    /// Records `key` for `ttl`. Returns false when it was already recorded and has not expired.
    async fn remember(&self, key: &str, at: OffsetDateTime, ttl: Duration) -> PortResult<bool>;
    async fn seen(&self, key: &str, at: OffsetDateTime) -> PortResult<bool>;
}

/// What an `Idempotency-Key` was first used for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The caller's scope and key (e.g. `agent:<id>:<key>`): two callers' keys never meet.
    pub key: String,
    /// What the first request asked (route and body, hashed): the same key with another request is refused.
    pub fingerprint: String,
    /// The message the first request created (or is creating).
    pub message_id: MessageId,
    pub at: OffsetDateTime,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Records `record` for `ttl` unless its key is recorded and has not expired. Returns the record that
    /// holds the key: `record` itself when this call stored it, otherwise the earlier one (unchanged).
    async fn remember_request(
        &self,
        record: &IdempotencyRecord,
        ttl: Duration,
    ) -> PortResult<IdempotencyRecord>;
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn record_outbox(&self, entry: &OutboxEntry) -> PortResult<()>;
    /// Oldest first.
    async fn list_outbox(&self) -> PortResult<Vec<OutboxEntry>>;
}

/// Outcome of [`InboundPartStore::put_part`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartPut {
    /// Kept (or kept already): the group's parts so far.
    Stored(smsdesk_domain::multipart::PartsSoFar),
    /// The group was claimed for filing lately (complete, or at its timeout). `included`: this part is in
    /// the claimed text (a replay: nothing to do); otherwise it came after the claim and is filed on its own.
    Filed { included: bool },
}

/// Outcome of [`InboundPartStore::claim_parts`]: what a filing of a multipart text files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartsClaim {
    /// The parts the text is made of.
    pub text: smsdesk_domain::multipart::PartsSoFar,
    /// Parts of the group that are not in the text, in part order: each is filed as a text of its own.
    pub apart: Vec<smsdesk_domain::events::InboundMessage>,
}

/// Parts of multipart inbound texts, kept until the text is complete or times out (issue 9.6).
#[async_trait]
pub trait InboundPartStore: Send + Sync {
    /// Keeps `part` in `group` (once per part number; a replay changes nothing) and answers the group's
    /// parts so far. A group filed less than `reuse_after` before `at` answers [`PartPut::Filed`]; one filed
    /// longer ago starts afresh with this part (providers reuse their small references).
    async fn put_part(
        &self,
        group: &str,
        part: &smsdesk_domain::events::InboundMessage,
        at: OffsetDateTime,
        reuse_after: Duration,
    ) -> PortResult<PartPut>;
    /// Claims generation `first_id` of `group` for filing at `at`, with the parts numbered `numbers`: from
    /// then on [`Self::put_part`] answers [`PartPut::Filed`], `included` for exactly those numbers. Answers
    /// what to file: the claimed parts (an earlier claim's, when the group was claimed already: a filing
    /// resumed after a crash, or a concurrent one), and the parts stored that the claim left out (they came
    /// while it was being made): each is filed on its own, so none is lost. None when `first_id` is not the
    /// group's generation.
    async fn claim_parts(
        &self,
        group: &str,
        first_id: &str,
        numbers: &[u32],
        at: OffsetDateTime,
    ) -> PortResult<Option<PartsClaim>>;
    /// The claimed text and every part left out are filed: the group leaves [`Self::stale_part_groups`].
    async fn parts_filed(&self, group: &str, first_id: &str) -> PortResult<()>;
    /// Groups not filed (unclaimed, or claimed and not yet [`Self::parts_filed`]) whose first part came
    /// before `cutoff`, oldest first, at most `limit`.
    async fn stale_part_groups(
        &self,
        cutoff: OffsetDateTime,
        limit: usize,
    ) -> PortResult<Vec<smsdesk_domain::multipart::PartsSoFar>>;
}

/// One send schedule per number, shared by every sender of every function (issue 9.10; the decision is
/// [`smsdesk_domain::pacing::decide`]).
#[async_trait]
pub trait SendRateStore: Send + Sync {
    /// Atomically: takes `number`'s next free send slot at `now` if it is within `max_wait`, moving the
    /// schedule one `interval` on (concurrent callers get distinct slots); otherwise reserves nothing.
    async fn reserve_send_slot(
        &self,
        number: &Phone,
        interval: Duration,
        max_wait: Duration,
        now: OffsetDateTime,
    ) -> PortResult<smsdesk_domain::pacing::Slot>;
}

/// Private notes on conversations (`smsdesk_domain::notes`): kept beside the transcript, never sent.
#[async_trait]
pub trait NoteStore: Send + Sync {
    /// Stores the note once: a second call with the same id changes nothing and answers false.
    async fn add_note(&self, note: &smsdesk_domain::notes::Note) -> PortResult<bool>;
    /// The conversation's notes, oldest first (ties by id).
    async fn list_notes(&self, conversation: &ConversationId)
    -> PortResult<Vec<smsdesk_domain::notes::Note>>;
}

/// Outcome of [`MediaClaimStore::claim_media`].
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaClaim {
    /// Every item named is claimed by the message (now, or already by an earlier call for it).
    Claimed,
    /// `media_id`, one of the items named, is claimed by `message`, another one: nothing was claimed.
    Taken { media_id: String, message: MessageId },
}

/// The most items one [`MediaClaimStore::claim_media`] call claims (a message carries at most 10).
pub const MAX_MEDIA_CLAIMS: usize = 25;

/// The items a [`MediaClaimStore::claim_media`] call claims: the ids of `media`, each once, in the order
/// first named; more than [`MAX_MEDIA_CLAIMS`] of them is a `PortError::Backend`. Both adapters start here.
pub fn media_to_claim(media: &[String]) -> PortResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(media.len());
    for id in media {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    if out.len() > MAX_MEDIA_CLAIMS {
        return Err(PortError::Backend(format!(
            "claim_media: {} items in one claim; at most {MAX_MEDIA_CLAIMS}",
            out.len()
        )));
    }
    Ok(out)
}

/// Which message an agent's uploaded media item goes out with: each upload is claimed by exactly one reply
/// (issue 14), so that of two replies naming one upload one is refused, and none is sent as text only.
#[async_trait]
pub trait MediaClaimStore: Send + Sync {
    /// Claims every item of `media` (ids of `conversation`'s media items; a repeated id counts once) for
    /// `message`, atomically: when another message holds the claim of one of them, nothing is claimed
    /// ([`MediaClaim::Taken`], naming the first such item in `media` and its holder), so of concurrent
    /// calls naming one item for different messages exactly one gets it. Claiming again for the same
    /// message is never refused (a retried request). Claims are never released. More than
    /// [`MAX_MEDIA_CLAIMS`] distinct items is a `PortError::Backend`.
    async fn claim_media(
        &self,
        conversation: &ConversationId,
        media: &[String],
        message: &MessageId,
        at: OffsetDateTime,
    ) -> PortResult<MediaClaim>;
}

/// Every store capability; what handlers are given.
pub trait Store:
    ChannelStore
    + WorkQueueStore
    + MenuStore
    + AgentStore
    + ConversationStore
    + MessageStore
    + ContactStore
    + ConsentStore
    + DedupeStore
    + IdempotencyStore
    + OutboxStore
    + SendRateStore
    + InboundPartStore
    + NoteStore
    + MediaClaimStore
    + crate::TransferStore
    + crate::QuickReplyStore
    + crate::CustomerStore
    + crate::TeamStore
{
}

impl<T> Store for T where
    T: ChannelStore
        + WorkQueueStore
        + MenuStore
        + AgentStore
        + ConversationStore
        + MessageStore
        + ContactStore
        + ConsentStore
        + DedupeStore
        + IdempotencyStore
        + OutboxStore
        + SendRateStore
        + InboundPartStore
        + NoteStore
        + MediaClaimStore
        + crate::TransferStore
        + crate::QuickReplyStore
        + crate::CustomerStore
        + crate::TeamStore
{
}
