//! Consent keywords. A customer who texts STOP (or an equivalent) is opted out on that channel; START
//! opts back in; HELP asks for help. Checked in exactly one place: right before a send.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

/// The keyword a text is, if the whole text (trimmed, any case) is one.
pub fn classify(text: &str) -> Option<Keyword> {
    let word = text.trim().trim_end_matches(['.', '!']).to_ascii_uppercase();
    match word.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "OPTOUT" | "OPT-OUT" | "REVOKE"
        | "ARRET" => Some(Keyword::OptOut),
        "START" | "UNSTOP" | "YES" | "SUBSCRIBE" => Some(Keyword::OptIn),
        "HELP" | "INFO" => Some(Keyword::Help),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_text_keywords_only() {
        assert_eq!(classify("STOP"), Some(Keyword::OptOut));
        assert_eq!(classify("  stop. "), Some(Keyword::OptOut));
        assert_eq!(classify("Unsubscribe"), Some(Keyword::OptOut));
        assert_eq!(classify("start"), Some(Keyword::OptIn));
        assert_eq!(classify("help"), Some(Keyword::Help));
        assert_eq!(classify("please stop calling me"), None);
        assert_eq!(classify("stopped"), None);
    }
}
