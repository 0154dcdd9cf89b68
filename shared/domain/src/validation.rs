//! Settings' rules: every check names the field it refused and the rule it broke (the admin API turns a
//! [`FieldError`] into a 400 with that message).

use crate::model::WorkQueue;
use std::fmt;

/// A setting that broke a rule: which field, and the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub rule: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

impl std::error::Error for FieldError {}

/// The longest name [`check_display_name`] takes.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;

/// A name people read (an agent's, a channel's, a contact's, a number's description, a disposition, a tag, a
/// quick reply's title, a keyword): one line of printable text. Every control character is refused: C0
/// (NUL, newline, tab, escape, ...), DEL and C1. A name is shown in lists, headers and CRM timelines, where a
/// newline breaks the line and a NUL or an escape corrupts what reads it. At most
/// [`MAX_DISPLAY_NAME_CHARS`] characters: a name is one line, and what stores it has item size limits.
pub fn check_display_name(field: &str, name: &str) -> Result<(), FieldError> {
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(FieldError::new(field, format!("must be at most {MAX_DISPLAY_NAME_CHARS} characters")));
    }
    match first_control(name, |_| false) {
        Some((at, c)) => Err(FieldError::new(
            field,
            format!(
                "must not contain control characters such as newlines or tabs ({} at character {at})",
                code(c)
            ),
        )),
        None => Ok(()),
    }
}

/// A text people write for people (a note, an agent's reply, an automated message's template, a quick reply's
/// text): newline, carriage return and tab lay it out and are kept; every other control character (NUL,
/// escape, bell, backspace, DEL, C1, ...) is refused. Customers' own texts are never checked by this: what a
/// provider delivers is kept as it came.
pub fn check_free_text(field: &str, text: &str) -> Result<(), FieldError> {
    match first_control(text, |c| matches!(c, '\n' | '\r' | '\t')) {
        Some((at, c)) => Err(FieldError::new(
            field,
            format!(
                "must not contain control characters other than newline, carriage return and tab ({} at \
                 character {at})",
                code(c)
            ),
        )),
        None => Ok(()),
    }
}

/// The first control character of `text` that `allowed` does not let through, with its position (1-based,
/// in characters). `char::is_control` is exactly C0, DEL and C1 (general category Cc).
fn first_control(text: &str, allowed: impl Fn(char) -> bool) -> Option<(usize, char)> {
    text.chars().enumerate().find(|(_, c)| c.is_control() && !allowed(*c)).map(|(i, c)| (i + 1, c))
}

