//! Assignment: waiting conversations of a queue go, highest current priority then oldest first, to the queue's available agents with free
//! capacity, least loaded first (agents who refused a conversation last), while the queue is within its
//! operating hours. Called when a conversation starts waiting, when an agent frees capacity or comes online,
//! and by the timers sweep (which catches anything a race left behind, and what waited for the opening). A
//! conversation is offered to its agent ([`crate::services::offers`]) unless its queue auto-accepts; either
//! way the agent's slot is taken at once.

use crate::App;
use crate::services::{automated, crm};
use futures::future::join_all;
use smsdesk_domain::assign::{
    Refusals, Waiting, current_priority, distributes, last_agent, order_waiting, prefer, rank_for,
};
use smsdesk_domain::{
    Agent, AgentId, Conversation, ConversationId, ConversationState, Phone, QueueId, WorkQueue, offer,
};
use smsdesk_ports::PortResult;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Conversations one pass plans and assigns together. Their first choices go to the store at once (one group
/// commit in the embedded store, parallel conditional writes in DynamoDB), so a pass costs about the same
/// for 1 or 128 conversations; passes of a queue run one at a time, so this is what bounds a queue's
/// assignments per second under a burst (25 held it near 700/s in `smsdesk bench`).
const BATCH: usize = 128;

/// Assigns as many waiting conversations of `queue` as its agents can take. Returns how many it assigned.
/// Callers at the same time share passes ([`crate::services::dispatch_gate`]); a pass goes on while it
/// assigns a full batch, so that one pass drains a burst.
pub async fn dispatch_queue(app: &App, queue: &QueueId) -> PortResult<usize> {
    app.dispatch_gates
        .run(queue, || async {
            let mut total = 0;
            loop {
                let assigned = dispatch_queues(app, std::slice::from_ref(queue)).await?;
                total += assigned;
                if assigned < BATCH {
                    return Ok(total);
                }
            }
        })
        .await
}

/// Assigns the waiting conversations of `queues` ([`BATCH`] per queue), highest current priority first
/// (the queue's initial priority and escalation, [`current_priority`]), then the oldest, each to the best
/// free agent serving its queue. Returns how many it assigned.
pub async fn dispatch_queues(app: &App, queues: &[QueueId]) -> PortResult<usize> {
    let now = app.clock.now();
    let mut waiting = Vec::new();
    let mut agents: Vec<Agent> = Vec::new();
    let mut settings: HashMap<QueueId, Option<WorkQueue>> = HashMap::new();
    // The waiting conversations as read, for their refusals.
    let mut refused: HashMap<ConversationId, Conversation> = HashMap::new();
    let mut customers: HashMap<ConversationId, Phone> = HashMap::new();
    let mut transferring: HashMap<ConversationId, smsdesk_domain::transfer::Transfer> = HashMap::new();
    let mut teams = app.store.list_teams().await?;
    for queue in queues {
        let list = app.store.waiting_in_queue(queue, BATCH).await?;
        if list.is_empty() {
            continue;
        }
        let queue_settings = app.store.queue_settings(queue).await?;
        // Out of its operating hours a queue's conversations wait for the opening (the timers' sweep
        // distributes them then).
        if !distributes(queue_settings.as_ref(), now) {
            continue;
        }
        for c in list {
            // A transfer to one agent is offered to that agent only (`services::transfers`).
            if c.transfer.as_ref().is_some_and(|t| t.target_agent().is_some()) {
                continue;
            }
            if let Some(t) = &c.transfer {
                transferring.insert(c.id.clone(), t.clone());
            }
            let priority = queue_settings.as_ref().map_or(0, |s| current_priority(s, now - c.queued_at));
            waiting.push(Waiting {
                conversation: c.id.clone(),
                queue: c.queue_id.clone(),
                priority,
                queued_at: c.queued_at,
            });
            customers.insert(c.id.clone(), c.customer.clone());
            refused.insert(c.id.clone(), c);
        }
        settings.insert(queue.clone(), queue_settings);
        for agent in crate::services::teams::agents_serving(app, queue, &teams).await? {
            if !agents.iter().any(|a| a.id == agent.id) {
                agents.push(agent);
            }
        }
    }
    order_waiting(&mut waiting);
    // The plan: each conversation, in distribution order, gets its candidates as the agents stand after the
    // conversations before it took their first choices (a planned slot counts as taken, as a one-by-one pass
    // counts it after each success). Then every first choice is tried at once: the writes go to the store
    // together (the embedded store commits them in one group, DynamoDB takes them in parallel) instead of
    // one round trip after another per conversation. Each write is still the store's conditional one; a
    // conversation whose first choice lost a race goes on, one by one, with its other candidates.
    // The agents as read: who each candidate is (its name announces it, "agent joined", without another
    // read). Candidates are kept as positions in it; `agents` (same order) is the pass's view of their load.
    let read = agents.clone();
    let position: HashMap<&AgentId, usize> = read.iter().enumerate().map(|(i, a)| (&a.id, i)).collect();
    let mut plans: Vec<(Waiting, Vec<usize>)> = Vec::new();
    for conversation in waiting {
        let refusals =
            refused.get(&conversation.conversation).map_or(Refusals::NONE, |c| Refusals::of(c, now));
        let queue = settings.get(&conversation.queue).and_then(Option::as_ref);
        // Members of a full team are out of the running until a member's slot comes back (a copy of the
        // view without them only when some team is full).
        let without_full_teams;
        let eligible = if agents.iter().all(|a| smsdesk_domain::team::team_has_room(a, &teams)) {
            agents.as_slice()
        } else {
            without_full_teams = smsdesk_domain::team::within_team_capacity(agents.clone(), &teams);
            without_full_teams.as_slice()
        };
        let ranked = rank_for(&conversation.queue, refusals, eligible);
        let preferred = match (queue, customers.get(&conversation.conversation)) {
            (Some(q), Some(customer)) if q.affinity_secs > 0 && !ranked.is_empty() => {
                affinity(app, customer, q.affinity_secs).await?
            }
            _ => None,
        };
        let transfer = transferring.get(&conversation.conversation);
        let candidates: Vec<usize> = prefer(ranked, preferred.as_ref())
            .into_iter()
            .filter(|a| transfer.is_none_or(|t| t.may_go_to(&a.id)))
            .filter_map(|a| position.get(&a.id).copied())
            .collect();
        if let Some(&first) = candidates.first() {
            count_slot(&mut agents, &mut teams, &read[first], now);
        }
        plans.push((conversation, candidates));
    }
    let queues_read = &settings;
    let read = &read;
    let firsts = join_all(plans.iter().map(|(conversation, candidates)| async move {
        let Some(&first) = candidates.first() else { return Ok(false) };
        let queue = queues_read.get(&conversation.queue).and_then(Option::as_ref);
        take(app, &conversation.conversation, &read[first], queue).await
    }))
    .await;
    let mut assigned = 0;
    let mut failed = None;
    for ((conversation, candidates), first) in plans.iter().zip(firsts) {
        let took = match first {
            Ok(took) => took,
            Err(e) => {
                failed.get_or_insert(e);
                continue;
            }
        };
        if took {
            assigned += 1;
            continue;
        }
        let Some(&first) = candidates.first() else { continue };
        let queue = settings.get(&conversation.queue).and_then(Option::as_ref);
        // Lost a race: the agent as it stands now, and the rest of the candidates one by one.
        if !lost_race(app, &conversation.conversation, &read[first], &mut agents, &mut teams).await? {
            continue;
        }
        for candidate in candidates[1..].iter().map(|&i| &read[i]) {
            if take(app, &conversation.conversation, candidate, queue).await? {
                count_slot(&mut agents, &mut teams, candidate, app.clock.now());
                assigned += 1;
                break;
            }
            if !lost_race(app, &conversation.conversation, candidate, &mut agents, &mut teams).await? {
                break;
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(assigned),
    }
}

/// Counts a slot of `agent` (and of its team) as taken in the pass's view.
fn count_slot(agents: &mut [Agent], teams: &mut [smsdesk_domain::Team], agent: &Agent, now: OffsetDateTime) {
    if let Some(a) = agents.iter_mut().find(|a| a.id == agent.id) {
        a.active += 1;
        a.last_assigned_at = Some(now);
    }
    if let Some(t) = teams.iter_mut().find(|t| agent.team_id.as_ref() == Some(&t.id)) {
        t.active += 1;
    }
}

/// Gives `conversation` to `candidate` (an offer, or at once when the queue auto-accepts) with the store's
/// conditional write; whether it took.
pub(crate) async fn take(
    app: &App,
    conversation: &ConversationId,
    candidate: &Agent,
    queue: Option<&WorkQueue>,
) -> PortResult<bool> {
    let now = app.clock.now();
    if offer::auto_accept(queue) {
        let c = app.store.assign(conversation, &candidate.id, now).await?;
        if let Some(c) = &c {
            became_active(app, c, candidate, now).await?;
        }
        return Ok(c.is_some());
    }
    let o = offer::make(queue, now);
    let c = app.store.offer(conversation, &candidate.id, &o).await?;
    if let Some(c) = &c {
        tracing::info!(conversation = %c.id, agent = %candidate.id, expires_at = %o.expires_at, "conversation offered");
        crate::services::offer_timers::arm(app, &c.id, &candidate.id, &o).await;
    }
    Ok(c.is_some())
}

/// After `candidate` did not take `conversation` (the agent filled up, or someone else took the
/// conversation): re-reads the agent and its team into the pass's view; whether the conversation still
/// waits for an agent.
async fn lost_race(
    app: &App,
    conversation: &ConversationId,
    candidate: &Agent,
    agents: &mut [Agent],
    teams: &mut [smsdesk_domain::Team],
) -> PortResult<bool> {
    let candidate_id = &candidate.id;
    if let Some(fresh) = app.store.get_agent(candidate_id).await?
        && let Some(a) = agents.iter_mut().find(|a| &a.id == candidate_id)
    {
        *a = crate::services::teams::serving(app, fresh).await?;
    }
    if let Some(team_id) = &candidate.team_id
        && let Some(fresh) = app.store.get_team(team_id).await?
        && let Some(t) = teams.iter_mut().find(|t| &t.id == team_id)
    {
        *t = fresh;
    }
    Ok(app
        .store
        .get_conversation(conversation)
        .await?
        .is_some_and(|c| c.agent_id.is_none() && c.state == ConversationState::Open))
}

/// The agent who last had `customer` within the queue's affinity window, from the customer's CRM timeline.
async fn affinity(app: &App, customer: &Phone, window_secs: u64) -> PortResult<Option<AgentId>> {
    let window = time::Duration::seconds(i64::try_from(window_secs).unwrap_or(i64::MAX));
    let mut events = Vec::new();
    for contact in app.store.contacts_by_phone(customer).await? {
        events.extend(app.store.timeline(&contact.id).await?);
    }
    Ok(last_agent(&events, app.clock.now(), window))
}

/// A conversation became `active` with `agent` (assigned to a queue that auto-accepts, or an accepted
/// offer): the assignment latency, "agent joined" (with the name of the agent the caller already holds)
/// and the CRM timeline.
pub async fn became_active(app: &App, c: &Conversation, agent: &Agent, at: OffsetDateTime) -> PortResult<()> {
    tracing::info!(conversation = %c.id, agent = %agent.id, "conversation assigned");
    if c.transfer.is_some() {
        crate::services::transfers::landed(app, c, &agent.id).await?;
    }
    crate::services::telemetry::assigned(app, c, at);
    crate::services::service_level::answered(app, c, at).await;
    // Independent writes (a system message, a CRM job): at once, not one commit after the other.
    let timeline = crm::timeline(
        app,
        &c.id,
        "assigned",
        serde_json::json!({"agent_id": agent.id, "queue_id": c.queue_id}),
    );
    futures::try_join!(automated::agent_joined(app, c, agent), timeline).map(|_| ())
}

/// An agent freed capacity or came online: serve the queues it works (its own and its team's), across all
/// of them in distribution order.
pub async fn dispatch_for_agent(app: &App, agent: &AgentId) -> PortResult<usize> {
    let Some(agent) = app.store.get_agent(agent).await? else { return Ok(0) };
    let queues = crate::services::teams::queues_of(app, agent).await?;
    dispatch_queues(app, &queues).await
}

/// A slot of `freed` came back from a conversation of `queue` (a decline, an expired offer): that queue
/// and every queue the agent serves are distributed together (`team::release_scope`), so the agent gets
/// the highest-priority, longest-waiting conversation of all its queues, not the next one of `queue`.
pub async fn dispatch_released(app: &App, queue: &QueueId, freed: &AgentId) -> PortResult<usize> {
    let agent = match app.store.get_agent(freed).await? {
        Some(a) => Some(crate::services::teams::serving(app, a).await?),
        None => None,
    };
    let scope = smsdesk_domain::team::release_scope(queue, agent.as_ref());
    let assigned = dispatch_queues(app, &scope).await?;
    if assigned >= BATCH {
        // A burst: the queue's own passes drain the rest.
        return Ok(assigned + dispatch_queue(app, queue).await?);
    }
    Ok(assigned)
}
