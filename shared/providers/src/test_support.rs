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

impl SnsSigner {
    fn generate() -> Self {
        use rsa::pkcs8::EncodePrivateKey as _;
        // 2048 bits, as SNS's own signing certificates.
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
        let der = private.to_pkcs8_der().expect("the key as PKCS#8");
        let key = ring::signature::RsaKeyPair::from_pkcs8(der.as_bytes()).expect("ring reads the key");
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
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                sts.as_bytes(),
                &mut sig,
            )
            .expect("sign");
        envelope["SignatureVersion"] = json!("2");
        envelope["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig));
    }
}
