//! The API's answers as Rust types: what each route returns is one of these, serialized by serde and
//! described by utoipa in `/openapi.json` ([`crate::http::openapi`]). Domain values keep their own serde
//! form (ids and phone numbers as strings, enums in snake_case); the schema names what they look like.

use serde::Serialize;
use smsdesk_domain::*;
use utoipa::ToSchema;

/// An RFC 3339 time as the API writes it.
pub fn ts(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Every error: `{"error": {"code", "message"}}`; the message names the field and the rule it broke.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `invalid_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`, ...
    #[schema(example = "invalid_request")]
    pub code: String,
    /// What went wrong, starting with the field and the rule it broke.
    #[schema(example = "text: is required")]
    pub message: String,
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// Lists: `{"items": [...]}`.
macro_rules! list {
    ($($(#[$doc:meta])* $name:ident of $item:ty;)*) => {$(
        $(#[$doc])*
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
        }
    )*};
}

list! {
    /// The caller's work items.
    WorkItems of WorkItem;
    /// Queues.
    QueueList of QueueView;
    /// Keyword menus.
    MenuList of MenuView;
    /// Agents.
    AgentList of AgentView;
    /// Channels.
    ChannelList of ChannelView;
    /// Contacts.
    ContactList of ContactView;
    /// What the sandbox provider "sent".
    OutboxList of OutboxView;
}

/// Whether the conversation's CRM contact is known yet.
#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactState {
    Pending,
    Linked,
    NeedsPick,
}

fn contact_of(link: &ContactLink) -> (Option<ContactId>, ContactState) {
    match link {
        ContactLink::Pending => (None, ContactState::Pending),
        ContactLink::Linked { contact_id } => (Some(contact_id.clone()), ContactState::Linked),
        ContactLink::NeedsPick { .. } => (None, ContactState::NeedsPick),
    }
}

/// A conversation in a work list.
#[derive(Serialize, ToSchema)]
pub struct WorkItem {
    #[schema(value_type = String)]
    pub conversation_id: ConversationId,
    /// `open`, `active`, `waiting`, `wrap_up` or `closed` (and the states later issues add).
    #[schema(value_type = String, example = "active")]
    pub state: ConversationState,
    #[schema(value_type = String)]
    pub channel_id: ChannelId,
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    #[schema(value_type = Option<String>)]
    pub agent_id: Option<AgentId>,
    /// The customer's number, E.164.
    #[schema(value_type = String, example = "+15551234567")]
    pub customer: Phone,
    /// The channel's number the customer texted, E.164.
    #[schema(value_type = String, example = "+15557654321")]
    pub number: Phone,
    #[schema(value_type = Option<String>)]
    pub contact_id: Option<ContactId>,
    pub contact_state: ContactState,
    #[schema(format = DateTime)]
    pub last_message_at: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub queued_at: String,
    /// While `offered`: when the offer goes to another agent unless accepted.
    #[schema(format = DateTime)]
    pub offer_expires_at: Option<String>,
    /// A transfer under way (the note is for agents; the customer never sees it).
    pub transfer: Option<TransferView>,
    /// The name of the agent who holds it (`GET /v1/work-items/team` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
}

/// A transfer under way (issue 11.5).
#[derive(Serialize, ToSchema)]
pub struct TransferView {
    /// The agent who asked for it, holding the slot until it lands.
    #[schema(value_type = String)]
    pub from_agent_id: AgentId,
    #[schema(value_type = Option<String>)]
    pub to_agent_id: Option<AgentId>,
    #[schema(value_type = Option<String>)]
    pub to_queue_id: Option<QueueId>,
    /// The target by name, as when the transfer started: the agent's name, or "queue <name>".
    pub to_name: Option<String>,
    pub note: Option<String>,
    #[schema(format = DateTime)]
    pub started_at: String,
    /// When it goes back to the first agent unless someone took it.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

impl From<&smsdesk_domain::transfer::Transfer> for TransferView {
    fn from(t: &smsdesk_domain::transfer::Transfer) -> Self {
        use smsdesk_domain::transfer::TransferTarget;
        let (to_agent_id, to_queue_id) = match &t.target {
            TransferTarget::Agent(a) => (Some(a.clone()), None),
            TransferTarget::Queue(q) => (None, Some(q.clone())),
        };
        Self {
            from_agent_id: t.from_agent.clone(),
            to_agent_id,
            to_queue_id,
            to_name: t.target_name.clone(),
            note: t.note.clone(),
            started_at: ts(t.started_at),
            expires_at: ts(t.expires_at),
        }
    }
}

impl From<&Conversation> for WorkItem {
    fn from(c: &Conversation) -> Self {
        let (contact_id, contact_state) = contact_of(&c.contact);
        Self {
            conversation_id: c.id.clone(),
            state: c.state,
            channel_id: c.channel_id.clone(),
            queue_id: c.queue_id.clone(),
            agent_id: c.agent_id.clone(),
            customer: c.customer.clone(),
            number: c.channel_number.clone(),
            contact_id,
            contact_state,
            last_message_at: ts(c.last_message_at),
            created_at: ts(c.created_at),
            queued_at: ts(c.queued_at),
            offer_expires_at: c.offer.as_ref().map(|o| ts(o.expires_at)),
            transfer: c.transfer.as_ref().map(TransferView::from),
            agent_name: None,
        }
    }
}

/// The wrap-up an agent recorded.
#[derive(Serialize, ToSchema)]
pub struct WrapUpView {
    pub disposition: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    #[schema(value_type = Option<String>)]
    pub agent_id: Option<AgentId>,
    #[schema(format = DateTime)]
    pub at: String,
}

impl From<&WrapUp> for WrapUpView {
    fn from(w: &WrapUp) -> Self {
        Self {
            disposition: w.disposition.clone(),
            tags: w.tags.clone(),
            notes: w.notes.clone(),
            agent_id: w.agent_id.clone(),
            at: ts(w.at),
        }
    }
}

/// A conversation after a lifecycle move (`/wait`, `/end`, `/wrap-up`): the work item and its state.
#[derive(Serialize, ToSchema)]
pub struct LifecycleView {
    #[serde(flatten)]
    pub item: WorkItem,
    #[schema(value_type = String)]
    pub id: ConversationId,
    #[schema(format = DateTime)]
    pub state_changed_at: Option<String>,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub close_reason: Option<String>,
    pub wrap_up: Option<WrapUpView>,
}

impl From<&Conversation> for LifecycleView {
    fn from(c: &Conversation) -> Self {
        Self {
            item: WorkItem::from(c),
            id: c.id.clone(),
            state_changed_at: c.state_changed_at.map(ts),
            closed_at: c.closed_at.map(ts),
            close_reason: c.close_reason.clone(),
            wrap_up: c.wrap_up.as_ref().map(WrapUpView::from),
        }
    }
}

/// `POST /v1/conversations/{id}/close`.
#[derive(Serialize, ToSchema)]
pub struct ClosedView {
    #[schema(value_type = String)]
    pub id: ConversationId,
    #[schema(value_type = String, example = "closed")]
    pub state: ConversationState,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub close_reason: Option<String>,
}

/// Who wrote a message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // the schema of `Author`'s serde form
pub enum AuthorSchema {
    Customer,
    Agent,
    System,
}

/// Which way a message went.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // the schema of `Direction`'s serde form
pub enum DirectionSchema {
    Inbound,
    Outbound,
}

/// How a text is encoded on the air.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // the schema of `Encoding`'s serde form
pub enum EncodingSchema {
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

/// A media item of a conversation (no link: as the CRM and the upload answer list it).
#[derive(Clone, Serialize, ToSchema)]
pub struct MediaSummary {
    pub id: String,
    #[schema(value_type = Option<String>)]
    pub message_id: Option<MessageId>,
    #[schema(value_type = DirectionSchema)]
    pub direction: Direction,
    /// `stored` or `failed`.
    #[schema(value_type = String, example = "stored")]
    pub status: media::MediaStatus,
    pub content_type: Option<String>,
    /// `image`, `video`, `audio` or `file`.
    #[schema(value_type = Option<String>, example = "image")]
    pub kind: Option<media::MediaKind>,
    #[schema(minimum = 0)]
    pub size: Option<u64>,
    #[schema(minimum = 0)]
    pub width: Option<u32>,
    #[schema(minimum = 0)]
    pub height: Option<u32>,
    /// Why a failed item was not kept.
    pub error: Option<String>,
}

impl From<&media::MediaItem> for MediaSummary {
    fn from(item: &media::MediaItem) -> Self {
        Self {
            id: item.id.clone(),
            message_id: item.message_id.clone(),
            direction: item.direction,
            status: item.status,
            content_type: item.content_type.clone(),
            kind: item.kind,
            size: item.size,
            width: item.width,
            height: item.height,
            error: item.error.clone(),
        }
    }
}

/// A media item as the transcript shows it: a short-lived link for a stored one.
#[derive(Clone, Serialize, ToSchema)]
pub struct MediaView {
    #[serde(flatten)]
    pub summary: MediaSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub url_expires_at: Option<String>,
}

/// A message of a transcript.
#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub media: Vec<MediaView>,
    #[schema(value_type = String)]
    pub id: MessageId,
    #[schema(value_type = DirectionSchema)]
    pub direction: Direction,
    #[schema(value_type = AuthorSchema)]
    pub author: Author,
    #[schema(value_type = Option<String>)]
    pub agent_id: Option<AgentId>,
    pub text: String,
    /// `received`, `queued`, `unknown`, `sent`, `delivered`, `failed`, `undelivered`, ...
    #[schema(value_type = String, example = "delivered")]
    pub status: MessageStatus,
    #[schema(value_type = EncodingSchema)]
    pub encoding: Encoding,
    pub segments: u32,
    pub provider_message_id: Option<String>,
    /// Why it failed, as the provider said.
    pub error: Option<String>,
    pub attempts: u32,
    /// The kind of automated message (`opt_in_notice`, `greeting`, `agent_joined`, ...), for system messages
    /// the channel sent on its own.
    pub automated: Option<String>,
    /// An inbound text over the 1600-character cap, kept whole and flagged.
    pub over_limit: bool,
    /// An entry for agents only (a transfer and its note): never sent to the customer.
    pub internal: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl MessageView {
    pub fn new(m: &Message, media: Vec<MediaView>) -> Self {
        Self {
            media,
            id: m.id.clone(),
            direction: m.direction,
            author: m.author,
            agent_id: m.agent_id.clone(),
            text: m.text.clone(),
            status: m.status,
            encoding: m.encoding,
            segments: m.segments,
            provider_message_id: m.provider_message_id.clone(),
            error: m.error.clone(),
            automated: m.automated.map(|k| k.as_str().to_string()),
            over_limit: m.over_limit,
            internal: m.internal,
            attempts: m.attempts,
            created_at: ts(m.created_at),
            updated_at: ts(m.updated_at),
        }
    }
}

/// A conversation and its transcript.
#[derive(Serialize, ToSchema)]
pub struct ConversationView {
    #[schema(value_type = String)]
    pub id: ConversationId,
    #[schema(value_type = String, example = "active")]
    pub state: ConversationState,
    #[schema(value_type = String)]
    pub channel_id: ChannelId,
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    #[schema(value_type = Option<String>)]
    pub agent_id: Option<AgentId>,
    #[schema(value_type = Option<String>)]
    pub contact_id: Option<ContactId>,
    pub contact_state: ContactState,
    /// The contacts the agent may pick from when several share the customer's phone.
    #[schema(value_type = Vec<String>)]
    pub contact_candidates: Vec<ContactId>,
    #[schema(value_type = String, example = "+15551234567")]
    pub customer: Phone,
    #[schema(value_type = String, example = "+15557654321")]
    pub number: Phone,
    pub language: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_message_at: String,
    /// When it last joined its queue's line (its place there: the waiting list is longest waiting first).
    #[schema(format = DateTime)]
    pub queued_at: String,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub close_reason: Option<String>,
    /// What a queue's bot said about the customer when it handed over.
    pub handoff_context: Option<String>,
    #[schema(format = DateTime)]
    pub state_changed_at: Option<String>,
    pub wrap_up: Option<WrapUpView>,
    /// While `offered`: when the offer goes to another agent unless accepted (the console's countdown).
    #[schema(format = DateTime)]
    pub offer_expires_at: Option<String>,
    /// A transfer under way.
    pub transfer: Option<TransferView>,
    pub messages: Vec<MessageView>,
    /// Private notes for colleagues, oldest first; never sent to the customer.
    pub notes: Vec<crate::http::notes::NoteView>,
    /// Whether an agent may attach media to a reply here, and within what (the console's attach button).
    pub attachments: ReplyAttachments,
}

/// Whether a reply may carry media on the conversation's channel: the channel's `attachments.agent` switch
/// and its provider's MMS sending; when not, the reason the API would give; the limits an item must keep.
#[derive(Serialize, ToSchema, Default)]
pub struct ReplyAttachments {
    pub allowed: bool,
    /// Why not, as `POST .../media` would refuse.
    pub reason: Option<String>,
    pub max_bytes: u64,
    pub max_items: u32,
    /// The content types accepted.
    pub types: Vec<String>,
}

impl ConversationView {
    pub fn new(c: &Conversation, messages: Vec<MessageView>) -> Self {
        let (contact_id, contact_state) = contact_of(&c.contact);
        let contact_candidates = match &c.contact {
            ContactLink::NeedsPick { candidates } => candidates.clone(),
            _ => Vec::new(),
        };
        Self {
            id: c.id.clone(),
            state: c.state,
            channel_id: c.channel_id.clone(),
            queue_id: c.queue_id.clone(),
            agent_id: c.agent_id.clone(),
            contact_id,
            contact_state,
            contact_candidates,
            customer: c.customer.clone(),
            number: c.channel_number.clone(),
            language: c.language.clone(),
            created_at: ts(c.created_at),
            last_message_at: ts(c.last_message_at),
            queued_at: ts(c.queued_at),
            closed_at: c.closed_at.map(ts),
            close_reason: c.close_reason.clone(),
            handoff_context: c.routing.as_ref().and_then(|r| r.context.clone()),
            state_changed_at: c.state_changed_at.map(ts),
            wrap_up: c.wrap_up.as_ref().map(WrapUpView::from),
            offer_expires_at: c.offer.as_ref().map(|o| ts(o.expires_at)),
            transfer: c.transfer.as_ref().map(TransferView::from),
            messages,
            notes: Vec::new(),
            attachments: ReplyAttachments::default(),
        }
    }
}

/// `GET /v1/conversations/{id}/export`.
#[derive(Serialize, ToSchema)]
pub struct ExportView {
    pub conversation: ConversationExport,
}

/// The transcript, every media item of the conversation, and the CRM events written for it.
#[derive(Serialize, ToSchema)]
pub struct ConversationExport {
    #[serde(flatten)]
    pub conversation: ConversationView,
    pub media: Vec<MediaView>,
    pub crm_events: Vec<TimelineView>,
}

/// A message accepted for sending (202).
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    #[schema(value_type = String)]
    pub id: MessageId,
    #[schema(value_type = String, example = "queued")]
    pub status: MessageStatus,
    #[schema(value_type = EncodingSchema)]
    pub encoding: Encoding,
    pub segments: u32,
    /// The message this one sends again (`/resend` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resend_of: Option<String>,
}

impl Accepted {
    pub fn of(m: &Message) -> Self {
        Self {
            id: m.id.clone(),
            status: m.status,
            encoding: m.encoding,
            segments: m.segments,
            resend_of: None,
        }
    }
}

/// A proactive text accepted for sending (202).
#[derive(Serialize, ToSchema)]
pub struct ProactiveAccepted {
    #[schema(value_type = String)]
    pub id: MessageId,
    #[schema(value_type = String, example = "queued")]
    pub status: MessageStatus,
    #[schema(value_type = String)]
    pub conversation_id: ConversationId,
}

/// How a text would go out: its encoding, segments, and the characters that force UCS-2.
#[derive(Serialize, ToSchema)]
pub struct Preview {
    #[schema(value_type = EncodingSchema)]
    pub encoding: Encoding,
    pub segments: u32,
    pub characters: u32,
    /// Code units on the air (septets for GSM-7, UTF-16 units for UCS-2).
    pub units: u32,
    pub ucs2_characters: Vec<String>,
    /// Where each character that forces UCS-2 stands (character index).
    pub ucs2_positions: Vec<Ucs2Position>,
    pub max_characters: u32,
    pub over_limit: bool,
    /// The text as it would be sent: after smart encoding when the channel has it on, unless that would
    /// take it over the 1600-character cap (then as written, as the send does).
    pub text: String,
    /// What smart encoding does to the text, and whether the channel has it on.
    pub smart_encoding: SmartEncodingPreview,
}

/// A character that forces UCS-2, and where it stands.
#[derive(Serialize, ToSchema)]
pub struct Ucs2Position {
    pub position: usize,
    pub character: String,
}

/// The text after smart encoding, what it replaced, and the encoding and segments it would then take.
#[derive(Serialize, ToSchema)]
pub struct SmartEncodingPreview {
    /// Whether the channel has smart encoding on.
    pub enabled: bool,
    /// Whether the text as sent is the smart-encoded one: on, something to replace, and within the
    /// 1600-character cap (a text that smart encoding would take over it goes as written).
    pub applied: bool,
    pub text: String,
    pub changes: Vec<ReplacementView>,
    #[schema(value_type = EncodingSchema)]
    pub encoding: Encoding,
    pub segments: u32,
}

/// One look-alike smart encoding replaced (character index in the original text).
#[derive(Serialize, ToSchema)]
pub struct ReplacementView {
    pub position: usize,
    pub from: String,
    pub to: String,
}

/// A CRM contact.
#[derive(Serialize, ToSchema)]
pub struct ContactView {
    #[schema(value_type = String)]
    pub id: ContactId,
    pub name: String,
    #[schema(value_type = String, example = "+15551234567")]
    pub phone: Phone,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Contact> for ContactView {
    fn from(c: &Contact) -> Self {
        Self { id: c.id.clone(), name: c.name.clone(), phone: c.phone.clone(), created_at: ts(c.created_at) }
    }
}

/// An entry on a contact's timeline.
#[derive(Serialize, ToSchema)]
pub struct TimelineView {
    pub id: String,
    #[schema(value_type = String)]
    pub contact_id: ContactId,
    #[schema(value_type = String)]
    pub conversation_id: ConversationId,
    /// `conversation_started`, `transferred`, `conversation_closed`, ...
    pub kind: String,
    /// What the event says, by kind.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    #[schema(format = DateTime)]
    pub at: String,
}

impl From<&TimelineEvent> for TimelineView {
    fn from(e: &TimelineEvent) -> Self {
        Self {
            id: e.id.clone(),
            contact_id: e.contact_id.clone(),
            conversation_id: e.conversation_id.clone(),
            kind: e.kind.clone(),
            detail: e.detail.clone(),
            at: ts(e.at),
        }
    }
}

/// A contact and its timeline.
#[derive(Serialize, ToSchema)]
pub struct ContactWithTimeline {
    #[serde(flatten)]
    pub contact: ContactView,
    pub timeline: Vec<TimelineView>,
}

pub use crate::http::queue_views::{MenuView, QueueStats, QueueView};
pub use crate::http::teams::{TeamList, TeamSettingsBody, TeamView};

/// A queue's settings (`PATCH /v1/queues/{id}` as a JSON merge patch): `name` and any of the settings
/// [`QueueView`] shows; `bot` is `{"url", "secret"}`. A refusal is a 400 naming the field.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the request body, read as JSON
#[schema(value_type = Object)]
pub struct QueueSettings(serde_json::Value);

/// A new queue (`POST /v1/queues`): its `name`, and any of the settings [`QueueView`] shows (as in
/// [`QueueSettings`]). A refusal is a 400 naming the field.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the request body, read as JSON
pub struct NewQueue {
    /// 2 to 30 characters, each a letter, a digit, `-`, `_`, `.` or `:`.
    #[schema(min_length = 2, max_length = 30, example = "Support")]
    pub name: String,
}

/// A menu's fields (`PATCH /v1/menus/{id}` as a JSON merge patch; `default_queue: null` removes it). A
/// refusal is a 400 naming the field.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the request body, read as JSON
pub struct MenuSettings {
    #[schema(nullable = false, min_length = 1)]
    pub name: Option<String>,
    /// The menu's text per language (`en`, `es`, ...).
    #[schema(nullable = false)]
    pub text: Option<std::collections::BTreeMap<String, String>>,
    #[schema(nullable = false)]
    pub options: Option<Vec<crate::http::queue_views::MenuOptionView>>,
    #[schema(nullable = false, minimum = 1)]
    pub timeout_seconds: Option<u32>,
    pub default_queue: Option<String>,
}

/// A new keyword menu (`POST /v1/menus`). A refusal is a 400 naming the field.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the request body, read as JSON
pub struct NewMenu {
    #[schema(min_length = 1)]
    pub name: String,
    /// The menu's text per language (`en`, `es`, ...), sent as it is: it lists the options.
    pub text: std::collections::BTreeMap<String, String>,
    pub options: Vec<crate::http::queue_views::MenuOptionView>,
    /// Unanswered this long (default 300 seconds), the conversation goes to `default_queue` (or the number's
    /// queue).
    #[schema(nullable = false, minimum = 1)]
    pub timeout_seconds: Option<u32>,
    pub default_queue: Option<String>,
}

/// `PATCH /v1/agents/{id}`, a JSON merge patch: `name`, `queues` and `capacity` (1 to 100) change; other
/// fields are refused with a 400 naming them.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the request body, read as JSON
pub struct AgentPatch {
    #[schema(nullable = false, min_length = 1)]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub queues: Option<Vec<String>>,
    #[schema(nullable = false, minimum = 1, maximum = 100)]
    pub capacity: Option<u32>,
    /// The team the agent joins (one team per agent; the slots it holds move with it), or null to leave it.
    pub team_id: Option<String>,
}

/// An agent's presence.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // the schema of `Presence`'s serde form
pub enum PresenceSchema {
    Available,
    Busy,
    Away,
    Offline,
}

/// An agent's role (`GET /v1/me` adds `admin`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // the schema of `Role`'s serde form
pub enum RoleSchema {
    Agent,
    Supervisor,
}

/// The caller's role: an agent's or a supervisor's token, or the admin's.
#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallerRole {
    Agent,
    Supervisor,
    Admin,
}

/// `GET /v1/me`: who the token is (for the console).
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub role: CallerRole,
    /// None for the admin.
    #[schema(value_type = Option<String>)]
    pub agent_id: Option<AgentId>,
    pub name: String,
    /// The queues the caller serves (the admin: every queue).
    #[schema(value_type = Vec<String>)]
    pub queues: Vec<QueueId>,
    /// None for the admin.
    #[schema(value_type = Option<PresenceSchema>)]
    pub presence: Option<Presence>,
    /// The live updates' WebSocket URL when it is not `/v1/events` of this API (in AWS: the WebSocket
    /// API's `wss://` URL); same protocol either way.
    pub events_url: Option<String>,
}

/// An agent as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct AgentView {
    #[schema(value_type = String)]
    pub id: AgentId,
    pub name: String,
    #[schema(value_type = Vec<String>)]
    pub queues: Vec<QueueId>,
    pub capacity: u32,
    #[schema(value_type = PresenceSchema)]
    pub presence: Presence,
    /// Conversations the agent holds now.
    pub active: u32,
    /// The identity provider's user id (JWT `sub`) that signs in as this agent behind API Gateway.
    pub subject: Option<String>,
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    /// Offers the agent let expire in a row.
    pub missed_offers: u32,
    /// When the presence last changed (null: not since the agent was created).
    #[schema(format = DateTime)]
    pub presence_changed_at: Option<String>,
    /// The agent's team (null: none); set with `PATCH /v1/agents/{id}` `{"team_id"}`.
    #[schema(value_type = Option<String>)]
    pub team_id: Option<TeamId>,
    /// The agent's bearer token: shown once, in the answer that created the agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<&Agent> for AgentView {
    fn from(a: &Agent) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            queues: a.queues.clone(),
            capacity: a.capacity,
            presence: a.presence,
            active: a.active,
            subject: a.subject.clone(),
            role: a.role,
            missed_offers: a.missed_offers,
            presence_changed_at: a.presence_changed_at.map(ts),
            team_id: a.team_id.clone(),
            token: None,
        }
    }
}

