//! Private notes on conversations (`notes` table, migration `V11_NOTES`).

use async_trait::async_trait;
use rusqlite::params;
use smsdesk_domain::notes::Note;
use smsdesk_domain::*;
use smsdesk_ports::{NoteStore, PortResult};

use super::EmbeddedStore;
use crate::db::{Cached, sql, to_json, ts};
use crate::rows::all;

#[async_trait]
impl NoteStore for EmbeddedStore {
    async fn add_note(&self, note: &Note) -> PortResult<bool> {
        let (id, conversation, at, body) =
            (note.id.to_string(), note.conversation_id.to_string(), ts(note.created_at), to_json(note)?);
        self.db
            .tx(move |tx| {
                let stored = tx
                    .execute_cached(
                        "INSERT OR IGNORE INTO notes (id, conversation_id, created_at, body) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![id, conversation, at, body],
                    )
                    .map_err(sql)?;
                Ok(stored == 1)
            })
            .await
    }

    async fn list_notes(&self, conversation: &ConversationId) -> PortResult<Vec<Note>> {
        let conversation = conversation.to_string();
        self.db
            .read(move |tx| {
                all(
                    tx,
                    "SELECT body FROM notes WHERE conversation_id = ?1 ORDER BY created_at, id",
                    [conversation],
                )
            })
            .await
    }
}
