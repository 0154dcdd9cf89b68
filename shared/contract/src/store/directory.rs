//! Channels, work queues and agents: plain records, overwritten by `put`.

use smsdesk_domain::*;
use smsdesk_ports::{AgentSettings, AgentWrite, ChannelWrite, Store};
use std::sync::Arc;

use super::{join_all, ok};
use crate::fixtures;

/// `put_channel` stores or replaces; `get_channel` reads it back whole; `list_channels` includes it.
pub async fn channels_contract(store: Arc<dyn Store>) {
    let queue = fixtures::work_queue();
    let mut channel = fixtures::channel(&queue.id);
    stored(&store, &channel, "put_channel").await;
    let got = ok(store.get_channel(&channel.id).await, "get_channel");
    assert_eq!(got.as_ref(), Some(&channel), "get_channel must return the channel as stored");

    channel.name = "renamed".into();
    channel.numbers.push(ChannelNumber {
        number: fixtures::phone(),
        number_type: NumberType::TollFree,
        description: "sales".into(),
        queue: queue.id.clone(),
        menu: None,
        send_rate: None,
    });
    stored(&store, &channel, "put_channel (replace)").await;
    let got = ok(store.get_channel(&channel.id).await, "get_channel after replace");
    assert_eq!(got.as_ref(), Some(&channel), "put_channel must replace the stored channel");

    let all = ok(store.list_channels().await, "list_channels");
    assert_eq!(all.iter().filter(|c| c.id == channel.id).count(), 1, "list_channels must list it once");
    assert!(all.contains(&channel), "list_channels must return the current version");

    let missing = ok(store.get_channel(&ChannelId::new(fixtures::id("ch_"))).await, "get_channel (unknown)");
    assert_eq!(missing, None, "an unknown channel is None");
    channel_settings_may_lag_but_never_miss(&store, &queue).await;
}

/// `put_channel` that must store.
async fn stored(store: &Arc<dyn Store>, channel: &Channel, what: &str) {
    assert_eq!(ok(store.put_channel(channel).await, what), ChannelWrite::Stored, "{what}");
}

/// A channel of the fixtures with `numbers`.
fn with_numbers(queue: &QueueId, numbers: &[&Phone]) -> Channel {
    let mut channel = fixtures::channel(queue);
    let template = channel.numbers[0].clone();
    channel.numbers =
        numbers.iter().map(|n| ChannelNumber { number: (*n).clone(), ..template.clone() }).collect();
    channel
}

