//! Messages: idempotent insert, transcript order, forward-only status, and a send claimed once.

use smsdesk_domain::*;
use smsdesk_ports::{Append, OpenWith, SendClaim, StatusUpdate, Store};
use std::sync::Arc;
use time::Duration;

use super::{join_all, ok};
use crate::fixtures;

/// Insert (idempotent by id), get, transcript order, lookup by the provider's id.
pub async fn messages_contract(store: Arc<dyn Store>) {
    let conv = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    let t = fixtures::now();
    let first = fixtures::inbound_message(&conv, &fixtures::id("prov_"), t);
    let second = fixtures::outbound_message(&conv, MessageStatus::Queued, t + Duration::seconds(1));
    let third = fixtures::inbound_message(&conv, &fixtures::id("prov_"), t + Duration::seconds(2));
    for m in [&third, &first, &second] {
        assert!(ok(store.insert_message(m).await, "insert_message"), "a new message is stored");
    }
    let changed = Message { text: "a replayed webhook with other text".into(), ..first.clone() };
    assert!(!ok(store.insert_message(&changed).await, "insert_message"), "a known id is not stored twice");
    assert_eq!(
        ok(store.get_message(&first.id).await, "get_message"),
        Some(first.clone()),
        "first write wins"
    );
    let missing = ok(store.get_message(&MessageId::new(fixtures::id("msg_"))).await, "get_message");
    assert_eq!(missing, None, "an unknown message is None");

    let transcript = ok(store.list_messages(&conv.id).await, "list_messages");
    assert_eq!(
        transcript,
        vec![first.clone(), second.clone(), third.clone()],
        "transcript: oldest first, once each"
    );
    let other = ok(store.list_messages(&ConversationId::new(fixtures::id("cv_"))).await, "list_messages");
    assert!(other.is_empty(), "another conversation's transcript is empty");

    // Found by the provider's id once the provider accepted it...
    let provider_id = fixtures::id("ref_");
    let update = StatusUpdate {
        status: MessageStatus::Sent,
        provider_message_id: Some(provider_id.clone()),
        error: None,
        at: t + Duration::seconds(3),
    };
    let sent = ok(store.advance_status(&second.id, &update).await, "advance_status");
    assert!(sent.is_some(), "queued -> sent must succeed");
    let found =
        ok(store.message_by_provider_id(&conv.channel_id, &provider_id).await, "message_by_provider_id");
    assert_eq!(found, sent, "message_by_provider_id finds the message the provider accepted");
    let elsewhere = ChannelId::new(fixtures::id("ch_"));
    let none = ok(store.message_by_provider_id(&elsewhere, &provider_id).await, "message_by_provider_id");
    assert_eq!(none, None, "provider ids are scoped by channel");
    let none =
        ok(store.message_by_provider_id(&conv.channel_id, &fixtures::id("ref_")).await, "by provider id");
    assert_eq!(none, None, "an unknown provider id finds nothing");

    // ...and when it was stored with one already.
    let mut preset = fixtures::outbound_message(&conv, MessageStatus::Sent, t + Duration::seconds(4));
    preset.provider_message_id = Some(fixtures::id("ref_"));
    ok(store.insert_message(&preset).await, "insert_message");
    let pid = preset.provider_message_id.clone().unwrap_or_default();
    let found = ok(store.message_by_provider_id(&conv.channel_id, &pid).await, "message_by_provider_id");
    assert_eq!(found, Some(preset), "message_by_provider_id finds a message stored with its provider id");

    // A reply carrying media keeps the ids of its items, in order, through every read and status move.
    let mut mms = fixtures::outbound_message(&conv, MessageStatus::Queued, t + Duration::seconds(5));
    mms.media = vec![fixtures::id("md_"), fixtures::id("md_")];
    ok(store.insert_message(&mms).await, "insert_message");
    let read = ok(store.get_message(&mms.id).await, "get_message");
    assert_eq!(read.as_ref().map(|m| &m.media), Some(&mms.media), "get_message keeps the media ids");
    let listed = ok(store.list_messages(&conv.id).await, "list_messages");
    let listed = listed.into_iter().find(|m| m.id == mms.id).map(|m| m.media);
    assert_eq!(listed.as_ref(), Some(&mms.media), "list_messages keeps the media ids");
    let refusal = self::update(MessageStatus::Failed, None, Some("refused"), t + Duration::seconds(6));
    let failed = ok(store.advance_status(&mms.id, &refusal).await, "advance_status");
    assert_eq!(failed.map(|m| m.media), Some(mms.media.clone()), "a status move keeps the media ids");
}

