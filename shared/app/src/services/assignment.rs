//! Assignment: waiting conversations of a queue go, highest current priority then oldest first, to the queue's available agents with free
//! capacity, least loaded first. Called when a conversation starts waiting, when an agent frees capacity or
//! comes online, and by the timers sweep (which catches anything a race left behind).

use crate::App;
use crate::services::{automated, crm};
use smsdesk_domain::assign::{Waiting, current_priority, order_waiting, rank_candidates};
use smsdesk_domain::{Agent, AgentId, ConversationState, QueueId};
use smsdesk_ports::PortResult;

const BATCH: usize = 25;

/// Assigns as many waiting conversations of `queue` as its agents can take. Returns how many it assigned.
pub async fn dispatch_queue(app: &App, queue: &QueueId) -> PortResult<usize> {
    dispatch_queues(app, std::slice::from_ref(queue)).await
}

/// Assigns the waiting conversations of `queues` ([`BATCH`] per queue), highest current priority first
/// (the queue's initial priority and escalation, [`current_priority`]), then the oldest, each to the best
/// free agent serving its queue. Returns how many it assigned.
pub async fn dispatch_queues(app: &App, queues: &[QueueId]) -> PortResult<usize> {
    let now = app.clock.now();
    let mut waiting = Vec::new();
    let mut agents: Vec<Agent> = Vec::new();
    for queue in queues {
        let list = app.store.waiting_in_queue(queue, BATCH).await?;
        if list.is_empty() {
            continue;
        }
        let settings = app.store.get_queue(queue).await?;
        for c in list {
            let priority = settings.as_ref().map_or(0, |s| current_priority(s, now - c.queued_at));
            waiting.push(Waiting { conversation: c.id, queue: c.queue_id, priority, queued_at: c.queued_at });
        }
        for agent in app.store.agents_for_queue(queue).await? {
            if !agents.iter().any(|a| a.id == agent.id) {
                agents.push(agent);
            }
        }
    }
    order_waiting(&mut waiting);
    let mut assigned = 0;
    for conversation in waiting {
        let candidates: Vec<AgentId> =
            rank_candidates(&conversation.queue, &agents).iter().map(|a| a.id.clone()).collect();
        for candidate in candidates {
            let now = app.clock.now();
            if let Some(c) = app.store.assign(&conversation.conversation, &candidate, now).await? {
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
            if app
                .store
                .get_conversation(&conversation.conversation)
                .await?
                .is_none_or(|c| c.agent_id.is_some() || c.state != ConversationState::Open)
            {
                break;
            }
        }
    }
    Ok(assigned)
}

/// An agent freed capacity or came online: serve the queues it works.
pub async fn dispatch_for_agent(app: &App, agent: &AgentId) -> PortResult<usize> {
    let Some(agent) = app.store.get_agent(agent).await? else { return Ok(0) };
    dispatch_queues(app, &agent.queues).await
}
