//! One assignment pass per queue at a time in a process, shared by every caller that asks meanwhile.
//!
//! Under a burst, every text filed into a queue asks for that queue's assignment. Run one by one and side by
//! side, 64 concurrent lanes read the same oldest waiting conversations, race each other for the same
//! agents, lose 63 times out of 64 and re-read after each loss (issue 12: routing at ~190 texts/s). Here a
//! caller takes a ticket; whoever holds the queue's gate runs a pass that covers every ticket taken before it
//! started (a pass reads the waiting list after those callers filed their conversations), and callers whose
//! ticket a finished pass covered return at once without running their own. A pass that fails covers
//! nothing: the next caller runs it again. The timers' sweep still catches anything left waiting (a crash
//! between filing and assigning), as before.

use smsdesk_domain::QueueId;
use smsdesk_ports::PortResult;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Gate {
    running: tokio::sync::Mutex<()>,
    /// Tickets taken so far.
    requested: AtomicU64,
    /// Every ticket up to this one is covered by a pass that completed.
    covered: AtomicU64,
}

/// The gates of a process's queues (one `App`'s).
#[derive(Default)]
pub struct DispatchGates {
    gates: Mutex<HashMap<QueueId, Arc<Gate>>>,
}

impl DispatchGates {
    fn gate(&self, queue: &QueueId) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        gates.entry(queue.clone()).or_default().clone()
    }

    /// Runs `pass` for `queue` unless a pass that started after this call completes first; returns what the
    /// pass it ran returned (0 when another pass covered this call).
    pub async fn run<F, Fut>(&self, queue: &QueueId, pass: F) -> PortResult<usize>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = PortResult<usize>>,
    {
        let gate = self.gate(queue);
        let ticket = gate.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let _running = gate.running.lock().await;
        if gate.covered.load(Ordering::SeqCst) >= ticket {
            return Ok(0);
        }
        // Every caller holding a ticket up to here has filed its work before asking: this pass sees it.
        let upto = gate.requested.load(Ordering::SeqCst);
        let done = pass().await?;
        gate.covered.fetch_max(upto, Ordering::SeqCst);
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_share_passes_and_each_is_covered_by_one_that_started_after_it() {
        let gates = Arc::new(DispatchGates::default());
        let queue = QueueId::new("q_1");
        // `filed` counts callers that filed their work; each pass records how many were filed when it started.
        let filed = Arc::new(AtomicUsize::new(0));
        let passes = Arc::new(Mutex::new(Vec::<usize>::new()));
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let (gates, queue, filed, passes) = (gates.clone(), queue.clone(), filed.clone(), passes.clone());
            tasks.push(tokio::spawn(async move {
                let mine = filed.fetch_add(1, Ordering::SeqCst) + 1;
                let seen_by = Arc::new(AtomicUsize::new(0));
                let seen = seen_by.clone();
                let (filed2, passes2) = (filed.clone(), passes.clone());
                gates
                    .run(&queue, move || async move {
                        let at_start = filed2.load(Ordering::SeqCst);
                        seen.store(at_start, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        passes2.lock().unwrap().push(at_start);
                        Ok(1)
                    })
                    .await
                    .unwrap();
                // Either this caller ran a pass that saw its work, or a completed pass started after it filed.
                let ran = seen_by.load(Ordering::SeqCst);
                if ran == 0 {
                    let passes = passes.lock().unwrap();
                    assert!(passes.iter().any(|&at_start| at_start >= mine), "caller {mine} left uncovered");
                } else {
                    assert!(ran >= mine);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let passes = passes.lock().unwrap().len();
        assert!(passes < 200, "callers shared passes: {passes} passes for 200 callers");
        assert!(passes >= 1);
    }

    #[tokio::test]
    async fn a_failed_pass_covers_nothing() {
        let gates = DispatchGates::default();
        let queue = QueueId::new("q_1");
        let failed =
            gates.run(&queue, || async { Err(smsdesk_ports::PortError::Unavailable("down".into())) }).await;
        assert!(failed.is_err());
        assert_eq!(
            gates.run(&queue, || async { Ok(7) }).await.unwrap(),
            7,
            "the next caller runs its own pass"
        );
    }
}
