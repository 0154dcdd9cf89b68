//! Keyword menus: a number that feeds several queues shows its menu to the customer's first text; the
//! customer answers with an option's keyword or digit, BACK (up one menu) or EXIT (end the conversation).
//! Everything here is pure: [`answer`] decides, the router does what it says.

use crate::ids::{MenuId, QueueId};
use crate::model::rfc3339;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What the customer answers to go up one menu.
pub const BACK: &str = "BACK";
/// What the customer answers to end the conversation.
pub const EXIT: &str = "EXIT";
/// The language a menu's text falls back to.
pub const DEFAULT_LANGUAGE: &str = "en";
/// Bounds of a menu's timeout, in seconds.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 10..=7 * 24 * 3600;
pub const MAX_OPTIONS: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Menu {
    pub id: MenuId,
    pub name: String,
    /// The menu's text per language (`en`, `es`, ...), sent as it is: it lists the options.
    pub text: BTreeMap<String, String>,
    pub options: Vec<MenuOption>,
    /// Unanswered this long, the conversation goes to `default_queue` (or the number's queue).
    pub timeout_seconds: u32,
    /// Where a timeout lands; None: the queue of the number the customer texted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_queue: Option<QueueId>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuOption {
    /// A word the customer may answer (any case).
    pub keyword: String,
    /// A digit the customer may answer instead (0-9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digit: Option<u8>,
    pub target: MenuTarget,
}

/// Where an option leads: `{"queue": "q_..."}` or `{"menu": "mnu_..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MenuTarget {
    Queue(QueueId),
    Menu(MenuId),
}

/// What the customer's answer to a menu does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MenuStep {
    /// Into this queue: the menu is done.
    Queue(QueueId),
    /// Show this nested menu.
    Enter(MenuId),
    /// Show the menu one level up.
    Back,
    /// End the conversation.
    Exit,
    /// Not an answer this menu knows (or BACK at the top): show the same menu again.
    Repeat,
}

/// The customer's `text` as an answer to `menu`, shown at `depth` (0: the number's own menu).
pub fn answer(menu: &Menu, depth: usize, text: &str) -> MenuStep {
    let word = normalize(text);
    if word.eq_ignore_ascii_case(EXIT) {
        return MenuStep::Exit;
    }
    if word.eq_ignore_ascii_case(BACK) {
        return if depth == 0 { MenuStep::Repeat } else { MenuStep::Back };
    }
    let digit = word.parse::<u8>().ok().filter(|_| word.len() == 1);
    let chosen = menu
        .options
        .iter()
        .find(|o| o.keyword.eq_ignore_ascii_case(word) || (digit.is_some() && o.digit == digit));
    match chosen.map(|o| &o.target) {
        Some(MenuTarget::Queue(q)) => MenuStep::Queue(q.clone()),
        Some(MenuTarget::Menu(m)) => MenuStep::Enter(m.clone()),
        None => MenuStep::Repeat,
    }
}

/// The stack of menus after `step` (the last is the one to show), for the steps that show a menu.
pub fn next_stack(stack: &[MenuId], step: &MenuStep) -> Vec<MenuId> {
    let mut next = stack.to_vec();
    match step {
        MenuStep::Enter(m) => next.push(m.clone()),
        MenuStep::Back if next.len() > 1 => {
            next.pop();
        }
        _ => {}
    }
    next
}

/// The text of `menu` in `language`, else in its base language (`es` for `es-MX`), else in English, else in
/// any language it has.
pub fn text_for<'a>(menu: &'a Menu, language: Option<&str>) -> &'a str {
    language
        .and_then(|l| menu.text.get(l).or_else(|| menu.text.get(crate::automated::base_language(l))))
        .or_else(|| menu.text.get(DEFAULT_LANGUAGE))
        .or_else(|| menu.text.values().next())
        .map(String::as_str)
        .unwrap_or_default()
}

/// The whole text, trimmed of spaces and surrounding punctuation.
fn normalize(text: &str) -> &str {
    text.trim().trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
}

