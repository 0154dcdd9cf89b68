//! Vonage's credentials: `api_key` and `api_secret` (API calls), and for signed webhooks
//! `signature_secret` with `signature_method` (`md5hash` by default; `md5`, `sha1`, `sha256`, `sha512` are
//! the HMAC methods). After a rotation the replaced signature secret keeps verifying webhooks for
//! [`ROTATION_GRACE`].

use super::signature::SignatureMethod;
use crate::credentials::{
    CredentialsError, REDACTED, ROTATION_GRACE, RetiredKey, input_object, optional, required, stored,
    stored_opt, stored_str,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use smsdesk_domain::ProviderKind;
use smsdesk_ports::Credentials;
use time::OffsetDateTime;

#[derive(Clone, Debug)]
pub struct VonageCredentials {
    pub api_key: String,
    pub api_secret: SecretString,
    /// Signs Vonage's webhooks; without it they cannot be verified and are refused.
    pub signature_secret: Option<SecretString>,
    pub signature_method: SignatureMethod,
    /// The signature secret a rotation replaced, still verifying webhooks until it expires.
    pub previous: Option<RetiredKey>,
}

impl VonageCredentials {
    pub fn new(api_key: impl Into<String>, api_secret: SecretString) -> Self {
        Self {
            api_key: api_key.into(),
            api_secret,
            signature_secret: None,
            signature_method: SignatureMethod::Md5Hash,
            previous: None,
        }
    }

    pub fn signed(mut self, secret: SecretString, method: SignatureMethod) -> Self {
        self.signature_secret = Some(secret);
        self.signature_method = method;
        self
    }

    pub fn from_input(value: Option<&Value>) -> Result<Self, CredentialsError> {
        let obj = input_object(value)?;
        let mut creds =
            Self::new(required(obj, "api_key")?, SecretString::from(required(obj, "api_secret")?));
        let secret = optional(obj, "signature_secret")?;
        let method = optional(obj, "signature_method")?;
        if let Some(name) = method.as_deref() {
            creds.signature_method = SignatureMethod::parse(name).ok_or_else(|| {
                CredentialsError::new(
                    "credentials.signature_method",
                    format!("'{name}' is not one of {}", SignatureMethod::NAMES.join(", ")),
                )
            })?;
            if secret.is_none() {
                return Err(CredentialsError::new(
                    "credentials.signature_method",
                    "needs credentials.signature_secret",
                ));
            }
        }
        creds.signature_secret = secret.map(SecretString::from);
        Ok(creds)
    }

    pub fn from_stored(credentials: &Credentials) -> Result<Self, CredentialsError> {
        let fields = stored(credentials, ProviderKind::Vonage)?;
        let method = match stored_opt(&fields, "signature_method") {
            None => SignatureMethod::Md5Hash,
            Some(name) => SignatureMethod::parse(&name).ok_or_else(|| {
                CredentialsError::new("credentials.signature_method", format!("'{name}' is not known"))
            })?,
        };
        Ok(Self {
            api_key: stored_str(&fields, "api_key")?,
            api_secret: SecretString::from(stored_str(&fields, "api_secret")?),
            signature_secret: stored_opt(&fields, "signature_secret").map(SecretString::from),
            signature_method: method,
            previous: RetiredKey::read(&fields, "signature_secret")?,
        })
    }

    /// The stored form: `api_key`, `api_secret`, `signature_secret`, `signature_method` (null when
    /// unsigned), and after a rotation `previous_signature_secret` and `previous_valid_until`.
    pub fn to_stored(&self) -> Credentials {
        let mut fields = Map::new();
        fields.insert("api_key".into(), json!(self.api_key));
        fields.insert("api_secret".into(), json!(self.api_secret.expose_secret()));
        fields.insert(
            "signature_secret".into(),
            self.signature_secret.as_ref().map_or(Value::Null, |s| json!(s.expose_secret())),
        );
        fields.insert(
            "signature_method".into(),
            self.signature_secret.as_ref().map_or(Value::Null, |_| json!(self.signature_method.name())),
        );
        if self.previous.is_some() {
            RetiredKey::write(&mut fields, "signature_secret", self.previous.as_ref());
        }
        Credentials::new(ProviderKind::Vonage, fields)
    }

    pub fn redacted(&self) -> Value {
        let mut view = json!({"api_key": self.api_key, "api_secret": REDACTED});
        if self.signature_secret.is_some() {
            view["signature_secret"] = json!(REDACTED);
            view["signature_method"] = json!(self.signature_method.name());
        }
        if let Some(until) = RetiredKey::redacted_until(self.previous.as_ref()) {
            view["previous_key_valid_until"] = until;
        }
        view
    }

    /// Same account, new signature secret: the old one verifies webhooks for the grace.
    pub fn rotated_from(mut self, old: &VonageCredentials, now: OffsetDateTime) -> Self {
        if let (Some(new), Some(old_secret)) = (&self.signature_secret, &old.signature_secret)
            && self.api_key == old.api_key
            && new.expose_secret() != old_secret.expose_secret()
        {
            self.previous = Some(RetiredKey { key: old_secret.clone(), until: now + ROTATION_GRACE });
        }
        self
    }

    /// The secrets that may have signed a webhook at `now`: the current one, then a retired one.
    pub fn webhook_secrets(&self, now: OffsetDateTime) -> Vec<&SecretString> {
        let previous = self.previous.as_ref().filter(|p| p.active(now)).map(|p| &p.key);
        self.signature_secret.iter().chain(previous).collect()
    }
}
