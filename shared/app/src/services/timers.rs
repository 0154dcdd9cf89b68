//! timers: what must happen with nobody asking. Every sweep serves every queue (so a conversation left
//! waiting by a race is assigned as soon as an agent is free) and closes conversations idle past the
//! configured inactivity window, and requeues or fails replies stranded `queued` ([`stranded`]).

use crate::App;
use crate::services::{assignment, conversations, offers, prequeue, routing, stranded};
use smsdesk_domain::lifecycle;
use smsdesk_domain::{ChannelId, Conversation, ConversationState, QueueId, WorkQueue};
use smsdesk_ports::PortResult;
use std::collections::HashMap;

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
    /// Multipart texts filed incomplete at their timeout.
    pub parts_filed: usize,
    /// Conversations closed because their wrap-up ran past the queue's wrap-up limit.
    pub wrap_ups_closed: usize,
    /// Offers that ran past their queue's refusal timeout (back in line for another agent).
    pub offers_expired: usize,
    /// Conversations handed back to their queue after their agent went offline (issue 10.2).
    pub handed_back: usize,
}

/// How many idle conversations one sweep closes at most (each close is about ten calls: a run must leave
/// time for the rest of the sweeps; the rest are closed a minute later).
const IDLE_BATCH: usize = 100;

/// Closes conversations idle past their channel's inactivity period (`Channel::inactivity_secs`, else
/// `default`; neither: never), from the run's listing of open conversations: those an agent holds or that
/// are still before their queue ([`lifecycle::closes_when_idle`]: never one waiting in its queue), each
/// idle past its own channel's period, oldest activity first, at most [`IDLE_BATCH`]; each closed
/// conditionally (no activity since that cut-off).
async fn auto_close(
    app: &App,
    default: Option<std::time::Duration>,
    open: &[Conversation],
) -> PortResult<usize> {
    let default = default.map(|d| time::Duration::try_from(d).unwrap_or(time::Duration::MAX));
    let periods: HashMap<ChannelId, Option<time::Duration>> = app
        .store
        .list_channels()
        .await?
        .into_iter()
        .map(|c| (c.id, lifecycle::inactivity_period(c.inactivity_secs, default)))
        .collect();
    let now = app.clock.now();
    // Each against its own channel's cut-off before any is left for the next run: a short period's
    // conversations are never crowded out by long ones that are not due.
    let mut idle: Vec<(&Conversation, time::OffsetDateTime)> = open
        .iter()
        .filter(|c| lifecycle::closes_when_idle(c.state))
        .filter_map(|c| {
            let period = periods.get(&c.channel_id).copied().unwrap_or(default)?;
            let cutoff = now.checked_sub(period)?;
            (c.last_message_at < cutoff).then_some((c, cutoff))
        })
        .collect();
    idle.sort_by(|(a, _), (b, _)| (a.last_message_at, &a.id).cmp(&(b.last_message_at, &b.id)));
    idle.truncate(IDLE_BATCH);
    let mut closed = 0;
    for (conversation, cutoff) in idle {
        // Conditional on no activity since the cut-off: the listing may be stale (an eventually consistent
        // index in AWS) and a text may be filed meanwhile; such a conversation stays open.
        match conversations::close_idle_and_free(app, &conversation.id, cutoff, "closed after inactivity")
            .await
        {
            Ok(true) => closed += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(conversation = %conversation.id, error = %e, "auto-close failed"),
        }
    }
    Ok(closed)
}

/// Closes conversations whose wrap-up ran past their queue's wrap-up limit (the slot goes back), from the
/// run's listings.
async fn wrap_up_sweep(app: &App, queues: &[WorkQueue], open: &[Conversation]) -> PortResult<usize> {
    let now = app.clock.now();
    let queues: HashMap<&QueueId, &WorkQueue> = queues.iter().map(|q| (&q.id, q)).collect();
    let mut closed = 0;
    for c in open {
        if c.state != ConversationState::WrapUp {
            continue;
        }
        let queue = queues.get(&c.queue_id).copied();
        let since = c.state_changed_at.unwrap_or(c.last_message_at);
        if !lifecycle::wrap_up_expired(queue, since, now) {
            continue;
        }
        match conversations::close_wrap_up_and_free(app, &c.id, "wrap-up limit reached").await {
            Ok(true) => closed += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(conversation = %c.id, error = %e, "closing an expired wrap-up failed"),
        }
    }
    Ok(closed)
}

