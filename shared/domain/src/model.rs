//! The records smsdesk keeps: channels and their numbers, queues, agents, conversations, messages,
//! contacts and their timeline, consent. Adapters store them; the domain decides how they change.

use crate::ids::*;
use crate::phone::Phone;
use crate::status::MessageStatus;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// Serde helpers so every timestamp travels as RFC 3339 UTC.
pub mod rfc3339 {
    pub use time::serde::rfc3339::*;
    pub mod option {
        pub use time::serde::rfc3339::option::*;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Telesign,
    Twilio,
    Acs,
    Vonage,
    Aws,
    Sandbox,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Telesign => "telesign",
            ProviderKind::Twilio => "twilio",
            ProviderKind::Acs => "acs",
            ProviderKind::Vonage => "vonage",
            ProviderKind::Aws => "aws",
            ProviderKind::Sandbox => "sandbox",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "telesign" => ProviderKind::Telesign,
            "twilio" => ProviderKind::Twilio,
            "acs" => ProviderKind::Acs,
            "vonage" => ProviderKind::Vonage,
            "aws" => ProviderKind::Aws,
            "sandbox" => ProviderKind::Sandbox,
            _ => return None,
        })
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    Geo,
    ShortCode,
    TollFree,
}

impl NumberType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "geo" => NumberType::Geo,
            "short_code" => NumberType::ShortCode,
            "toll_free" => NumberType::TollFree,
            _ => return None,
        })
    }

    /// The send rate (messages per second) carriers allow a number of this type when the admin sets none:
    /// a 10DLC / geographic long code 1, a toll-free number 3, a short code 100 (README, "Send rates").
    pub fn default_send_rate(self) -> f64 {
        match self {
            NumberType::Geo => 1.0,
            NumberType::TollFree => 3.0,
            NumberType::ShortCode => 100.0,
        }
    }
}

/// One of our numbers on a channel, and the queue its texts go to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelNumber {
    pub number: Phone,
    #[serde(rename = "type")]
    pub number_type: NumberType,
    pub description: String,
    /// The queue its texts go to; with a `menu`, the default queue (the menu's timeout lands there).
    pub queue: QueueId,
    /// The keyword menu the customer's first text gets, when this number feeds several queues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<MenuId>,
    /// Messages per second the carrier lets this number send (set by the admin; None: the default of its
    /// type, [`NumberType::default_send_rate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_rate: Option<f64>,
}

// `send_rate` is a positive finite number (checked where it is set), so equality is reflexive.
impl Eq for ChannelNumber {}

impl ChannelNumber {
    /// The number's send rate in messages per second: the admin's, or its type's default.
    pub fn send_rate(&self) -> f64 {
        self.send_rate.unwrap_or_else(|| self.number_type.default_send_rate())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AttachmentPolicy {
    /// Customers' media (MMS) is kept and shown; off: not kept, and the customer is told once per
    /// conversation with `refused_text`.
    pub customer: bool,
    /// Agents may attach media to replies; off: the API refuses.
    pub agent: bool,
    /// What a customer whose attachments are not accepted is told (default:
    /// [`crate::media::DEFAULT_ATTACHMENTS_REFUSED_TEXT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_text: Option<String>,
    /// Largest item in bytes, when lower than the provider's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Most items per message, when lower than the provider's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
}

impl AttachmentPolicy {
    /// What the customer is told when their attachments are not accepted.
    pub fn refused_text(&self) -> &str {
        self.refused_text.as_deref().unwrap_or(crate::media::DEFAULT_ATTACHMENTS_REFUSED_TEXT)
    }
}

/// A provider account and its numbers. The credentials are kept apart, in the secret store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: ChannelId,
    pub name: String,
    pub provider: ProviderKind,
    /// Overrides the provider's API host (regional hosts; fake providers in tests).
    pub base_url: Option<String>,
    /// The exact public URL the provider calls for this channel's webhooks, when a proxy or an API Gateway
    /// stage makes it differ from the one smsdesk rebuilds (`<public base>/webhooks/<provider>/<id>`):
    /// signatures that cover the URL are checked against it, and `callback_url` shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    pub numbers: Vec<ChannelNumber>,
    pub language: Option<String>,
    pub attachments: AttachmentPolicy,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// Seconds without activity after which an open conversation auto-closes (acd). None: the deployment's
    /// default (`Config::auto_close_after`, 8 hours unless configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactivity_secs: Option<u64>,
    /// Numbers that left this channel for another one (issue 9.9), kept for [`FORMER_NUMBER_GRACE`]: the
    /// old provider's late webhooks for them (a receipt of a message sent before the move, a text already
    /// in flight) are still taken, and their texts go on to the channel that has the number now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub former_numbers: Vec<FormerNumber>,
    /// Automated messages, consent keywords and text rules (flattened: `PATCH` sets them by name).
    #[serde(flatten, default)]
    pub messaging: MessagingSettings,
}

/// How long a channel still takes its provider's webhooks for a number that left it: long enough for
/// carriers' late delivery receipts (up to 72 hours) and retried webhooks.
pub const FORMER_NUMBER_GRACE: time::Duration = time::Duration::days(7);

/// A number that left a channel, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormerNumber {
    pub number: Phone,
    #[serde(with = "rfc3339")]
    pub left_at: OffsetDateTime,
}

