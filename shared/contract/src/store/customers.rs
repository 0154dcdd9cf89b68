//! Quick replies (one per queue, language and shortcut) and customers' languages.

use smsdesk_domain::*;
use smsdesk_ports::{CustomerLanguage, QuickReplyWrite, Store};
use std::sync::Arc;

use super::{join_all, ok};
use crate::fixtures;

fn quick_reply(queue: Option<&QueueId>, language: &str, shortcut: &str) -> QuickReply {
    QuickReply {
        id: QuickReplyId::new(fixtures::id("qr_")),
        queue_id: queue.cloned(),
        language: language.into(),
        shortcut: shortcut.into(),
        title: "Greeting".into(),
        text: "Hi {customer_name}, {agent_name} here.".into(),
        created_at: fixtures::now(),
    }
}

/// Quick replies: stored, replaced, listed, deleted; a shortcut is unique per queue (or organization-wide)
/// and language, atomically, and a changed or deleted reply frees its old shortcut.
pub async fn quick_replies_contract(store: Arc<dyn Store>) {
    let q = fixtures::work_queue();
    let shortcut = fixtures::id("s").to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let shortcut = &shortcut[..shortcut.len().min(30)];
    let mut a = quick_reply(Some(&q.id), "en", shortcut);
    assert_eq!(ok(store.put_quick_reply(&a).await, "put_quick_reply"), QuickReplyWrite::Stored);
    assert_eq!(ok(store.get_quick_reply(&a.id).await, "get_quick_reply"), Some(a.clone()), "get returns it");

    // The same shortcut: taken in the same queue and language; free in another language, for the
    // organization, or in another queue.
    let clash = quick_reply(Some(&q.id), "en", shortcut);
    let taken = ok(store.put_quick_reply(&clash).await, "put_quick_reply (clash)");
    assert_eq!(taken, QuickReplyWrite::ShortcutTaken, "a duplicate shortcut in the same queue and language");
    assert_eq!(ok(store.get_quick_reply(&clash.id).await, "get (refused)"), None, "nothing was written");
    let spanish = quick_reply(Some(&q.id), "es", shortcut);
    let org = quick_reply(None, "en", shortcut);
    let other_queue = quick_reply(Some(&fixtures::work_queue().id), "en", shortcut);
    for r in [&spanish, &org, &other_queue] {
        assert_eq!(ok(store.put_quick_reply(r).await, "put_quick_reply"), QuickReplyWrite::Stored, "{r:?}");
    }
    let org_clash = quick_reply(None, "en", shortcut);
    assert_eq!(
        ok(store.put_quick_reply(&org_clash).await, "put (org clash)"),
        QuickReplyWrite::ShortcutTaken
    );

    // Replacing a reply with its own shortcut is no clash; changing it frees the old one.
    a.title = "Hello".into();
    assert_eq!(ok(store.put_quick_reply(&a).await, "put_quick_reply (replace)"), QuickReplyWrite::Stored);
    a.shortcut = format!("{shortcut}x");
    assert_eq!(ok(store.put_quick_reply(&a).await, "put (new shortcut)"), QuickReplyWrite::Stored);
    assert_eq!(ok(store.get_quick_reply(&a.id).await, "get"), Some(a.clone()), "the change is stored");
    assert_eq!(
        ok(store.put_quick_reply(&clash).await, "put (old shortcut)"),
        QuickReplyWrite::Stored,
        "the old shortcut is free after the change"
    );
    let all = ok(store.list_quick_replies().await, "list_quick_replies");
    for r in [&a, &spanish, &org, &other_queue, &clash] {
        assert_eq!(all.iter().filter(|x| x.id == r.id).count(), 1, "listed once: {r:?}");
        assert!(all.contains(r), "listed as stored: {r:?}");
    }

    // Delete frees the shortcut.
    assert!(ok(store.delete_quick_reply(&clash.id).await, "delete_quick_reply"), "delete of one is true");
    assert_eq!(ok(store.get_quick_reply(&clash.id).await, "get (deleted)"), None, "a deleted one is gone");
    assert!(!ok(store.delete_quick_reply(&clash.id).await, "delete (again)"), "deleting twice is false");
    let again = quick_reply(Some(&q.id), "en", shortcut);
    assert_eq!(ok(store.put_quick_reply(&again).await, "put (freed)"), QuickReplyWrite::Stored);

    // Concurrent writers of one new scope: exactly one gets it.
    let racing = fixtures::work_queue();
    let handles = (0..6)
        .map(|_| {
            let store = store.clone();
            let r = quick_reply(Some(&racing.id), "es", "race");
            tokio::spawn(async move { ok(store.put_quick_reply(&r).await, "put (race)") })
        })
        .collect();
    let outcomes = join_all(handles).await;
    assert_eq!(outcomes.iter().filter(|o| **o == QuickReplyWrite::Stored).count(), 1, "{outcomes:?}");
}

/// A customer's language: stored, read back, replaced by a newer one and never by an older one.
pub async fn customer_language_contract(store: Arc<dyn Store>) {
    let customer = fixtures::phone();
    assert_eq!(ok(store.customer_language(&customer).await, "customer_language (none)"), None);
    let t0 = fixtures::now();
    let es = CustomerLanguage {
        customer: customer.clone(),
        language: "es".into(),
        source: "keyword".into(),
        at: t0,
    };
    assert!(ok(store.set_customer_language(&es).await, "set_customer_language"), "the first is stored");
    assert_eq!(ok(store.customer_language(&customer).await, "customer_language"), Some(es.clone()));
    let older = CustomerLanguage { language: "fr".into(), at: t0 - time::Duration::seconds(5), ..es.clone() };
    assert!(!ok(store.set_customer_language(&older).await, "set (older)"), "an older change is not stored");
    assert_eq!(ok(store.customer_language(&customer).await, "customer_language"), Some(es.clone()));
    let newer = CustomerLanguage {
        language: "en".into(),
        source: "admin".into(),
        at: t0 + time::Duration::seconds(5),
        ..es.clone()
    };
    assert!(ok(store.set_customer_language(&newer).await, "set (newer)"), "a newer change is stored");
    assert_eq!(ok(store.customer_language(&customer).await, "customer_language"), Some(newer));
    let other = fixtures::phone();
    assert_eq!(ok(store.customer_language(&other).await, "customer_language (other)"), None, "per customer");

    // A conversation's language, set while it is open; a closed one stays as it was.
    let q = QueueId::new(fixtures::id("q_"));
    let c = fixtures::fresh_conversation(&q);
    ok(store.create_conversation(&c).await, "create_conversation");
    let set = ok(store.set_conversation_language(&c.id, "es").await, "set_conversation_language");
    assert_eq!(set.as_ref().and_then(|s| s.language.as_deref()), Some("es"), "{set:?}");
    let stored = ok(store.get_conversation(&c.id).await, "get_conversation");
    assert_eq!(stored, set, "stored as returned");
    ok(store.close(&c.id, fixtures::now(), "done").await, "close");
    assert_eq!(
        ok(store.set_conversation_language(&c.id, "en").await, "set (closed)"),
        None,
        "closed: unchanged"
    );
    let closed = ok(store.get_conversation(&c.id).await, "get_conversation");
    assert_eq!(closed.and_then(|c| c.language), Some("es".into()));
    let gone = ConversationId::new(fixtures::id("c_"));
    assert_eq!(ok(store.set_conversation_language(&gone, "es").await, "set (none)"), None, "no conversation");
}
