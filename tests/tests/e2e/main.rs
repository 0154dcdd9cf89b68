//! Black-box tests: smsdesk on port 0, talked to over HTTP, with a fake TeleSign on loopback that checks
//! every request we send. One test binary, so linking happens once.

mod channels;
mod conversation;
mod crm;
mod optout;
mod outbound;
mod restart;
mod setup;

pub use setup::*;
use smsdesk_tests::*;

/// This binary runs the tests on the embedded shape (`smsdesk dev`'s store and queues).
pub async fn spawn_app() -> Option<TestApp> {
    Some(TestApp::spawn().await)
}
