//! ACS credentials: the resource's `endpoint` (`https://<resource>.communication.azure.com`) and
//! `access_key` (base64, Azure portal: Keys), and `event_grid_secret`: a random value of the admin's choice
//! that the Event Grid subscription's endpoint URL carries (`?secret=...`), since Event Grid does not sign
//! what it delivers.

use crate::credentials::{CredentialsError, REDACTED, input_object, required, stored, stored_str};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde_json::{Map, Value, json};
use smsdesk_domain::ProviderKind;
use smsdesk_ports::Credentials;

/// The shortest Event Grid secret accepted (it is the only thing authenticating inbound texts).
pub const MIN_SECRET_LEN: usize = 24;

#[derive(Clone, Debug)]
pub struct AcsCredentials {
    /// `https://<resource>.communication.azure.com`, no trailing slash.
    pub endpoint: String,
    pub access_key: SecretString,
    pub event_grid_secret: SecretString,
}

/// `https://` and a host (and port), nothing else; trailing slash dropped.
fn parse_endpoint(raw: &str) -> Result<String, CredentialsError> {
    let rule = |why: &str| CredentialsError::new("credentials.endpoint", why);
    let trimmed = raw.trim().trim_end_matches('/');
    let Some(authority) = trimmed.strip_prefix("https://") else {
        return Err(rule("must start with https:// (the ACS resource's endpoint, Azure portal: Keys)"));
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return Err(rule("must be https://<resource>.communication.azure.com, with no path or query"));
    }
    Ok(trimmed.to_string())
}

impl AcsCredentials {
    pub fn new(
        endpoint: impl Into<String>,
        access_key: SecretString,
        event_grid_secret: SecretString,
    ) -> Self {
        Self { endpoint: endpoint.into(), access_key, event_grid_secret }
    }

    /// From the admin API's `credentials` object.
    pub fn from_input(value: Option<&Value>) -> Result<Self, CredentialsError> {
        let obj = input_object(value)?;
        let endpoint = parse_endpoint(&required(obj, "endpoint")?)?;
        let access_key = required(obj, "access_key")?;
        if base64::engine::general_purpose::STANDARD.decode(access_key.as_bytes()).is_err() {
            return Err(CredentialsError::new(
                "credentials.access_key",
                "must be base64 (the resource's key, Azure portal: Keys)",
            ));
        }
        let secret = required(obj, "event_grid_secret")?;
        if secret.len() < MIN_SECRET_LEN
            || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return Err(CredentialsError::new(
                "credentials.event_grid_secret",
                format!(
                    "must be at least {MIN_SECRET_LEN} letters, digits, '-' or '_' (a random value; it goes in the Event Grid endpoint URL)"
                ),
            ));
        }
        Ok(Self::new(endpoint, SecretString::from(access_key), SecretString::from(secret)))
    }

    pub fn from_stored(credentials: &Credentials) -> Result<Self, CredentialsError> {
        let fields = stored(credentials, ProviderKind::Acs)?;
        Ok(Self {
            endpoint: stored_str(&fields, "endpoint")?,
            access_key: SecretString::from(stored_str(&fields, "access_key")?),
            event_grid_secret: SecretString::from(stored_str(&fields, "event_grid_secret")?),
        })
    }

    pub fn to_stored(&self) -> Credentials {
        let mut fields = Map::new();
        fields.insert("endpoint".into(), json!(self.endpoint));
        fields.insert("access_key".into(), json!(self.access_key.expose_secret()));
        fields.insert("event_grid_secret".into(), json!(self.event_grid_secret.expose_secret()));
        Credentials::new(ProviderKind::Acs, fields)
    }

    pub fn redacted(&self) -> Value {
        json!({"endpoint": self.endpoint, "access_key": REDACTED, "event_grid_secret": REDACTED})
    }

    /// The access key's bytes (base64-decoded), the HMAC key.
    pub fn key_bytes(&self) -> Result<SecretBox<Vec<u8>>, CredentialsError> {
        base64::engine::general_purpose::STANDARD
            .decode(self.access_key.expose_secret().as_bytes())
            .map(|k| SecretBox::new(Box::new(k)))
            .map_err(|_| CredentialsError::new("credentials.access_key", "is not base64"))
    }
}
