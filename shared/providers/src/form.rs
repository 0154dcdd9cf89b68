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
    // One pass over the body, byte by byte against a table of the four bytes that matter: parts are too
    // short (a dozen bytes) for a vectorized search per part to pay for its set-up (measured: about 8%
    // faster than a `memchr` per `&`, `=`, `+` and `%`).
    let part = |start: usize, end: usize, escaped: bool| {
        if escaped { component(&raw[start..end], true) } else { Cow::Borrowed(&text[start..end]) }
    };
    let (mut start, mut eq, mut name_esc, mut value_esc) = (0usize, usize::MAX, false, false);
    let mut finish = |start: usize, end: usize, eq: usize, name_esc: bool, value_esc: bool| {
        if end > start {
            if eq == usize::MAX {
                pairs.push((part(start, end, name_esc), Cow::Borrowed("")));
            } else {
                pairs.push((part(start, eq, name_esc), part(eq + 1, end, value_esc)));
            }
        }
    };
    for (i, b) in raw.iter().enumerate() {
        if !SPECIAL[*b as usize] {
            continue;
        }
        match *b {
            b'&' => {
                finish(start, i, eq, name_esc, value_esc);
                (start, eq, name_esc, value_esc) = (i + 1, usize::MAX, false, false);
            }
            b'=' if eq == usize::MAX => eq = i,
            b'=' => {}
            _ if eq == usize::MAX => name_esc = true,
            _ => value_esc = true,
        }
    }
    finish(start, raw.len(), eq, name_esc, value_esc);
    pairs
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
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    // Copies the plain run up to each `+` or `%` in one go, then decodes that byte.
    while let Some(at) = memchr::memchr2(b'+', b'%', rest) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at..];
        if rest[0] == b'+' {
            out.push(b' ');
            rest = &rest[1..];
            continue;
        }
        match (rest.get(1).copied().and_then(hex), rest.get(2).copied().and_then(hex)) {
            (Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                rest = &rest[3..];
            }
            _ => {
                out.push(b'%');
                rest = &rest[1..];
            }
        }
    }
    out.extend_from_slice(rest);
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