/// A channel's automated messages, consent keywords and text rules. Every field has a default a new user
/// can run with: automated messages on (English and Spanish texts built in), smart encoding off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagingSettings {
    /// Whether smsdesk sends automated messages at all (opt-in notice, confirmations, help, greeting, ...).
    #[serde(default = "yes")]
    pub automated_messages_enabled: bool,
    /// The channel's own texts, by language then kind; an empty text turns that message off.
    #[serde(default)]
    pub automated_messages: crate::automated::Templates,
    /// Consent keywords the admin adds per language, besides the built-in ones.
    #[serde(default)]
    pub consent_keywords: std::collections::BTreeMap<String, crate::consent::KeywordLists>,
    /// Replace look-alike characters (curly quotes, long dashes, ...) so texts stay GSM-7.
    #[serde(default)]
    pub smart_encoding: bool,
    /// Words a customer texts to pick a language, per language tag, besides the built-in ones
    /// (`crate::language`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub language_keywords: std::collections::BTreeMap<String, Vec<String>>,
}

fn yes() -> bool {
    true
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self {
            automated_messages_enabled: true,
            automated_messages: Default::default(),
            consent_keywords: Default::default(),
            smart_encoding: false,
            language_keywords: Default::default(),
        }
    }
}

impl Channel {
    /// True when this channel takes its provider's webhooks addressed to `number` at `now`: one of its
    /// numbers, or one that left it less than [`FORMER_NUMBER_GRACE`] ago.
    pub fn takes_webhooks_for(&self, number: &Phone, now: OffsetDateTime) -> bool {
        self.number(number).is_some()
            || self
                .former_numbers
                .iter()
                .any(|f| &f.number == number && now - f.left_at < FORMER_NUMBER_GRACE)
    }

    /// Sets the channel's numbers at `now`: the numbers that leave are remembered as former numbers (for
    /// the grace period), the ones that come back are forgotten as former ones, expired ones are dropped.
    pub fn set_numbers(&mut self, numbers: Vec<ChannelNumber>, now: OffsetDateTime) {
        for old in &self.numbers {
            if !numbers.iter().any(|n| n.number == old.number) {
                self.former_numbers.retain(|f| f.number != old.number);
                self.former_numbers.push(FormerNumber { number: old.number.clone(), left_at: now });
            }
        }
        self.former_numbers.retain(|f| {
            now - f.left_at < FORMER_NUMBER_GRACE && !numbers.iter().any(|n| n.number == f.number)
        });
        self.numbers = numbers;
    }

