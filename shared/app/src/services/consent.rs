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
    Ok(consent::opted_out(&history, number).then(|| {
        format!("not sent: the customer opted out (STOP) of texts from {number}; they must text START first")
    }))
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

/// Acts on a customer's text filed as `message_id` in `conversation`: a keyword changes consent (recorded,
/// then confirmed once) or asks for help; the first text to a number gets the opt-in notice first. A
/// redelivered text finds its change recorded (ids derive from the text) and only re-queues what it
/// caused, which the queue sends once.
pub async fn on_inbound(
    app: &App,
    channel: &Channel,
    conversation: &Conversation,
    text: &str,
    message_id: &MessageId,
) -> PortResult<InboundConsent> {
    // Filed time, as the transcript orders texts (providers' timestamps may tie or arrive late).
    let now = app.clock.now();
    let number = &conversation.channel_number;
    let customer = &conversation.customer;
    let history = app.store.consent_history(customer).await?;
    let keyword = consent::classify(text, keyword_lists(channel).iter());
    let cause = message_id.to_string();
    let change = |id: String, number: Option<&Phone>, event, cause_kind| ConsentChange {
        id,
        customer: customer.clone(),
        number: number.cloned(),
        channel_id: Some(channel.id.clone()),
        event,
        cause: cause_kind,
        detail: Some(consent::normalize(text)),
        at: now,
    };
    let mut answered = false;
    match &keyword {
        Some(Keyword::Help) => {
            automated::send(app, channel, conversation, AutomatedKind::Help, &cause, &[]).await?;
            answered = true;
        }
        Some(k @ (Keyword::OptOut { .. } | Keyword::OptIn)) => {
            let id = format!("{message_id}:consent");
            let event = match history.iter().find(|c| c.id == id) {
                Some(recorded) => Some(recorded.event), // a redelivery: confirm what was recorded
                None => {
                    let event = keyword_change(&history, number, k);
                    if let Some(event) = event {
                        let scope = match k {
                            Keyword::OptOut { all: true } => None,
                            _ => Some(number),
                        };
                        app.store.record_consent(&change(id, scope, event, ConsentCause::Keyword)).await?;
                        tracing::info!(conversation = %conversation.id, ?event, everywhere = scope.is_none(), "consent changed by keyword");
                    }
                    event
                }
            };
            let confirmation = match event {
                Some(ConsentEvent::OptOut) => Some(AutomatedKind::OptOutConfirmation),
                Some(ConsentEvent::OptIn) => Some(AutomatedKind::OptInConfirmation),
                _ => None,
            };
            if let Some(kind) = confirmation {
                automated::send(app, channel, conversation, kind, &cause, &[]).await?;
            }
            // A second STOP changes nothing and is answered by nothing; a "yes" while opted in is a text.
            answered = matches!(k, Keyword::OptOut { .. }) || event.is_some();
        }
        None => {}
    }
    if !answered {
        let id = format!("{message_id}:notice");
        let noticed = history.iter().any(|c| c.id == id);
        if noticed || (consent::first_contact(&history, number) && !consent::opted_out(&history, number)) {
            let sent =
                automated::send(app, channel, conversation, AutomatedKind::OptInNotice, &cause, &[]).await?;
            if sent && !noticed {
                let notice = change(id, Some(number), ConsentEvent::NoticeSent, ConsentCause::FirstContact);
                app.store.record_consent(&notice).await?;
            }
        }
    }
    let after = app.store.consent_history(customer).await?;
    Ok(InboundConsent { keyword: answered, opted_out: consent::opted_out(&after, number) })
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
