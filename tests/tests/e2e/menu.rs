//! Keyword menus (issue 11.2): a number that names a menu shows it to the customer's first text; the answer
//! (keyword or digit) files the conversation into the chosen queue; nested menus, BACK, EXIT, a repeat on an
//! unknown answer, and the default queue after the menu's timeout. The exchange is in the transcript.

use crate::*;
use serde_json::{Value, json};
use smsdesk_tests::*;
use std::time::Duration;

pub const MENU_NUMBER: &str = "15555550200";

/// The Setup, plus queues Sales and Billing, a nested menu (BILLING), a main menu (1 SALES, 2 MORE) and a
/// second channel whose number names the main menu (its queue, Support, is the default).
pub struct MenuSetup {
    pub s: Setup,
    pub sales: String,
    pub billing: String,
    pub main: String,
    pub more: String,
    pub channel: String,
}

pub const MAIN_TEXT: &str = "Reply 1 or SALES for sales, 2 or MORE for more.";
pub const MORE_TEXT: &str = "Reply BILLING for billing, BACK to go back.";

impl MenuSetup {
    pub async fn new() -> Option<Self> {
        let s = Setup::new().await?;
        let sales = s.api().create_queue("Sales").await;
        let billing = s.api().create_queue("Billing").await;
        let more = s
            .api()
            .ok(
                "POST",
                "/v1/menus",
                ADMIN_TOKEN,
                Some(json!({"name": "more", "text": {"en": MORE_TEXT},
                    "options": [{"keyword": "BILLING", "target": {"queue": billing}}]})),
                201,
            )
            .await;
        let more = more["id"].as_str().expect("menu id").to_string();
        let main = s
            .api()
            .ok(
                "POST",
                "/v1/menus",
                ADMIN_TOKEN,
                Some(json!({"name": "main", "text": {"en": MAIN_TEXT, "es": "Responda 1 o VENTAS."},
                    "timeout_seconds": 600,
                    "options": [{"keyword": "SALES", "digit": 1, "target": {"queue": sales}},
                                {"keyword": "MORE", "digit": 2, "target": {"menu": more}}]})),
                201,
            )
            .await;
        let main = main["id"].as_str().expect("menu id").to_string();
        let channel = s
            .api()
            .ok(
                "POST",
                "/v1/channels",
                ADMIN_TOKEN,
                Some(json!({
                    "name": "TeleSign menu", "provider": "telesign",
                    "credentials": {"customer_id": s.fake.customer_id, "api_key": s.fake.api_key},
                    "base_url": s.fake.base_url(),
                    "numbers": [{"number": MENU_NUMBER, "type": "geo", "description": "menu line",
                                 "queue": s.queue, "menu": main}],
                })),
                201,
            )
            .await;
        assert_eq!(channel["numbers"][0]["menu"], json!(main), "{channel}");
        let channel = channel["id"].as_str().expect("channel id").to_string();
        Some(Self { s, sales, billing, main, more, channel })
    }

    /// A customer's text to the menu number.
    pub async fn text(&self, reference: &str, from: &str, body: &str) {
        let raw = telesign_mo(reference, from, MENU_NUMBER, body);
        let path = format!("/webhooks/telesign/{}", self.channel);
        let (status, answer) =
            self.s.api().webhook(&path, &raw, Some(&self.s.fake.sign_callback(&raw))).await;
        assert_eq!(status, 200, "webhook answered {status}: {answer}");
    }

    /// The customer's conversation as an admin sees it, once `pred` holds.
    pub async fn conversation_where(
        &self,
        customer: &str,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let api = self.s.api().clone();
        let pred = &pred;
        eventually(30, what, || {
            let api = api.clone();
            async move {
                let all = api.ok("GET", "/v1/work-items", ADMIN_TOKEN, None, 200).await;
                let id =
                    all["items"].as_array()?.iter().find(|w| w["customer"] == customer)?["conversation_id"]
                        .as_str()?
                        .to_string();
                let c = api.conversation(ADMIN_TOKEN, &id).await;
                pred(&c).then_some(c)
            }
        })
        .await
    }
}

