//! Private notes (issue 13.1): an agent or supervisor who may act on a conversation (or the admin) writes
//! a note for colleagues. It is stored beside the transcript and never reaches the customer: nothing here
//! touches the outbound queue.

use crate::App;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::services::conversations::{self, Need};
use smsdesk_domain::notes::{self, Note};
use smsdesk_domain::*;

/// Adds a note to conversation `id`; 400 naming `text` when it is empty or over-long.
pub async fn add(app: &App, who: &Principal, id: &str, text: &str) -> ApiResult<Note> {
    let text = notes::note_text(text)?;
    let conversation = conversations::authorize(app, who, id, Need::Write).await?;
    let author = conversations::caller(app, who).await?;
    let note = Note {
        id: NoteId::new(app.ids.new_id(NoteId::PREFIX)),
        conversation_id: conversation.id,
        agent_id: author.as_ref().map(|a| a.id.clone()),
        author_name: author.map(|a| a.name).unwrap_or_else(|| "admin".into()),
        text,
        created_at: app.clock.now(),
    };
    app.store.add_note(&note).await?;
    Ok(note)
}
