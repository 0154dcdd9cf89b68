//! Automated messages: what smsdesk itself tells the customer (opt-in notice, confirmations, help,
//! greeting, agent joined, out of hours, conversation ended), per channel and per language. Each has a
//! default text in English and Spanish; a channel overrides any text per language and adds languages. An
//! empty text turns that message off for that language.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutomatedKind {
    OptInNotice,
    OptOutConfirmation,
    /// The confirmation of a STOPALL: no more messages from any of our numbers.
    OptOutAllConfirmation,
    OptInConfirmation,
    Help,
    Greeting,
    QueuePosition,
    AgentJoined,
    OutOfHours,
    ConversationEnded,
    LanguageChanged,
}

impl AutomatedKind {
    pub const ALL: [AutomatedKind; 11] = [
        AutomatedKind::OptInNotice,
        AutomatedKind::OptOutConfirmation,
        AutomatedKind::OptOutAllConfirmation,
        AutomatedKind::OptInConfirmation,
        AutomatedKind::Help,
        AutomatedKind::Greeting,
        AutomatedKind::QueuePosition,
        AutomatedKind::AgentJoined,
        AutomatedKind::OutOfHours,
        AutomatedKind::ConversationEnded,
        AutomatedKind::LanguageChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AutomatedKind::OptInNotice => "opt_in_notice",
            AutomatedKind::OptOutConfirmation => "opt_out_confirmation",
            AutomatedKind::OptOutAllConfirmation => "opt_out_all_confirmation",
            AutomatedKind::OptInConfirmation => "opt_in_confirmation",
            AutomatedKind::Help => "help",
            AutomatedKind::Greeting => "greeting",
            AutomatedKind::QueuePosition => "queue_position",
            AutomatedKind::AgentJoined => "agent_joined",
            AutomatedKind::OutOfHours => "out_of_hours",
            AutomatedKind::ConversationEnded => "conversation_ended",
            AutomatedKind::LanguageChanged => "language_changed",
        }
    }

    /// Whether it goes out even to a customer who opted out: the one confirmation of their STOP (or
    /// STOPALL), and the answer to HELP (carriers require both).
    pub fn passes_opt_out(self) -> bool {
        matches!(
            self,
            AutomatedKind::OptOutConfirmation | AutomatedKind::OptOutAllConfirmation | AutomatedKind::Help
        )
    }

    /// Placeholders the text may hold (the only ones smsdesk fills in for it).
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            AutomatedKind::QueuePosition => &["{position}"],
            AutomatedKind::AgentJoined => &["{agent_name}"],
            _ => &[],
        }
    }

    /// Placeholders a text of this kind must hold (unless it is empty, which turns the message off): the
    /// place in line is what the queue position message is for.
    pub fn required_placeholders(self) -> &'static [&'static str] {
        match self {
            AutomatedKind::QueuePosition => &["{position}"],
            _ => &[],
        }
    }
}

/// The language used when neither the conversation nor the channel names one.
pub const DEFAULT_LANGUAGE: &str = "en";

