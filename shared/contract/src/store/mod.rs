//! The store contract, one suite per capability. [`store_contract`] runs them all.

mod conversations;
mod customers;
mod directory;
mod handback;
mod lifecycle;
mod media_claims;
mod messages;
mod notes;
mod offers;
mod pacing;
mod parts;
mod records;
mod teams;
mod transfers;

pub use conversations::{assignment_contract, conversations_contract, routing_contract};
pub use customers::{customer_language_contract, quick_replies_contract};
pub use directory::{
    agent_subjects_contract, agents_contract, channels_contract, menus_contract, number_claims_contract,
    queue_answers_contract, work_queues_contract,
};
pub use handback::handback_contract;
pub use lifecycle::{distribution_stress_contract, lifecycle_contract};
pub use media_claims::media_claims_contract;
pub use messages::{
    append_contract, messages_contract, open_with_message_contract, queued_before_contract,
    queued_before_during_inserts_contract, send_claims_contract, status_contract,
};
pub use notes::notes_contract;
pub use offers::offers_contract;
pub use pacing::send_rate_contract;
pub use parts::{parts_claim_contract, parts_contract};
pub use records::{
    consent_contract, contacts_contract, dedupe_contract, idempotency_contract, outbox_contract,
};
pub use teams::{team_distribution_stress_contract, teams_contract};
pub use transfers::transfers_contract;

use smsdesk_ports::{PortResult, Store};
use std::sync::Arc;

/// Runs every store suite against `store`.
pub async fn store_contract(store: Arc<dyn Store>) {
    channels_contract(store.clone()).await;
    number_claims_contract(store.clone()).await;
    work_queues_contract(store.clone()).await;
    menus_contract(store.clone()).await;
    quick_replies_contract(store.clone()).await;
    customer_language_contract(store.clone()).await;
    queue_answers_contract(store.clone()).await;
    agents_contract(store.clone()).await;
    agent_subjects_contract(store.clone()).await;
    conversations_contract(store.clone()).await;
    routing_contract(store.clone()).await;
    assignment_contract(store.clone()).await;
    offers_contract(store.clone()).await;
    transfers_contract(store.clone()).await;
    teams_contract(store.clone()).await;
    lifecycle_contract(store.clone()).await;
    handback_contract(store.clone()).await;
    messages_contract(store.clone()).await;
    status_contract(store.clone()).await;
    send_claims_contract(store.clone()).await;
    queued_before_contract(store.clone()).await;
    queued_before_during_inserts_contract(store.clone()).await;
    append_contract(store.clone()).await;
    open_with_message_contract(store.clone()).await;
    contacts_contract(store.clone()).await;
    consent_contract(store.clone()).await;
    dedupe_contract(store.clone()).await;
    idempotency_contract(store.clone()).await;
    send_rate_contract(store.clone()).await;
    parts_contract(store.clone()).await;
    parts_claim_contract(store.clone()).await;
    notes_contract(store.clone()).await;
    media_claims_contract(store.clone()).await;
    outbox_contract(store).await;
}

/// Unwraps a port result, panicking with what was being done.
pub(crate) fn ok<T>(result: PortResult<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("store contract: {what} failed: {e}"),
    }
}

/// Waits for every spawned task, panicking if one panicked.
pub(crate) async fn join_all<T: Send + 'static>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) => panic!("contract: a concurrent call panicked: {e}"),
        }
    }
    out
}
