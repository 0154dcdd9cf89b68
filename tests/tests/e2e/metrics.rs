//! `/metrics` of `smsdesk dev`: after a conversation, the counters a dashboard reads show it (embedded
//! shape; the AWS shape's embedded-metric-format lines are checked in e2e_aws).

use crate::*;
use serde_json::json;
use smsdesk_contract::metrics::{Observed, parse_prometheus};

#[tokio::test]
async fn metrics_show_a_conversation_in_the_prometheus_text_format() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 2).await;
    s.text("B2000000000000000000000000000001", "15555550177", "Where is my parcel?").await;
    let conversation = s.work_item_for(&token, "+15555550177").await;
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
    s.message_where(&token, &conversation, "the reply is sent", |m| {
        m["id"] == reply_id.as_str() && m["status"] == "sent"
    })
    .await;
    s.app.settled().await;

    let response =
        s.api().http.get(format!("{}/metrics", s.api().base)).send().await.expect("/metrics answers");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.expect("body");
    assert!(!text.contains("15555550177"), "no customer number in metrics: {text}");
    let series = parse_prometheus(&text);
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
    assert_eq!(get("SendFailures", &[("Provider", "telesign"), ("Reason", "transient")]), None, "{text}");
    let queue = [("Queue", s.queue.as_str())];
    assert!(
        matches!(get("AssignmentLatency", &queue), Some(Observed::Millis { count: 1, .. })),
        "one assignment timed: {text}"
    );
    assert!(
        matches!(get("FirstReplyLatency", &queue), Some(Observed::Millis { count: 1, .. })),
        "one first reply timed: {text}"
    );
    // The health summary: everything settled, nothing dead-lettered.
    for stage in ["inbound", "outbound", "crm"] {
        assert_eq!(get("QueueDepth", &[("Stage", stage)]), Some(Observed::Gauge(0.0)), "{text}");
        assert_eq!(get("DeadLetters", &[("Stage", stage)]), Some(Observed::Gauge(0.0)), "{text}");
    }
}
