//! Crash under load (issue 12.6): `smsdesk dev` is killed with SIGKILL in the middle of a load of signed
//! webhooks and agent replies, then started again on the same database. Every webhook that got a 2xx is in a
//! transcript exactly once; every reply that got a 202 is sent exactly once (the fake TeleSign counts by our
//! message id), or, when the kill caught its send between TeleSign taking it and the answer being stored,
//! is `unknown`, taken at most once and not resent (TeleSign has no idempotency key); nothing is taken twice.
//! Embedded shape only (it kills the process). A small size here; `smsdesk-bench` is the large one.

use crate::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CUSTOMERS: usize = 16;
/// Enough that the load is still running when the kill comes (the kill waits for replies to flow).
const TEXTS_EACH: usize = 60;
const AGENTS: usize = 4;

fn customer(i: usize) -> String {
    format!("155555509{i:02}")
}

#[derive(Default)]
struct Load {
    /// Texts (unique) whose webhook was answered 2xx.
    acked: Mutex<BTreeSet<String>>,
    /// Replies answered 202: message id -> (conversation, text).
    accepted: Mutex<BTreeMap<String, (String, String)>>,
    stop: AtomicBool,
    acks: AtomicUsize,
    replies: AtomicUsize,
}

/// Posts every customer's texts, signed, `parallel` at a time, until stopped or done; a webhook whose answer
/// never came (the server died under it) is not counted.
async fn post_texts(api: Api, fake: FakeTelesign, path: String, load: Arc<Load>, lane: usize, lanes: usize) {
    for n in 0..TEXTS_EACH {
        for c in (lane..CUSTOMERS).step_by(lanes) {
            if load.stop.load(Ordering::SeqCst) {
                return;
            }
            let text = format!("text {n} from customer {c}");
            let raw = telesign_mo(&format!("K{c:02}{n:02}{:027}", 0), &customer(c), OUR_NUMBER, &text);
            let sent = api
                .http
                .post(format!("{}{path}", api.base))
                .header("content-type", "application/json")
                .header("authorization", fake.sign_callback(&raw))
                .body(raw)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    load.acked.lock().expect("lock").insert(text);
                    load.acks.fetch_add(1, Ordering::SeqCst);
                }
                Ok(r) => panic!("a webhook answered {} before the crash", r.status()),
                Err(_) => return,
            }
        }
    }
}

