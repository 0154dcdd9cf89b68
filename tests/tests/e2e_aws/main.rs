//! The end-to-end TeleSign tests again, on the AWS shape as infra/template.yaml deploys it: each function
//! built by its own wiring with the adapters its Cargo.toml features link, HTTP requests dispatched by the
//! template's routes through lambda_http's API Gateway conversion with JWT claims, queue consumers fed real
//! SQS events by the template's triggers; DynamoDB Local for the store, moto for SQS and Secrets Manager
//! (see tests/src/aws_shape.rs). Same test code as `e2e`; only the shape differs (the restart test, which
//! kills the `smsdesk dev` process, is embedded-only), plus the gateway tests of `gateway.rs` and the function URL's of `function_url.rs`.
//!
//! Without the emulators, outside CI, this binary holds one ignored test that says so (tests/build.rs).

#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/acd.rs"]
mod acd;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/acs.rs"]
mod acs;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/agents.rs"]
mod agents;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/at_most_once.rs"]
mod at_most_once;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/authorization.rs"]
mod authorization;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/aws_sms.rs"]
mod aws_sms;
#[cfg(not(smsdesk_aws_emulators_missing))]
mod bench;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/bot.rs"]
mod bot;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/channels.rs"]
mod channels;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/consent.rs"]
mod consent;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/conversation.rs"]
mod conversation;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/crm.rs"]
mod crm;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/faults.rs"]
mod faults;
#[cfg(not(smsdesk_aws_emulators_missing))]
mod function_url;
#[cfg(not(smsdesk_aws_emulators_missing))]
mod gateway;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/handback.rs"]
mod handback;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/hostile.rs"]
mod hostile;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/language.rs"]
mod language;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/lifecycle.rs"]
mod lifecycle;
#[cfg(not(smsdesk_aws_emulators_missing))]
mod live;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/logs.rs"]
mod logs;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/media.rs"]
mod media;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/menu.rs"]
mod menu;
#[cfg(not(smsdesk_aws_emulators_missing))]
mod metrics;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/notes.rs"]
mod notes;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/offers.rs"]
mod offers;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/outbound.rs"]
mod outbound;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/pacing.rs"]
mod pacing;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/provider_faults.rs"]
mod provider_faults;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/providers.rs"]
mod providers;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/queues.rs"]
mod queues;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/quick_replies.rs"]
mod quick_replies;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/races.rs"]
mod races;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/setup.rs"]
mod setup;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/teams.rs"]
mod teams;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/timers.rs"]
mod timers;
#[cfg(not(smsdesk_aws_emulators_missing))]
#[path = "../e2e/transfer.rs"]
mod transfer;

#[cfg(not(smsdesk_aws_emulators_missing))]
pub use setup::*;
#[cfg(not(smsdesk_aws_emulators_missing))]
use smsdesk_tests::*;

/// This binary runs the tests on the AWS shape.
#[cfg(not(smsdesk_aws_emulators_missing))]
pub async fn spawn_app() -> Option<TestApp> {
    TestApp::spawn_aws().await
}

/// As [`spawn_app`], with the timers' schedule off.
#[cfg(not(smsdesk_aws_emulators_missing))]
pub async fn spawn_app_without_sweep() -> Option<TestApp> {
    TestApp::spawn_aws_without_sweep().await
}

#[cfg(smsdesk_aws_emulators_missing)]
#[test]
#[ignore = "SKIPPED: DynamoDB Local and moto are not running, so no AWS-shape test was built. Run scripts/test, \
            or `eval \"$(scripts/emulators.sh start)\"` and test again (under CI=true they fail instead)"]
fn aws_shape_tests_skipped_emulators_not_running() {
    panic!("built only when the emulators are missing; never runs unless asked with --ignored");
}
