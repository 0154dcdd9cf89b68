//! Private notes (issue 13.1): what an agent or supervisor writes on a conversation for colleagues. A note
//! is never sent to the customer and never goes through the outbound queue: it is kept beside the
//! transcript, shown there as a note, and exported with the conversation.

use crate::ids::{AgentId, ConversationId, NoteId};
use crate::model::rfc3339;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: NoteId,
    pub conversation_id: ConversationId,
    /// Who wrote it; None: the admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// The writer's name when it was written.
    pub author_name: String,
    pub text: String,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A note's text: surrounding whitespace trimmed, not empty, at most [`MAX_NOTE_CHARS`] characters.
pub fn note_text(raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new("text", "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(FieldError::new("text", format!("at most {MAX_NOTE_CHARS} characters (got {chars})")));
    }
    crate::validation::check_free_text("text", text)?;
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_trimmed_and_neither_empty_nor_over_long() {
        assert_eq!(note_text("  call back at 5  ").unwrap(), "call back at 5");
        assert_eq!(note_text(" \n\t ").unwrap_err().field, "text");
        let longest = "é".repeat(MAX_NOTE_CHARS);
        assert_eq!(note_text(&longest).unwrap(), longest, "counted in characters, not bytes");
        let err = note_text(&format!("{longest}x")).unwrap_err();
        assert_eq!(err.field, "text");
        assert!(err.rule.contains("2000"), "{}", err.rule);
    }
}
