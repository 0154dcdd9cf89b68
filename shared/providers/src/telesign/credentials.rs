//! TeleSign's credentials: `customer_id` and `api_key` (base64, as TeleSign issues it). After a rotation the
//! replaced key keeps verifying callbacks for [`ROTATION_GRACE`].

use crate::credentials::{
    CredentialsError, REDACTED, ROTATION_GRACE, RetiredKey, input_object, required, stored, stored_str,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use smsdesk_domain::ProviderKind;
use smsdesk_ports::Credentials;
use time::OffsetDateTime;

#[derive(Clone, Debug)]
pub struct TelesignCredentials {
    pub customer_id: String,
    /// Base64 as TeleSign issues it; decoded only to sign.
    pub api_key: SecretString,
    /// After a key rotation, the key it replaced: callbacks signed with it are still accepted until it
    /// expires, so texts in flight during the change-over are not refused. Never used to send.
    pub previous: Option<RetiredKey>,
}

impl TelesignCredentials {
    pub fn new(customer_id: impl Into<String>, api_key: SecretString) -> Self {
        Self { customer_id: customer_id.into(), api_key, previous: None }
    }

    /// From the admin API's `credentials` object.
    pub fn from_input(value: Option<&Value>) -> Result<Self, CredentialsError> {
        let obj = input_object(value)?;
        Ok(Self::new(required(obj, "customer_id")?, SecretString::from(required(obj, "api_key")?)))
    }

    /// From the stored form.
    pub fn from_stored(credentials: &Credentials) -> Result<Self, CredentialsError> {
        let fields = stored(credentials, ProviderKind::Telesign)?;
        Ok(Self {
            customer_id: stored_str(&fields, "customer_id")?,
            api_key: SecretString::from(stored_str(&fields, "api_key")?),
            previous: RetiredKey::read(&fields, "api_key")?,
        })
    }

    /// The stored form: `customer_id`, `api_key`, `previous_api_key`, `previous_valid_until`.
    pub fn to_stored(&self) -> Credentials {
        let mut fields = Map::new();
        fields.insert("customer_id".into(), json!(self.customer_id));
        fields.insert("api_key".into(), json!(self.api_key.expose_secret()));
        RetiredKey::write(&mut fields, "api_key", self.previous.as_ref());
        Credentials::new(ProviderKind::Telesign, fields)
    }

    /// As reads show them.
    pub fn redacted(&self) -> Value {
        let mut view = json!({"customer_id": self.customer_id, "api_key": REDACTED});
        if let Some(until) = RetiredKey::redacted_until(self.previous.as_ref()) {
            view["previous_key_valid_until"] = until;
        }
        view
    }

    /// `self` replaces `old`: when the account stays and the key changes, the old key keeps verifying
    /// callbacks for [`ROTATION_GRACE`].
    pub fn rotated_from(mut self, old: &TelesignCredentials, now: OffsetDateTime) -> Self {
        if self.customer_id.eq_ignore_ascii_case(&old.customer_id)
            && self.api_key.expose_secret() != old.api_key.expose_secret()
        {
            self.previous = Some(RetiredKey { key: old.api_key.clone(), until: now + ROTATION_GRACE });
        }
        self
    }
}
