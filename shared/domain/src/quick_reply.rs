//! Quick replies (issue 10.6): predefined texts per queue and language that an agent inserts by a short
//! `shortcut` (`/refund` in the console) and sends as they are or edits. Their placeholders are filled in
//! for one conversation; a placeholder whose value is unknown is dropped (never sent as `{...}`).
//! Everything here is pure: the store keeps the records, the agent API asks [`for_conversation`] and
//! [`fill`].

use crate::automated::{base_language, valid_language};
use crate::ids::{QueueId, QuickReplyId};
use crate::model::rfc3339;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The placeholders a quick reply's text may hold.
pub const PLACEHOLDERS: [&str; 5] =
    ["{customer_name}", "{customer_first_name}", "{agent_name}", "{conversation_id}", "{queue_name}"];
/// Bounds of a shortcut's length, in characters.
pub const SHORTCUT_CHARS: std::ops::RangeInclusive<usize> = 1..=32;
pub const MAX_TITLE_CHARS: usize = 80;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    pub id: QuickReplyId,
    /// The queue whose agents get it; None: every queue (organization-wide).
    #[serde(default)]
    pub queue_id: Option<QueueId>,
    /// A language tag (`en`, `es`, `es-MX`).
    pub language: String,
    /// What the agent types after `/`: unique per queue (or organization-wide) and language.
    pub shortcut: String,
    /// What the console lists.
    pub title: String,
    /// The text, with placeholders ([`PLACEHOLDERS`]).
    pub text: String,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

impl QuickReply {
    /// What must be unique among quick replies: queue (or `*`), language and shortcut.
    pub fn scope(&self) -> String {
        let queue = self.queue_id.as_ref().map_or("*", |q| q.as_str());
        format!("{queue}#{}#{}", self.language, self.shortcut)
    }
}

/// The rules of a quick reply's fields.
pub fn validate(reply: &QuickReply) -> Result<(), FieldError> {
    let shortcut_ok = SHORTCUT_CHARS.contains(&reply.shortcut.chars().count())
        && reply
            .shortcut
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !shortcut_ok {
        return Err(FieldError::new(
            "shortcut",
            "must be 1 to 32 characters, each a lowercase letter, a digit, '-' or '_'",
        ));
    }
    if !valid_language(&reply.language) {
        return Err(FieldError::new("language", "must be a language tag such as en, es or es-MX"));
    }
    let title = reply.title.chars().count();
    if reply.title.trim().is_empty() || title > MAX_TITLE_CHARS {
        return Err(FieldError::new(
            "title",
            format!("must be 1 to {MAX_TITLE_CHARS} characters, not blank"),
        ));
    }
    crate::validation::check_display_name("title", &reply.title)?;
    if reply.text.trim().is_empty() || reply.text.chars().count() > crate::MAX_MESSAGE_CHARS {
        return Err(FieldError::new(
            "text",
            format!("must be 1 to {} characters, not blank", crate::MAX_MESSAGE_CHARS),
        ));
    }
    crate::validation::check_free_text("text", &reply.text)?;
    crate::placeholder::check(&reply.text, &PLACEHOLDERS).map_err(|rule| FieldError::new("text", rule))?;
    Ok(())
}

/// The values of one conversation's placeholders; None where unknown (no CRM name yet, no agent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values<'a> {
    pub customer_name: Option<&'a str>,
    pub agent_name: Option<&'a str>,
    pub conversation_id: Option<&'a str>,
    pub queue_name: Option<&'a str>,
}

/// `text` with its placeholders filled in. An unknown value drops its placeholder and the space or comma
/// it leaves dangling ("Hi {customer_name}, thanks" -> "Hi, thanks"), so no `{...}` reaches a customer.
pub fn fill(text: &str, values: &Values<'_>) -> String {
    let first_name = values.customer_name.and_then(|n| n.split_whitespace().next());
    let known: [(&str, Option<&str>); 5] = [
        ("{customer_name}", values.customer_name),
        ("{customer_first_name}", first_name),
        ("{agent_name}", values.agent_name),
        ("{conversation_id}", values.conversation_id),
        ("{queue_name}", values.queue_name),
    ];
    let mut out = text.to_string();
    for (name, value) in known {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => out = out.replace(name, v),
            None => out = drop_placeholder(&out, name),
        }
    }
    out
}

