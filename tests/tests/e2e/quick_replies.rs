//! Quick replies (issue 10.6): an admin keeps them per queue (or for every queue) and language, with a
//! shortcut unique per queue and language; an agent lists those of one conversation, in the customer's
//! language, with the placeholders filled in (the CRM contact's name, the agent's, the queue's, the
//! conversation id), and sends one: nothing between braces reaches the provider.

use crate::*;
use serde_json::{Value, json};
use smsdesk_tests::*;

const CUSTOMER: &str = "15557770101";

async fn create(s: &Setup, body: Value, expect: u16) -> Value {
    s.api().ok("POST", "/v1/quick-replies", ADMIN_TOKEN, Some(body), expect).await
}

fn message(answer: &Value) -> &str {
    answer["error"]["message"].as_str().unwrap_or_default()
}

/// The conversation's quick replies as `token` gets them: shortcut -> text.
async fn filled(s: &Setup, token: &str, conversation: &str) -> Vec<(String, String)> {
    let path = format!("/v1/quick-replies?conversation_id={conversation}");
    let list = s.api().ok("GET", &path, token, None, 200).await;
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| {
            (r["shortcut"].as_str().unwrap_or_default().into(), r["text"].as_str().unwrap_or_default().into())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admins_keep_quick_replies_with_a_shortcut_unique_per_queue_and_language() {
    let Some(s) = Setup::new().await else { return };
    let org =
        create(&s, json!({"shortcut": "greet", "title": "Greeting", "text": "Hello {customer_name}!"}), 201)
            .await;
    assert_eq!(org["language"], "en", "English unless said: {org}");
    assert_eq!(org["queue_id"], Value::Null, "{org}");
    let queue = json!({"queue_id": s.queue, "language": "es", "shortcut": "greet", "title": "Saludo",
                       "text": "Hola {customer_first_name}, soy {agent_name}."});
    let es = create(&s, queue.clone(), 201).await;

    // Bad values: a 400 naming the field and the rule.
    for (body, field) in [
        (json!({"shortcut": "Greet Me", "title": "t", "text": "x"}), "shortcut:"),
        (
            json!({"shortcut": "a", "title": "t", "text": "Hi {first_name}"}),
            "text: has the unknown placeholder {first_name}",
        ),
        (json!({"shortcut": "a", "title": "t", "text": "x", "language": "Spanish"}), "language:"),
        (json!({"shortcut": "a", "title": "t", "text": "x", "language": "zz-invalid-tag-long"}), "language:"),
        (json!({"shortcut": "a", "title": "t", "text": "hi {{customer_name}}"}), "text:"),
        (json!({"shortcut": "a", "title": "t", "text": "x", "queue_id": "q_nope"}), "queue_id: no queue"),
        (json!({"shortcut": "a", "text": "x"}), "title: is required"),
        (json!({"shortcut": "a", "title": "t", "text": "x", "id": "qr_mine"}), "id: cannot be changed"),
    ] {
        let answer = create(&s, body.clone(), 400).await;
        assert!(message(&answer).starts_with(field), "{body} -> {answer}");
    }
    // The same shortcut in the same queue and language: 409; in another language or queue: fine.
    let taken = create(&s, queue.clone(), 409).await;
    assert_eq!(taken["error"]["code"], "shortcut_taken", "{taken}");
    assert!(message(&taken).starts_with("shortcut:"), "{taken}");
    let other_queue = s.api().create_queue("Billing").await;
    create(
        &s,
        json!({"queue_id": other_queue, "language": "es", "shortcut": "greet", "title": "t", "text": "x"}),
        201,
    )
    .await;
    let refund = create(
        &s,
        json!({"queue_id": s.queue, "language": "es", "shortcut": "refund", "title": "Reembolso",
                                    "text": "Su reembolso está en camino."}),
        201,
    )
    .await;

    // PATCH: a merge patch; moving onto a taken shortcut is a 409, immutable fields a 400.
    let path = |r: &Value| format!("/v1/quick-replies/{}", r["id"].as_str().expect("id"));
    let patched =
        s.api().ok("PATCH", &path(&es), ADMIN_TOKEN, Some(json!({"title": "Saludo cordial"})), 200).await;
    assert_eq!(
        (patched["title"].as_str(), patched["text"].as_str()),
        (Some("Saludo cordial"), es["text"].as_str())
    );
    let clash =
        s.api().ok("PATCH", &path(&refund), ADMIN_TOKEN, Some(json!({"shortcut": "greet"})), 409).await;
    assert_eq!(clash["error"]["code"], "shortcut_taken", "{clash}");
    let bad = s.api().ok("PATCH", &path(&refund), ADMIN_TOKEN, Some(json!({"created_at": "x"})), 400).await;
    assert!(message(&bad).starts_with("created_at:"), "{bad}");
    let bad = s.api().ok("PATCH", &path(&refund), ADMIN_TOKEN, Some(json!({"title": ""})), 400).await;
    assert!(message(&bad).starts_with("title:"), "{bad}");
    // A changed shortcut frees the old one.
    s.api().ok("PATCH", &path(&es), ADMIN_TOKEN, Some(json!({"shortcut": "hola"})), 200).await;
    create(&s, queue, 201).await;

    let all = s.api().ok("GET", "/v1/quick-replies", ADMIN_TOKEN, None, 200).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(5), "{all}");
    assert_eq!(
        s.api().ok("GET", &path(&org), ADMIN_TOKEN, None, 200).await["text"],
        "Hello {customer_name}!"
    );
    let (_, token) = s.agent("Ada", 2).await;
    s.api().ok("GET", "/v1/quick-replies", &token, None, 403).await;
    s.api()
        .ok(
            "POST",
            "/v1/quick-replies",
            &token,
            Some(json!({"shortcut": "x", "title": "t", "text": "x"})),
            403,
        )
        .await;
    s.api().ok("DELETE", &path(&org), ADMIN_TOKEN, None, 204).await;
    s.api().ok("GET", &path(&org), ADMIN_TOKEN, None, 404).await;
    s.api().ok("DELETE", &path(&org), ADMIN_TOKEN, None, 404).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_gets_the_conversations_quick_replies_filled_in_and_sends_one() {
    let Some(s) = Setup::with_queue(json!({"name": "Support"})).await else { return };
    // The CRM knows the customer by name before the first text.
    let phone = format!("+{CUSTOMER}");
    s.api()
        .ok("POST", "/v1/contacts", ADMIN_TOKEN, Some(json!({"name": "María López", "phone": phone})), 201)
        .await;
    let text = "Hi {customer_first_name} ({customer_name}), {agent_name} of {queue_name} here. Case {conversation_id}.";
    create(&s, json!({"shortcut": "greet", "title": "Greeting", "text": text}), 201).await;
    create(
        &s,
        json!({"queue_id": s.queue, "shortcut": "bye", "title": "Goodbye", "text": "Bye {customer_name}!"}),
        201,
    )
    .await;
    create(
        &s,
        json!({"language": "es", "shortcut": "greet", "title": "Saludo", "text": "Hola {customer_name}"}),
        201,
    )
    .await;
    let elsewhere = s.api().create_queue("Billing").await;
    create(
        &s,
        json!({"queue_id": elsewhere, "shortcut": "invoice", "title": "Invoice", "text": "Your invoice"}),
        201,
    )
    .await;

    let (_, token) = s.agent("Ada", 2).await;
    s.text("qr-1", CUSTOMER, "Hello?").await;
    let conversation = s.work_item_for(&token, &phone).await;
    s.conversation_where(&conversation, "the contact is linked", |c| c["contact_state"] == "linked").await;

    // The queue's and the organization's, in English (the channel's default), filled in; not Billing's.
    let replies = filled(&s, &token, &conversation).await;
    let greeting = format!("Hi María (María López), Ada of Support here. Case {conversation}.");
    assert_eq!(
        replies,
        vec![("bye".to_string(), "Bye María López!".to_string()), ("greet".to_string(), greeting.clone())]
    );
    // An admin gets the same (the conversation's agent's name).
    assert_eq!(filled(&s, ADMIN_TOKEN, &conversation).await, replies);

    // Another agent, not on this conversation or its queue: as for the conversation, a 404.
    let (other, other_token) = s.api().create_agent("Bo", &[&elsewhere], 1).await;
    s.api().presence(&other, &other_token, "available").await;
    let path = format!("/v1/quick-replies?conversation_id={conversation}");
    s.api().ok("GET", &path, &other_token, None, 404).await;
    s.api().ok("GET", "/v1/quick-replies?conversation_id=cv_nope", &token, None, 404).await;

    // The agent sends it as it is: the provider gets the filled-in text.
    let id = s.reply(&token, &conversation, &greeting).await;
    s.message_status(&token, &conversation, &id, "sent").await;
    let sent: Vec<String> =
        s.fake.sends().iter().filter_map(|x| x.field("message").map(str::to_string)).collect();
    assert!(sent.contains(&greeting), "{sent:?}");
    assert!(sent.iter().all(|t| !t.contains('{')), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quick_replies_come_in_the_channels_language_and_leave_out_what_is_unknown() {
    let settings = json!({"automated_messages_enabled": false, "language": "es"});
    let Some(s) = Setup::with_settings(settings).await else { return };
    create(
        &s,
        json!({"shortcut": "greet", "title": "Greeting", "text": "Hi {customer_name}, I am {agent_name}."}),
        201,
    )
    .await;
    create(&s, json!({"language": "es", "shortcut": "greet", "title": "Saludo", "text": "Hola {customer_name}, soy {agent_name}."}), 201)
        .await;
    create(
        &s,
        json!({"shortcut": "wait", "title": "Wait", "text": "One moment, {customer_first_name}."}),
        201,
    )
    .await;
    s.text("qr-2", CUSTOMER, "Hola").await;
    let phone = format!("+{CUSTOMER}");
    // Nobody took it yet: an admin reads it; the customer's name is not known (the CRM made the contact).
    let conversation = eventually(30, "the conversation is open", || {
        let api = s.api().clone();
        let phone = phone.clone();
        async move {
            let items = api.work_items(ADMIN_TOKEN).await;
            items.into_iter().find(|w| w["customer"] == phone.as_str())?["conversation_id"]
                .as_str()
                .map(str::to_string)
        }
    })
    .await;
    s.conversation_where(&conversation, "the contact is linked", |c| c["contact_state"] == "linked").await;
    let replies = filled(&s, ADMIN_TOKEN, &conversation).await;
    // Spanish first; no Spanish "wait": none in the channel's language either, so it is left out.
    assert_eq!(replies, vec![("greet".to_string(), "Hola, soy.".to_string())]);
}
