//! Offline hand-back (issue 10.2), driven by the timers' sweep: an agent who went offline hands back what
//! they hold in a queue (offered, active, waiting; not wrap-up) once that queue's grace period
//! (`offline_handback_secs`) has passed since they went offline; a queue without one (the default) lets them
//! keep it. Each conversation goes back to its queue with one conditional store call
//! (`ConversationStore::hand_back`: still held by that agent; the slot comes back once), gets a note in its
//! transcript and a CRM timeline event, and is distributed again to the agents who are there.

use crate::App;
use crate::services::{assignment, crm};
use smsdesk_domain::handback;
use smsdesk_domain::notes::Note;
use smsdesk_domain::*;
use smsdesk_ports::PortResult;
use std::collections::HashMap;

/// Hands back what is due; returns how many conversations this sweep handed back.
/// `queues` is the run's listing of the queues.
pub async fn sweep(app: &App, queues: &[WorkQueue]) -> PortResult<usize> {
    let queues: HashMap<QueueId, &WorkQueue> =
        queues.iter().filter(|q| q.offline_handback_secs.is_some()).map(|q| (q.id.clone(), q)).collect();
    if queues.is_empty() {
        return Ok(0); // the default: every agent keeps what they hold
    }
    let mut moved = 0;
    for agent in app.store.list_agents().await? {
        if handback::offline_since(&agent).is_none() || agent.active == 0 {
            continue;
        }
        for c in app.store.work_items(&agent.id).await? {
            let Some(queue) = queues.get(&c.queue_id) else { continue };
            if c.agent_id.as_ref() != Some(&agent.id) || !handback::handed_back_in(c.state) {
                continue;
            }
            // Read again right before the move: an agent back online in time keeps everything.
            let now = app.clock.now();
            let Some(fresh) = app.store.get_agent(&agent.id).await? else { break };
            if handback::offline_since(&fresh) != handback::offline_since(&agent) {
                break;
            }
            if !handback::due(queue, &fresh, now) {
                continue;
            }
            match hand_back(app, &c, &fresh, now).await {
                Ok(true) => moved += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(conversation = %c.id, error = %e, "offline hand-back failed"),
            }
        }
    }
    Ok(moved)
}

/// One conversation back to its queue, if the agent still holds it; then it is offered again.
async fn hand_back(
    app: &App,
    c: &Conversation,
    agent: &Agent,
    now: time::OffsetDateTime,
) -> PortResult<bool> {
    let Some(back) = app.store.hand_back(&c.id, &agent.id, now).await? else { return Ok(false) };
    let gone_for = handback::offline_since(agent).map_or(0, |since| (now - since).whole_seconds());
    tracing::info!(conversation = %back.id, agent = %agent.id, from = c.state.as_str(), offline_secs = gone_for, "handed back to the queue: the agent went offline");
    let note = Note {
        id: NoteId::new(format!("{}handback_{}_{}", NoteId::PREFIX, back.id, now.unix_timestamp())),
        conversation_id: back.id.clone(),
        agent_id: None,
        author_name: "smsdesk".into(),
        text: format!(
            "Handed back to the queue: {} went offline {} ago ({}).",
            agent.name,
            minutes(gone_for),
            c.state.as_str()
        ),
        created_at: now,
    };
    app.store.add_note(&note).await?;
    crm::timeline_once(
        app,
        &back.id,
        &format!("handback:{}", now.unix_timestamp()),
        "handed_back",
        serde_json::json!({"from_agent_id": agent.id, "to_queue_id": back.queue_id, "was": c.state.as_str()}),
    )
    .await?;
    assignment::dispatch_queue(app, &back.queue_id).await?;
    Ok(true)
}

fn minutes(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} minutes", s / 60),
    }
}
