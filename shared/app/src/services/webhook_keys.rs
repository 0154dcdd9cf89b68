//! Channel credentials as the webhook path reads them: kept in memory for a short while, so a flood of
//! unsigned or forged requests costs no secret-store reads (Secrets Manager in AWS is billed and throttled
//! per call). A signature that fails against a cached copy older than [`REFRESH_AFTER`] reads the secret once
//! more before the webhook is refused: a key rotated in another process (agent-api) is picked up at once,
//! while a forger can make it happen at most once per channel per [`REFRESH_AFTER`].
//!
//! The send path (`services::outbound::send_one`) reads credentials through the same copy (issue 12.4:
//! one Secrets Manager call per send was the outbound path's second-largest cost), and reads them again
//! once when the provider refuses them (`SendError::Unauthorized`: nothing was sent), whatever the copy's age.

use smsdesk_domain::ChannelId;
use smsdesk_ports::{Credentials, PortResult, SecretStore};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

/// How long a read stays usable.
pub const KEEP_FOR: Duration = Duration::from_secs(60);
/// How old a cached copy must be before a failed signature reads the secret again.
pub const REFRESH_AFTER: Duration = Duration::from_secs(5);

type Entry = (OffsetDateTime, Option<Credentials>);

/// The webhook path's copy of channel credentials (one per process: per Lambda execution environment).
#[derive(Default)]
pub struct WebhookKeys {
    entries: Mutex<HashMap<ChannelId, Entry>>,
}

impl WebhookKeys {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelId, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The channel's credentials, from memory while fresh, else from `secrets`.
    pub async fn get(
        &self,
        secrets: &dyn SecretStore,
        channel: &ChannelId,
        now: OffsetDateTime,
    ) -> PortResult<Option<Credentials>> {
        if let Some((at, credentials)) = self.entries().get(channel)
            && now - *at < KEEP_FOR
            && now >= *at
        {
            return Ok(credentials.clone());
        }
        self.read(secrets, channel, now).await
    }

    /// After a failed signature check: the credentials read again when the copy used was older than
    /// [`REFRESH_AFTER`] (None: it was fresh, the refusal stands).
    pub async fn reread_if_stale(
        &self,
        secrets: &dyn SecretStore,
        channel: &ChannelId,
        now: OffsetDateTime,
    ) -> PortResult<Option<Option<Credentials>>> {
        let stale = match self.entries().get(channel) {
            Some((at, _)) => now - *at >= REFRESH_AFTER || now < *at,
            None => true,
        };
        if !stale {
            return Ok(None);
        }
        self.read(secrets, channel, now).await.map(Some)
    }

    /// The credentials read again whatever the copy's age, for the send path: a send is our own request,
    /// not a stranger's, and a refusal of the credentials sent nothing (one more read per refused send).
    pub async fn reread(
        &self,
        secrets: &dyn SecretStore,
        channel: &ChannelId,
        now: OffsetDateTime,
    ) -> PortResult<Option<Credentials>> {
        self.read(secrets, channel, now).await
    }

    /// Forgets the channel's copy (its credentials were just replaced in this process).
    pub fn forget(&self, channel: &ChannelId) {
        self.entries().remove(channel);
    }