fn update(
    status: MessageStatus,
    provider_id: Option<&str>,
    error: Option<&str>,
    at: time::OffsetDateTime,
) -> StatusUpdate {
    StatusUpdate {
        status,
        provider_message_id: provider_id.map(str::to_string),
        error: error.map(str::to_string),
        at,
    }
}

/// Statuses move forward only; the provider id is set once; an error is kept, until a move to `sent` or
/// `delivered` says the provider took the message.
pub async fn status_contract(store: Arc<dyn Store>) {
    let conv = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    let t = fixtures::now();
    let m = fixtures::outbound_message(&conv, MessageStatus::Queued, t);
    ok(store.insert_message(&m).await, "insert_message");

    let t1 = t + Duration::seconds(1);
    let sent = ok(
        store.advance_status(&m.id, &update(MessageStatus::Sent, Some("ref-1"), None, t1)).await,
        "advance",
    );
    let expected = Message {
        status: MessageStatus::Sent,
        provider_message_id: Some("ref-1".into()),
        updated_at: t1,
        ..m.clone()
    };
    assert_eq!(sent, Some(expected.clone()), "queued -> sent sets the status, provider id and updated_at");

    let t2 = t + Duration::seconds(2);
    let again =
        ok(store.advance_status(&m.id, &update(MessageStatus::Sent, None, None, t2)).await, "advance");
    assert_eq!(again, None, "sent -> sent is not forward");
    let delivered = ok(
        store.advance_status(&m.id, &update(MessageStatus::Delivered, Some("ref-2"), None, t2)).await,
        "advance",
    );
    let delivered = delivered.unwrap_or_else(|| panic!("sent -> delivered must succeed"));
    assert_eq!(delivered.status, MessageStatus::Delivered, "sent -> delivered");
    assert_eq!(
        delivered.provider_message_id.as_deref(),
        Some("ref-1"),
        "a set provider id is never replaced"
    );

    let t3 = t + Duration::seconds(3);
    for late in [MessageStatus::Sent, MessageStatus::Queued, MessageStatus::Failed] {
        let back = ok(store.advance_status(&m.id, &update(late, None, Some("late"), t3)).await, "advance");
        assert_eq!(back, None, "delivered -> {late} must be refused");
    }
    let stored = ok(store.get_message(&m.id).await, "get_message");
    assert_eq!(stored, Some(delivered), "refused moves change nothing");

    let f = fixtures::outbound_message(&conv, MessageStatus::Queued, t);
    ok(store.insert_message(&f).await, "insert_message");
    let failed = ok(
        store.advance_status(&f.id, &update(MessageStatus::Failed, None, Some("invalid number"), t1)).await,
        "advance",
    );
    let failed = failed.unwrap_or_else(|| panic!("queued -> failed must succeed"));
    assert_eq!(
        (failed.status, failed.error.as_deref()),
        (MessageStatus::Failed, Some("invalid number")),
        "failed"
    );
    assert_eq!(failed.provider_message_id, None, "no provider id was given");
    for late in [MessageStatus::Delivered, MessageStatus::Sent, MessageStatus::Undelivered] {
        let back = ok(store.advance_status(&f.id, &update(late, Some("ref-x"), None, t3)).await, "advance");
        assert_eq!(back, None, "failed is terminal: failed -> {late} must be refused");
    }
    assert_eq!(ok(store.get_message(&f.id).await, "get_message"), Some(failed), "failed stays failed");

    let unknown = MessageId::new(fixtures::id("msg_"));
    let none =
        ok(store.advance_status(&unknown, &update(MessageStatus::Sent, None, None, t1)).await, "advance");
    assert_eq!(none, None, "advancing an unknown message is None");

    // `unknown` (the provider may have it): never back to queued, settled by a later report.
    let u = fixtures::outbound_message(&conv, MessageStatus::Queued, t);
    ok(store.insert_message(&u).await, "insert_message");
    let marked = ok(
        store.advance_status(&u.id, &update(MessageStatus::Unknown, None, Some("no answer"), t1)).await,
        "advance",
    );
    assert_eq!(marked.map(|m| m.status), Some(MessageStatus::Unknown), "queued -> unknown");
    for back in [MessageStatus::Queued, MessageStatus::Unknown] {
        let refused = ok(store.advance_status(&u.id, &update(back, None, None, t2)).await, "advance");
        assert_eq!(refused, None, "unknown -> {back} must be refused");
    }
    let settled = ok(
        store.advance_status(&u.id, &update(MessageStatus::Delivered, Some("ref-u"), None, t3)).await,
        "advance",
    );
    let settled = settled.unwrap_or_else(|| panic!("unknown -> delivered (a late report) must succeed"));
    assert_eq!(
        (settled.status, settled.provider_message_id.as_deref()),
        (MessageStatus::Delivered, Some("ref-u")),
        "a report settles an unknown message"
    );
    assert_eq!(settled.error, None, "delivered: the note the unknown outcome left goes");

    // An error an earlier attempt left (a 429 retried) goes once the provider takes the message.
    let mut r = fixtures::outbound_message(&conv, MessageStatus::Queued, t);
    r.error = Some("HTTP 429 Too Many Requests".into());
    ok(store.insert_message(&r).await, "insert_message");
    let taken = ok(
        store.advance_status(&r.id, &update(MessageStatus::Sent, Some("ref-r"), None, t1)).await,
        "advance",
    );
    assert_eq!(
        taken.map(|m| (m.status, m.error)),
        Some((MessageStatus::Sent, None)),
        "sent after a retried error: the error goes"
    );
    let stored = ok(store.get_message(&r.id).await, "get_message");
    assert_eq!(stored.and_then(|m| m.error), None, "and stays gone when read back");

    // `advance_status_from`: decided on the caller's copy, checked against what is stored. A stale copy
    // (still `queued`, no provider id) never moves a status back nor replaces a provider id.
    let s = fixtures::outbound_message(&conv, MessageStatus::Queued, t);
    ok(store.insert_message(&s).await, "insert_message");
    let sent = ok(
        store.advance_status_from(&s, &update(MessageStatus::Sent, Some("ref-s1"), None, t1)).await,
        "advance_status_from",
    );
    assert_eq!(
        sent.map(|m| (m.status, m.provider_message_id)),
        Some((MessageStatus::Sent, Some("ref-s1".to_string()))),
        "from a fresh copy: queued -> sent with the provider id"
    );
    let delivered =
        ok(store.advance_status(&s.id, &update(MessageStatus::Delivered, None, None, t2)).await, "advance");
    assert!(delivered.is_some(), "sent -> delivered");
    for late in [MessageStatus::Sent, MessageStatus::Failed, MessageStatus::Queued] {
        let back = ok(
            store.advance_status_from(&s, &update(late, Some("ref-s2"), Some("late"), t3)).await,
            "advance_status_from",
        );
        assert_eq!(back, None, "a stale copy (queued) must not move delivered -> {late}");
    }
    assert_eq!(ok(store.get_message(&s.id).await, "get_message"), delivered, "stale moves change nothing");
    let wrong = ok(store.message_by_provider_id(&conv.channel_id, "ref-s2").await, "by provider id");
    assert_eq!(wrong, None, "a provider id that was never set finds nothing");

    // A stale copy behind a move that is still forward: applied, and the provider id set first is kept.
    let v = fixtures::outbound_message(&conv, MessageStatus::Queued, t);
    ok(store.insert_message(&v).await, "insert_message");
    let first_id = fixtures::id("ref_");
    let other_id = fixtures::id("ref_");
    ok(store.advance_status(&v.id, &update(MessageStatus::Sent, Some(&first_id), None, t1)).await, "advance");
    let moved = ok(
        store.advance_status_from(&v, &update(MessageStatus::Delivered, Some(&other_id), None, t2)).await,
        "advance_status_from",
    );
    assert_eq!(
        moved.map(|m| (m.status, m.provider_message_id)),
        Some((MessageStatus::Delivered, Some(first_id.clone()))),
        "sent -> delivered from a stale copy; the first provider id stays"
    );
    let by_first = ok(store.message_by_provider_id(&conv.channel_id, &first_id).await, "by provider id");
    assert_eq!(by_first.map(|m| m.id), Some(v.id.clone()), "found by the provider id it carries");
    let by_other = ok(store.message_by_provider_id(&conv.channel_id, &other_id).await, "by provider id");
    assert_eq!(by_other, None, "not by the one the stale copy offered");
}

