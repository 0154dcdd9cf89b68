//! Which reply each uploaded media item goes out with (`media_claims` table, migration
//! `V16_MEDIA_CLAIMS`): one row per item, its primary key refusing a second claim.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use smsdesk_domain::*;
use smsdesk_ports::{MediaClaim, MediaClaimStore, PortResult};
use time::OffsetDateTime;

use super::EmbeddedStore;
use crate::db::{Cached, sql, ts};

#[async_trait]
impl MediaClaimStore for EmbeddedStore {
    async fn claim_media(
        &self,
        conversation: &ConversationId,
        media: &[String],
        message: &MessageId,
        at: OffsetDateTime,
    ) -> PortResult<MediaClaim> {
        let media = smsdesk_ports::media_to_claim(media)?;
        let (conversation, message, at) = (conversation.to_string(), message.to_string(), ts(at));
        self.db
            .tx(move |tx| {
                // Every holder is read before anything is written, in the one writer's transaction: a
                // refusal claims nothing, and no other claim can come between the reads and the writes.
                for id in &media {
                    let holder: Option<String> = tx
                        .query_row_cached(
                            "SELECT message_id FROM media_claims WHERE conversation_id = ?1 AND media_id = ?2",
                            params![conversation, id],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(sql)?;
                    if let Some(holder) = holder.filter(|h| *h != message) {
                        return Ok(MediaClaim::Taken { media_id: id.clone(), message: MessageId::new(holder) });
                    }
                }
                for id in &media {
                    tx.execute_cached(
                        "INSERT OR IGNORE INTO media_claims (conversation_id, media_id, message_id, claimed_at) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![conversation, id, message, at],
                    )
                    .map_err(sql)?;
                }
                Ok(MediaClaim::Claimed)
            })
            .await
    }
}
