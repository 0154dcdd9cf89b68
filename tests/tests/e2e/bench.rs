//! The load run of issue 12 at a small size, through the command itself (`smsdesk bench`, which starts its
//! own `smsdesk dev` child and fake TeleSign): nothing lost, nothing duplicated, no status downgraded, and the
//! last line of its output is the JSON object scripts read.

use smsdesk_tests::bench::run_command;

#[test]
fn bench_at_300_texts_loses_duplicates_and_downgrades_nothing() {
    let figures = run_command(&["--texts", "300", "--connections", "16", "--agents", "4", "--numbers", "3"]);
    let n = |k: &str| figures[k].as_u64().unwrap_or_else(|| panic!("{k} is not a count: {figures}"));
    assert_eq!((n("accepted"), n("routed"), n("sent"), n("delivered")), (300, 300, 300, 300), "{figures}");
    assert_eq!(n("webhook_posts"), 390, "30% exact replays: {figures}");
    assert_eq!((n("lost"), n("duplicated"), n("downgraded"), n("refused")), (0, 0, 0, 0), "{figures}");
    assert_eq!(n("replies_refused"), 0, "{figures}");
    for rate in ["webhooks_per_s", "routed_per_s", "sent_per_s", "ack_p50_ms", "ack_p99_ms", "peak_rss_mb"] {
        assert!(figures[rate].as_f64().is_some_and(|x| x > 0.0), "{rate}: {figures}");
    }
}
