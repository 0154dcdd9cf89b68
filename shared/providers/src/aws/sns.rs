//! SNS HTTPS deliveries: the message envelope, its string to sign, the signing certificate's URL rules
//! (https, a `sns.<region>.amazonaws.com` host, a `.pem` path), and the RSA PKCS#1 v1.5 signature:
//! SignatureVersion 1 with SHA-1, 2 with SHA-256 (checked by *ring*).

use serde_json::{Map, Value};
use time::OffsetDateTime;
use x509_cert::der::DecodePem;

/// One SNS message as delivered to an HTTPS endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub kind: String,
    pub message_id: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    pub signature_version: String,
    pub signature: String,
    pub signing_cert_url: String,
    pub subscribe_url: Option<String>,
    pub token: Option<String>,
}

/// Why an envelope is not SNS's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnsError {
    #[error("body is not an SNS message: {0}")]
    Malformed(String),
    #[error("{0}")]
    Refused(String),
}

fn text(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| obj.get(*k).and_then(Value::as_str).map(str::to_string))
}

impl Envelope {
    /// Reads the JSON body (`SigningCertURL` or Lambda's `SigningCertUrl`).
    pub fn parse(body: &[u8]) -> Result<Self, SnsError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| SnsError::Malformed(format!("not JSON: {e}")))?;
        let Value::Object(obj) = v else { return Err(SnsError::Malformed("not a JSON object".into())) };
        let need = |keys: &[&str]| {
            text(&obj, keys).ok_or_else(|| SnsError::Malformed(format!("missing {}", keys[0])))
        };
        Ok(Self {
            kind: need(&["Type"])?,
            message_id: need(&["MessageId"])?,
            topic_arn: need(&["TopicArn"])?,
            subject: text(&obj, &["Subject"]),
            message: need(&["Message"])?,
            timestamp: need(&["Timestamp"])?,
            signature_version: need(&["SignatureVersion"])?,
            signature: need(&["Signature"])?,
            signing_cert_url: need(&["SigningCertURL", "SigningCertUrl"])?,
            subscribe_url: text(&obj, &["SubscribeURL", "SubscribeUrl"]),
            token: text(&obj, &["Token"]),
        })
    }

    /// The string SNS signs: `key\nvalue\n` for each key in order; Notification: Message, MessageId,
    /// Subject (when present), Timestamp, TopicArn, Type; confirmations: Message, MessageId, SubscribeURL,
    /// Timestamp, Token, TopicArn, Type.
    pub fn string_to_sign(&self) -> Result<String, SnsError> {
        let mut out = String::with_capacity(self.message.len() + 256);
        let mut put = |k: &str, v: &str| {
            out.push_str(k);
            out.push('\n');
            out.push_str(v);
            out.push('\n');
        };
        match self.kind.as_str() {
            "Notification" => {
                put("Message", &self.message);
                put("MessageId", &self.message_id);
                if let Some(subject) = &self.subject {
                    put("Subject", subject);
                }
                put("Timestamp", &self.timestamp);
                put("TopicArn", &self.topic_arn);
                put("Type", &self.kind);
            }
            "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
                let missing = |k: &str| SnsError::Malformed(format!("{} without {k}", self.kind));
                put("Message", &self.message);
                put("MessageId", &self.message_id);
                put("SubscribeURL", self.subscribe_url.as_deref().ok_or_else(|| missing("SubscribeURL"))?);
                put("Timestamp", &self.timestamp);
                put("Token", self.token.as_deref().ok_or_else(|| missing("Token"))?);
                put("TopicArn", &self.topic_arn);
                put("Type", &self.kind);
            }
            other => return Err(SnsError::Malformed(format!("unknown Type '{other}'"))),
        }
        Ok(out)
    }
}