/// A number of a channel, as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct NumberView {
    #[schema(value_type = String, example = "+15557654321")]
    pub number: Phone,
    /// `geo`, `short_code` or `toll_free`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "geo")]
    pub number_type: NumberType,
    pub description: String,
    #[schema(value_type = String)]
    pub queue: QueueId,
    /// The keyword menu the customer's first text gets.
    #[schema(value_type = Option<String>)]
    pub menu: Option<MenuId>,
    /// Messages per second this number sends at most.
    pub send_rate: f64,
}

/// What a channel may carry as attachments.
#[derive(Serialize, ToSchema)]
pub struct AttachmentsView {
    pub customer: bool,
    pub agent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
}

impl From<&AttachmentPolicy> for AttachmentsView {
    fn from(a: &AttachmentPolicy) -> Self {
        Self {
            customer: a.customer,
            agent: a.agent,
            refused_text: a.refused_text.clone(),
            max_bytes: a.max_bytes,
            max_items: a.max_items,
        }
    }
}

/// A channel: numbers in E.164, credentials redacted, the callback URL to paste into the provider's portal.
#[derive(Serialize, ToSchema)]
pub struct ChannelView {
    #[schema(value_type = String)]
    pub id: ChannelId,
    pub name: String,
    /// `telesign`, `twilio`, `acs`, `vonage`, `aws` or `sandbox`.
    #[schema(value_type = String, example = "twilio")]
    pub provider: ProviderKind,
    pub base_url: Option<String>,
    pub public_url: Option<String>,
    pub callback_url: String,
    pub numbers: Vec<NumberView>,
    /// Numbers that moved to another channel less than 7 days ago: this channel still takes its provider's
    /// late webhooks for them (receipts of earlier sends, texts in flight).
    pub former_numbers: Vec<FormerNumberView>,
    pub language: Option<String>,
    pub inactivity_secs: Option<u64>,
    pub attachments: AttachmentsView,
    pub media: MediaCapability,
    /// Whether the channel sends automated messages at all.
    pub automated_messages_enabled: bool,
    /// The automated messages in effect, by language then kind (the channel's own texts over the defaults).
    #[schema(value_type = Object)]
    pub automated_messages: serde_json::Value,
    /// The consent keywords in effect, by language (built-in and the admin's).
    #[schema(value_type = Object)]
    pub consent_keywords: serde_json::Value,
    /// The words a customer texts to pick a language, by language (built-in and the admin's).
    pub language_keywords: std::collections::BTreeMap<String, Vec<String>>,
    pub smart_encoding: bool,
    /// The provider's credential fields, secrets redacted.
    #[schema(value_type = Object)]
    pub credentials: serde_json::Value,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Open conversations moved here with their numbers (`PUT .../numbers` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_conversations: Option<u64>,
}

/// A number that left the channel: when, and until when its late webhooks are still taken here.
#[derive(Serialize, ToSchema)]
pub struct FormerNumberView {
    #[schema(value_type = String, example = "+15555550100")]
    pub number: Phone,
    #[schema(format = DateTime)]
    pub left_at: String,
    #[schema(format = DateTime)]
    pub late_webhooks_until: String,
}

/// What media a channel carries (issue 14): its provider's support each way (with the reason where a
/// direction is missing) and the limits an item must keep (the channel's, within its provider's).
#[derive(Serialize, ToSchema)]
pub struct MediaCapability {
    pub inbound: bool,
    pub outbound: bool,
    pub note: Option<String>,
    pub max_bytes: u64,
    pub max_items: u32,
    /// The most bytes one message's attachments may add up to (the provider's limit per message, e.g.
    /// Twilio's 5 MB), when it has one beyond `max_bytes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_message_bytes: Option<u64>,
    /// The content types accepted.
    pub types: Vec<String>,
}

/// The provider's answer to the cheapest read-only call with the channel's credentials.
#[derive(Serialize, ToSchema)]
pub struct ValidationView {
    pub valid: bool,
    /// Why the provider refused the credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A media item uploaded by an agent (201): its `id` goes in a reply's `media` list.
pub type Uploaded = MediaSummary;

/// The sandbox's inbound text, queued (202).
#[derive(Serialize, ToSchema)]
pub struct SandboxAccepted {
    #[schema(example = "accepted")]
    pub status: String,
    pub queued: u64,
}

/// A send the sandbox provider recorded.
#[derive(Serialize, ToSchema)]
pub struct OutboxView {
    pub id: String,
    #[schema(value_type = String)]
    pub channel_id: ChannelId,
    #[schema(value_type = String, example = "+15557654321")]
    pub from: Phone,
    #[schema(value_type = String, example = "+15551234567")]
    pub to: Phone,
    pub text: String,
    pub external_id: Option<String>,
    #[schema(format = DateTime)]
    pub at: String,
}

impl From<&OutboxEntry> for OutboxView {
    fn from(e: &OutboxEntry) -> Self {
        Self {
            id: e.id.clone(),
            channel_id: e.channel_id.clone(),
            from: e.from.clone(),
            to: e.to.clone(),
            text: e.text.clone(),
            external_id: e.external_id.clone(),
            at: ts(e.at),
        }
    }
}

/// A customer's consent (issue 10.1): per number of every channel, organization-wide, and every change with
/// its time, number and cause (the audit trail).
#[derive(Serialize, ToSchema)]
pub struct ConsentView {
    #[schema(value_type = String, example = "+15551234567")]
    pub phone: Phone,
    pub opted_out_everywhere: bool,
    pub numbers: Vec<ConsentNumberView>,
    /// Every consent change, oldest first: `event` (`opt_out`, `opt_in`), `cause` (`keyword`,
    /// `provider_error`, `admin`, `migrated`), `number` (absent: every number), `at`.
    #[schema(value_type = Vec<Object>)]
    pub history: serde_json::Value,
}

/// Whether the customer is opted out of one of our numbers.
#[derive(Serialize, ToSchema)]
pub struct ConsentNumberView {
    #[schema(value_type = String)]
    pub number: Phone,
    #[schema(value_type = String)]
    pub channel_id: ChannelId,
    pub opted_out: bool,
}

list! {
    /// Quick replies as an admin keeps them (`GET /v1/quick-replies`), or filled in for one conversation
    /// (`GET /v1/quick-replies?conversation_id=`).
    QuickReplyList of QuickReplyView;
}

/// A quick reply (issue 10.6). Listed for a conversation, `text` has its placeholders filled in.
#[derive(Serialize, ToSchema)]
pub struct QuickReplyView {
    #[schema(value_type = String, example = "qr_0192...")]
    pub id: QuickReplyId,
    /// The queue whose agents get it; null: every queue.
    #[schema(value_type = Option<String>)]
    pub queue_id: Option<QueueId>,
    #[schema(example = "es")]
    pub language: String,
    /// What the agent types after `/` in the console.
    #[schema(example = "refund")]
    pub shortcut: String,
    pub title: String,
    /// Placeholders: `{customer_name}`, `{customer_first_name}`, `{agent_name}`, `{conversation_id}`,
    /// `{queue_name}` (filled in when listed for a conversation; an unknown value is left out).
    pub text: String,
    pub created_at: String,
}

impl QuickReplyView {
    pub fn of(reply: &QuickReply) -> Self {
        Self {
            id: reply.id.clone(),
            queue_id: reply.queue_id.clone(),
            language: reply.language.clone(),
            shortcut: reply.shortcut.clone(),
            title: reply.title.clone(),
            text: reply.text.clone(),
            created_at: ts(reply.created_at),
        }
    }
}

/// A quick reply's fields (`PATCH /v1/quick-replies/{id}` as a JSON merge patch; `POST /v1/quick-replies`
/// takes [`NewQuickReply`]): `language` defaults to `en`; `queue_id` null or absent: every queue. A refusal is a 400 naming the field; a shortcut taken in the same queue and
/// language is a 409 `shortcut_taken`.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the request body, read as JSON
pub struct QuickReplySettings {
    pub queue_id: Option<String>,
    #[schema(nullable = false)]
    pub language: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 32)]
    pub shortcut: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 80)]
    pub title: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 1600)]
    pub text: Option<String>,
}

