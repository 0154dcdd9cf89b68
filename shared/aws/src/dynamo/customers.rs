//! Quick replies (one partition, listed with one consistent query; each scope held by a pointer item so
//! that a shortcut is unique per queue and language) and customers' languages (one item per phone).

use async_trait::async_trait;
use smsdesk_domain::*;
use smsdesk_ports::{
    CustomerLanguage, CustomerStore, PortError, PortResult, QuickReplyStore, QuickReplyWrite,
};

use super::{Cond, DynamoStore, Query, Tx, keys};
use crate::attr::{Expr, Item, from_item, get_s, n, record_item, s};

/// Pointer attribute naming the quick reply that holds a scope.
const TARGET: &str = "target";

/// The condition that the pointer at hand is free or already `id`'s.
fn free_or_owned_by(id: &QuickReplyId) -> Cond {
    let mut expr = Expr::new();
    let expression =
        format!("attribute_not_exists({}) OR {}", expr.name("pk"), expr.eq(TARGET, s(id.as_str())));
    Cond { expression, expr }
}

fn owned_by(id: &QuickReplyId) -> Cond {
    let mut expr = Expr::new();
    let expression = expr.eq(TARGET, s(id.as_str()));
    Cond { expression, expr }
}

impl DynamoStore {
    /// Drops the pointer of `scope` if it is stale: its quick reply is gone or now has another scope (a
    /// write or delete that stopped between its two steps). Returns whether the scope is free now.
    async fn free_stale_scope(&self, scope: &str) -> PortResult<bool> {
        let Some(pointer) = self.get(keys::quick_reply_scope(scope)).await? else { return Ok(true) };
        let Some(holder) = get_s(&pointer, TARGET).map(QuickReplyId::new) else {
            return Err(PortError::Corrupt(format!("quick reply scope pointer '{scope}' without target")));
        };
        let current: Option<QuickReply> =
            self.get(keys::quick_reply(&holder)).await?.map(|i| from_item(&i)).transpose()?;
        if current.is_some_and(|r| r.scope() == scope) {
            return Ok(false);
        }
        self.delete_if(keys::quick_reply_scope(scope), owned_by(&holder)).await?;
        Ok(true)
    }
}

#[async_trait]
impl QuickReplyStore for DynamoStore {
    async fn put_quick_reply(&self, reply: &QuickReply) -> PortResult<QuickReplyWrite> {
        let scope = reply.scope();
        let before = self.get_quick_reply(&reply.id).await?;
        for _ in super::attempts() {
            let mut item = record_item(reply)?;
            item.extend(keys::quick_reply(&reply.id));
            item.insert("entity".into(), s("quick_reply"));
            let pointer: Item = keys::item_with(
                keys::quick_reply_scope(&scope),
                [(TARGET, s(reply.id.as_str())), ("entity", s("quick_reply_scope"))],
            );
            let tx =
                vec![self.put_item(item, None)?, self.put_item(pointer, Some(free_or_owned_by(&reply.id)))?];
            match self.transact(tx).await? {
                Tx::Committed => {
                    if let Some(old) = before.filter(|b| b.scope() != scope) {
                        self.delete_if(keys::quick_reply_scope(&old.scope()), owned_by(&reply.id)).await?;
                    }
                    return Ok(QuickReplyWrite::Stored);
                }
                cancelled if cancelled.failed_at(1) => {
                    if !self.free_stale_scope(&scope).await? {
                        return Ok(QuickReplyWrite::ShortcutTaken);
                    }
                }
                Tx::Cancelled(codes) => {
                    return Err(PortError::Backend(format!("put_quick_reply: write refused: {codes:?}")));
                }
            }
        }
        Err(super::contention("put_quick_reply"))
    }

    async fn get_quick_reply(&self, id: &QuickReplyId) -> PortResult<Option<QuickReply>> {
        self.get(keys::quick_reply(id)).await?.map(|i| from_item(&i)).transpose()
    }

    async fn list_quick_replies(&self) -> PortResult<Vec<QuickReply>> {
        self.query(Query::prefix(keys::QUICK_REPLIES, "QR#")).await?.iter().map(from_item).collect()
    }

    async fn delete_quick_reply(&self, id: &QuickReplyId) -> PortResult<bool> {
        let Some(reply) = self.get_quick_reply(id).await? else { return Ok(false) };
        if !self.delete_if(keys::quick_reply(id), super::conversations::present()).await? {
            return Ok(false);
        }
        self.delete_if(keys::quick_reply_scope(&reply.scope()), owned_by(id)).await?;
        Ok(true)
    }
}

#[async_trait]
impl CustomerStore for DynamoStore {
    async fn set_customer_language(&self, language: &CustomerLanguage) -> PortResult<bool> {
        let at = i64::try_from(language.at.unix_timestamp_nanos()).unwrap_or(i64::MAX);
        let mut item = record_item(language)?;
        item.extend(keys::customer_language(&language.customer));
        item.insert("entity".into(), s("customer_language"));
        item.insert("at_ns".into(), n(at));
        let mut expr = Expr::new();
        let expression = format!(
            "attribute_not_exists({}) OR {} <= {}",
            expr.name("pk"),
            expr.name("at_ns"),
            expr.value(n(at))
        );
        self.put(item, Some(Cond { expression, expr })).await
    }

    async fn customer_language(&self, customer: &Phone) -> PortResult<Option<CustomerLanguage>> {
        self.get(keys::customer_language(customer)).await?.map(|i| from_item(&i)).transpose()
    }

    async fn set_conversation_language(
        &self,
        conversation: &ConversationId,
        language: &str,
    ) -> PortResult<Option<Conversation>> {
        let mut expr = Expr::new();
        let update = format!("SET {}", expr.eq("language", s(language)));
        let condition = format!(
            "attribute_exists({}) AND {} <> {}",
            expr.name("pk"),
            expr.name("state"),
            expr.value(s(ConversationState::Closed.as_str()))
        );
        let item = self.update(keys::conversation(conversation), update, Some(condition), expr).await?;
        item.map(|i| from_item(&i)).transpose()
    }
}
