//! Decides, when the tests are built, whether the AWS-shape tests (the `e2e_aws` binary) can run: they need
//! DynamoDB Local and moto, started by `eval "$(scripts/emulators.sh start)"` or by scripts/test, which set
//! `SMSDESK_EMULATORS=1` (read here) and the endpoints SMSDESK_DYNAMODB_ENDPOINT and SMSDESK_SQS_ENDPOINT
//! (read by the tests when they run; emulators of your own: set all three). Without them:
//! - under CI (`CI=true`) nothing changes: every AWS-shape test runs and fails, saying what is missing;
//! - anywhere else the binary is built without them and reports one ignored test whose reason says so
//!   (`cargo test` prints it as "ignored, SKIPPED: ..."), instead of passing tests that ran nothing.
//!
//! Cargo runs this again when `SMSDESK_EMULATORS` or `CI` changes; the emulators' new ports rebuild nothing.

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
        println!(
            "cargo::warning=DynamoDB Local and moto are not running: the AWS-shape tests (e2e_aws) are built \
             as one ignored test. Run scripts/test, or eval \"$(scripts/emulators.sh start)\" first."
        );
    }
}
