//! The functions' CloudWatch embedded-metric-format lines: after a conversation through the AWS shape, the
//! lines they printed (what CloudWatch Logs would extract) hold the series the stack's dashboard and alarms
//! read (embedded shape: `/metrics`, in e2e/metrics.rs).

use crate::*;
use smsdesk_contract::metrics::{parse_emf, series};

#[tokio::test]
async fn the_functions_print_the_conversations_metrics_as_emf() {
    let Some(s) = Setup::new().await else { return };
    s.answered_conversation("E3000000000000000000000000000001", "15555550188").await;

    let text = s.app.aws.as_ref().expect("the AWS shape").emf_lines.text();
    assert!(!text.contains("15555550188"), "no customer number in metrics: {text}");
    for line in text.lines() {
        let doc: serde_json::Value = serde_json::from_str(line).expect("every line is one JSON document");
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "smsdesk", "{line}");
    }
    let read = parse_emf(&text);
    s.assert_answered_conversation_metrics(&read, &text);
    // A conversation that went well fails at nothing: no function counted a failure (the metric that rolls
    // a deployment back), though replies waited for their number's pace and receipts for their send.
    let failures: Vec<_> = read.keys().filter(|(name, _)| name == "Failures").collect();
    assert!(failures.is_empty(), "no failures in a good conversation: {failures:?}\n{text}");
    let queue = [("Queue", s.queue.as_str())];
    assert!(
        series(&read, "WaitingConversations", &queue).is_some(),
        "the timers report the queue's level: {text}"
    );
}
