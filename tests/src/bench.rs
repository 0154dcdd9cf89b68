//! The load run of issue 12 lives in the `smsdesk` crate (`smsdesk bench`, `cli/src/bench/`); re-exported
//! here for the black-box tests that drive it in-process.

pub use smsdesk::bench::*;