/// A new quick reply (`POST /v1/quick-replies`): as [`QuickReplySettings`], with `shortcut`, `title` and
/// `text` required.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the request body, read as JSON
pub struct NewQuickReply {
    /// The queue whose agents get it; null or absent: every queue.
    pub queue_id: Option<String>,
    /// A language tag (default `en`).
    #[schema(nullable = false)]
    pub language: Option<String>,
    /// Lowercase letters, digits, `-` and `_`.
    #[schema(min_length = 1, max_length = 32, example = "refund")]
    pub shortcut: String,
    #[schema(min_length = 1, max_length = 80)]
    pub title: String,
    #[schema(min_length = 1, max_length = 1600)]
    pub text: String,
}

/// A customer's language (`/v1/customers/{phone}/language`).
#[derive(Serialize, ToSchema)]
pub struct CustomerLanguageView {
    /// The customer's number, E.164.
    #[schema(value_type = String)]
    pub customer: Phone,
    /// The language tag the customer's conversations start in; null: the channel's default.
    pub language: Option<String>,
    /// `keyword` (the customer texted a language keyword) or `admin`; null when none is kept.
    pub source: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

impl CustomerLanguageView {
    pub fn of(customer: Phone, kept: Option<smsdesk_ports::CustomerLanguage>) -> Self {
        Self {
            customer,
            language: kept.as_ref().map(|k| k.language.clone()),
            source: kept.as_ref().map(|k| k.source.clone()),
            updated_at: kept.map(|k| ts(k.at)),
        }
    }
}

/// `PUT /v1/customers/{phone}/language`: a language smsdesk has texts for (`en`, `es`, and any a channel adds).
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerLanguageBody {
    pub language: String,
}

/// `GET /console/config.json` (no token): how the console signs in, with a token (`smsdesk dev` by default)
/// or through an OpenID Connect issuer (Authorization Code with PKCE, public client).
#[derive(Serialize, ToSchema)]
#[serde(tag = "sign_in", rename_all = "snake_case")]
pub enum ConsoleConfig {
    /// Paste a token.
    Token,
    /// Sign in at the issuer.
    Oidc {
        #[schema(example = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc")]
        issuer: String,
        client_id: String,
        scopes: Vec<String>,
    },
}
