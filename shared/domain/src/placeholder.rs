//! Placeholders in the texts admins write (automated messages, quick replies): `{name}`, a word of letters,
//! digits and `_` between single braces, filled in before the text is sent. Other braces are text (`{}`,
//! `{ x }`, `{a-b}`); a placeholder in doubled braces (`{{name}}`) is refused, as its filled value would
//! reach the customer between braces.

/// Where each `{word}` of `text` starts and ends (byte offsets, braces included), in order.
fn spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find('{') {
        let start = from + found;
        let after = &text[start + 1..];
        let word = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        if word > 0 && after[word..].starts_with('}') {
            let end = start + 1 + word + 1;
            out.push((start, end));
            from = end;
        } else {
            from = start + 1;
        }
    }
    out
}

/// Every placeholder of `text`, in order.
pub fn placeholders(text: &str) -> Vec<&str> {
    spans(text).into_iter().map(|(start, end)| &text[start..end]).collect()
}

/// The rule `text` breaks, if any: a placeholder that is not one of `known`, or one in doubled braces.
pub fn check(text: &str, known: &[&str]) -> Result<(), String> {
    for (start, end) in spans(text) {
        let placeholder = &text[start..end];
        let opened = text[..start].ends_with('{');
        let closed = text[end..].starts_with('}');
        if opened || closed {
            let written = &text[start - usize::from(opened)..end + usize::from(closed)];
            return Err(format!("has {written}: a placeholder is written in single braces, {placeholder}"));
        }
        if !known.contains(&placeholder) {
            return Err(match known {
                [] => format!("has the unknown placeholder {placeholder}; this text takes none"),
                _ => format!("has the unknown placeholder {placeholder}; known: {}", known.join(", ")),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_words_between_single_braces() {
        assert_eq!(placeholders("Hi {name}, {x_1} and {Ünï}"), vec!["{name}", "{x_1}", "{Ünï}"]);
        assert_eq!(placeholders("Use {} or { x } or {a-b} or {"), Vec::<&str>::new());
        assert_eq!(placeholders("{{name}}"), vec!["{name}"]);
        let known = ["{name}", "{place}"];
        assert_eq!(check("Hi {name}, see you at {place}. {} { x }", &known), Ok(()));
        let e = check("Hi {nmae}", &known).unwrap_err();
        assert!(e.contains("{nmae}") && e.contains("known: {name}, {place}"), "{e}");
        assert!(check("Hi {name}", &[]).unwrap_err().contains("takes none"));
        for doubled in ["{{name}}", "{{name}", "{name}}", "a {{name}} b"] {
            let e = check(doubled, &known).unwrap_err();
            assert!(e.contains("single braces"), "{doubled}: {e}");
        }
        assert!(check("{{name}}", &known).unwrap_err().starts_with("has {{name}}:"));
    }
}
