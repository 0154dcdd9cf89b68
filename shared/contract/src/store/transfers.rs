//! Transfers (issue 11.5): the first agent holds its slot from the start of a transfer until it lands (then
//! it is given back) or fails (then the conversation is theirs again and the slot was never let go); the
//! target's offer slot is given back when it fails; a close during a transfer gives back every slot; each
//! move happens once however many racers try.

use smsdesk_domain::transfer::{Transfer, TransferTarget};
use smsdesk_domain::*;
use smsdesk_ports::{OpenOutcome, Store};
use std::sync::Arc;
use time::Duration;

use super::{join_all, ok};
use crate::fixtures;

pub async fn transfers_contract(store: Arc<dyn Store>) {
    a_transfer_to_a_queue_lands_and_frees_the_first_agent(&store).await;
    a_failed_transfer_comes_back_and_frees_the_target(&store).await;
    a_close_during_a_transfer_gives_every_slot_back(&store).await;
    an_ended_conversation_is_not_transferred(&store).await;
    only_a_waiting_conversation_moves_to_another_queue(&store).await;
}

/// `move_waiting`: a conversation open in its queue, nobody holding or offered it and no transfer under
/// way, moves to another queue once (racing movers: one wins), forgetting the old queue's declines; one
/// held, offered, transferred, closed or already elsewhere does not move, and nothing changes.
async fn only_a_waiting_conversation_moves_to_another_queue(store: &Arc<dyn Store>) {
    use ConversationState::*;
    let (q, billing, sales) = (
        QueueId::new(fixtures::id("q_")),
        QueueId::new(fixtures::id("q_")),
        QueueId::new(fixtures::id("q_")),
    );
    let a = new_agent(store, &q, 3).await;
    let t0 = fixtures::now();
    let at = t0 + Duration::seconds(30);

    // Declined by `a` in its first queue, then moved: open in billing from `at`, the decline forgotten.
    let c = fixtures::fresh_conversation(&q);
    ok(store.create_conversation(&c).await, "create_conversation");
    let offer = Offer { offered_at: t0, expires_at: t0 + Duration::seconds(60) };
    ok(store.offer(&c.id, &a.id, &offer).await, "offer").expect("offered");
    let declined = ok(
        store.refuse_offer(&c.id, &a.id, smsdesk_domain::offer::Refusal::Declined, t0).await,
        "refuse_offer",
    )
    .expect("declined");
    assert_eq!(declined.declined_by, vec![a.id.clone()], "the decline is recorded");
    let moved = ok(store.move_waiting(&c.id, &q, &billing, at).await, "move_waiting").expect("moved");
    assert_eq!(
        (moved.state, &moved.agent_id, &moved.queue_id, moved.queued_at),
        (Open, &None, &billing, at),
        "open in the new queue, waiting from the move"
    );
    assert!(
        moved.declined_by.is_empty() && moved.refused_by.is_empty(),
        "the old queue's refusals forgotten"
    );
    assert_eq!(ok(store.get_conversation(&c.id).await, "get_conversation"), Some(moved.clone()), "as stored");
    let waiting = |queue: QueueId| {
        let store = store.clone();
        async move { ok(store.waiting_in_queue(&queue, 100).await, "waiting_in_queue") }
    };
    assert!(waiting(billing.clone()).await.iter().any(|w| w.id == c.id), "listed in the new queue");
    assert!(!waiting(q.clone()).await.iter().any(|w| w.id == c.id), "gone from the old one");
    assert_eq!(active_of(store, &a.id).await, 0, "no slot taken or given");

    // Moved from a queue it is no longer in: nothing.
    assert_eq!(ok(store.move_waiting(&c.id, &q, &sales, at).await, "move_waiting"), None, "not in `from`");
    // Racing movers: exactly one moves it.
    let racers = [sales.clone(), q.clone(), sales.clone(), q.clone()].map(|to| {
        let (store, id, from) = (store.clone(), c.id.clone(), billing.clone());
        tokio::spawn(async move { ok(store.move_waiting(&id, &from, &to, at).await, "move_waiting") })
    });
    let won: Vec<Conversation> = join_all(racers.into()).await.into_iter().flatten().collect();
    assert_eq!(won.len(), 1, "one of four racing movers moves it");
    assert_eq!(ok(store.get_conversation(&c.id).await, "get_conversation"), Some(won[0].clone()));

    // Offered, held, being transferred or closed: nothing moves, nothing changes.
    let offered = fixtures::fresh_conversation(&q);
    ok(store.create_conversation(&offered).await, "create_conversation");
    let offered = ok(store.offer(&offered.id, &a.id, &offer).await, "offer").expect("offered");
    let (transferring, sender) = held(store, &q).await;
    let (held, holder) = held(store, &q).await;
    let t = transfer(&sender, &q, TransferTarget::Queue(billing.clone()));
    let transferring =
        ok(store.start_transfer(&transferring.id, &t).await, "start_transfer").expect("started");
    let closed = fixtures::fresh_conversation(&q);
    ok(store.create_conversation(&closed).await, "create_conversation");
    let closed = ok(store.close(&closed.id, t0, "resolved").await, "close").expect("closed");
    let before = (active_of(store, &a.id).await, active_of(store, &holder.id).await);
    for (what, c) in
        [("offered", &offered), ("held", &held), ("transferred", &transferring), ("closed", &closed)]
    {
        let from = c.queue_id.clone();
        assert_eq!(ok(store.move_waiting(&c.id, &from, &sales, at).await, "move_waiting"), None, "{what}");
        let now = ok(store.get_conversation(&c.id).await, "get_conversation");
        assert_eq!(now.as_ref(), Some(c), "{what}: nothing changed");
    }
    assert_eq!((active_of(store, &a.id).await, active_of(store, &holder.id).await), before, "no slot moved");
    assert_eq!(
        ok(store.move_waiting(&ConversationId::new(fixtures::id("conv_")), &q, &sales, at).await, "move"),
        None
    );
}

