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
use subtle::ConstantTimeEq;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
/// The query parameter Twilio adds to the URL of a JSON request.
pub const BODY_HASH_PARAM: &str = "bodySHA256";

/// The string Twilio signs: the URL, then `name + value` for each parameter, names in code-point order and
/// each name's distinct values sorted.
pub fn string_to_sign(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out =
        String::with_capacity(url.len() + params.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>());
    out.push_str(url);
    for (k, v) in sorted {
        out.push_str(k);
        out.push_str(v);
    }
    out
}

/// `b64(HMAC-SHA1(auth_token, string))`.
pub fn sign(auth_token: &SecretString, string_to_sign: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.expose_secret().as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The signature of a form request (or of a JSON request's URL, with no params).
pub fn signature(auth_token: &SecretString, url: &str, params: &[(String, String)]) -> String {
    sign(auth_token, &string_to_sign(url, params))
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

/// What a check looked at, for the log and for `smsdesk webhook verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The URL variant that matched.
    pub url: String,
    /// True when the request was a JSON one (signed over the URL alone after the body hash matched).
    pub json_body: bool,
}

/// Why a request is not Twilio's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Twilio-Signature header")]
    Missing,
    #[error("the body does not match the URL's bodySHA256")]
    BodyHashMismatch,
    #[error("the body is not a form: {0}")]
    NotAForm(String),
    #[error("signature does not match (tried {tried} URL variants)")]
    Mismatch { tried: usize },
}

/// The parameters a request signs: the form body's for a POST, none for a GET (they are in the URL) or for
/// a JSON request.
fn signed_params(request: &WebhookRequest<'_>) -> Result<Vec<(String, String)>, SignatureError> {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Ok(Vec::new());
    }
    serde_urlencoded::from_bytes(request.body).map_err(|e| SignatureError::NotAForm(e.to_string()))
}

/// The `bodySHA256` query value, if the URL carries one.
fn body_hash_param(request: &WebhookRequest<'_>) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(request.query())
        .ok()?
        .into_iter()
        .find(|(k, _)| k == BODY_HASH_PARAM)
        .map(|(_, v)| v)
}

/// Checks `X-Twilio-Signature` against each key (current token first, then a retired one) and each URL
/// variant, in constant time per comparison.
pub fn verify(keys: &[&SecretString], request: &WebhookRequest<'_>) -> Result<Verified, SignatureError> {
    let header = request.header(SIGNATURE_HEADER).map(str::trim).ok_or(SignatureError::Missing)?;
    let (params, json_body) = match body_hash_param(request) {
        Some(expected) => {
            let actual = body_sha256(request.body);
            if !bool::from(actual.as_bytes().ct_eq(expected.to_ascii_lowercase().as_bytes())) {
                return Err(SignatureError::BodyHashMismatch);
            }
            (Vec::new(), true)
        }
        None => (signed_params(request)?, false),
    };
    let variants = url_variants(request.url);
    for key in keys {
        for url in &variants {
            let expected = signature(key, url, &params);
            if bool::from(expected.as_bytes().ct_eq(header.as_bytes())) {
                return Ok(Verified { url: url.clone(), json_body });
            }
        }
    }
    Err(SignatureError::Mismatch { tried: variants.len() })
}