/// `claim_send`: one live claim at a time; a claim never released is not taken over after its lease (its
/// send may have reached the provider) but reported abandoned; `release_send` drops the claim and keeps the
/// error, and only then may the message be claimed again.
pub async fn send_claims_contract(store: Arc<dyn Store>) {
    let conv = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    let t = fixtures::now();
    let lease = std::time::Duration::from_secs(30);
    let m = fixtures::outbound_message(&conv, MessageStatus::Queued, t);
    ok(store.insert_message(&m).await, "insert_message");

    let claimed = match ok(store.claim_send(&m.id, t, lease).await, "claim_send") {
        SendClaim::Claimed(c) => c,
        other => panic!("claiming a queued message with no claim must succeed, got {other:?}"),
    };
    assert_eq!((claimed.id.clone(), claimed.attempts), (m.id.clone(), 1), "a claim counts the attempt");
    let live = ok(store.claim_send(&m.id, t + Duration::seconds(29), lease).await, "claim_send");
    assert_eq!(live, SendClaim::Held, "a live claim refuses a second claimer");
    let expired = ok(store.claim_send(&m.id, t + Duration::seconds(31), lease).await, "claim_send");
    match expired {
        SendClaim::Abandoned(a) => {
            assert_eq!((a.status, a.attempts), (MessageStatus::Queued, 1), "abandoned: unchanged, no attempt")
        }
        other => panic!("a claim past its lease that was never released is abandoned, got {other:?}"),
    }
    let again = ok(store.claim_send(&m.id, t + Duration::seconds(300), lease).await, "claim_send");
    assert!(matches!(again, SendClaim::Abandoned(_)), "an abandoned claim is never taken over: {again:?}");

    // A released claim (the provider certainly did not take it) can be claimed again at once.
    let r = fixtures::outbound_message(&conv, MessageStatus::Queued, t);
    ok(store.insert_message(&r).await, "insert_message");
    assert!(matches!(ok(store.claim_send(&r.id, t, lease).await, "claim_send"), SendClaim::Claimed(_)));
    let t_rel = t + Duration::seconds(2);
    ok(store.release_send(&r.id, "connection refused", t_rel).await, "release_send");
    let after = ok(store.get_message(&r.id).await, "get_message");
    let after = after.unwrap_or_else(|| panic!("message vanished after release_send"));
    assert_eq!(after.status, MessageStatus::Queued, "release_send keeps the message queued");
    assert_eq!(after.error.as_deref(), Some("connection refused"), "release_send keeps the error");
    assert_eq!(after.attempts, 1, "release_send does not count an attempt");
    let retaken = ok(store.claim_send(&r.id, t_rel + Duration::seconds(1), lease).await, "claim_send");
    match retaken {
        SendClaim::Claimed(c) => assert_eq!(c.attempts, 2, "after release_send the claim counts attempt 2"),
        other => panic!("after release_send the message can be claimed at once, got {other:?}"),
    }

    let sent = update(MessageStatus::Sent, Some(&fixtures::id("ref_")), None, t_rel + Duration::seconds(2));
    assert!(ok(store.advance_status(&r.id, &sent).await, "advance_status").is_some(), "queued -> sent");
    let refused = ok(store.claim_send(&r.id, t + Duration::seconds(300), lease).await, "claim_send");
    assert_eq!(refused, SendClaim::NotQueued, "a message that is not queued cannot be claimed");
    let marked = update(MessageStatus::Unknown, None, Some("may have been sent"), t_rel);
    assert!(ok(store.advance_status(&m.id, &marked).await, "advance_status").is_some(), "queued -> unknown");
    let refused = ok(store.claim_send(&m.id, t + Duration::seconds(400), lease).await, "claim_send");
    assert_eq!(refused, SendClaim::NotQueued, "an unknown message is never claimed again");
    let inbound = fixtures::inbound_message(&conv, &fixtures::id("prov_"), t);
    ok(store.insert_message(&inbound).await, "insert_message");
    assert_eq!(
        ok(store.claim_send(&inbound.id, t, lease).await, "claim_send"),
        SendClaim::NotQueued,
        "inbound is not queued"
    );
    let unknown = MessageId::new(fixtures::id("msg_"));
    assert_eq!(
        ok(store.claim_send(&unknown, t, lease).await, "claim_send"),
        SendClaim::NotQueued,
        "unknown message: NotQueued"
    );

    let raced = fixtures::outbound_message(&conv, MessageStatus::Queued, t);
    ok(store.insert_message(&raced).await, "insert_message");
    let handles = (0..8)
        .map(|_| {
            let (store, id) = (store.clone(), raced.id.clone());
            tokio::spawn(async move { ok(store.claim_send(&id, t, lease).await, "claim_send (race)") })
        })
        .collect();
    let outcomes = join_all(handles).await;
    let winners: Vec<Message> = outcomes
        .iter()
        .filter_map(|o| match o {
            SendClaim::Claimed(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "8 racing claims: exactly one wins");
    assert!(
        outcomes.iter().all(|o| matches!(o, SendClaim::Claimed(_) | SendClaim::Held)),
        "the losers see a held claim: {outcomes:?}"
    );
    assert_eq!(winners[0].attempts, 1, "the winner's claim is the first attempt");
    let stored = ok(store.get_message(&raced.id).await, "get_message").map(|x| x.attempts);
    assert_eq!(stored, Some(1), "losing claims count no attempt");
}

/// `queued_before`: outbound messages still `queued`, created before the cutoff, oldest first; a message
/// that moved on (sent, failed) leaves the list; inbound messages are never on it.
pub async fn queued_before_contract(store: Arc<dyn Store>) {
    let conv = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    let t = fixtures::ancient();
    let a = fixtures::outbound_message(&conv, MessageStatus::Queued, t);
    let b = fixtures::outbound_message(&conv, MessageStatus::Queued, t + Duration::seconds(1));
    let late = fixtures::outbound_message(&conv, MessageStatus::Queued, t + Duration::seconds(3));
    let sent = fixtures::outbound_message(&conv, MessageStatus::Sent, t + Duration::milliseconds(500));
    let inbound = fixtures::inbound_message(&conv, &fixtures::id("prov_"), t + Duration::milliseconds(200));
    // Inserted out of order: the list is by creation time, not by insertion.
    for m in [&b, &late, &sent, &inbound, &a] {
        ok(store.insert_message(m).await, "insert_message");
    }
    let ours = [a.id.clone(), b.id.clone(), late.id.clone(), sent.id.clone(), inbound.id.clone()];
    let listed = |found: Vec<Message>| -> Vec<MessageId> {
        found.into_iter().map(|m| m.id).filter(|id| ours.contains(id)).collect()
    };
    let cutoff = t + Duration::seconds(2);
    let found = ok(store.queued_before(cutoff, 1000).await, "queued_before");
    assert!(found.iter().all(|m| m.status == MessageStatus::Queued && m.created_at < cutoff));
    assert_eq!(
        listed(found),
        [a.id.clone(), b.id.clone()],
        "queued outbound messages before the cutoff, oldest first"
    );
    assert!(ok(store.queued_before(cutoff, 1).await, "queued_before").len() <= 1, "the limit holds");

    let moved = update(MessageStatus::Sent, Some(&fixtures::id("ref_")), None, t + Duration::seconds(5));
    assert!(ok(store.advance_status(&a.id, &moved).await, "advance_status").is_some(), "queued -> sent");
    let failed = update(MessageStatus::Failed, None, Some("gave up"), t + Duration::seconds(5));
    assert!(
        ok(store.advance_status(&late.id, &failed).await, "advance_status").is_some(),
        "queued -> failed"
    );
    let found = ok(store.queued_before(t + Duration::seconds(10), 1000).await, "queued_before");
    assert_eq!(listed(found), std::slice::from_ref(&b.id), "sent and failed messages leave the list");
    // A released claim keeps the message queued, and listed.
    let lease = std::time::Duration::from_secs(30);
    assert!(matches!(
        ok(store.claim_send(&b.id, t + Duration::seconds(6), lease).await, "claim_send"),
        SendClaim::Claimed(_)
    ));
    ok(store.release_send(&b.id, "timeout", t + Duration::seconds(7)).await, "release_send");
    let found = ok(store.queued_before(t + Duration::seconds(10), 1000).await, "queued_before");
    let b_now: Vec<Message> = found.into_iter().filter(|m| m.id == b.id).collect();
    assert_eq!(b_now.len(), 1, "a queued message with a released claim is still listed");
    assert_eq!(b_now[0].updated_at, t + Duration::seconds(7), "with its last change");
}

/// A sweep of queued replies running while replies are inserted loses none of them: whatever the insert writes
/// first, a sweep that comes between its writes does not drop the reply from the list.
pub async fn queued_before_during_inserts_contract(store: Arc<dyn Store>) {
    let conv = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    let t = fixtures::ancient();
    let replies: Vec<Message> = (0..40)
        .map(|i| fixtures::outbound_message(&conv, MessageStatus::Queued, t + Duration::milliseconds(i)))
        .collect();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sweeper = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut sweeps = 0u32;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || sweeps == 0 {
                ok(store.queued_before(t + Duration::hours(1), 1000).await, "queued_before");
                sweeps += 1;
                // A pause between sweeps: sweeps still land between the inserts, but a slow emulator is
                // not read without a break (DynamoDB Local holds a table's read lock for every query, and
                // its write lock for every write, while the request waits for its one SQLite thread).
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            sweeps
        })
    };
    join_all(
        replies
            .iter()
            .map(|m| {
                let (store, m) = (store.clone(), m.clone());
                tokio::spawn(async move { ok(store.insert_message(&m).await, "insert_message") })
            })
            .collect(),
    )
    .await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let sweeps = sweeper.await.expect("the sweeper ran");
    let found = ok(store.queued_before(t + Duration::hours(1), 1000).await, "queued_before");
    let missing: Vec<&MessageId> =
        replies.iter().map(|m| &m.id).filter(|id| !found.iter().any(|f| &f.id == *id)).collect();
    assert!(
        missing.is_empty(),
        "{} of 40 replies lost by {sweeps} sweeps during their inserts",
        missing.len()
    );
}