    /// The channel's media limits: its provider's, lowered where the channel sets lower ones.
    pub fn media_limits(&self) -> crate::media::MediaLimits {
        crate::media::MediaLimits::for_channel(
            self.provider,
            self.attachments.max_bytes,
            self.attachments.max_items,
        )
    }

    pub fn number(&self, number: &Phone) -> Option<&ChannelNumber> {
        self.numbers.iter().find(|n| &n.number == number)
    }

    /// What storing this channel over `stored` (the channel as stored before, None for a new one) changes
    /// in who has which number: the numbers it takes (listed here, not in `stored`) and those it gives up
    /// (listed in `stored`, no longer here). A store claims and releases exactly those in the same write
    /// (one channel per number: `ChannelStore::put_channel`).
    pub fn number_changes<'a>(&'a self, stored: Option<&'a Channel>) -> NumberChanges<'a> {
        let before: &[ChannelNumber] = stored.map_or(&[], |c| &c.numbers);
        let listed = |list: &[ChannelNumber], n: &Phone| list.iter().any(|x| &x.number == n);
        let mut changes = NumberChanges { taken: Vec::new(), released: Vec::new() };
        for n in self.numbers.iter().map(|n| &n.number) {
            if !listed(before, n) && !changes.taken.contains(&n) {
                changes.taken.push(n);
            }
        }
        for n in before.iter().map(|n| &n.number) {
            if !listed(&self.numbers, n) && !changes.released.contains(&n) {
                changes.released.push(n);
            }
        }
        changes
    }
}

/// The most numbers one write of a channel may take and give up in all (a channel creation takes each of
/// its numbers; a `PUT .../numbers` takes the new ones and gives up those it drops): each is one claim
/// written with the channel in one atomic write, and DynamoDB's transactions hold 100 items. A channel may
/// have more numbers, set in several requests.
pub const MAX_NUMBER_CHANGES: usize = 40;

/// The numbers a write of a channel takes and gives up ([`Channel::number_changes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberChanges<'a> {
    pub taken: Vec<&'a Phone>,
    pub released: Vec<&'a Phone>,
}

