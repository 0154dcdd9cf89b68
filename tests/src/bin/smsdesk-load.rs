//! A load command for smsdesk's TeleSign path, all on loopback: starts `smsdesk dev` in this process on a
//! fresh database and a fake TeleSign, then
//!   1. posts N signed TeleSign texts from C concurrent senders (each a different customer) and measures the
//!      webhook's acknowledgement latency (TeleSign wants an answer within 5 s) and throughput;
//!   2. measures how long until every text is in a conversation assigned to an agent;
//!   3. has the agents reply to every conversation and measures how long until every reply is `sent`
//!      through the fake TeleSign (signed REST calls).
//!
//! Prints medians and percentiles of one run. Bounded in count and time; stops by itself.
//!
//!   cargo run --release -p smsdesk-tests --bin smsdesk-load -- [texts] [concurrency]

use serde_json::json;
use smsdesk_tests::harness::ADMIN_TOKEN;
use smsdesk_tests::{FakeTelesign, TestApp, telesign_mo};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let texts: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000).clamp(1, 20_000);
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(16).clamp(1, 256);
    let agents = 10usize;

    let app = TestApp::spawn().await;
    let fake = FakeTelesign::start().await;
    let api = app.api.clone();
    let queue = api.create_queue("Load").await;
    let channel = api.telesign_channel(&fake, &["15555550100"], &queue).await;
    let channel = channel["id"].as_str().expect("channel id").to_string();
    let capacity = texts.div_ceil(agents) as u32 + 1;
    let mut tokens = Vec::new();
    for i in 0..agents {
        let (id, token) = api.create_agent(&format!("Agent {i}"), &[&queue], capacity.min(100)).await;
        api.presence(&id, &token, "available").await;
        tokens.push(token);
    }
    let path = format!("/webhooks/telesign/{channel}");

    // 1. Inbound webhooks.
    let bodies: Vec<(Vec<u8>, String)> = (0..texts)
        .map(|i| {
            let raw = telesign_mo(
                &format!("{:032X}", i + 1),
                &format!("1555{:07}", 1_000_000 + i),
                "15555550100",
                "Where is my order?",
            );
            let sig = fake.sign_callback(&raw);
            (raw, sig)
        })
        .collect();
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (api, bodies, next, path) = (api.clone(), bodies.clone(), next.clone(), path.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((raw, sig)) = bodies.get(i) else { break };
                let t = Instant::now();
                let (status, body) = api.webhook(&path, raw, Some(sig)).await;
                assert_eq!(status, 200, "{body}");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut acks = Vec::new();
    for w in workers {
        acks.extend(w.await.expect("sender"));
    }
    let ack_wall = started.elapsed();
    acks.sort();

    // 2. Until every text is assigned.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut conversations: Vec<(String, String)> = Vec::new();
    loop {
        conversations.clear();
        for token in &tokens {
            let items = api.work_items(token).await;
            for w in items {
                if let Some(id) = w["conversation_id"].as_str() {
                    conversations.push((token.clone(), id.to_string()));
                }
            }
        }
        if conversations.len() >= texts || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let routed_wall = started.elapsed();
    assert_eq!(conversations.len(), texts, "every text reached an agent");

    // 3. Replies until sent.
    let replies_started = Instant::now();
    let conversations = Arc::new(conversations);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (api, conversations, next) = (api.clone(), conversations.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((token, id)) = conversations.get(i) else { break };
                let t = Instant::now();
                api.ok(
                    "POST",
                    &format!("/v1/conversations/{id}/messages"),
                    token,
                    Some(json!({"text": "It ships today."})),
                    202,
                )
                .await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut reply_acks = Vec::new();
    for w in workers {
        reply_acks.extend(w.await.expect("replier"));
    }
    reply_acks.sort();
    while fake.accepted().len() < texts && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent_wall = replies_started.elapsed();
    let sends = fake.sends();
    assert_eq!(fake.accepted().len(), texts, "every reply was sent");
    assert_eq!(sends.len(), texts, "and sent once");
    assert!(sends.iter().all(|s| s.signature_ok));
    let _ = ADMIN_TOKEN;

    println!(
        "smsdesk-load: {texts} texts, {concurrency} concurrent senders, {agents} agents, embedded store"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!("| webhook ack latency, median | {} |", ms(percentile(&acks, 0.5)));
    println!("| webhook ack latency, p90 | {} |", ms(percentile(&acks, 0.9)));
    println!("| webhook ack latency, p99 | {} |", ms(percentile(&acks, 0.99)));
    println!("| webhook ack latency, max | {} |", ms(percentile(&acks, 1.0)));
    println!("| webhooks acknowledged per second | {:.0} |", texts as f64 / ack_wall.as_secs_f64());
    println!("| first text to all {texts} assigned | {:.2} s |", routed_wall.as_secs_f64());
    println!("| reply accept latency (202), median | {} |", ms(percentile(&reply_acks, 0.5)));
    println!("| reply accept latency (202), p99 | {} |", ms(percentile(&reply_acks, 0.99)));
    println!(
        "| first reply to all {texts} sent via TeleSign | {:.2} s ({:.0} sends/s) |",
        sent_wall.as_secs_f64(),
        texts as f64 / sent_wall.as_secs_f64()
    );
    drop(app);
}
