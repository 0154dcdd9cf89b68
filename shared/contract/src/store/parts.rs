//! Parts of multipart inbound texts (issue 9.6): kept until complete, in any order, once each; listed for
//! the timeout while not filed; a filed group answers late and replayed parts apart.

use smsdesk_domain::events::{InboundMessage, MessagePart};
use smsdesk_domain::multipart::group_key;
use smsdesk_domain::{ChannelId, Phone};
use smsdesk_ports::{PartPut, Store};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use super::ok;
use crate::fixtures;

fn part(
    channel: &ChannelId,
    from: &Phone,
    reference: &str,
    id: &str,
    number: u32,
    total: u32,
) -> InboundMessage {
    InboundMessage {
        channel_id: channel.clone(),
        provider_message_id: id.to_string(),
        from: from.clone(),
        to: fixtures::phone(),
        text: format!("part {number} "),
        received_at: fixtures::now(),
        part: Some(MessagePart { reference: reference.to_string(), number, total }),
        media: Vec::new(),
    }
}

fn stored(put: PartPut, what: &str) -> smsdesk_domain::multipart::PartsSoFar {
    match put {
        PartPut::Stored(so_far) => so_far,
        other => panic!("store contract: {what}: expected the parts so far, got {other:?}"),
    }
}

pub async fn parts_contract(store: Arc<dyn Store>) {
    let reuse = Duration::from_secs(600);
    let channel = ChannelId::new(fixtures::id("ch_"));
    let from = fixtures::phone();
    let reference = fixtures::id("ref");
    let t0 = fixtures::now();
    let to = fixtures::phone();
    let mk = |id: &str, number: u32| {
        let mut p = part(&channel, &from, &reference, id, number, 3);
        p.to = to.clone();
        p
    };
    let p3 = mk(&fixtures::id("p3_"), 3);
    let group = group_key(&p3, p3.part.as_ref().expect("part"));
    let p1 = mk(&fixtures::id("p1_"), 1);
    let p2 = mk(&fixtures::id("p2_"), 2);

    // Out of order: 3, then 1 (twice: a replay is kept once), then 2.
    let first = stored(ok(store.put_part(&group, &p3, t0, reuse).await, "put_part"), "first part");
    assert_eq!(first.first_id, p3.provider_message_id, "store contract: the opening part names the group");
    assert_eq!(first.parts, vec![p3.clone()]);
    stored(ok(store.put_part(&group, &p1, t0, reuse).await, "put_part"), "second part");
    let again = stored(ok(store.put_part(&group, &p1, t0, reuse).await, "put_part replay"), "replayed part");
    assert_eq!(again.parts, vec![p1.clone(), p3.clone()], "store contract: parts once each, in part order");
    assert!(!again.is_complete());

    // Listed for the timeout while not filed; not before its time.
    let later = t0 + time::Duration::seconds(61);
    let stale = ok(store.stale_part_groups(later, 100).await, "stale_part_groups");
    assert!(
        stale.iter().any(|g| g.group == group && g.parts.len() == 2),
        "store contract: stale group listed"
    );
    let early = ok(store.stale_part_groups(t0 - time::Duration::seconds(1), 100).await, "stale_part_groups");
    assert!(!early.iter().any(|g| g.group == group), "store contract: a fresh group is not stale");

    // The timeout claims what it listed (parts 1 and 3); a second filer gets that same claim; part 2,
    // coming after the claim, is answered apart, a replay of part 1 as in the text.
    let claim = ok(store.claim_parts(&group, &again.first_id, &[1, 3], t0).await, "claim_parts");
    let claim = claim.expect("store contract: the group's generation is claimed");
    assert_eq!(claim.text.parts, vec![p1.clone(), p3.clone()], "store contract: the claimed parts");
    assert_eq!(claim.text.first_id, again.first_id);
    assert!(claim.apart.is_empty(), "store contract: nothing left out: {claim:?}");
    let second = ok(store.claim_parts(&group, &again.first_id, &[1, 2, 3], t0).await, "claim_parts again");
    assert_eq!(second, Some(claim.clone()), "store contract: a group is claimed once; the claim is kept");
    let late = ok(store.put_part(&group, &p2, t0, reuse).await, "put_part after the claim");
    assert_eq!(late, PartPut::Filed { included: false }, "store contract: a part after the claim is apart");
    let replay = ok(store.put_part(&group, &p1, t0, reuse).await, "put_part replay after the claim");
    assert_eq!(replay, PartPut::Filed { included: true }, "store contract: a claimed part is in the text");
    let other = ok(store.claim_parts(&group, "not-its-generation", &[1], t0).await, "claim_parts");
    assert_eq!(other, None, "store contract: only the group's generation is claimed");

    // Claimed, not filed yet (a crash in between): still listed, and the claim is what a resumed filing
    // gets, with part 2 (stored since) left out of the text.
    let stale = ok(store.stale_part_groups(later, 100).await, "stale_part_groups");
    assert!(stale.iter().any(|g| g.group == group), "store contract: a half-done filing is listed");
    let resumed = ok(store.claim_parts(&group, &again.first_id, &[1, 2, 3], t0).await, "claim_parts resumed");
    let resumed = resumed.expect("store contract: resumed claim");
    assert_eq!(resumed.text.parts, claim.text.parts, "store contract: the claim does not grow");
    assert!(resumed.apart.iter().all(|p| p.provider_message_id == p2.provider_message_id));

    // Filed: no longer listed; a late stranger is not in the text.
    ok(store.parts_filed(&group, &again.first_id).await, "parts_filed");
    ok(store.parts_filed(&group, &again.first_id).await, "parts_filed again");
    let stale = ok(store.stale_part_groups(later, 100).await, "stale_part_groups");
    assert!(!stale.iter().any(|g| g.group == group), "store contract: a filed group is not stale");
    let mut stranger = mk(&fixtures::id("p9_"), 3);
    stranger.part = Some(MessagePart { reference: reference.clone(), number: 4, total: 4 });
    let late = ok(store.put_part(&group, &stranger, t0, reuse).await, "late part");
    assert_eq!(
        late,
        PartPut::Filed { included: false },
        "store contract: a late part is not in the filed text"
    );

    // The reference comes back long after: a fresh group.
    let much_later: OffsetDateTime = t0 + time::Duration::seconds(601);
    let reused = mk(&fixtures::id("p1b_"), 1);
    let fresh =
        stored(ok(store.put_part(&group, &reused, much_later, reuse).await, "reused reference"), "reuse");
    assert_eq!(fresh.first_id, reused.provider_message_id, "store contract: a new generation");
    assert_eq!(fresh.parts, vec![reused], "store contract: the old generation's parts are not mixed in");
}