impl NumberChanges<'_> {
    /// How many claims the write takes and gives up in all.
    pub fn len(&self) -> usize {
        self.taken.len().saturating_add(self.released.len())
    }

    pub fn is_empty(&self) -> bool {
        self.taken.is_empty() && self.released.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkQueue {
    pub id: QueueId,
    pub name: String,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the queue is staffed (its time zone, weekly spans, holidays); None: always open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_hours: Option<crate::hours::OperatingHours>,
    /// The dispositions an agent picks from at wrap-up (acd; validated by `lifecycle::validate_wrap_up`).
    #[serde(default)]
    pub dispositions: Vec<String>,
    /// The tags an agent may add at wrap-up.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether wrap-up needs a disposition (then `dispositions` is not empty).
    #[serde(default)]
    pub disposition_required: bool,
    /// How long an agent may stay in wrap-up before the conversation closes and the slot is released.
    #[serde(default = "default_wrap_up_limit_secs")]
    pub wrap_up_limit_secs: u64,
    /// Priority of a conversation when it enters the queue (acd; higher is served first).
    #[serde(default)]
    pub initial_priority: u32,
    /// Escalation: add `escalation_add` every `escalation_every_secs` of waiting, up to `max_priority`
    /// (0 for either: no escalation). See `assign::current_priority`.
    #[serde(default)]
    pub escalation_add: u32,
    #[serde(default)]
    pub escalation_every_secs: u64,
    #[serde(default)]
    pub max_priority: u32,
    /// Conversations go straight to `active` with their agent instead of being offered first (issue 11.4).
    #[serde(default)]
    pub auto_accept: bool,
    /// How long an agent has to accept an offer before it goes to another agent.
    #[serde(default = "default_refusal_timeout_secs")]
    pub refusal_timeout_secs: u64,
    /// Offers an agent may miss in a row (let expire) before being set `away`; 0: never.
    #[serde(default = "default_max_missed_offers")]
    pub max_missed_offers: u32,
    /// Affinity (issue 11.3): a returning customer goes first to the agent who had them within this many
    /// seconds, when that agent can take them; 0: off.
    #[serde(default)]
    pub affinity_secs: u64,
    /// Left out of menus' listings of queues (an option may still name it).
    #[serde(default)]
    pub hidden: bool,
    /// Service-level target: a conversation should be answered within this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level_seconds: Option<u32>,
    /// A conversation waiting in the queue longer than this many seconds gets `expiry_message` and closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_seconds: Option<u32>,
    /// The system message sent when a conversation expires in this queue.
    #[serde(default = "default_expiry_message")]
    pub expiry_message: String,
    /// A bot that gets the customer's texts before an agent does (`crate::bot`); its secret is kept in the
    /// secret store, never here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotEndpoint>,
    /// How long a conversation transferred to this queue waits for one of its agents to take it before the
    /// transfer fails and it goes back to the agent who sent it (`crate::transfer`).
    #[serde(default = "default_transfer_timeout_secs")]
    pub transfer_timeout_secs: u64,
    /// Offline hand-back (issue 10.2): this many seconds after an agent went offline, what they still hold
    /// in this queue goes back to it (`crate::handback`). None: they keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_handback_secs: Option<u32>,
}

fn default_transfer_timeout_secs() -> u64 {
    crate::transfer::DEFAULT_TRANSFER_TIMEOUT_SECS
}

/// Default refusal timeout of an offer: a minute.
pub const DEFAULT_REFUSAL_TIMEOUT_SECS: u64 = 60;
/// Default number of offers missed in a row that sets an agent away.
pub const DEFAULT_MAX_MISSED_OFFERS: u32 = 3;

fn default_refusal_timeout_secs() -> u64 {
    DEFAULT_REFUSAL_TIMEOUT_SECS
}

fn default_max_missed_offers() -> u32 {
    DEFAULT_MAX_MISSED_OFFERS
}

pub fn default_expiry_message() -> String {
    "We could not answer you in time, sorry. Please text us again.".to_string()
}

/// Where a queue's bot listens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotEndpoint {
    /// `https://` (plain `http://` to a loopback host only in `smsdesk dev` and tests).
    pub url: String,
}

/// Default wrap-up limit: two minutes.
pub const DEFAULT_WRAP_UP_LIMIT_SECS: u64 = 120;

fn default_wrap_up_limit_secs() -> u64 {
    DEFAULT_WRAP_UP_LIMIT_SECS
}

impl WorkQueue {
    /// A queue with every setting at its default.
    pub fn new(id: QueueId, name: impl Into<String>, created_at: OffsetDateTime) -> Self {
        Self {
            id,
            name: name.into(),
            created_at,
            operating_hours: None,
            dispositions: Vec::new(),
            tags: Vec::new(),
            disposition_required: false,
            wrap_up_limit_secs: DEFAULT_WRAP_UP_LIMIT_SECS,
            initial_priority: 0,
            escalation_add: 0,
            escalation_every_secs: 0,
            max_priority: 0,
            auto_accept: false,
            refusal_timeout_secs: DEFAULT_REFUSAL_TIMEOUT_SECS,
            max_missed_offers: DEFAULT_MAX_MISSED_OFFERS,
            affinity_secs: 0,
            hidden: false,
            service_level_seconds: None,
            expiry_seconds: None,
            expiry_message: default_expiry_message(),
            bot: None,
            transfer_timeout_secs: crate::transfer::DEFAULT_TRANSFER_TIMEOUT_SECS,
            offline_handback_secs: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Available,
    Busy,
    Away,
    Offline,
}

impl Presence {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "available" => Presence::Available,
            "busy" => Presence::Busy,
            "away" => Presence::Away,
            "offline" => Presence::Offline,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Busy => "busy",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }
}

/// What an agent's token may do beyond its own conversations (the admin is not an agent: the admin token,
/// or an identity provider's admin group). An agent: their conversations and their queues' waiting ones. A
/// supervisor: everything in their queues, read and act.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    Agent,
    Supervisor,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub queues: Vec<QueueId>,
    /// How many conversations the agent works at once.
    pub capacity: u32,
    pub presence: Presence,
    /// Conversations assigned to the agent and not closed; kept by the store together with assignment.
    pub active: u32,
    /// When the agent was last given a conversation (ties in "least loaded first" go to the longest idle).
    #[serde(with = "rfc3339::option")]
    pub last_assigned_at: Option<OffsetDateTime>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    /// The identity provider's user id (a JWT's `sub`) that signs in as this agent behind API Gateway; set
    /// by an admin, unique among agents. None: the agent signs in with its API token only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Agent or supervisor (agents stored before roles existed are agents).
    #[serde(default)]
    pub role: Role,
    /// Offers the agent let expire in a row (an accepted offer starts the count again); the store keeps it
    /// together with the offer's outcome.
    #[serde(default)]
    pub missed_offers: u32,
    /// When the presence last changed (None: not since the agent was created, or stored before this was
    /// kept).
    #[serde(default, with = "rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub presence_changed_at: Option<OffsetDateTime>,
    /// The team the agent belongs to (issue 11.3), at most one: it serves the team's queues too, and its
    /// slots count against the team's capacity as well as its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<crate::TeamId>,
}