/// The system messages of a transcript that menus and bots wrote, in order (the channel's automated messages,
/// such as the opt-in notice of a first contact, left out).
pub fn system_texts(c: &Value) -> Vec<String> {
    c["messages"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter(|m| m["author"] == "system" && m["automated"].is_null())
                .filter_map(|m| m["text"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn customer_count(c: &Value) -> usize {
    c["messages"].as_array().map(|ms| ms.iter().filter(|m| m["author"] == "customer").count()).unwrap_or(0)
}

/// Waits until the customer's `n`th text has been answered (n system messages), returns the conversation.
async fn after_answers(m: &MenuSetup, customer: &str, n: usize) -> Value {
    m.conversation_where(customer, &format!("{n} menu answers"), |c| {
        customer_count(c) >= n && system_texts(c).len() >= n
    })
    .await
}

#[tokio::test]
async fn a_menu_choice_routes_to_the_chosen_queue_and_the_exchange_is_in_the_transcript() {
    let Some(m) = MenuSetup::new().await else { return };
    let (_support_agent, support_token) = m.s.agent("Sam", 2).await;
    let (sales_agent, sales_token) = m.s.api().create_agent("Sally", &[&m.sales], 2).await;
    m.s.api().presence(&sales_agent, &sales_token, "available").await;

    m.text("V2000000000000000000000000000001", "15555550601", "Hello").await;
    let c = after_answers(&m, "+15555550601", 1).await;
    assert_eq!(c["state"], "routing", "in the menu, before any queue: {c}");
    assert_eq!(system_texts(&c), vec![MAIN_TEXT.to_string()]);
    let first_said = c["messages"].as_array().and_then(|ms| ms.iter().find(|m| m["author"] == "system"));
    assert_eq!(
        first_said.map(|m| &m["automated"]),
        Some(&json!("opt_in_notice")),
        "the opt-in notice before the menu: {c}"
    );
    assert!(m.s.api().work_items(&support_token).await.is_empty(), "no agent gets a conversation in a menu");
    let id = c["id"].as_str().expect("id").to_string();
    let (status, _) =
        m.s.api().call("GET", &format!("/v1/conversations/{id}"), Some(&sales_token), None).await;
    assert_eq!(status, 404, "an agent does not see a conversation in a menu");

    m.text("V2000000000000000000000000000002", "15555550601", " sales! ").await;
    let got = m.s.work_item_for(&sales_token, "+15555550601").await;
    assert_eq!(got, id);
    let c = m.s.api().conversation(&sales_token, &id).await;
    assert_eq!((&c["state"], &c["queue_id"]), (&json!("active"), &json!(m.sales)), "{c}");
    let authors: Vec<_> = c["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|x| x["automated"].is_null())
        .map(|x| x["author"].clone())
        .collect();
    // (the channel's automated messages, opt-in notice and agent joined, aside)
    assert_eq!(authors, vec![json!("customer"), json!("system"), json!("customer")], "{c}");
    // The menu reached the customer through the provider, from the menu number.
    let sent = eventually(30, "the menu is sent", || async {
        m.s.fake.sends().into_iter().find(|x| x.field("message") == Some(MAIN_TEXT))
    })
    .await;
    assert_eq!(sent.field("phone_number"), Some("15555550601"));
    assert!(m.s.api().work_items(&support_token).await.is_empty(), "the default queue got nothing");
}

#[tokio::test]
async fn unknown_answers_repeat_nested_menus_go_in_and_back_goes_up() {
    let Some(m) = MenuSetup::new().await else { return };
    let (billing_agent, billing_token) = m.s.api().create_agent("Bill", &[&m.billing], 2).await;
    m.s.api().presence(&billing_agent, &billing_token, "available").await;
    let who = "+15555550602";
    let steps = [
        ("Hi", MAIN_TEXT),
        ("what?", MAIN_TEXT), // unknown: the same menu again
        ("BACK", MAIN_TEXT),  // BACK at the top: the same menu again
        ("2", MORE_TEXT),     // nested
        ("back", MAIN_TEXT),  // up one
        ("more", MORE_TEXT),  // nested again, by keyword
        ("1", MORE_TEXT),     // not an option of the nested menu
    ];
    for (i, (text, _)) in steps.iter().enumerate() {
        m.text(&format!("V20000000000000000000000000001{i:02}"), &who[1..], text).await;
        after_answers(&m, who, i + 1).await;
    }
    let c = after_answers(&m, who, steps.len()).await;
    let expected: Vec<String> = steps.iter().map(|(_, shown)| shown.to_string()).collect();
    assert_eq!(system_texts(&c), expected, "{c}");
    assert_eq!(c["state"], "routing");

    m.text("V2000000000000000000000000000199", &who[1..], "Billing").await;
    let id = m.s.work_item_for(&billing_token, who).await;
    let c = m.s.api().conversation(&billing_token, &id).await;
    assert_eq!(c["queue_id"], json!(m.billing), "{c}");
    let _ = (&m.main, &m.more);
}

#[tokio::test]
async fn exit_ends_the_conversation_with_a_system_message() {
    let Some(m) = MenuSetup::new().await else { return };
    let who = "+15555550603";
    m.text("V2000000000000000000000000000301", &who[1..], "hello").await;
    after_answers(&m, who, 1).await;
    m.text("V2000000000000000000000000000302", &who[1..], "exit").await;
    let id = eventually(30, "the conversation closes", || async {
        let all = m.s.api().ok("GET", "/v1/work-items", ADMIN_TOKEN, None, 200).await;
        let open = all["items"].as_array().is_some_and(|i| i.iter().any(|w| w["customer"] == who));
        if open {
            return None;
        }
        m.s.fake
            .sends()
            .into_iter()
            .find(|x| x.field("message") == Some(smsdesk_app::services::prequeue::EXIT_TEXT))
    })
    .await;
    assert_eq!(id.field("phone_number"), Some(&who[1..]));
    // A new text starts a new conversation, with the menu again.
    m.text("V2000000000000000000000000000303", &who[1..], "again").await;
    let c = after_answers(&m, who, 1).await;
    assert_eq!((&c["state"], system_texts(&c)), (&json!("routing"), vec![MAIN_TEXT.to_string()]), "{c}");
}

#[tokio::test]
async fn an_unanswered_menu_goes_to_the_default_queue_after_its_timeout() {
    let Some(m) = MenuSetup::new().await else { return };
    let (_agent, token) = m.s.agent("Sam", 2).await;
    // Two customers get the menu (timeout 600 s); only the first answers, with something unknown.
    let (first, second) = ("+15555550604", "+15555550605");
    m.text("V2000000000000000000000000000401", &first[1..], "hello").await;
    m.text("V2000000000000000000000000000501", &second[1..], "hello").await;
    for who in [first, second] {
        let c = after_answers(&m, who, 1).await;
        assert_eq!(c["state"], "routing", "{c}");
    }
    m.s.app.clock.advance(Duration::from_secs(300));
    m.text("V2000000000000000000000000000402", &first[1..], "hmm").await; // shown again: its timeout restarts
    after_answers(&m, first, 2).await;

    // 600 s after the second customer's menu: it goes to the number's queue (Support) and its agent.
    m.s.app.clock.advance(Duration::from_secs(300));
    let id = m.s.work_item_for(&token, second).await;
    let c = m.s.api().conversation(&token, &id).await;
    assert_eq!(
        (&c["state"], &c["queue_id"]),
        (&json!("active"), &json!(m.s.queue)),
        "the number's queue: {c}"
    );
    // The sweep that moved it left the first, shown again 300 s ago, in its menu.
    let c = m.conversation_where(first, "the first customer's conversation", |_| true).await;
    assert_eq!(c["state"], "routing", "{c}");

    m.s.app.clock.advance(Duration::from_secs(301));
    let id = m.s.work_item_for(&token, first).await;
    let c = m.s.api().conversation(&token, &id).await;
    assert_eq!((&c["state"], &c["queue_id"]), (&json!("active"), &json!(m.s.queue)), "{c}");
}

#[tokio::test]
async fn a_hidden_queue_is_not_offered_by_the_menu_until_shown_again() {
    let Some(m) = MenuSetup::new().await else { return };
    let (sales_agent, sales_token) = m.s.api().create_agent("Sally", &[&m.sales], 2).await;
    m.s.api().presence(&sales_agent, &sales_token, "available").await;
    let sales = format!("/v1/queues/{}", m.sales);
    m.s.api().ok("PATCH", &sales, ADMIN_TOKEN, Some(json!({"hidden": true})), 200).await;

    let customer = "+15555550611";
    m.text("V2000000000000000000000000000701", &customer[1..], "hello").await;
    after_answers(&m, customer, 1).await;
    m.text("V2000000000000000000000000000702", &customer[1..], "SALES").await;
    let c = after_answers(&m, customer, 2).await;
    assert_eq!(c["state"], "routing", "a hidden queue's option is no answer: {c}");
    assert_eq!(system_texts(&c), vec![MAIN_TEXT.to_string(), MAIN_TEXT.to_string()], "the menu again: {c}");
    assert!(m.s.api().work_items(&sales_token).await.is_empty(), "the hidden queue got nothing");

    m.s.api().ok("PATCH", &sales, ADMIN_TOKEN, Some(json!({"hidden": false})), 200).await;
    m.text("V2000000000000000000000000000703", &customer[1..], "1").await;
    let id = m.s.work_item_for(&sales_token, customer).await;
    let c = m.s.api().conversation(&sales_token, &id).await;
    assert_eq!((&c["state"], &c["queue_id"]), (&json!("active"), &json!(m.sales)), "{c}");
}

/// A queue picked from the menu outside its hours: the customer is told so on that answer (once), as a
/// text straight to a number of that queue would be.
#[tokio::test]
async fn a_queue_picked_from_the_menu_out_of_its_hours_says_so_at_once() {
    let Some(m) = MenuSetup::new().await else { return };
    // Open one minute a week (Monday 00:00 UTC): closed now, whenever the test runs but that minute.
    let hours = json!({"time_zone": "UTC", "days": {"mon": [["00:00", "00:01"]]}, "holidays": []});
    let path = format!("/v1/queues/{}", m.sales);
    m.s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"operating_hours": hours})), 200).await;

    m.text("V2000000000000000000000000000061", "15555550661", "Hello").await;
    after_answers(&m, "+15555550661", 1).await;
    m.text("V2000000000000000000000000000062", "15555550661", "1").await;
    let c = m
        .conversation_where("+15555550661", "the out-of-hours answer to the menu's choice", |c| {
            c["messages"].as_array().is_some_and(|ms| ms.iter().any(|x| x["automated"] == "out_of_hours"))
        })
        .await;
    assert_eq!(c["queue_id"], json!(m.sales), "{c}");
    let told = c["messages"]
        .as_array()
        .map_or(0, |ms| ms.iter().filter(|x| x["automated"] == "out_of_hours").count());
    assert_eq!(told, 1, "{c}");
}

/// A customer who opted out of every number texts a number with a menu: the menu is not sent (it is in the
/// transcript, failed, saying why), and routing goes on at once: the router neither fails nor retries, and
/// the customer's answer still picks the queue.
#[tokio::test]
async fn an_opted_out_customers_text_to_a_menu_number_is_routed_without_sending_the_menu() {
    let (logs, _capture) = smsdesk_tests::logs::capture();
    let Some(m) = MenuSetup::new().await else { return };
    m.s.text("V3000000000000000000000000000001", "15555550671", "STOPALL").await;
    eventually(30, "the opt-out is recorded", || async {
        let consent = m.s.api().ok("GET", "/v1/consent?phone=%2B15555550671", ADMIN_TOKEN, None, 200).await;
        (consent["opted_out_everywhere"] == true).then_some(())
    })
    .await;
    m.text("V3000000000000000000000000000002", "15555550671", "Hello").await;
    let c = m
        .conversation_where("+15555550671", "the menu, refused", |c| {
            c["messages"].as_array().is_some_and(|ms| ms.iter().any(|x| x["text"] == MAIN_TEXT))
        })
        .await;
    let menu = c["messages"].as_array().and_then(|ms| ms.iter().find(|x| x["text"] == MAIN_TEXT)).cloned();
    let menu = menu.expect("the menu");
    assert_eq!(menu["status"], "failed", "{c}");
    assert!(menu["error"].as_str().is_some_and(|e| e.contains("opted out")), "{menu}");
    m.text("V3000000000000000000000000000003", "15555550671", "1").await;
    m.conversation_where("+15555550671", "the answer picks Sales", |c| c["queue_id"] == json!(m.sales)).await;
    m.s.app.settled().await;
    let logged = logs.text();
    assert!(!logged.contains("router failed"), "the router failed on the refused menu: {logged}");
    assert!(m.s.fake.sends().iter().all(|x| x.field("phone_number") != Some("15555550671")));
}
