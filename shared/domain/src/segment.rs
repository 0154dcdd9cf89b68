//! GSM-7 / UCS-2 encoding choice and SMS segment counting (3GPP TS 23.038).
//! A text is GSM-7 when every character is in the default alphabet or its extension table, else UCS-2.
//! GSM-7: 160 septets in one segment, else 153 per segment; extension characters take 2 septets.
//! UCS-2: 70 UTF-16 units in one segment, else 67 per segment. An escape pair or a surrogate pair is
//! never split across segments.

use crate::model::Encoding;
use serde::Serialize;

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Septets a character takes in GSM-7, or `None` when it has no GSM-7 form.
fn gsm7_septets(c: char) -> Option<u32> {
    if c != '\u{1b}' && GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SegmentInfo {
    pub encoding: Encoding,
    /// SMS parts the text is sent as.
    pub segments: u32,
    /// Characters (Unicode scalar values), as the 1600 cap counts them.
    pub characters: u32,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: u32,
    /// The distinct characters that forced UCS-2, in order of first appearance (empty for GSM-7).
    pub ucs2_characters: Vec<String>,
}

/// Chooses the encoding and counts the segments of `text`.
pub fn analyze(text: &str) -> SegmentInfo {
    let characters = text.chars().count() as u32;
    let mut ucs2_characters: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for c in text.chars() {
        if gsm7_septets(c).is_none() && seen.insert(c) {
            ucs2_characters.push(c.to_string());
        }
    }
    let (encoding, sizes, single, multi): (Encoding, Vec<u32>, u32, u32) = if ucs2_characters.is_empty() {
        let sizes = text.chars().map(|c| gsm7_septets(c).unwrap_or(1)).collect();
        (Encoding::Gsm7, sizes, 160, 153)
    } else {
        let sizes = text.chars().map(|c| c.len_utf16() as u32).collect();
        (Encoding::Ucs2, sizes, 70, 67)
    };
    let units: u32 = sizes.iter().sum();
    let segments = if units <= single {
        1
    } else {
        let mut segments = 1;
        let mut used = 0;
        for size in sizes {
            if used + size > multi {
                segments += 1;
                used = 0;
            }
            used += size;
        }
        segments
    };
    SegmentInfo { encoding, segments, characters, units, ucs2_characters }
}

/// A character smart encoding replaced: where (character index in the original text), what, with what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replacement {
    pub position: usize,
    pub from: String,
    pub to: String,
}

/// The GSM-7 look-alike of a character that has none of its own (curly quotes, long dashes, non-breaking
/// and other spaces, ellipsis, fractions, doubled punctuation, ...), if smart encoding knows one; the
/// carriers' and providers' smart encoding lists name the same kinds. Zero-width characters become
/// nothing. Full-width forms are handled by [`replacement`].
fn look_alike(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2035}' | '\u{2039}'
        | '\u{203A}' | '`' | '\u{B4}' | '\u{2B9}' | '\u{2BB}' | '\u{2BC}' | '\u{2BD}' | '\u{2C8}'
        | '\u{2CA}' | '\u{2CB}' | '\u{275B}' | '\u{275C}' | '\u{FE10}' | '\u{FE11}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{2036}' | '\u{AB}' | '\u{BB}'
        | '\u{2BA}' | '\u{2EE}' | '\u{275D}' | '\u{275E}' | '\u{301D}' | '\u{301E}' => "\"",
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2212}'
        | '\u{2043}' | '\u{FE58}' | '\u{FE63}' => "-",
        '\t' | '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}' => "",
        '\u{2028}' | '\u{2029}' => "\n",
        '\u{2026}' => "...",
        '\u{2022}' | '\u{2023}' | '\u{2219}' => "-",
        '\u{2044}' | '\u{2215}' | '\u{F7}' | '\u{29F8}' => "/",
        '\u{29F5}' | '\u{29F9}' | '\u{FE68}' => "\\",
        '\u{2017}' | '\u{203E}' => "_",
        '\u{BC}' => "1/4",
        '\u{BD}' => "1/2",
        '\u{BE}' => "3/4",
        '\u{203C}' => "!!",
        '\u{2047}' => "??",
        '\u{2048}' => "?!",
        '\u{2049}' => "!?",
        '\u{2C6}' => "^",
        '\u{2DC}' => "~",
        _ => return None,
    })
}

/// What smart encoding puts in place of `c`, when `c` has no GSM-7 form and its replacement has: a
/// look-alike ([`look_alike`]), or the ASCII character a full-width form (U+FF01-U+FF5E: "Ａ", "！",
/// "１", as East Asian keyboards type them) stands for.
fn replacement(c: char) -> Option<String> {
    if gsm7_septets(c).is_some() {
        return None;
    }
    let to = match look_alike(c) {
        Some(to) => to.to_string(),
        None => match u32::from(c) {
            code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0)?.to_string(),
            _ => return None,
        },
    };
    to.chars().all(|r| gsm7_septets(r).is_some()).then_some(to)
}

