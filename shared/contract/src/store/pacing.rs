//! Send schedules per number (issue 9.10): slots one interval apart, shared by concurrent senders, nothing
//! reserved when the next slot is too far.

use smsdesk_domain::Phone;
use smsdesk_domain::pacing::Slot;
use smsdesk_ports::Store;
use std::sync::Arc;
use std::time::Duration;

use super::{join_all, ok};
use crate::fixtures;

pub async fn send_rate_contract(store: Arc<dyn Store>) {
    let number = fixtures::phone();
    let now = fixtures::now();
    let (interval, max_wait) = (Duration::from_millis(500), Duration::from_millis(1200));
    let mut waits = Vec::new();
    for _ in 0..4 {
        match ok(store.reserve_send_slot(&number, interval, max_wait, now).await, "reserve_send_slot") {
            Slot::Granted { wait, .. } => waits.push(wait.as_millis()),
            Slot::Busy { retry_after } => {
                // The slot at 1.5 s is 300 ms past the wait allowed; back no sooner than one interval.
                assert_eq!(
                    retry_after,
                    Duration::from_millis(500),
                    "store contract: busy until a slot is near, at least one interval"
                );
                break;
            }
        }
    }
    assert_eq!(waits, [0, 500, 1000], "store contract: a burst lines up one interval apart");
    // Busy reserved nothing: the same answer again.
    let again = ok(store.reserve_send_slot(&number, interval, max_wait, now).await, "reserve_send_slot");
    assert_eq!(
        again,
        Slot::Busy { retry_after: Duration::from_millis(500) },
        "store contract: busy reserves nothing"
    );
    // Later, the schedule has moved on: the next slot is at 1.5 s.
    let later = now + time::Duration::seconds(1);
    match ok(store.reserve_send_slot(&number, interval, max_wait, later).await, "reserve_send_slot later") {
        Slot::Granted { wait, .. } => {
            assert_eq!(wait, Duration::from_millis(500), "store contract: later slot")
        }
        other => panic!("store contract: a slot 0.5 s away is granted, got {other:?}"),
    }
    // Another number has its own schedule.
    let other: Phone = fixtures::phone();
    let first = ok(store.reserve_send_slot(&other, interval, max_wait, now).await, "reserve_send_slot other");
    assert!(
        matches!(first, Slot::Granted { wait: Duration::ZERO, .. }),
        "store contract: numbers are apart: {first:?}"
    );

    // Concurrent senders on one number each get their own slot.
    let shared = fixtures::phone();
    let racers: u128 = 8;
    let handles = (0..racers)
        .map(|_| {
            let (store, shared) = (store.clone(), shared.clone());
            tokio::spawn(async move {
                ok(
                    store.reserve_send_slot(&shared, interval, Duration::from_secs(60), now).await,
                    "concurrent slot",
                )
            })
        })
        .collect();
    let mut waits: Vec<u128> = join_all(handles)
        .await
        .into_iter()
        .map(|slot| match slot {
            Slot::Granted { wait, .. } => wait.as_millis(),
            other => panic!("store contract: every concurrent sender gets a slot, got {other:?}"),
        })
        .collect();
    waits.sort_unstable();
    let expected: Vec<u128> = (0..racers).map(|i| i * 500).collect();
    assert_eq!(waits, expected, "store contract: concurrent senders get distinct slots");
}