impl Agent {
    pub fn has_free_capacity(&self) -> bool {
        self.presence == Presence::Available && self.active < self.capacity
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// Before any queue: the customer is answering a keyword menu or talking with a queue's bot.
    /// Distribution never picks it; only admins and supervisors see it.
    Routing,
    /// In its queue, waiting for an agent with free capacity.
    Open,
    /// Offered to an agent (`agent_id`), whose slot it takes, until the agent accepts (`active`), declines or
    /// lets the offer expire (back to `open` in its queue, for another agent).
    Offered,
    /// With an agent.
    Active,
    /// Set aside by its agent, who keeps the slot; the customer's next text brings it back to them (if
    /// available) or to the queue.
    Waiting,
    /// The customer conversation ended; the agent finishes notes, disposition and tags (the slot is held
    /// until the wrap-up is submitted or the queue's wrap-up limit passes).
    WrapUp,
    /// Resolved; never reopened. A new text starts a new conversation.
    Closed,
}

impl ConversationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Routing => "routing",
            ConversationState::Open => "open",
            ConversationState::Offered => "offered",
            ConversationState::Active => "active",
            ConversationState::Waiting => "waiting",
            ConversationState::WrapUp => "wrap_up",
            ConversationState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "routing" => ConversationState::Routing,
            "open" => ConversationState::Open,
            "offered" => ConversationState::Offered,
            "active" => ConversationState::Active,
            "waiting" => ConversationState::Waiting,
            "wrap_up" => ConversationState::WrapUp,
            "closed" => ConversationState::Closed,
            _ => return None,
        })
    }

    /// Whether a conversation in this state is with an agent and holds one of the agent's slots (`active`,
    /// `waiting`, `wrap_up`).
    pub fn holds_agent(self) -> bool {
        matches!(self, ConversationState::Active | ConversationState::Waiting | ConversationState::WrapUp)
    }

    /// Whether a conversation in this state takes one of its agent's slots: the states that hold the agent,
    /// and an offer (capacity is taken by the offer).
    pub fn takes_slot(self) -> bool {
        self.holds_agent() || self == ConversationState::Offered
    }
}

/// What the agent recorded at wrap-up; kept on the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrapUp {
    pub disposition: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub agent_id: Option<AgentId>,
    #[serde(with = "rfc3339")]
    pub at: OffsetDateTime,
}

