//! Decides, when the tests are built, whether the AWS-shape tests (the `e2e_aws` binary) can run: they need
//! DynamoDB Local and moto (SMSDESK_DYNAMODB_ENDPOINT and SMSDESK_SQS_ENDPOINT, set by
//! `eval "$(scripts/emulators.sh start)"` or by scripts/test). Without them:
//! - under CI (`CI=true`) nothing changes: every AWS-shape test runs and fails, saying what is missing;
//! - anywhere else the binary is built without them and reports one ignored test whose reason says so
//!   (`cargo test` prints it as "ignored, SKIPPED: ..."), instead of passing tests that ran nothing.
//!
//! Cargo runs this again whenever one of these variables changes, so the emulators' new ports rebuild
//! only this crate.

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
        println!(
            "cargo::warning=DynamoDB Local and moto are not running: the AWS-shape tests (e2e_aws) are built \
             as one ignored test. Run scripts/test, or eval \"$(scripts/emulators.sh start)\" first."
        );
    }
}
