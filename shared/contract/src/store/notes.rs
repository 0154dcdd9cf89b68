//! Private notes on conversations.

use smsdesk_domain::notes::Note;
use smsdesk_domain::*;
use smsdesk_ports::Store;
use std::sync::Arc;
use time::Duration;

use super::ok;
use crate::fixtures;

fn note(conversation: &ConversationId, at: time::OffsetDateTime, text: &str) -> Note {
    Note {
        id: NoteId::new(fixtures::id("nt_")),
        conversation_id: conversation.clone(),
        agent_id: Some(AgentId::new(fixtures::id("ag_"))),
        author_name: "Ada".into(),
        text: text.into(),
        created_at: at,
    }
}

/// A note is stored once by id (a retry changes nothing); a conversation's notes come back whole, oldest
/// first, and only its own.
pub async fn notes_contract(store: Arc<dyn Store>) {
    let conversation = ConversationId::new(fixtures::id("cv_"));
    let other = ConversationId::new(fixtures::id("cv_"));
    let t = fixtures::now();
    let later = note(&conversation, t + Duration::milliseconds(5), "called back, no answer");
    let first = note(&conversation, t, "VIP: wants a quote — ‘12 seats’");
    let admins = Note { agent_id: None, author_name: "admin".into(), ..note(&other, t, "someone else's") };
    assert!(ok(store.add_note(&later).await, "add_note"), "a new note is stored");
    assert!(ok(store.add_note(&first).await, "add_note"), "a new note is stored");
    assert!(ok(store.add_note(&admins).await, "add_note"), "a new note is stored");
    let again = Note { text: "changed on retry".into(), ..first.clone() };
    assert!(!ok(store.add_note(&again).await, "add_note"), "the same id again is not stored twice");
    let notes = ok(store.list_notes(&conversation).await, "list_notes");
    assert_eq!(notes, vec![first, later], "list_notes: the conversation's notes, oldest first, unchanged");
    assert_eq!(ok(store.list_notes(&other).await, "list_notes"), vec![admins], "a note without an agent");
    let none = ok(store.list_notes(&ConversationId::new(fixtures::id("cv_"))).await, "list_notes");
    assert!(none.is_empty(), "a conversation without notes has none");
}