/// The built-in text of `kind` in `lang` (English and Spanish), if there is one.
pub fn default_text(lang: &str, kind: AutomatedKind) -> Option<&'static str> {
    use AutomatedKind::*;
    Some(match (base_language(lang), kind) {
        ("en", OptInNotice) => {
            "Thanks for texting us. Msg & data rates may apply. Reply HELP for help, STOP to opt out."
        }
        ("en", OptOutConfirmation) => {
            "You have been unsubscribed and will receive no more messages from this number. Reply START to resubscribe."
        }
        ("en", OptOutAllConfirmation) => {
            "You have been unsubscribed and will receive no more messages from us on any of our numbers. Reply START to resubscribe."
        }
        ("en", OptInConfirmation) => {
            "You have been resubscribed and will receive messages from this number again. Reply STOP to opt out."
        }
        ("en", Help) => {
            "This is our customer support line: text us your question and an agent will answer. Reply STOP to opt out."
        }
        ("en", Greeting) => "Hi! We got your message and an agent will be with you shortly.",
        ("en", QueuePosition) => "You are number {position} in line.",
        ("en", AgentJoined) => "{agent_name} has joined the conversation.",
        ("en", OutOfHours) => {
            "We are closed right now. Your message is saved and we will answer as soon as we open."
        }
        ("en", ConversationEnded) => {
            "This conversation has ended. Text us any time if you need anything else."
        }
        ("en", LanguageChanged) => "We will write to you in English from now on.",
        ("es", OptInNotice) => {
            "Gracias por escribirnos. Pueden aplicarse tarifas de mensajes y datos. Responde AYUDA para obtener ayuda o BAJA para no recibir más mensajes."
        }
        ("es", OptOutConfirmation) => {
            "Has cancelado tu suscripción y no recibirás más mensajes de este número. Responde ALTA para volver a suscribirte."
        }
        ("es", OptOutAllConfirmation) => {
            "Has cancelado tu suscripción y no recibirás más mensajes nuestros en ninguno de nuestros números. Responde ALTA para volver a suscribirte."
        }
        ("es", OptInConfirmation) => {
            "Te has vuelto a suscribir y recibirás de nuevo mensajes de este número. Responde BAJA para dejar de recibirlos."
        }
        ("es", Help) => {
            "Este es nuestro servicio de atención al cliente: escríbenos tu consulta y un agente te responderá. Responde BAJA para no recibir más mensajes."
        }
        ("es", Greeting) => "¡Hola! Hemos recibido tu mensaje y un agente te atenderá en breve.",
        ("es", QueuePosition) => "Eres el número {position} en la fila.",
        ("es", AgentJoined) => "{agent_name} se ha unido a la conversación.",
        ("es", OutOfHours) => {
            "En este momento estamos cerrados. Tu mensaje ha quedado guardado y te responderemos en cuanto abramos."
        }
        ("es", ConversationEnded) => {
            "Esta conversación ha terminado. Escríbenos cuando quieras si necesitas algo más."
        }
        ("es", LanguageChanged) => "A partir de ahora te escribiremos en español.",
        _ => return None,
    })
}

/// The built-in keywords of a language beyond the carriers' English ones (Spanish: BAJA, ALTA, AYUDA).
pub fn default_keywords(lang: &str) -> Option<crate::consent::KeywordLists> {
    match base_language(lang) {
        "es" => Some(crate::consent::KeywordLists {
            opt_out: vec!["BAJA".into(), "PARAR".into(), "CANCELAR".into()],
            opt_in: vec!["ALTA".into(), "SI".into(), "SÍ".into()],
            help: vec!["AYUDA".into()],
        }),
        _ => None,
    }
}

/// The names a customer texts to pick a language (built in: English and Spanish).
pub fn default_language_names() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([
        ("en".to_string(), vec!["ENGLISH".to_string(), "INGLES".to_string(), "INGLÉS".to_string()]),
        ("es".to_string(), vec!["ESPAÑOL".to_string(), "ESPANOL".to_string(), "SPANISH".to_string()]),
    ])
}

/// `es-MX` -> `es`.
pub fn base_language(lang: &str) -> &str {
    lang.split(['-', '_']).next().unwrap_or(lang)
}

/// Templates a channel sets: language -> kind -> text.
pub type Templates = BTreeMap<String, BTreeMap<AutomatedKind, String>>;

/// The text of `kind` for a customer in `lang`: the channel's own text for that language (or its base
/// language), else the built-in one, else the channel's / built-in English. None: turned off (an empty
/// text) or no text anywhere. The confirmation of a language switch never falls back to English: it says
/// which language the customer now gets ("…in English from now on"), so a language with no text of its own
/// for it sends none rather than a wrong one.
pub fn text_for(templates: &Templates, lang: &str, kind: AutomatedKind) -> Option<String> {
    let mut candidates = vec![lang, base_language(lang)];
    if kind != AutomatedKind::LanguageChanged && !candidates.contains(&DEFAULT_LANGUAGE) {
        candidates.push(DEFAULT_LANGUAGE);
    }
    for candidate in candidates {
        if let Some(text) = templates.get(candidate).and_then(|t| t.get(&kind)) {
            return (!text.trim().is_empty()).then(|| text.clone());
        }
        // A regional tag (es-MX) takes the built-in text of its base language, after the channel's.
        if candidate != base_language(candidate) {
            continue;
        }
        if let Some(text) = default_text(candidate, kind) {
            return Some(text.to_string());
        }
    }
    None
}

