//! Message text: what an agent may send. Parse, don't validate: a [`MessageText`] holds 1 to 1600
//! characters, the cap every provider we support accepts.

use serde::Serialize;
use std::fmt;

/// The longest text smsdesk sends in one message (TeleSign and Twilio cap, Dynamics 365 parity).
pub const MAX_MESSAGE_CHARS: usize = 1600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("is {chars} characters long; the limit is {MAX_MESSAGE_CHARS}")]
    TooLong { chars: usize },
}

#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(input: impl Into<String>) -> Result<Self, TextError> {
        let s = input.into();
        if s.trim().is_empty() {
            return Err(TextError::Empty);
        }
        let chars = s.chars().count();
        if chars > MAX_MESSAGE_CHARS {
            return Err(TextError::TooLong { chars });
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for MessageText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageText({} chars)", self.0.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_up_to_1600_characters_not_bytes() {
        assert!(MessageText::parse("a".repeat(1600)).is_ok());
        assert!(MessageText::parse("é".repeat(1600)).is_ok());
        assert_eq!(MessageText::parse("a".repeat(1601)), Err(TextError::TooLong { chars: 1601 }));
    }

    #[test]
    fn rejects_empty_and_blank() {
        assert_eq!(MessageText::parse(""), Err(TextError::Empty));
        assert_eq!(MessageText::parse("  \n"), Err(TextError::Empty));
    }
}
