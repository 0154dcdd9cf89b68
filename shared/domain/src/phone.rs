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
        if let Some(answer) = Self::digits_form(trimmed) {
            return answer;
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

    /// A number stored or queued by smsdesk itself (`+` and 8 to 15 digits, or a short code's digits: what
    /// [`Phone::e164`] gives): checked for that form and for its country calling code from [`COUNTRY_CODES`],
    /// without the phone-number library's metadata (which it loads and compiles on the first full parse:
    /// ~90 ms of a Lambda function's first invocation), except for the rare national numbers of zeros that
    /// [`Phone::parse`] leaves to the full parse. Anything else is refused: free-form input (spaces,
    /// punctuation, no `+`) goes through [`Phone::parse`].
    pub fn from_e164(input: &str) -> Result<Self, PhoneError> {
        if input.is_empty() {
            return Err(PhoneError::Empty);
        }
        if (SHORT_CODE_MIN..=SHORT_CODE_MAX).contains(&input.len())
            && input.bytes().all(|b| b.is_ascii_digit())
        {
            return Ok(Self(input.to_string()));
        }
        match input.strip_prefix('+') {
            Some(digits) if !digits.starts_with('+') => {
                // `None`: not digits (refused), or a national number of zeros (the full parse decides).
                match Self::digits_form(input) {
                    Some(answer) => answer,
                    None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                        Self::parse(input)
                    }
                    None => Err(PhoneError::Invalid(mask(digits))),
                }
            }
            _ => Err(PhoneError::Invalid(mask(input))),
        }
    }

    /// The fast path, for the forms providers send: `+` then digits, or digits only (TeleSign, Vonage, ACS).
    /// For such input the answer is decided here, from the length and [`COUNTRY_CODES`], and is the one the
    /// library's full parse gives (a unit test compares both over every country code, every length, leading
    /// zeros and a table of random numbers); `None` for anything else (spaces, punctuation), and for national
    /// numbers of zeros, which take the full parse.
    fn digits_form(input: &str) -> Option<Result<Self, PhoneError>> {
        Self::digits_verdict(input).map(|verdict| verdict.map(|digits| Self(plus(digits))))
    }

    /// [`Phone::digits_form`]'s decision without the number built: the digits (after any `+`) when valid.
    fn digits_verdict(input: &str) -> Option<Result<&str, PhoneError>> {
        let digits = input.strip_prefix('+').unwrap_or(input);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !(8..=15).contains(&digits.len()) {
            return Some(Err(PhoneError::Length));
        }
        Some(match country_code_len(digits) {
            None => Err(PhoneError::Invalid(format!("{}: invalid country code", mask(digits)))),
            // A national number of zeros but for one or two digits is left to the full parse: the library
            // strips a national prefix ("+7 8000000", "+7 8800000": Russia's 8) and refuses what is left when
            // it is all zeros. Real numbers hardly look like this: the fallback costs nothing in practice.
            Some(cc) if mostly_zeros(&digits[cc..]) => return None,
            Some(_) => Ok(digits),
        })
    }

    /// [`Phone::parse`] of a string the caller owns (a decoded webhook field): the same answer, and a number
    /// already in E.164 form (`+` then digits, as Twilio sends it) is kept as it is rather than copied.
    pub fn parse_owned(input: String) -> Result<Self, PhoneError> {
        // `+` first: nothing to trim, not a short code; the fast path's `Ok` is then `+` and these digits.
        if input.starts_with('+')
            && let Some(Ok(_)) = Self::digits_verdict(&input)
        {
            return Ok(Self(input));
        }
        Self::parse(&input)
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

/// `+` and `digits`, allocated once (`format!` starts small and grows).
fn plus(digits: &str) -> String {
    let mut e164 = String::with_capacity(1 + digits.len());
    e164.push('+');
    e164.push_str(digits);
    e164
}

/// At most two digits other than 0 (see [`Phone::digits_form`]).
fn mostly_zeros(national: &str) -> bool {
    national.bytes().filter(|&b| b != b'0').count() <= 2
}

/// The length of the country calling code an international number (digits only, no `+`) starts with, if
/// it is one of [`COUNTRY_CODES`]. A code never starts with 0 (`"01…"` is not code 1); codes are
/// prefix-free, so at most one of the first one to three digits is a code.
fn country_code_len(digits: &str) -> Option<usize> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=3.min(digits.len()))
        .find(|&n| digits[..n].parse::<u16>().is_ok_and(|cc| COUNTRY_CODES.binary_search(&cc).is_ok()))
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

    /// What `Phone::parse` answered for `+`/digits-only input before the fast path: the length rule, then
    /// the phone-number library's full parse (which loads its metadata).
    fn full_parse(input: &str) -> Result<Phone, PhoneError> {
        let digits = input.strip_prefix('+').unwrap_or(input);
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneError::Length);
        }
        let e164 = format!("+{digits}");
        phonenumber::parse(None, &e164).map_err(|e| PhoneError::Invalid(format!("{}: {e}", mask(&e164))))?;
        Ok(Phone(e164))
    }

    /// The same answer: the same number, or an error of the same kind (the messages differ).
    fn assert_fast_path_agrees(digits: &str) {
        for input in [format!("+{digits}"), digits.to_string()] {
            let Some(fast) = Phone::digits_form(&input) else {
                // Left to the full parse (a national number of zeros but for one or two digits).
                assert!(digits.bytes().filter(|&b| b != b'0').count() <= 5, "{input}");
                continue;
            };
            match (fast, full_parse(&input)) {
                (Ok(fast), Ok(full)) => assert_eq!(fast, full, "{input}"),
                (Err(fast), Err(full)) => {
                    assert_eq!(std::mem::discriminant(&fast), std::mem::discriminant(&full), "{input}")
                }
                // The one place where the library knows more than E.164's structure: China's carrier
                // selection codes (`+86 1[12]xx`…), which it strips from the national number before checking
                // its length. A number a provider sends in E.164 carries no carrier code; the fast path keeps
                // it whole, as it keeps every other number.
                (Ok(_), Err(PhoneError::Invalid(e)))
                    if digits.starts_with("86") && e.contains("too short") => {}
                (fast, full) => panic!("{input}: fast path {fast:?}, full parse {full:?}"),
            }
        }
    }

    /// The fast path and the full parse agree on every 1- to 3-digit prefix, written with and without
    /// leading zeros (`1`, `01`, `001`: a country code never starts with 0), at every length around the
    /// allowed 8 to 15, with and without `+`.
    #[test]
    fn the_fast_path_agrees_with_the_full_parse_for_every_country_code() {
        assert!(COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]), "sorted, for the binary search");
        for width in 1..=3 {
            for n in 0..10u32.pow(width as u32) {
                let prefix = format!("{n:0width$}");
                for len in [7, 8, 11, 15, 16] {
                    for fill in ["5", "0"] {
                        assert_fast_path_agrees(&format!("{prefix}{}", fill.repeat(len - width)));
                    }
                }
            }
        }
    }

    /// And on a table of pseudo-random digit strings of 1 to 17 digits (a fixed seed: the same table on
    /// every run).
    #[test]
    fn the_fast_path_agrees_with_the_full_parse_on_random_numbers() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..10_000 {
            let len = 1 + (next() % 17) as usize;
            let digits: String = (0..len).map(|_| char::from(b'0' + (next() % 10) as u8)).collect();
            assert_fast_path_agrees(&digits);
        }
    }

    #[test]
    fn only_plain_digit_forms_take_the_fast_path() {
        for input in
            ["+1 555 555 0100", "+1-555-555-0100", "(555) 555-0100", "+1555555010a", "++15555550100", ""]
        {
            assert_eq!(Phone::digits_form(input), None, "{input}");
        }
        assert!(Phone::parse("+0155555501").unwrap_err().to_string().contains("country code"));
        assert_eq!(Phone::digits_form("+44000000000"), None);
        assert_eq!(Phone::digits_form("+78000000"), None);
        assert!(Phone::parse("+78000000").is_err());
        assert!(Phone::parse("+12000000").is_ok());
        assert!(matches!(Phone::parse("0044 20 7946 0958"), Err(PhoneError::Invalid(_))));
    }

    #[test]
    fn from_e164_takes_what_smsdesk_stores_and_nothing_free_form() {
        for stored in ["+15555550100", "+442079460958", "+8801712345678", "12345", "555"] {
            let phone = Phone::from_e164(stored).unwrap_or_else(|e| panic!("{stored}: {e}"));
            assert_eq!(phone.e164(), stored);
            assert_eq!(Phone::parse(stored).unwrap(), phone);
        }
        assert_eq!(Phone::from_e164("+12000000").unwrap().e164(), "+12000000");
        assert!(Phone::from_e164("+78000000").is_err());
        assert_eq!(Phone::from_e164(""), Err(PhoneError::Empty));
        assert_eq!(Phone::from_e164("+1234567"), Err(PhoneError::Length));
        assert_eq!(Phone::from_e164("+1234567890123456"), Err(PhoneError::Length));
        for refused in
            ["15555550100", "+1 555 555 0100", "+0155555501", "+999555550123", "++15555550100", "+"]
        {
            assert!(matches!(Phone::from_e164(refused), Err(PhoneError::Invalid(_))), "{refused}");
        }
    }

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
    /// `parse_owned` gives what `parse` gives, for every form: E.164 (kept), digits only, spaces and
    /// punctuation, surrounding whitespace, short codes, national numbers of zeros, invalid input.
    #[test]
    fn parse_owned_agrees_with_parse() {
        let inputs = [
            "+15555550123",
            "15555550123",
            " +15555550123 ",
            "+15555550123\n",
            "+1 (555) 555-0123",
            "12345",
            "+12345",
            "+",
            "",
            "  ",
            "+44000000000",
            "+78000000",
            "+999555550123",
            "+1555555abc0123",
            "++15555550123",
            "+0155555501234",
            "+1234567890123456",
            "+447700900123",
        ];
        for input in inputs {
            assert_eq!(Phone::parse_owned(input.to_string()), Phone::parse(input), "{input:?}");
        }
        let kept = String::from("+15555550123");
        let at = kept.as_ptr();
        assert_eq!(Phone::parse_owned(kept).expect("valid").e164().as_ptr(), at, "E.164 input is kept");
    }
}
