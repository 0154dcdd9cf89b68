//! Offers (issue 11.4): an offer takes the agent's slot; accept keeps it and makes the conversation
//! `active`; a decline or an expiry gives it back and puts the conversation back in line where it was,
//! remembering who refused; each works once however many racers try.

use smsdesk_domain::offer::Refusal;
use smsdesk_domain::*;
use smsdesk_ports::{OpenOutcome, Store};
use std::sync::Arc;
use time::Duration;

use super::{join_all, ok};
use crate::fixtures;

/// Offer, accept, decline, expiry (missed), and races between them.
pub async fn offers_contract(store: Arc<dyn Store>) {
    offer_takes_a_slot_and_accept_keeps_it(&store).await;
    decline_and_miss_give_the_slot_back_and_keep_the_place_in_line(&store).await;
    a_withdrawn_offer_gives_the_slot_back_and_records_no_refusal(&store).await;
    offer_checks_every_condition(&store).await;
    accept_and_expiry_race_has_one_winner(&store).await;
}

async fn get(store: &Arc<dyn Store>, id: &ConversationId) -> Conversation {
    match ok(store.get_conversation(id).await, "get_conversation") {
        Some(c) => c,
        None => panic!("store contract: conversation {id} vanished"),
    }
}

async fn agent(store: &Arc<dyn Store>, id: &AgentId) -> Agent {
    match ok(store.get_agent(id).await, "get_agent") {
        Some(a) => a,
        None => panic!("store contract: agent {id} vanished"),
    }
}

async fn new_agent(store: &Arc<dyn Store>, queue: &QueueId, capacity: u32) -> Agent {
    let a = fixtures::agent(std::slice::from_ref(queue), capacity, Presence::Available);
    ok(store.put_agent(&a, &fixtures::id("sha_")).await, "put_agent");
    a
}

async fn new_conversation(store: &Arc<dyn Store>, queue: &QueueId) -> Conversation {
    let c = fixtures::fresh_conversation(queue);
    let created = ok(store.create_conversation(&c).await, "create_conversation");
    assert_eq!(created, OpenOutcome::Created(c.clone()), "a fresh conversation is Created");
    c
}

fn offer_at(secs: i64) -> Offer {
    let at = fixtures::now();
    Offer { offered_at: at, expires_at: at + Duration::seconds(secs) }
}

async fn offer_takes_a_slot_and_accept_keeps_it(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let a = new_agent(store, &q, 2).await;
    let c = new_conversation(store, &q).await;
    let offer = offer_at(60);
    let offered =
        ok(store.offer(&c.id, &a.id, &offer).await, "offer").expect("an open conversation is offered");
    assert_eq!(offered.state, ConversationState::Offered, "offer: state offered");
    assert_eq!(offered.agent_id.as_ref(), Some(&a.id), "offer: to the agent");
    assert_eq!(offered.offer.as_ref(), Some(&offer), "offer: the offer is kept");
    assert_eq!(get(store, &c.id).await, offered, "offer: stored as returned");
    let held = agent(store, &a.id).await;
    assert_eq!((held.active, held.last_assigned_at), (1, Some(offer.offered_at)), "the offer takes a slot");
    let waiting = ok(store.waiting_in_queue(&q, 10).await, "waiting_in_queue");
    assert!(waiting.is_empty(), "an offered conversation does not wait in its queue: {waiting:?}");
    let items = ok(store.work_items(&a.id).await, "work_items");
    assert_eq!(
        items.iter().map(|c| &c.id).collect::<Vec<_>>(),
        vec![&c.id],
        "the offer is in the work items"
    );

    let other = new_agent(store, &q, 2).await;
    let wrong = ok(store.accept_offer(&c.id, &other.id, fixtures::now()).await, "accept (other agent)");
    assert_eq!(wrong, None, "only the agent it is offered to accepts");
    assert_eq!(ok(store.offer(&c.id, &other.id, &offer).await, "offer again"), None, "offered once");

    let at = fixtures::now() + Duration::seconds(3);
    let accepted = ok(store.accept_offer(&c.id, &a.id, at).await, "accept").expect("accepted");
    assert_eq!(accepted.state, ConversationState::Active, "accept: active");
    assert_eq!((accepted.offer.as_ref(), accepted.state_changed_at), (None, Some(at)), "accept: no offer");
    assert_eq!(get(store, &c.id).await, accepted, "accept: stored as returned");
    assert_eq!(agent(store, &a.id).await.active, 1, "accept keeps the slot the offer took");
    assert_eq!(ok(store.accept_offer(&c.id, &a.id, at).await, "accept twice"), None, "accepted once");
    let refused = ok(
        store.refuse_offer(&c.id, &a.id, Refusal::Missed, fixtures::past_offers()).await,
        "refuse after accept",
    );
    assert_eq!(refused, None, "an accepted conversation cannot be refused");
    ok(store.close(&c.id, at, "done").await, "close");
    assert_eq!(agent(store, &a.id).await.active, 0, "close gives the slot back");
}

