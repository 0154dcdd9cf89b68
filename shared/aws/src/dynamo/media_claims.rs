//! Which reply each uploaded media item goes out with: one claim item per item
//! (`MEDIACLAIM#<conversation id>#<media id>`, sort key `CLAIM`, `target` = the message), all of one reply's
//! written in one transaction, each conditional on being absent or already this message's.

use async_trait::async_trait;
use smsdesk_domain::*;
use smsdesk_ports::{MediaClaim, MediaClaimStore, PortResult};
use time::OffsetDateTime;

use super::{Cond, DynamoStore, keys};
use crate::attr::{Expr, get_s, n, s};

/// The claim of one media item of a conversation.
pub(crate) fn media_claim(conversation: &ConversationId, media_id: &str) -> crate::attr::Item {
    keys::key(format!("MEDIACLAIM#{conversation}#{media_id}"), "CLAIM")
}

#[async_trait]
impl MediaClaimStore for DynamoStore {
    async fn claim_media(
        &self,
        conversation: &ConversationId,
        media: &[String],
        message: &MessageId,
        at: OffsetDateTime,
    ) -> PortResult<MediaClaim> {
        let media = smsdesk_ports::media_to_claim(media)?;
        if media.is_empty() {
            return Ok(MediaClaim::Claimed);
        }
        let mine = || {
            let mut expr = Expr::new();
            let expression = format!(
                "attribute_not_exists({}) OR {}",
                expr.name("pk"),
                expr.eq("target", s(message.as_str()))
            );
            Cond { expression, expr }
        };
        for _ in super::attempts() {
            let mut tx = Vec::with_capacity(media.len());
            for id in &media {
                let claim = keys::item_with(
                    media_claim(conversation, id),
                    [
                        ("target", s(message.as_str())),
                        ("entity", s("media_claim")),
                        ("at_ns", n(at.unix_timestamp_nanos())),
                    ],
                );
                tx.push(self.put_item(claim, Some(mine()))?);
            }
            let outcome = self.transact(tx).await?;
            if matches!(outcome, super::Tx::Committed) {
                return Ok(MediaClaim::Claimed);
            }
            // A condition failed: the first item another message holds is the answer (none: the race that
            // failed it is over, try again).
            for (i, id) in media.iter().enumerate() {
                if !outcome.failed_at(i) {
                    continue;
                }
                let holder = self.get(media_claim(conversation, id)).await?;
                if let Some(other) =
                    holder.as_ref().and_then(|h| get_s(h, "target")).filter(|h| *h != message.as_str())
                {
                    return Ok(MediaClaim::Taken { media_id: (*id).clone(), message: MessageId::new(other) });
                }
            }
        }
        Err(super::contention("claim_media"))
    }
}
