//! Black-box tests: smsdesk on port 0, talked to over HTTP, with a fake TeleSign on loopback that checks
//! every request we send. One test binary, so linking happens once.

mod acd;
mod acs;
mod agents;
mod at_most_once;
mod authorization;
mod aws_sms;
mod bench;
mod bot;
mod channels;
mod consent;
mod conversation;
mod crash_load;
mod crash_send;
mod crm;
mod dlq;
mod faults;
mod handback;
mod hostile;
mod language;
mod lifecycle;
mod live;
mod logs;
mod media;
mod menu;
mod metrics;
mod notes;
mod offers;
mod optout;
mod outbound;
mod pacing;
mod provider_faults;
mod providers;
mod queues;
mod quick_replies;
mod races;
mod restart;
mod sandbox;
mod setup;
mod teams;
mod timers;
mod transfer;

pub use setup::*;
use smsdesk_tests::*;

/// This binary runs the tests on the embedded shape (`smsdesk dev`'s store and queues).
pub async fn spawn_app() -> Option<TestApp> {
    Some(TestApp::spawn().await)
}

/// As [`spawn_app`], without the timers' sweep.
pub async fn spawn_app_without_sweep() -> Option<TestApp> {
    Some(TestApp::spawn_without_sweep().await)
}
