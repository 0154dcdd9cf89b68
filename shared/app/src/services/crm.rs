//! crm-upsert: the customer's contact is found by phone. None: create it. One: link the conversation.
//! Several: link none and let the agent pick. Timeline events go to the linked contact. Idempotent.

use crate::App;
use crate::services::outcome_for;
use async_trait::async_trait;
use smsdesk_domain::crm::{ContactDecision, decide, default_contact_name};
use smsdesk_domain::events::CrmJob;
use smsdesk_domain::*;
use smsdesk_ports::{Consumer, ContactCreate, Outcome, PortResult, QueueKind, QueueMessage, Received};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Asks crm-upsert to find or create the conversation's contact.
pub async fn request_link(app: &App, conversation: &ConversationId) -> PortResult<()> {
    send(app, &CrmJob::LinkConversation { conversation_id: conversation.clone() }).await
}

/// Asks crm-upsert to write an event on the conversation's contact timeline.
pub async fn timeline(
    app: &App,
    conversation: &ConversationId,
    kind: &str,
    detail: serde_json::Value,
) -> PortResult<()> {
    let at = app.clock.now();
    let event_id = format!("{conversation}:{kind}:{}", at.unix_timestamp_nanos());
    send(
        app,
        &CrmJob::Timeline {
            conversation_id: conversation.clone(),
            event_id,
            kind: kind.to_string(),
            detail,
            at,
        },
    )
    .await
}

/// Asks crm-upsert to write an event whose id derives from what caused it (`<conversation>:<key>`), so a
/// cause handled twice writes it once.
pub async fn timeline_once(
    app: &App,
    conversation: &ConversationId,
    key: &str,
    kind: &str,
    detail: serde_json::Value,
) -> PortResult<()> {
    let job = CrmJob::Timeline {
        conversation_id: conversation.clone(),
        event_id: format!("{conversation}:{key}"),
        kind: kind.to_string(),
        detail,
        at: app.clock.now(),
    };
    send(app, &job).await
}

/// The full transcript, system messages included, on the contact when the conversation closes (in parts,
/// [`smsdesk_domain::crm::transcript_parts`]).
pub async fn transcript(app: &App, conversation: &ConversationId) -> PortResult<()> {
    let messages = app.store.list_messages(conversation).await?;
    for (i, detail) in smsdesk_domain::crm::transcript_parts(&messages).into_iter().enumerate() {
        timeline_once(app, conversation, &format!("transcript:{}", i + 1), "transcript", detail).await?;
    }
    Ok(())
}

async fn send(app: &App, job: &CrmJob) -> PortResult<()> {
    let body = serde_json::to_string(job).map_err(|e| smsdesk_ports::PortError::Backend(e.to_string()))?;
    app.queue.send(QueueKind::Crm, QueueMessage { body, group: None, dedupe_id: None }).await
}

/// How long a timeline event waits before it is tried again when the conversation's contact link is still
/// pending.
pub const LINK_WAIT: Duration = Duration::from_secs(2);

pub struct CrmConsumer {
    app: Arc<App>,
}