/// A complete text is claimed whole; a part stored before a claim that did not name it is left out of the
/// text and handed back to be filed on its own.
pub async fn parts_claim_contract(store: Arc<dyn Store>) {
    let reuse = Duration::from_secs(600);
    let channel = ChannelId::new(fixtures::id("ch_"));
    let (from, t0) = (fixtures::phone(), fixtures::now());
    let reference = fixtures::id("ref");
    let p1 = part(&channel, &from, &reference, &fixtures::id("p1_"), 1, 2);
    let p2 = part(&channel, &from, &reference, &fixtures::id("p2_"), 2, 2);
    let group = group_key(&p1, p1.part.as_ref().expect("part"));
    stored(ok(store.put_part(&group, &p1, t0, reuse).await, "put_part"), "first part");
    let whole = stored(ok(store.put_part(&group, &p2, t0, reuse).await, "put_part"), "last part");
    assert!(whole.is_complete());
    // A filer that read the group before part 2 came claims part 1 only.
    let claim = ok(store.claim_parts(&group, &whole.first_id, &[1], t0).await, "claim_parts").expect("claim");
    assert_eq!(claim.text.parts, vec![p1.clone()], "store contract: the text is what the claim named");
    assert_eq!(
        claim.apart,
        vec![p2.clone()],
        "store contract: a stored part the claim left out is handed back"
    );
    assert_eq!(
        ok(store.put_part(&group, &p2, t0, reuse).await, "replay"),
        PartPut::Filed { included: false }
    );

    // A part and a claim at once, round after round: the part is in the claim's text, handed back by the
    // claim, or answered apart; never answered as kept (or as in the text) with the claim not naming it.
    // The claim starts a little later each round, so that it falls at each step of the part's storing.
    for round in 0..16u64 {
        let reference = fixtures::id("race");
        let q1 = part(&channel, &from, &reference, &fixtures::id("q1_"), 1, 3);
        let q2 = part(&channel, &from, &reference, &fixtures::id("q2_"), 2, 3);
        let group = group_key(&q1, q1.part.as_ref().expect("part"));
        let first = stored(ok(store.put_part(&group, &q1, t0, reuse).await, "put_part"), "first part");
        let late_claim = async {
            tokio::time::sleep(Duration::from_micros(round * 500)).await;
            store.claim_parts(&group, &first.first_id, &[1], t0).await
        };
        let (put, claim) = tokio::join!(store.put_part(&group, &q2, t0, reuse), late_claim);
        let put = ok(put, "put_part racing a claim");
        let claim = ok(claim, "claim racing a part").expect("claim");
        assert_eq!(claim.text.parts, vec![q1.clone()], "store contract: round {round}: the claimed text");
        let handed_back = claim.apart.contains(&q2);
        match put {
            PartPut::Filed { included: false } => {}
            PartPut::Stored(_) | PartPut::Filed { included: true } => assert!(
                handed_back,
                "store contract: round {round}: part 2 kept ({put:?}) but not in the claim: it would be lost"
            ),
        }
    }
}
