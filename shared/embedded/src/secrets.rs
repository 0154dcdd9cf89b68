//! Channel credentials in their own table. Only this port reads it; no listing or record includes it.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use secrecy::{ExposeSecret, SecretString};
use smsdesk_domain::{ChannelId, QueueId};
use smsdesk_ports::{Credentials, PortError, PortResult, SecretStore};

use crate::EmbeddedStore;
use crate::db::{Cached, sql};
use crate::rows::one;

#[async_trait]
impl SecretStore for EmbeddedStore {
    async fn put_credentials(&self, channel: &ChannelId, credentials: &Credentials) -> PortResult<()> {
        let (channel, body) = (channel.to_string(), credentials.to_stored_json().to_string());
        self.db
            .tx(move |tx| {
                tx.execute_cached(
                    "INSERT OR REPLACE INTO credentials (channel_id, body) VALUES (?1, ?2)",
                    params![channel, body],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn get_credentials(&self, channel: &ChannelId) -> PortResult<Option<Credentials>> {
        let channel = channel.to_string();
        let stored: Option<serde_json::Value> = self
            .db
            .read(move |tx| one(tx, "SELECT body FROM credentials WHERE channel_id = ?1", [channel]))
            .await?;
        stored
            .map(|v| {
                Credentials::from_stored_json(&v).map_err(|e| PortError::Corrupt(format!("credentials: {e}")))
            })
            .transpose()
    }

    async fn put_bot_secret(&self, queue: &QueueId, secret: &SecretString) -> PortResult<()> {
        let (queue, secret) = (queue.to_string(), secret.expose_secret().to_string());
        self.db
            .tx(move |tx| {
                tx.execute_cached(
                    "INSERT OR REPLACE INTO bot_secrets (queue_id, secret) VALUES (?1, ?2)",
                    params![queue, secret],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn get_bot_secret(&self, queue: &QueueId) -> PortResult<Option<SecretString>> {
        let queue = queue.to_string();
        let secret: Option<String> = self
            .db
            .read(move |tx| {
                tx.query_row_cached("SELECT secret FROM bot_secrets WHERE queue_id = ?1", [queue], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(sql)
            })
            .await?;
        Ok(secret.map(SecretString::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_corrupt_row_is_reported_as_corrupt() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        store
            .db
            .tx(|tx| {
                tx.execute_cached("INSERT INTO credentials VALUES ('ch_bad', '{\"provider\":\"nope\"}')", [])
                    .map_err(sql)?;
                Ok(())
            })
            .await
            .unwrap();
        let err = store.get_credentials(&ChannelId::new("ch_bad")).await.unwrap_err();
        assert!(matches!(err, PortError::Corrupt(_)), "{err}");
    }
}
