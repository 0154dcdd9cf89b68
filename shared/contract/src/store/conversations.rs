//! Conversations: one open per (channel, number, customer), and assignment that keeps agents' `active`
//! counts exact under races.

use smsdesk_domain::*;
use smsdesk_ports::{OpenOutcome, StatusUpdate, Store};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

use super::{join_all, ok};
use crate::fixtures;

/// Creating, finding, touching, linking, closing, waiting order and idleness of conversations.
pub async fn conversations_contract(store: Arc<dyn Store>) {
    one_open_per_customer(&store).await;
    create_races_yield_one(&store).await;
    touch_and_contact_link(&store).await;
    the_first_agent_reply_is_marked_once(&store).await;
    close_is_final(&store).await;
    waiting_oldest_first(&store).await;
    open_listing_finds_idle_ones(&store).await;
    delivery_receipts_are_not_activity(&store).await;
    close_idle_needs_no_activity_since_the_cutoff(&store).await;
    move_takes_the_open_conversation_to_the_new_channel(&store).await;
}

/// Conversations before their queue (keyword menus, bots): `routing` is never waiting, and its changes
/// hold only at the step they were read at.
pub async fn routing_contract(store: Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let target = QueueId::new(fixtures::id("q_"));
    let since = fixtures::now();
    let menu = MenuId::new(fixtures::id("mnu_"));
    let routing = Routing { menus: vec![menu.clone()], bot: None, since, last_input: None, context: None };
    let c = Conversation {
        state: ConversationState::Routing,
        routing: Some(routing.clone()),
        ..fixtures::fresh_conversation(&q)
    };
    assert_eq!(
        create(&store, &c).await,
        OpenOutcome::Created(c.clone()),
        "a routing conversation is Created"
    );
    assert_eq!(get(&store, &c.id).await, c, "it reads back with its routing");
    let found = ok(store.open_conversation(&c.channel_id, &c.channel_number, &c.customer).await, "open");
    assert_eq!(found, Some(c.clone()), "a routing conversation is the customer's open one");
    let waiting = ok(store.waiting_in_queue(&q, 10).await, "waiting_in_queue");
    assert!(waiting.iter().all(|w| w.id != c.id), "a routing conversation is not waiting in any queue");
    let open = ok(store.open_conversations().await, "open_conversations");
    assert!(open.iter().any(|o| o.id == c.id), "open_conversations lists a routing conversation");

    // A step read at another time changes nothing.
    let stale = since - Duration::seconds(5);
    let next = Routing {
        menus: vec![menu.clone(), MenuId::new(fixtures::id("mnu_"))],
        bot: Some(QueueId::new(fixtures::id("q_"))),
        since: since + Duration::seconds(3),
        last_input: Some(MessageId::new(fixtures::id("msg_"))),
        context: None,
    };
    assert_eq!(ok(store.set_routing(&c.id, stale, &next).await, "set_routing (stale)"), None, "stale step");
    assert_eq!(get(&store, &c.id).await, c, "a refused set_routing changes nothing");
    let moved = ok(store.set_routing(&c.id, since, &next).await, "set_routing");
    let expected = Conversation { routing: Some(next.clone()), ..c.clone() };
    assert_eq!(moved.as_ref(), Some(&expected), "set_routing returns the updated conversation");
    assert_eq!(get(&store, &c.id).await, expected, "set_routing is stored");
    let again = ok(store.set_routing(&c.id, since, &routing).await, "set_routing (old step)");
    assert_eq!(again, None, "the step that was just left cannot be moved again");

    // Leaving: refused at a stale step, then into the target queue, with the context; only once.
    let at = since + Duration::seconds(10);
    let refused = ok(store.leave_routing(&c.id, since, &target, None, at).await, "leave_routing (stale)");
    assert_eq!(refused, None, "leave_routing at a stale step is refused");
    let left = ok(store.leave_routing(&c.id, next.since, &target, Some("wants a refund"), at).await, "leave");
    let expected = Conversation {
        state: ConversationState::Open,
        queue_id: target.clone(),
        queued_at: at,
        routing: Some(Routing { context: Some("wants a refund".into()), ..next.clone() }),
        ..c.clone()
    };
    assert_eq!(left.as_ref(), Some(&expected), "leave_routing returns the conversation, open in its queue");
    assert_eq!(get(&store, &c.id).await, expected, "leave_routing is stored");
    let waiting = ok(store.waiting_in_queue(&target, 10).await, "waiting_in_queue");
    assert!(waiting.iter().any(|w| w.id == c.id), "it now waits in the target queue");
    let twice = ok(store.leave_routing(&c.id, next.since, &q, None, at).await, "leave_routing (twice)");
    assert_eq!(twice, None, "an open conversation does not leave routing again");
    let set = ok(store.set_routing(&c.id, next.since, &routing).await, "set_routing (open)");
    assert_eq!(set, None, "set_routing on an open conversation is refused");

    // Without a context, the routing is kept as it was.
    let plain = Conversation {
        state: ConversationState::Routing,
        routing: Some(routing.clone()),
        ..fixtures::fresh_conversation(&q)
    };
    create(&store, &plain).await;
    let left = ok(store.leave_routing(&plain.id, since, &q, None, at).await, "leave_routing (no context)");
    assert_eq!(
        left.and_then(|l| l.routing),
        Some(routing),
        "leave_routing without context keeps the routing"
    );
    let unknown = ConversationId::new(fixtures::id("cv_"));
    assert_eq!(ok(store.set_routing(&unknown, since, &next).await, "set_routing (unknown)"), None);
    assert_eq!(ok(store.leave_routing(&unknown, since, &q, None, at).await, "leave (unknown)"), None);
}

