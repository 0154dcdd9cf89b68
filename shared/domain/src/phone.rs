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

/// The country calling codes the phone-number library knows (its metadata's `countryCode`s), sorted. ITU
/// codes are prefix-free, so at most one prefix of a number is one of them.
const COUNTRY_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57,
    58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211, 212, 213, 216, 218, 220,
    221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241,
    242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 260, 261, 262, 263,
    264, 265, 266, 267, 268, 269, 290, 291, 297, 298, 299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359,
    370, 371, 372, 373, 374, 375, 376, 377, 378, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500,
    501, 502, 503, 504, 505, 506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672,
    673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808,
    850, 852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965, 966, 967,
    968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

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
        if let Some(phone) = Self::fast_e164(trimmed) {
            return Ok(phone);
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

    /// The fast path for what providers send: `+` and digits, or digits only (TeleSign, Vonage), 8 to 15 of
    /// them, starting with an assigned country calling code. For such input the phone-number library's full
    /// parse (and the metadata it loads) says no more than this: a unit test checks both agree for every
    /// country code. Anything else (spaces, punctuation, unknown codes) takes the full parse.
    fn fast_e164(input: &str) -> Option<Self> {
        let digits = input.strip_prefix('+').unwrap_or(input);
        if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let known = (1..=3)
            .any(|n| digits[..n].parse().is_ok_and(|cc: u16| COUNTRY_CODES.binary_search(&cc).is_ok()));
        known.then(|| Self(format!("+{digits}")))
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

    /// The fast path and the library's full parse agree on every 1- to 3-digit prefix, at the shortest and
    /// longest lengths, with and without `+`.
    #[test]
    fn the_fast_path_agrees_with_the_full_parse_for_every_country_code() {
        assert!(COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]), "sorted, for the binary search");
        for prefix in (1..=999).map(|n: u32| n.to_string()) {
            for len in [8, 11, 15] {
                let digits = format!("{prefix}{}", "5".repeat(len - prefix.len()));
                let full = phonenumber::parse(None, format!("+{digits}")).is_ok();
                for input in [format!("+{digits}"), digits.clone()] {
                    assert_eq!(Phone::fast_e164(&input).is_some(), full, "{input}");
                    if full {
                        assert_eq!(Phone::parse(&input).unwrap().e164(), format!("+{digits}"));
                    }
                }
            }
        }
    }

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
