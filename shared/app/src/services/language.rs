//! The customer's language (issue 10.3): the channel's default unless the customer picked another (a
//! language keyword: "ESPAÑOL", "ENGLISH" and the channel's own, `language_keywords`) or an admin set it on
//! the customer (`PUT /v1/customers/{phone}/language`). It is kept per customer phone across conversations
//! (the `CustomerStore`), a new conversation starts in it, and every automated message follows the
//! conversation's language (`services::automated::language_of`).

use crate::App;
use crate::error::{ApiError, ApiResult};
use crate::services::{automated, crm};
use smsdesk_domain::automated::{AutomatedKind, DEFAULT_LANGUAGE};
use smsdesk_domain::language;
use smsdesk_domain::*;
use smsdesk_ports::{CustomerLanguage, PortResult};
use time::OffsetDateTime;

/// The language a new conversation of `customer` on `channel` starts in, the one it is served in: the one
/// the customer picked or an admin set, else the channel's (English when the channel names none). Kept on
/// the conversation, so that the transcript and the CRM timeline name it.
pub async fn for_new_conversation(
    app: &App,
    channel: &Channel,
    customer: &Phone,
) -> PortResult<Option<String>> {
    Ok(Some(match app.store.customer_language(customer).await? {
        Some(kept) => kept.language,
        None => channel.language.clone().unwrap_or_else(|| DEFAULT_LANGUAGE.into()),
    }))
}

/// A customer's text that is exactly a language keyword picks that language: kept for the customer (as of
/// the time the text was filed, so a redelivery never undoes a later pick) and set on the open
/// conversation, and written on the CRM timeline. Returns the conversation in its new language, or None when
/// the text is no language keyword or one older than the customer's last pick. The confirmation is
/// [`confirm`], sent after the consent notices.
pub async fn on_inbound(
    app: &App,
    channel: &Channel,
    conversation: &Conversation,
    text: &str,
    message_id: &MessageId,
) -> PortResult<Option<Conversation>> {
    let Some(picked) = language::picked(text, &channel.messaging) else { return Ok(None) };
    // Filed time (as consent keywords are timed): providers' timestamps may be late or wrong.
    let received_at: OffsetDateTime =
        app.store.get_message(message_id).await?.map_or_else(|| app.clock.now(), |m| m.created_at);
    let kept = CustomerLanguage {
        customer: conversation.customer.clone(),
        language: picked.clone(),
        source: language::SOURCE_KEYWORD.into(),
        at: received_at,
    };
    if !app.store.set_customer_language(&kept).await? {
        // A later pick is stored already (this is an older text delivered again): it stays, and so does the
        // conversation's language.
        tracing::info!(conversation = %conversation.id, "a language keyword older than the customer's last pick");
        return Ok(None);
    }
    let updated = app.store.set_conversation_language(&conversation.id, &picked).await?;
    let updated =
        updated.unwrap_or_else(|| Conversation { language: Some(picked.clone()), ..conversation.clone() });
    tracing::info!(conversation = %conversation.id, language = %picked, "the customer picked a language");
    let key = format!("language:{}", received_at.unix_timestamp_nanos());
    crm::timeline_once(
        app,
        &conversation.id,
        &key,
        "language_changed",
        serde_json::json!({"language": picked}),
    )
    .await?;
    Ok(Some(updated))
}

/// The short confirmation of a picked language, in that language (a system message; once per text).
pub async fn confirm(
    app: &App,
    channel: &Channel,
    conversation: &Conversation,
    message_id: &MessageId,
) -> PortResult<()> {
    automated::send(app, channel, conversation, AutomatedKind::LanguageChanged, message_id.as_str(), &[])
        .await
        .map(|_| ())
}

/// The customer's kept language, if any.
pub async fn get(app: &App, customer: &Phone) -> ApiResult<Option<CustomerLanguage>> {
    Ok(app.store.customer_language(customer).await?)
}

/// An admin or supervisor sets the customer's language: one smsdesk has texts for (400 naming `language`
/// otherwise). The customer's next conversations start in it; an open one keeps its language.
pub async fn set_by_admin(app: &App, customer: &Phone, tag: &str) -> ApiResult<CustomerLanguage> {
    let channels = app.store.list_channels().await?;
    language::check_choice("language", tag, &language::known_languages(&channels))
        .map_err(|e| ApiError::field(e.field, e.rule))?;
    let kept = CustomerLanguage {
        customer: customer.clone(),
        language: tag.to_string(),
        source: language::SOURCE_ADMIN.into(),
        at: app.clock.now(),
    };
    app.store.set_customer_language(&kept).await?;
    tracing::info!(language = %tag, "an admin set a customer's language");
    Ok(kept)
}
