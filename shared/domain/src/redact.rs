//! What logs may show of values that carry a customer's number: a phone masked to its last four digits
//! ([`crate::mask`]), and a FIFO group id (channel + customer phone) as a short hash that still tells two
//! groups apart in a log without revealing the number.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

static LOG_KEY: OnceLock<Vec<u8>> = OnceLock::new();

/// Sets the key of [`log_hash`] for this process, before the first hash (later calls change nothing).
/// Every process of one deployment sets the same key, so their logs name a group alike.
pub fn set_log_key(key: &[u8]) {
    let _already_set = LOG_KEY.set(key.to_vec());
}

/// The key set, or one drawn at random for this process: hashes then agree within the process only.
fn log_key() -> &'static [u8] {
    LOG_KEY.get_or_init(|| {
        let random = || std::collections::hash_map::RandomState::new().build_hasher().finish();
        [random().to_le_bytes(), random().to_le_bytes()].concat()
    })
}

/// A short hash of `value` for logs, stable for the key ([`set_log_key`]): `h:` and the first 12 hex
/// digits of its HMAC-SHA256. Keyed, so that a reader of the logs cannot find the number by hashing
/// every phone number there is (an unkeyed hash of a channel and a phone number can be reversed so).
pub fn log_hash(value: &str) -> String {
    keyed_hash(log_key(), value)
}

fn keyed_hash(key: &[u8], value: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("h:{hex}")
}

/// A provider's or a library's free text with every run of 7 or more digits (optionally after `+`, with the
/// spaces and dashes people put in numbers) masked to its last four digits: what such text may say about a
/// customer's number before it goes to a log line.
pub fn scrub(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            let mut end = i + 1;
            let mut last_digit = if chars[i].is_ascii_digit() { i + 1 } else { i };
            while end < chars.len() {
                let c = chars[end];
                if c.is_ascii_digit() {
                    last_digit = end + 1;
                } else if !matches!(c, ' ' | '-' | '(' | ')' | '.')
                    || !chars.get(end + 1).is_some_and(char::is_ascii_digit)
                {
                    break;
                }
                end += 1;
            }
            let run: String = chars[start..last_digit].iter().collect();
            if run.chars().filter(char::is_ascii_digit).count() >= 7 {
                out.push_str(&crate::phone::mask(&run));
            } else {
                out.push_str(&run);
            }
            i = last_digit;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_masks_long_digit_runs_only() {
        assert_eq!(scrub("Invalid phone number +1 555-555-0123."), "Invalid phone number …0123.");
        assert_eq!(scrub("15555550123 refused"), "…0123 refused");
        assert_eq!(scrub("TeleSign HTTP 400: 11000 bad request"), "TeleSign HTTP 400: 11000 bad request");
        assert_eq!(scrub("no digits"), "no digits");
        assert_eq!(scrub("a + b, 12 - 3"), "a + b, 12 - 3");
    }

    #[test]
    fn group_hashes_are_stable_distinct_and_hide_the_number() {
        let a = log_hash("ch_1:15555550123");
        assert_eq!(a, log_hash("ch_1:15555550123"));
        assert_ne!(a, log_hash("ch_1:15555550124"));
        assert!(!a.contains("15555550123"));
        assert_eq!(a.len(), 2 + 12);
    }

    #[test]
    fn group_hashes_depend_on_the_key() {
        let value = "ch_1:15555550123";
        assert_eq!(keyed_hash(b"stack-a", value), keyed_hash(b"stack-a", value));
        assert_ne!(keyed_hash(b"stack-a", value), keyed_hash(b"stack-b", value));
        // Not the unkeyed SHA-256 a reader could compute for every number.
        use sha2::Digest;
        let plain: String =
            Sha256::digest(value.as_bytes())[..6].iter().map(|b| format!("{b:02x}")).collect();
        assert_ne!(log_hash(value), format!("h:{plain}"));
    }
}
