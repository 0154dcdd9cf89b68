//! timers: what must happen with nobody asking. Every sweep serves every queue (so a conversation left
//! waiting by a race is assigned as soon as an agent is free) and closes conversations idle past the
//! configured inactivity window, and requeues or fails replies stranded `queued` ([`stranded`]).

use crate::App;
use crate::services::{assignment, conversations, prequeue, stranded};
use smsdesk_ports::PortResult;

/// The waiting count reported per queue stops here (a dashboard needs the level, not an exact census).
const WAITING_REPORT_LIMIT: usize = 1_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub assigned: usize,
    pub auto_closed: usize,
    /// Stranded replies put on the outbound queue again.
    pub requeued: usize,
    /// Stranded replies failed (the reason is in the transcript).
    pub stranded_failed: usize,
    /// Conversations whose menu went unanswered past its timeout, moved to the default queue.
    pub menu_timeouts: usize,
    /// Conversations that waited in a queue past its expiry, told so and closed.
    pub expired: usize,
}

pub async fn sweep(app: &App) -> PortResult<SweepReport> {
    let mut report = SweepReport::default();
    if let Some(after) = app.config.auto_close_after {
        let cutoff = app.clock.now() - after;
        for conversation in app.store.idle_since(cutoff, 100).await? {
            // Conditional on no activity since the cut-off: the listing may be stale (an eventually
            // consistent index in AWS) and a text may be filed meanwhile; such a conversation stays open.
            let closing =
                conversations::close_idle_and_free(app, &conversation.id, cutoff, "closed after inactivity");
            match closing.await {
                Ok(true) => report.auto_closed += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(conversation = %conversation.id, error = %e, "auto-close failed"),
            }
        }
    }
    match prequeue::sweep_menu_timeouts(app).await {
        Ok(n) => report.menu_timeouts = n,
        Err(e) => tracing::warn!(error = %e, "menu timeouts sweep failed"),
    }
    match prequeue::sweep_expired(app).await {
        Ok(n) => report.expired = n,
        Err(e) => tracing::warn!(error = %e, "queue expiry sweep failed"),
    }
    match stranded::sweep(app).await {
        Ok(swept) => (report.requeued, report.stranded_failed) = (swept.requeued, swept.failed),
        Err(e) => tracing::warn!(error = %e, "stranded replies sweep failed"),
    }
    for queue in app.store.list_queues().await? {
        report.assigned += assignment::dispatch_queue(app, &queue.id).await?;
        let waiting = app.store.waiting_in_queue(&queue.id, WAITING_REPORT_LIMIT).await?.len();
        crate::services::telemetry::waiting(app, &queue.id, waiting);
    }
    Ok(report)
}
