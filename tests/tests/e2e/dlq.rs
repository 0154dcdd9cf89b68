//! `smsdesk dlq list|redrive` on the embedded database file: the real binary, as an operator runs it.

use crate::*;
use smsdesk_ports::{MessageQueue, QueueKind, QueueMessage};
use std::process::{Command, Output};
use std::time::Duration;

fn smsdesk(binary: &std::path::Path, args: &[&str]) -> Output {
    Command::new(binary).args(args).env_remove("SMSDESK_DATA").output().expect("smsdesk runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn dlq_lists_dead_letters_with_their_reason_and_redrives_them() {
    let binary = smsdesk_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("smsdesk.db");
    let db = data.to_str().expect("utf-8 path");
    let queue = smsdesk_embedded::EmbeddedQueue::open(&data).expect("database");
    let job = r#"{"message_id":"msg_1","conversation_id":"cv_1"}"#;
    let message =
        QueueMessage { body: job.into(), group: Some("cv_1".into()), dedupe_id: Some("msg_1".into()) };
    queue.send(QueueKind::Outbound, message).await.expect("send");
    let received = queue.receive(QueueKind::Outbound, 10, Duration::from_secs(60)).await.expect("receive");
    queue
        .dead_letter(QueueKind::Outbound, &received[0], "gave up after 3 attempts: 10019")
        .await
        .expect("dead letter");

    let listed = smsdesk(&binary, &["dlq", "list", "--data", db]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let lines: Vec<serde_json::Value> =
        stdout(&listed).lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["queue"], "outbound");
    assert_eq!(lines[0]["group"], "cv_1");
    assert_eq!(lines[0]["body"], job);
    assert_eq!(lines[0]["reason"], "gave up after 3 attempts: 10019");
    let only_crm = smsdesk(&binary, &["dlq", "list", "--queue", "crm", "--data", db]);
    assert!(only_crm.status.success() && stdout(&only_crm).trim().is_empty(), "{}", stdout(&only_crm));

    let unnamed = smsdesk(&binary, &["dlq", "redrive", "--queue", "outbound", "--data", db]);
    assert!(!unnamed.status.success(), "redrive without --id or --all must refuse");
    assert_eq!(queue.depth(QueueKind::Outbound).await.expect("depth"), 0);

    let id = lines[0]["id"].as_str().expect("id");
    let redriven = smsdesk(&binary, &["dlq", "redrive", "--queue", "outbound", "--id", id, "--data", db]);
    assert!(redriven.status.success(), "{}", String::from_utf8_lossy(&redriven.stderr));
    assert!(stdout(&redriven).contains("redrove 1"), "{}", stdout(&redriven));
    let back = queue.receive(QueueKind::Outbound, 10, Duration::from_secs(60)).await.expect("receive");
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].body.as_str(), back[0].group.as_deref(), back[0].receive_count),
        (job, Some("cv_1"), 1)
    );
    let after = smsdesk(&binary, &["dlq", "list", "--data", db]);
    assert!(stdout(&after).trim().is_empty(), "a redriven message leaves the list: {}", stdout(&after));

    let missing = dir.path().join("nope.db");
    let none = smsdesk(&binary, &["dlq", "list", "--data", missing.to_str().expect("utf-8")]);
    assert!(!none.status.success(), "no database file: an error, not a new empty database");
    assert!(!missing.exists());
}
