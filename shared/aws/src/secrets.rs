//! The Secrets Manager adapter of [`SecretStore`]: one secret per channel, named `<prefix><channel id>`,
//! holding the credentials' stored JSON form. Nothing here logs or returns a secret's value.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};
use smsdesk_domain::{ChannelId, QueueId};
use smsdesk_ports::{Credentials, PortError, PortResult, SecretStore};

use crate::error::port_error;
use crate::lazy::LazyClient;

/// The Secrets Manager adapter of the secret port.
#[derive(Clone, Debug)]
pub struct SecretsManagerStore {
    client: LazyClient<Client>,
    prefix: String,
}

impl SecretsManagerStore {
    /// Secrets are named `prefix` + channel id (the default prefix is `smsdesk/channels/`).
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self::with_lazy_client(LazyClient::ready(client), prefix)
    }

    /// As [`SecretsManagerStore::new`], with a client built on first use.
    pub fn with_lazy_client(client: LazyClient<Client>, prefix: impl Into<String>) -> Self {
        Self { client, prefix: prefix.into() }
    }

    /// The secret name of a channel's credentials (what IAM policies and operators refer to).
    pub fn secret_name(&self, channel: &ChannelId) -> String {
        format!("{}{channel}", self.prefix)
    }

    /// The secret name of a queue's bot secret (under the same prefix, so the same IAM grants cover it).
    pub fn bot_secret_name(&self, queue: &QueueId) -> String {
        format!("{}bot-{queue}", self.prefix)
    }

    /// Writes `value` as the secret `name`, creating it when it does not exist yet.
    async fn put_value(&self, name: &str, value: &SecretString) -> PortResult<()> {
        // Most puts are updates (key rotation) or creations; either order may race with another writer,
        // so each falls back to the other once.
        if self.put_version(name, value).await? || self.create(name, value).await? {
            return Ok(());
        }
        if self.put_version(name, value).await? {
            return Ok(());
        }
        Err(PortError::Unavailable(format!("secret {name} was created and removed while writing it")))
    }

    /// The string value of the secret `name`; None when there is no such secret.
    async fn get_value(&self, name: &str) -> PortResult<Option<SecretString>> {
        crate::usage::count("secretsmanager:GetSecretValue");
        let result = self.client.get_secret_value().secret_id(name).send().await;
        let out = match result {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
                return Ok(None);
            }
            Err(e) => return Err(port_error("GetSecretValue", e)),
        };
        match out.secret_string() {
            Some(text) => Ok(Some(SecretString::from(text.to_string()))),
            None => Err(PortError::Corrupt(format!("secret {name} has no string value"))),
        }
    }

    /// Writes a new version of an existing secret; false when there is no such secret yet.
    async fn put_version(&self, name: &str, value: &SecretString) -> PortResult<bool> {
        crate::usage::count("secretsmanager:PutSecretValue");
        let result =
            self.client.put_secret_value().secret_id(name).secret_string(value.expose_secret()).send().await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(false),
            Err(e) => Err(port_error("PutSecretValue", e)),
        }
    }

    /// Creates the secret; false when it exists already (another writer was first).
    async fn create(&self, name: &str, value: &SecretString) -> PortResult<bool> {
        crate::usage::count("secretsmanager:CreateSecret");
        let result = self.client.create_secret().name(name).secret_string(value.expose_secret()).send().await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()) => Ok(false),
            Err(e) => Err(port_error("CreateSecret", e)),
        }
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn put_credentials(&self, channel: &ChannelId, credentials: &Credentials) -> PortResult<()> {
        let name = self.secret_name(channel);
        let value = SecretString::from(credentials.to_stored_json().to_string());
        // Most puts are updates (key rotation) or creations of a new channel; either order may race
        // with another writer, so each falls back to the other once.
        if self.put_version(&name, &value).await? || self.create(&name, &value).await? {
            return Ok(());
        }
        if self.put_version(&name, &value).await? {
            return Ok(());
        }
        Err(PortError::Unavailable(format!("secret {name} was created and removed while writing it")))
    }

    async fn get_credentials(&self, channel: &ChannelId) -> PortResult<Option<Credentials>> {
        let name = self.secret_name(channel);
        crate::usage::count("secretsmanager:GetSecretValue");
        let result = self.client.get_secret_value().secret_id(&name).send().await;
        let out = match result {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
                return Ok(None);
            }
            Err(e) => return Err(port_error("GetSecretValue", e)),
        };
        let Some(text) = out.secret_string() else {
            return Err(PortError::Corrupt(format!("secret {name} has no string value")));
        };
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| PortError::Corrupt(format!("secret {name} is not JSON (line {})", e.line())))?;
        Credentials::from_stored_json(&json)
            .map(Some)
            .map_err(|e| PortError::Corrupt(format!("secret {name}: {e}")))
    }

    async fn put_bot_secret(&self, queue: &QueueId, secret: &SecretString) -> PortResult<()> {
        self.put_value(&self.bot_secret_name(queue), secret).await
    }

    async fn get_bot_secret(&self, queue: &QueueId) -> PortResult<Option<SecretString>> {
        self.get_value(&self.bot_secret_name(queue)).await
    }
}