/// An offer taken back because its agent stopped taking work is no refusal: the slot comes back, the place
/// in line is kept, and nothing is recorded against the agent (no refuser, no decline, no miss).
async fn a_withdrawn_offer_gives_the_slot_back_and_records_no_refusal(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let a = new_agent(store, &q, 1).await;
    let c = new_conversation(store, &q).await;
    ok(store.offer(&c.id, &a.id, &offer_at(60)).await, "offer").expect("offered");
    let back = ok(store.refuse_offer(&c.id, &a.id, Refusal::Withdrawn, fixtures::now()).await, "withdraw")
        .expect("withdrawn");
    assert_eq!(
        (back.state, back.agent_id.as_ref(), back.offer.as_ref()),
        (ConversationState::Open, None, None)
    );
    assert_eq!(back.queued_at, c.queued_at, "withdraw: its place in line is kept");
    assert!(back.refused_by.is_empty() && back.declined_by.is_empty(), "no refusal recorded: {back:?}");
    assert_eq!(back.declined_at, None, "no pause");
    assert_eq!(get(store, &c.id).await, back, "withdraw: stored as returned");
    let after = agent(store, &a.id).await;
    assert_eq!((after.active, after.missed_offers), (0, 0), "the slot back, and no miss");
    assert_eq!(
        ok(store.refuse_offer(&c.id, &a.id, Refusal::Withdrawn, fixtures::now()).await, "withdraw twice"),
        None
    );
}

async fn decline_and_miss_give_the_slot_back_and_keep_the_place_in_line(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let a = new_agent(store, &q, 1).await;
    let b = new_agent(store, &q, 1).await;
    let first = new_conversation(store, &q).await;
    let c = new_conversation(store, &q).await;
    ok(store.offer(&c.id, &a.id, &offer_at(60)).await, "offer").expect("offered");
    let declined_at = fixtures::now() + Duration::seconds(2);
    let declined = ok(store.refuse_offer(&c.id, &a.id, Refusal::Declined, declined_at).await, "decline")
        .expect("declined");
    assert_eq!(declined.declined_at, Some(declined_at), "decline: when, for the pause before asking again");
    assert_eq!(declined.state, ConversationState::Open, "decline: back to open");
    assert_eq!((declined.agent_id.as_ref(), declined.offer.as_ref()), (None, None), "decline: no agent");
    assert_eq!(declined.refused_by, vec![a.id.clone()], "decline: the agent is remembered");
    assert_eq!(declined.declined_by, vec![a.id.clone()], "decline: as one who declined, for the pause");
    assert_eq!(declined.queued_at, c.queued_at, "decline: its place in line is kept");
    assert_eq!(get(store, &c.id).await, declined, "decline: stored as returned");
    let after = agent(store, &a.id).await;
    assert_eq!((after.active, after.missed_offers), (0, 0), "a decline gives the slot back and is no miss");
    let waiting: Vec<ConversationId> =
        ok(store.waiting_in_queue(&q, 10).await, "waiting_in_queue").into_iter().map(|c| c.id).collect();
    assert_eq!(waiting, vec![first.id.clone(), c.id.clone()], "waits again, behind the older one");
    assert_eq!(
        ok(store.refuse_offer(&c.id, &a.id, Refusal::Declined, fixtures::now()).await, "decline twice"),
        None,
        "declined once"
    );

    // Missed offers count in a row; an accept starts the count again.
    ok(store.offer(&c.id, &b.id, &offer_at(60)).await, "offer to b").expect("offered to b");
    // An offer is missed only once it ran out: an expiry of an earlier offer, read before this one was
    // made, takes nothing away.
    assert_eq!(
        ok(store.refuse_offer(&c.id, &b.id, Refusal::Missed, fixtures::now()).await, "miss (not run out)"),
        None,
        "an offer that has not run out is not missed"
    );
    let still = get(store, &c.id).await;
    assert_eq!(
        (still.state, still.agent_id.as_ref()),
        (ConversationState::Offered, Some(&b.id)),
        "still offered"
    );
    assert_eq!(agent(store, &b.id).await.missed_offers, 0, "no miss counted");
    let missed = ok(store.refuse_offer(&c.id, &b.id, Refusal::Missed, fixtures::past_offers()).await, "miss")
        .expect("missed");
    assert_eq!(missed.refused_by, vec![a.id.clone(), b.id.clone()], "both refusers are remembered");
    assert_eq!(missed.declined_at, Some(declined_at), "a miss is no decline: the decline's time stays");
    assert_eq!(missed.declined_by, vec![a.id.clone()], "a miss is no decline: b is not paused");
    ok(store.offer(&first.id, &b.id, &offer_at(60)).await, "offer first to b").expect("offered");
    ok(store.refuse_offer(&first.id, &b.id, Refusal::Missed, fixtures::past_offers()).await, "miss again")
        .expect("missed again");
    let b_now = agent(store, &b.id).await;
    assert_eq!((b_now.active, b_now.missed_offers), (0, 2), "two misses in a row");
    ok(store.offer(&c.id, &b.id, &offer_at(60)).await, "offer c to b again").expect("offered again");
    ok(store.accept_offer(&c.id, &b.id, fixtures::now()).await, "accept").expect("accepted");
    let b_now = agent(store, &b.id).await;
    assert_eq!((b_now.active, b_now.missed_offers), (1, 0), "an accept starts the count again");

    // Requeueing into a queue forgets the refusals made in the old one.
    let as_read = (ConversationState::Active, Some(&b.id));
    let moved = ok(store.requeue(&c.id, &q, as_read, fixtures::now()).await, "requeue").expect("requeued");
    assert!(moved.refused_by.is_empty() && moved.offer.is_none(), "requeue: a fresh start {moved:?}");
    assert!(moved.declined_by.is_empty() && moved.declined_at.is_none(), "requeue: no pause {moved:?}");
    assert_eq!(get(store, &c.id).await, moved, "requeue: stored as returned");
}

