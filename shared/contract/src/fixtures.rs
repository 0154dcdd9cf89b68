//! Builders for records, with fresh ids and phone numbers on every call, so that tests can share one
//! backend (and one run can follow another on the same tables) without colliding.

use smsdesk_domain::*;
use time::{Duration, OffsetDateTime};

/// A fresh id with the given prefix (`ch_`, `cv_`, ...): UUIDv7, so ids made later sort later.
pub fn id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

/// A short random tag that names one run of a suite (queue bodies and dedupe keys carry it).
pub fn run_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The current time cut to whole milliseconds, the precision every adapter keeps.
pub fn now() -> OffsetDateTime {
    millis(OffsetDateTime::now_utc())
}

/// A time past every offer the contracts make (they expire within a minute of [`now`]): when a missed offer
/// is recorded, as the timers record it.
pub fn past_offers() -> OffsetDateTime {
    now() + time::Duration::hours(1)
}

/// `t` cut to whole milliseconds.
pub fn millis(t: OffsetDateTime) -> OffsetDateTime {
    let ms = t.nanosecond() / 1_000_000 * 1_000_000;
    t.replace_nanosecond(ms).unwrap_or(t)
}

/// A far-past instant unique to this call (somewhere in 2001), for tests that look for old records
/// (idle conversations) without seeing those of other runs.
pub fn ancient() -> OffsetDateTime {
    let base = time::macros::datetime!(2001-01-01 00:00 UTC);
    let offset = (uuid::Uuid::new_v4().as_u128() % 300_000_000) as i64;
    base + Duration::seconds(offset)
}

/// A fresh, valid UK mobile number (+44 7xxx xxxxxx), random enough not to collide between runs.
pub fn phone() -> Phone {
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000_000;
    let digits = format!("447{n:09}");
    match Phone::parse_digits(&digits) {
        Ok(p) => p,
        Err(e) => panic!("fixture phone {digits} did not parse: {e}"),
    }
}

pub fn work_queue() -> WorkQueue {
    WorkQueue::new(QueueId::new(id("q_")), format!("queue {}", run_tag()), now())
}

/// A sandbox channel with one geo number that routes to `queue`.
pub fn channel(queue: &QueueId) -> Channel {
    Channel {
        id: ChannelId::new(id("ch_")),
        name: "contract channel".into(),
        provider: ProviderKind::Sandbox,
        base_url: Some("http://127.0.0.1:9".into()),
        public_url: None,
        numbers: vec![ChannelNumber {
            number: phone(),
            number_type: NumberType::Geo,
            description: "support".into(),
            queue: queue.clone(),
            menu: None,
            send_rate: None,
        }],
        language: Some("en".into()),
        attachments: AttachmentPolicy { customer: true, agent: false, ..AttachmentPolicy::default() },
        created_at: now(),
        messaging: Default::default(),
        inactivity_secs: None,
        former_numbers: Vec::new(),
    }
}

/// An agent serving `queues`, with no conversation yet.
pub fn agent(queues: &[QueueId], capacity: u32, presence: Presence) -> Agent {
    Agent {
        id: AgentId::new(id("ag_")),
        name: "contract agent".into(),
        queues: queues.to_vec(),
        capacity,
        presence,
        active: 0,
        last_assigned_at: None,
        created_at: now(),
        subject: None,
        role: Default::default(),
        missed_offers: 0,
        presence_changed_at: None,
        team_id: None,
    }
}

/// A waiting conversation of `customer` on `number` of `channel`, queued at `at`.
pub fn conversation(
    channel: &ChannelId,
    number: &Phone,
    customer: &Phone,
    queue: &QueueId,
    at: OffsetDateTime,
) -> Conversation {
    Conversation {
        id: ConversationId::new(id("cv_")),
        channel_id: channel.clone(),
        channel_number: number.clone(),
        customer: customer.clone(),
        queue_id: queue.clone(),
        agent_id: None,
        state: ConversationState::Open,
        contact: ContactLink::Pending,
        language: None,
        created_at: at,
        last_message_at: at,
        queued_at: at,
        closed_at: None,
        close_reason: None,
        routing: None,
        state_changed_at: None,
        wrap_up: None,
        offer: None,
        refused_by: Vec::new(),
        declined_at: None,
        declined_by: Vec::new(),
        transfer: None,
    }
}

/// A waiting conversation on fresh ids and phones, queued now in `queue`.
pub fn fresh_conversation(queue: &QueueId) -> Conversation {
    conversation(&ChannelId::new(id("ch_")), &phone(), &phone(), queue, now())
}

/// An outbound agent message in `status`, created at `at`.
pub fn outbound_message(conversation: &Conversation, status: MessageStatus, at: OffsetDateTime) -> Message {
    Message {
        id: MessageId::new(id("msg_")),
        conversation_id: conversation.id.clone(),
        channel_id: conversation.channel_id.clone(),
        direction: Direction::Outbound,
        author: Author::Agent,
        agent_id: conversation.agent_id.clone(),
        text: "How can I help?".into(),
        status,
        encoding: Encoding::Gsm7,
        segments: 1,
        provider_message_id: None,
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

/// An inbound customer message with the provider's id, created at `at`.
pub fn inbound_message(
    conversation: &Conversation,
    provider_message_id: &str,
    at: OffsetDateTime,
) -> Message {
    Message {
        id: MessageId::for_inbound(&conversation.channel_id, provider_message_id),
        conversation_id: conversation.id.clone(),
        channel_id: conversation.channel_id.clone(),
        direction: Direction::Inbound,
        author: Author::Customer,
        agent_id: None,
        text: "Hi, my parcel is late".into(),
        status: MessageStatus::Received,
        encoding: Encoding::Gsm7,
        segments: 1,
        provider_message_id: Some(provider_message_id.into()),
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

pub fn contact(phone: &Phone) -> Contact {
    Contact {
        id: ContactId::new(id("ct_")),
        name: "Ada Lovelace".into(),
        phone: phone.clone(),
        created_at: now(),
    }
}

pub fn timeline_event(contact: &ContactId, kind: &str, at: OffsetDateTime) -> TimelineEvent {
    TimelineEvent {
        id: id("ev_"),
        contact_id: contact.clone(),
        conversation_id: ConversationId::new(id("cv_")),
        kind: kind.into(),
        detail: serde_json::json!({"queue": "billing"}),
        at,
    }
}

pub fn outbox_entry(channel: &ChannelId, at: OffsetDateTime) -> OutboxEntry {
    OutboxEntry {
        id: id("ob_"),
        channel_id: channel.clone(),
        from: phone(),
        to: phone(),
        text: "hello from the sandbox".into(),
        external_id: Some(id("msg_")),
        at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_valid_and_fresh() {
        let a = phone();
        assert!(a.e164().starts_with("+447"));
        assert_ne!(a, phone());
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = id("cv_");
        let b = id("cv_");
        assert!(a < b, "{a} < {b}");
    }

    #[test]
    fn times_are_whole_milliseconds() {
        assert_eq!(now().nanosecond() % 1_000_000, 0);
        assert!((2001..=2010).contains(&ancient().year()));
    }
}