/// `sns.<region>.amazonaws.com` (or `.com.cn`), as the AWS SDKs' validators require.
pub fn is_sns_host(host: &str) -> bool {
    let rest = host.strip_suffix(".amazonaws.com").or_else(|| host.strip_suffix(".amazonaws.com.cn"));
    let Some(region) = rest.and_then(|r| r.strip_prefix("sns.")) else { return false };
    region.len() >= 3 && region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `localhost` or a loopback IP literal (with or without a port).
fn is_loopback(authority: &str) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A URL an SNS message names (certificate, subscription) may be fetched only when it is `https://` on an
/// SNS host with no user info and no explicit port, or (`allow_loopback_http`: dev and tests) plain
/// `http://` to a loopback host.
pub fn check_sns_url(url: &str, what: &str, allow_loopback_http: bool) -> Result<(), SnsError> {
    let refused = |why: &str| SnsError::Refused(format!("{what} {url:?} {why}"));
    let (scheme, rest) = url.split_once("://").ok_or_else(|| refused("is not a URL"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') {
        return Err(refused("carries user info"));
    }
    match scheme {
        "https" if is_sns_host(authority) => Ok(()),
        "http" if allow_loopback_http && is_loopback(authority) => Ok(()),
        "https" => Err(refused("is not on an SNS host (sns.<region>.amazonaws.com)")),
        _ => Err(refused("is not https://")),
    }
}

/// The certificate URL: an SNS URL whose path ends in `.pem`.
pub fn check_cert_url(url: &str, allow_loopback_http: bool) -> Result<(), SnsError> {
    check_sns_url(url, "SigningCertURL", allow_loopback_http)?;
    let path = url.split(['?', '#']).next().unwrap_or_default();
    if !path.ends_with(".pem") {
        return Err(SnsError::Refused(format!("SigningCertURL {url:?} is not a .pem file")));
    }
    Ok(())
}

/// The public key of an SNS signing certificate, and when the certificate expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningCert {
    /// DER RSAPublicKey (the certificate's subjectPublicKey).
    pub public_key: Vec<u8>,
    pub not_after: OffsetDateTime,
    pub subject: String,
}

/// rsaEncryption.
const RSA_OID: &str = "1.2.840.113549.1.1.1";

impl SigningCert {
    /// Reads a PEM certificate with an RSA key.
    pub fn from_pem(pem: &[u8]) -> Result<Self, SnsError> {
        let cert = x509_cert::Certificate::from_pem(pem)
            .map_err(|e| SnsError::Refused(format!("the signing certificate cannot be read: {e}")))?;
        let tbs = &cert.tbs_certificate;
        let spki = &tbs.subject_public_key_info;
        if spki.algorithm.oid.to_string() != RSA_OID {
            return Err(SnsError::Refused("the signing certificate's key is not RSA".into()));
        }
        let public_key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| SnsError::Refused("the signing certificate's key is not whole bytes".into()))?
            .to_vec();
        let secs = tbs.validity.not_after.to_unix_duration().as_secs();
        let not_after = OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Ok(Self { public_key, not_after, subject: tbs.subject.to_string() })
    }

    pub fn expired(&self, now: OffsetDateTime) -> bool {
        now > self.not_after
    }
}

/// Checks the envelope's signature with the certificate. Answers the string it signed.
pub fn verify(envelope: &Envelope, cert: &SigningCert) -> Result<String, SnsError> {
    use base64::Engine as _;
    let algorithm: &dyn ring::signature::VerificationAlgorithm = match envelope.signature_version.as_str() {
        "1" => &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        "2" => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        other => return Err(SnsError::Refused(format!("SignatureVersion '{other}' is neither 1 nor 2"))),
    };
    let sts = envelope.string_to_sign()?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(envelope.signature.trim())
        .map_err(|_| SnsError::Refused("Signature is not base64".into()))?;
    ring::signature::UnparsedPublicKey::new(algorithm, &cert.public_key)
        .verify(sts.as_bytes(), &signature)
        .map_err(|_| SnsError::Refused("the SNS signature does not match".into()))?;
    Ok(sts)
}