impl CrmConsumer {
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

#[async_trait]
impl Consumer for CrmConsumer {
    async fn consume(&self, message: &Received) -> Outcome {
        let job: CrmJob = match serde_json::from_str(&message.body) {
            Ok(j) => j,
            Err(e) => return Outcome::Failed(format!("crm job is not valid JSON: {e}")),
        };
        let (job_kind, conversation) = match &job {
            CrmJob::LinkConversation { conversation_id } => ("link_conversation", conversation_id),
            CrmJob::Timeline { conversation_id, .. } => ("timeline", conversation_id),
        };
        // Every line of the job names its conversation, as routing and sending do.
        let span = tracing::info_span!("crm", job = job_kind, conversation_id = %conversation);
        let result = match &job {
            CrmJob::LinkConversation { conversation_id } => {
                link_conversation(&self.app, conversation_id).instrument(span).await
            }
            CrmJob::Timeline { conversation_id, event_id, kind, detail, at } => {
                write_timeline(&self.app, conversation_id, event_id, kind, detail, *at).instrument(span).await
            }
        };
        match result {
            Ok(Step::Done) => Outcome::Done,
            Ok(Step::Later) => {
                tracing::info!(
                    job = job_kind, conversation = %conversation,
                    reason = "the conversation's contact is not linked yet (its link job has not run)",
                    "crm job will retry"
                );
                Outcome::RetryAfter(LINK_WAIT)
            }
            Ok(Step::Unpicked) => match pick_wait(message.receive_count) {
                Some(delay) => {
                    tracing::info!(job = job_kind, conversation = %conversation, ?delay, "timeline event waits for the agent to pick the contact");
                    Outcome::RetryAfter(delay)
                }
                // Dead-lettered with the reason, never dropped: once a contact is picked, a redrive of
                // the dead letters writes it.
                None => Outcome::Failed(format!(
                    "no contact was picked for conversation {conversation} in time: several contacts share the \
                     customer's phone"
                )),
            },
            Err(e) => {
                tracing::warn!(job = job_kind, conversation = %conversation, error = %e, "crm job failed on storage");
                outcome_for(&e, message, QueueKind::Crm)
            }
        }
    }
}

enum Step {
    Done,
    /// The contact is not linked yet (its link job has not run): come back shortly.
    Later,
    /// Several contacts share the phone and none is picked yet: come back once the agent may have picked.
    Unpicked,
}

/// How long a timeline event waits for the agent's pick before delivery `receive_count` + 1: from
/// [`LINK_WAIT`] doubling to a minute, about a quarter of an hour in all, below the CRM queue's receive limit;
/// None once that is spent.
fn pick_wait(receive_count: u32) -> Option<Duration> {
    let tries = QueueKind::Crm.max_receives().saturating_sub(1);
    (receive_count < tries).then(|| super::doubling(receive_count, LINK_WAIT, Duration::from_secs(60)))
}

async fn link_conversation(app: &App, id: &ConversationId) -> PortResult<Step> {
    let Some(conversation) = app.store.get_conversation(id).await? else { return Ok(Step::Done) };
    if conversation.contact == ContactLink::Pending {
        link(app, &conversation).await?;
    }
    Ok(Step::Done)
}

/// Finds or creates the contact of a conversation whose link is pending, and links it (the
/// `conversation_started` entry with it). Idempotent: the contact is created only if none has the phone, so
/// two jobs linking at once link the same contact.
async fn link(app: &App, conversation: &Conversation) -> PortResult<ContactLink> {
    let contacts = app.store.contacts_by_phone(&conversation.customer).await?;
    let link = match decide(&contacts) {
        ContactDecision::Create => {
            let contact = Contact {
                id: ContactId::new(app.ids.new_id(ContactId::PREFIX)),
                name: default_contact_name(&conversation.customer),
                phone: conversation.customer.clone(),
                created_at: app.clock.now(),
            };
            match app.store.create_contact_if_none(&contact).await? {
                ContactCreate::Created(c) => {
                    tracing::info!(contact = %c.id, "contact created");
                    ContactLink::Linked { contact_id: c.id }
                }
                ContactCreate::Existing(existing) => decide(&existing).link(None),
            }
        }
        decision => decision.link(None),
    };
    // The entry first, then the link: a job that fails between the two finds the link still pending when
    // it comes back and writes both (the entry once: its id is the conversation's).
    if let ContactLink::Linked { contact_id } = &link {
        started_event(app, conversation, contact_id).await?;
    }
    app.store.set_contact_link(&conversation.id, &link).await?;
    Ok(link)
}

/// The `conversation_started` entry, written once a contact is linked (by crm-upsert, or the agent's pick).
pub async fn started_event(app: &App, conversation: &Conversation, contact: &ContactId) -> PortResult<()> {
    let event = TimelineEvent {
        id: format!("{}:conversation_started", conversation.id),
        contact_id: contact.clone(),
        conversation_id: conversation.id.clone(),
        kind: "conversation_started".into(),
        detail: serde_json::json!({
            "channel_id": conversation.channel_id,
            "number": conversation.channel_number,
            "queue_id": conversation.queue_id,
            "language": conversation.language,
        }),
        at: conversation.created_at,
    };
    app.store.append_timeline(&event).await
}

async fn write_timeline(
    app: &App,
    id: &ConversationId,
    event_id: &str,
    kind: &str,
    detail: &serde_json::Value,
    at: time::OffsetDateTime,
) -> PortResult<Step> {
    let Some(conversation) = app.store.get_conversation(id).await? else { return Ok(Step::Done) };
    // An event that comes before the conversation's link job (the agent's join, a few milliseconds after the
    // text) links the contact itself rather than coming back later.
    let contact = match &conversation.contact {
        ContactLink::Pending => link(app, &conversation).await?,
        linked => linked.clone(),
    };
    match &contact {
        ContactLink::Linked { contact_id } => {
            let event = TimelineEvent {
                id: event_id.to_string(),
                contact_id: contact_id.clone(),
                conversation_id: conversation.id.clone(),
                kind: kind.to_string(),
                detail: detail.clone(),
                at,
            };
            app.store.append_timeline(&event).await?;
            Ok(Step::Done)
        }
        ContactLink::Pending => Ok(Step::Later),
        // Several contacts share the phone and the agent has not picked one yet: the event waits for the
        // pick, so it lands on the contact the agent picks.
        ContactLink::NeedsPick { .. } => Ok(Step::Unpicked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_waits_for_the_pick_about_a_quarter_of_an_hour_then_is_dead_lettered() {
        let waits: Vec<Option<Duration>> = (1..=20).map(pick_wait).collect();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(&waits[..7], [secs(2), secs(4), secs(8), secs(16), secs(32), secs(60), secs(60)]);
        assert_eq!(waits[18], None, "the CRM queue's receive limit comes first otherwise");
        let total: u64 = waits.iter().flatten().map(Duration::as_secs).sum();
        assert!((600..=1200).contains(&total), "{total} s");
    }
}
