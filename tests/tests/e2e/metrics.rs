//! `/metrics` of `smsdesk dev`: after a conversation, the counters a dashboard reads show it (embedded
//! shape; the AWS shape's embedded-metric-format lines are checked in e2e_aws).

use crate::*;
use smsdesk_contract::metrics::{Observed, parse_prometheus, series};

#[tokio::test]
async fn metrics_show_a_conversation_in_the_prometheus_text_format() {
    let Some(s) = Setup::new().await else { return };
    s.answered_conversation("B2000000000000000000000000000001", "15555550177").await;

    let response =
        s.api().http.get(format!("{}/metrics", s.api().base)).send().await.expect("/metrics answers");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.expect("body");
    assert!(!text.contains("15555550177"), "no customer number in metrics: {text}");
    let read = parse_prometheus(&text);
    s.assert_answered_conversation_metrics(&read, &text);
    // Every family is declared with its help and its type, help first (text format 0.0.4).
    let mut families = Vec::new();
    let mut helped = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (family, doc) = rest.split_once(' ').expect("a family and its help");
            assert!(!doc.trim().is_empty(), "{line}");
            helped.insert(family.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let family = rest.split(' ').next().expect("a family");
            assert!(helped.contains(family), "no HELP before {line}:\n{text}");
            families.push(family.to_owned());
        }
    }
    assert!(families.contains(&"smsdesk_queue_depth".to_owned()), "{text}");
    assert_eq!(helped.len(), families.len(), "{text}");
    // The health summary: everything settled, nothing dead-lettered.
    for stage in ["inbound", "outbound", "crm"] {
        assert_eq!(series(&read, "QueueDepth", &[("Stage", stage)]), Some(Observed::Gauge(0.0)), "{text}");
        assert_eq!(series(&read, "DeadLetters", &[("Stage", stage)]), Some(Observed::Gauge(0.0)), "{text}");
    }
}
