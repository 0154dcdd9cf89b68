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
pub fn decode(raw: &[u8]) -> FormPairs<'_> {
    let mut pairs = Vec::with_capacity(raw.iter().filter(|b| **b == b'&').count() + 1);
    for piece in raw.split(|b| *b == b'&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = match piece.iter().position(|b| *b == b'=') {
            Some(at) => (&piece[..at], &piece[at + 1..]),
            None => (piece, &[][..]),
        };
        pairs.push((component(name), component(value)));
    }
    pairs
}

/// One name or value.
fn component(raw: &[u8]) -> Cow<'_, str> {
    if !raw.iter().any(|b| *b == b'+' || *b == b'%') {
        return String::from_utf8_lossy(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => match (raw.get(i + 1).copied().and_then(hex), raw.get(i + 2).copied().and_then(hex)) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
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
}