/// `open_with_message`: a customer's first text and the conversation it opens are stored together, once:
/// never a second open conversation for the same customer on the same number, never a message twice, and
/// nothing at all stored when either is refused. Racing openers: exactly one opens, every other is shown it.
pub async fn open_with_message_contract(store: Arc<dyn Store>) {
    let t = fixtures::now();
    let first = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    let text = fixtures::inbound_message(&first, &fixtures::id("prov_"), t + Duration::seconds(3));
    let opened = ok(store.open_with_message(&first, &text).await, "open_with_message");
    assert_eq!(opened, OpenWith::Opened, "a new customer's first text opens the conversation");
    let stored =
        ok(store.get_conversation(&first.id).await, "get_conversation").expect("the conversation is stored");
    assert_eq!(stored.last_message_at, text.created_at, "its activity is its first text's time");
    assert_eq!(stored.state, first.state);
    let open =
        ok(store.open_conversation(&first.channel_id, &first.channel_number, &first.customer).await, "open");
    assert_eq!(open.map(|c| c.id), Some(first.id.clone()), "it is the customer's open conversation");
    let transcript = ok(store.list_messages(&first.id).await, "list_messages");
    assert_eq!(transcript, vec![text.clone()], "with its first text in the transcript");

    // The same customer on the same number again: the open one is answered, nothing is stored.
    let second = Conversation { id: ConversationId::new(fixtures::id("conv_")), ..first.clone() };
    let other_text = fixtures::inbound_message(&second, &fixtures::id("prov_"), t + Duration::seconds(4));
    match ok(store.open_with_message(&second, &other_text).await, "open_with_message") {
        OpenWith::Existing(c) => assert_eq!(c.id, first.id, "the open conversation is the one answered"),
        other => panic!("a second opener for the same customer got {other:?}"),
    }
    assert_eq!(
        ok(store.get_conversation(&second.id).await, "get_conversation"),
        None,
        "no second conversation"
    );
    assert_eq!(ok(store.get_message(&other_text.id).await, "get_message"), None, "and not its text");

    // A text already filed (a replayed delivery) opens nothing, even for another customer's conversation.
    let third = fixtures::fresh_conversation(&first.queue_id);
    let replayed = Message { conversation_id: third.id.clone(), ..text.clone() };
    let outcome = ok(store.open_with_message(&third, &replayed).await, "open_with_message");
    assert_eq!(outcome, OpenWith::Duplicate, "a text already filed is a duplicate");
    assert_eq!(
        ok(store.get_conversation(&third.id).await, "get_conversation"),
        None,
        "nothing opened for it"
    );
    let kept = ok(store.get_message(&text.id).await, "get_message").map(|m| m.conversation_id);
    assert_eq!(kept, Some(first.id.clone()), "the filed text stays where it was");

    // Eight first texts of one customer at once: one conversation, the others told which.
    let racer = fixtures::fresh_conversation(&first.queue_id);
    let results = join_all(
        (0..8)
            .map(|i| {
                let store = store.clone();
                let c = Conversation { id: ConversationId::new(fixtures::id("conv_")), ..racer.clone() };
                let m = fixtures::inbound_message(&c, &fixtures::id("prov_"), t + Duration::milliseconds(i));
                tokio::spawn(async move {
                    let outcome = ok(store.open_with_message(&c, &m).await, "open_with_message");
                    (c.id, outcome)
                })
            })
            .collect(),
    )
    .await;
    let winners: Vec<&ConversationId> =
        results.iter().filter(|(_, o)| *o == OpenWith::Opened).map(|(id, _)| id).collect();
    assert_eq!(winners.len(), 1, "exactly one racer opens the conversation: {results:?}");
    for (id, outcome) in &results {
        match outcome {
            OpenWith::Opened => {}
            OpenWith::Existing(c) => {
                assert_eq!(&c.id, winners[0], "every other racer is shown the one opened")
            }
            OpenWith::Duplicate => panic!("racer {id} with its own text was told it is a duplicate"),
        }
    }
    let open =
        ok(store.open_conversation(&racer.channel_id, &racer.channel_number, &racer.customer).await, "open");
    assert_eq!(open.map(|c| c.id).as_ref(), Some(winners[0]));
    assert_eq!(ok(store.list_messages(winners[0]).await, "list_messages").len(), 1, "with its one text");
}

