//! `application/x-www-form-urlencoded` decoding for the webhook hot path (Twilio and Vonage sign the decoded
//! parameters of every inbound text): the same result as the `form_urlencoded` crate (a unit test holds the
//! two equal), but each name and value is borrowed from the body unless it has a `+` or a `%` to decode, and
//! it is built at the workspace's optimization level (dependencies are built for size, where the generic
//! decoder cost more than the HMAC it feeds).

use std::borrow::Cow;

/// Decoded form parameters, borrowed from the raw bytes where nothing needed decoding.
pub type FormPairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// Decodes a form: `&`-separated pairs (empty ones skipped), split at the first `=`, `+` as a space,
/// `%XX` percent-decoded (a `%` not followed by two hex digits kept as it is), invalid UTF-8 replaced.
///
/// A body that is valid UTF-8 (every provider's) is checked once and split in one pass; a name or value
/// with nothing to decode is then a slice of it.
pub fn decode(raw: &[u8]) -> FormPairs<'_> {
    let Ok(text) = std::str::from_utf8(raw) else { return decode_lossy(raw) };
    // Exactly as many slots as there can be pairs: a vector that grows copies, and one sized for a typical
    // webhook (about 20 pairs, under a kilobyte) stays in the allocator's per-thread cache.
    let mut pairs = Vec::with_capacity(memchr::memchr_iter(b'&', raw).count() + 1);
    // One pass over the body, a pair at a time: the name up to the first `=` (or `&`), the value up to the
    // next `&`, each noting whether it holds a `+` or `%` to decode. Parts are too short (a dozen bytes)
    // for a vectorized search per part to pay for its set-up; the bytes between the four that matter are
    // skipped four at a time ([`skip_plain`]).
    let mut at = 0;
    while at < raw.len() {
        let start = at;
        let mut name_escaped = false;
        let mut eq = None;
        loop {
            at = skip_plain(raw, at);
            match raw.get(at) {
                None | Some(b'&') => break,
                Some(b'=') => {
                    eq = Some(at);
                    at += 1;
                    break;
                }
                Some(_) => {
                    name_escaped = true;
                    at += 1;
                }
            }
        }
        let pair = match eq {
            None => (part(raw, text, start, at, name_escaped), Cow::Borrowed("")),
            Some(eq) => {
                let mut value_escaped = false;
                loop {
                    at = skip_plain(raw, at);
                    match raw.get(at) {
                        None | Some(b'&') => break,
                        Some(b'=') => at += 1,
                        Some(_) => {
                            value_escaped = true;
                            at += 1;
                        }
                    }
                }
                (part(raw, text, start, eq, name_escaped), part(raw, text, eq + 1, at, value_escaped))
            }
        };
        if at > start {
            pairs.push(pair);
        }
        at += 1;
    }
    pairs
}

/// `raw[start..end]` decoded when `escaped`, else borrowed from `text` (the same bytes, known UTF-8; the
/// split points are ASCII bytes, so on character boundaries).
#[inline]
fn part<'a>(raw: &'a [u8], text: &'a str, start: usize, end: usize, escaped: bool) -> Cow<'a, str> {
    if escaped { component(&raw[start..end], true) } else { Cow::Borrowed(&text[start..end]) }
}

/// The position of the first of `&`, `=`, `+`, `%` at or after `at` (`raw.len()` when there is none):
/// four bytes per step while none of them is one.
#[inline]
fn skip_plain(raw: &[u8], mut at: usize) -> usize {
    while let Some(four) = raw.get(at..at + 4) {
        let special = |b: u8| SPECIAL[b as usize] as u8;
        if special(four[0]) | special(four[1]) | special(four[2]) | special(four[3]) != 0 {
            break;
        }
        at += 4;
    }
    while at < raw.len() && !SPECIAL[raw[at] as usize] {
        at += 1;
    }
    at
}

/// The bytes that split or escape a form: `&`, `=`, `+`, `%`.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'&' as usize] = true;
    t[b'=' as usize] = true;
    t[b'+' as usize] = true;
    t[b'%' as usize] = true;
    t
};

/// [`decode`] for a body that is not valid UTF-8: byte by byte, each part's invalid sequences replaced.
fn decode_lossy(raw: &[u8]) -> FormPairs<'_> {
    let mut pairs = Vec::new();
    for piece in raw.split(|b| *b == b'&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = match piece.iter().position(|b| *b == b'=') {
            Some(at) => (&piece[..at], &piece[at + 1..]),
            None => (piece, &[][..]),
        };
        let escaped = |part: &[u8]| part.iter().any(|b| *b == b'+' || *b == b'%');
        pairs.push((component(name, escaped(name)), component(value, escaped(value))));
    }
    pairs
}

