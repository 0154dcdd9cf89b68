//! Consent: which keywords a text is, and whether a customer may be texted from one of our numbers.
//!
//! Consent is per (our number, customer), plus an organization-wide opt-out (STOPALL, or an admin's change
//! for every number). Every change is kept, append-only, as a [`ConsentChange`]; the customer's state is
//! what the most recent applicable change says ([`opted_out`]). Checked in exactly one place: right
//! before a send (outbound-send), and through the same function when the API refuses a reply early.

use crate::ids::ChannelId;
use crate::model::rfc3339;
use crate::phone::Phone;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What a whole text asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keyword {
    /// Stop texts from this number; `all`: from every number of the organization (STOPALL).
    OptOut {
        all: bool,
    },
    OptIn,
    Help,
}

/// The default opt-out keywords: CTIA's list, and those the providers act on themselves (Twilio's REVOKE
/// and OPTOUT; AWS End User Messaging's OPT-OUT, REMOVE, ARRET and TD), so that smsdesk never tries to send
/// to a customer their provider has already opted out. STOPALL is the organization-wide one.
pub const OPT_OUT: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "OPT-OUT",
    "REMOVE",
    "ARRET",
    "ARRÊT",
    "TD",
];
pub const OPT_OUT_ALL: &str = "STOPALL";
pub const OPT_IN: &[&str] = &["START", "UNSTOP", "YES"];
pub const HELP: &[&str] = &["HELP", "INFO"];

/// Keywords an admin adds for a language (on the channel), besides the defaults, which always apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordLists {
    #[serde(default)]
    pub opt_out: Vec<String>,
    #[serde(default)]
    pub opt_in: Vec<String>,
    #[serde(default)]
    pub help: Vec<String>,
}

/// The text as keywords are compared: in Unicode's compatibility form (NFKC: full-width `ＳＴＯＰ` is
/// `STOP`, a decomposed accent is the accented letter), with everything that is neither a letter nor a
/// digit dropped from both ends (spaces, punctuation of any script such as `。` `！` `—`, symbols and
/// emoji), upper case. What is inside stays as written (`OPT-OUT`).
pub fn normalize(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let compatible: String = text.nfkc().collect();
    compatible.trim_matches(|c: char| !c.is_alphanumeric()).to_uppercase()
}

/// The keyword a text is, if the whole text (any case, surrounding spaces and punctuation ignored) is one
/// of the defaults or of the admin's `extra` lists (every language's lists apply: a customer texting a
/// Spanish keyword on an English channel still means it).
pub fn classify<'a>(text: &str, extra: impl IntoIterator<Item = &'a KeywordLists>) -> Option<Keyword> {
    let word = normalize(text);
    if word.is_empty() {
        return None;
    }
    if word == OPT_OUT_ALL {
        return Some(Keyword::OptOut { all: true });
    }
    let is = |defaults: &[&str], w: &str| defaults.contains(&w);
    if is(OPT_OUT, &word) {
        return Some(Keyword::OptOut { all: false });
    }
    if is(OPT_IN, &word) {
        return Some(Keyword::OptIn);
    }
    if is(HELP, &word) {
        return Some(Keyword::Help);
    }
    for lists in extra {
        let has = |list: &[String]| list.iter().any(|k| normalize(k) == word);
        if has(&lists.opt_out) {
            return Some(Keyword::OptOut { all: false });
        }
        if has(&lists.opt_in) {
            return Some(Keyword::OptIn);
        }
        if has(&lists.help) {
            return Some(Keyword::Help);
        }
    }
    None
}

