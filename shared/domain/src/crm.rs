//! What to do with the customer's CRM contact, given the contacts that share their phone number.

use crate::ids::ContactId;
use crate::model::{Contact, ContactLink};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactDecision {
    /// Nobody has this number: create a contact.
    Create,
    /// Exactly one contact: link the conversation to it.
    Link(ContactId),
    /// Several contacts share it: link none, the agent picks.
    AgentPicks(Vec<ContactId>),
}

pub fn decide(contacts: &[Contact]) -> ContactDecision {
    match contacts {
        [] => ContactDecision::Create,
        [one] => ContactDecision::Link(one.id.clone()),
        many => ContactDecision::AgentPicks(many.iter().map(|c| c.id.clone()).collect()),
    }
}

impl ContactDecision {
    /// The link the conversation gets once the decision is carried out (`Create` links the new contact).
    pub fn link(&self, created: Option<&ContactId>) -> ContactLink {
        match (self, created) {
            (ContactDecision::Link(id), _) | (ContactDecision::Create, Some(id)) => {
                ContactLink::Linked { contact_id: id.clone() }
            }
            (ContactDecision::AgentPicks(ids), _) => ContactLink::NeedsPick { candidates: ids.clone() },
            (ContactDecision::Create, None) => ContactLink::Pending,
        }
    }
}

/// Messages per `transcript` entry on a contact's timeline: a long conversation is written as several
/// entries, so each stays well inside a queue message and a store item (20 texts of at most 1600
/// characters, 4 bytes each at worst: 128 KB).
pub const TRANSCRIPT_PART: usize = 20;

/// The `transcript` entries written on the contact when a conversation closes: every message, system
/// messages included, in transcript order, [`TRANSCRIPT_PART`] per entry, each naming its part and how
/// many there are. No message: no entry.
pub fn transcript_parts(messages: &[crate::model::Message]) -> Vec<serde_json::Value> {
    let parts = messages.len().div_ceil(TRANSCRIPT_PART);
    let at = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).ok();
    messages
        .chunks(TRANSCRIPT_PART)
        .enumerate()
        .map(|(i, chunk)| {
            let lines: Vec<serde_json::Value> = chunk
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "message_id": m.id, "at": at(m.created_at), "direction": m.direction,
                        "author": m.author, "agent_id": m.agent_id, "automated": m.automated,
                        "text": m.text, "status": m.status,
                    })
                })
                .collect();
            serde_json::json!({"part": i + 1, "parts": parts, "messages": lines})
        })
        .collect()
}

/// A contact's display name when smsdesk creates it from a first text.
pub fn default_contact_name(phone: &crate::phone::Phone) -> String {
    format!("SMS customer {}", phone.e164())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::Phone;
    use time::macros::datetime;

    fn contact(id: &str) -> Contact {
        Contact {
            id: ContactId::new(id),
            name: id.into(),
            phone: Phone::parse("+15555550100").unwrap(),
            created_at: datetime!(2026-01-01 0:00 UTC),
        }
    }

    fn message(i: usize, author: crate::model::Author) -> crate::model::Message {
        use crate::model::{Author, Direction, Encoding};
        crate::model::Message {
            id: crate::ids::MessageId::new(format!("msg_{i}")),
            conversation_id: crate::ids::ConversationId::new("cv_1"),
            channel_id: crate::ids::ChannelId::new("ch_1"),
            direction: if author == Author::Customer { Direction::Inbound } else { Direction::Outbound },
            author,
            agent_id: None,
            text: format!("text {i}"),
            status: crate::status::MessageStatus::Sent,
            encoding: Encoding::Gsm7,
            segments: 1,
            provider_message_id: None,
            error: None,
            attempts: 1,
            automated: None,
            over_limit: false,
            internal: false,
            media: Vec::new(),
            created_at: datetime!(2026-01-01 10:00 UTC) + time::Duration::seconds(i as i64),
            updated_at: datetime!(2026-01-01 10:00 UTC),
        }
    }

    #[test]
    fn the_transcript_is_written_whole_in_order_system_messages_included() {
        use crate::model::Author;
        assert!(transcript_parts(&[]).is_empty(), "nothing said: no entry");
        let authors = [Author::System, Author::Customer, Author::Agent];
        let messages: Vec<_> = (0..TRANSCRIPT_PART * 2 + 1).map(|i| message(i, authors[i % 3])).collect();
        let parts = transcript_parts(&messages);
        assert_eq!(parts.len(), 3);
        let mut texts = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            assert_eq!((part["part"].as_u64(), part["parts"].as_u64()), (Some(i as u64 + 1), Some(3)));
            for m in part["messages"].as_array().unwrap() {
                texts.push(m["text"].as_str().unwrap().to_string());
            }
        }
        let want: Vec<String> = messages.iter().map(|m| m.text.clone()).collect();
        assert_eq!(texts, want, "every message, in order");
        assert_eq!(parts[0]["messages"][0]["author"], "system");
        assert_eq!(parts[0]["messages"][0]["at"], "2026-01-01T10:00:00Z");
    }

    #[test]
    fn none_one_many() {
        assert_eq!(decide(&[]), ContactDecision::Create);
        assert_eq!(decide(&[contact("ct_1")]), ContactDecision::Link(ContactId::new("ct_1")));
        assert_eq!(
            decide(&[contact("ct_1"), contact("ct_2")]),
            ContactDecision::AgentPicks(vec![ContactId::new("ct_1"), ContactId::new("ct_2")])
        );
    }
}
