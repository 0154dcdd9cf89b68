//! Provider credentials, held in `secrecy` types: never logged, never serialized into a response.
//!
//! To this port a channel's credentials are opaque: the provider's name and the provider's own fields, as
//! that provider's module (`smsdesk-providers`) wrote them. Only the provider's module reads the fields, so
//! adding a provider changes nothing here.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use smsdesk_domain::{ChannelId, ProviderKind, QueueId};

use crate::PortResult;

/// One channel's credentials: which provider, and that provider's fields (secrets among them).
#[derive(Clone)]
pub struct Credentials {
    provider: ProviderKind,
    /// The fields as a JSON object, kept secret as a whole: it holds API keys and tokens.
    fields: SecretString,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.fields().keys().cloned().collect();
        f.debug_struct("Credentials")
            .field("provider", &self.provider)
            .field("fields", &names)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Credentials of `provider` with these fields (a `provider` key among them is ignored).
    pub fn new(provider: ProviderKind, mut fields: Map<String, Value>) -> Self {
        fields.remove("provider");
        Self { provider, fields: SecretString::from(Value::Object(fields).to_string()) }
    }

    /// Credentials without fields (a provider that needs no secret).
    pub fn empty(provider: ProviderKind) -> Self {
        Self::new(provider, Map::new())
    }

    pub fn provider(&self) -> ProviderKind {
        self.provider
    }

    /// The provider's fields, secrets included. For the provider's module only.
    pub fn fields(&self) -> Map<String, Value> {
        match serde_json::from_str(self.fields.expose_secret()) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// The stored form (JSON): `{"provider": name, ...fields}`. Only secret-store adapters call this;
    /// nothing returns it to a client.
    pub fn to_stored_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("provider".into(), Value::String(self.provider.as_str().into()));
        map.extend(self.fields());
        Value::Object(map)
    }

    /// Reads the stored form back. The provider must be one smsdesk knows; the fields are the provider
    /// module's to check.
    pub fn from_stored_json(v: &Value) -> Result<Self, String> {
        let Value::Object(map) = v else { return Err("credentials are not a JSON object".into()) };
        let name = map.get("provider").and_then(Value::as_str).ok_or("missing provider")?;
        let provider = ProviderKind::parse(name).ok_or_else(|| format!("unknown provider {name}"))?;
        Ok(Self::new(provider, map.clone()))
    }
}

/// Channel credentials. AWS: Secrets Manager; embedded: the embedded database.
#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn put_credentials(&self, channel: &ChannelId, credentials: &Credentials) -> PortResult<()>;
    async fn get_credentials(&self, channel: &ChannelId) -> PortResult<Option<Credentials>>;
    /// The secret a queue's bot requests are signed with (replaced when it exists).
    async fn put_bot_secret(&self, queue: &QueueId, secret: &SecretString) -> PortResult<()>;
    async fn get_bot_secret(&self, queue: &QueueId) -> PortResult<Option<SecretString>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_form_round_trips_and_names_the_provider() {
        let stored = json!({"provider": "twilio", "account_sid": "AC1", "auth_token": "tok", "n": null});
        let creds = Credentials::from_stored_json(&stored).unwrap();
        assert_eq!(creds.provider(), ProviderKind::Twilio);
        assert_eq!(creds.to_stored_json(), stored);
        assert_eq!(creds.fields().get("auth_token"), Some(&json!("tok")));
        assert!(!creds.fields().contains_key("provider"));
    }

    #[test]
    fn unknown_or_missing_provider_is_refused() {
        assert!(Credentials::from_stored_json(&json!({"provider": "nope"})).is_err());
        assert!(Credentials::from_stored_json(&json!({"api_key": "x"})).is_err());
        assert!(Credentials::from_stored_json(&json!("x")).is_err());
    }

    #[test]
    fn debug_shows_field_names_only() {
        let creds =
            Credentials::from_stored_json(&json!({"provider": "telesign", "api_key": "s3cr3t"})).unwrap();
        let text = format!("{creds:?}");
        assert!(text.contains("api_key") && text.contains("Telesign") && !text.contains("s3cr3t"), "{text}");
    }
}
