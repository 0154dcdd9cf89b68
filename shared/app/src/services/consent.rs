//! Consent: keywords a customer texts (STOP, STOPALL, START, HELP and the channel's per-language lists),
//! the opt-in notice on a customer's first contact with a number, the one check every send passes
//! ([`refusal`]), and the admin's changes. Every change is appended to the consent log (the audit trail).

use crate::App;
use crate::services::automated;
use smsdesk_domain::automated::{AutomatedKind, default_keywords};
use smsdesk_domain::consent::{
    self, ConsentCause, ConsentChange, ConsentEvent, Keyword, KeywordLists, keyword_change,
};
use smsdesk_domain::*;
use smsdesk_ports::PortResult;

/// Why a send to `customer` from `number` is refused, if it is: the one consent check. The opt-out's own
/// confirmation and the answer to HELP pass (`automated`).
pub async fn refusal(
    app: &App,
    number: &Phone,
    customer: &Phone,
    automated: Option<AutomatedKind>,
) -> PortResult<Option<String>> {
    if automated.is_some_and(AutomatedKind::passes_opt_out) {
        return Ok(None);
    }
    let history = app.store.consent_history(customer).await?;
    Ok(consent::opted_out(&history, number)
        .then(|| format!("{REFUSED} (STOP) of texts from {number}; they must text START first")))
}

/// How the error of a message refused for the customer's opt-out begins (the console reads it too).
const REFUSED: &str = "not sent: the customer opted out";

/// Whether `message` was refused at its creation because the customer had opted out ([`refusal`]).
pub fn refused(message: &smsdesk_domain::Message) -> Option<&str> {
    let error = message.error.as_deref()?;
    (message.status == smsdesk_domain::MessageStatus::Failed
        && message.attempts == 0
        && error.starts_with(REFUSED))
    .then_some(error)
}

/// The keyword lists that apply on `channel`: the built-in ones of every language the channel uses, and
/// the admin's.
pub fn keyword_lists(channel: &Channel) -> Vec<KeywordLists> {
    let mut lists: Vec<KeywordLists> = channel.messaging.consent_keywords.values().cloned().collect();
    lists.extend(default_keywords("es"));
    lists
}

/// What the customer's text meant for consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundConsent {
    /// The text was a consent keyword (STOP, START, HELP, ...): nothing else answers it.
    pub keyword: bool,
    /// The customer may not be texted from this number (after this text).
    pub opted_out: bool,
}

/// Records the change a consent keyword (STOP, START, ...) makes, before its text is filed: once the text
/// is in the transcript, where an agent may read it, its opt-out already holds for every send. Anything
/// else (HELP, an ordinary text) is left to [`on_inbound`], after filing. Idempotent: the change's id
/// derives from the text.
pub async fn record_keyword(
    app: &App,
    channel: &Channel,
    number: &Phone,
    customer: &Phone,
    text: &str,
    message_id: &MessageId,
) -> PortResult<()> {
    let keyword = consent::classify(text, keyword_lists(channel).iter());
    if let Some(k @ (Keyword::OptOut { .. } | Keyword::OptIn)) = &keyword {
        let history = app.store.consent_history(customer).await?;
        let said = Said { channel, number, customer, text, message_id };
        keyword_event(app, &said, &history, k).await?;
    }
    Ok(())
}

/// A customer's text, as consent sees it.
struct Said<'a> {
    channel: &'a Channel,
    number: &'a Phone,
    customer: &'a Phone,
    text: &'a str,
    message_id: &'a MessageId,
}

impl Said<'_> {
    /// A change the text causes, filed now (as the transcript orders texts: providers' timestamps may tie
    /// or arrive late).
    fn change(
        &self,
        app: &App,
        id: String,
        number: Option<&Phone>,
        event: ConsentEvent,
        cause: ConsentCause,
    ) -> ConsentChange {
        ConsentChange {
            id,
            customer: self.customer.clone(),
            number: number.cloned(),
            channel_id: Some(self.channel.id.clone()),
            event,
            cause,
            detail: Some(consent::normalize(self.text)),
            at: app.clock.now(),
        }
    }
}

/// The consent event the opt-out or opt-in keyword `k` caused: the one recorded for this text, or, the
/// first time, the change it makes (recorded now), or None when it changes nothing (a second STOP).
async fn keyword_event(
    app: &App,
    said: &Said<'_>,
    history: &[ConsentChange],
    k: &Keyword,
) -> PortResult<Option<ConsentEvent>> {
    let id = format!("{}:consent", said.message_id);
    if let Some(recorded) = history.iter().find(|c| c.id == id) {
        return Ok(Some(recorded.event));
    }
    let event = keyword_change(history, said.number, k);
    if let Some(event) = event {
        let scope = match k {
            Keyword::OptOut { all: true } => None,
            _ => Some(said.number),
        };
        app.store.record_consent(&said.change(app, id, scope, event, ConsentCause::Keyword)).await?;
        tracing::info!(message_id = %said.message_id, ?event, everywhere = scope.is_none(), "consent changed by keyword");
    }
    Ok(event)
}

