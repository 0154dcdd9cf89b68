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
    for c in text.chars() {
        if gsm7_septets(c).is_none() && !ucs2_characters.iter().any(|s| s.chars().eq([c])) {
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
}
