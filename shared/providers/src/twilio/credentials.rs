//! Twilio's credentials: `account_sid` (`AC` + 32 hex digits) and `auth_token`. The auth token both
//! authenticates our API calls (Basic) and signs Twilio's webhooks, so after a rotation (Twilio's secondary
//! token promoted) the replaced token keeps verifying webhooks for [`ROTATION_GRACE`].

use crate::credentials::{
    CredentialsError, REDACTED, ROTATION_GRACE, RetiredKey, input_object, required, stored, stored_str,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use smsdesk_domain::ProviderKind;
use smsdesk_ports::Credentials;
use time::OffsetDateTime;

#[derive(Clone, Debug)]
pub struct TwilioCredentials {
    pub account_sid: String,
    pub auth_token: SecretString,
    /// The token a rotation replaced: still verifies webhooks until it expires; never used to send.
    pub previous: Option<RetiredKey>,
}

/// `AC` followed by 32 hex digits.
fn is_account_sid(s: &str) -> bool {
    s.len() == 34 && s.starts_with("AC") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl TwilioCredentials {
    pub fn new(account_sid: impl Into<String>, auth_token: SecretString) -> Self {
        Self { account_sid: account_sid.into(), auth_token, previous: None }
    }

    /// From the admin API's `credentials` object.
    pub fn from_input(value: Option<&Value>) -> Result<Self, CredentialsError> {
        let obj = input_object(value)?;
        let account_sid = required(obj, "account_sid")?;
        if !is_account_sid(&account_sid) {
            return Err(CredentialsError::new(
                "credentials.account_sid",
                "must be 'AC' followed by 32 hexadecimal digits (Twilio Console, Account Info)",
            ));
        }
        let auth_token = required(obj, "auth_token")?;
        Ok(Self::new(account_sid, SecretString::from(auth_token)))
    }

    pub fn from_stored(credentials: &Credentials) -> Result<Self, CredentialsError> {
        let fields = stored(credentials, ProviderKind::Twilio)?;
        Ok(Self {
            account_sid: stored_str(&fields, "account_sid")?,
            auth_token: SecretString::from(stored_str(&fields, "auth_token")?),
            previous: RetiredKey::read(&fields, "auth_token")?,
        })
    }

    /// The stored form: `account_sid`, `auth_token`, and after a rotation `previous_auth_token` and
    /// `previous_valid_until`.
    pub fn to_stored(&self) -> Credentials {
        let mut fields = Map::new();
        fields.insert("account_sid".into(), json!(self.account_sid));
        fields.insert("auth_token".into(), json!(self.auth_token.expose_secret()));
        if self.previous.is_some() {
            RetiredKey::write(&mut fields, "auth_token", self.previous.as_ref());
        }
        Credentials::new(ProviderKind::Twilio, fields)
    }

    pub fn redacted(&self) -> Value {
        let mut view = json!({"account_sid": self.account_sid, "auth_token": REDACTED});
        if let Some(until) = RetiredKey::redacted_until(self.previous.as_ref()) {
            view["previous_key_valid_until"] = until;
        }
        view
    }

    /// `self` replaces `old`: same account, new token: the old token verifies webhooks for the grace.
    pub fn rotated_from(mut self, old: &TwilioCredentials, now: OffsetDateTime) -> Self {
        if self.account_sid == old.account_sid
            && self.auth_token.expose_secret() != old.auth_token.expose_secret()
        {
            self.previous = Some(RetiredKey { key: old.auth_token.clone(), until: now + ROTATION_GRACE });
        }
        self
    }

    /// The tokens that may have signed a webhook at `now`: the current one, then the retired one.
    pub fn webhook_keys(&self, now: OffsetDateTime) -> smallvec::SmallVec<[&SecretString; 2]> {
        let previous = self.previous.as_ref().filter(|p| p.active(now)).map(|p| &p.key);
        std::iter::once(&self.auth_token).chain(previous).collect()
    }
}