/// Assignment, capacity, close and requeue, alone and under races.
pub async fn assignment_contract(store: Arc<dyn Store>) {
    assign_checks_every_condition(&store).await;
    close_returns_capacity_once(&store).await;
    requeue_frees_the_agent(&store).await;
    work_items_by_recent_activity(&store).await;
    assign_race_has_one_winner(&store).await;
    close_race_has_one_winner(&store).await;
}

async fn create(store: &Arc<dyn Store>, c: &Conversation) -> OpenOutcome {
    ok(store.create_conversation(c).await, "create_conversation")
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

/// Stores an agent serving `queue` and returns it.
async fn new_agent(store: &Arc<dyn Store>, queue: &QueueId, capacity: u32, presence: Presence) -> Agent {
    let a = fixtures::agent(std::slice::from_ref(queue), capacity, presence);
    ok(store.put_agent(&a, &fixtures::id("sha_")).await, "put_agent");
    a
}

/// Stores a fresh waiting conversation in `queue` and returns it.
async fn new_conversation(store: &Arc<dyn Store>, queue: &QueueId) -> Conversation {
    let c = fixtures::fresh_conversation(queue);
    assert_eq!(create(store, &c).await, OpenOutcome::Created(c.clone()), "a fresh conversation is Created");
    c
}

async fn one_open_per_customer(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let c = fixtures::fresh_conversation(&q);
    assert_eq!(create(store, &c).await, OpenOutcome::Created(c.clone()), "first create is Created");
    assert_eq!(get(store, &c.id).await, c, "get_conversation returns it as stored");

    let found = ok(store.open_conversation(&c.channel_id, &c.channel_number, &c.customer).await, "open");
    assert_eq!(found, Some(c.clone()), "open_conversation finds it");
    let other =
        ok(store.open_conversation(&c.channel_id, &c.channel_number, &fixtures::phone()).await, "open");
    assert_eq!(other, None, "another customer has no open conversation");
    let other = ok(store.open_conversation(&c.channel_id, &fixtures::phone(), &c.customer).await, "open");
    assert_eq!(other, None, "the same customer on another number has none");

    let second = Conversation { id: ConversationId::new(fixtures::id("cv_")), ..c.clone() };
    assert_eq!(create(store, &second).await, OpenOutcome::Existing(c.clone()), "second create is Existing");
    let lost = ok(store.get_conversation(&second.id).await, "get_conversation");
    assert_eq!(lost, None, "the refused conversation must not be stored");

    let missing = ok(store.get_conversation(&ConversationId::new(fixtures::id("cv_"))).await, "get");
    assert_eq!(missing, None, "an unknown conversation is None");
}

async fn create_races_yield_one(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let base = fixtures::fresh_conversation(&q);
    let handles = (0..4)
        .map(|_| {
            let store = store.clone();
            let c = Conversation { id: ConversationId::new(fixtures::id("cv_")), ..base.clone() };
            tokio::spawn(async move { ok(store.create_conversation(&c).await, "create_conversation (race)") })
        })
        .collect();
    let outcomes = join_all(handles).await;
    let created: Vec<_> = outcomes.iter().filter(|o| matches!(o, OpenOutcome::Created(_))).collect();
    assert_eq!(created.len(), 1, "racing creates for one customer: exactly one Created, got {outcomes:?}");
    let winner = created[0].conversation().id.clone();
    assert!(
        outcomes.iter().all(|o| o.conversation().id == winner),
        "every racer must get the winner's conversation: {outcomes:?}"
    );
    let open =
        ok(store.open_conversation(&base.channel_id, &base.channel_number, &base.customer).await, "open");
    assert_eq!(open.map(|c| c.id), Some(winner), "the open conversation is the winner");
}

/// `touch_agent_reply` touches as `touch` does and says which call was the conversation's first agent reply:
/// exactly one, whatever the order of the replies' times (a reply whose touch is refused as older still
/// counts when it is the first), and never for a conversation that is gone.
async fn the_first_agent_reply_is_marked_once(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let c = new_conversation(store, &q).await;
    let later = c.last_message_at + Duration::seconds(10);
    ok(store.touch(&c.id, later).await, "touch");
    let earlier = later - Duration::seconds(5);
    assert!(ok(store.touch_agent_reply(&c.id, earlier).await, "touch_agent_reply"), "the first agent reply");
    assert_eq!(get(store, &c.id).await.last_message_at, later, "an older reply does not move it back");
    let latest = later + Duration::seconds(10);
    assert!(
        !ok(store.touch_agent_reply(&c.id, latest).await, "touch_agent_reply"),
        "the second is not first"
    );
    assert_eq!(get(store, &c.id).await.last_message_at, latest, "a newer reply moves last_message_at");

    let other = new_conversation(store, &q).await;
    let at = other.last_message_at + Duration::seconds(1);
    let racing: Vec<_> = (0..4)
        .map(|i| {
            let (store, id) = (store.clone(), other.id.clone());
            tokio::spawn(
                async move { ok(store.touch_agent_reply(&id, at + Duration::seconds(i)).await, "race") },
            )
        })
        .collect();
    let firsts = join_all(racing).await.into_iter().filter(|first| *first).count();
    assert_eq!(firsts, 1, "racing replies: exactly one is the first");
    assert_eq!(
        get(store, &other.id).await.last_message_at,
        at + Duration::seconds(3),
        "the newest time wins"
    );

    let gone = ConversationId::new(fixtures::id("cv_"));
    assert!(!ok(store.touch_agent_reply(&gone, latest).await, "touch_agent_reply (gone)"), "no conversation");
    assert!(ok(store.get_conversation(&gone).await, "get").is_none(), "nothing created");
}

async fn touch_and_contact_link(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let c = new_conversation(store, &q).await;
    let later = c.last_message_at + Duration::seconds(10);
    ok(store.touch(&c.id, later).await, "touch");
    assert_eq!(get(store, &c.id).await.last_message_at, later, "touch moves last_message_at forward");
    ok(store.touch(&c.id, later - Duration::seconds(5)).await, "touch (back)");
    assert_eq!(get(store, &c.id).await.last_message_at, later, "touch never moves last_message_at back");

    let linked = ContactLink::Linked { contact_id: ContactId::new(fixtures::id("ct_")) };
    ok(store.set_contact_link(&c.id, &linked).await, "set_contact_link");
    assert_eq!(get(store, &c.id).await.contact, linked, "set_contact_link stores the link");
    let pick = ContactLink::NeedsPick {
        candidates: vec![ContactId::new(fixtures::id("ct_")), ContactId::new(fixtures::id("ct_"))],
    };
    ok(store.set_contact_link(&c.id, &pick).await, "set_contact_link");
    let got = get(store, &c.id).await;
    assert_eq!(got.contact, pick, "set_contact_link replaces the link");
    assert_eq!(got.state, ConversationState::Open, "linking does not change the state");
}

async fn close_is_final(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let c = new_conversation(store, &q).await;
    let open = ok(store.open_conversations().await, "open_conversations");
    assert!(open.iter().any(|o| o.id == c.id), "open_conversations includes a waiting conversation");

    let at = fixtures::now() + Duration::seconds(1);
    let closed = ok(store.close(&c.id, at, "resolved").await, "close");
    let expected = Conversation {
        state: ConversationState::Closed,
        closed_at: Some(at),
        close_reason: Some("resolved".into()),
        ..c.clone()
    };
    assert_eq!(closed.as_ref(), Some(&expected), "close returns the closed conversation");
    assert_eq!(get(store, &c.id).await, expected, "close is stored");
    assert_eq!(ok(store.close(&c.id, at, "again").await, "close"), None, "closing twice is None");
    assert_eq!(
        get(store, &c.id).await.close_reason.as_deref(),
        Some("resolved"),
        "second close changes nothing"
    );
    let none = ok(store.close(&ConversationId::new(fixtures::id("cv_")), at, "x").await, "close (unknown)");
    assert_eq!(none, None, "closing an unknown conversation is None");

    let open = ok(store.open_conversation(&c.channel_id, &c.channel_number, &c.customer).await, "open");
    assert_eq!(open, None, "a closed conversation is not open");
    let open = ok(store.open_conversations().await, "open_conversations");
    assert!(!open.iter().any(|o| o.id == c.id), "open_conversations excludes closed ones");
    let requeued = ok(store.requeue(&c.id, &q, (ConversationState::Closed, None), at).await, "requeue");
    assert_eq!(requeued, None, "a closed conversation cannot be requeued");

    let next = Conversation { id: ConversationId::new(fixtures::id("cv_")), ..c.clone() };
    assert_eq!(
        create(store, &next).await,
        OpenOutcome::Created(next.clone()),
        "after close, the customer's next text opens a new conversation"
    );
}

async fn waiting_oldest_first(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let t = fixtures::now();
    let mut made = Vec::new();
    for offset in [2, 0, 3, 1] {
        let mut c = fixtures::fresh_conversation(&q);
        c.queued_at = t + Duration::seconds(offset);
        c.created_at = c.queued_at;
        c.last_message_at = c.queued_at;
        create(store, &c).await;
        made.push(c);
    }
    // made[2] (offset 3) closes: it must leave the queue.
    ok(store.close(&made[2].id, t, "spam").await, "close");
    let ids = |v: Vec<Conversation>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let waiting = ids(ok(store.waiting_in_queue(&q, 10).await, "waiting_in_queue"));
    let want = vec![made[1].id.clone(), made[3].id.clone(), made[0].id.clone()];
    assert_eq!(waiting, want, "waiting_in_queue: oldest queued_at first, closed ones excluded");
    let two = ids(ok(store.waiting_in_queue(&q, 2).await, "waiting_in_queue"));
    assert_eq!(two, want[..2].to_vec(), "waiting_in_queue keeps to the limit, oldest first");
    let none = ok(store.waiting_in_queue(&QueueId::new(fixtures::id("q_")), 10).await, "waiting_in_queue");
    assert!(none.is_empty(), "an empty queue has nobody waiting");
}

/// The open conversations whose last message is older than `cutoff`, as auto-close takes them from the
/// timers' listing of open conversations.
async fn idle(store: &Arc<dyn Store>, cutoff: OffsetDateTime) -> Vec<Conversation> {
    let open = ok(store.open_conversations().await, "open_conversations");
    assert!(
        open.iter().all(|c| c.state != ConversationState::Closed),
        "only conversations not closed are listed"
    );
    open.into_iter().filter(|c| c.last_message_at < cutoff).collect()
}

async fn open_listing_finds_idle_ones(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let t0 = fixtures::ancient();
    let at = |offset: i64| t0 + Duration::hours(offset);
    let old = with_times(fixtures::fresh_conversation(&q), at(0));
    let recent = with_times(fixtures::fresh_conversation(&q), at(2));
    let old_closed = with_times(fixtures::fresh_conversation(&q), at(0));
    for c in [&old, &recent, &old_closed] {
        create(store, c).await;
    }
    ok(store.close(&old_closed.id, at(0), "done").await, "close");

    let listed = idle(store, at(1)).await;
    assert!(listed.iter().any(|c| c.id == old.id), "an open conversation idle before the cut-off is listed");
    assert!(!listed.iter().any(|c| c.id == recent.id), "one active after the cut-off is not idle");
    assert!(!listed.iter().any(|c| c.id == old_closed.id), "a closed conversation is not listed");

    ok(store.touch(&old.id, at(3)).await, "touch");
    let idle = idle(store, at(1)).await;
    assert!(!idle.iter().any(|c| c.id == old.id), "a touched conversation is no longer idle");
    // Leave nothing open in the past for later runs sharing the tables.
    for c in [&old, &recent] {
        ok(store.close(&c.id, at(4), "contract cleanup").await, "close");
    }
}

/// The activity rule's store half: an outbound message's status moves (the provider's delivery receipts,
/// landing hours later) never move the conversation's `last_message_at`, so it stays idle for auto-close.
/// (Which messages are activity is the domain's `lifecycle::counts_as_activity`; only those `touch`.)
async fn delivery_receipts_are_not_activity(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let t0 = fixtures::ancient();
    let at = |offset: i64| t0 + Duration::hours(offset);
    let c = with_times(fixtures::fresh_conversation(&q), at(0));
    create(store, &c).await;
    let mut greeting = fixtures::outbound_message(&c, MessageStatus::Queued, at(0));
    greeting.author = Author::System;
    assert!(ok(store.insert_message(&greeting).await, "insert_message"), "the greeting is stored");
    for (status, hours) in [(MessageStatus::Sent, 2), (MessageStatus::Delivered, 3)] {
        let update = StatusUpdate {
            status,
            provider_message_id: Some(format!("pid-{}", greeting.id)),
            error: None,
            at: at(hours),
        };
        assert!(ok(store.advance_status(&greeting.id, &update).await, "advance_status").is_some(), "moved");
    }
    assert_eq!(get(store, &c.id).await.last_message_at, at(0), "a receipt does not move last_message_at");
    let idle = idle(store, at(1)).await;
    assert!(idle.iter().any(|i| i.id == c.id), "a conversation with only receipts since the cut-off is idle");
    let closed = ok(store.close_idle(&c.id, at(1), at(4), "closed after inactivity").await, "close_idle");
    assert!(closed.is_some(), "close_idle closes it: receipts are no activity");
}

/// Auto-close on a fixed clock: a conversation listed idle, then touched by a text after the cut-off, is not
/// closed by `close_idle`; an idle one is, once, with its agent's capacity back.
async fn close_idle_needs_no_activity_since_the_cutoff(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let t0 = fixtures::ancient();
    let at = |offset: i64| t0 + Duration::hours(offset);
    let cutoff = at(24);
    let busy = with_times(fixtures::fresh_conversation(&q), at(0));
    let quiet = with_times(fixtures::fresh_conversation(&q), at(0));
    for c in [&busy, &quiet] {
        create(store, c).await;
    }
    let agent = fixtures::agent(std::slice::from_ref(&q), 2, Presence::Available);
    ok(store.put_agent(&agent, &fixtures::id("tok_")).await, "put_agent");
    ok(store.assign(&quiet.id, &agent.id, at(0)).await, "assign");

    let listed = idle(store, cutoff).await;
    assert!(listed.iter().any(|c| c.id == busy.id) && listed.iter().any(|c| c.id == quiet.id), "both idle");
    // A text is filed after the listing, past the cut-off: the listing is now stale for `busy`.
    let text = fixtures::inbound_message(&busy, &fixtures::id("prov_"), at(30));
    assert_eq!(ok(store.append_message(&text).await, "append_message"), smsdesk_ports::Append::Appended);

    let refused = ok(store.close_idle(&busy.id, cutoff, at(31), "idle").await, "close_idle");
    assert_eq!(refused, None, "activity after the cut-off keeps the conversation open");
    assert_eq!(get(store, &busy.id).await.state, ConversationState::Open, "still waiting, text visible");
    // A touch exactly at the cut-off is activity too (idle means strictly older).
    let edge = with_times(fixtures::fresh_conversation(&q), at(0));
    create(store, &edge).await;
    ok(store.touch(&edge.id, cutoff).await, "touch");
    assert_eq!(
        ok(store.close_idle(&edge.id, cutoff, at(31), "idle").await, "close_idle"),
        None,
        "at the cut-off"
    );

    let closed = ok(store.close_idle(&quiet.id, cutoff, at(31), "idle").await, "close_idle");
    let closed = closed.unwrap_or_else(|| panic!("an idle conversation must close"));
    assert_eq!(
        (closed.state, closed.closed_at, closed.close_reason.as_deref()),
        (ConversationState::Closed, Some(at(31)), Some("idle")),
        "close_idle closes like close"
    );
    let freed = ok(store.get_agent(&agent.id).await, "get_agent").map(|a| a.active);
    assert_eq!(freed, Some(0), "close_idle gives the agent's capacity back");
    assert_eq!(ok(store.close_idle(&quiet.id, cutoff, at(32), "idle").await, "close_idle"), None, "once");
    for c in [&busy, &edge] {
        ok(store.close(&c.id, at(40), "contract cleanup").await, "close");
    }
}

fn with_times(mut c: Conversation, at: OffsetDateTime) -> Conversation {
    c.created_at = at;
    c.queued_at = at;
    c.last_message_at = at;
    c
}

async fn assign_checks_every_condition(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let a = new_agent(store, &q, 1, Presence::Available).await;
    let x = new_conversation(store, &q).await;
    let y = new_conversation(store, &q).await;
    let at = fixtures::now();

    let assigned = ok(store.assign(&x.id, &a.id, at).await, "assign");
    let expected =
        Conversation { state: ConversationState::Active, agent_id: Some(a.id.clone()), ..x.clone() };
    let got = assigned.unwrap_or_else(|| panic!("assign to an available agent with room must succeed"));
    assert_eq!((got.state, &got.agent_id, &got.id), (expected.state, &expected.agent_id, &x.id), "assign");
    let stored = get(store, &x.id).await;
    assert_eq!((stored.state, &stored.agent_id), (ConversationState::Active, &Some(a.id.clone())), "stored");
    let after = agent(store, &a.id).await;
    assert_eq!((after.active, after.last_assigned_at), (1, Some(at)), "assign counts active and stamps time");

    assert_eq!(ok(store.assign(&y.id, &a.id, at).await, "assign"), None, "a full agent is refused");
    assert_eq!(get(store, &y.id).await.state, ConversationState::Open, "refused conversation still waits");
    assert_eq!(agent(store, &a.id).await.active, 1, "a refused assign changes no count");

    let b = new_agent(store, &q, 2, Presence::Available).await;
    assert_eq!(
        ok(store.assign(&x.id, &b.id, at).await, "assign"),
        None,
        "an assigned conversation is refused"
    );
    assert_eq!(agent(store, &b.id).await.active, 0, "refused assign leaves b's count");
    assert_eq!(get(store, &x.id).await.agent_id, Some(a.id.clone()), "x stays with a");

    for presence in [Presence::Away, Presence::Busy, Presence::Offline] {
        let c = new_agent(store, &q, 2, presence).await;
        let refused = ok(store.assign(&y.id, &c.id, at).await, "assign");
        assert_eq!(refused, None, "an agent who is {} is refused", presence.as_str());
        assert_eq!(agent(store, &c.id).await.active, 0, "refused assign leaves the count");
    }
    let unknown_agent = AgentId::new(fixtures::id("ag_"));
    assert_eq!(ok(store.assign(&y.id, &unknown_agent, at).await, "assign"), None, "unknown agent: None");
    let unknown_conv = ConversationId::new(fixtures::id("cv_"));
    assert_eq!(
        ok(store.assign(&unknown_conv, &b.id, at).await, "assign"),
        None,
        "unknown conversation: None"
    );
    assert_eq!(agent(store, &b.id).await.active, 0, "refused assigns leave the count");

    let closed = new_conversation(store, &q).await;
    ok(store.close(&closed.id, at, "spam").await, "close");
    assert_eq!(
        ok(store.assign(&closed.id, &b.id, at).await, "assign"),
        None,
        "a closed conversation is refused"
    );

    let items = ok(store.work_items(&a.id).await, "work_items");
    assert_eq!(items, vec![stored], "work_items lists the agent's conversation");
    assert!(ok(store.work_items(&b.id).await, "work_items").is_empty(), "b has no work items");
}

async fn close_returns_capacity_once(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let a = new_agent(store, &q, 2, Presence::Available).await;
    let x = new_conversation(store, &q).await;
    let y = new_conversation(store, &q).await;
    let at = fixtures::now();
    assert!(ok(store.assign(&x.id, &a.id, at).await, "assign").is_some(), "assign x");
    assert!(ok(store.assign(&y.id, &a.id, at).await, "assign").is_some(), "assign y");
    assert_eq!(agent(store, &a.id).await.active, 2, "two assigned");

    let closed = ok(store.close(&x.id, at, "resolved").await, "close");
    let closed = closed.unwrap_or_else(|| panic!("closing an assigned conversation must succeed"));
    assert_eq!(closed.agent_id, Some(a.id.clone()), "a closed conversation keeps its agent");
    assert_eq!(agent(store, &a.id).await.active, 1, "close gives one active back");
    assert_eq!(ok(store.close(&x.id, at, "resolved").await, "close"), None, "second close is None");
    assert_eq!(agent(store, &a.id).await.active, 1, "closing twice frees only one");

    let items = ok(store.work_items(&a.id).await, "work_items");
    assert_eq!(items.iter().map(|c| &c.id).collect::<Vec<_>>(), vec![&y.id], "work_items skips closed ones");

    ok(store.close(&y.id, at, "resolved").await, "close");
    assert_eq!(agent(store, &a.id).await.active, 0, "both closed: no active left");
    assert!(ok(store.work_items(&a.id).await, "work_items").is_empty(), "no work items left");
    let z = new_conversation(store, &q).await;
    assert!(ok(store.assign(&z.id, &a.id, at).await, "assign").is_some(), "freed capacity can be used");
}

async fn requeue_frees_the_agent(store: &Arc<dyn Store>) {
    let q1 = QueueId::new(fixtures::id("q_"));
    let q2 = QueueId::new(fixtures::id("q_"));
    let a = new_agent(store, &q1, 1, Presence::Available).await;
    let x = new_conversation(store, &q1).await;
    let at = fixtures::now();
    assert!(ok(store.assign(&x.id, &a.id, at).await, "assign").is_some(), "assign");

    let later = at + Duration::seconds(30);
    // Only as read: a requeue decided on another state or agent than the conversation's now moves nothing.
    let other = AgentId::new(fixtures::id("ag_"));
    for stale in [
        (ConversationState::Waiting, Some(&a.id)),
        (ConversationState::Active, Some(&other)),
        (ConversationState::Open, None),
    ] {
        assert_eq!(ok(store.requeue(&x.id, &q2, stale, later).await, "requeue (stale)"), None, "{stale:?}");
    }
    assert_eq!(agent(store, &a.id).await.active, 1, "a stale requeue gives no slot back");
    let requeued =
        ok(store.requeue(&x.id, &q2, (ConversationState::Active, Some(&a.id)), later).await, "requeue");
    let r = requeued.unwrap_or_else(|| panic!("requeue of an assigned conversation must succeed"));
    assert_eq!(r.state, ConversationState::Open, "requeue makes it waiting");
    assert_eq!(r.agent_id, None, "requeue takes it from the agent");
    assert_eq!((&r.queue_id, r.queued_at), (&q2, later), "requeue moves it to the queue at `at`");
    assert_eq!(get(store, &x.id).await, r, "requeue is stored");
    assert_eq!(agent(store, &a.id).await.active, 0, "requeue gives the agent's active back");
    assert!(ok(store.work_items(&a.id).await, "work_items").is_empty(), "requeued: no longer a work item");
    let waiting = ok(store.waiting_in_queue(&q2, 10).await, "waiting_in_queue");
    assert_eq!(waiting.iter().map(|c| &c.id).collect::<Vec<_>>(), vec![&x.id], "waits in the new queue");
    assert!(ok(store.waiting_in_queue(&q1, 10).await, "waiting").is_empty(), "left the old queue");

    // A waiting conversation can be requeued too (transfer to a queue before anyone took it).
    let again =
        ok(store.requeue(&x.id, &q1, (ConversationState::Open, None), later).await, "requeue waiting");
    assert_eq!(again.map(|c| (c.state, c.queue_id)), Some((ConversationState::Open, q1.clone())), "requeue");
    assert_eq!(agent(store, &a.id).await.active, 0, "requeueing a waiting one frees nothing");
    let unknown = ConversationId::new(fixtures::id("cv_"));
    let none = ok(store.requeue(&unknown, &q1, (ConversationState::Open, None), later).await, "requeue");
    assert_eq!(none, None, "requeue of an unknown conversation is None");
}

async fn work_items_by_recent_activity(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let a = new_agent(store, &q, 3, Presence::Available).await;
    let x = new_conversation(store, &q).await;
    let y = new_conversation(store, &q).await;
    let at = fixtures::now();
    for c in [&x, &y] {
        assert!(ok(store.assign(&c.id, &a.id, at).await, "assign").is_some(), "assign");
    }
    let ids = |v: Vec<Conversation>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
    ok(store.touch(&x.id, at + Duration::seconds(5)).await, "touch");
    let items = ids(ok(store.work_items(&a.id).await, "work_items"));
    assert_eq!(items, vec![x.id.clone(), y.id.clone()], "work_items: most recent activity first");
    ok(store.touch(&y.id, at + Duration::seconds(9)).await, "touch");
    let items = ids(ok(store.work_items(&a.id).await, "work_items"));
    assert_eq!(items, vec![y.id.clone(), x.id.clone()], "work_items follows the latest activity");

    let open = ids(ok(store.open_conversations().await, "open_conversations"));
    let (px, py) = (open.iter().position(|i| i == &x.id), open.iter().position(|i| i == &y.id));
    match (px, py) {
        (Some(px), Some(py)) => assert!(py < px, "open_conversations: most recent activity first"),
        _ => panic!("open_conversations must include assigned conversations"),
    }
}

async fn assign_race_has_one_winner(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let a = new_agent(store, &q, 1, Presence::Available).await;
    let mut convs = Vec::new();
    for _ in 0..8 {
        convs.push(new_conversation(store, &q).await);
    }
    let at = fixtures::now();
    let handles = convs
        .iter()
        .map(|c| {
            let (store, cid, aid) = (store.clone(), c.id.clone(), a.id.clone());
            tokio::spawn(async move { ok(store.assign(&cid, &aid, at).await, "assign (race)") })
        })
        .collect();
    let results = join_all(handles).await;
    let winners = results.iter().flatten().count();
    assert_eq!(winners, 1, "8 racing assigns to an agent with capacity 1: exactly one wins");
    assert_eq!(agent(store, &a.id).await.active, 1, "after the race the agent has exactly one active");
    let mut assigned = 0;
    for c in &convs {
        if get(store, &c.id).await.state == ConversationState::Active {
            assigned += 1;
        }
    }
    assert_eq!(assigned, 1, "exactly one conversation is assigned after the race");

    // The same conversation offered to several agents at once goes to one of them.
    let c = new_conversation(store, &q).await;
    let mut agents = Vec::new();
    for _ in 0..4 {
        agents.push(new_agent(store, &q, 2, Presence::Available).await);
    }
    let handles = agents
        .iter()
        .map(|ag| {
            let (store, cid, aid) = (store.clone(), c.id.clone(), ag.id.clone());
            tokio::spawn(async move { ok(store.assign(&cid, &aid, at).await, "assign (race)") })
        })
        .collect();
    let won = join_all(handles).await.into_iter().flatten().count();
    assert_eq!(won, 1, "one conversation offered to 4 agents at once: exactly one gets it");
    let mut total = 0;
    for ag in &agents {
        total += agent(store, &ag.id).await.active;
    }
    assert_eq!(total, 1, "exactly one agent's active grew");
}

async fn close_race_has_one_winner(store: &Arc<dyn Store>) {
    let q = QueueId::new(fixtures::id("q_"));
    let a = new_agent(store, &q, 2, Presence::Available).await;
    let x = new_conversation(store, &q).await;
    let y = new_conversation(store, &q).await;
    let at = fixtures::now();
    for c in [&x, &y] {
        assert!(ok(store.assign(&c.id, &a.id, at).await, "assign").is_some(), "assign");
    }
    let handles = (0..4)
        .map(|_| {
            let (store, cid) = (store.clone(), x.id.clone());
            tokio::spawn(async move { ok(store.close(&cid, at, "race").await, "close (race)") })
        })
        .collect();
    let closed = join_all(handles).await.into_iter().flatten().count();
    assert_eq!(closed, 1, "4 racing closes: exactly one closes");
    assert_eq!(agent(store, &a.id).await.active, 1, "racing closes free exactly one");
}

/// A number moved to another channel: its open conversation goes on there (found under the new channel,
/// no longer under the old one), once; a closed one, or one whose customer already has an open conversation
/// on the new channel's number, stays where it is.
async fn move_takes_the_open_conversation_to_the_new_channel(store: &Arc<dyn Store>) {
    let queue = QueueId::new(fixtures::id("q_"));
    let c = new_conversation(store, &queue).await;
    let to = ChannelId::new(fixtures::id("ch_"));
    let moved = ok(store.move_conversation(&c.id, &to).await, "move_conversation");
    let moved =
        moved.unwrap_or_else(|| panic!("store contract: the open conversation {} did not move", c.id));
    assert_eq!(moved.channel_id, to, "store contract: move_conversation answers the moved conversation");
    assert_eq!(get(store, &c.id).await.channel_id, to, "store contract: the move is stored");
    let found = ok(store.open_conversation(&to, &c.channel_number, &c.customer).await, "open_conversation");
    assert_eq!(found.map(|f| f.id), Some(c.id.clone()), "store contract: found under the new channel");
    let old =
        ok(store.open_conversation(&c.channel_id, &c.channel_number, &c.customer).await, "open_conversation");
    assert_eq!(old, None, "store contract: no longer open under the old channel");
    // The old channel may open a fresh conversation for the customer (the pointer moved, not copied).
    let fresh =
        fixtures::conversation(&c.channel_id, &c.channel_number, &c.customer, &queue, fixtures::now());
    assert!(
        matches!(create(store, &fresh).await, OpenOutcome::Created(_)),
        "store contract: old key is free"
    );
    // Moving again to the same channel changes nothing and answers the conversation.
    let again = ok(store.move_conversation(&c.id, &to).await, "move_conversation again");
    assert_eq!(again.map(|a| a.channel_id), Some(to.clone()), "store contract: a repeated move is a no-op");
    // `fresh` cannot join `to`: the customer has an open conversation on that number there.
    let refused = ok(store.move_conversation(&fresh.id, &to).await, "move_conversation onto a taken key");
    assert_eq!(refused, None, "store contract: one open conversation per channel, number and customer");
    assert_eq!(
        get(store, &fresh.id).await.channel_id,
        c.channel_id,
        "store contract: refused move changes nothing"
    );
    // A closed conversation does not move.
    ok(store.close(&fresh.id, fixtures::now(), "resolved").await, "close");
    let elsewhere = ChannelId::new(fixtures::id("ch_"));
    let closed =
        ok(store.move_conversation(&fresh.id, &elsewhere).await, "move_conversation of a closed one");
    assert_eq!(closed, None, "store contract: a closed conversation does not move");
    let missing = ok(
        store.move_conversation(&ConversationId::new(fixtures::id("cv_")), &elsewhere).await,
        "move_conversation of an unknown one",
    );
    assert_eq!(missing, None, "store contract: an unknown conversation does not move");
}