/// The language a text picks when it is exactly a language's name in that language ("ESPAÑOL", "ENGLISH").
/// `names` maps language tags to the names that pick them.
pub fn language_choice(text: &str, names: &BTreeMap<String, Vec<String>>) -> Option<String> {
    let word = normalize(text);
    names.iter().find(|(_, list)| list.iter().any(|n| normalize(n) == word)).map(|(lang, _)| lang.clone())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentEvent {
    OptOut,
    OptIn,
    /// The opt-in notice (privacy text) was sent on the customer's first contact with the number.
    NoticeSent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentCause {
    /// The customer texted a keyword.
    Keyword,
    /// The provider refused a send because the customer opted out with it (Twilio 21610 and its like).
    ProviderError,
    /// An admin changed it (`POST /v1/consent`).
    Admin,
    /// The customer's first contact with the number: their first text, or a proactive text to them.
    FirstContact,
    /// Carried over from the per-channel opt-out kept before consent was per number.
    Migrated,
}

/// One change of a customer's consent: the audit trail a compliance review reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentChange {
    /// Idempotency key: the same change recorded twice is one entry.
    pub id: String,
    pub customer: Phone,
    /// Our number the change is about; None: every number of the organization.
    pub number: Option<Phone>,
    /// The channel it happened on, when it happened on one.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
    pub event: ConsentEvent,
    pub cause: ConsentCause,
    /// The keyword texted, the provider's reason, the admin's note.
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(with = "rfc3339")]
    pub at: OffsetDateTime,
}

impl ConsentChange {
    fn applies_to(&self, number: &Phone) -> bool {
        self.number.as_ref().is_none_or(|n| n == number)
    }

    fn is_choice(&self) -> bool {
        matches!(self.event, ConsentEvent::OptOut | ConsentEvent::OptIn)
    }
}

/// The latest opt-out or opt-in among `changes` that applies to `number` (its own or an organization-wide
/// one); ties in time go to the later entry.
fn latest_choice<'a>(changes: &'a [ConsentChange], number: &Phone) -> Option<&'a ConsentChange> {
    changes.iter().filter(|c| c.is_choice() && c.applies_to(number)).fold(None, |best, c| match best {
        Some(b) if b.at > c.at => Some(b),
        _ => Some(c),
    })
}

/// Whether the customer whose `changes` these are must not be texted from `number`: the most recent
/// opt-out or opt-in that applies to the number (its own, or organization-wide) decides; none: not opted out.
pub fn opted_out(changes: &[ConsentChange], number: &Phone) -> bool {
    latest_choice(changes, number).is_some_and(|c| c.event == ConsentEvent::OptOut)
}

/// Whether the customer opted out of every number: the latest organization-wide choice is an opt-out (a
/// STOPALL, an admin's), and no number was opted back in to since (a START on one number after a STOPALL
/// opens that number again). Per number, the newest change that applies to it decides ([`opted_out`]), an
/// organization-wide one counting for every number.
pub fn opted_out_everywhere(changes: &[ConsentChange]) -> bool {
    let everywhere = changes.iter().filter(|c| c.is_choice() && c.number.is_none()).fold(
        None::<&ConsentChange>,
        |best, c| match best {
            Some(b) if b.at > c.at => Some(b),
            _ => Some(c),
        },
    );
    everywhere.is_some_and(|c| c.event == ConsentEvent::OptOut)
        && changes.iter().filter_map(|c| c.number.as_ref()).all(|number| opted_out(changes, number))
}

/// Whether `number` has never had anything to do with this customer (no change names it): the customer's
/// first contact with it, which gets the opt-in notice.
pub fn first_contact(changes: &[ConsentChange], number: &Phone) -> bool {
    !changes.iter().any(|c| c.number.as_ref() == Some(number))
}

