//! Private notes on conversations: one item each in the conversation's notes partition
//! (`NOTES#<conversation id>`, sort key `NOTE#<created_at as 20-digit ns>#<note id>`), the record inline.
//! A partition of their own, so the change stream's `CONV#`/`MSG#` items never see them.

use async_trait::async_trait;
use smsdesk_domain::notes::Note;
use smsdesk_domain::*;
use smsdesk_ports::{NoteStore, PortResult};

use super::{Cond, DynamoStore, Query};
use crate::attr::{Expr, from_item, record_item, s, sortable};

fn partition(conversation: &ConversationId) -> String {
    format!("NOTES#{conversation}")
}

#[async_trait]
impl NoteStore for DynamoStore {
    async fn add_note(&self, note: &Note) -> PortResult<bool> {
        let mut item = record_item(note)?;
        item.insert("pk".into(), s(partition(&note.conversation_id)));
        item.insert("sk".into(), s(format!("NOTE#{}#{}", sortable(note.created_at), note.id)));
        item.insert("entity".into(), s("note"));
        let mut expr = Expr::new();
        let expression = format!("attribute_not_exists({})", expr.name("pk"));
        self.put(item, Some(Cond { expression, expr })).await
    }

    async fn list_notes(&self, conversation: &ConversationId) -> PortResult<Vec<Note>> {
        let items = self.query(Query::prefix(&partition(conversation), "NOTE#")).await?;
        let mut notes: Vec<Note> = items.iter().map(from_item).collect::<PortResult<_>>()?;
        notes.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(notes)
    }
}
