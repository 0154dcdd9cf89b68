//! ACS HMAC-SHA256 request signing (Azure SDKs' `HMACCredentialsPolicy`): the string to sign is
//! `VERB\npath_and_query\nx-ms-date;host;x-ms-content-sha256`, signed with the base64-decoded access key;
//! `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<b64>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The headers ACS signs, in order.
pub const SIGNED_HEADERS: &str = "x-ms-date;host;x-ms-content-sha256";

/// `b64(SHA-256(body))`: the `x-ms-content-sha256` header.
pub fn content_hash(body: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(body))
}

/// The string ACS signs.
pub fn string_to_sign(method: &str, path_and_query: &str, date: &str, host: &str, hash: &str) -> String {
    format!("{}\n{path_and_query}\n{date};{host};{hash}", method.to_ascii_uppercase())
}

/// `b64(HMAC-SHA256(key, message))` with the already decoded access key.
pub fn hmac_b64(key: &[u8], message: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(message);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The headers of one signed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    pub date: String,
    pub content_hash: String,
    pub authorization: String,
}

/// Signs a request to `host` (the authority: host, and `:port` when not the default) at `date` (RFC 1123).
pub fn sign(
    key: &[u8],
    method: &str,
    path_and_query: &str,
    host: &str,
    date: &str,
    body: &[u8],
) -> SignedHeaders {
    let hash = content_hash(body);
    let sts = string_to_sign(method, path_and_query, date, host, &hash);
    let signature = hmac_b64(key, sts.as_bytes());
    SignedHeaders {
        date: date.to_string(),
        content_hash: hash,
        authorization: format!("HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature={signature}"),
    }
}
