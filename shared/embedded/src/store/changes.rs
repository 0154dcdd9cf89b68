//! The change feed on the embedded database: the `changes` table that triggers fill (schema V6).

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use smsdesk_domain::ConversationId;
use smsdesk_ports::{Change, ChangeEntity, ChangeFeed, ChangePage, PortError, PortResult};

use super::EmbeddedStore;
use crate::db::{Cached, sql};

#[async_trait]
impl ChangeFeed for EmbeddedStore {
    async fn changes_after(&self, after: i64, limit: usize) -> PortResult<ChangePage> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .read(move |tx| {
                let head: i64 = tx
                    .query_row_cached("SELECT seq FROM sqlite_sequence WHERE name = 'changes'", [], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(sql)?
                    .unwrap_or(0);
                let oldest: Option<i64> =
                    tx.query_row_cached("SELECT min(seq) FROM changes", [], |r| r.get(0)).map_err(sql)?;
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT seq, entity, id, conversation_id, body, at FROM changes WHERE seq > ?1 \
                         ORDER BY seq LIMIT ?2",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![after, limit], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    })
                    .map_err(sql)?;
                let mut changes = Vec::new();
                for row in rows {
                    let (seq, entity, id, conversation_id, body, at) = row.map_err(sql)?;
                    let entity = match entity.as_str() {
                        "conversation" => ChangeEntity::Conversation,
                        "message" => ChangeEntity::Message,
                        "note" => ChangeEntity::Note,
                        other => return Err(PortError::Corrupt(format!("change {seq}: entity '{other}'"))),
                    };
                    let data = serde_json::from_str(&body).map_err(|e| {
                        PortError::Corrupt(format!("change {seq}: body does not decode: {e}"))
                    })?;
                    changes.push(Change {
                        seq,
                        entity,
                        id,
                        conversation_id: ConversationId::new(conversation_id),
                        data,
                        at,
                    });
                }
                Ok(ChangePage { changes, oldest: oldest.unwrap_or(head + 1), head })
            })
            .await
    }
}