/// Checks a menu's own rules (the targets' existence is the service's to check): the field and the rule.
pub fn validate(menu: &Menu) -> Result<(), FieldError> {
    crate::validation::check_name("name", &menu.name)?;
    if menu.text.is_empty() {
        return Err(FieldError::new("text", "must have the menu's text in at least one language"));
    }
    for (language, text) in &menu.text {
        let field = format!("text.{language}");
        if !(2..=8).contains(&language.len())
            || !language.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
        {
            return Err(FieldError::new(field, "the language must be a language tag such as en or es"));
        }
        if text.trim().is_empty() || text.chars().count() > crate::MAX_MESSAGE_CHARS {
            return Err(FieldError::new(field, "must be 1 to 1600 characters"));
        }
        crate::validation::check_free_text(&field, text)?;
    }
    if menu.options.is_empty() || menu.options.len() > MAX_OPTIONS {
        return Err(FieldError::new("options", format!("must have 1 to {MAX_OPTIONS} options")));
    }
    for (i, option) in menu.options.iter().enumerate() {
        let keyword = option.keyword.trim();
        let field = format!("options[{i}].keyword");
        if keyword.is_empty() || keyword.len() > 20 || !keyword.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new(field, "must be 1 to 20 letters or digits"));
        }
        if keyword.eq_ignore_ascii_case(BACK) || keyword.eq_ignore_ascii_case(EXIT) {
            return Err(FieldError::new(field, "BACK and EXIT are reserved"));
        }
        if crate::consent::classify(keyword, []).is_some() {
            return Err(FieldError::new(field, "must not be a consent keyword (STOP, START, HELP, ...)"));
        }
        let earlier = &menu.options[..i];
        if earlier.iter().any(|o| o.keyword.trim().eq_ignore_ascii_case(keyword)) {
            return Err(FieldError::new(field, "must be unique in the menu"));
        }
        // A keyword that is one digit would answer for whichever option has that digit too: the customer's
        // "2" must mean one option.
        if let Ok(d) = keyword.parse::<u8>()
            && menu.options.iter().enumerate().any(|(j, o)| j != i && o.digit == Some(d))
        {
            return Err(FieldError::new(field, format!("must not be {d}, another option's digit")));
        }
        if let Some(d) = option.digit {
            let field = format!("options[{i}].digit");
            if d > 9 {
                return Err(FieldError::new(field, "must be a digit from 0 to 9"));
            }
            if earlier.iter().any(|o| o.digit == Some(d)) {
                return Err(FieldError::new(field, "must be unique in the menu"));
            }
        }
        if matches!(&option.target, MenuTarget::Menu(m) if m == &menu.id) {
            return Err(FieldError::new(format!("options[{i}].target"), "must not be the menu itself"));
        }
    }
    if !TIMEOUT_RANGE.contains(&menu.timeout_seconds) {
        return Err(FieldError::new(
            "timeout_seconds",
            format!("must be between {} and {}", TIMEOUT_RANGE.start(), TIMEOUT_RANGE.end()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> Menu {
        Menu {
            id: MenuId::new("mnu_top"),
            name: "main".into(),
            text: BTreeMap::from([("en".into(), "1 SALES, 2 BILLING, 3 MORE".into())]),
            options: vec![
                MenuOption {
                    keyword: "sales".into(),
                    digit: Some(1),
                    target: MenuTarget::Queue(QueueId::new("q_s")),
                },
                MenuOption {
                    keyword: "Billing".into(),
                    digit: Some(2),
                    target: MenuTarget::Queue(QueueId::new("q_b")),
                },
                MenuOption {
                    keyword: "MORE".into(),
                    digit: Some(3),
                    target: MenuTarget::Menu(MenuId::new("mnu_more")),
                },
            ],
            timeout_seconds: 300,
            default_queue: None,
            created_at: time::macros::datetime!(2026-11-29 10:00 UTC),
        }
    }

    #[test]
    fn answers_table() {
        let m = menu();
        let q = |s: &str| MenuStep::Queue(QueueId::new(s));
        let cases: &[(&str, usize, MenuStep)] = &[
            ("SALES", 0, q("q_s")),
            ("sales", 0, q("q_s")),
            ("  Sales! ", 0, q("q_s")),
            ("1", 0, q("q_s")),
            ("2", 0, q("q_b")),
            ("billing.", 1, q("q_b")),
            ("3", 0, MenuStep::Enter(MenuId::new("mnu_more"))),
            ("more", 2, MenuStep::Enter(MenuId::new("mnu_more"))),
            ("BACK", 1, MenuStep::Back),
            ("back", 0, MenuStep::Repeat),
            ("exit", 0, MenuStep::Exit),
            (" EXIT. ", 3, MenuStep::Exit),
            ("4", 0, MenuStep::Repeat),
            ("12", 0, MenuStep::Repeat),
            ("I want sales", 0, MenuStep::Repeat),
            ("", 0, MenuStep::Repeat),
            ("salesman", 0, MenuStep::Repeat),
        ];
        for (text, depth, expected) in cases {
            assert_eq!(&answer(&m, *depth, text), expected, "answer {text:?} at depth {depth}");
        }
    }

    #[test]
    fn the_stack_grows_on_enter_and_shrinks_on_back_never_below_the_top() {
        let top = MenuId::new("mnu_top");
        let more = MenuId::new("mnu_more");
        let entered = next_stack(std::slice::from_ref(&top), &MenuStep::Enter(more.clone()));
        assert_eq!(entered, vec![top.clone(), more.clone()]);
        assert_eq!(next_stack(&entered, &MenuStep::Back), vec![top.clone()]);
        assert_eq!(next_stack(std::slice::from_ref(&top), &MenuStep::Back), vec![top.clone()]);
        assert_eq!(next_stack(&entered, &MenuStep::Repeat), entered);
    }

    #[test]
    fn text_in_the_customers_language_else_english_else_any() {
        let mut m = menu();
        m.text.insert("es".into(), "1 VENTAS".into());
        assert_eq!(text_for(&m, Some("es")), "1 VENTAS");
        assert_eq!(text_for(&m, Some("es-MX")), "1 VENTAS", "the base language before English");
        assert_eq!(text_for(&m, Some("fr")), "1 SALES, 2 BILLING, 3 MORE");
        assert_eq!(text_for(&m, None), "1 SALES, 2 BILLING, 3 MORE");
        m.text.remove("en");
        assert_eq!(text_for(&m, Some("fr")), "1 VENTAS");
    }

    #[test]
    fn validation_names_the_field_and_the_rule() {
        assert_eq!(validate(&menu()), Ok(()));
        let field = |m: Menu| validate(&m).err().map(|e| e.field);
        let mut m = menu();
        m.options[1].keyword = "SALES".into();
        assert_eq!(field(m), Some("options[1].keyword".into()));
        let mut m = menu();
        m.options[2].digit = Some(1);
        assert_eq!(field(m), Some("options[2].digit".into()));
        let mut m = menu();
        m.options[0].keyword = "back".into();
        assert_eq!(field(m), Some("options[0].keyword".into()));
        let mut m = menu();
        m.options[0].keyword = "stop".into();
        assert_eq!(field(m), Some("options[0].keyword".into()));
        let mut m = menu();
        m.options[0].digit = Some(10);
        assert_eq!(field(m), Some("options[0].digit".into()));
        let mut m = menu();
        m.options.clear();
        assert_eq!(field(m), Some("options".into()));
        let mut m = menu();
        m.timeout_seconds = 5;
        assert_eq!(field(m), Some("timeout_seconds".into()));
        let mut m = menu();
        m.text.clear();
        assert_eq!(field(m), Some("text".into()));
        let mut m = menu();
        m.options[2].target = MenuTarget::Menu(MenuId::new("mnu_top"));
        assert_eq!(field(m), Some("options[2].target".into()));
        let mut m = menu();
        m.name = "a b".into();
        assert_eq!(field(m), Some("name".into()));
        // A keyword that is another option's digit, before or after it: "2" would mean two options.
        let mut m = menu();
        m.options[0].keyword = "2".into();
        assert_eq!(field(m), Some("options[0].keyword".into()));
        let mut m = menu();
        m.options[2].keyword = "1".into();
        assert_eq!(field(m), Some("options[2].keyword".into()));
        let mut m = menu();
        m.options[0].keyword = "1".into();
        assert_eq!(validate(&m), Ok(()), "its own digit: the same option either way");
    }
}
