//! The change feed contract ([`ChangeFeed`]): every write to a conversation or a message, and every note added, appears once, in
//! commit order, with a sequence number that only grows; a conversation's change says who had it before;
//! a reader resumes after the last number it saw and misses nothing.

use crate::fixtures::{agent, fresh_conversation, now, outbound_message, work_queue};
use smsdesk_domain::{MessageStatus, Presence};
use smsdesk_ports::{ChangeEntity, ChangeFeed, OpenOutcome, StatusUpdate, Store};
use std::sync::Arc;

fn ok<T>(r: smsdesk_ports::PortResult<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("change feed contract: {what} failed: {e}"),
    }
}

/// Runs the change feed suite against a store and the feed of its writes (the embedded store is its own
/// feed; in AWS the feed is filled from the table's stream).
pub async fn changes_contract<S: Store + 'static, F: ChangeFeed + ?Sized>(store: Arc<S>, feed: &F) {
    let start = ok(feed.changes_after(i64::MAX - 1, 1).await, "reading the head").head;
    let queue = work_queue();
    ok(store.put_queue(&queue).await, "put queue");
    let ada = agent(std::slice::from_ref(&queue.id), 2, Presence::Available);
    ok(store.put_agent(&ada, &crate::fixtures::id("tok")).await, "put agent");

    let conversation = fresh_conversation(&queue.id);
    let OpenOutcome::Created(conversation) = ok(store.create_conversation(&conversation).await, "create")
    else {
        panic!("change feed contract: a fresh conversation was not created");
    };
    let assigned = ok(store.assign(&conversation.id, &ada.id, now()).await, "assign")
        .expect("change feed contract: the conversation is assigned");
    let mut reply = outbound_message(&assigned, MessageStatus::Queued, now());
    reply.agent_id = Some(ada.id.clone());
    assert!(ok(store.insert_message(&reply).await, "insert message"));
    let update = StatusUpdate {
        status: MessageStatus::Sent,
        provider_message_id: Some("p-1".into()),
        error: None,
        at: now(),
    };
    ok(store.advance_status(&reply.id, &update).await, "advance status");
    let note = smsdesk_domain::notes::Note {
        id: smsdesk_domain::NoteId::new(crate::fixtures::id("nt_")),
        conversation_id: conversation.id.clone(),
        agent_id: Some(ada.id.clone()),
        author_name: "Ada".into(),
        text: "Private: refund approved".into(),
        created_at: now(),
    };
    assert!(ok(store.add_note(&note).await, "add note"));

    let page = ok(feed.changes_after(start, 1000).await, "reading the feed");
    let ours: Vec<_> = page.changes.iter().filter(|c| c.conversation_id == conversation.id).collect();
    let seqs: Vec<i64> = page.changes.iter().map(|c| c.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "change feed contract: sequence numbers grow: {seqs:?}");
    assert!(page.head >= *seqs.last().unwrap_or(&0), "change feed contract: the head is the newest number");
    assert!(!page.gap_after(start), "change feed contract: nothing the reader has not seen is gone");

    let created = ours.first().expect("change feed contract: the new conversation is a change");
    assert_eq!(created.entity, ChangeEntity::Conversation);
    assert_eq!(created.data["state"], "open");
    assert_eq!(created.data["queue_id"], queue.id.as_str());

    let taken = ours
        .iter()
        .find(|c| c.entity == ChangeEntity::Conversation && c.data["state"] == "active")
        .expect("change feed contract: the assignment is a change");
    assert_eq!(taken.data["agent_id"], ada.id.as_str());
    assert_eq!(taken.data["before"]["state"], "open", "the change says what it was before");
    assert!(taken.data["before"]["agent_id"].is_null());

    let statuses: Vec<&str> = ours
        .iter()
        .filter(|c| c.entity == ChangeEntity::Message && c.id == reply.id.as_str())
        .filter_map(|c| c.data["status"].as_str())
        .collect();
    assert_eq!(statuses.first(), Some(&"queued"), "the message's insert is a change: {statuses:?}");
    assert_eq!(statuses.last(), Some(&"sent"), "its status update is a change: {statuses:?}");
    let noted = ours
        .iter()
        .find(|c| c.entity == ChangeEntity::Note && c.id == note.id.as_str())
        .expect("change feed contract: a note added is a change");
    assert_eq!(noted.data["agent_id"], ada.id.as_str(), "the note's author");
    for change in &ours {
        let body = change.data.to_string();
        assert!(
            !body.contains(conversation.customer.e164())
                && !body.contains("How can I help")
                && !body.contains("refund approved"),
            "change feed contract: no phone number or text in a change: {body}"
        );
    }

    // A reader that saw up to the assignment resumes with exactly what came after it.
    let resumed = ok(feed.changes_after(taken.seq, 1000).await, "resuming");
    assert_eq!(resumed.changes.first().map(|c| c.seq), Some(taken.seq + 1), "resuming misses nothing");
    assert_eq!(resumed.changes.last().map(|c| c.seq), page.changes.last().map(|c| c.seq));
    // A limit pages the feed.
    let one = ok(feed.changes_after(start, 1).await, "a page of one");
    assert_eq!(one.changes.len(), 1);
    // A number from beyond the head (another database) is a gap: the reader must reload.
    assert!(page.gap_after(page.head + 5), "change feed contract: a number beyond the head is a gap");
}
