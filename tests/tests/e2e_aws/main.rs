//! The end-to-end TeleSign tests again, with every handler wired to the AWS adapters: DynamoDB Local for the
//! store, moto for SQS and Secrets Manager, and the queue consumers fed real SQS event shapes through
//! smsdesk-lambda's batch handling, as Lambda's event source mapping would. Same test code as `e2e`; only
//! the shape differs (the restart test, which kills the `smsdesk dev` process, is embedded-only).

#[path = "../e2e/authorization.rs"]
mod authorization;
#[path = "../e2e/channels.rs"]
mod channels;
#[path = "../e2e/conversation.rs"]
mod conversation;
#[path = "../e2e/crm.rs"]
mod crm;
#[path = "../e2e/logs.rs"]
mod logs;
#[path = "../e2e/outbound.rs"]
mod outbound;
#[path = "../e2e/setup.rs"]
mod setup;

pub use setup::*;
use smsdesk_tests::*;

/// This binary runs the tests on the AWS shape.
pub async fn spawn_app() -> Option<TestApp> {
    TestApp::spawn_aws().await
}
