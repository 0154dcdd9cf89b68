//! Decides, when this crate is built, whether its contract tests against the emulators (tests/contract.rs)
//! can run: they need DynamoDB Local and moto, started by `eval "$(scripts/emulators.sh start)"` or by
//! scripts/test, which set `SMSDESK_EMULATORS=1` (read here) and the endpoints SMSDESK_DYNAMODB_ENDPOINT and
//! SMSDESK_SQS_ENDPOINT (read by the tests when they run; emulators of your own: set all three). Without
//! them:
//! - under CI (`CI=true`) nothing changes: every contract test runs and fails, saying what is missing;
//! - anywhere else tests/contract.rs is left out and tests/emulators.rs reports one ignored test whose
//!   reason says so (`cargo test` prints "ignored, SKIPPED: ..."), instead of tests that pass having run
//!   nothing. The library itself does not read the cfg.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(smsdesk_aws_emulators_missing)");
    // Not the endpoints themselves: their ports change with every start of the emulators, and cargo would
    // rebuild this crate and everything above it each time (12 crates, 81 s of `cargo test --no-run`).
    for var in ["SMSDESK_EMULATORS", "CI"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let emulators = std::env::var("SMSDESK_EMULATORS").is_ok_and(|v| v.trim() == "1");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if !emulators && !ci {
        println!("cargo::rustc-cfg=smsdesk_aws_emulators_missing");
    }
}
