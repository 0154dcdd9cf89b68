//! Test support for smsdesk's black-box tests: the app on port 0 (in process, or the real binary as a child
//! process), and fake providers that are real HTTP servers on 127.0.0.1 checking what we send.

pub mod aws_live;
pub mod aws_shape;
pub mod bench;
pub mod clock;
pub mod fake_provider;
pub mod fake_providers;
pub mod fake_telesign;
pub mod fake_twilio;
pub mod fake_twilio_mms;
pub mod fake_vonage;
pub mod faults;
pub mod harness;
pub mod logs;
pub mod template;

pub use clock::TestClock;
pub use fake_provider::{FakeProvider, Sent, Webhook};
pub use fake_telesign::{FakeTelesign, FaultMix, Scripted};
pub use fake_twilio::{FakeTwilio, TwilioScript};
pub use fake_twilio_mms::{FakeTwilioMms, MediaAnswer, MediaGate, MediaHit};
pub use fake_vonage::FakeVonage;
pub use faults::FaultyQueue;
pub use harness::{
    ADMIN_TOKEN, Api, ClosedPort, DevProcess, TestApp, eventually, settle_database, settle_queue,
    smsdesk_binary, smsdesk_binary_built, telesign_dlr, telesign_mo, time_at,
};

/// The stranded-reply windows both shapes run with in tests: a reply untouched for 2 s is queued again (the
/// sweep runs every 500 ms); one still queued an hour after it was written is failed.
pub const STRANDED_IN_TESTS: smsdesk_domain::stranded::StrandedPolicy =
    smsdesk_domain::stranded::StrandedPolicy {
        requeue_after: std::time::Duration::from_secs(2),
        fail_after: std::time::Duration::from_secs(3600),
    };