/// Removes `name` from `text` with the spaces around it, keeping one space between words and none before
/// punctuation.
fn drop_placeholder(text: &str, name: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].trim_end_matches([' ', '\t']);
        let after = &rest[at + name.len()..];
        let after_trimmed = after.trim_start_matches([' ', '\t']);
        out.push_str(before);
        let next = after_trimmed.chars().next();
        let needs_space = !before.is_empty()
            && !before.ends_with(['\n', '(', '¡', '¿'])
            && next.is_some_and(|c| !matches!(c, ',' | '.' | '!' | '?' | ';' | ':' | ')' | '\n'));
        if needs_space {
            out.push(' ');
        }
        rest = after_trimmed;
    }
    out.push_str(rest);
    out
}

/// The quick replies an agent gets in a conversation of `queue` with a customer in `language`: the
/// queue's own and the organization-wide ones (the queue's win on the same shortcut), in the customer's
/// language, else its base language (`es` for `es-MX`), else `fallback` (the channel's language). One per
/// shortcut, in shortcut order.
pub fn for_conversation<'a>(
    all: &'a [QuickReply],
    queue: &QueueId,
    language: &str,
    fallback: &str,
) -> Vec<&'a QuickReply> {
    let language_rank = |l: &str| {
        if l == language {
            Some(0)
        } else if l == base_language(language) {
            Some(1)
        } else if l == fallback {
            Some(2)
        } else if l == base_language(fallback) {
            Some(3)
        } else {
            None
        }
    };
    let mut best: BTreeMap<&str, ((u8, u8), &QuickReply)> = BTreeMap::new();
    for reply in all {
        let queue_rank = match &reply.queue_id {
            Some(q) if q == queue => 0,
            Some(_) => continue,
            None => 1,
        };
        let Some(lang_rank) = language_rank(&reply.language) else { continue };
        let rank = (lang_rank, queue_rank);
        let entry = best.entry(reply.shortcut.as_str()).or_insert((rank, reply));
        if rank < entry.0 {
            *entry = (rank, reply);
        }
    }
    best.into_values().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(queue: Option<&str>, language: &str, shortcut: &str, text: &str) -> QuickReply {
        QuickReply {
            id: QuickReplyId::new(format!("qr_{queue:?}_{language}_{shortcut}")),
            queue_id: queue.map(QueueId::new),
            language: language.into(),
            shortcut: shortcut.into(),
            title: "Title".into(),
            text: text.into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn validation_names_the_field_and_rule() {
        assert_eq!(validate(&reply(None, "en", "hello", "Hi {customer_name}")), Ok(()));
        let cases = [
            (reply(None, "en", "Hello", "x"), "shortcut"),
            (reply(None, "en", "", "x"), "shortcut"),
            (reply(None, "en", "a b", "x"), "shortcut"),
            (reply(None, "en", &"a".repeat(33), "x"), "shortcut"),
            (reply(None, "English", "hi", "x"), "language"),
            (reply(None, "en", "hi", "  "), "text"),
            (reply(None, "en", "hi", &"a".repeat(1601)), "text"),
            (reply(None, "en", "hi", "Dear {customer_nme}"), "text"),
            (reply(None, "en", "hi", "hi {{customer_name}}"), "text"),
            (reply(None, "en", "hi", "hi {customer_name}}"), "text"),
            (reply(None, "zz-invalid-tag-long", "hi", "x"), "language"),
            (reply(None, "en-", "hi", "x"), "language"),
            (reply(None, "es-MX-MX", "hi", "x"), "language"),
        ];
        for (r, field) in cases {
            assert_eq!(validate(&r).map_err(|e| e.field), Err(field.to_string()), "{r:?}");
        }
        let mut untitled = reply(None, "en", "hi", "x");
        untitled.title = " ".into();
        assert_eq!(validate(&untitled).unwrap_err().field, "title");
        // Braces that are no placeholder are text.
        assert_eq!(validate(&reply(None, "en", "hi", "Use {} or { x } or {a-b}")), Ok(()));
        for tag in ["en", "es", "es-MX", "pt-BR", "es-419", "zh-Hant-TW", "sr-Latn", "de-CH-1996", "ast"] {
            assert_eq!(validate(&reply(None, tag, "hi", "x")), Ok(()), "{tag}");
        }
        let e = validate(&reply(None, "en", "hi", "hi {{customer_name}}")).unwrap_err();
        assert!(e.rule.contains("{{customer_name}}"), "{}", e.rule);
    }

    #[test]
    fn fill_puts_values_in_and_drops_unknown_ones() {
        let values = Values {
            customer_name: Some("Ana María López"),
            agent_name: Some("Ada"),
            conversation_id: Some("cv_1"),
            queue_name: Some("billing"),
        };
        let text = "Hi {customer_first_name} ({customer_name}), {agent_name} here about {conversation_id} in {queue_name}.";
        assert_eq!(fill(text, &values), "Hi Ana (Ana María López), Ada here about cv_1 in billing.");
        let none = Values::default();
        assert_eq!(fill("Hi {customer_name}, I am {agent_name}.", &none), "Hi, I am.");
        assert_eq!(fill("Hola {customer_first_name}! Gracias", &none), "Hola! Gracias");
        assert_eq!(fill("{customer_name} thanks", &none), "thanks");
        assert_eq!(fill("Thanks {customer_name}", &none), "Thanks");
        assert_eq!(fill("Case {conversation_id} is open", &none), "Case is open");
        assert_eq!(fill("¡{customer_name}, hola!", &none), "¡, hola!");
        let blank = Values { customer_name: Some("  "), ..Values::default() };
        assert_eq!(fill("Hi {customer_name}.", &blank), "Hi.");
        for p in PLACEHOLDERS {
            assert!(!fill(&format!("a {p} b"), &none).contains('{'), "{p} dropped");
        }
    }

    #[test]
    fn a_conversation_gets_its_queue_and_the_organization_wide_ones_in_its_language() {
        let q = QueueId::new("q_1");
        let all = vec![
            reply(None, "en", "hello", "org en"),
            reply(None, "es", "hello", "org es"),
            reply(Some("q_1"), "es", "hello", "queue es"),
            reply(Some("q_2"), "es", "refund", "other queue"),
            reply(Some("q_1"), "en", "bye", "queue en bye"),
            reply(None, "fr", "salut", "french"),
        ];
        let texts = |lang: &str, fallback: &str| -> Vec<String> {
            for_conversation(&all, &q, lang, fallback).iter().map(|r| r.text.clone()).collect()
        };
        // Spanish: the queue's Spanish hello beats the org-wide one; no Spanish bye: the channel's English.
        assert_eq!(texts("es", "en"), vec!["queue en bye", "queue es"]);
        assert_eq!(texts("es-MX", "en"), vec!["queue en bye", "queue es"]);
        assert_eq!(texts("en", "en"), vec!["queue en bye", "org en"]);
        // A language nobody wrote for, with a Spanish channel.
        assert_eq!(texts("de", "es"), vec!["queue es"]);
        assert_eq!(texts("fr", "en"), vec!["queue en bye", "org en", "french"]);
        assert!(
            for_conversation(&all, &QueueId::new("q_9"), "fr", "fr").iter().all(|r| r.queue_id.is_none())
        );
    }

    #[test]
    fn the_scope_names_queue_language_and_shortcut() {
        assert_eq!(reply(None, "en", "hi", "x").scope(), "*#en#hi");
        assert_eq!(reply(Some("q_1"), "es", "hi", "x").scope(), "q_1#es#hi");
    }
}
