//! `X-Twilio-Signature`: `b64(HMAC-SHA1(auth_token, url + sorted params))`, on the raw request, before any
//! parsing. Form requests sign every received parameter (name-sorted, each name's distinct values sorted);
//! JSON requests carry `bodySHA256=<hex sha256 of the body>` in the URL and sign the URL alone. The URL is
//! tried as received, and with the port removed or the scheme's default port added, since Twilio signs the
//! URL as configured and proxies add or drop `:443`.

use crate::WebhookRequest;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use subtle::ConstantTimeEq;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
/// The query parameter Twilio adds to the URL of a JSON request.
pub const BODY_HASH_PARAM: &str = "bodySHA256";

pub use crate::form::FormPairs;

/// Decodes a form (`application/x-www-form-urlencoded`) once, for the signature check and the parser.
pub fn decode_form(raw: &[u8]) -> FormPairs<'_> {
    crate::form::decode(raw)
}

/// Twilio's signing order of two parameters: names in code-point order, then values.
fn signing_order(a: (&str, &str), b: (&str, &str)) -> std::cmp::Ordering {
    crate::form::cmp_short(a.0, b.0).then_with(|| crate::form::cmp_short(a.1, b.1))
}

/// Calls `each` with the parameters in the order Twilio signs them: names in code-point order, each name's
/// distinct values sorted (a repeated name and value is signed once).
///
/// What is sorted is one number per parameter: the first seven bytes of its name (big-endian, so in the
/// order of the bytes) over its position in the low byte, sorted as plain integers, in an array on the stack
/// for a webhook's usual two dozen parameters. Only names that share those seven bytes (`MediaUrl0`,
/// `MediaUrl1`) are then compared whole, name and value.
fn in_signing_order<'p, K: AsRef<str>, V: AsRef<str>>(
    params: &'p [(K, V)],
    mut each: impl FnMut(&'p str, &'p str),
) {
    let pair = |at: usize| {
        let (k, v) = &params[at];
        (k.as_ref(), v.as_ref())
    };
    if params.len() > 256 {
        let mut order: Vec<usize> = (0..params.len()).collect();
        order.sort_unstable_by(|a, b| signing_order(pair(*a), pair(*b)));
        distinct(order.into_iter().map(pair), &mut each);
        return;
    }
    let mut stack = [0u64; 32];
    let mut heap = Vec::new();
    let keys: &mut [u64] = if params.len() <= stack.len() {
        &mut stack[..params.len()]
    } else {
        heap.resize(params.len(), 0);
        &mut heap
    };
    for (at, key) in keys.iter_mut().enumerate() {
        *key = crate::form::prefix_key(pair(at).0) & !0xff | at as u64;
    }
    keys.sort_unstable();
    let position = |key: u64| (key & 0xff) as usize;
    let mut run = 0;
    while run < keys.len() {
        let mut end = run + 1;
        while end < keys.len() && keys[end] >> 8 == keys[run] >> 8 {
            end += 1;
        }
        if end - run == 1 {
            // A name alone in its run differs from its neighbours' in the first seven bytes: no repeat.
            let (k, v) = pair(position(keys[run]));
            each(k, v);
        } else {
            keys[run..end].sort_unstable_by(|a, b| signing_order(pair(position(*a)), pair(position(*b))));
            distinct(keys[run..end].iter().map(|key| pair(position(*key))), &mut each);
        }
        run = end;
    }
}

/// Sorted pairs in, each distinct one out once.
fn distinct<'p>(sorted: impl Iterator<Item = (&'p str, &'p str)>, each: &mut impl FnMut(&'p str, &'p str)) {
    let mut last = None;
    for next in sorted {
        if last != Some(next) {
            each(next.0, next.1);
            last = Some(next);
        }
    }
}

/// The parameters in the order Twilio signs them: names in code-point order, each name's distinct values
/// sorted.
fn sorted<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> Vec<(&str, &str)> {
    let mut sorted: Vec<(&str, &str)> = Vec::with_capacity(params.len());
    in_signing_order(params, |k, v| sorted.push((k, v)));
    sorted
}

/// The string Twilio signs: the URL, then `name + value` for each parameter, names in code-point order and
/// each name's distinct values sorted.
pub fn string_to_sign<K: AsRef<str>, V: AsRef<str>>(url: &str, params: &[(K, V)]) -> String {
    let sorted = sorted(params);
    let mut out =
        String::with_capacity(url.len() + sorted.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>());
    out.push_str(url);
    for (k, v) in sorted {
        out.push_str(k);
        out.push_str(v);
    }
    out
}

