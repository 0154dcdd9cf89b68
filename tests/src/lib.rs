//! Test support for smsdesk's black-box tests: the app on port 0 (in process, or the real binary as a child
//! process), and fake providers that are real HTTP servers on 127.0.0.1 checking what we send.

pub mod aws_shape;
pub mod fake_telesign;
pub mod harness;
pub mod logs;

pub use fake_telesign::{FakeTelesign, Scripted};
pub use harness::{
    ADMIN_TOKEN, Api, DevProcess, TestApp, eventually, smsdesk_binary, telesign_dlr, telesign_mo,
};