/// Smart encoding: replaces each character that has no GSM-7 form but a look-alike that has, so a text
/// typed with curly quotes or long dashes stays in GSM-7 (160 characters a segment instead of 70).
/// Characters with no look-alike (emoji, most accented letters outside GSM-7) are left as they are.
/// Returns the new text and what changed.
pub fn smart_encode(text: &str) -> (String, Vec<Replacement>) {
    let mut out = String::with_capacity(text.len());
    let mut changes = Vec::new();
    for (position, c) in text.chars().enumerate() {
        match replacement(c) {
            Some(to) => {
                out.push_str(&to);
                changes.push(Replacement { position, from: c.to_string(), to });
            }
            None => out.push(c),
        }
    }
    (out, changes)
}

/// The text as it is sent, recorded and previewed, and whether smart encoding changed it: with the
/// channel's smart encoding on (`smart`), the look-alikes replaced ([`smart_encode`]), unless that would
/// take the text over the 1600-character cap (an ellipsis becomes three dots), in which case it goes as
/// written. One decision for the send and its preview.
pub fn as_sent(text: &str, smart: bool) -> (String, bool) {
    if smart {
        let (encoded, changes) = smart_encode(text);
        if !changes.is_empty() && encoded.chars().count() <= crate::text::MAX_MESSAGE_CHARS {
            return (encoded, true);
        }
    }
    (text.to_string(), false)
}

