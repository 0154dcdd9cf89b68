//! The customer's language (issue 10.3): a customer who texts a language keyword ("ESPAÑOL") gets a short
//! confirmation and every automated message in that language, in this conversation and the next ones; an
//! admin (or a supervisor) sets it on the customer, and the first greeting uses it; a language smsdesk has
//! no texts for is refused.

use crate::*;
use serde_json::{Value, json};
use smsdesk_domain::automated::{AutomatedKind, default_text};
use smsdesk_tests::*;

fn text(lang: &str, kind: AutomatedKind) -> &'static str {
    default_text(lang, kind).expect("built-in text")
}

/// How many times `text` reached the provider.
fn sent(s: &Setup, text: &str) -> usize {
    s.fake.sends().iter().filter(|m| m.field("message") == Some(text)).count()
}

async fn until_sent(s: &Setup, text: &str, times: usize) {
    eventually(30, &format!("{text:?} reaches the provider {times} time(s)"), || async {
        (sent(s, text) >= times).then_some(())
    })
    .await;
}

async fn language_of(s: &Setup, token: &str, customer: &str) -> Value {
    s.api().ok("GET", &format!("/v1/customers/%2B{customer}/language"), token, None, 200).await
}

#[tokio::test]
async fn a_customer_who_texts_espanol_gets_spanish_system_messages_in_the_next_conversation_too() {
    let Some(s) = Setup::with_defaults().await else { return };
    let customer = "15555550901";
    let (_ada, token) = s.agent("Ada", 3).await;
    s.text("L1000000000000000000000000000001", customer, "Hello?").await;
    let first = s.work_item_for(&token, &format!("+{customer}")).await;
    until_sent(&s, text("en", AutomatedKind::Greeting), 1).await;
    assert_eq!(language_of(&s, &token, customer).await["language"], Value::Null, "nothing picked yet");

    // "español" (any case, punctuation around it) picks Spanish: confirmed once, in Spanish.
    s.text("L1000000000000000000000000000002", customer, " español! ").await;
    until_sent(&s, text("es", AutomatedKind::LanguageChanged), 1).await;
    let c = s.conversation_where(&first, "the conversation speaks Spanish", |c| c["language"] == "es").await;
    assert_eq!(c["state"], "active", "a language keyword changes nothing else: {c}");
    let kept = language_of(&s, &token, customer).await;
    assert_eq!((&kept["language"], &kept["source"]), (&json!("es"), &json!("keyword")), "{kept}");

    // The end of this conversation is announced in Spanish.
    s.act(&token, &first, "close", None, 200).await;
    until_sent(&s, text("es", AutomatedKind::ConversationEnded), 1).await;

    // The next conversation starts in Spanish: greeting and "agent joined" in Spanish, nothing in English.
    s.text("L1000000000000000000000000000003", customer, "Hola otra vez").await;
    until_sent(&s, text("es", AutomatedKind::Greeting), 1).await;
    until_sent(&s, "Ada se ha unido a la conversación.", 1).await;
    let second = s
        .api()
        .work_items(&token)
        .await
        .into_iter()
        .find(|w| w["customer"] == format!("+{customer}") && w["conversation_id"] != first.as_str())
        .expect("the second conversation");
    let second = s.api().conversation(&token, second["conversation_id"].as_str().expect("id")).await;
    assert_eq!(second["language"], "es", "{second}");
    s.app.settled().await;
    assert_eq!(sent(&s, text("en", AutomatedKind::Greeting)), 1, "only the first conversation's");
    assert_eq!(sent(&s, text("es", AutomatedKind::LanguageChanged)), 1, "confirmed once");
    assert_eq!(sent(&s, text("en", AutomatedKind::ConversationEnded)), 0);
}

#[tokio::test]
async fn an_admin_set_language_is_used_for_the_first_greeting_and_an_unknown_one_is_refused() {
    let Some(s) = Setup::with_defaults().await else { return };
    let customer = "15555550902";
    let path = format!("/v1/customers/%2B{customer}/language");
    let (_ada, agent_token) = s.agent("Ada", 2).await;

    // Rules: a language smsdesk has texts for; only an admin or a supervisor sets it.
    for bad in ["de", "Spanish", ""] {
        let (status, answer) = s.api().admin("PUT", &path, Some(json!({"language": bad}))).await;
        assert_eq!(status, 400, "{bad}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("language: must be a language smsdesk has texts for"), "{answer}");
    }
    let (status, answer) =
        s.api().call("PUT", &path, Some(&agent_token), Some(json!({"language": "es"}))).await;
    assert_eq!(status, 403, "an agent reads it but does not set it: {answer}");
    let set = s.api().ok("PUT", &path, ADMIN_TOKEN, Some(json!({"language": "es"})), 200).await;
    assert_eq!((&set["language"], &set["source"]), (&json!("es"), &json!("admin")), "{set}");
    assert_eq!(language_of(&s, &agent_token, customer).await["language"], "es", "an agent reads it");

    // The customer's first text: the opt-in notice and the greeting in Spanish, on an English channel.
    s.text("L2000000000000000000000000000001", customer, "Hi").await;
    let conversation = s.work_item_for(&agent_token, &format!("+{customer}")).await;
    until_sent(&s, text("es", AutomatedKind::OptInNotice), 1).await;
    until_sent(&s, text("es", AutomatedKind::Greeting), 1).await;
    assert_eq!(s.api().conversation(&agent_token, &conversation).await["language"], "es");
    s.app.settled().await;
    assert_eq!(sent(&s, text("en", AutomatedKind::Greeting)), 0, "nothing in English");
    assert_eq!(sent(&s, text("en", AutomatedKind::OptInNotice)), 0, "nothing in English");

    // A language a channel adds (keywords, texts) becomes one the admin may set; its keyword picks it.
    let channel = format!("/v1/channels/{}", s.channel);
    let (status, answer) =
        s.api().admin("PATCH", &channel, Some(json!({"language_keywords": {"fr": ["stop"]}}))).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("language_keywords.fr[0]:")));
    let patch = json!({"language_keywords": {"fr": ["FRANÇAIS"]},
        "automated_messages": {"fr": {"language_changed": "Nous vous écrirons en français."}}});
    let patched = s.api().ok("PATCH", &channel, ADMIN_TOKEN, Some(patch), 200).await;
    assert_eq!(patched["language_keywords"]["fr"], json!(["FRANÇAIS"]), "{patched}");
    assert_eq!(patched["language_keywords"]["es"][0], "ESPAÑOL", "the built-in ones are shown too");
    s.text("L2000000000000000000000000000002", customer, "Français").await;
    until_sent(&s, "Nous vous écrirons en français.", 1).await;
    let kept = language_of(&s, &agent_token, customer).await;
    assert_eq!((&kept["language"], &kept["source"]), (&json!("fr"), &json!("keyword")), "{kept}");
}
