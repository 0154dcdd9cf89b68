//! Decides, when this crate is built, whether its contract tests against the emulators (tests/contract.rs)
//! can run: they need DynamoDB Local and moto (SMSDESK_DYNAMODB_ENDPOINT and SMSDESK_SQS_ENDPOINT, set by
//! `eval "$(scripts/emulators.sh start)"` or by scripts/test). Without them:
//! - under CI (`CI=true`) nothing changes: every contract test runs and fails, saying what is missing;
//! - anywhere else tests/contract.rs is left out and tests/emulators.rs reports one ignored test whose
//!   reason says so (`cargo test` prints "ignored, SKIPPED: ..."), instead of tests that pass having run
//!   nothing. The library itself does not read the cfg.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(smsdesk_aws_emulators_missing)");
    for var in ["SMSDESK_DYNAMODB_ENDPOINT", "SMSDESK_SQS_ENDPOINT", "CI"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let emulators = set("SMSDESK_DYNAMODB_ENDPOINT") && set("SMSDESK_SQS_ENDPOINT");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if !emulators && !ci {
        println!("cargo::rustc-cfg=smsdesk_aws_emulators_missing");
    }
}
