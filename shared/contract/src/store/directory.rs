//! Channels, work queues and agents: plain records, overwritten by `put`.

use smsdesk_domain::*;
use smsdesk_ports::{AgentWrite, Store};
use std::sync::Arc;

use super::ok;
use crate::fixtures;

/// `put_channel` stores or replaces; `get_channel` reads it back whole; `list_channels` includes it.
pub async fn channels_contract(store: Arc<dyn Store>) {
    let queue = fixtures::work_queue();
    let mut channel = fixtures::channel(&queue.id);
    ok(store.put_channel(&channel).await, "put_channel");
    let got = ok(store.get_channel(&channel.id).await, "get_channel");
    assert_eq!(got.as_ref(), Some(&channel), "get_channel must return the channel as stored");

    channel.name = "renamed".into();
    channel.numbers.push(ChannelNumber {
        number: fixtures::phone(),
        number_type: NumberType::TollFree,
        description: "sales".into(),
        queue: queue.id.clone(),
        send_rate: None,
    });
    ok(store.put_channel(&channel).await, "put_channel (replace)");
    let got = ok(store.get_channel(&channel.id).await, "get_channel after replace");
    assert_eq!(got.as_ref(), Some(&channel), "put_channel must replace the stored channel");

    let all = ok(store.list_channels().await, "list_channels");
    assert_eq!(all.iter().filter(|c| c.id == channel.id).count(), 1, "list_channels must list it once");
    assert!(all.contains(&channel), "list_channels must return the current version");

    let missing = ok(store.get_channel(&ChannelId::new(fixtures::id("ch_"))).await, "get_channel (unknown)");
    assert_eq!(missing, None, "an unknown channel is None");
}

/// `put_queue` stores or replaces; `get_queue` and `list_queues` read it back.
pub async fn work_queues_contract(store: Arc<dyn Store>) {
    let mut queue = fixtures::work_queue();
    ok(store.put_queue(&queue).await, "put_queue");
    assert_eq!(ok(store.get_queue(&queue.id).await, "get_queue"), Some(queue.clone()), "get_queue");
    queue.name = "billing".into();
    ok(store.put_queue(&queue).await, "put_queue (replace)");
    assert_eq!(
        ok(store.get_queue(&queue.id).await, "get_queue"),
        Some(queue.clone()),
        "put_queue must replace"
    );
    let all = ok(store.list_queues().await, "list_queues");
    assert_eq!(all.iter().filter(|q| q.id == queue.id).count(), 1, "list_queues must list it once");
    assert!(all.contains(&queue), "list_queues must return the current version");
    let missing = ok(store.get_queue(&QueueId::new(fixtures::id("q_"))).await, "get_queue (unknown)");
    assert_eq!(missing, None, "an unknown queue is None");
}

/// Agents by id and by token hash, presence changes, and the agents of a queue.
pub async fn agents_contract(store: Arc<dyn Store>) {
    let q1 = fixtures::work_queue();
    let q2 = fixtures::work_queue();
    let a = fixtures::agent(&[q1.id.clone(), q2.id.clone()], 3, Presence::Offline);
    let b = fixtures::agent(std::slice::from_ref(&q2.id), 1, Presence::Available);
    let token_a = fixtures::id("sha_a_");
    let token_b = fixtures::id("sha_b_");
    ok(store.put_agent(&a, &token_a).await, "put_agent a");
    ok(store.put_agent(&b, &token_b).await, "put_agent b");

    assert_eq!(ok(store.get_agent(&a.id).await, "get_agent"), Some(a.clone()), "get_agent returns it");
    assert_eq!(ok(store.agent_by_token(&token_b).await, "agent_by_token"), Some(b.clone()), "by token");
    let unknown = ok(store.agent_by_token(&fixtures::id("sha_x_")).await, "agent_by_token (unknown)");
    assert_eq!(unknown, None, "an unknown token finds no agent");
    let missing = ok(store.get_agent(&AgentId::new(fixtures::id("ag_"))).await, "get_agent (unknown)");
    assert_eq!(missing, None, "an unknown agent is None");

    let updated = ok(store.set_presence(&a.id, Presence::Available).await, "set_presence");
    let expected = Agent { presence: Presence::Available, ..a.clone() };
    assert_eq!(updated, Some(expected.clone()), "set_presence returns the updated agent");
    assert_eq!(ok(store.get_agent(&a.id).await, "get_agent"), Some(expected.clone()), "presence is stored");
    let none =
        ok(store.set_presence(&AgentId::new(fixtures::id("ag_")), Presence::Busy).await, "set_presence");
    assert_eq!(none, None, "set_presence on an unknown agent is None");

    let in_q1 = ok(store.agents_for_queue(&q1.id).await, "agents_for_queue q1");
    assert_eq!(in_q1, vec![expected.clone()], "agents_for_queue(q1) is exactly agent a");
    let mut in_q2 = ok(store.agents_for_queue(&q2.id).await, "agents_for_queue q2");
    in_q2.sort_by(|x, y| x.id.cmp(&y.id));
    let mut want = vec![expected.clone(), b.clone()];
    want.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(in_q2, want, "agents_for_queue(q2) is agents a and b");
    let none = ok(store.agents_for_queue(&QueueId::new(fixtures::id("q_"))).await, "agents_for_queue");
    assert!(none.is_empty(), "a queue nobody serves has no agents");

    let all = ok(store.list_agents().await, "list_agents");
    assert!(all.contains(&expected) && all.contains(&b), "list_agents includes both agents");
}

