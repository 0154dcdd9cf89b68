//! The load run of issue 12 at a small size, through the command itself (`smsdesk bench`, which starts its
//! own `smsdesk dev` child and fake TeleSign): nothing lost, nothing duplicated, no status downgraded, and the
//! last line of its output is the JSON object scripts read.

use serde_json::Value;
use smsdesk_tests::smsdesk_binary;
use std::process::Command;

#[test]
fn bench_at_300_texts_loses_duplicates_and_downgrades_nothing() {
    let binary = smsdesk_binary();
    let log = std::env::temp_dir().join(format!("smsdesk-bench-test-server-{}.log", std::process::id()));
    let output = Command::new(&binary)
        .args([
            "bench",
            "--texts",
            "300",
            "--connections",
            "16",
            "--agents",
            "4",
            "--numbers",
            "3",
            "--quiet",
        ])
        .args(["--phase-timeout-secs", "120", "--server-log"])
        .arg(&log)
        .output()
        .expect("smsdesk bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "smsdesk bench failed ({}):\n{stdout}\n{stderr}", output.status);
    let last = stdout.lines().last().unwrap_or_default();
    let figures: Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}"));
    let n = |k: &str| figures[k].as_u64().unwrap_or_else(|| panic!("{k} is not a count: {figures}"));
    assert_eq!((n("accepted"), n("routed"), n("sent"), n("delivered")), (300, 300, 300, 300), "{figures}");
    assert_eq!(n("webhook_posts"), 390, "30% exact replays: {figures}");
    assert_eq!((n("lost"), n("duplicated"), n("downgraded"), n("refused")), (0, 0, 0, 0), "{figures}");
    for rate in ["webhooks_per_s", "routed_per_s", "sent_per_s", "ack_p50_ms", "ack_p99_ms", "peak_rss_mb"] {
        assert!(figures[rate].as_f64().is_some_and(|x| x > 0.0), "{rate}: {figures}");
    }
}
