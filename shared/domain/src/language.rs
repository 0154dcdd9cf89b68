//! The customer's language (issue 10.3): the channel's default unless the customer picked another (a
//! language keyword such as "ESPAÑOL", matched as consent keywords are: the whole text, any case, spaces and
//! punctuation around it ignored) or an admin set it on the customer. Languages are the ones smsdesk has
//! texts for: English and Spanish built in, and any a channel adds texts or keywords for.

use crate::automated::{default_language_names, valid_language};
use crate::consent::{self, normalize};
use crate::model::{Channel, MessagingSettings};
use crate::validation::FieldError;
use std::collections::{BTreeMap, BTreeSet};

/// Who picked the customer's language.
pub const SOURCE_KEYWORD: &str = "keyword";
pub const SOURCE_ADMIN: &str = "admin";

/// The words that pick each language on a channel: the built-in ones and the channel's own.
pub fn language_names(settings: &MessagingSettings) -> BTreeMap<String, Vec<String>> {
    let mut names = default_language_names();
    for (lang, words) in &settings.language_keywords {
        names.entry(lang.clone()).or_default().extend(words.iter().cloned());
    }
    names
}

/// The language a customer's whole text picks on a channel with `settings`, if it is a language keyword.
pub fn picked(text: &str, settings: &MessagingSettings) -> Option<String> {
    if normalize(text).is_empty() {
        return None;
    }
    consent::language_choice(text, &language_names(settings))
}

/// The languages smsdesk has texts for across `channels`: English and Spanish (built in), and every
/// language a channel names as its default, adds automated texts for, or adds keywords for.
pub fn known_languages<'a>(channels: impl IntoIterator<Item = &'a Channel>) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = ["en", "es"].into_iter().map(String::from).collect();
    for c in channels {
        known.extend(c.language.iter().cloned());
        known.extend(c.messaging.automated_messages.keys().cloned());
        known.extend(c.messaging.language_keywords.keys().cloned());
    }
    known
}

/// The rule of an admin-set language: one of the `known` languages.
pub fn check_choice(field: &str, language: &str, known: &BTreeSet<String>) -> Result<(), FieldError> {
    if known.contains(language) {
        return Ok(());
    }
    let list = known.iter().cloned().collect::<Vec<_>>().join(", ");
    Err(FieldError::new(field, format!("must be a language smsdesk has texts for: one of {list}")))
}

/// The rules of a channel's `language_keywords`: keyed by language tags; each word 1 to 30 characters
/// besides spaces and punctuation, no consent keyword (built in or the channel's), and no word picking two
/// languages.
pub fn validate_keywords(settings: &MessagingSettings) -> Result<(), FieldError> {
    let mut consent_words: BTreeSet<String> =
        [consent::OPT_OUT, consent::OPT_IN, consent::HELP].concat().iter().map(|w| normalize(w)).collect();
    for lists in settings.consent_keywords.values().cloned().chain(crate::automated::default_keywords("es")) {
        consent_words
            .extend(lists.opt_out.iter().chain(&lists.opt_in).chain(&lists.help).map(|w| normalize(w)));
    }
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for (lang, words) in default_language_names() {
        for w in words {
            owner.insert(normalize(&w), lang.clone());
        }
    }
    for (lang, words) in &settings.language_keywords {
        if !valid_language(lang) {
            return Err(FieldError::new(
                format!("language_keywords.{lang}"),
                "must be keyed by a language tag such as en, es or es-MX",
            ));
        }
        for (i, w) in words.iter().enumerate() {
            let field = format!("language_keywords.{lang}[{i}]");
            let word = normalize(w);
            if word.is_empty() || word.chars().count() > 30 {
                return Err(FieldError::new(
                    field,
                    "must be 1 to 30 characters besides spaces and punctuation",
                ));
            }
            crate::validation::check_display_name(&field, w)?;
            if consent_words.contains(&word) {
                return Err(FieldError::new(field, format!("'{word}' is a consent keyword")));
            }
            match owner.get(&word) {
                Some(other) if other != lang => {
                    return Err(FieldError::new(
                        field,
                        format!("'{word}' already picks the language {other}"),
                    ));
                }
                _ => {
                    owner.insert(word, lang.clone());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_text_naming_a_language_picks_it() {
        let mut settings = MessagingSettings::default();
        assert_eq!(picked("ESPAÑOL", &settings).as_deref(), Some("es"));
        assert_eq!(picked("  español! ", &settings).as_deref(), Some("es"));
        assert_eq!(picked("Espanol", &settings).as_deref(), Some("es"));
        assert_eq!(picked("english.", &settings).as_deref(), Some("en"));
        assert_eq!(picked("español por favor", &settings), None, "only the whole text");
        assert_eq!(picked("FRANÇAIS", &settings), None, "not a language of the channel");
        assert_eq!(picked(" ¡! ", &settings), None);
        settings.language_keywords.insert("fr".into(), vec!["Français".into()]);
        assert_eq!(picked("francais", &settings), None, "the channel's words as written");
        assert_eq!(picked("FRANÇAIS", &settings).as_deref(), Some("fr"));
    }

    #[test]
    fn known_languages_are_the_built_in_and_those_channels_add() {
        let mut settings = MessagingSettings::default();
        settings.language_keywords.insert("fr".into(), vec!["FRANÇAIS".into()]);
        let mut channel: Channel = serde_json::from_value(serde_json::json!({
            "id": "ch_1", "name": "c", "provider": "sandbox", "base_url": null, "numbers": [],
            "language": "pt-BR", "attachments": {"customer": false, "agent": false},
            "created_at": "2026-11-29T00:00:00Z",
        }))
        .expect("a channel");
        channel.messaging = settings;
        let known = known_languages([&channel]);
        assert_eq!(known.iter().map(String::as_str).collect::<Vec<_>>(), vec!["en", "es", "fr", "pt-BR"]);
        assert_eq!(check_choice("language", "fr", &known), Ok(()));
        let e = check_choice("language", "de", &known).unwrap_err();
        assert_eq!(e.field, "language");
        assert!(e.rule.contains("one of en, es, fr, pt-BR"), "{}", e.rule);
    }

    #[test]
    fn keyword_rules_name_the_field() {
        let with = |lang: &str, words: &[&str]| {
            let mut s = MessagingSettings::default();
            s.language_keywords.insert(lang.into(), words.iter().map(|w| w.to_string()).collect());
            validate_keywords(&s).map_err(|e| e.field)
        };
        assert_eq!(with("fr", &["FRANÇAIS", "French"]), Ok(()));
        assert_eq!(with("es", &["castellano", "ESPAÑOL"]), Ok(()), "a built-in word in its own language");
        assert_eq!(with("French", &["FRANÇAIS"]), Err("language_keywords.French".into()));
        assert_eq!(with("fr", &["FRANÇAIS", " ?"]), Err("language_keywords.fr[1]".into()));
        assert_eq!(with("fr", &["stop"]), Err("language_keywords.fr[0]".into()), "a consent keyword");
        assert_eq!(with("fr", &["baja"]), Err("language_keywords.fr[0]".into()), "a Spanish consent keyword");
        assert_eq!(with("fr", &["Español"]), Err("language_keywords.fr[0]".into()), "picks Spanish already");
    }
}