/// `U+0000`: how a refusal names a character that cannot be shown.
fn code(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// Names of queues and menus: 2 to 30 characters, each a letter, a digit, `-`, `_`, `.` or `:`.
pub fn check_name(field: &str, name: &str) -> Result<(), FieldError> {
    let count = name.chars().count();
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if !(2..=30).contains(&count) || !name.chars().all(allowed) {
        return Err(FieldError::new(
            field,
            "must be 2 to 30 characters, each a letter, a digit, '-', '_', '.' or ':'",
        ));
    }
    Ok(())
}

/// Longest service-level target and expiry (seconds): 30 days.
pub const MAX_QUEUE_SECONDS: u32 = 30 * 24 * 3600;

/// Every queue setting: the name, service level, expiry and bot (issue 11 points 1 and 7), and through their
/// own areas' rules the wrap-up settings (`lifecycle::validate_wrap_up`) and the priority settings
/// (`assign::validate_priority`). The admin API runs it on create and on every PATCH.
pub fn validate_queue(queue: &WorkQueue) -> Result<(), FieldError> {
    check_name("name", &queue.name)?;
    crate::lifecycle::validate_wrap_up(queue)?;
    crate::assign::validate_priority(queue)?;
    crate::offer::validate(queue)?;
    crate::assign::validate_affinity(queue)?;
    crate::transfer::validate(queue)?;
    crate::handback::validate(queue)?;
    if let Some(hours) = &queue.operating_hours {
        crate::hours::validate(hours)?;
    }
    for (field, value) in
        [("service_level_seconds", queue.service_level_seconds), ("expiry_seconds", queue.expiry_seconds)]
    {
        if value.is_some_and(|v| !(1..=MAX_QUEUE_SECONDS).contains(&v)) {
            return Err(FieldError::new(field, format!("must be between 1 and {MAX_QUEUE_SECONDS} seconds")));
        }
    }
    let message = queue.expiry_message.trim();
    if message.is_empty() || message.chars().count() > crate::MAX_MESSAGE_CHARS {
        return Err(FieldError::new("expiry_message", "must be 1 to 1600 characters"));
    }
    check_free_text("expiry_message", &queue.expiry_message)?;
    Ok(())
}

/// A bot's URL: `https://` and a host, no user info or fragment; plain `http://` only to a loopback host
/// and only when `allow_loopback_http` (`smsdesk dev`, tests).
pub fn check_bot_url(field: &str, url: &str, allow_loopback_http: bool) -> Result<(), FieldError> {
    let (scheme, rest) =
        url.split_once("://").ok_or_else(|| FieldError::new(field, "must be an https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty()
        || authority.contains('@')
        || url.contains('#')
        || url.chars().any(char::is_whitespace)
    {
        return Err(FieldError::new(
            field,
            "must be an https:// URL with a host and no user info or fragment",
        ));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match scheme {
        "https" => Ok(()),
        "http" if allow_loopback_http && loopback => Ok(()),
        _ => Err(FieldError::new(
            field,
            "must be an https:// URL (http:// only to a loopback host in development)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::QueueId;

    fn queue(name: &str) -> WorkQueue {
        WorkQueue::new(QueueId::new("q_1"), name, time::macros::datetime!(2026-11-29 10:00 UTC))
    }

    #[test]
    fn display_names_are_one_line_of_at_most_200_characters() {
        assert!(check_display_name("name", &"é".repeat(200)).is_ok());
        let long = check_display_name("name", &"a".repeat(201)).unwrap_err();
        assert_eq!(long.to_string(), "name: must be at most 200 characters");
    }

    #[test]
    fn display_names_refuse_every_control_character() {
        for ok in ["Ada Lovelace", "Ñandú & Co.", "Support line (EU)", "日本語", "😀 emoji"] {
            assert_eq!(check_display_name("name", ok), Ok(()), "{ok}");
        }
        for bad in ["Ada\0", "a\nb", "a\rb", "a\tb", "esc\u{1b}[31m", "del\u{7f}", "c1\u{85}", "c1\u{9f}"] {
            let refused = check_display_name("name", bad).expect_err(bad);
            assert_eq!(refused.field, "name", "{bad}");
            assert!(refused.rule.contains("control characters"), "{bad}: {}", refused.rule);
        }
        let refused = check_display_name("numbers[0].description", "ab\0").expect_err("NUL");
        assert_eq!(
            refused.to_string(),
            "numbers[0].description: must not contain control characters such as \
            newlines or tabs (U+0000 at character 3)"
        );
    }

    #[test]
    fn free_texts_keep_newlines_and_tabs_and_refuse_other_control_characters() {
        for ok in ["line one\nline two", "windows\r\nline", "col\tcol", "plain", "¿Qué tal? 😀"] {
            assert_eq!(check_free_text("text", ok), Ok(()), "{ok:?}");
        }
        for bad in [
            "nul\0",
            "bell\u{7}",
            "esc\u{1b}[2J",
            "backspace\u{8}",
            "vt\u{b}",
            "ff\u{c}",
            "del\u{7f}",
            "c1\u{80}",
            "nel\u{85}",
        ] {
            let refused = check_free_text("notes", bad).expect_err(bad);
            assert_eq!(refused.field, "notes", "{bad:?}");
        }
        assert_eq!(
            check_free_text("text", "a\nb\0").map_err(|e| e.to_string()),
            Err("text: must not contain control characters other than newline, carriage return and tab \
                 (U+0000 at character 4)"
                .to_string())
        );
    }

    #[test]
    fn queue_names() {
        for ok in ["ab", "Support", "sales.eu:tier-2_x", "Ñandú", &"x".repeat(30)] {
            assert_eq!(check_name("name", ok), Ok(()), "{ok}");
        }
        for bad in ["a", "", "two words", "slash/", "x".repeat(31).as_str(), "tab\t", "emoji😀"] {
            assert_eq!(check_name("name", bad).map_err(|e| e.field), Err("name".to_string()), "{bad}");
        }
    }

    #[test]
    fn queue_settings_name_the_field() {
        assert_eq!(validate_queue(&queue("Support")), Ok(()));
        let mut q = queue("Support");
        q.expiry_seconds = Some(0);
        assert_eq!(validate_queue(&q).map_err(|e| e.field), Err("expiry_seconds".into()));
        let mut q = queue("Support");
        q.service_level_seconds = Some(MAX_QUEUE_SECONDS + 1);
        assert_eq!(validate_queue(&q).map_err(|e| e.field), Err("service_level_seconds".into()));
        let mut q = queue("Support");
        q.expiry_message = " ".into();
        assert_eq!(validate_queue(&q).map_err(|e| e.field), Err("expiry_message".into()));
        assert_eq!(validate_queue(&queue("S")).map_err(|e| e.field), Err("name".into()));
    }

    #[test]
    fn queue_validation_runs_the_wrap_up_and_priority_rules_too() {
        let mut q = queue("Support");
        q.disposition_required = true;
        assert_eq!(validate_queue(&q).map_err(|e| e.field), Err("disposition_required".into()));
        let mut q = queue("Support");
        q.wrap_up_limit_secs = 0;
        assert_eq!(validate_queue(&q).map_err(|e| e.field), Err("wrap_up_limit_secs".into()));
        let mut q = queue("Support");
        q.escalation_add = 5;
        assert_eq!(validate_queue(&q).map_err(|e| e.field), Err("escalation_every_secs".into()));
        let mut q = queue("Support");
        (q.escalation_add, q.escalation_every_secs, q.initial_priority, q.max_priority) = (5, 30, 10, 10);
        assert_eq!(validate_queue(&q).map_err(|e| e.field), Err("max_priority".into()));
    }

    #[test]
    fn bot_urls() {
        assert_eq!(check_bot_url("bot.url", "https://bot.example.com/hook", false), Ok(()));
        assert_eq!(check_bot_url("bot.url", "http://127.0.0.1:8080/bot", true), Ok(()));
        assert_eq!(check_bot_url("bot.url", "http://[::1]:8080/bot", true), Ok(()));
        for (bad, loopback) in [
            ("http://127.0.0.1:8080/bot", false),
            ("http://bot.example.com/", true),
            ("ftp://bot.example.com/", true),
            ("https://user:pw@bot.example.com/", false),
            ("https:///path", false),
            ("bot.example.com", false),
        ] {
            assert!(check_bot_url("bot.url", bad, loopback).is_err(), "{bad}");
        }
    }
}
