//! Provider credentials, held in `secrecy` types: never logged, never serialized into a response.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use smsdesk_domain::ChannelId;

use crate::PortResult;

#[derive(Clone, Debug)]
pub struct TelesignCredentials {
    pub customer_id: String,
    /// Base64 as TeleSign issues it; decoded only to sign.
    pub api_key: SecretString,
    /// After a key rotation, the key it replaced: callbacks signed with it are still accepted until
    /// `until`, so texts in flight during the change-over are not refused. Never used to send.
    pub previous: Option<RetiredKey>,
}

impl TelesignCredentials {
    pub fn new(customer_id: impl Into<String>, api_key: SecretString) -> Self {
        Self { customer_id: customer_id.into(), api_key, previous: None }
    }
}

/// A key that was rotated out, still trusted to verify webhooks for a while.
#[derive(Clone, Debug)]
pub struct RetiredKey {
    pub api_key: SecretString,
    pub until: time::OffsetDateTime,
}

/// One channel's credentials, by provider.
#[derive(Clone, Debug)]
pub enum Credentials {
    Telesign(TelesignCredentials),
    Twilio {
        account_sid: String,
        auth_token: SecretString,
    },
    Acs {
        endpoint: String,
        access_key: SecretString,
    },
    Vonage {
        api_key: String,
        api_secret: SecretString,
        signature_secret: Option<SecretString>,
        signature_method: Option<String>,
    },
    Aws {
        region: String,
        origination_identity: String,
    },
    /// The sandbox provider needs no secret; webhooks to it are authenticated by the admin token.
    Sandbox,
}

impl Credentials {
    /// The stored form (JSON). Only secret-store adapters call this; nothing returns it to a client.
    pub fn to_stored_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Credentials::Telesign(c) => json!({"provider": "telesign", "customer_id": c.customer_id,
                "api_key": c.api_key.expose_secret(),
                "previous_api_key": c.previous.as_ref().map(|p| p.api_key.expose_secret().to_string()),
                "previous_valid_until": c.previous.as_ref().map(|p| p.until.unix_timestamp())}),
            Credentials::Twilio { account_sid, auth_token } => json!({"provider": "twilio",
                "account_sid": account_sid, "auth_token": auth_token.expose_secret()}),
            Credentials::Acs { endpoint, access_key } => json!({"provider": "acs", "endpoint": endpoint,
                "access_key": access_key.expose_secret()}),
            Credentials::Vonage { api_key, api_secret, signature_secret, signature_method } => json!({
                "provider": "vonage", "api_key": api_key, "api_secret": api_secret.expose_secret(),
                "signature_secret": signature_secret.as_ref().map(|s| s.expose_secret().to_string()),
                "signature_method": signature_method}),
            Credentials::Aws { region, origination_identity } => json!({"provider": "aws", "region": region,
                "origination_identity": origination_identity}),
            Credentials::Sandbox => json!({"provider": "sandbox"}),
        }
    }

    /// Reads the stored form back.
    pub fn from_stored_json(v: &serde_json::Value) -> Result<Self, String> {
        let s = |k: &str| -> Result<String, String> {
            v.get(k).and_then(|x| x.as_str()).map(str::to_string).ok_or_else(|| format!("missing {k}"))
        };
        let opt = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        Ok(match s("provider")?.as_str() {
            "telesign" => Credentials::Telesign(TelesignCredentials {
                customer_id: s("customer_id")?,
                api_key: SecretString::from(s("api_key")?),
                previous: match (
                    opt("previous_api_key"),
                    v.get("previous_valid_until").and_then(|x| x.as_i64()),
                ) {
                    (Some(key), Some(until)) => Some(RetiredKey {
                        api_key: SecretString::from(key),
                        until: time::OffsetDateTime::from_unix_timestamp(until)
                            .map_err(|e| format!("previous_valid_until: {e}"))?,
                    }),
                    _ => None,
                },
            }),
            "twilio" => Credentials::Twilio {
                account_sid: s("account_sid")?,
                auth_token: SecretString::from(s("auth_token")?),
            },
            "acs" => Credentials::Acs {
                endpoint: s("endpoint")?,
                access_key: SecretString::from(s("access_key")?),
            },
            "vonage" => Credentials::Vonage {
                api_key: s("api_key")?,
                api_secret: SecretString::from(s("api_secret")?),
                signature_secret: opt("signature_secret").map(SecretString::from),
                signature_method: opt("signature_method"),
            },
            "aws" => {
                Credentials::Aws { region: s("region")?, origination_identity: s("origination_identity")? }
            }
            "sandbox" => Credentials::Sandbox,
            other => return Err(format!("unknown provider {other}")),
        })
    }
}

/// Channel credentials. AWS: Secrets Manager; embedded: the embedded database.
#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn put_credentials(&self, channel: &ChannelId, credentials: &Credentials) -> PortResult<()>;
    async fn get_credentials(&self, channel: &ChannelId) -> PortResult<Option<Credentials>>;
}