/// Acts on a customer's text filed as `message_id` in `conversation`: a keyword changes consent (recorded
/// by [`record_keyword`] before filing, or now) and is confirmed once, or asks for help; the first text
/// to a number gets the opt-in notice before anything else is said (before the answer to HELP too). A
/// redelivered text finds its change recorded (ids derive from the text) and only re-queues what it
/// caused, which the queue sends once.
pub async fn on_inbound(
    app: &App,
    channel: &Channel,
    conversation: &Conversation,
    text: &str,
    message_id: &MessageId,
) -> PortResult<InboundConsent> {
    let number = &conversation.channel_number;
    let customer = &conversation.customer;
    let said = Said { channel, number, customer, text, message_id };
    let history = app.store.consent_history(customer).await?;
    let keyword = consent::classify(text, keyword_lists(channel).iter());
    let cause = message_id.to_string();
    let answered = match &keyword {
        Some(Keyword::Help) => {
            notice_first_contact(app, channel, conversation, &history, &cause, consent::normalize(text))
                .await?;
            automated::send(app, channel, conversation, AutomatedKind::Help, &cause, &[]).await?;
            true
        }
        Some(k @ (Keyword::OptOut { .. } | Keyword::OptIn)) => {
            let event = keyword_event(app, &said, &history, k).await?;
            let confirmation = match (event, k) {
                (Some(ConsentEvent::OptOut), Keyword::OptOut { all: true }) => {
                    Some(AutomatedKind::OptOutAllConfirmation)
                }
                (Some(ConsentEvent::OptOut), _) => Some(AutomatedKind::OptOutConfirmation),
                (Some(ConsentEvent::OptIn), _) => Some(AutomatedKind::OptInConfirmation),
                _ => None,
            };
            if let Some(kind) = confirmation {
                automated::send(app, channel, conversation, kind, &cause, &[]).await?;
            }
            // A second STOP changes nothing and is answered by nothing; a "yes" while opted in is a text.
            matches!(k, Keyword::OptOut { .. }) || event.is_some()
        }
        None => false,
    };
    if !answered {
        notice_first_contact(app, channel, conversation, &history, &cause, consent::normalize(text)).await?;
    }
    let after = app.store.consent_history(customer).await?;
    Ok(InboundConsent { keyword: answered, opted_out: consent::opted_out(&after, number) })
}

/// The opt-in notice, when the message `cause` (a customer's text, or a proactive text about to be queued)
/// is the customer's first contact with the conversation's number and they may be texted from it; queued
/// under an id derived from `cause` and recorded as sent, so a redelivered cause queues it once. `detail`
/// goes on the audit trail.
async fn notice_first_contact(
    app: &App,
    channel: &Channel,
    conversation: &Conversation,
    history: &[ConsentChange],
    cause: &str,
    detail: String,
) -> PortResult<()> {
    let number = &conversation.channel_number;
    let id = format!("{cause}:notice");
    let noticed = history.iter().any(|c| c.id == id);
    let first = consent::first_contact(history, number) && !consent::opted_out(history, number);
    if !(noticed || first) {
        return Ok(());
    }
    let sent = automated::send(app, channel, conversation, AutomatedKind::OptInNotice, cause, &[]).await?;
    if sent && !noticed {
        let change = ConsentChange {
            id,
            customer: conversation.customer.clone(),
            number: Some(number.clone()),
            channel_id: Some(channel.id.clone()),
            event: ConsentEvent::NoticeSent,
            cause: ConsentCause::FirstContact,
            detail: Some(detail),
            at: app.clock.now(),
        };
        app.store.record_consent(&change).await?;
    }
    Ok(())
}

/// A proactive text, sent under `message_id`, that is the customer's first contact with the number: the
/// opt-in notice is queued first (the conversation's sends keep their order). Nothing when the customer
/// heard from, or texted, the number before.
pub async fn notice_before_proactive(
    app: &App,
    channel: &Channel,
    conversation: &Conversation,
    message_id: &MessageId,
) -> PortResult<()> {
    let history = app.store.consent_history(&conversation.customer).await?;
    let detail = "before a proactive text".to_string();
    notice_first_contact(app, channel, conversation, &history, message_id.as_str(), detail).await
}

/// The provider refused a send because the customer opted out with it: recorded, so the next send is
/// refused before it reaches the provider.
pub async fn provider_opt_out(
    app: &App,
    conversation: &Conversation,
    message: &MessageId,
    reason: &str,
) -> PortResult<()> {
    let change = ConsentChange {
        id: format!("{message}:provider_opt_out"),
        customer: conversation.customer.clone(),
        number: Some(conversation.channel_number.clone()),
        channel_id: Some(conversation.channel_id.clone()),
        event: ConsentEvent::OptOut,
        cause: ConsentCause::ProviderError,
        detail: Some(smsdesk_domain::redact::scrub(reason)),
        at: app.clock.now(),
    };
    app.store.record_consent(&change).await.map(|_| ())
}