/// A transfer starts only from `active` or `waiting`, checked with the move: an end that landed first
/// (wrap-up) refuses it, and nothing changes.
async fn an_ended_conversation_is_not_transferred(store: &Arc<dyn Store>) {
    let (q, other) = (QueueId::new(fixtures::id("q_")), QueueId::new(fixtures::id("q_")));
    let (c, a) = held(store, &q).await;
    let ended = ok(
        store.transition(&c.id, ConversationState::Active, ConversationState::WrapUp, fixtures::now()).await,
        "transition",
    )
    .expect("ended");
    let t = transfer(&a, &q, TransferTarget::Queue(other));
    assert_eq!(ok(store.start_transfer(&c.id, &t).await, "start_transfer"), None, "no transfer from wrap-up");
    assert_eq!(ok(store.get_conversation(&c.id).await, "get_conversation"), Some(ended), "nothing changed");
}

async fn active_of(store: &Arc<dyn Store>, id: &AgentId) -> u32 {
    ok(store.get_agent(id).await, "get_agent").map_or_else(|| panic!("agent {id} vanished"), |a| a.active)
}

async fn new_agent(store: &Arc<dyn Store>, queue: &QueueId, capacity: u32) -> Agent {
    let a = fixtures::agent(std::slice::from_ref(queue), capacity, Presence::Available);
    ok(store.put_agent(&a, &fixtures::id("sha_")).await, "put_agent");
    a
}

/// A conversation active with a fresh agent `a` of queue `q`.
async fn held(store: &Arc<dyn Store>, q: &QueueId) -> (Conversation, Agent) {
    let a = new_agent(store, q, 2).await;
    let c = fixtures::fresh_conversation(q);
    let created = ok(store.create_conversation(&c).await, "create_conversation");
    assert_eq!(created, OpenOutcome::Created(c.clone()));
    let c = ok(store.assign(&c.id, &a.id, fixtures::now()).await, "assign").expect("assigned");
    (c, a)
}

