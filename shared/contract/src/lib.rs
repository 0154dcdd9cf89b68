//! The contract suites of smsdesk's ports. Each adapter (AWS and embedded) runs the same async functions
//! against itself, so a behaviour that exists in one adapter only shows up as a failing test.
//!
//! Every suite panics with a message naming the rule that broke. Every suite also works on a backend that
//! already holds data from earlier runs (the DynamoDB Local run shares its tables between tests): it makes
//! fresh ids and phone numbers for each call, and only asserts about records it created.
//!
//! Entry points: [`store_contract`], [`queue_contract`], [`secrets_contract`], [`metrics_contract`]; the per-capability store
//! suites live in [`store`]; [`fixtures`] builds records for tests elsewhere.

pub mod changes;
pub mod fixtures;
pub mod media;
pub mod metrics;
pub mod queue;
pub mod secrets;
pub mod store;

pub use changes::changes_contract;
pub use media::media_contract;
pub use metrics::metrics_contract;
pub use queue::queue_contract;
pub use secrets::secrets_contract;
pub use store::store_contract;