/// Each agent answers each of their conversations up to three times, until stopped or the server is gone.
async fn reply_as(api: Api, token: String, load: Arc<Load>) {
    let mut answered: BTreeMap<String, usize> = BTreeMap::new();
    while !load.stop.load(Ordering::SeqCst) {
        let Ok(r) = api.http.get(format!("{}/v1/work-items", api.base)).bearer_auth(&token).send().await
        else {
            return;
        };
        let Ok(items) = r.json::<Value>().await else { return };
        for item in items["items"].as_array().cloned().unwrap_or_default() {
            let Some(conversation) = item["conversation_id"].as_str() else { continue };
            let n = answered.entry(conversation.to_string()).or_default();
            if *n >= 3 || load.stop.load(Ordering::SeqCst) {
                continue;
            }
            let text = format!("reply {n} in {conversation}");
            *n += 1;
            let sent = api
                .http
                .post(format!("{}/v1/conversations/{conversation}/messages", api.base))
                .bearer_auth(&token)
                .json(&json!({"text": text}))
                .send()
                .await;
            let Ok(r) = sent else { return };
            if r.status().as_u16() == 202 {
                let Ok(body) = r.json::<Value>().await else { return };
                let id = body["id"].as_str().expect("reply id").to_string();
                load.accepted.lock().expect("lock").insert(id, (conversation.to_string(), text));
                load.replies.fetch_add(1, Ordering::SeqCst);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_dev_server_killed_under_load_loses_no_acknowledged_text_and_sends_no_reply_twice() {
    let binary = smsdesk_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("smsdesk.db");
    let fake = FakeTelesign::start().await;
    let fast = [
        ("SMSDESK_RETRY_BASE_MS", "200"),
        ("SMSDESK_VISIBILITY_SECS", "2"),
        ("SMSDESK_SEND_LEASE_SECS", "2"),
        ("SMSDESK_SWEEP_SECS", "1"),
    ];
    let first = DevProcess::spawn(&binary, &data, &fast).await;
    let api = first.api.clone();
    let queue = api.create_queue("Support").await;
    let channel = api.telesign_channel(&fake, &[OUR_NUMBER], &queue).await;
    let path = format!("/webhooks/telesign/{}", channel["id"].as_str().expect("id"));
    let mut tokens = Vec::new();
    for a in 0..AGENTS {
        let (agent, token) = api.create_agent(&format!("Agent {a}"), &[&queue], 10).await;
        api.presence(&agent, &token, "available").await;
        tokens.push(token);
    }

    // The load: texts on 8 connections, and every agent replying.
    let load = Arc::new(Load::default());
    let mut tasks = Vec::new();
    for lane in 0..8 {
        tasks.push(tokio::spawn(post_texts(api.clone(), fake.clone(), path.clone(), load.clone(), lane, 8)));
    }
    for token in &tokens {
        tasks.push(tokio::spawn(reply_as(api.clone(), token.clone(), load.clone())));
    }
    // Kill in the middle: once a third of the texts are acknowledged and replies are flowing.
    let total = CUSTOMERS * TEXTS_EACH;
    eventually(60, "the load is under way", || async {
        (load.acks.load(Ordering::SeqCst) >= CUSTOMERS * 4 && load.replies.load(Ordering::SeqCst) >= 8)
            .then_some(())
    })
    .await;
    first.kill();
    load.stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.expect("a load task panicked");
    }
    let acked = load.acked.lock().expect("lock").clone();
    let accepted = load.accepted.lock().expect("lock").clone();
    assert!(acked.len() < total, "the kill came before the load ended ({} of {total} acked)", acked.len());

    // Started again on the same database: everything acknowledged comes out.
    let second = DevProcess::spawn(&binary, &data, &fast).await;
    let api = second.api.clone();
    let (texts, _) =
        eventually(90, "every acknowledged text is filed and every reply has left `queued`", || {
            let (api, accepted, acked) = (api.clone(), accepted.clone(), acked.clone());
            async move {
                let (texts, replies) = transcripts(&api).await;
                let filed = acked.iter().all(|t| texts.contains_key(t));
                let settled =
                    accepted.keys().all(|id| replies.get(id).is_some_and(|m| m["status"] != "queued"));
                (filed && settled).then_some((texts, replies))
            }
        })
        .await;
    settle_database(&data, Duration::from_secs(4)).await;
    let (texts_after, replies_after) = transcripts(&api).await;
    assert_eq!(texts_after, texts, "nothing changed after the queues settled");

    for (text, count) in &texts {
        assert_eq!(*count, 1, "{text:?} is in the transcripts {count} times");
    }
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (id, (_, text)) in &accepted {
        let m = &replies_after[id];
        assert_eq!(m["text"], text.as_str());
        let taken = fake.accepted_for(id);
        let status = m["status"].as_str().unwrap_or_default().to_string();
        match status.as_str() {
            "sent" | "delivered" => assert_eq!(taken, 1, "{id} {status}: sent exactly once: {m}"),
            "unknown" => {
                assert!(taken <= 1, "{id} unknown: taken {taken} times: {m}");
                assert!(m["error"].as_str().is_some_and(|e| e.contains("may have accepted")), "{m}");
            }
            other => panic!("{id}: {other} after the crash: {m}"),
        }
        *tally.entry(status).or_default() += 1;
    }
    // Nothing the fake took was taken twice, the replies above or any other (system messages).
    for sent in FakeTelesign::sends(&fake) {
        if let Some(id) = sent.field("external_id") {
            assert!(fake.accepted_for(id) <= 1, "{id} taken {} times", fake.accepted_for(id));
        }
    }
    eprintln!(
        "crash under load: {} of {total} texts acknowledged before the kill, all filed once; {} replies accepted: {tally:?}",
        acked.len(),
        accepted.len()
    );
    drop(second);
}

/// Every inbound text (with how many times it shows) and every outbound message by id, over every
/// conversation the admin sees.
async fn transcripts(api: &Api) -> (BTreeMap<String, usize>, BTreeMap<String, Value>) {
    let mut texts = BTreeMap::new();
    let mut replies = BTreeMap::new();
    for item in api.work_items(ADMIN_TOKEN).await {
        let id = item["conversation_id"].as_str().expect("id");
        let c = api.conversation(ADMIN_TOKEN, id).await;
        for m in c["messages"].as_array().cloned().unwrap_or_default() {
            if m["direction"] == "inbound" {
                *texts.entry(m["text"].as_str().unwrap_or_default().to_string()).or_default() += 1;
            } else if let Some(id) = m["id"].as_str() {
                replies.insert(id.to_string(), m.clone());
            }
        }
    }
    (texts, replies)
}