/// Each character that forces UCS-2 and its position (character index), in order.
pub fn ucs2_positions(text: &str) -> Vec<(usize, char)> {
    text.chars().enumerate().filter(|(_, c)| gsm7_septets(*c).is_none()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, encoding: Encoding, units: u32, segments: u32) {
        let info = analyze(text);
        assert_eq!((info.encoding, info.units, info.segments), (encoding, units, segments), "{text:?}");
    }

    #[test]
    fn worked_examples_from_the_provider_reference() {
        use Encoding::*;
        check("Hello", Gsm7, 5, 1); // E1
        check(&"a".repeat(160), Gsm7, 160, 1); // E2
        check(&"a".repeat(161), Gsm7, 161, 2); // E3
        check("Price: 10€", Gsm7, 11, 1); // E4
        check(&format!("{}€", "a".repeat(158)), Gsm7, 160, 1); // E5
        check(&format!("{}€", "a".repeat(159)), Gsm7, 161, 2); // E6
        check("Café à Malmö", Gsm7, 12, 1); // E7
        check("naïve", Ucs2, 5, 1); // E8
        check(&format!("{}[{}", "a".repeat(152), "b".repeat(152)), Gsm7, 306, 3); // E9
        check("Hi 😀", Ucs2, 5, 1); // E10
        check(&format!("😀{}", "a".repeat(69)), Ucs2, 71, 2); // E11
        check(&format!("{}😀{}", "a".repeat(66), "b".repeat(66)), Ucs2, 134, 3); // E12
        check("It’s here", Ucs2, 9, 1); // E13
        check("It's here", Gsm7, 9, 1); // E13
        check(&"ç".repeat(71), Ucs2, 71, 2); // E14
        check(&format!("🇮🇹{}", "1".repeat(66)), Ucs2, 70, 1); // E15
    }

    #[test]
    fn names_the_characters_that_force_ucs2() {
        let info = analyze("It’s naïve ’");
        assert_eq!(info.ucs2_characters, vec!["’".to_string(), "ï".to_string()]);
        assert_eq!(info.characters, 12);
    }

    #[test]
    fn segments_at_every_boundary() {
        use Encoding::*;
        let a = |n: usize| "a".repeat(n);
        let table: Vec<(String, Encoding, u32, u32)> = vec![
            (a(1), Gsm7, 1, 1),
            (a(159), Gsm7, 159, 1),
            (a(160), Gsm7, 160, 1),
            (a(161), Gsm7, 161, 2),
            (a(306), Gsm7, 306, 2),
            (a(307), Gsm7, 307, 3),
            (a(459), Gsm7, 459, 3),
            (a(460), Gsm7, 460, 4),
            (a(1600), Gsm7, 1600, 11),
            // Extension characters take two septets, and an escape pair never splits.
            ("€".repeat(80), Gsm7, 160, 1),
            (format!("{}€", a(159)), Gsm7, 161, 2),
            (format!("{}{{", a(152)), Gsm7, 154, 1),
            (format!("{}{{", a(159)), Gsm7, 161, 2),
            (format!("{}^{}", a(152), a(152)), Gsm7, 306, 3),
            (format!("{}^{}", a(151), a(153)), Gsm7, 306, 2),
            ("[]{}\\~|^\u{c}".to_string(), Gsm7, 18, 1),
            // UCS-2: 70 units in one segment, 67 per segment otherwise.
            (format!("{}é", a(69)), Gsm7, 70, 1),
            (format!("{}ï", a(69)), Ucs2, 70, 1),
            (format!("{}ï", a(70)), Ucs2, 71, 2),
            (format!("{}ï", a(133)), Ucs2, 134, 2),
            (format!("{}ï", a(134)), Ucs2, 135, 3),
            // Surrogate pairs count as two units and never split.
            ("😀".repeat(35), Ucs2, 70, 1),
            ("😀".repeat(36), Ucs2, 72, 2),
            (format!("{}😀", a(66)), Ucs2, 68, 1),
            (format!("{}😀{}", a(66), a(3)), Ucs2, 71, 2),
            (format!("{}😀", a(65)), Ucs2, 67, 1),
            (format!("{}😀{}", a(65), a(67)), Ucs2, 134, 2),
            (format!("{}😀{}", a(66), a(67)), Ucs2, 135, 3),
            // Mixed: one character outside GSM-7 turns the whole text UCS-2; extension chars then count one.
            (format!("€{}’", a(68)), Ucs2, 70, 1),
            ("\r\n".to_string(), Gsm7, 2, 1),
        ];
        for (text, encoding, units, segments) in table {
            check(&text, encoding, units, segments);
        }
    }

    #[test]
    fn smart_encoding_keeps_look_alikes_in_gsm7() {
        let text = "It’s “done” – see…\u{a0}now";
        assert_eq!(analyze(text).encoding, Encoding::Ucs2);
        let (smart, changes) = smart_encode(text);
        assert_eq!(smart, "It's \"done\" - see... now");
        assert_eq!(analyze(&smart).encoding, Encoding::Gsm7);
        let positions: Vec<usize> = changes.iter().map(|c| c.position).collect();
        assert_eq!(positions, vec![2, 5, 10, 12, 17, 18]);
        assert_eq!(changes[4], Replacement { position: 17, from: "…".into(), to: "...".into() });
        let (kept, none) = smart_encode("Café 😀 naïve");
        assert_eq!(kept, "Café 😀 naïve", "no look-alike: left as it is");
        assert!(none.is_empty());
        assert_eq!(ucs2_positions("a😀bï"), vec![(1, '😀'), (3, 'ï')]);
    }

    #[test]
    fn smart_encoding_knows_tabs_fractions_doubled_punctuation_and_full_width_forms() {
        let text = "Total\t½ price‼ Ｏｒｄｅｒ　＃１２３ ÷ ʼok ❝yes❞ a⧵b\u{2028}end";
        let (smart, changes) = smart_encode(text);
        assert_eq!(smart, "Total 1/2 price!! Order #123 / 'ok \"yes\" a\\b\nend");
        assert_eq!(analyze(&smart).encoding, Encoding::Gsm7, "{smart}");
        assert_eq!(changes[0], Replacement { position: 5, from: "\t".into(), to: " ".into() });
        assert_eq!(changes[1], Replacement { position: 6, from: "½".into(), to: "1/2".into() });
        // A full-width form whose ASCII character is not in GSM-7 itself (the backquote) stays as it is,
        // and so do letters with no look-alike.
        assert_eq!(smart_encode("｀ ä ń").0, "｀ ä ń");
        // GSM-7 characters are never touched, even those a table might name (the tab's neighbour, LF).
        assert_eq!(smart_encode("a\nb\rc").1, vec![]);
    }

    #[test]
    fn smart_encoding_applies_only_within_the_cap() {
        assert_eq!(as_sent("It’s here", true), ("It's here".to_string(), true));
        assert_eq!(as_sent("It’s here", false), ("It’s here".to_string(), false));
        assert_eq!(as_sent("Plain", true), ("Plain".to_string(), false), "nothing to replace");
        // 600 ellipses would be 1800 dots: over the cap, so the text goes as written (UCS-2, 9 segments).
        let long = "…".repeat(600);
        assert_eq!(as_sent(&long, true), (long.clone(), false));
        let info = analyze(&as_sent(&long, true).0);
        assert_eq!((info.encoding, info.segments, info.characters), (Encoding::Ucs2, 9, 600));
        let at_cap = "…".repeat(533) + "a";
        assert_eq!(as_sent(&at_cap, true).0.chars().count(), 1600);
    }
}
