//! The load run of issue 12 lives in the `smsdesk` crate (`smsdesk bench`, `cli/src/bench/`); re-exported
//! here for the black-box tests that drive it in-process, beside [`run_command`] for those that run it as a
//! command.

pub use smsdesk::bench::*;

use crate::smsdesk_binary;
use serde_json::Value;
use std::process::Command;

/// How much of the server's log a failed run shows.
const LOG_TAIL_BYTES: usize = 8_000;

/// Runs `smsdesk bench <args>` (quiet, the server's log in a temporary directory that goes with the run)
/// and answers the figures of its last line, the JSON object scripts read. A failed run, or a last line
/// that is not JSON, panics with the command's output and the end of the server's log.
pub fn run_command(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("server.log");
    let output = Command::new(smsdesk_binary())
        .arg("bench")
        .args(args)
        .args(["--quiet", "--phase-timeout-secs", "120", "--server-log"])
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
        let log = std::fs::read(&log).unwrap_or_default();
        let tail = String::from_utf8_lossy(&log[log.len().saturating_sub(LOG_TAIL_BYTES)..]).into_owned();
        panic!(
            "smsdesk bench {args:?} failed: {reason}\nstdout:\n{stdout}\nstderr:\n{}\nend of the server's log:\n{tail}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