/// One run: every sweep, over ONE listing of the open conversations and one of the queues, taken at its
/// start and shared (in AWS a listing of the open conversations is a Query on each shard of the `open`
/// index: five sweeps listing them each was most of a run's reads). The listing is eventually consistent
/// in AWS anyway and an earlier sweep may have moved an entry since: every action a sweep takes is
/// conditional on what is stored (state, agent, offer, routing step, activity), so a stale entry costs a
/// refused write, never a wrong one.
pub async fn sweep(app: &App) -> PortResult<SweepReport> {
    let mut report = SweepReport::default();
    // A failed listing of the queues fails the run at its end, as before, after the sweeps that need none.
    let listed_queues = app.store.list_queues().await;
    let queues = listed_queues.as_deref().unwrap_or_default();
    let open = match app.store.open_conversations().await {
        Ok(open) => open,
        Err(e) => {
            tracing::warn!(error = %e, "listing the open conversations failed: their sweeps wait for the next run");
            Vec::new()
        }
    };
    // Multipart texts whose missing parts never came: filed as they are (issue 9.6).
    let cutoff = app.clock.now() - app.config.multipart_timeout;
    match app.store.stale_part_groups(cutoff, 100).await {
        Ok(groups) => {
            for group in groups {
                match routing::file_parts(app, &group).await {
                    Ok(_) => report.parts_filed += 1,
                    Err(e) => tracing::warn!(error = %e, "filing a timed-out multipart text failed"),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "multipart sweep failed"),
    }
    // Not without the queues: a queue's wrap-up limit unknown is no reason to apply the default one.
    if listed_queues.is_ok() {
        match wrap_up_sweep(app, queues, &open).await {
            Ok(n) => report.wrap_ups_closed = n,
            Err(e) => tracing::warn!(error = %e, "wrap-up limit sweep failed"),
        }
    }
    match offers::expire_due(app, &open).await {
        Ok(n) => report.offers_expired = n,
        Err(e) => tracing::warn!(error = %e, "offer expiry sweep failed"),
    }
    match crate::services::handback::sweep(app, queues).await {
        Ok(n) => report.handed_back = n,
        Err(e) => tracing::warn!(error = %e, "offline hand-back sweep failed"),
    }
    match crate::services::transfers::sweep(app, &open).await {
        Ok(n) if n > 0 => tracing::info!(failed = n, "transfers timed out"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "transfer sweep failed"),
    }
    match prequeue::sweep_menu_timeouts(app, &open).await {
        Ok(n) => report.menu_timeouts = n,
        Err(e) => tracing::warn!(error = %e, "menu timeouts sweep failed"),
    }
    match prequeue::sweep_expired(app, queues, &open).await {
        Ok(n) => report.expired = n,
        Err(e) => tracing::warn!(error = %e, "queue expiry sweep failed"),
    }
    match stranded::sweep(app).await {
        Ok(swept) => (report.requeued, report.stranded_failed) = (swept.requeued, swept.failed),
        Err(e) => tracing::warn!(error = %e, "stranded replies sweep failed"),
    }
    // Last of the sweeps: nothing waits on it to the second, and a backlog of it (a channel's period just
    // shortened) must not hold up offers, transfers, expiries and stranded replies.
    match auto_close(app, app.config.auto_close_after, &open).await {
        Ok(n) => report.auto_closed = n,
        Err(e) => tracing::warn!(error = %e, "auto-close sweep failed"),
    }
    let queues = listed_queues?;
    let ids: Vec<QueueId> = queues.iter().map(|q| q.id.clone()).collect();
    report.assigned += assignment::dispatch_queues(app, &ids).await?;
    for queue in queues {
        let waiting = app.store.waiting_in_queue(&queue.id, WAITING_REPORT_LIMIT).await?.len();
        crate::services::telemetry::waiting(app, &queue.id, waiting);
    }
    Ok(report)
}
