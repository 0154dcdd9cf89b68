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

    let done = stored(ok(store.put_part(&group, &p2, t0, reuse).await, "put_part"), "last part");
    assert!(done.is_complete(), "store contract: all three parts: {done:?}");
    assert_eq!(done.assemble().map(|m| m.text), Some("part 1 part 2 part 3 ".to_string()));

    // Filed: no longer stale; a replayed part is known, a late stranger is not.
    ok(store.mark_parts_filed(&group, &done.first_id, t0).await, "mark_parts_filed");
    ok(store.mark_parts_filed(&group, &done.first_id, t0).await, "mark_parts_filed again");
    let stale = ok(store.stale_part_groups(later, 100).await, "stale_part_groups");
    assert!(!stale.iter().any(|g| g.group == group), "store contract: a filed group is not stale");
    let replay = ok(store.put_part(&group, &p2, t0, reuse).await, "put_part after filing");
    assert_eq!(replay, PartPut::Filed { included: true }, "store contract: a replayed part was filed");
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