/// `append_message`: a text goes into an open conversation together with its activity, once, and never into
/// a closed one; racing a close, it is either in the transcript of a conversation that was open when it was
/// filed, or nowhere (for the caller to file into a new conversation).
pub async fn append_contract(store: Arc<dyn Store>) {
    // The texts are an hour ahead of the conversations' creation, so that they stay newer than a conversation
    // created later in the test however slow the store is (the duplicate's check below needs that).
    let t = fixtures::now() + Duration::hours(1);
    let conv = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    ok(store.create_conversation(&conv).await, "create_conversation");
    let first = fixtures::inbound_message(&conv, &fixtures::id("prov_"), t + Duration::seconds(5));
    assert_eq!(ok(store.append_message(&first).await, "append_message"), Append::Appended, "open: appended");
    let stored = ok(store.get_conversation(&conv.id).await, "get_conversation").map(|c| c.last_message_at);
    assert_eq!(stored, Some(first.created_at), "append moves last_message_at to the message's time");
    assert_eq!(ok(store.append_message(&first).await, "append_message"), Append::Duplicate, "same id twice");
    let older = fixtures::inbound_message(&conv, &fixtures::id("prov_"), t + Duration::seconds(1));
    assert_eq!(ok(store.append_message(&older).await, "append_message"), Append::Appended, "older text");
    let stored = ok(store.get_conversation(&conv.id).await, "get_conversation").map(|c| c.last_message_at);
    assert_eq!(stored, Some(first.created_at), "an older message never moves last_message_at back");
    let transcript = ok(store.list_messages(&conv.id).await, "list_messages");
    assert_eq!(transcript, vec![older.clone(), first.clone()], "both are in the transcript, once each");

    // A text of the same time as the conversation's activity (another text of that second, or this text
    // again after a write that moved the conversation and stopped before the message) is filed.
    let same_second = fixtures::inbound_message(&conv, &fixtures::id("prov_"), first.created_at);
    assert_eq!(ok(store.append_message(&same_second).await, "append_message"), Append::Appended, "same time");
    assert!(ok(store.get_message(&same_second.id).await, "get_message").is_some(), "stored");
    let transcript = ok(store.list_messages(&conv.id).await, "list_messages");
    assert_eq!(transcript.len(), 3, "the three texts, once each");

    // A text filed in one conversation and delivered again for another (its first conversation closed,
    // the router opened a new one) is a duplicate, and only in the transcript it was filed in.
    let next = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    ok(store.create_conversation(&next).await, "create_conversation");
    let again = Message { conversation_id: next.id.clone(), ..first.clone() };
    assert_eq!(ok(store.append_message(&again).await, "append_message"), Append::Duplicate, "same id");
    assert_eq!(ok(store.list_messages(&next.id).await, "list_messages"), vec![], "not in the other one");
    let untouched = ok(store.get_conversation(&next.id).await, "get_conversation").map(|c| c.last_message_at);
    assert!(again.created_at > next.last_message_at, "the duplicate is newer than the other conversation");
    assert_eq!(untouched, Some(next.last_message_at), "a duplicate moves no conversation's activity");
    assert_eq!(ok(store.list_messages(&conv.id).await, "list_messages"), transcript, "still in its own");

    ok(store.close(&conv.id, t + Duration::seconds(6), "resolved").await, "close");
    let late = fixtures::inbound_message(&conv, &fixtures::id("prov_"), t + Duration::seconds(7));
    assert_eq!(
        ok(store.append_message(&late).await, "append_message"),
        Append::ConversationClosed,
        "a closed conversation takes no text"
    );
    assert_eq!(ok(store.get_message(&late.id).await, "get_message"), None, "refused: nothing stored");
    assert_eq!(ok(store.list_messages(&conv.id).await, "list_messages").len(), 3, "transcript unchanged");
    let nowhere = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    let orphan = fixtures::inbound_message(&nowhere, &fixtures::id("prov_"), t);
    assert_eq!(
        ok(store.append_message(&orphan).await, "append_message"),
        Append::ConversationClosed,
        "a conversation that does not exist takes no text"
    );

    // A close never dates itself before the conversation's last message.
    let busy = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    ok(store.create_conversation(&busy).await, "create_conversation");
    let recent = fixtures::inbound_message(&busy, &fixtures::id("prov_"), t + Duration::seconds(20));
    assert_eq!(ok(store.append_message(&recent).await, "append_message"), Append::Appended);
    let closed = ok(store.close(&busy.id, t + Duration::seconds(19), "resolved").await, "close");
    assert_eq!(
        closed.and_then(|c| c.closed_at),
        Some(recent.created_at),
        "closed_at is never before the last message filed"
    );

    // Close racing appends: every text either landed while the conversation was open, or was refused.
    for round in 0..4 {
        let conv = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
        ok(store.create_conversation(&conv).await, "create_conversation");
        let texts: Vec<Message> = (0..4)
            .map(|i| fixtures::inbound_message(&conv, &fixtures::id("prov_"), t + Duration::seconds(10 + i)))
            .collect();
        let closer = {
            let (store, id) = (store.clone(), conv.id.clone());
            tokio::spawn(
                async move { ok(store.close(&id, t + Duration::seconds(12), "race").await, "close") },
            )
        };
        let appends: Vec<_> = texts
            .iter()
            .map(|m| {
                let (store, m) = (store.clone(), m.clone());
                tokio::spawn(async move { ok(store.append_message(&m).await, "append_message (race)") })
            })
            .collect();
        let outcomes = join_all(appends).await;
        assert!(join_all(vec![closer]).await[0].is_some(), "round {round}: the close went through");
        let closed_at =
            ok(store.get_conversation(&conv.id).await, "get_conversation").and_then(|c| c.closed_at);
        for (m, outcome) in texts.iter().zip(&outcomes) {
            let stored = ok(store.get_message(&m.id).await, "get_message");
            match outcome {
                Append::Appended => {
                    assert!(stored.is_some(), "round {round}: appended means stored");
                    assert!(closed_at >= Some(m.created_at), "round {round}: filed before the close");
                }
                Append::ConversationClosed => {
                    assert_eq!(stored, None, "round {round}: refused means not stored")
                }
                Append::Duplicate => panic!("round {round}: fresh ids are never duplicates"),
            }
        }
    }
}
