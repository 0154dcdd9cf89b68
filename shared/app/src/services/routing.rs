//! router: an inbound text joins the customer's open conversation on that number, or opens a new one (a
//! closed conversation is never reopened); the receiving number picks the queue; then assignment. Delivery
//! receipts the webhook could not apply (their message was not known yet) move outbound messages forward.
//! Idempotent: a redelivered event changes nothing the second time.

use crate::App;
use crate::services::receipts::{self, Receipt};
use crate::services::{assignment, automated, consent, crm, language, outcome_for, prequeue};
use async_trait::async_trait;
use smsdesk_domain::automated::AutomatedKind;
use smsdesk_domain::events::{InboundEvent, InboundMessage, Known};
use smsdesk_domain::lifecycle::{self, Revival};
use smsdesk_domain::multipart::{self, PartsSoFar};
use smsdesk_domain::segment::analyze;
use smsdesk_domain::*;
use smsdesk_ports::{
    Append, Consumer, OpenOutcome, OpenWith, Outcome, PartPut, PortError, PortResult, Received,
};
use std::sync::Arc;
use tracing::Instrument;

pub struct RouterConsumer {
    app: Arc<App>,
}

impl RouterConsumer {
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

#[async_trait]
impl Consumer for RouterConsumer {
    async fn consume(&self, message: &Received) -> Outcome {
        let event: InboundEvent = match serde_json::from_str(&message.body) {
            Ok(e) => e,
            Err(e) => return Outcome::Failed(format!("inbound event is not valid JSON: {e}")),
        };
        // The conversation's id goes on the span once the text is filed, so every later line carries it.
        let span = tracing::info_span!("route", conversation_id = tracing::field::Empty);
        let result = match &event {
            InboundEvent::Message(m) => {
                route_inbound(&self.app, m).instrument(span.clone()).await.map(|filed| {
                    if let Some(id) = filed {
                        span.record("conversation_id", tracing::field::display(&id));
                    }
                })
            }
            InboundEvent::Receipt(r) => match receipts::apply(&self.app, r).instrument(span).await {
                // No message has its reference yet: the send may still be recording the provider's answer
                // (a report can overtake it). Tried again with backoff for a while, then dropped.
                Ok(Receipt::UnknownMessage) => {
                    match unknown_receipt_retry(message.receive_count, self.app.config.retry.base_delay) {
                        Some(delay) => {
                            tracing::info!(channel = %r.channel_id, reference = %r.provider_message_id, attempt = message.receive_count, ?delay, "receipt for a message not known yet; trying again");
                            return Outcome::RetryAfter(delay);
                        }
                        None => {
                            tracing::warn!(channel = %r.channel_id, reference = %r.provider_message_id, "receipt for an unknown message; dropped");
                            Ok(())
                        }
                    }
                }
                other => other.map(|_| ()),
            },
        };
        // Handled: from now on the webhook turns a replay away before the queue (see
        // `intake::accept_events`); a whole text by its stored message, a part by its key, remembered here.
        // Should this write fail, the part comes again and is handled again as a redelivery (which changes
        // nothing), then remembered.
        let app = &self.app;
        let result = match (result, event.known_by()) {
            (Ok(()), Known::Key(key)) => {
                app.store.remember(&key, app.clock.now(), app.config.dedupe_ttl).await.map(|_| ())
            }
            (result, _) => result,
        };
        match result {
            Ok(()) => Outcome::Done,
            Err(e) => {
                tracing::warn!(error = %e, "router failed; will retry");
                outcome_for(&e, message, smsdesk_ports::QueueKind::Inbound)
            }
        }
    }
}

/// How many times a delivery receipt whose message is not known is tried: with the sends' retry base
/// doubling (5 s by default: 5, 10, 20, 40, 80 s), about two and a half minutes for the send to record the
/// provider's reference (it does so right after the provider answers; a report can overtake that answer).
/// Below the queues' `maxReceiveCount` (20).
const UNKNOWN_RECEIPT_TRIES: u32 = 6;
const _: () = assert!(UNKNOWN_RECEIPT_TRIES < 20, "the queues' maxReceiveCount would dead-letter it first");

/// The delay before trying an unknown message's receipt again after delivery `receive_count` (`base`
/// doubled per delivery), or None once it has been tried [`UNKNOWN_RECEIPT_TRIES`] times.
fn unknown_receipt_retry(receive_count: u32, base: std::time::Duration) -> Option<std::time::Duration> {
    (receive_count < UNKNOWN_RECEIPT_TRIES)
        .then(|| super::doubling(receive_count, base, std::time::Duration::MAX))
}

/// A filed group of parts answers late parts apart for this long; after it, its reference may be reused.
const PARTS_REUSE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Files an inbound text, or keeps a part of a multipart text until the text is whole (issue 9.6): the
/// part that completes it files the whole text. Returns the conversation filed into, if any.
pub async fn route_inbound(app: &App, m: &InboundMessage) -> PortResult<Option<ConversationId>> {
    let Some(part) = &m.part else { return route_message(app, m).await };
    let group = multipart::group_key(m, part);
    match app.store.put_part(&group, m, app.clock.now(), PARTS_REUSE_AFTER).await? {
        PartPut::Stored(so_far) if so_far.is_complete() => file_parts(app, &so_far).await,
        PartPut::Stored(so_far) => {
            tracing::info!(
                parts = so_far.parts.len(),
                total = part.total,
                "part of a multipart text kept; waiting for the rest"
            );
            Ok(None)
        }
        PartPut::Filed { included: true } => Ok(None),
        // The text was filed (at its timeout) without it: this part is filed on its own, not lost.
        PartPut::Filed { included: false } => route_message(app, &alone(m)).await,
    }
}

/// A part filed as a text of its own, under its own provider id.
fn alone(part: &InboundMessage) -> InboundMessage {
    InboundMessage { part: None, ..part.clone() }
}

/// Files the text the parts make (complete, or at its timeout): claims the group with the parts it has
/// (from then on a part that comes is answered apart), files the claimed text, then each part the claim
/// left out on its own, then marks the group filed. Filing again after a crash files the same claim, and
/// nothing twice: the text's id derives from the group, a part's from its own.
pub async fn file_parts(app: &App, so_far: &PartsSoFar) -> PortResult<Option<ConversationId>> {
    let (group, first_id) = (&so_far.group, &so_far.first_id);
    let Some(claim) = app.store.claim_parts(group, first_id, &so_far.numbers(), app.clock.now()).await?
    else {
        return Ok(None);
    };
    let filed = match claim.text.assemble() {
        Some(whole) => route_message(app, &whole).await?,
        None => None,
    };
    for part in &claim.apart {
        route_message(app, &alone(part)).await?;
    }
    app.store.parts_filed(group, first_id).await?;
    Ok(filed)
}

/// Files an inbound text into a conversation and returns that conversation's id (None when the channel or
/// number is gone).
pub async fn route_message(app: &App, m: &InboundMessage) -> PortResult<Option<ConversationId>> {
    let Some(channel) = app.store.channel_settings(&m.channel_id).await? else {
        tracing::warn!(channel = %m.channel_id, "text for a channel that no longer exists; dropped");
        return Ok(None);
    };
    // A number that moved to another channel (issue 9.9) while its old provider still delivered a text:
    // the text goes on where the number is now.
    let (channel, number) = match channel.number(&m.to).cloned() {
        Some(number) => (channel, number),
        None => match number_holder(app, &m.to).await? {
            Some(found) => found,
            None => {
                tracing::warn!(channel = %channel.id, to = %m.to, "text to a number no longer on any channel; dropped");
                return Ok(None);
            }
        },
    };
    let message_id = MessageId::for_inbound(&m.channel_id, &m.provider_message_id);

    // A redelivery after the message was filed: continue with the conversation it went to.
    let conversation = match app.store.get_message(&message_id).await? {
        Some(existing) => match app.store.get_conversation(&existing.conversation_id).await? {
            Some(c) => c,
            None => return Ok(None),
        },
        // A STOP holds before anyone can read it; filing the text moves the conversation's activity with
        // it, in one conditional write.
        None => {
            consent::record_keyword(app, &channel, &number.number, &m.from, &m.text, &message_id).await?;
            file_text(app, &channel, &number, m, &message_id).await?
        }
    };

    // A language keyword ("ESPAÑOL") switches the customer's language before anything is said to them.
    // Then consent keywords and the opt-in notice (before anything else is said), the language's
    // confirmation, and the greeting of a conversation this text opened.
    let picked = language::on_inbound(app, &channel, &conversation, &m.text, &message_id).await?;
    let conversation = match &picked {
        Some(now) => Conversation { language: now.language.clone(), ..conversation },
        None => conversation,
    };
    let said = consent::on_inbound(app, &channel, &conversation, &m.text, &message_id).await?;
    if picked.is_some() && !said.opted_out {
        language::confirm(app, &channel, &conversation, &message_id).await?;
    }
    let mut opened = false;
    if !said.keyword && !said.opted_out {
        opened = greet(app, &channel, &conversation, &message_id).await?;
    }
    // Before its queue, the menu or the bot answers the text (a consent keyword is no answer to them).
    let conversation = if conversation.state == ConversationState::Routing && !said.keyword {
        prequeue::on_text(app, &number, conversation, &message_id, &m.text).await?
    } else {
        conversation
    };
    // Once the conversation is in its queue (straight from its number, or just now from the menu's answer):
    // out of the queue's hours, the customer is told so (once per conversation).
    if !said.keyword && !said.opted_out {
        out_of_hours(app, &channel, &conversation).await?;
    }

    if conversation.contact == ContactLink::Pending {
        crm::request_link(app, &conversation.id).await?;
    }
    if conversation.state == ConversationState::Open {
        assignment::dispatch_queue(app, &conversation.queue_id).await?;
        if opened {
            place_in_line(app, &channel, &conversation).await?;
        }
    }
    // A consent keyword (STOP, START, HELP) is answered by itself: it brings no conversation back to an
    // agent (one in wrap-up stays there; the agent could not answer an opted-out customer anyway).
    if !said.keyword {
        revive(app, &conversation).await?;
    }

    // Media announced with the text, last: fetching it may take seconds (a slow media host, retries), and
    // nothing above waits for it: consent, the opt-in notice, STOP/HELP answers and the greeting go out
    // first, and the agent gets the text. The items join the text they came with (keyed by its id and
    // their position), so the transcript keeps its order; fetched now because providers' links expire. A
    // failure here makes the whole event come back: every step above changes nothing the second time, and
    // an item kept or failed the first time is not fetched again.
    crate::services::media::receive(app, &channel, &conversation, &message_id, &m.media).await?;
    Ok(Some(conversation.id))
}

/// The greeting, when `message_id` is the first message of the conversation (the customer opened it; a
/// conversation an agent opened with a proactive text is not greeted). Out of the queue's operating hours
/// the out-of-hours message ([`out_of_hours`], sent next) replaces it: "an agent will be with you shortly"
/// would not be true. Returns whether the text opened the conversation.
async fn greet(
    app: &App,
    channel: &Channel,
    conversation: &Conversation,
    message_id: &MessageId,
) -> PortResult<bool> {
    if conversation.state != ConversationState::Open {
        return Ok(false);
    }
    let transcript = app.store.list_messages(&conversation.id).await?;
    if transcript.iter().find(|m| m.author != Author::System).map(|m| &m.id) != Some(message_id) {
        return Ok(false);
    }
    if queue_open(app, &conversation.queue_id).await? {
        automated::send(app, channel, conversation, AutomatedKind::Greeting, message_id.as_str(), &[])
            .await?;
    }
    Ok(true)
}

/// Whether `queue` is within its operating hours now (a queue without hours, or gone, is open).
async fn queue_open(app: &App, queue: &QueueId) -> PortResult<bool> {
    let settings = app.store.queue_settings(queue).await?;
    Ok(smsdesk_domain::assign::distributes(settings.as_ref(), app.clock.now()))
}

/// The customer's place in line, once per conversation, when the conversation their text opened still
/// waits after distribution because no agent of the queue is free (someone free takes it at once), or
/// because the queue is out of its operating hours (nobody takes it before the opening).
async fn place_in_line(app: &App, channel: &Channel, conversation: &Conversation) -> PortResult<()> {
    let Some(waits) = app.store.get_conversation(&conversation.id).await? else { return Ok(()) };
    if waits.state != ConversationState::Open {
        return Ok(());
    }
    let queue = &conversation.queue_id;
    let teams = app.store.list_teams().await?;
    let agents = crate::services::teams::agents_serving(app, queue, &teams).await?;
    let agents = smsdesk_domain::team::within_team_capacity(agents, &teams);
    let now = app.clock.now();
    let refused = smsdesk_domain::assign::Refusals::of(&waits, now);
    let settings = app.store.queue_settings(queue).await?;
    if smsdesk_domain::assign::distributes(settings.as_ref(), now)
        && !smsdesk_domain::assign::waits_for_an_agent(queue, refused, &agents)
    {
        return Ok(());
    }
    // The listing may not show this conversation yet (in AWS it is an index, read moments after the
    // conversation was written): it is counted as just read.
    let mut listed = app.store.waiting_in_queue(queue, 1000).await?;
    if !listed.iter().any(|c| c.id == waits.id) {
        listed.push(waits);
    }
    let waiting = listed
        .into_iter()
        .map(|c| smsdesk_domain::assign::Waiting {
            priority: settings
                .as_ref()
                .map_or(0, |s| smsdesk_domain::assign::current_priority(s, now - c.queued_at)),
            conversation: c.id,
            queue: c.queue_id,
            queued_at: c.queued_at,
        })
        .collect();
    let Some(position) = smsdesk_domain::assign::position_in_line(waiting, &conversation.id) else {
        return Ok(());
    };
    let cause = format!("msg_{}", conversation.id);
    let place = position.to_string();
    automated::send(
        app,
        channel,
        conversation,
        AutomatedKind::QueuePosition,
        &cause,
        &[("{position}", &place)],
    )
    .await?;
    Ok(())
}

/// Out of the queue's operating hours, a text waiting in the queue gets the out-of-hours message (instead of
/// the greeting), once per conversation (its id derives from the conversation), and waits in the queue until
/// it opens: distribution gives nothing out of a closed queue.
pub(crate) async fn out_of_hours(
    app: &App,
    channel: &Channel,
    conversation: &Conversation,
) -> PortResult<()> {
    if conversation.state != ConversationState::Open || queue_open(app, &conversation.queue_id).await? {
        return Ok(());
    }
    let cause = format!("msg_{}", conversation.id);
    automated::send(app, channel, conversation, AutomatedKind::OutOfHours, &cause, &[]).await?;
    Ok(())
}

/// The channel that has `number` now, and the number's settings there.
async fn number_holder(app: &App, number: &Phone) -> PortResult<Option<(Channel, ChannelNumber)>> {
    Ok(app.store.list_channels().await?.into_iter().find_map(|c| c.number(number).cloned().map(|n| (c, n))))
}

/// The customer wrote into a conversation set aside (`waiting`) or in wrap-up: back to its agent when they
/// are available (they still hold the slot), else back to its queue (the slot is released).
async fn revive(app: &App, conversation: &Conversation) -> PortResult<()> {
    if !matches!(conversation.state, ConversationState::Waiting | ConversationState::WrapUp) {
        return Ok(());
    }
    let agent = match &conversation.agent_id {
        Some(id) => app.store.get_agent(id).await?,
        None => None,
    };
    let now = app.clock.now();
    match lifecycle::on_customer_text(conversation.state, agent.as_ref()) {
        Revival::Stay => {}
        Revival::BackToAgent => {
            let back = app
                .store
                .transition(&conversation.id, conversation.state, ConversationState::Active, now)
                .await?;
            if back.is_some() {
                tracing::info!(conversation = %conversation.id, "the customer wrote: back with its agent");
            }
        }
        Revival::ToQueue => {
            // Only as read: a conversation taken, transferred or handed back since is left where it is.
            let as_read = (conversation.state, conversation.agent_id.as_ref());
            if app.store.requeue(&conversation.id, &conversation.queue_id, as_read, now).await?.is_some() {
                tracing::info!(conversation = %conversation.id, "the customer wrote and the agent is away: back to the queue");
                crm::timeline(
                    app,
                    &conversation.id,
                    "requeued",
                    serde_json::json!({"from_agent_id": conversation.agent_id, "to_queue_id": conversation.queue_id}),
                )
                .await?;
                assignment::dispatch_queue(app, &conversation.queue_id).await?;
                if let Some(agent) = &conversation.agent_id {
                    assignment::dispatch_for_agent(app, agent).await?;
                }
            }
        }
    }
    Ok(())
}

/// How often a text is filed again into a fresh conversation when the one found closed underneath it.
const FILE_ATTEMPTS: u32 = 4;

/// Files a new inbound text into the customer's open conversation, or a new one. The append is conditional
/// on the conversation being open: when an agent or auto-close closed it after we found it, the text goes
/// to a new conversation (never into a closed one that nobody sees). A new conversation is stored together
/// with the text that opens it, in one write.
async fn file_text(
    app: &App,
    channel: &Channel,
    number: &ChannelNumber,
    m: &InboundMessage,
    message_id: &MessageId,
) -> PortResult<Conversation> {
    for _ in 0..FILE_ATTEMPTS {
        let found = app.store.open_conversation(&channel.id, &number.number, &m.from).await?;
        // The conversation filed into, whether it is stored, and how the text went into it.
        let (conversation, stored, appended) = match found {
            Some(open) => append_into(app, open, m, message_id).await?,
            None => {
                let new = new_conversation(app, channel, number, &m.from, true).await?;
                let message = inbound_message(app, &new, m, message_id);
                match app.store.open_with_message(&new, &message).await? {
                    OpenWith::Opened => {
                        tracing::info!(conversation = %new.id, queue = %new.queue_id, "conversation opened");
                        return Ok(Conversation { last_message_at: message.created_at, ..new });
                    }
                    OpenWith::Existing(open) => append_into(app, *open, m, message_id).await?,
                    OpenWith::Duplicate => (new, false, Append::Duplicate),
                }
            }
        };
        match appended {
            Append::Appended => return Ok(conversation),
            // Filed by a concurrent delivery of the same text: continue with where it went.
            Append::Duplicate => {
                let filed = app.store.get_message(message_id).await?;
                let found = match filed {
                    Some(f) => app.store.get_conversation(&f.conversation_id).await?,
                    None => None,
                };
                match found {
                    Some(c) => return Ok(c),
                    None if stored => return Ok(conversation),
                    // Not readable yet: look again.
                    None => {}
                }
            }
            Append::ConversationClosed => {
                tracing::info!(conversation = %conversation.id, "conversation closed while a text was filed; opening a new one");
            }
        }
    }
    Err(PortError::Unavailable(format!(
        "the customer's conversation kept closing under {FILE_ATTEMPTS} attempts to file a text"
    )))
}

/// Appends the text to the open conversation `open`: the conversation, that it is stored, and how the text
/// went in.
async fn append_into(
    app: &App,
    open: Conversation,
    m: &InboundMessage,
    message_id: &MessageId,
) -> PortResult<(Conversation, bool, Append)> {
    let appended = app.store.append_message(&inbound_message(app, &open, m, message_id)).await?;
    Ok((open, true, appended))
}

/// The customer's open conversation on `number`, or a new one waiting in the number's queue (never a closed
/// one). Returns it, and whether this call created it.
pub async fn find_or_open(
    app: &App,
    channel: &Channel,
    number: &ChannelNumber,
    customer: &Phone,
) -> PortResult<(Conversation, bool)> {
    if let Some(open) = app.store.open_conversation(&channel.id, &number.number, customer).await? {
        return Ok((open, false));
    }
    let conversation = new_conversation(app, channel, number, customer, false).await?;
    Ok(match app.store.create_conversation(&conversation).await? {
        OpenOutcome::Created(c) => {
            tracing::info!(conversation = %c.id, queue = %c.queue_id, "conversation opened");
            (c, true)
        }
        OpenOutcome::Existing(c) => (c, false),
    })
}

/// A new conversation of `customer` on `number`, not stored yet: with `routed`, before its queue when the
/// number has a menu or its queue a bot (a customer's first text), else waiting in the number's queue.
async fn new_conversation(
    app: &App,
    channel: &Channel,
    number: &ChannelNumber,
    customer: &Phone,
    routed: bool,
) -> PortResult<Conversation> {
    let now = app.clock.now();
    let (state, routing) = match routed {
        true => prequeue::initial_state(app, number, now).await?,
        false => (ConversationState::Open, None),
    };
    Ok(Conversation {
        id: ConversationId::new(app.ids.new_id(ConversationId::PREFIX)),
        channel_id: channel.id.clone(),
        channel_number: number.number.clone(),
        customer: customer.clone(),
        queue_id: number.queue.clone(),
        agent_id: None,
        state,
        contact: ContactLink::Pending,
        language: language::for_new_conversation(app, channel, customer).await?,
        created_at: now,
        last_message_at: now,
        queued_at: now,
        closed_at: None,
        close_reason: None,
        routing,
        state_changed_at: None,
        wrap_up: None,
        offer: None,
        refused_by: Vec::new(),
        declined_at: None,
        declined_by: Vec::new(),
        transfer: None,
    })
}

/// The customer's text as filed into `conversation` now.
fn inbound_message(app: &App, conversation: &Conversation, m: &InboundMessage, id: &MessageId) -> Message {
    let now = app.clock.now();
    let info = analyze(&m.text);
    Message {
        id: id.clone(),
        conversation_id: conversation.id.clone(),
        channel_id: conversation.channel_id.clone(),
        direction: Direction::Inbound,
        author: Author::Customer,
        agent_id: None,
        text: m.text.clone(),
        status: MessageStatus::Received,
        encoding: info.encoding,
        segments: info.segments,
        provider_message_id: Some(m.provider_message_id.clone()),
        error: None,
        attempts: 0,
        automated: None,
        // Kept whole, never cut: the agent sees it all, flagged.
        over_limit: info.characters as usize > MAX_MESSAGE_CHARS,
        internal: false,
        media: Vec::new(),
        // Filed time, not the provider's: the transcript keeps the order texts reached us (FIFO per
        // customer), even when the provider's timestamps tie or arrive late.
        created_at: now,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_receipt_for_a_message_not_known_yet_is_tried_for_a_while_then_dropped() {
        let delays: Vec<Option<Duration>> =
            (1..=7).map(|n| unknown_receipt_retry(n, Duration::from_secs(5))).collect();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(delays, [secs(5), secs(10), secs(20), secs(40), secs(80), None, None]);
    }
}
