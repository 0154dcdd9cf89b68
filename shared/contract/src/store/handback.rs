//! Offline hand-back (issue 10.2) in the store: what an agent holds (offered, active, waiting) goes back to
//! its queue only while that agent still holds it, once, and the slot comes back exactly once; wrap-up and
//! closed conversations stay.

use smsdesk_domain::*;
use smsdesk_ports::Store;
use std::sync::Arc;
use time::Duration;

use super::{join_all, ok};
use crate::fixtures;

async fn active_of(store: &Arc<dyn Store>, id: &AgentId) -> u32 {
    ok(store.get_agent(id).await, "get_agent")
        .map(|a| a.active)
        .unwrap_or_else(|| panic!("agent {id} vanished"))
}

/// `hand_back`: per held state, the conditions on the holder, and racing sweeps.
pub async fn handback_contract(store: Arc<dyn Store>) {
    use ConversationState::*;
    let q = QueueId::new(fixtures::id("q_"));
    let a = fixtures::agent(std::slice::from_ref(&q), 5, Presence::Available);
    let b = fixtures::agent(std::slice::from_ref(&q), 5, Presence::Available);
    for agent in [&a, &b] {
        ok(store.put_agent(agent, &fixtures::id("sha_")).await, "put_agent");
    }
    let new = || async {
        let c = fixtures::fresh_conversation(&q);
        ok(store.create_conversation(&c).await, "create_conversation");
        c
    };
    let t0 = fixtures::now();
    let assigned = |c: &Conversation| {
        let (store, id, agent) = (store.clone(), c.id.clone(), a.id.clone());
        async move { ok(store.assign(&id, &agent, t0).await, "assign").expect("assigned") }
    };

    // Active, waiting and offered: handed back into its queue, open, no agent, the slot given back.
    let active = assigned(&new().await).await;
    let waiting = assigned(&new().await).await;
    ok(store.transition(&waiting.id, Active, Waiting, t0).await, "transition").expect("waiting");
    let offered = new().await;
    let offer = Offer { offered_at: t0, expires_at: t0 + Duration::seconds(60) };
    ok(store.offer(&offered.id, &a.id, &offer).await, "offer").expect("offered");
    let wrapping = assigned(&new().await).await;
    ok(store.transition(&wrapping.id, Active, WrapUp, t0).await, "transition").expect("wrap_up");
    assert_eq!(active_of(&store, &a.id).await, 4, "four held");

    let at = t0 + Duration::seconds(30);
    for c in [&active, &waiting, &offered] {
        let back =
            ok(store.hand_back(&c.id, &a.id, at).await, "hand_back").unwrap_or_else(|| panic!("{c:?}"));
        assert_eq!((back.state, &back.agent_id, &back.queue_id), (Open, &None, &q), "handed back: {back:?}");
        assert_eq!((back.queued_at, &back.offer), (at, &None), "back in line from now, no offer");
        let stored = ok(store.get_conversation(&c.id).await, "get_conversation");
        assert_eq!(stored.as_ref(), Some(&back), "stored as returned");
        assert_eq!(
            ok(store.hand_back(&c.id, &a.id, at).await, "hand_back (again)"),
            None,
            "handed back once"
        );
    }
    assert_eq!(active_of(&store, &a.id).await, 1, "each slot given back once; wrap-up keeps its own");
    let in_line: Vec<ConversationId> =
        ok(store.waiting_in_queue(&q, 10).await, "waiting_in_queue").into_iter().map(|c| c.id).collect();
    for c in [&active, &waiting, &offered] {
        assert!(in_line.contains(&c.id), "waits in its queue: {in_line:?}");
    }
    let items = ok(store.work_items(&a.id).await, "work_items");
    assert_eq!(items.iter().map(|w| &w.id).collect::<Vec<_>>(), vec![&wrapping.id], "only the wrap-up stays");

    // Wrap-up stays; another agent's conversation, and a closed one, are not this agent's to hand back.
    assert_eq!(ok(store.hand_back(&wrapping.id, &a.id, at).await, "hand_back (wrap_up)"), None);
    let others = ok(store.assign(&active.id, &b.id, at).await, "assign to b").expect("b takes it");
    assert_eq!(ok(store.hand_back(&others.id, &a.id, at).await, "hand_back (b's)"), None, "b keeps it");
    assert_eq!(active_of(&store, &b.id).await, 1, "b's slot untouched");
    ok(store.close(&others.id, at, "done").await, "close").expect("closed");
    assert_eq!(ok(store.hand_back(&others.id, &b.id, at).await, "hand_back (closed)"), None, "closed stays");
    assert_eq!(ok(store.hand_back(&ConversationId::new(fixtures::id("c_")), &a.id, at).await, "gone"), None);

    // Racing sweeps: one hands back, the slot comes back once.
    let racing = assigned(&new().await).await;
    let before = active_of(&store, &a.id).await;
    let handles = (0..5)
        .map(|_| {
            let (store, id, agent) = (store.clone(), racing.id.clone(), a.id.clone());
            tokio::spawn(
                async move { ok(store.hand_back(&id, &agent, at).await, "hand_back (race)").is_some() },
            )
        })
        .collect();
    let won = join_all(handles).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "exactly one hand-back: {won:?}");
    assert_eq!(active_of(&store, &a.id).await, before - 1, "one slot back");
}