    async fn read(
        &self,
        secrets: &dyn SecretStore,
        channel: &ChannelId,
        now: OffsetDateTime,
    ) -> PortResult<Option<Credentials>> {
        let credentials = secrets.get_credentials(channel).await?;
        self.entries().insert(channel.clone(), (now, credentials.clone()));
        Ok(credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use smsdesk_domain::{ProviderKind, QueueId};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Credentials in memory, counting the reads (what Secrets Manager would bill).
    #[derive(Default)]
    struct Counted {
        stored: Mutex<HashMap<ChannelId, Credentials>>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl SecretStore for Counted {
        async fn put_credentials(&self, channel: &ChannelId, credentials: &Credentials) -> PortResult<()> {
            self.stored.lock().unwrap().insert(channel.clone(), credentials.clone());
            Ok(())
        }
        async fn get_credentials(&self, channel: &ChannelId) -> PortResult<Option<Credentials>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.stored.lock().unwrap().get(channel).cloned())
        }
        async fn put_bot_secret(&self, _queue: &QueueId, _secret: &secrecy::SecretString) -> PortResult<()> {
            Ok(())
        }
        async fn get_bot_secret(&self, _queue: &QueueId) -> PortResult<Option<secrecy::SecretString>> {
            Ok(None)
        }
    }

    fn creds(key: &str) -> Credentials {
        let mut fields = serde_json::Map::new();
        fields.insert("api_key".into(), serde_json::Value::String(key.into()));
        Credentials::new(ProviderKind::Telesign, fields)
    }

    fn key_of(c: &Option<Credentials>) -> Option<String> {
        c.as_ref().and_then(|c| c.fields().get("api_key").and_then(|v| v.as_str()).map(str::to_owned))
    }

    #[tokio::test]
    async fn a_flood_reads_the_secret_once_per_minute() {
        let secrets = Counted::default();
        let channel = ChannelId::new("ch_1");
        secrets.put_credentials(&channel, &creds("k1")).await.unwrap();
        let keys = WebhookKeys::default();
        let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        for i in 0..1_000 {
            let at = t0 + time::Duration::milliseconds(i * 50);
            assert_eq!(key_of(&keys.get(&secrets, &channel, at).await.unwrap()).as_deref(), Some("k1"));
        }
        assert_eq!(secrets.reads.load(Ordering::SeqCst), 1, "50 s of requests: one read");
        keys.get(&secrets, &channel, t0 + time::Duration::seconds(61)).await.unwrap();
        assert_eq!(secrets.reads.load(Ordering::SeqCst), 2, "after a minute the secret is read again");
        // A channel without credentials is remembered too.
        let none = ChannelId::new("ch_none");
        for _ in 0..10 {
            assert!(keys.get(&secrets, &none, t0).await.unwrap().is_none());
        }
        assert_eq!(secrets.reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failed_signature_rereads_a_stale_copy_at_most_once_per_interval() {
        let secrets = Counted::default();
        let channel = ChannelId::new("ch_2");
        secrets.put_credentials(&channel, &creds("old")).await.unwrap();
        let keys = WebhookKeys::default();
        let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        keys.get(&secrets, &channel, t0).await.unwrap();
        // Rotated in another process: the copy in memory still has the old key.
        secrets.put_credentials(&channel, &creds("new")).await.unwrap();
        assert_eq!(
            key_of(&keys.get(&secrets, &channel, t0 + time::Duration::seconds(1)).await.unwrap()).as_deref(),
            Some("old")
        );
        // A refusal right after the read does not read again (a forger cannot make every request a read).
        assert!(
            keys.reread_if_stale(&secrets, &channel, t0 + time::Duration::seconds(1))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(secrets.reads.load(Ordering::SeqCst), 1);
        // Later, a refusal reads the stored credentials: the new key, kept from then on.
        let fresh = keys.reread_if_stale(&secrets, &channel, t0 + time::Duration::seconds(6)).await.unwrap();
        assert_eq!(key_of(&fresh.unwrap()).as_deref(), Some("new"));
        assert_eq!(
            key_of(&keys.get(&secrets, &channel, t0 + time::Duration::seconds(7)).await.unwrap()).as_deref(),
            Some("new")
        );
        assert!(
            keys.reread_if_stale(&secrets, &channel, t0 + time::Duration::seconds(8))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(secrets.reads.load(Ordering::SeqCst), 2);
        // Rotated in this process: forgotten at once.
        keys.forget(&channel);
        keys.get(&secrets, &channel, t0 + time::Duration::seconds(9)).await.unwrap();
        assert_eq!(secrets.reads.load(Ordering::SeqCst), 3);
    }
}
