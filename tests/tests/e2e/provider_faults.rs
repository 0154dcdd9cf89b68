//! Provider faults (issue 12.5): TeleSign answers a seeded share of sends with 500, 503, 429 with
//! Retry-After, an answer only after smsdesk's 10 s timeout (the text taken), or a connection reset (the text
//! taken or not). Every reply ends sent exactly once (counted on the fake's side by our message id), or
//! failed with TeleSign's reason and never taken, or `unknown` with "may have accepted" and taken at most
//! once; the agent sees which in the transcript. TeleSign has no idempotency key, so a send that may have
//! been taken is never made again on its own (README, "At most once").

use crate::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test]
async fn under_provider_faults_every_reply_is_sent_once_or_fails_or_is_unknown_with_its_reason() {
    let Some(s) = Setup::new().await else { return };
    // 40% of sends fail in one of six ways; the slow answer comes 2 s past the client's 10 s timeout.
    s.fake.fault_mix(FaultMix::every_kind(20261129, 40, Duration::from_secs(12)));
    // Message ids are random, so which replies the mix hits varies from run to run; two replies get one
    // fault every time, so that each outcome shows in every run: 503 until the attempts run out, and a reset
    // after TeleSign took the text.
    s.fake.answer_texts_containing(
        "[always 503]",
        Scripted::Error { http: 503, code: 10000, description: "Service unavailable.".into() },
    );
    s.fake.answer_texts_containing("[always reset]", Scripted::Reset { accepted: true });
    let (_agent, token) = s.agent("Ada", 8).await;
    let mut replies: Vec<(String, String)> = Vec::new();
    for i in 0..8 {
        let customer = format!("155555508{i:02}");
        s.text(&format!("F{i:031}"), &customer, "hello").await;
        let conversation = s.work_item_for(&token, &format!("+{customer}")).await;
        for j in 0..3 {
            let marker = match (i, j) {
                (0, 0) => " [always 503]",
                (1, 0) => " [always reset]",
                _ => "",
            };
            let id = s.reply(&token, &conversation, &format!("answer {j} to customer {i}{marker}")).await;
            replies.push((conversation.clone(), id));
        }
    }

    let api = s.api().clone();
    let statuses = eventually(120, "every reply leaves `queued`", || {
        let (api, token, replies) = (api.clone(), token.clone(), replies.clone());
        async move {
            let mut found: BTreeMap<String, Value> = BTreeMap::new();
            for (conversation, id) in &replies {
                let c = api.conversation(&token, conversation).await;
                let m = c["messages"].as_array()?.iter().find(|m| m["id"] == id.as_str())?.clone();
                if m["status"] == "queued" {
                    return None;
                }
                found.insert(id.clone(), m);
            }
            Some(found)
        }
    })
    .await;
    s.app.settled().await;

    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (id, m) in &statuses {
        let status = m["status"].as_str().unwrap_or_default();
        let error = m["error"].as_str().unwrap_or_default();
        let taken = s.fake.accepted_for(id);
        *tally.entry(status.to_string()).or_default() += 1;
        match status {
            "sent" => assert_eq!(taken, 1, "{id} sent: exactly one send taken: {m}"),
            "failed" => {
                assert_eq!(taken, 0, "{id} failed: TeleSign never took it: {m}");
                assert!(error.contains("TeleSign HTTP"), "{id}: the agent sees TeleSign's reason: {m}");
            }
            "unknown" => {
                assert!(taken <= 1, "{id} unknown: taken at most once ({taken}): {m}");
                assert!(
                    error.contains("may have accepted") && error.contains("not resent automatically"),
                    "{id}: the agent sees why: {m}"
                );
            }
            other => panic!("{id}: status {other} after the faults settled: {m}"),
        }
    }
    // Each outcome shows (the two fixed faults), and transient faults were retried.
    let attempts: usize = replies.iter().map(|(_, id)| s.fake.attempts_for(id)).sum();
    eprintln!("provider faults: {tally:?}, {attempts} sends for {} replies", replies.len());
    for outcome in ["sent", "failed", "unknown"] {
        assert!(tally.get(outcome).copied().unwrap_or(0) > 0, "no reply ended {outcome}: {tally:?}");
    }
    assert!(attempts > replies.len(), "transient faults were retried: {attempts} sends");
}
