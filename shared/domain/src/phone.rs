//! Phone numbers. Every number that enters smsdesk is parsed once into [`Phone`], which can only hold an
//! E.164 number or a short code; nothing else in the codebase handles raw phone strings.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("is empty")]
    Empty,
    #[error("must contain digits only (no '+', spaces or punctuation)")]
    NotDigitsOnly,
    /// Carries the input masked to its last four digits ([`mask`]): a customer's number never lands in an
    /// error message or a log line whole.
    #[error("is not a phone number in international format ({0})")]
    Invalid(String),
    #[error("must have 8 to 15 digits including the country code (or be a short code of 3 to 6 digits)")]
    Length,
}

/// A phone number in E.164 form (`+` then 8 to 15 digits, with a valid country code), or a short code (3 to
/// 6 digits, national, with no E.164 form: support lines such as `12345`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

const SHORT_CODE_MIN: usize = 3;
const SHORT_CODE_MAX: usize = 6;

impl Phone {
    /// Parses a number in international form: `+15551234567`, `15551234567` (as TeleSign and Vonage send it),
    /// or with spaces, dashes and brackets as a person types it. A country code is required.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        if (SHORT_CODE_MIN..=SHORT_CODE_MAX).contains(&trimmed.len())
            && trimmed.chars().all(|c| c.is_ascii_digit())
        {
            return Ok(Self(trimmed.to_string()));
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let allowed = |c: char| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.');
        if !trimmed.chars().all(allowed) || trimmed[1..].contains('+') {
            return Err(PhoneError::Invalid(mask(trimmed)));
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneError::Length);
        }
        let e164 = format!("+{digits}");
        phonenumber::parse(None, &e164).map_err(|e| PhoneError::Invalid(format!("{}: {e}", mask(&e164))))?;
        Ok(Self(e164))
    }

    /// Parses a number given as digits only, country code first, no `+` and no spaces: the form in which
    /// channel numbers are configured (as TeleSign's setup asks).
    pub fn parse_digits(input: &str) -> Result<Self, PhoneError> {
        if input.is_empty() {
            return Err(PhoneError::Empty);
        }
        if !input.chars().all(|c| c.is_ascii_digit()) {
            return Err(PhoneError::NotDigitsOnly);
        }
        Self::parse(input)
    }

    /// `+15551234567` (a short code has no E.164 form: its digits).
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// `15551234567`: the form TeleSign's and Vonage's APIs take.
    pub fn digits(&self) -> &str {
        self.0.trim_start_matches('+')
    }

    pub fn is_short_code(&self) -> bool {
        !self.0.starts_with('+')
    }

    /// The number as logs and error messages show it: its last four digits only (`…0123`).
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks anything that may be a phone number to its last four digits (`…0123`; `…` alone when it has
/// fewer than four). For logs, span fields and error messages.
pub fn mask(raw: &str) -> String {
    let digits: Vec<char> = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return "…".to_string();
    }
    let last: String = digits[digits.len() - 4..].iter().collect();
    format!("…{last}")
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Masked, so that a `{:?}` of anything holding a number (an event, a conversation) logs no number whole.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Phone::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_international_forms_to_e164() {
        for input in ["+15555550100", "15555550100", "+1 (555) 555-0100", " +44 20 7946 0958 "] {
            let p = Phone::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert!(p.e164().starts_with('+'));
        }
        assert_eq!(Phone::parse("15555550100").unwrap().e164(), "+15555550100");
        assert_eq!(Phone::parse("+15555550100").unwrap().digits(), "15555550100");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("12"), Err(PhoneError::Length));
        assert_eq!(Phone::parse("1234567"), Err(PhoneError::Length));
        assert!(matches!(Phone::parse("+1555abc0100"), Err(PhoneError::Invalid(_))));
        assert!(matches!(Phone::parse("1+5555550100"), Err(PhoneError::Invalid(_))));
        assert_eq!(Phone::parse("1234567890123456"), Err(PhoneError::Length));
    }

    #[test]
    fn short_codes_are_digits_without_e164_form() {
        let p = Phone::parse("12345").unwrap();
        assert!(p.is_short_code());
        assert_eq!(p.digits(), "12345");
        assert_eq!(p.e164(), "12345");
        assert!(!Phone::parse("+15555550100").unwrap().is_short_code());
        assert!(matches!(Phone::parse("+12345"), Err(PhoneError::Length)));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Phone>(&json).unwrap(), p);
    }

    #[test]
    fn channel_numbers_are_digits_only() {
        assert!(Phone::parse_digits("15555550100").is_ok());
        assert_eq!(Phone::parse_digits("+15555550100"), Err(PhoneError::NotDigitsOnly));
        assert_eq!(Phone::parse_digits("1 555 555 0100"), Err(PhoneError::NotDigitsOnly));
        assert_eq!(Phone::parse_digits(""), Err(PhoneError::Empty));
    }

    #[test]
    fn masking_keeps_the_last_four_digits_only() {
        let p = Phone::parse("+15555550123").unwrap();
        assert_eq!(p.masked(), "…0123");
        assert_eq!(format!("{p:?}"), "Phone(…0123)");
        assert_eq!(mask("1 (555) 555-0123"), "…0123");
        assert_eq!(mask("123"), "…");
        assert_eq!(mask(""), "…");
        assert_eq!(Phone::parse("12345").unwrap().masked(), "…2345");
        // An invalid input is not echoed whole in the error either.
        let err = Phone::parse("+1555555abc0123").unwrap_err().to_string();
        assert!(!err.contains("555555"), "{err}");
        assert!(err.contains("…0123"), "{err}");
        let err = Phone::parse("+999555550123").unwrap_err().to_string();
        assert!(!err.contains("999555550123"), "{err}");
    }

    #[test]
    fn serde_round_trip_is_e164() {
        let p = Phone::parse("15555550100").unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"+15555550100\"");
        let back: Phone = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        assert!(serde_json::from_str::<Phone>("\"nope\"").is_err());
    }
}