fn transfer(from: &Agent, from_queue: &QueueId, target: TransferTarget) -> Transfer {
    let at = fixtures::now();
    Transfer {
        from_agent: from.id.clone(),
        from_queue: from_queue.clone(),
        target,
        target_name: None,
        note: Some("VIP, asked about a refund".into()),
        started_at: at,
        expires_at: at + Duration::seconds(120),
    }
}

async fn a_transfer_to_a_queue_lands_and_frees_the_first_agent(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let billing = QueueId::new(fixtures::id("q_"));
    let (c, a) = held(store, &q).await;
    let b = new_agent(store, &billing, 1).await;
    let t = transfer(&a, &q, TransferTarget::Queue(billing.clone()));
    let started = ok(store.start_transfer(&c.id, &t).await, "start_transfer").expect("started");
    assert_eq!(
        (started.state, &started.agent_id, &started.queue_id, started.queued_at),
        (ConversationState::Open, &None, &billing, t.started_at),
        "start_transfer: waiting in the target queue"
    );
    assert_eq!(started.transfer.as_ref(), Some(&t), "start_transfer: the transfer is kept, note and all");
    assert_eq!(active_of(store, &a.id).await, 1, "the first agent holds its slot during the transfer");
    let again = transfer(&a, &q, TransferTarget::Queue(billing.clone()));
    assert_eq!(
        ok(store.start_transfer(&c.id, &again).await, "start_transfer (twice)"),
        None,
        "one at a time"
    );
    let waiting = ok(store.waiting_in_queue(&billing, 10).await, "waiting_in_queue");
    assert!(waiting.iter().any(|w| w.id == c.id), "it waits in the target queue");
    assert!(
        ok(store.work_items(&a.id).await, "work_items").is_empty(),
        "no longer in the first agent's list of what it holds"
    );
    let pending = ok(store.pending_transfers_from(&a.id).await, "pending_transfers_from");
    assert_eq!(
        pending.iter().map(|p| &p.id).collect::<Vec<_>>(),
        vec![&c.id],
        "listed as the first agent's pending transfer"
    );
    assert!(ok(store.pending_transfers_from(&b.id).await, "pending_transfers_from").is_empty());

    let taken = ok(store.assign(&c.id, &b.id, fixtures::now()).await, "assign").expect("b takes it");
    assert_eq!(taken.transfer.as_ref(), Some(&t), "still carried until settled");
    // Settled once, however many racers try.
    let racers = (0..4).map(|_| {
        let (store, id, at) = (store.clone(), c.id.clone(), t.started_at);
        tokio::spawn(async move { store.finish_transfer(&id, at).await })
    });
    let results = join_all(racers.collect()).await;
    let finished: Vec<Conversation> = results.into_iter().filter_map(|r| ok(r, "finish_transfer")).collect();
    assert_eq!(finished.len(), 1, "finish_transfer succeeds once");
    assert_eq!(finished[0].transfer, None, "the transfer is dropped");
    assert_eq!(finished[0].agent_id.as_ref(), Some(&b.id));
    assert!(
        ok(store.pending_transfers_from(&a.id).await, "pending_transfers_from").is_empty(),
        "landed: no longer pending"
    );
    assert_eq!(active_of(store, &a.id).await, 0, "landed: the first agent's slot is back");
    assert_eq!(active_of(store, &b.id).await, 1, "the target holds it");
    let fail = ok(store.fail_transfer(&c.id, t.started_at, fixtures::now()).await, "fail_transfer (landed)");
    assert_eq!(fail, None, "a landed transfer does not fail");
}

