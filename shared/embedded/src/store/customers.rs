//! Quick replies and customers' languages.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use smsdesk_domain::*;
use smsdesk_ports::{CustomerLanguage, CustomerStore, PortResult, QuickReplyStore, QuickReplyWrite};

use super::EmbeddedStore;
use crate::db::{Cached, sql, to_json, ts};
use crate::rows::{all, one};

#[async_trait]
impl QuickReplyStore for EmbeddedStore {
    async fn put_quick_reply(&self, reply: &QuickReply) -> PortResult<QuickReplyWrite> {
        let (id, scope, body) = (reply.id.to_string(), reply.scope(), to_json(reply)?);
        self.db
            .tx(move |tx| {
                let holder: Option<String> = tx
                    .query_row_cached("SELECT id FROM quick_replies WHERE scope = ?1", [&scope], |r| r.get(0))
                    .optional()
                    .map_err(sql)?;
                if holder.is_some_and(|h| h != id) {
                    return Ok(QuickReplyWrite::ShortcutTaken);
                }
                tx.execute_cached(
                    "INSERT OR REPLACE INTO quick_replies (id, scope, body) VALUES (?1, ?2, ?3)",
                    params![id, scope, body],
                )
                .map_err(sql)?;
                Ok(QuickReplyWrite::Stored)
            })
            .await
    }

    async fn get_quick_reply(&self, id: &QuickReplyId) -> PortResult<Option<QuickReply>> {
        let id = id.to_string();
        self.db.read(move |tx| one(tx, "SELECT body FROM quick_replies WHERE id = ?1", [id])).await
    }

    async fn list_quick_replies(&self) -> PortResult<Vec<QuickReply>> {
        self.db.read(|tx| all(tx, "SELECT body FROM quick_replies ORDER BY id", [])).await
    }

    async fn delete_quick_reply(&self, id: &QuickReplyId) -> PortResult<bool> {
        let id = id.to_string();
        self.db
            .tx(move |tx| {
                Ok(tx.execute_cached("DELETE FROM quick_replies WHERE id = ?1", [id]).map_err(sql)? == 1)
            })
            .await
    }
}

#[async_trait]
impl CustomerStore for EmbeddedStore {
    async fn set_customer_language(&self, language: &CustomerLanguage) -> PortResult<bool> {
        let (phone, at, body) = (language.customer.e164().to_string(), ts(language.at), to_json(language)?);
        self.db
            .tx(move |tx| {
                let changed = tx
                    .execute_cached(
                        "INSERT INTO customer_languages (phone, at, body) VALUES (?1, ?2, ?3)
                         ON CONFLICT (phone) DO UPDATE SET at = excluded.at, body = excluded.body
                         WHERE excluded.at >= customer_languages.at",
                        params![phone, at, body],
                    )
                    .map_err(sql)?;
                Ok(changed == 1)
            })
            .await
    }

    async fn customer_language(&self, customer: &Phone) -> PortResult<Option<CustomerLanguage>> {
        let phone = customer.e164().to_string();
        self.db.read(move |tx| one(tx, "SELECT body FROM customer_languages WHERE phone = ?1", [phone])).await
    }

    async fn set_conversation_language(
        &self,
        conversation: &ConversationId,
        language: &str,
    ) -> PortResult<Option<Conversation>> {
        let (cid, language) = (conversation.to_string(), language.to_string());
        self.db
            .tx(move |tx| {
                let Some(mut c) = super::conversations::load(tx, &cid)? else { return Ok(None) };
                if c.state == ConversationState::Closed {
                    return Ok(None);
                }
                c.language = Some(language);
                super::conversations::save_activity(tx, &c)?;
                Ok(Some(c))
            })
            .await
    }
}