/// Fills `{name}` placeholders with `values`; unknown ones stay as written.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        out = out.replace(name, value);
    }
    out
}

/// Every template of `templates` with the built-in ones filled in, for the languages built in and the ones
/// the channel adds: what the admin API shows.
pub fn effective_templates(templates: &Templates) -> Templates {
    let mut langs: Vec<String> = vec!["en".into(), "es".into()];
    langs.extend(templates.keys().cloned());
    langs.sort();
    langs.dedup();
    langs
        .into_iter()
        .map(|lang| {
            let texts = AutomatedKind::ALL
                .iter()
                .map(|k| (*k, text_for(templates, &lang, *k).unwrap_or_default()))
                .collect();
            (lang, texts)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_english_and_spanish_defaults() {
        for kind in AutomatedKind::ALL {
            for lang in ["en", "es"] {
                let text = default_text(lang, kind).unwrap_or_else(|| panic!("{lang} {kind:?}"));
                assert!(text.chars().count() <= 320, "{lang} {kind:?} stays short");
                for p in kind.placeholders() {
                    assert!(text.contains(p), "{lang} {kind:?} uses {p}");
                }
                assert_eq!(crate::placeholder::check(text, kind.placeholders()), Ok(()), "{lang} {kind:?}");
            }
            assert_ne!(default_text("en", kind), default_text("es", kind));
        }
        // STOPALL's confirmation speaks of every number, not "this number".
        for lang in ["en", "es"] {
            let all = default_text(lang, AutomatedKind::OptOutAllConfirmation).unwrap_or_default();
            assert_ne!(Some(all), default_text(lang, AutomatedKind::OptOutConfirmation));
            assert!(!all.contains("this number") && !all.contains("este número"), "{all}");
        }
    }

    #[test]
    fn channel_texts_override_then_defaults_then_english() {
        let templates: Templates = BTreeMap::from([
            ("es".to_string(), BTreeMap::from([(AutomatedKind::Greeting, "¡Buenas!".to_string())])),
            ("fr".to_string(), BTreeMap::from([(AutomatedKind::Greeting, "Bonjour !".to_string())])),
            ("en".to_string(), BTreeMap::from([(AutomatedKind::Help, String::new())])),
        ]);
        assert_eq!(text_for(&templates, "es-MX", AutomatedKind::Greeting).as_deref(), Some("¡Buenas!"));
        assert_eq!(
            text_for(&templates, "es", AutomatedKind::AgentJoined).as_deref(),
            default_text("es", AutomatedKind::AgentJoined)
        );
        assert_eq!(text_for(&templates, "fr", AutomatedKind::Greeting).as_deref(), Some("Bonjour !"));
        assert_eq!(
            text_for(&templates, "fr", AutomatedKind::AgentJoined).as_deref(),
            default_text("en", AutomatedKind::AgentJoined),
            "a language the admin added falls back to English where it has no text"
        );
        assert_eq!(text_for(&templates, "en", AutomatedKind::Help), None, "an empty text turns it off");
        assert_eq!(
            text_for(&templates, "fr", AutomatedKind::LanguageChanged),
            None,
            "no English 'we will write to you in English' for a switch to French"
        );
        assert_eq!(
            text_for(&templates, "es-MX", AutomatedKind::LanguageChanged).as_deref(),
            default_text("es", AutomatedKind::LanguageChanged),
            "a regional tag still takes its base language's"
        );
        assert_eq!(fill("{agent_name} is here", &[("{agent_name}", "Ada")]), "Ada is here");
        let shown = effective_templates(&templates);
        assert_eq!(shown.keys().cloned().collect::<Vec<_>>(), vec!["en", "es", "fr"]);
        assert_eq!(shown["es"][&AutomatedKind::Greeting], "¡Buenas!");
    }
}

/// A setting that broke a rule: the field (JSON path) and the rule, for a 400 (the one settings error type).
pub use crate::validation::FieldError;

/// A language tag as channels, quick replies and contacts name languages (BCP 47's shape, without
/// extensions): a language of 2 or 3 lowercase letters, then optionally a script (4 letters, `Hant`), a
/// region (2 letters or 3 digits, `MX`, `419`) and variants (5 to 8 letters or digits, or a digit and 3
/// more, `1996`), in that order: `en`, `es`, `es-MX`, `pt-BR`, `zh-Hant-TW`.
pub fn valid_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let base = parts.next().unwrap_or_default();
    if !((2..=3).contains(&base.len()) && base.chars().all(|c| c.is_ascii_lowercase())) {
        return false;
    }
    // 0: after the language; 1: after a script; 2: after a region; 3: among the variants.
    let mut stage = 0;
    parts.all(|p| {
        let letters = p.chars().all(|c| c.is_ascii_alphabetic());
        let alphanumeric = p.chars().all(|c| c.is_ascii_alphanumeric());
        let (next, fits) = if stage < 1 && p.len() == 4 && letters {
            (1, true)
        } else if stage < 2
            && ((p.len() == 2 && letters) || (p.len() == 3 && p.chars().all(|c| c.is_ascii_digit())))
        {
            (2, true)
        } else {
            let variant =
                (5..=8).contains(&p.len()) || (p.len() == 4 && p.starts_with(|c: char| c.is_ascii_digit()));
            (3, alphanumeric && variant)
        };
        stage = next;
        fits
    })
}

/// The rules of a channel's language and messaging settings (automated messages, consent keywords).
pub fn validate_messaging(
    language: Option<&str>,
    settings: &crate::model::MessagingSettings,
) -> Result<(), FieldError> {
    if let Some(lang) = language
        && !valid_language(lang)
    {
        return Err(FieldError::new("language", "must be a language tag such as en, es or es-MX"));
    }
    for (lang, texts) in &settings.automated_messages {
        if !valid_language(lang) {
            return Err(FieldError::new(
                format!("automated_messages.{lang}"),
                "must be keyed by a language tag such as en, es or es-MX",
            ));
        }
        for (kind, text) in texts {
            let field = || format!("automated_messages.{lang}.{}", kind.as_str());
            let chars = text.chars().count();
            if chars > crate::text::MAX_MESSAGE_CHARS {
                return Err(FieldError::new(
                    field(),
                    format!("is {chars} characters long; the limit is {}", crate::text::MAX_MESSAGE_CHARS),
                ));
            }
            crate::validation::check_free_text(&field(), text)?;
            crate::placeholder::check(text, kind.placeholders())
                .map_err(|rule| FieldError::new(field(), rule))?;
            let missing = kind.required_placeholders().iter().find(|p| !text.contains(*p));
            if let Some(p) = missing.filter(|_| !text.trim().is_empty()) {
                return Err(FieldError::new(
                    field(),
                    format!("must hold {p} (an empty text turns the message off)"),
                ));
            }
        }
    }
    crate::language::validate_keywords(settings)?;
    validate_consent_keywords(settings)
}

/// What a word already is, when an admin's consent keyword is checked.
enum Owner {
    /// A consent keyword of this kind (`opt_out`, `opt_in`, `help`), in the list named.
    Consent { kind: &'static str, list: String },
    /// A word that picks this language.
    Language(String),
}

/// The rules of a channel's `consent_keywords`: keyed by language tags; each word 1 to 30 characters besides
/// what surrounds it; no word of another kind of list (built in, in any language, or the admin's: a word is
/// one keyword, which may be listed for several languages), and no word that picks a language.
fn validate_consent_keywords(settings: &crate::model::MessagingSettings) -> Result<(), FieldError> {
    use crate::consent::normalize;
    let mut seen: BTreeMap<String, Owner> = BTreeMap::new();
    let mut claim = |word: &str, owner: Owner| {
        seen.entry(normalize(word)).or_insert(owner);
    };
    let english = [
        ("opt_out", crate::consent::OPT_OUT),
        ("opt_in", crate::consent::OPT_IN),
        ("help", crate::consent::HELP),
    ];
    for (kind, words) in english {
        for w in words {
            claim(w, Owner::Consent { kind, list: format!("the built-in {kind} list") });
        }
    }
    for lang in ["es"] {
        let Some(lists) = default_keywords(lang) else { continue };
        for (kind, words) in [("opt_out", &lists.opt_out), ("opt_in", &lists.opt_in), ("help", &lists.help)] {
            for w in words {
                claim(w, Owner::Consent { kind, list: format!("the built-in {lang} {kind} list") });
            }
        }
    }
    for (lang, words) in crate::language::language_names(settings) {
        for w in words {
            claim(&w, Owner::Language(lang.clone()));
        }
    }
    for (lang, lists) in &settings.consent_keywords {
        if !valid_language(lang) {
            return Err(FieldError::new(
                format!("consent_keywords.{lang}"),
                "must be keyed by a language tag such as en, es or es-MX",
            ));
        }
        for (kind, words) in [("opt_out", &lists.opt_out), ("opt_in", &lists.opt_in), ("help", &lists.help)] {
            for (i, w) in words.iter().enumerate() {
                let field = format!("consent_keywords.{lang}.{kind}[{i}]");
                let word = normalize(w);
                if word.is_empty() || word.chars().count() > 30 {
                    return Err(FieldError::new(
                        field,
                        "must be 1 to 30 characters besides the spaces, punctuation and symbols around it",
                    ));
                }
                crate::validation::check_display_name(&field, w)?;
                match seen.get(&word) {
                    // The same keyword again (for another language, or a built-in one): it means the same.
                    Some(Owner::Consent { kind: owned, .. }) if *owned == kind => {}
                    Some(Owner::Consent { list, .. }) => {
                        return Err(FieldError::new(
                            field,
                            format!("'{word}' is already a keyword of {list}"),
                        ));
                    }
                    Some(Owner::Language(picks)) => {
                        return Err(FieldError::new(
                            field,
                            format!(
                                "'{word}' picks the language {picks}; a language keyword cannot be a consent keyword"
                            ),
                        ));
                    }
                    None => {
                        seen.insert(
                            word,
                            Owner::Consent { kind, list: format!("consent_keywords.{lang}.{kind}") },
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod validation_tests {
    use super::*;
    use crate::consent::KeywordLists;
    use crate::model::MessagingSettings;

    #[test]
    fn settings_rules_name_the_field() {
        let ok = MessagingSettings::default();
        assert_eq!(validate_messaging(Some("es-MX"), &ok), Ok(()));
        assert_eq!(validate_messaging(Some("Spanish"), &ok).unwrap_err().field, "language");
        let mut long = MessagingSettings::default();
        long.automated_messages
            .insert("en".into(), BTreeMap::from([(AutomatedKind::Greeting, "a".repeat(1601))]));
        assert_eq!(validate_messaging(None, &long).unwrap_err().field, "automated_messages.en.greeting");
        let mut clash = MessagingSettings::default();
        clash
            .consent_keywords
            .insert("es".into(), KeywordLists { help: vec!["stop".into()], ..Default::default() });
        let e = validate_messaging(None, &clash).unwrap_err();
        assert_eq!(e.field, "consent_keywords.es.help[0]");
        assert!(e.rule.contains("opt_out"), "{}", e.rule);
        let mut blank = MessagingSettings::default();
        blank
            .consent_keywords
            .insert("es".into(), KeywordLists { opt_out: vec![" ! ".into()], ..Default::default() });
        assert_eq!(validate_messaging(None, &blank).unwrap_err().field, "consent_keywords.es.opt_out[0]");
        let mut fine = MessagingSettings::default();
        fine.consent_keywords.insert(
            "es".into(),
            KeywordLists { opt_out: vec!["BAJA".into(), "stop".into()], ..Default::default() },
        );
        assert_eq!(validate_messaging(None, &fine), Ok(()), "repeating a built-in in its own list is fine");
    }

    fn keywords(lists: &[(&str, KeywordLists)]) -> MessagingSettings {
        let mut settings = MessagingSettings::default();
        for (lang, l) in lists {
            settings.consent_keywords.insert(lang.to_string(), l.clone());
        }
        settings
    }

    fn opt_out(words: &[&str]) -> KeywordLists {
        KeywordLists { opt_out: words.iter().map(|w| w.to_string()).collect(), ..Default::default() }
    }

    #[test]
    fn an_admin_keyword_may_not_clash_with_another_languages_built_in_keywords_or_language_names() {
        let e = validate_messaging(None, &keywords(&[("fr", opt_out(&["ALTA"]))])).unwrap_err();
        assert_eq!(e.field, "consent_keywords.fr.opt_out[0]");
        assert!(
            e.rule.contains("'ALTA'") && e.rule.contains("es") && e.rule.contains("opt_in"),
            "{}",
            e.rule
        );
        let e = validate_messaging(None, &keywords(&[("en", opt_out(&["ayuda"]))])).unwrap_err();
        assert_eq!(e.field, "consent_keywords.en.opt_out[0]");
        // A word that picks a language, built in or the channel's, is no consent keyword.
        let e = validate_messaging(None, &keywords(&[("en", opt_out(&["ESPAÑOL"]))])).unwrap_err();
        assert_eq!(e.field, "consent_keywords.en.opt_out[0]");
        assert!(e.rule.contains("'ESPAÑOL'") && e.rule.contains("language"), "{}", e.rule);
        let help = KeywordLists { help: vec!["english".into()], ..Default::default() };
        assert_eq!(
            validate_messaging(None, &keywords(&[("es", help)])).unwrap_err().field,
            "consent_keywords.es.help[0]"
        );
        let mut own = keywords(&[("fr", opt_out(&["Français"]))]);
        own.language_keywords.insert("fr".into(), vec!["FRANÇAIS".into()]);
        assert!(validate_messaging(None, &own).is_err(), "the channel's own language word");
        // The same word in two languages' lists of the same kind is one keyword, listed twice.
        let twice = keywords(&[("it", opt_out(&["BASTA"])), ("pt", opt_out(&["basta"]))]);
        assert_eq!(validate_messaging(None, &twice), Ok(()));
        let es_twice = keywords(&[("es-MX", opt_out(&["BAJA"])), ("fr", opt_out(&["Baja"]))]);
        assert_eq!(validate_messaging(None, &es_twice), Ok(()), "a built-in Spanish opt-out, as an opt-out");
        // ... but not in lists of different kinds.
        let both = keywords(&[
            ("it", opt_out(&["BASTA"])),
            ("pt", KeywordLists { opt_in: vec!["BASTA".into()], ..Default::default() }),
        ]);
        let e = validate_messaging(None, &both).unwrap_err();
        assert_eq!(e.field, "consent_keywords.pt.opt_in[0]");
        assert!(e.rule.contains("consent_keywords.it.opt_out"), "{}", e.rule);
    }

    fn template(lang: &str, kind: AutomatedKind, text: &str) -> MessagingSettings {
        let mut settings = MessagingSettings::default();
        settings.automated_messages.insert(lang.into(), BTreeMap::from([(kind, text.to_string())]));
        settings
    }

    #[test]
    fn a_template_holds_only_the_placeholders_its_message_fills() {
        use AutomatedKind::*;
        let ok = |kind, text: &str| validate_messaging(None, &template("en", kind, text));
        assert_eq!(ok(Greeting, "Hi! Someone will be with you shortly."), Ok(()));
        assert_eq!(ok(AgentJoined, "{agent_name} is here."), Ok(()));
        assert_eq!(ok(AgentJoined, "An agent is here."), Ok(()), "a placeholder it may leave out");
        assert_eq!(ok(QueuePosition, "Number {position} in line."), Ok(()));
        assert_eq!(ok(QueuePosition, ""), Ok(()), "an empty text turns it off");
        assert_eq!(
            ok(Greeting, "Use {} or { x } or {a-b}"),
            Ok(()),
            "braces that are no placeholder are text"
        );
        let e = ok(Greeting, "Hi {customer_name}, {agent_name} will help").unwrap_err();
        assert_eq!(e.field, "automated_messages.en.greeting");
        assert!(e.rule.contains("{customer_name}"), "{}", e.rule);
        let e = ok(AgentJoined, "Agent {agnt_name} here").unwrap_err();
        assert_eq!(e.field, "automated_messages.en.agent_joined");
        assert!(e.rule.contains("{agnt_name}") && e.rule.contains("{agent_name}"), "{}", e.rule);
        let e =
            validate_messaging(None, &template("es", AgentJoined, "{{agent_name}} está aquí")).unwrap_err();
        assert_eq!(e.field, "automated_messages.es.agent_joined");
        assert!(e.rule.contains("{{agent_name}}"), "{}", e.rule);
        let e = ok(QueuePosition, "You are in line.").unwrap_err();
        assert_eq!(e.field, "automated_messages.en.queue_position");
        assert!(e.rule.contains("{position}"), "{}", e.rule);
    }
}