async fn a_failed_transfer_comes_back_and_frees_the_target(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let (c, a) = held(store, &q).await;
    let b = new_agent(store, &q, 1).await;
    let t = transfer(&a, &q, TransferTarget::Agent(b.id.clone()));
    let started = ok(store.start_transfer(&c.id, &t).await, "start_transfer").expect("started");
    assert_eq!(started.queue_id, q, "a transfer to an agent stays in its queue");
    let at = fixtures::now();
    let offer = Offer { offered_at: at, expires_at: at + Duration::seconds(60) };
    ok(store.offer(&c.id, &b.id, &offer).await, "offer").expect("offered to b");
    assert_eq!((active_of(store, &a.id).await, active_of(store, &b.id).await), (1, 1), "both hold a slot");
    let pending = ok(store.pending_transfers_from(&a.id).await, "pending_transfers_from");
    assert!(pending.iter().any(|p| p.id == c.id), "offered to b: still a's pending transfer");
    assert_eq!(
        ok(store.finish_transfer(&c.id, t.started_at).await, "finish_transfer (offered)"),
        None,
        "an offer is not a landing"
    );
    let stale = t.started_at - Duration::seconds(1);
    assert_eq!(
        ok(store.fail_transfer(&c.id, stale, at).await, "fail_transfer (stale)"),
        None,
        "another transfer"
    );
    let back_at = fixtures::now();
    let racers = (0..4).map(|_| {
        let (store, id, at) = (store.clone(), c.id.clone(), t.started_at);
        tokio::spawn(async move { store.fail_transfer(&id, at, back_at).await })
    });
    let results = join_all(racers.collect()).await;
    let back: Vec<Conversation> = results.into_iter().filter_map(|r| ok(r, "fail_transfer")).collect();
    assert_eq!(back.len(), 1, "fail_transfer succeeds once");
    let back = &back[0];
    assert_eq!(
        (back.state, back.agent_id.as_ref(), &back.queue_id, back.state_changed_at),
        (ConversationState::Active, Some(&a.id), &q, Some(back_at)),
        "back with the first agent"
    );
    assert_eq!((&back.transfer, &back.offer), (&None, &None), "no transfer, no offer");
    assert_eq!((active_of(store, &a.id).await, active_of(store, &b.id).await), (1, 0), "b's slot is back");
    let mine = ok(store.work_items(&a.id).await, "work_items");
    assert!(mine.iter().any(|w| w.id == c.id), "the first agent lists it again");
    assert!(
        ok(store.pending_transfers_from(&a.id).await, "pending_transfers_from").is_empty(),
        "failed: no longer pending"
    );
    assert!(ok(store.work_items(&b.id).await, "work_items").is_empty(), "b does not");
}

async fn a_close_during_a_transfer_gives_every_slot_back(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let (c, a) = held(store, &q).await;
    let b = new_agent(store, &q, 1).await;
    let t = transfer(&a, &q, TransferTarget::Agent(b.id.clone()));
    ok(store.start_transfer(&c.id, &t).await, "start_transfer").expect("started");
    let at = fixtures::now();
    let offer = Offer { offered_at: at, expires_at: at + Duration::seconds(60) };
    ok(store.offer(&c.id, &b.id, &offer).await, "offer").expect("offered to b");
    let closed = ok(store.close(&c.id, fixtures::now(), "customer left").await, "close").expect("closed");
    assert_eq!((closed.state, &closed.transfer), (ConversationState::Closed, &None));
    assert_eq!((active_of(store, &a.id).await, active_of(store, &b.id).await), (0, 0), "every slot is back");
    // A requeue during a transfer to a queue, likewise.
    let (c2, a2) = held(store, &q).await;
    let t2 = transfer(&a2, &q, TransferTarget::Queue(q.clone()));
    ok(store.start_transfer(&c2.id, &t2).await, "start_transfer").expect("started");
    let read = ok(store.get_conversation(&c2.id).await, "get").expect("stored");
    let as_read = (read.state, read.agent_id.as_ref());
    let moved = ok(store.requeue(&c2.id, &q, as_read, fixtures::now()).await, "requeue").expect("requeued");
    assert_eq!(moved.transfer, None, "requeue drops the transfer");
    assert_eq!(active_of(store, &a2.id).await, 0, "and gives the first agent's slot back");
}
