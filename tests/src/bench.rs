//! The load run of issue 12 lives in the `smsdesk` crate (`smsdesk bench`, `cli/src/bench/`); re-exported
//! here for the black-box tests that drive it in-process, beside [`run_command`] for those that run it as a
//! command.

pub use smsdesk::bench::*;

use crate::smsdesk_binary;
use serde_json::Value;
use std::process::Command;

/// How much of the server's log a failed run shows.
const LOG_TAIL_BYTES: usize = 8_000;

/// A line the server repeats for every reply still queued at every timers run: a failed run counts these
/// and shows the others, which would otherwise be pushed out of the tail by them.
const REPEATED: &str = "reply stranded queued: queued again";

/// Runs `smsdesk bench <args>` (quiet, the server's log in a temporary directory that goes with the run)
/// and answers the figures of its last line, the JSON object scripts read. A failed run, or a last line
/// that is not JSON, panics with the command's output and the end of the server's log.
pub fn run_command(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("server.log");
    let output = Command::new(smsdesk_binary())
        .arg("bench")
        .args(args)
        // Phases settle in seconds on a quiet machine; 300 s leaves room for a loaded CI machine, where
        // DynamoDB Local's lock waits made one reply of the AWS shape take minutes (its sweeps queued it
        // again and again meanwhile). Lost, duplicated and downgraded are what the tests check.
        .args(["--quiet", "--phase-timeout-secs", "300", "--server-log"])
        .arg(&log)
        .output()
        .expect("smsdesk bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let figures = if output.status.success() {
        serde_json::from_str(last).map_err(|e| format!("its last line is not JSON ({e})"))
    } else {
        Err(format!("it exited with {}", output.status))
    };
    figures.unwrap_or_else(|reason| {
        let log = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
        let (repeated, others): (Vec<&str>, Vec<&str>) = log.lines().partition(|l| l.contains(REPEATED));
        let others = others.join("\n");
        let tail = &others[others.floor_char_boundary(others.len().saturating_sub(LOG_TAIL_BYTES))..];
        panic!(
            "smsdesk bench {args:?} failed: {reason}\nstdout:\n{stdout}\nstderr:\n{}\nend of the server's log \
             ({} lines \"{REPEATED}\" left out):\n{tail}",
            String::from_utf8_lossy(&output.stderr),
            repeated.len()
        )
    })
}
