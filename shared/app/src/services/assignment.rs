//! Assignment: waiting conversations of a queue go, oldest first, to the queue's available agents with free
//! capacity, least loaded first. Called when a conversation starts waiting, when an agent frees capacity or
//! comes online, and by the timers sweep (which catches anything a race left behind).

use crate::App;
use crate::services::{automated, crm};
use smsdesk_domain::assign::rank_candidates;
use smsdesk_domain::{AgentId, QueueId};
use smsdesk_ports::PortResult;

const BATCH: usize = 25;

/// Assigns as many waiting conversations of `queue` as its agents can take. Returns how many it assigned.
pub async fn dispatch_queue(app: &App, queue: &QueueId) -> PortResult<usize> {
    let mut assigned = 0;
    let waiting = app.store.waiting_in_queue(queue, BATCH).await?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let mut agents = app.store.agents_for_queue(queue).await?;
    for conversation in waiting {
        let candidates: Vec<AgentId> = rank_candidates(queue, &agents).iter().map(|a| a.id.clone()).collect();
        if candidates.is_empty() {
            break;
        }
        for candidate in candidates {
            let now = app.clock.now();
            if let Some(c) = app.store.assign(&conversation.id, &candidate, now).await? {
                tracing::info!(conversation = %c.id, agent = %candidate, "conversation assigned");
                crate::services::telemetry::assigned(app, &c, now);
                if let Some(a) = agents.iter_mut().find(|a| a.id == candidate) {
                    a.active += 1;
                    a.last_assigned_at = Some(now);
                    automated::agent_joined(app, &c, a).await?;
                }
                crm::timeline(
                    app,
                    &c.id,
                    "assigned",
                    serde_json::json!({"agent_id": candidate, "queue_id": c.queue_id}),
                )
                .await?;
                assigned += 1;
                break;
            }
            // Lost a race (the agent filled up, or someone else took the conversation): re-read the agent.
            if let Some(fresh) = app.store.get_agent(&candidate).await?
                && let Some(a) = agents.iter_mut().find(|a| a.id == candidate)
            {
                *a = fresh;
            }
            if app.store.get_conversation(&conversation.id).await?.is_none_or(|c| c.agent_id.is_some()) {
                break;
            }
        }
    }
    Ok(assigned)
}

/// An agent freed capacity or came online: serve the queues it works.
pub async fn dispatch_for_agent(app: &App, agent: &AgentId) -> PortResult<usize> {
    let Some(agent) = app.store.get_agent(agent).await? else { return Ok(0) };
    let mut total = 0;
    for queue in &agent.queues {
        total += dispatch_queue(app, queue).await?;
    }
    Ok(total)
}
