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
    pub queue: QueueId,
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
    /// Automated messages, consent keywords and text rules (flattened: `PATCH` sets them by name).
    #[serde(flatten, default)]
    pub messaging: MessagingSettings,
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
        }
    }
}

impl Channel {
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
}

impl Agent {
    pub fn has_free_capacity(&self) -> bool {
        self.presence == Presence::Available && self.active < self.capacity
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// In its queue, waiting for an agent with free capacity.
    Open,
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
            ConversationState::Open => "open",
            ConversationState::Active => "active",
            ConversationState::Waiting => "waiting",
            ConversationState::WrapUp => "wrap_up",
            ConversationState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => ConversationState::Open,
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