/// HMAC-SHA1 keyed with the auth token, before any message byte: cloned for each URL variant.
fn keyed(auth_token: &SecretString) -> Hmac<Sha1> {
    let Ok(mac) = Hmac::<Sha1>::new_from_slice(auth_token.expose_secret().as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac
}

/// `b64(HMAC-SHA1)` of `url + sorted params`, fed piece by piece into a clone of the keyed state (the
/// string to sign is never built).
fn sign_pieces(keyed: &Hmac<Sha1>, url: &str, sorted: &[(&str, &str)]) -> String {
    let mut mac = keyed.clone();
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `header` is the signature of `url + params` (`params`: the sorted names and values, concatenated),
/// encoded on the stack and compared in constant time.
fn signed_by(keyed: Hmac<Sha1>, url: &str, params: &[u8], header: &str) -> bool {
    let mut mac = keyed;
    mac.update(url.as_bytes());
    mac.update(params);
    let mut encoded = [0u8; 28];
    match base64::engine::general_purpose::STANDARD.encode_slice(mac.finalize().into_bytes(), &mut encoded) {
        Ok(n) => bool::from(encoded[..n].ct_eq(header.as_bytes())),
        Err(_) => false,
    }
}

/// The sorted parameters' names and values, concatenated: the part of the signed string after the URL, the
/// same for every URL variant and key, so built once and hashed in one piece. Decoding never lengthens a
/// form: `capacity`, the body's length, bounds what the names and values hold.
fn concatenated(form: &FormPairs<'_>, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    in_signing_order(form, |k, v| {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v.as_bytes());
    });
    out
}

/// `b64(HMAC-SHA1(auth_token, string))`.
pub fn sign(auth_token: &SecretString, string_to_sign: &str) -> String {
    sign_pieces(&keyed(auth_token), string_to_sign, &[])
}

/// The signature of a form request (or of a JSON request's URL, with no params).
pub fn signature(auth_token: &SecretString, url: &str, params: &[(String, String)]) -> String {
    sign_pieces(&keyed(auth_token), url, &sorted(params))
}

/// Lowercase hex SHA-256 of a body: what Twilio puts in `bodySHA256`.
pub fn body_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The URL as received, then without its port (when it has one) or with the scheme's default port (when it
/// has none). Userinfo and everything after the authority are kept as they are.
pub fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else { return variants };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    // An IPv6 literal's colons are inside brackets; a port's colon comes after them.
    let host_end = host_port.rfind(']').map_or(0, |i| i + 1);
    let port_colon = host_port[host_end..].rfind(':').map(|i| host_end + i);
    match port_colon {
        Some(colon) => {
            variants.push(format!("{scheme}://{userinfo}{}{tail}", &host_port[..colon]));
        }
        None => {
            let default = match scheme.to_ascii_lowercase().as_str() {
                "https" => Some(443),
                "http" => Some(80),
                _ => None,
            };
            if let Some(port) = default {
                variants.push(format!("{scheme}://{userinfo}{host_port}:{port}{tail}"));
            }
        }
    }
    variants
}

/// What a check looked at, for the log and for `smsdesk webhook verify`, and the form it decoded (reused
/// by the parser, so a request is decoded once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified<'a> {
    /// The URL variant that matched.
    pub url: Cow<'a, str>,
    /// True when the request was a JSON one (signed over the URL alone after the body hash matched).
    pub json_body: bool,
    /// The form body's parameters of a POST form request, decoded, in the body's order; empty for a GET or
    /// a JSON request.
    pub form: FormPairs<'a>,
}

/// Why a request is not Twilio's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Twilio-Signature header")]
    Missing,
    #[error("the body does not match the URL's bodySHA256")]
    BodyHashMismatch,
    #[error("signature does not match (tried {tried} URL variants)")]
    Mismatch { tried: usize },
}

/// The `bodySHA256` query value, if the URL carries one.
fn body_hash_param<'a>(request: &WebhookRequest<'a>) -> Option<Cow<'a, str>> {
    // A form request's URL has no query at all: one vectorized search says so.
    memchr::memchr(b'?', request.url.as_bytes())?;
    let query = request.query();
    // Nothing to decode when the name cannot be there, even percent-encoded.
    if !query.contains(BODY_HASH_PARAM) && !query.contains('%') {
        return None;
    }
    crate::form::decode(query.as_bytes()).into_iter().find(|(k, _)| k == BODY_HASH_PARAM).map(|(_, v)| v)
}

