//! The functions' CloudWatch embedded-metric-format lines: after a conversation through the AWS shape, the
//! lines they printed (what CloudWatch Logs would extract) hold the series the stack's dashboard and alarms
//! read (embedded shape: `/metrics`, in e2e/metrics.rs).

use crate::*;
use serde_json::json;
use smsdesk_contract::metrics::{Observed, parse_emf};

#[tokio::test]
async fn the_functions_print_the_conversations_metrics_as_emf() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 2).await;
    s.text("E3000000000000000000000000000001", "15555550188", "Where is my parcel?").await;
    let conversation = s.work_item_for(&token, "+15555550188").await;
    let reply = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "On its way."})),
            202,
        )
        .await;
    let reply_id = reply["id"].as_str().expect("reply id").to_string();
    s.message_status(&token, &conversation, &reply_id, "sent").await;
    s.app.settled().await;

    let text = s.app.aws.as_ref().expect("the AWS shape").emf_lines.text();
    assert!(!text.contains("15555550188"), "no customer number in metrics: {text}");
    for line in text.lines() {
        let doc: serde_json::Value = serde_json::from_str(line).expect("every line is one JSON document");
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "smsdesk", "{line}");
    }
    let series = parse_emf(&text);
    let get = |name: &str, dims: &[(&str, &str)]| {
        let mut d: Vec<(String, String)> = dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        d.sort();
        series.get(&(name.to_owned(), d)).cloned()
    };
    let telesign = [("Provider", "telesign")];
    let channel_telesign = [("Channel", s.channel.as_str()), ("Provider", "telesign")];
    assert_eq!(get("TextsIn", &channel_telesign), Some(Observed::Count(1.0)), "{text}");
    assert_eq!(get("SendAttempts", &telesign), Some(Observed::Count(1.0)), "{text}");
    assert_eq!(get("TextsOut", &channel_telesign), Some(Observed::Count(1.0)), "{text}");
    let queue = [("Queue", s.queue.as_str())];
    assert!(
        matches!(get("AssignmentLatency", &queue), Some(Observed::Millis { count: 1, .. })),
        "one assignment timed: {text}"
    );
    assert!(
        matches!(get("FirstReplyLatency", &queue), Some(Observed::Millis { count: 1, .. })),
        "one first reply timed: {text}"
    );
    assert!(get("WaitingConversations", &queue).is_some(), "the timers report the queue's level: {text}");
}