/// Where the conversation stands with the CRM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ContactLink {
    /// The CRM job has not run yet.
    Pending,
    /// Linked to exactly one contact.
    Linked { contact_id: ContactId },
    /// Several contacts share the customer's phone: the agent picks one.
    NeedsPick { candidates: Vec<ContactId> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub channel_id: ChannelId,
    /// Our number, the one the customer texted; replies go out from it.
    pub channel_number: Phone,
    pub customer: Phone,
    pub queue_id: QueueId,
    pub agent_id: Option<AgentId>,
    pub state: ConversationState,
    pub contact: ContactLink,
    pub language: Option<String>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub last_message_at: OffsetDateTime,
    /// When it entered its current queue (waiting order is oldest first).
    #[serde(with = "rfc3339")]
    pub queued_at: OffsetDateTime,
    #[serde(with = "rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub close_reason: Option<String>,
    /// When the conversation last changed between `active`, `waiting` and `wrap_up` (the wrap-up limit
    /// counts from here).
    #[serde(default, with = "rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub state_changed_at: Option<OffsetDateTime>,
    /// Disposition, tags and notes, once the agent submitted the wrap-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up: Option<WrapUp>,
    /// The pending offer, while the conversation is `offered` to its agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<Offer>,
    /// Agents who declined it or let an offer of it expire since it entered its queue: offered to others
    /// first ([`crate::assign::rank_for`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_by: Vec<AgentId>,
    /// When an agent last declined it (a missed offer does not count): the refusers are offered it again
    /// only [`crate::assign::ASK_AGAIN_AFTER_DECLINE`] later.
    #[serde(default, with = "rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub declined_at: Option<OffsetDateTime>,
    /// Those of `refused_by` who declined it (not those who let an offer of it expire): only they wait for
    /// the pause after `declined_at`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declined_by: Vec<AgentId>,
    /// Where the conversation stands before its queue (menu position, bot), kept after it leaves
    /// `routing` for the hand-off context it carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
    /// A transfer under way (`crate::transfer`): the first agent holds its slot until it lands or fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<crate::transfer::Transfer>,
}

/// An offer of a conversation to its agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    #[serde(with = "rfc3339")]
    pub offered_at: OffsetDateTime,
    /// When the offer goes to another agent unless accepted.
    #[serde(with = "rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A conversation's pre-queue step: a menu (the stack of menus from the number's, BACK pops) or a bot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    /// The menus entered, outermost first; the last is the one shown. Empty: with a bot.
    #[serde(default)]
    pub menus: Vec<MenuId>,
    /// With the bot of this queue (no menu).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<QueueId>,
    /// When this step began (the menu was shown, the bot was last asked): the menu's timeout counts from
    /// here, and every change is conditional on it (the router and the timers never both move it).
    #[serde(with = "rfc3339")]
    pub since: OffsetDateTime,
    /// The last customer text handled at this step (a redelivered text is not handled twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_input: Option<MessageId>,
    /// What the bot said about the customer when it handed over (shown to the agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Customer,
    Agent,
    System,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub channel_id: ChannelId,
    pub direction: Direction,
    pub author: Author,
    /// The agent who wrote it, for agent messages.
    pub agent_id: Option<AgentId>,
    pub text: String,
    pub status: MessageStatus,
    pub encoding: Encoding,
    pub segments: u32,
    /// TeleSign's reference id, Twilio's SID, ...; set once the provider accepted it (or for inbound).
    pub provider_message_id: Option<String>,
    /// Why it failed, in the provider's words when it gave any.
    pub error: Option<String>,
    /// Send attempts made so far (outbound).
    pub attempts: u32,
    /// Which automated message this is (system messages smsdesk wrote itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<crate::automated::AutomatedKind>,
    /// An inbound text longer than the 1600-character cap: kept whole, flagged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub over_limit: bool,
    /// An entry for agents only (a transfer and its note): in the transcript, never sent to the customer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    /// The media items (ids, in order) an agent's reply carries: it is sent with all of them or not at all,
    /// never as its text alone. Empty for a text (and for messages stored before replies named them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    pub phone: Phone,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An entry on a contact's timeline in the CRM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// Idempotency key: the same event written twice is one entry.
    pub id: String,
    pub contact_id: ContactId,
    pub conversation_id: ConversationId,
    /// `conversation_started`, `transferred`, `conversation_closed`, ...
    pub kind: String,
    pub detail: serde_json::Value,
    #[serde(with = "rfc3339")]
    pub at: OffsetDateTime,
}

