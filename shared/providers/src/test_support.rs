//! Test support (feature `test-support`, and this crate's own tests): a signing identity for SNS messages,
//! made when a test first asks for it, so no private key is ever committed.
//!
//! The tests of the AWS provider, the black-box fake SNS (`tests/src/fake_providers.rs`) and the webhook
//! benchmark sign their own SNS messages with it; a fake host on loopback (or `Aws::with_certificate`)
//! serves its self-signed certificate. *ring* cannot generate RSA keys, so the `rsa` crate makes one and
//! `rcgen` (over *ring*) self-signs the certificate for `sns.test.local`. Once per process: a 2048-bit key
//! takes a moment to find.

use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{Value, json};

/// An RSA key and its self-signed certificate, trusted by nothing.
pub struct SnsSigner {
    key: ring::signature::RsaKeyPair,
    cert_pem: String,
}

/// The process's SNS signing identity, made on first use.
pub fn sns_signer() -> &'static SnsSigner {
    static SIGNER: OnceLock<SnsSigner> = OnceLock::new();
    SIGNER.get_or_init(SnsSigner::generate)
}

/// A fresh 2048-bit RSA key, and the same key as *ring* signs with.
fn rsa_key() -> (rsa::RsaPrivateKey, ring::signature::RsaKeyPair) {
    use rsa::pkcs8::EncodePrivateKey as _;
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
    let der = private.to_pkcs8_der().expect("the key as PKCS#8");
    let key = ring::signature::RsaKeyPair::from_pkcs8(der.as_bytes()).expect("ring reads the key");
    (private, key)
}

/// RSA PKCS#1 v1.5 with SHA-256 (SNS SignatureVersion 2, JWT RS256).
fn sign_rs256(key: &ring::signature::RsaKeyPair, message: &[u8]) -> Vec<u8> {
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), message, &mut sig)
        .expect("sign");
    sig
}

impl SnsSigner {
    fn generate() -> Self {
        use rsa::pkcs8::EncodePrivateKey as _;
        // 2048 bits, as SNS's own signing certificates.
        let (private, key) = rsa_key();
        let pem = private.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).expect("the key as PEM");
        let pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)
            .expect("rcgen reads the key");
        let params = rcgen::CertificateParams::new(vec!["sns.test.local".to_string()]).expect("params");
        let cert_pem = params.self_signed(&pair).expect("a self-signed certificate").pem();
        Self { key, cert_pem }
    }

    /// The certificate (PEM) whose key signs: what the fake `SigningCertURL` host serves.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Signs an SNS envelope in place with SignatureVersion 2 (RSA PKCS#1 v1.5, SHA-256): sets
    /// `SignatureVersion` and `Signature`. The string to sign is built here from AWS's documented key lists
    /// (`key\nvalue\n` for each key present, in this order), not by the code under test.
    pub fn sign_v2(&self, envelope: &mut Value) {
        let keys: &[&str] = match envelope["Type"].as_str() {
            Some("Notification") => &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
            _ => &["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
        };
        let mut sts = String::new();
        for k in keys {
            if let Some(v) = envelope[*k].as_str() {
                sts.push_str(&format!("{k}\n{v}\n"));
            }
        }
        let sig = sign_rs256(&self.key, sts.as_bytes());
        envelope["SignatureVersion"] = json!("2");
        envelope["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig));
    }
}

/// An OpenID Connect issuer's signing key for tests: it signs JWTs (RS256, key id [`JwtIssuerKey::KID`])
/// and publishes itself as a JWKS, as an identity provider (Cognito) does.
pub struct JwtIssuerKey {
    key: ring::signature::RsaKeyPair,
    /// The public modulus and exponent, base64url (the JWK's `n` and `e`).
    n: String,
    e: String,
}

/// The process's JWT issuer key, made on first use.
pub fn jwt_issuer_key() -> &'static JwtIssuerKey {
    static KEY: OnceLock<JwtIssuerKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::traits::PublicKeyParts as _;
        let (private, key) = rsa_key();
        let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        JwtIssuerKey { key, n: b64(private.n().to_bytes_be()), e: b64(private.e().to_bytes_be()) }
    })
}

impl JwtIssuerKey {
    pub const KID: &'static str = "e2e-key-1";

    /// The issuer's JWKS document (`jwks_uri`).
    pub fn jwks(&self) -> Value {
        json!({"keys": [{"kty": "RSA", "kid": Self::KID, "use": "sig", "alg": "RS256", "n": self.n, "e": self.e}]})
    }

    /// A compact JWS (RS256) of `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": Self::KID});
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let signature = sign_rs256(&self.key, input.as_bytes());
        format!("{input}.{}", b64(&signature))
    }
}
