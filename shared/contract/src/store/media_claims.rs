//! Media claims: each uploaded item goes out with exactly one reply.

use smsdesk_domain::*;
use smsdesk_ports::{MediaClaim, Store};
use std::sync::Arc;

use super::{join_all, ok};
use crate::fixtures;

fn message() -> MessageId {
    MessageId::new(fixtures::id("msg_"))
}

/// The first claim of an item wins; the same message claiming again is never refused; another message is
/// refused naming the item and its holder, and claims nothing (all or nothing); items are per
/// conversation; of concurrent claims of one item by different messages exactly one wins.
pub async fn media_claims_contract(store: Arc<dyn Store>) {
    let conversation = ConversationId::new(fixtures::id("cv_"));
    let (a, b, c) = (fixtures::id("md_"), fixtures::id("md_"), fixtures::id("md_"));
    let t = fixtures::now();
    let (first, second, third) = (message(), message(), message());

    let claimed =
        ok(store.claim_media(&conversation, &[a.clone(), b.clone()], &first, t).await, "claim_media");
    assert_eq!(claimed, MediaClaim::Claimed, "free items are claimed");
    let again = ok(store.claim_media(&conversation, &[a.clone(), b.clone()], &first, t).await, "claim_media");
    assert_eq!(again, MediaClaim::Claimed, "the same message claiming again (a retry) is not refused");
    let some = ok(store.claim_media(&conversation, std::slice::from_ref(&b), &first, t).await, "claim_media");
    assert_eq!(some, MediaClaim::Claimed, "nor claiming some of its items again");

    // Another message naming a free item and a claimed one: refused, naming the claimed one and its holder,
    // and the free one stays free.
    let refused =
        ok(store.claim_media(&conversation, &[c.clone(), b.clone()], &second, t).await, "claim_media");
    assert_eq!(refused, MediaClaim::Taken { media_id: b.clone(), message: first.clone() });
    let free = ok(store.claim_media(&conversation, std::slice::from_ref(&c), &third, t).await, "claim_media");
    assert_eq!(free, MediaClaim::Claimed, "a refused claim claimed nothing");
    let taken =
        ok(store.claim_media(&conversation, std::slice::from_ref(&c), &second, t).await, "claim_media");
    assert_eq!(taken, MediaClaim::Taken { media_id: c.clone(), message: third.clone() });

    // An id named twice counts once; nothing named claims nothing.
    let d = fixtures::id("md_");
    let twice =
        ok(store.claim_media(&conversation, &[d.clone(), d.clone()], &second, t).await, "claim_media");
    assert_eq!(twice, MediaClaim::Claimed, "an id named twice is claimed once");
    let none = ok(store.claim_media(&conversation, &[], &second, t).await, "claim_media");
    assert_eq!(none, MediaClaim::Claimed, "nothing named: nothing to refuse");

    // Claims are per conversation.
    let elsewhere = ConversationId::new(fixtures::id("cv_"));
    let other = ok(store.claim_media(&elsewhere, std::slice::from_ref(&a), &second, t).await, "claim_media");
    assert_eq!(other, MediaClaim::Claimed, "the same id in another conversation is another item");

    // Concurrent replies naming one upload: exactly one gets it, the others are told which message did.
    let contested = fixtures::id("md_");
    let contenders: Vec<MessageId> = (0..8).map(|_| message()).collect();
    let handles = contenders
        .iter()
        .map(|m| {
            let (store, conversation, media, m) =
                (store.clone(), conversation.clone(), vec![contested.clone()], m.clone());
            tokio::spawn(
                async move { ok(store.claim_media(&conversation, &media, &m, t).await, "claim_media") },
            )
        })
        .collect();
    let outcomes = join_all(handles).await;
    let winners: Vec<&MessageId> = contenders
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == MediaClaim::Claimed)
        .map(|(m, _)| m)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one concurrent claim wins: {outcomes:?}");
    let expected = MediaClaim::Taken { media_id: contested.clone(), message: winners[0].clone() };
    assert!(
        outcomes.iter().all(|o| *o == MediaClaim::Claimed || *o == expected),
        "every other one names the item and the winner: {outcomes:?}"
    );
}
