//! The load run of issue 12 at a small size: nothing lost, nothing duplicated, no status downgraded.

use smsdesk_tests::bench::{BenchOptions, run};
use smsdesk_tests::smsdesk_binary;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_at_300_texts_loses_duplicates_and_downgrades_nothing() {
    let mut opts = BenchOptions::new(300, smsdesk_binary());
    opts.connections = 16;
    opts.phase_timeout = Duration::from_secs(120);
    opts.server_log = Some(std::env::temp_dir().join("smsdesk-bench-test-server.log"));
    let report = run(opts).await;
    let figures = report.json();
    assert_eq!(report.refused, 0, "{figures}");
    assert_eq!(
        (report.accepted, report.routed, report.sent, report.delivered),
        (300, 300, 300, 300),
        "{figures}"
    );
    assert_eq!(report.webhook_posts, 390, "30% exact replays: {figures}");
    assert_eq!((report.lost, report.duplicated, report.downgraded), (0, 0, 0), "{figures}");
}