async fn offer_checks_every_condition(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let full = new_agent(store, &q, 1).await;
    let c1 = new_conversation(store, &q).await;
    let c2 = new_conversation(store, &q).await;
    ok(store.offer(&c1.id, &full.id, &offer_at(60)).await, "offer").expect("offered");
    assert_eq!(ok(store.offer(&c2.id, &full.id, &offer_at(60)).await, "offer (full)"), None, "no free slot");
    let away = fixtures::agent(std::slice::from_ref(&q), 3, Presence::Away);
    ok(store.put_agent(&away, &fixtures::id("sha_")).await, "put_agent");
    assert_eq!(ok(store.offer(&c2.id, &away.id, &offer_at(60)).await, "offer (away)"), None, "not available");
    let ghost = AgentId::new(fixtures::id("ag_"));
    assert_eq!(ok(store.offer(&c2.id, &ghost, &offer_at(60)).await, "offer (no agent)"), None, "no agent");
    let gone = ConversationId::new(fixtures::id("cv_"));
    assert_eq!(ok(store.offer(&gone, &full.id, &offer_at(60)).await, "offer (no conv)"), None, "gone");
    assert_eq!(ok(store.accept_offer(&gone, &full.id, fixtures::now()).await, "accept (gone)"), None, "gone");
    assert_eq!(
        ok(
            store.refuse_offer(&gone, &full.id, Refusal::Missed, fixtures::past_offers()).await,
            "refuse (gone)"
        ),
        None,
        "gone"
    );
    // An offered conversation that closes gives the slot back once, and its offer is over.
    let closed = ok(store.close(&c1.id, fixtures::now(), "customer left").await, "close").expect("closed");
    assert_eq!(
        (closed.state, closed.offer.as_ref()),
        (ConversationState::Closed, None),
        "close ends the offer"
    );
    assert_eq!(agent(store, &full.id).await.active, 0, "closing an offered conversation frees the slot");
    assert_eq!(ok(store.accept_offer(&c1.id, &full.id, fixtures::now()).await, "accept (closed)"), None);
    assert_eq!(agent(store, &full.id).await.active, 0, "nothing more given back");
}

async fn accept_and_expiry_race_has_one_winner(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    for round in 0..4 {
        let a = new_agent(store, &q, 1).await;
        let c = new_conversation(store, &q).await;
        ok(store.offer(&c.id, &a.id, &offer_at(60)).await, "offer").expect("offered");
        let mut handles = Vec::new();
        for i in 0..6 {
            let (store, cid, aid) = (store.clone(), c.id.clone(), a.id.clone());
            handles.push(tokio::spawn(async move {
                if i % 2 == 0 {
                    ok(store.accept_offer(&cid, &aid, fixtures::now()).await, "accept (race)").is_some()
                } else {
                    ok(
                        store.refuse_offer(&cid, &aid, Refusal::Missed, fixtures::past_offers()).await,
                        "refuse (race)",
                    )
                    .is_some()
                }
            }));
        }
        let winners = join_all(handles).await.into_iter().filter(|won| *won).count();
        assert_eq!(winners, 1, "round {round}: accepts racing expiries: exactly one wins");
        let now = get(store, &c.id).await;
        let expected = u32::from(now.state == ConversationState::Active);
        assert_eq!(agent(store, &a.id).await.active, expected, "round {round}: the slot follows the winner");
        ok(store.close(&c.id, fixtures::now(), "done").await, "close");
    }
}
