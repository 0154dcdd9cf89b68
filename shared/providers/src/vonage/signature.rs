//! Vonage's signed webhooks (`sig`): every received parameter but `sig`, each value with `&` and `=`
//! replaced by `_`, sorted by name, as `&name=value`; then `md5hash`: `hex(MD5(string + secret))`, or an
//! HMAC (MD5, SHA-1, SHA-256, SHA-512) keyed with the secret, in hex. Vonage's SDKs disagree on the hex
//! case, so the comparison ignores it. The `timestamp` parameter must be recent.

use hmac::{Hmac, Mac};
use md5::Md5;
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// How far a webhook's `timestamp` may be from our clock (Vonage names no window; providers.md 4.3).
pub const MAX_SKEW: time::Duration = time::Duration::minutes(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureMethod {
    /// Vonage's default: MD5 over the string with the secret appended.
    Md5Hash,
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl SignatureMethod {
    pub const NAMES: [&'static str; 5] = ["md5hash", "md5", "sha1", "sha256", "sha512"];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "md5hash" => Self::Md5Hash,
            "md5" => Self::Md5,
            "sha1" => Self::Sha1,
            "sha256" => Self::Sha256,
            "sha512" => Self::Sha512,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Md5Hash => "md5hash",
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }
}

/// The signed parameters in Vonage's order: every one but `sig`, sorted by name (stable: a repeated name
/// keeps its order).
fn sorted<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> Vec<(&str, &str)> {
    let mut sorted: Vec<(&str, &str)> =
        params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).filter(|(k, _)| *k != "sig").collect();
    sorted.sort_by(|a, b| crate::form::cmp_short(a.0, b.0));
    sorted
}

/// Hands the string Vonage signs to `feed` piece by piece (the string itself is never built): `&name=value`
/// per parameter, `&` and `=` in values replaced by `_`.
fn feed_signed(sorted: &[(&str, &str)], mut feed: impl FnMut(&[u8])) {
    for (k, v) in sorted {
        feed(b"&");
        feed(k.as_bytes());
        feed(b"=");
        let mut rest = v.as_bytes();
        while let Some(at) = rest.iter().position(|b| *b == b'&' || *b == b'=') {
            feed(&rest[..at]);
            feed(b"_");
            rest = &rest[at + 1..];
        }
        feed(rest);
    }
}

/// The string Vonage signs.
pub fn string_to_sign<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut out = Vec::new();
    feed_signed(&sorted(params), |piece| out.extend_from_slice(piece));
    // Only whole ASCII bytes are replaced, so the pieces are still UTF-8.
    String::from_utf8_lossy(&out).into_owned()
}

fn hmac_of<M: Mac + hmac::digest::KeyInit>(secret: &[u8], sorted: &[(&str, &str)]) -> Vec<u8> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    feed_signed(sorted, |piece| mac.update(piece));
    mac.finalize().into_bytes().to_vec()
}

/// The raw signature bytes of the sorted parameters with `secret` by `method`.
fn digest(method: SignatureMethod, secret: &SecretString, sorted: &[(&str, &str)]) -> Vec<u8> {
    let key = secret.expose_secret().as_bytes();
    match method {
        SignatureMethod::Md5Hash => {
            let mut hasher = Md5::new();
            feed_signed(sorted, |piece| hasher.update(piece));
            hasher.update(key);
            hasher.finalize().to_vec()
        }
        SignatureMethod::Md5 => hmac_of::<Hmac<Md5>>(key, sorted),
        SignatureMethod::Sha1 => hmac_of::<Hmac<Sha1>>(key, sorted),
        SignatureMethod::Sha256 => hmac_of::<Hmac<Sha256>>(key, sorted),
        SignatureMethod::Sha512 => hmac_of::<Hmac<Sha512>>(key, sorted),
    }
}

/// The signature of `params` with `secret` by `method`, lowercase hex.
pub fn signature<K: AsRef<str>, V: AsRef<str>>(
    method: SignatureMethod,
    secret: &SecretString,
    params: &[(K, V)],
) -> String {
    hex::encode(digest(method, secret, &sorted(params)))
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the channel has no signature_secret: Vonage webhooks cannot be verified")]
    NotConfigured,
    #[error("missing sig parameter")]
    Missing,
    #[error("signature does not match ({0})")]
    Mismatch(&'static str),
    #[error("missing or unreadable timestamp parameter")]
    NoTimestamp,
    #[error("timestamp is stale: {0} s from our clock (at most {max} s)", max = MAX_SKEW.whole_seconds())]
    Stale(i64),
}

/// Checks `sig` with each secret, then the `timestamp`'s freshness. The received hex is decoded (either
/// case) and compared to the digest's bytes in constant time.
pub fn verify<K: AsRef<str>, V: AsRef<str>>(
    method: SignatureMethod,
    secrets: &[&SecretString],
    params: &[(K, V)],
    now: OffsetDateTime,
) -> Result<(), SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NotConfigured);
    }
    let find = |name: &str| params.iter().find(|(k, _)| k.as_ref() == name).map(|(_, v)| v.as_ref().trim());
    let sig = find("sig").ok_or(SignatureError::Missing)?;
    let given = hex::decode(sig).map_err(|_| SignatureError::Mismatch(method.name()))?;
    let sorted = sorted(params);
    let matched = secrets.iter().any(|secret| bool::from(digest(method, secret, &sorted).ct_eq(&given)));
    if !matched {
        return Err(SignatureError::Mismatch(method.name()));
    }
    let timestamp =
        find("timestamp").and_then(|v| v.parse::<i64>().ok()).ok_or(SignatureError::NoTimestamp)?;
    // A timestamp the provider sends is any i64: the difference saturates (i64::MIN - 1 is no skew to trust).
    let skew = now.unix_timestamp().saturating_sub(timestamp);
    if skew.saturating_abs() > MAX_SKEW.whole_seconds() {
        return Err(SignatureError::Stale(skew));
    }
    Ok(())
}
