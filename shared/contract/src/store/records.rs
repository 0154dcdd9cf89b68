//! Contacts and their timeline, consent, dedupe keys and the sandbox outbox.

use smsdesk_domain::*;
use smsdesk_ports::{ContactCreate, IdempotencyRecord, Store};
use std::sync::Arc;
use time::Duration;

use super::{join_all, ok};
use crate::fixtures;

fn sorted(mut v: Vec<Contact>) -> Vec<Contact> {
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

/// Contacts by phone and id, creation only when none has the phone (also under a race), timeline.
pub async fn contacts_contract(store: Arc<dyn Store>) {
    let phone = fixtures::phone();
    let a = fixtures::contact(&phone);
    let b = fixtures::contact(&phone);
    ok(store.put_contact(&a).await, "put_contact");
    ok(store.put_contact(&b).await, "put_contact");
    assert_eq!(ok(store.get_contact(&a.id).await, "get_contact"), Some(a.clone()), "get_contact");
    let missing = ok(store.get_contact(&ContactId::new(fixtures::id("ct_"))).await, "get_contact");
    assert_eq!(missing, None, "an unknown contact is None");
    let both = sorted(ok(store.contacts_by_phone(&phone).await, "contacts_by_phone"));
    assert_eq!(both, sorted(vec![a.clone(), b.clone()]), "contacts_by_phone returns every contact with it");
    let none = ok(store.contacts_by_phone(&fixtures::phone()).await, "contacts_by_phone");
    assert!(none.is_empty(), "a new phone has no contacts");

    let renamed = Contact { name: "Ada King".into(), ..a.clone() };
    ok(store.put_contact(&renamed).await, "put_contact (replace)");
    assert_eq!(
        ok(store.get_contact(&a.id).await, "get_contact"),
        Some(renamed.clone()),
        "put_contact replaces"
    );
    let both = sorted(ok(store.contacts_by_phone(&phone).await, "contacts_by_phone"));
    assert_eq!(both, sorted(vec![renamed.clone(), b.clone()]), "replacing keeps one contact per id");

    let existing =
        ok(store.create_contact_if_none(&fixtures::contact(&phone)).await, "create_contact_if_none");
    match existing {
        ContactCreate::Existing(v) => {
            assert_eq!(
                sorted(v),
                sorted(vec![renamed.clone(), b.clone()]),
                "Existing lists the phone's contacts"
            )
        }
        ContactCreate::Created(c) => {
            panic!("create_contact_if_none created {c:?} though the phone has contacts")
        }
    }

    let fresh_phone = fixtures::phone();
    let fresh = fixtures::contact(&fresh_phone);
    let made = ok(store.create_contact_if_none(&fresh).await, "create_contact_if_none");
    assert_eq!(made, ContactCreate::Created(fresh.clone()), "a phone with no contact gets one");
    let dup =
        ok(store.create_contact_if_none(&fixtures::contact(&fresh_phone)).await, "create_contact_if_none");
    assert_eq!(dup, ContactCreate::Existing(vec![fresh.clone()]), "a second create finds the first");

    create_race_has_one_winner(&store).await;
    timeline_is_idempotent(&store).await;
}

async fn create_race_has_one_winner(store: &Arc<dyn Store>) {
    let phone = fixtures::phone();
    let handles = (0..6)
        .map(|_| {
            let (store, c) = (store.clone(), fixtures::contact(&phone));
            tokio::spawn(async move {
                ok(store.create_contact_if_none(&c).await, "create_contact_if_none (race)")
            })
        })
        .collect();
    let outcomes = join_all(handles).await;
    let created: Vec<&Contact> = outcomes
        .iter()
        .filter_map(|o| match o {
            ContactCreate::Created(c) => Some(c),
            ContactCreate::Existing(_) => None,
        })
        .collect();
    assert_eq!(created.len(), 1, "6 racing creates for one phone: exactly one Created, got {outcomes:?}");
    let winner = created[0].clone();
    for o in &outcomes {
        if let ContactCreate::Existing(v) = o {
            assert_eq!(v, &vec![winner.clone()], "a losing create gets Existing with the winner");
        }
    }
    let stored = ok(store.contacts_by_phone(&phone).await, "contacts_by_phone");
    assert_eq!(stored, vec![winner], "after the race the phone has exactly one contact");
}

async fn timeline_is_idempotent(store: &Arc<dyn Store>) {
    let contact = ContactId::new(fixtures::id("ct_"));
    let t = fixtures::now();
    let late = fixtures::timeline_event(&contact, "conversation_closed", t + Duration::seconds(5));
    let early = fixtures::timeline_event(&contact, "conversation_started", t);
    ok(store.append_timeline(&late).await, "append_timeline");
    ok(store.append_timeline(&early).await, "append_timeline");
    let replay = TimelineEvent { kind: "changed".into(), ..late.clone() };
    ok(store.append_timeline(&replay).await, "append_timeline (replay)");
    let got = ok(store.timeline(&contact).await, "timeline");
    assert_eq!(
        got,
        vec![early.clone(), late],
        "timeline: oldest first, an event id written twice is one entry"
    );
    let none = ok(store.timeline(&ContactId::new(fixtures::id("ct_"))).await, "timeline");
    assert!(none.is_empty(), "a contact with no events has an empty timeline");
    // An id is one entry per contact: the same id on another contact (a conversation linked again to the
    // contact the agent picked) is that contact's own entry.
    let other = ContactId::new(fixtures::id("ct_"));
    let there = TimelineEvent { contact_id: other.clone(), ..early.clone() };
    ok(store.append_timeline(&there).await, "append_timeline (other contact)");
    assert_eq!(ok(store.timeline(&other).await, "timeline"), vec![there], "the other contact has it");
    assert_eq!(ok(store.timeline(&contact).await, "timeline").len(), 2, "the first keeps its own");
}

/// Consent is an append-only log per customer: a change is stored once per id, read back oldest first,
/// and never mixed with another customer's; the state it gives is the latest applicable choice.
pub async fn consent_contract(store: Arc<dyn Store>) {
    use smsdesk_domain::consent::{ConsentCause, ConsentChange, ConsentEvent, opted_out};
    let customer = fixtures::phone();
    let number = fixtures::phone();
    let other_number = fixtures::phone();
    let t = fixtures::now();
    let change = |id: &str, number: Option<&Phone>, event, cause, at| ConsentChange {
        id: format!("{id}:{}", fixtures::run_tag()),
        customer: customer.clone(),
        number: number.cloned(),
        channel_id: Some(ChannelId::new("ch_contract")),
        event,
        cause,
        detail: Some("STOP".into()),
        at,
    };
    let none = ok(store.consent_history(&customer).await, "consent_history");
    assert!(none.is_empty(), "a customer with no changes has an empty history");
    assert!(!opted_out(&none, &number), "nobody is opted out by default");

    let stop = change("stop", Some(&number), ConsentEvent::OptOut, ConsentCause::Keyword, t);
    assert!(ok(store.record_consent(&stop).await, "record_consent"), "a new change is stored");
    assert!(!ok(store.record_consent(&stop).await, "record_consent"), "the same change twice is one entry");
    // Recorded after, but earlier in time: the history is in time order.
    let notice = change(
        "notice",
        Some(&number),
        ConsentEvent::NoticeSent,
        ConsentCause::FirstContact,
        t - Duration::seconds(5),
    );
    assert!(ok(store.record_consent(&notice).await, "record_consent"));
    let all = change("all", None, ConsentEvent::OptOut, ConsentCause::Admin, t + Duration::seconds(1));
    assert!(ok(store.record_consent(&all).await, "record_consent"));
    let history = ok(store.consent_history(&customer).await, "consent_history");
    assert_eq!(history, vec![notice, stop, all], "oldest first, each change once, every field kept");
    assert!(opted_out(&history, &number) && opted_out(&history, &other_number));
    let start = change(
        "start",
        Some(&other_number),
        ConsentEvent::OptIn,
        ConsentCause::Keyword,
        t + Duration::seconds(2),
    );
    ok(store.record_consent(&start).await, "record_consent");
    let history = ok(store.consent_history(&customer).await, "consent_history");
    assert!(!opted_out(&history, &other_number) && opted_out(&history, &number));
    let stranger = ok(store.consent_history(&fixtures::phone()).await, "consent_history");
    assert!(stranger.is_empty(), "other customers unaffected");
}

/// `remember` is true once per key until its ttl passes; `seen` tells whether it is recorded and live.
pub async fn dedupe_contract(store: Arc<dyn Store>) {
    let key = format!("contract:{}", fixtures::run_tag());
    let t = fixtures::now();
    let ttl = std::time::Duration::from_secs(60);
    assert!(!ok(store.seen(&key, t).await, "seen"), "an unknown key is not seen");
    assert!(ok(store.remember(&key, t, ttl).await, "remember"), "first remember is true");
    assert!(
        !ok(store.remember(&key, t + Duration::seconds(1), ttl).await, "remember"),
        "second remember is false"
    );
    assert!(ok(store.seen(&key, t + Duration::seconds(59)).await, "seen"), "seen within the ttl");
    assert!(!ok(store.seen(&key, t + Duration::seconds(61)).await, "seen"), "not seen after the ttl");
    let later = t + Duration::seconds(61);
    assert!(ok(store.remember(&key, later, ttl).await, "remember"), "an expired key can be remembered again");
    assert!(
        ok(store.seen(&key, later + Duration::seconds(30)).await, "seen"),
        "the new ttl counts from then"
    );

    let raced = format!("contract:race:{}", fixtures::run_tag());
    let handles = (0..8)
        .map(|_| {
            let (store, key) = (store.clone(), raced.clone());
            tokio::spawn(async move { ok(store.remember(&key, t, ttl).await, "remember (race)") })
        })
        .collect();
    let firsts = join_all(handles).await.into_iter().filter(|first| *first).count();
    assert_eq!(firsts, 1, "8 racing remembers of one key: exactly one is first");
}

/// Entries come back oldest first.
pub async fn outbox_contract(store: Arc<dyn Store>) {
    let channel = ChannelId::new(fixtures::id("ch_"));
    let t = fixtures::now();
    let second = fixtures::outbox_entry(&channel, t + Duration::milliseconds(5));
    let first = fixtures::outbox_entry(&channel, t);
    ok(store.record_outbox(&second).await, "record_outbox");
    ok(store.record_outbox(&first).await, "record_outbox");
    let all = ok(store.list_outbox().await, "list_outbox");
    let ours: Vec<&OutboxEntry> = all.iter().filter(|e| e.channel_id == channel).collect();
    assert_eq!(ours, vec![&first, &second], "list_outbox: every entry, oldest first");
}

/// `remember_request`: the first request with a key holds it (fingerprint and message id) until its ttl
/// ends, whoever asks again, however many race; keys are independent; an expired key is taken anew.
pub async fn idempotency_contract(store: Arc<dyn Store>) {
    let t = fixtures::now();
    let ttl = std::time::Duration::from_secs(3600);
    let record = |key: &str, fingerprint: &str, at| IdempotencyRecord {
        key: key.to_string(),
        fingerprint: fingerprint.to_string(),
        message_id: MessageId::new(fixtures::id("msg_")),
        at,
    };
    let key = fixtures::id("agent:ag_1:key-");
    let first = record(&key, "print-a", t);
    assert_eq!(ok(store.remember_request(&first, ttl).await, "remember_request"), first, "a new key is held");
    let retry = record(&key, "print-a", t + Duration::seconds(5));
    assert_eq!(
        ok(store.remember_request(&retry, ttl).await, "remember_request"),
        first,
        "a retry with the key gets the first request's record"
    );
    let other = record(&key, "print-b", t + Duration::seconds(6));
    assert_eq!(
        ok(store.remember_request(&other, ttl).await, "remember_request"),
        first,
        "another request with the key gets the first record too (the caller compares fingerprints)"
    );
    let elsewhere = record(&fixtures::id("agent:ag_2:key-"), "print-a", t);
    assert_eq!(
        ok(store.remember_request(&elsewhere, ttl).await, "remember_request"),
        elsewhere,
        "keys are independent"
    );
    let later = record(&key, "print-c", t + Duration::seconds(3601));
    assert_eq!(
        ok(store.remember_request(&later, ttl).await, "remember_request"),
        later,
        "after its ttl a key is taken anew"
    );

    let raced = fixtures::id("agent:ag_3:key-");
    let handles = (0..8)
        .map(|_| {
            let (store, r) = (store.clone(), record(&raced, "print-r", t));
            tokio::spawn(async move { ok(store.remember_request(&r, ttl).await, "remember_request (race)") })
        })
        .collect();
    let held = join_all(handles).await;
    assert!(held.windows(2).all(|w| w[0] == w[1]), "8 racing first requests: all get one record: {held:?}");
}