/// What a keyword changes, given the customer's history: the event to record (None: nothing changes, so
/// nothing is confirmed: a second STOP sends nothing more; START when not opted out is an ordinary "yes").
/// STOPALL records an opt-out for every number unless the customer is opted out everywhere already (with no
/// number opted back in to since).
pub fn keyword_change(changes: &[ConsentChange], number: &Phone, keyword: &Keyword) -> Option<ConsentEvent> {
    match keyword {
        Keyword::OptOut { all: false } => (!opted_out(changes, number)).then_some(ConsentEvent::OptOut),
        Keyword::OptOut { all: true } => (!opted_out_everywhere(changes)).then_some(ConsentEvent::OptOut),
        Keyword::OptIn => opted_out(changes, number).then_some(ConsentEvent::OptIn),
        Keyword::Help => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    #[test]
    fn keywords_are_whole_texts_any_case_spaces_and_punctuation_ignored() {
        let spanish = KeywordLists {
            opt_out: vec!["BAJA".into(), "Parar".into()],
            opt_in: vec!["ALTA".into()],
            help: vec!["AYUDA".into()],
        };
        let out = Some(Keyword::OptOut { all: false });
        let table: &[(&str, Option<Keyword>)] = &[
            ("STOP", out.clone()),
            ("  stop. ", out.clone()),
            ("Stop!", out.clone()),
            ("\"stop\"", out.clone()),
            ("Unsubscribe", out.clone()),
            ("cancel", out.clone()),
            ("END", out.clone()),
            ("quit?", out.clone()),
            ("Revoke", out.clone()),
            ("optout", out.clone()),
            ("Opt-Out.", out.clone()),
            ("remove", out.clone()),
            ("Arrêt", out.clone()),
            ("ARRET", out.clone()),
            ("td", out.clone()),
            ("StopAll", Some(Keyword::OptOut { all: true })),
            ("start", Some(Keyword::OptIn)),
            ("UNSTOP", Some(Keyword::OptIn)),
            ("Yes!", Some(Keyword::OptIn)),
            ("help", Some(Keyword::Help)),
            ("Info.", Some(Keyword::Help)),
            ("baja", out.clone()),
            ("¡Parar!", out.clone()),
            ("alta", Some(Keyword::OptIn)),
            ("¿Ayuda?", Some(Keyword::Help)),
            ("please stop calling me", None),
            ("stopped", None),
            ("stop it", None),
            ("yes please", None),
            ("", None),
            ("...", None),
        ];
        for (text, expected) in table {
            assert_eq!(&classify(text, [&spanish]), expected, "{text:?}");
        }
        assert_eq!(classify("baja", []), None, "an admin's keyword applies only where listed");
    }

    #[test]
    fn unicode_punctuation_symbols_and_full_width_forms_around_a_keyword_are_ignored() {
        let out = Some(Keyword::OptOut { all: false });
        for text in [
            "STOP。",
            "STOP！",
            "—STOP—",
            "ＳＴＯＰ",
            "ｓｔｏｐ",
            "Stop 🛑",
            "Stop 👍",
            "🛑 STOP 🛑",
            "«STOP»",
            "【STOP】",
            "STOP\u{200B}",
            "STOP\n",
            "• stop ·",
        ] {
            assert_eq!(classify(text, []), out, "{text:?}");
        }
        assert_eq!(classify("ＳＴＯＰＡＬＬ！", []), Some(Keyword::OptOut { all: true }));
        assert_eq!(classify("ＯＰＴ－ＯＵＴ", []), out, "full-width, its inner dash kept as a dash");
        assert_eq!(classify("Arre\u{302}t", []), out, "a decomposed accent is the same letter");
        assert_eq!(classify("¿ＡＹＵＤＡ？", [&default_spanish()]), Some(Keyword::Help));
        // What is inside stays: not a keyword.
        assert_eq!(classify("ST🛑OP", []), None);
        assert_eq!(classify("STOP STOP", []), None);
        assert_eq!(classify("OPT OUT", []), None);
        assert_eq!(classify("🛑", []), None);
        assert_eq!(normalize("  «Opt-Out!» "), "OPT-OUT");
    }

    fn default_spanish() -> KeywordLists {
        crate::automated::default_keywords("es").expect("Spanish keywords")
    }

    #[test]
    fn a_language_name_picks_the_language() {
        let names = BTreeMap::from([
            ("es".to_string(), vec!["ESPAÑOL".to_string(), "Espanol".to_string()]),
            ("en".to_string(), vec!["ENGLISH".to_string()]),
        ]);
        assert_eq!(language_choice(" español ", &names).as_deref(), Some("es"));
        assert_eq!(language_choice("English.", &names).as_deref(), Some("en"));
        assert_eq!(language_choice("ＥＳＰＡÑＯＬ！", &names).as_deref(), Some("es"));
        assert_eq!(language_choice("hablo español", &names), None);
    }

    fn phone(s: &str) -> Phone {
        Phone::parse(s).unwrap()
    }

    fn change(number: Option<&str>, event: ConsentEvent, minutes: i64) -> ConsentChange {
        ConsentChange {
            id: format!("c{minutes}"),
            customer: phone("+15555550123"),
            number: number.map(phone),
            channel_id: None,
            event,
            cause: ConsentCause::Keyword,
            detail: None,
            at: datetime!(2026-01-01 00:00 UTC) + Duration::minutes(minutes),
        }
    }

    #[test]
    fn the_latest_applicable_choice_decides() {
        use ConsentEvent::*;
        let a = phone("+15555550100");
        let b = phone("+15555550101");
        assert!(!opted_out(&[], &a), "nobody is opted out by default");
        let stop_a = [change(Some("+15555550100"), OptOut, 1)];
        assert!(opted_out(&stop_a, &a));
        assert!(!opted_out(&stop_a, &b), "STOP on one number leaves the others");
        let stop_all = [change(None, OptOut, 1)];
        assert!(opted_out(&stop_all, &a) && opted_out(&stop_all, &b), "STOPALL stops every number");
        let start_a = [change(None, OptOut, 1), change(Some("+15555550100"), OptIn, 2)];
        assert!(!opted_out(&start_a, &a), "START on a number after STOPALL opts that number back in");
        assert!(opted_out(&start_a, &b), "... and only that one");
        let out_of_order = [change(Some("+15555550100"), OptIn, 5), change(Some("+15555550100"), OptOut, 3)];
        assert!(!opted_out(&out_of_order, &a), "the latest in time wins, not the latest recorded");
        let notice = [change(Some("+15555550100"), OptOut, 1), change(Some("+15555550100"), NoticeSent, 2)];
        assert!(opted_out(&notice, &a), "a notice is no choice");
    }

    #[test]
    fn first_contact_and_what_keywords_change() {
        use ConsentEvent::*;
        let a = phone("+15555550100");
        let b = phone("+15555550101");
        let noticed = [change(Some("+15555550100"), NoticeSent, 1)];
        assert!(first_contact(&[], &a));
        assert!(!first_contact(&noticed, &a));
        assert!(first_contact(&noticed, &b));
        let stop = Keyword::OptOut { all: false };
        let stop_all = Keyword::OptOut { all: true };
        assert_eq!(keyword_change(&noticed, &a, &stop), Some(OptOut));
        let stopped = [change(Some("+15555550100"), OptOut, 1)];
        assert_eq!(keyword_change(&stopped, &a, &stop), None, "a second STOP changes nothing");
        assert_eq!(keyword_change(&stopped, &a, &stop_all), Some(OptOut), "STOPALL still widens it");
        let all = [change(None, OptOut, 1)];
        assert_eq!(keyword_change(&all, &a, &stop_all), None);
        assert_eq!(keyword_change(&all, &b, &stop), None, "already stopped by STOPALL");
        // STOPALL, START on A, STOPALL again (on A, or on B which is still stopped): A is stopped again.
        let back_on_a = [change(None, OptOut, 1), change(Some("+15555550100"), OptIn, 2)];
        assert!(!opted_out_everywhere(&back_on_a), "A takes texts again");
        assert_eq!(keyword_change(&back_on_a, &a, &stop_all), Some(OptOut));
        assert_eq!(keyword_change(&back_on_a, &b, &stop_all), Some(OptOut), "texted to a stopped number too");
        let again = [back_on_a[0].clone(), back_on_a[1].clone(), change(None, OptOut, 3)];
        assert!(opted_out(&again, &a) && opted_out(&again, &b), "the newest change wins: every number");
        assert!(opted_out_everywhere(&again));
        assert_eq!(keyword_change(&again, &a, &stop_all), None, "a third STOPALL changes nothing");
        // START on A then STOP on A: stopped everywhere again, with no STOPALL needed.
        let stopped_again =
            [back_on_a[0].clone(), back_on_a[1].clone(), change(Some("+15555550100"), OptOut, 3)];
        assert!(opted_out_everywhere(&stopped_again));
        assert_eq!(keyword_change(&stopped_again, &b, &stop_all), None);
        // Per-number STOPs on every number known are not STOPALL: it still widens to every number.
        assert!(!opted_out_everywhere(&stopped));
        // An admin's opt-in for every number after a STOPALL.
        let admin_in = [change(None, OptOut, 1), change(None, OptIn, 2)];
        assert!(!opted_out_everywhere(&admin_in) && !opted_out(&admin_in, &a));
        assert_eq!(keyword_change(&stopped, &a, &Keyword::OptIn), Some(OptIn));
        assert_eq!(keyword_change(&noticed, &a, &Keyword::OptIn), None, "a plain yes changes nothing");
        assert_eq!(keyword_change(&stopped, &a, &Keyword::Help), None);
    }
}