/// One name or value, percent- and plus-decoded when `escaped`, invalid UTF-8 replaced.
fn component(raw: &[u8], escaped: bool) -> Cow<'_, str> {
    if !escaped {
        return String::from_utf8_lossy(raw);
    }
    // Byte by byte into a buffer of the input's length (decoding never lengthens): values are short and
    // escapes dense (Twilio writes every space as `+`), where a search per escape costs more than it skips.
    let mut out = Vec::with_capacity(raw.len());
    let mut read = 0;
    while let Some(&b) = raw.get(read) {
        let (byte, used) = match b {
            b'+' => (b' ', 1),
            b'%' => {
                match (raw.get(read + 1).copied().and_then(hex), raw.get(read + 2).copied().and_then(hex)) {
                    (Some(hi), Some(lo)) => (hi << 4 | lo, 3),
                    _ => (b'%', 1),
                }
            }
            other => (other, 1),
        };
        out.push(byte);
        read += used;
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Byte-wise (code-point) order of two short strings, compared inline: parameter names and values are a
/// few bytes long, where a call into the C library's `memcmp` costs more than the comparison.
#[inline]
pub fn cmp_short(a: &str, b: &str) -> std::cmp::Ordering {
    for (x, y) in a.bytes().zip(b.bytes()) {
        if x != y {
            return x.cmp(&y);
        }
    }
    a.len().cmp(&b.len())
}

/// The first eight bytes of `s` as a big-endian number, zero-padded: `prefix_key(a) < prefix_key(b)` implies
/// `a < b` in byte order, and equal keys need the whole strings compared.
#[inline]
pub fn prefix_key(s: &str) -> u64 {
    let bytes = s.as_bytes();
    if let Some(first) = bytes.first_chunk::<8>() {
        return u64::from_be_bytes(*first);
    }
    // Shorter names are shifted in byte by byte: copying them to a buffer and loading it as one number
    // stalls on the store.
    let mut key = 0u64;
    for (i, b) in bytes.iter().enumerate() {
        key |= u64::from(*b) << (56 - 8 * i);
    }
    key
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exactly_as_the_form_urlencoded_crate() {
        let inputs: &[&[u8]] = &[
            b"",
            b"&&",
            b"a=1&b=2",
            b"Body=Hi%2C+my+order+has+not+arrived.&From=%2B15555550123",
            b"name",
            b"=value",
            b"a==b&c=d=e",
            b"x=%&y=%4&z=%zz&w=%41%42&v=%e2%82%ac&u=%E2%82",
            b"emoji=%F0%9F%98%80+ok&raw=\xe2\x82\xac&bad=\xff\xfe",
            b"plus=a+b+%2B+c&pct=100%25",
            b"k%3D1=v%261&trail=%",
            b"t=%4",
        ];
        for raw in inputs {
            let ours = decode(raw);
            let theirs: Vec<(Cow<'_, str>, Cow<'_, str>)> = form_urlencoded::parse(raw).collect();
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(raw));
        }
        assert!(matches!(decode(b"a=1")[0].1, Cow::Borrowed(_)), "nothing to decode: borrowed");
    }

    /// And on a fixed table of pseudo-random bodies over the bytes that matter (and a two-byte character), of
    /// every length up to 48: every place of a split or escape relative to the four-byte skip.
    #[test]
    fn decodes_random_bodies_as_the_form_urlencoded_crate() {
        let alphabet: &[&[u8]] =
            &[b"a", b"Z", b"&", b"=", b"+", b"%", b"4", b"f", b"%41", b"\xc3\xa9", b"&&"];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..4000 {
            let mut raw = Vec::new();
            while raw.len() < round % 48 {
                raw.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            let theirs: Vec<(Cow<'_, str>, Cow<'_, str>)> = form_urlencoded::parse(&raw).collect();
            assert_eq!(decode(&raw), theirs, "{}", String::from_utf8_lossy(&raw));
        }
    }

    #[test]
    fn short_comparison_is_the_order_of_str() {
        let words = [
            "",
            "a",
            "A",
            "To",
            "ToCity",
            "ToZip",
            "To",
            "From",
            "\u{e9}t\u{e9}",
            "\u{1F600}",
            "ab",
            "a\0",
            "a\0\0",
            "ToCountry",
            "ToCountryX",
            "SmsMessageSid",
            "SmsSid",
        ];
        for a in words {
            for b in words {
                assert_eq!(cmp_short(a, b), a.cmp(b), "{a:?} vs {b:?}");
                if prefix_key(a) != prefix_key(b) {
                    assert_eq!(prefix_key(a).cmp(&prefix_key(b)), a.cmp(b), "{a:?} vs {b:?}");
                }
            }
        }
    }
}
