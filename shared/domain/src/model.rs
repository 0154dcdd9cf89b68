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
}

/// One of our numbers on a channel, and the queue its texts go to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelNumber {
    pub number: Phone,
    #[serde(rename = "type")]
    pub number_type: NumberType,
    pub description: String,
    pub queue: QueueId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AttachmentPolicy {
    pub customer: bool,
    pub agent: bool,
}

/// A provider account and its numbers. The credentials are kept apart, in the secret store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: ChannelId,
    pub name: String,
    pub provider: ProviderKind,
    /// Overrides the provider's API host (regional hosts; fake providers in tests).
    pub base_url: Option<String>,
    pub numbers: Vec<ChannelNumber>,
    pub language: Option<String>,
    pub attachments: AttachmentPolicy,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
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
    /// Resolved; never reopened. A new text starts a new conversation.
    Closed,
}

impl ConversationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Open => "open",
            ConversationState::Active => "active",
            ConversationState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => ConversationState::Open,
            "active" => ConversationState::Active,
            "closed" => ConversationState::Closed,
            _ => return None,
        })
    }
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