/// A send recorded by the sandbox provider (the embedded shape's stand-in for a real SMS provider).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: String,
    pub channel_id: ChannelId,
    pub from: Phone,
    pub to: Phone,
    pub text: String,
    pub external_id: Option<String>,
    #[serde(with = "rfc3339")]
    pub at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn number(digits: &str) -> ChannelNumber {
        ChannelNumber {
            number: Phone::parse_digits(digits).expect("number"),
            number_type: NumberType::Geo,
            description: String::new(),
            queue: QueueId::new("q_1"),
            send_rate: None,
            menu: None,
        }
    }

    fn channel(numbers: &[&str]) -> Channel {
        Channel {
            id: ChannelId::new("ch_1"),
            name: "support".into(),
            provider: ProviderKind::Telesign,
            base_url: None,
            public_url: None,
            numbers: numbers.iter().map(|n| number(n)).collect(),
            language: None,
            attachments: AttachmentPolicy::default(),
            created_at: datetime!(2026-11-01 0:00 UTC),
            inactivity_secs: None,
            former_numbers: Vec::new(),
            messaging: Default::default(),
        }
    }

    #[test]
    fn a_number_that_left_takes_webhooks_for_the_grace_period_only_and_never_one_that_was_not_there() {
        let moved_at = datetime!(2026-11-29 12:00 UTC);
        let mut c = channel(&["15555550100", "15555550101"]);
        c.set_numbers(vec![number("15555550101")], moved_at);
        let left = Phone::parse_digits("15555550100").expect("number");
        let stranger = Phone::parse_digits("15555550199").expect("number");
        assert!(c.number(&left).is_none());
        assert!(c.takes_webhooks_for(&left, moved_at + time::Duration::hours(72)));
        assert!(!c.takes_webhooks_for(&left, moved_at + FORMER_NUMBER_GRACE));
        assert!(!c.takes_webhooks_for(&stranger, moved_at));
        // Back on the channel: a number again, no longer a former one; expired former numbers are dropped.
        c.set_numbers(vec![number("15555550100"), number("15555550101")], moved_at);
        assert!(c.former_numbers.is_empty(), "{:?}", c.former_numbers);
        c.set_numbers(vec![number("15555550101")], moved_at);
        c.set_numbers(vec![number("15555550101")], moved_at + FORMER_NUMBER_GRACE);
        assert!(c.former_numbers.is_empty(), "{:?}", c.former_numbers);
        // A stored channel from before the field reads with none.
        let mut json = serde_json::to_value(channel(&["15555550100"])).expect("json");
        json.as_object_mut().expect("object").remove("former_numbers");
        let read: Channel = serde_json::from_value(json).expect("reads");
        assert!(read.former_numbers.is_empty());
    }

    #[test]
    fn a_write_takes_the_numbers_it_adds_and_gives_up_those_it_drops() {
        let p = |d: &str| Phone::parse_digits(d).expect("number");
        let (a, b, c) = (p("15555550100"), p("15555550101"), p("15555550102"));
        let new = channel(&["15555550100", "15555550101"]);
        assert_eq!(new.number_changes(None), NumberChanges { taken: vec![&a, &b], released: vec![] });
        let stored = new.clone();
        assert!(new.number_changes(Some(&stored)).is_empty(), "the same numbers change nothing");
        let moved = channel(&["15555550101", "15555550102"]);
        let changes = moved.number_changes(Some(&stored));
        assert_eq!(changes, NumberChanges { taken: vec![&c], released: vec![&a] });
        assert_eq!(changes.len(), 2);
        let none = channel(&[]);
        assert_eq!(
            none.number_changes(Some(&stored)),
            NumberChanges { taken: vec![], released: vec![&a, &b] }
        );
    }
}