/// Checks `X-Twilio-Signature` against each key (current token first, then a retired one) and each URL
/// variant (the URL as received first: the variants are only built when it does not match), in constant
/// time per comparison. The form is decoded once and handed back for parsing.
pub fn verify<'a>(
    keys: &[&SecretString],
    request: &WebhookRequest<'a>,
) -> Result<Verified<'a>, SignatureError> {
    let header = request.header(SIGNATURE_HEADER).map(str::trim).ok_or(SignatureError::Missing)?;
    let (form, json_body) = match body_hash_param(request) {
        Some(expected) => {
            let actual = body_sha256(request.body);
            if !bool::from(actual.as_bytes().ct_eq(expected.to_ascii_lowercase().as_bytes())) {
                return Err(SignatureError::BodyHashMismatch);
            }
            (Vec::new(), true)
        }
        None if request.method.eq_ignore_ascii_case("POST") => (decode_form(request.body), false),
        // A GET signs its URL alone: the parameters are in it.
        None => (Vec::new(), false),
    };
    let params = concatenated(&form, request.body.len());
    // Keyed per try: the URL as received with the current key is the one that matches (the others are only
    // tried when it does not).
    let matches = |url: &str| keys.iter().any(|key| signed_by(keyed(key), url, &params, header));
    if matches(request.url) {
        return Ok(Verified { url: Cow::Borrowed(request.url), json_body, form });
    }
    let variants = url_variants(request.url);
    for url in variants.iter().skip(1) {
        if matches(url) {
            return Ok(Verified { url: Cow::Owned(url.clone()), json_body, form });
        }
    }
    Err(SignatureError::Mismatch { tried: variants.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integer sort with its tie-breaks gives the plain order of (name, value), repeats kept once.
    #[test]
    fn signing_order_is_the_plain_order_of_names_then_values() {
        let params: Vec<(&str, &str)> = vec![
            ("MediaUrl1", "https://b"),
            ("MediaUrl0", "https://a"),
            ("MediaContentType1", "image/png"),
            ("MediaContentType0", "image/jpeg"),
            ("To", "+15555550100"),
            ("ToCity", ""),
            ("T", "x"),
            ("a\0", "1"),
            ("a", "2"),
            ("Digits", "9"),
            ("Digits", "1"),
            ("Digits", "9"),
            ("SmsMessageSid", "SM1"),
            ("SmsMessageSie", "SM2"),
            ("\u{e9}t\u{e9}", "accent"),
            ("", "empty name"),
        ];
        let mut expected = params.clone();
        expected.sort();
        expected.dedup();
        assert_eq!(sorted(&params), expected);
        let form: FormPairs<'_> =
            params.iter().map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v))).collect();
        let plain: Vec<u8> =
            expected.iter().flat_map(|(k, v)| [k.as_bytes(), v.as_bytes()].concat()).collect();
        assert_eq!(concatenated(&form, 0), plain);
    }

    /// The check signs what the reference decoder (the `form_urlencoded` crate) gives: a repeated name, empty
    /// names and values, `+` and `%XX` in names and values, raw and escaped invalid UTF-8 (replaced), many
    /// parameters sharing a prefix; a changed byte is refused. (A guard for any faster decoder of the form.)
    #[test]
    fn verify_signs_the_parameters_as_the_reference_decoder_gives_them() {
        let token = SecretString::from("f0e1d2c3b4a5968778695a4b3c2d1e0f".to_string());
        let url = "https://hooks.example.test/webhooks/twilio/ch_tw";
        let media: String = (0..40).map(|n| format!("&MediaUrl{n}=https%3A%2F%2Fm%2F{n}")).collect();
        let bodies: Vec<Vec<u8>> = vec![
            b"Digits=5678&Digits=1234&Digits=1234&Sid=CA1".to_vec(),
            b"ToCity=&=orphan&Body=&empty".to_vec(),
            b"Bo%64y=Hi%2C+there+%2B+100%25&From=%2B15555550100&a+b=c+d".to_vec(),
            b"Body=caf\xc3\xa9+%E2%82%AC&Bad=\xff\xfe&Esc=%FF%41&Half=%E2%82&x=%zz%4".to_vec(),
            format!("NumMedia=40{media}").into_bytes(),
        ];
        for body in &bodies {
            let params: Vec<(String, String)> =
                form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            let header = signature(&token, url, &params);
            let headers = vec![(SIGNATURE_HEADER.to_string(), header)];
            let request = WebhookRequest { method: "POST", url, headers: &headers, body };
            let verified = verify(&[&token], &request).expect("signed as the reference decodes");
            let form: Vec<(String, String)> =
                verified.form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            assert_eq!(form, params, "{}", String::from_utf8_lossy(body));
            let mut tampered = body.clone();
            tampered.push(b'x');
            let request = WebhookRequest { method: "POST", url, headers: &headers, body: &tampered };
            assert!(matches!(verify(&[&token], &request), Err(SignatureError::Mismatch { .. })));
        }
    }

    /// More parameters than the integer keys have room for take the general sort.
    #[test]
    fn hundreds_of_parameters_are_sorted_too() {
        let names: Vec<String> = (0..300).rev().map(|n| format!("P{n:03}")).collect();
        let params: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
        let mut expected = params.clone();
        expected.sort();
        assert_eq!(sorted(&params), expected);
    }
}