/// A number is on one channel at a time: `put_channel` claims a channel's numbers in the same atomic write
/// (another channel's number refuses the whole write), gives up those it drops, and of concurrent writes
/// listing one number on different channels exactly one is stored.
pub async fn number_claims_contract(store: Arc<dyn Store>) {
    let queue = QueueId::new(fixtures::id("q_"));
    let (n1, n2, n3) = (fixtures::phone(), fixtures::phone(), fixtures::phone());
    let mut a = with_numbers(&queue, &[&n1, &n2]);
    stored(&store, &a, "put_channel (a new channel takes its numbers)").await;

    // Another channel listing one of them is refused whole: not stored, and its other number not claimed.
    let b = with_numbers(&queue, &[&n3, &n2]);
    let refused = ok(store.put_channel(&b).await, "put_channel (a number another channel has)");
    assert_eq!(refused, ChannelWrite::NumberTaken { number: n2.clone(), channel: a.id.clone() });
    assert_eq!(ok(store.get_channel(&b.id).await, "get_channel"), None, "a refused channel is not stored");
    let c = with_numbers(&queue, &[&n3]);
    stored(&store, &c, "put_channel (a number a refused write listed)").await;

    // The channel written again, unchanged or with other settings, keeps its numbers.
    stored(&store, &a, "put_channel (the same channel again)").await;
    a.name = "renamed".into();
    stored(&store, &a, "put_channel (settings changed)").await;

    // A number given up is free for another channel, and no longer the first one's to take back.
    a.numbers.retain(|n| n.number != n2);
    stored(&store, &a, "put_channel (a number given up)").await;
    let b = with_numbers(&queue, &[&n2]);
    stored(&store, &b, "put_channel (a number given up by another channel)").await;
    a.numbers.push(ChannelNumber { number: n2.clone(), ..a.numbers[0].clone() });
    let refused = ok(store.put_channel(&a).await, "put_channel (taking a number back)");
    assert_eq!(refused, ChannelWrite::NumberTaken { number: n2.clone(), channel: b.id.clone() });
    let got = ok(store.get_channel(&a.id).await, "get_channel").expect("a is stored");
    assert!(got.number(&n2).is_none() && got.number(&n1).is_some(), "a refused write changes nothing");

    // Concurrent channels listing one number: exactly one is stored.
    let contested = fixtures::phone();
    let writes = (0..8).map(|_| {
        let (store, channel) = (store.clone(), with_numbers(&queue, &[&contested]));
        tokio::spawn(async move { (channel.id.clone(), store.put_channel(&channel).await) })
    });
    let outcomes = join_all(writes.collect()).await;
    let winners: Vec<&ChannelId> =
        outcomes.iter().filter(|(_, r)| matches!(r, Ok(ChannelWrite::Stored))).map(|(id, _)| id).collect();
    assert_eq!(winners.len(), 1, "exactly one concurrent write takes the number: {outcomes:?}");
    for (id, outcome) in &outcomes {
        match outcome {
            Ok(ChannelWrite::Stored) => {}
            Ok(ChannelWrite::NumberTaken { number, channel }) => {
                assert_eq!((number, channel), (&contested, winners[0]), "the loser {id} names the winner");
            }
            Err(e) => panic!("store contract: a concurrent put_channel failed: {e}"),
        }
    }
    let listing = ok(store.list_channels().await, "list_channels");
    assert_eq!(listing.iter().filter(|c| c.number(&contested).is_some()).count(), 1, "one channel lists it");

    // Concurrent writes of one channel, each moving it to another number: the claims follow the channel as
    // finally stored (the number it lists is its own; the other is free).
    let (n4, n5) = (fixtures::phone(), fixtures::phone());
    let writes = [&n4, &n5].map(|n| {
        let mut moved = a.clone();
        moved.numbers = vec![ChannelNumber { number: n.clone(), ..a.numbers[0].clone() }];
        let store = store.clone();
        tokio::spawn(async move { store.put_channel(&moved).await })
    });
    for outcome in join_all(writes.into()).await {
        assert_eq!(ok(outcome, "put_channel (concurrent moves of one channel)"), ChannelWrite::Stored);
    }
    let got = ok(store.get_channel(&a.id).await, "get_channel").expect("a is stored");
    let (kept, freed) = if got.number(&n4).is_some() { (&n4, &n5) } else { (&n5, &n4) };
    assert!(got.number(kept).is_some() && got.number(freed).is_none(), "{:?}", got.numbers);
    for n in [&n1, freed] {
        stored(&store, &with_numbers(&queue, &[n]), "put_channel (a number the channel no longer lists)")
            .await;
    }
    let refused = ok(store.put_channel(&with_numbers(&queue, &[kept])).await, "put_channel (its number)");
    assert_eq!(refused, ChannelWrite::NumberTaken { number: kept.clone(), channel: a.id.clone() });
}

