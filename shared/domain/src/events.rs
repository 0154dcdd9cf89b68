//! What travels on the queues between the functions. Each payload is JSON; each consumer is idempotent.

use crate::ids::*;
use crate::model::rfc3339;
use crate::phone::Phone;
use crate::status::MessageStatus;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How a handled event is recognised when its webhook is replayed ([`InboundEvent::known_by`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Known {
    /// By the message the text was stored as.
    Message(MessageId),
    /// By this dedupe key, remembered once the event is handled.
    Key(String),
    /// Not at all: a replay is handled again, and changes nothing.
    Not,
}

/// inbound-webhook -> router. FIFO group: channel + customer phone; dedupe id: the provider's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboundEvent {
    Message(InboundMessage),
    Receipt(DeliveryReceipt),
}

impl InboundEvent {
    pub fn channel_id(&self) -> &ChannelId {
        match self {
            InboundEvent::Message(m) => &m.channel_id,
            InboundEvent::Receipt(r) => &r.channel_id,
        }
    }

    /// The FIFO group: one customer's texts on one channel stay in order.
    pub fn group(&self) -> String {
        match self {
            InboundEvent::Message(m) => format!("{}:{}", m.channel_id, m.from.digits()),
            InboundEvent::Receipt(r) => format!("{}:dlr:{}", r.channel_id, r.provider_message_id),
        }
    }

    /// How a replay of this event is recognised once the event has been handled, to turn it away at the
    /// webhook for as long as that lasts: a text's replay would reach keyword answers and automated texts
    /// again. (The queue drops either kind of replay within minutes in any case.)
    pub fn known_by(&self) -> Known {
        match self {
            // A whole text is stored under an id derived from the provider's: that message is the memory,
            // for as long as the transcript is kept, and no other item need be written for it.
            InboundEvent::Message(m) if m.part.is_none() => {
                Known::Message(MessageId::for_inbound(&m.channel_id, &m.provider_message_id))
            }
            // A part of a multipart text is filed with the text its group makes, under the group's id: its
            // own key is remembered.
            InboundEvent::Message(_) => Known::Key(self.dedupe_key()),
            // Applied again, a receipt changes nothing (a status only moves forward): remembering it would
            // cost a write and a read per receipt to save a read.
            InboundEvent::Receipt(_) => Known::Not,
        }
    }

    /// The deduplication key: a replayed webhook has the same one.
    pub fn dedupe_key(&self) -> String {
        match self {
            InboundEvent::Message(m) => format!("{}:mo:{}", m.channel_id, m.provider_message_id),
            InboundEvent::Receipt(r) => {
                format!("{}:dlr:{}:{}", r.channel_id, r.provider_message_id, r.provider_status_code)
            }
        }
    }
}

/// A text from a customer, normalized from any provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub channel_id: ChannelId,
    pub provider_message_id: String,
    /// The customer.
    pub from: Phone,
    /// Our number.
    pub to: Phone,
    pub text: String,
    #[serde(with = "rfc3339")]
    pub received_at: OffsetDateTime,
    /// When the provider delivers a long text as separate parts (Vonage `concat-*`): which part this is.
    /// `None` for a whole text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<MessagePart>,
    /// Media the provider announced with the text (MMS), in its order; fetched by the router.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<crate::media::MediaRef>,
}

/// One part of a multipart text, as the provider numbered it: parts sharing `reference` (from the same
/// customer to the same number) make one text, in `number` order, 1 to `total`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePart {
    pub reference: String,
    pub number: u32,
    pub total: u32,
}

/// A provider's delivery report for one of our outbound messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReceipt {
    pub channel_id: ChannelId,
    /// The provider's id of the outbound message (TeleSign `reference_id`).
    pub provider_message_id: String,
    /// Our message id, when the provider echoes it (TeleSign `external_id`).
    pub external_id: Option<String>,
    pub status: MessageStatus,
    /// The provider's own status code, kept for the transcript and for dedupe.
    pub provider_status_code: String,
    pub description: Option<String>,
    #[serde(with = "rfc3339")]
    pub at: OffsetDateTime,
    /// The provider says the send failed because the customer opted out with it (Twilio 21610 in a status
    /// callback): recorded as the customer's opt-out, so nothing more is tried. Absent in reports queued
    /// before the field existed.
    #[serde(default)]
    pub opted_out: bool,
}

/// agent-api / router -> outbound-send. FIFO group: the conversation (or, for proactive sends, the
/// recipient); dedupe id: the message id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundJob {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
}

impl OutboundJob {
    pub fn group(&self) -> String {
        self.conversation_id.to_string()
    }

    pub fn dedupe_key(&self) -> String {
        self.message_id.to_string()
    }
}

/// router / agent-api -> crm-upsert (standard queue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum CrmJob {
    /// Find or create the customer's contact and link the conversation; write `conversation_started`.
    LinkConversation { conversation_id: ConversationId },
    /// Write a timeline event on the conversation's contact (transfer, close, ...).
    Timeline {
        conversation_id: ConversationId,
        event_id: String,
        kind: String,
        detail: serde_json::Value,
        #[serde(with = "rfc3339")]
        at: OffsetDateTime,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// A customer's text (or part of one) on `ch_1`, with the provider's id `id`.
    fn text(id: &str, part: Option<MessagePart>) -> InboundEvent {
        InboundEvent::Message(InboundMessage {
            channel_id: ChannelId::new("ch_1"),
            provider_message_id: id.into(),
            from: Phone::parse("+15555550100").unwrap(),
            to: Phone::parse("+15555550199").unwrap(),
            text: "hello".into(),
            received_at: datetime!(2026-11-23 10:00 UTC),
            part,
            media: Vec::new(),
        })
    }

    #[test]
    fn inbound_event_round_trips_as_json() {
        let ev = text("ABC", None);
        let json = serde_json::to_string(&ev).unwrap();
        assert!(json.contains("\"kind\":\"message\""));
        let back: InboundEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ev);
        assert_eq!(ev.group(), "ch_1:15555550100");
        assert_eq!(ev.dedupe_key(), "ch_1:mo:ABC");
        let stored = MessageId::for_inbound(&ChannelId::new("ch_1"), "ABC");
        assert_eq!(ev.known_by(), Known::Message(stored), "a whole text is known by its stored message");
    }

    #[test]
    fn a_part_is_known_by_its_key_and_a_receipt_not_at_all() {
        let part = text("P2", Some(MessagePart { reference: "7".into(), number: 2, total: 2 }));
        assert_eq!(part.known_by(), Known::Key("ch_1:mo:P2".into()));
        let receipt = InboundEvent::Receipt(DeliveryReceipt {
            channel_id: ChannelId::new("ch_1"),
            provider_message_id: "R1".into(),
            external_id: None,
            status: MessageStatus::Delivered,
            provider_status_code: "200".into(),
            description: None,
            at: datetime!(2026-11-23 10:00 UTC),
            opted_out: false,
        });
        assert_eq!(receipt.known_by(), Known::Not);
    }
}
