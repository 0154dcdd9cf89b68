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

/// The string Vonage signs.
pub fn string_to_sign(params: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> =
        params.iter().filter(|(k, _)| k != "sig").map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (k, v) in sorted {
        out.push('&');
        out.push_str(k);
        out.push('=');
        out.extend(v.chars().map(|c| if c == '&' || c == '=' { '_' } else { c }));
    }
    out
}

fn hmac_hex<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8]) -> String {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// The signature of `params` with `secret` by `method`, lowercase hex.
pub fn signature(method: SignatureMethod, secret: &SecretString, params: &[(String, String)]) -> String {
    let string = string_to_sign(params);
    let key = secret.expose_secret().as_bytes();
    match method {
        SignatureMethod::Md5Hash => {
            let mut hasher = Md5::new();
            hasher.update(string.as_bytes());
            hasher.update(key);
            hex::encode(hasher.finalize())
        }
        SignatureMethod::Md5 => hmac_hex::<Hmac<Md5>>(key, string.as_bytes()),
        SignatureMethod::Sha1 => hmac_hex::<Hmac<Sha1>>(key, string.as_bytes()),
        SignatureMethod::Sha256 => hmac_hex::<Hmac<Sha256>>(key, string.as_bytes()),
        SignatureMethod::Sha512 => hmac_hex::<Hmac<Sha512>>(key, string.as_bytes()),
    }
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

/// Checks `sig` with each secret, then the `timestamp`'s freshness.
pub fn verify(
    method: SignatureMethod,
    secrets: &[&SecretString],
    params: &[(String, String)],
    now: OffsetDateTime,
) -> Result<(), SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NotConfigured);
    }
    let sig =
        params.iter().find(|(k, _)| k == "sig").map(|(_, v)| v.trim()).ok_or(SignatureError::Missing)?;
    let given = sig.to_ascii_lowercase();
    let matched = secrets
        .iter()
        .any(|secret| bool::from(signature(method, secret, params).as_bytes().ct_eq(given.as_bytes())));
    if !matched {
        return Err(SignatureError::Mismatch(method.name()));
    }
    let timestamp = params
        .iter()
        .find(|(k, _)| k == "timestamp")
        .and_then(|(_, v)| v.trim().parse::<i64>().ok())
        .ok_or(SignatureError::NoTimestamp)?;
    let skew = now.unix_timestamp() - timestamp;
    if skew.abs() > MAX_SKEW.whole_seconds() {
        return Err(SignatureError::Stale(skew));
    }
    Ok(())
}