/// Agents by identity provider subject (a JWT's `sub`): found by it, unique among agents, and an agent
/// stored again keeps it.
pub async fn agent_subjects_contract(store: Arc<dyn Store>) {
    let queue = fixtures::work_queue();
    let subject = fixtures::id("sub-");
    let a = Agent {
        subject: Some(subject.clone()),
        ..fixtures::agent(std::slice::from_ref(&queue.id), 2, Presence::Offline)
    };
    let stored = ok(store.put_agent(&a, &fixtures::id("sha_")).await, "put_agent with a subject");
    assert_eq!(stored, AgentWrite::Stored, "a new subject is stored");
    let found = ok(store.agent_by_subject(&subject).await, "agent_by_subject");
    assert_eq!(found, Some(a.clone()), "agent_by_subject finds the agent, subject included");
    assert_eq!(ok(store.get_agent(&a.id).await, "get_agent"), Some(a.clone()), "get_agent shows the subject");

    let unknown = ok(store.agent_by_subject(&fixtures::id("sub-")).await, "agent_by_subject (unknown)");
    assert_eq!(unknown, None, "an unknown subject finds no agent");

    let b = Agent {
        subject: Some(subject.clone()),
        ..fixtures::agent(std::slice::from_ref(&queue.id), 1, Presence::Offline)
    };
    let token_b = fixtures::id("sha_");
    let taken = ok(store.put_agent(&b, &token_b).await, "put_agent with a taken subject");
    assert_eq!(taken, AgentWrite::SubjectTaken, "another agent's subject is refused");
    assert_eq!(ok(store.get_agent(&b.id).await, "get_agent (refused)"), None, "nothing of b was stored");
    assert_eq!(ok(store.agent_by_token(&token_b).await, "agent_by_token (refused)"), None, "nor its token");
    let still = ok(store.agent_by_subject(&subject).await, "agent_by_subject after the refusal");
    assert_eq!(still.map(|x| x.id), Some(a.id.clone()), "the subject still names the first agent");

    let again = ok(store.put_agent(&a, &fixtures::id("sha_")).await, "put_agent again");
    assert_eq!(again, AgentWrite::Stored, "an agent stored again keeps its own subject");
    let without =
        Agent { subject: None, ..fixtures::agent(std::slice::from_ref(&queue.id), 1, Presence::Offline) };
    let other =
        Agent { subject: None, ..fixtures::agent(std::slice::from_ref(&queue.id), 1, Presence::Offline) };
    assert_eq!(ok(store.put_agent(&without, &fixtures::id("sha_")).await, "put_agent"), AgentWrite::Stored);
    assert_eq!(
        ok(store.put_agent(&other, &fixtures::id("sha_")).await, "put_agent"),
        AgentWrite::Stored,
        "any number of agents have no subject"
    );
}
