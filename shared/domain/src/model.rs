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
    /// The queue its texts go to; with a `menu`, the default queue (the menu's timeout lands there).
    pub queue: QueueId,
    /// The keyword menu the customer's first text gets, when this number feeds several queues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<MenuId>,
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
    /// Before any queue: the customer is answering a keyword menu or talking with a queue's bot.
    /// Distribution never picks it; only admins and supervisors see it.
    Routing,
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
            ConversationState::Routing => "routing",
            ConversationState::Open => "open",
            ConversationState::Active => "active",
            ConversationState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "routing" => ConversationState::Routing,
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
    /// Where the conversation stands before its queue (menu position, bot), kept after it leaves
    /// `routing` for the hand-off context it carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
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