/// `channel_settings` and `queue_settings` (the message paths' reads): a record just stored is found at
/// once (never missed), a replaced one shows its new version within seconds, an unknown one is None.
async fn channel_settings_may_lag_but_never_miss(store: &Arc<dyn Store>, queue: &WorkQueue) {
    let mut channel = fixtures::channel(&queue.id);
    stored(store, &channel, "put_channel").await;
    let got = ok(store.channel_settings(&channel.id).await, "channel_settings");
    assert_eq!(got.as_ref(), Some(&channel), "a channel just stored is found at once");
    channel.name = "renamed".into();
    stored(store, &channel, "put_channel (replace)").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ok(store.channel_settings(&channel.id).await, "channel_settings").as_ref() != Some(&channel) {
        assert!(std::time::Instant::now() < deadline, "channel_settings shows a change within seconds");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let unknown = ChannelId::new(fixtures::id("ch_"));
    assert_eq!(ok(store.channel_settings(&unknown).await, "channel_settings (unknown)"), None, "unknown");

    let mut queue = fixtures::work_queue();
    ok(store.put_queue(&queue).await, "put_queue");
    assert_eq!(ok(store.queue_settings(&queue.id).await, "queue_settings"), Some(queue.clone()), "at once");
    queue.name = "renamed".into();
    ok(store.put_queue(&queue).await, "put_queue (replace)");
    while ok(store.queue_settings(&queue.id).await, "queue_settings").as_ref() != Some(&queue) {
        assert!(std::time::Instant::now() < deadline, "queue_settings shows a change within seconds");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let unknown = QueueId::new(fixtures::id("q_"));
    assert_eq!(ok(store.queue_settings(&unknown).await, "queue_settings (unknown)"), None, "unknown queue");
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

    // Settings round-trip; delete removes it once.
    queue.hidden = true;
    queue.service_level_seconds = Some(60);
    queue.expiry_seconds = Some(3600);
    queue.expiry_message = "Sorry, we missed you.".into();
    queue.bot = Some(BotEndpoint { url: "https://bot.example.com/hook".into() });
    ok(store.put_queue(&queue).await, "put_queue (settings)");
    assert_eq!(ok(store.get_queue(&queue.id).await, "get_queue"), Some(queue.clone()), "settings are stored");
    assert!(ok(store.delete_queue(&queue.id).await, "delete_queue"), "delete_queue of a queue is true");
    assert_eq!(ok(store.get_queue(&queue.id).await, "get_queue (deleted)"), None, "a deleted queue is gone");
    let all = ok(store.list_queues().await, "list_queues");
    assert!(all.iter().all(|q| q.id != queue.id), "list_queues no longer lists a deleted queue");
    assert!(!ok(store.delete_queue(&queue.id).await, "delete_queue (again)"), "deleting twice is false");
}

/// `record_answer` counts per queue and day, atomically (concurrent answers all count); `answer_counts`
/// returns the days in the span that have any, oldest first, and nothing of other queues or days.
pub async fn queue_answers_contract(store: Arc<dyn Store>) {
    use smsdesk_domain::service_level::DayCounts;
    use time::macros::date;
    let (queue, other) = (fixtures::work_queue().id, fixtures::work_queue().id);
    let (before, day1, day2, after) =
        (date!(2026 - 11 - 26), date!(2026 - 11 - 27), date!(2026 - 11 - 28), date!(2026 - 11 - 29));
    let none = ok(store.answer_counts(&queue, day1, day2).await, "answer_counts (none yet)");
    assert!(none.is_empty(), "a queue without answers has no counts: {none:?}");

    let writes = (0..10)
        .map(|i| {
            let (store, queue) = (store.clone(), queue.clone());
            tokio::spawn(async move { store.record_answer(&queue, day1, i % 2 == 0).await })
        })
        .collect();
    for result in super::join_all(writes).await {
        ok(result, "record_answer (concurrent)");
    }
    ok(store.record_answer(&queue, day2, false).await, "record_answer");
    ok(store.record_answer(&queue, before, true).await, "record_answer (before the span)");
    ok(store.record_answer(&queue, after, true).await, "record_answer (after the span)");
    ok(store.record_answer(&other, day1, true).await, "record_answer (another queue)");

    let counts = ok(store.answer_counts(&queue, day1, day2).await, "answer_counts");
    assert_eq!(
        counts,
        vec![
            (day1, DayCounts { answered: 10, within_target: 5 }),
            (day2, DayCounts { answered: 1, within_target: 0 })
        ],
        "every concurrent answer counts, per day, only within the span and the queue"
    );
}

/// `put_menu` stores or replaces; `get_menu`, `list_menus` read it back; `delete_menu` removes it once.
pub async fn menus_contract(store: Arc<dyn Store>) {
    let q = fixtures::work_queue();
    let mut menu = Menu {
        id: MenuId::new(fixtures::id("mnu_")),
        name: "main".into(),
        text: [("en".to_string(), "1 SALES".to_string()), ("es".to_string(), "1 VENTAS".to_string())].into(),
        options: vec![MenuOption {
            keyword: "SALES".into(),
            digit: Some(1),
            target: MenuTarget::Queue(q.id.clone()),
        }],
        timeout_seconds: 120,
        default_queue: None,
        created_at: fixtures::now(),
    };
    ok(store.put_menu(&menu).await, "put_menu");
    assert_eq!(ok(store.get_menu(&menu.id).await, "get_menu"), Some(menu.clone()), "get_menu returns it");
    menu.options.push(MenuOption {
        keyword: "MORE".into(),
        digit: None,
        target: MenuTarget::Menu(MenuId::new(fixtures::id("mnu_"))),
    });
    menu.default_queue = Some(q.id.clone());
    ok(store.put_menu(&menu).await, "put_menu (replace)");
    assert_eq!(ok(store.get_menu(&menu.id).await, "get_menu"), Some(menu.clone()), "put_menu replaces");
    let all = ok(store.list_menus().await, "list_menus");
    assert_eq!(all.iter().filter(|m| m.id == menu.id).count(), 1, "list_menus lists it once");
    assert!(all.contains(&menu), "list_menus returns the current version");
    assert!(ok(store.delete_menu(&menu.id).await, "delete_menu"), "delete_menu of a menu is true");
    assert_eq!(ok(store.get_menu(&menu.id).await, "get_menu (deleted)"), None, "a deleted menu is gone");
    assert!(!ok(store.delete_menu(&menu.id).await, "delete_menu (again)"), "deleting twice is false");
}

/// Agents by id and by token hash, presence changes, and the agents of a queue.
pub async fn agents_contract(store: Arc<dyn Store>) {
    agent_settings_change_and_counts_stay(&store).await;
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

    let changed_at = fixtures::now();
    let updated = ok(store.set_presence(&a.id, Presence::Available, changed_at).await, "set_presence");
    let expected =
        Agent { presence: Presence::Available, presence_changed_at: Some(changed_at), ..a.clone() };
    assert_eq!(updated, Some(expected.clone()), "set_presence returns the updated agent, with the time");
    assert_eq!(ok(store.get_agent(&a.id).await, "get_agent"), Some(expected.clone()), "presence is stored");
    // The same presence again is no change: the time it changed stays.
    let later = changed_at + time::Duration::seconds(30);
    let again = ok(store.set_presence(&a.id, Presence::Available, later).await, "set_presence (same)");
    assert_eq!(again, Some(expected.clone()), "the same presence keeps the time it changed");
    let none = ok(
        store.set_presence(&AgentId::new(fixtures::id("ag_")), Presence::Busy, fixtures::now()).await,
        "set_presence",
    );
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
/// stored again keeps it. The agent's role (here a supervisor) comes back as stored.
pub async fn agent_subjects_contract(store: Arc<dyn Store>) {
    let queue = fixtures::work_queue();
    let subject = fixtures::id("sub-");
    let a = Agent {
        subject: Some(subject.clone()),
        role: smsdesk_domain::Role::Supervisor,
        ..fixtures::agent(std::slice::from_ref(&queue.id), 2, Presence::Offline)
    };
    let stored = ok(store.put_agent(&a, &fixtures::id("sha_")).await, "put_agent with a subject");
    assert_eq!(stored, AgentWrite::Stored, "a new subject is stored");
    let found = ok(store.agent_by_subject(&subject).await, "agent_by_subject");
    assert_eq!(found, Some(a.clone()), "agent_by_subject finds the agent, subject and role included");
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

/// `update_agent` changes name, queues and capacity; presence, counts and token stay; `agents_for_queue`
/// follows the new queues.
async fn agent_settings_change_and_counts_stay(store: &Arc<dyn Store>) {
    let (q1, q2) = (fixtures::work_queue(), fixtures::work_queue());
    let mut a = fixtures::agent(std::slice::from_ref(&q1.id), 2, Presence::Available);
    a.active = 1;
    a.missed_offers = 2;
    let token = fixtures::id("sha_u_");
    ok(store.put_agent(&a, &token).await, "put_agent");
    let settings = AgentSettings { name: "renamed".into(), queues: vec![q2.id.clone()], capacity: 5 };
    let updated = ok(store.update_agent(&a.id, &settings).await, "update_agent").expect("the agent exists");
    let expected = Agent { name: "renamed".into(), queues: vec![q2.id.clone()], capacity: 5, ..a.clone() };
    assert_eq!(updated, expected, "update_agent changes the settings only");
    assert_eq!(ok(store.get_agent(&a.id).await, "get_agent"), Some(expected.clone()), "stored as returned");
    assert_eq!(ok(store.agent_by_token(&token).await, "agent_by_token"), Some(expected), "the token stays");
    let in_q1 = ok(store.agents_for_queue(&q1.id).await, "agents_for_queue q1");
    assert!(!in_q1.iter().any(|x| x.id == a.id), "no longer serves q1: {in_q1:?}");
    let in_q2 = ok(store.agents_for_queue(&q2.id).await, "agents_for_queue q2");
    assert!(in_q2.iter().any(|x| x.id == a.id), "now serves q2: {in_q2:?}");
    let ghost = AgentId::new(fixtures::id("ag_"));
    assert_eq!(ok(store.update_agent(&ghost, &settings).await, "update_agent (none)"), None, "no such agent");
}
