//! Text for people: strings from world files, commands and the event log
//! made safe to print on a terminal (docs/reference/behaviour.md, "Output"), and system messages
//! made to fit this tool's lowercase style without mangling acronyms.
use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal raw: C0 (including `\n` and `\t`,
/// since one field is one line), DEL and C1.
fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}')
        // Bidirectional controls reorder what a terminal shows ("Trojan
        // source"): U+202A–U+202E, U+2066–U+2069, and the marks U+200E/F
        // and U+061C.
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
        // Line and paragraph separators break a line where a reader (or a
        // JavaScript JSON consumer) does not expect one.
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `bytes` as lowercase hexadecimal, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// `s` with every control character shown as an escape: `\n`, `\r`, `\t`
/// by name, other C0 and DEL as `\x1b`, C1 and bidirectional controls as
/// `\u{9b}`, `\u{202e}`. Everything else,
/// backslashes included, is left as it is. Borrows when there is nothing
/// to escape.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    escape_where(s, is_unsafe)
}

/// Like [`escape_control`] but keeps line breaks: for messages of several
/// lines (an error and its hint).
pub fn escape_control_lines(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && is_unsafe(c))
}

fn escape_where(s: &str, unsafe_: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&unsafe_) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !unsafe_(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// JSON with DEL, C1 and bidirectional controls written as `\uXXXX`
/// escapes. JSON keeps C0 out of strings but lets these stand raw (`serde_json`
/// writes them so); outside a string none may appear in valid JSON, so for
/// JSON that parsed (or that `serde_json` wrote) the result is the same JSON
/// value with nothing invisible in it: every JSON line the tool writes
/// (events, `--output json`, the checkpoint, `observe` records) goes
/// through here.
pub fn json_escape_c1(line: &str) -> Cow<'_, str> {
    let raw = |c: char| c >= '\x7f' && is_unsafe(c);
    if !line.chars().any(raw) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        if raw(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `Permission denied` → `permission denied`: the first letter lowered, so
/// that system messages read like this tool's, unless the first word is
/// an acronym (`I/O error`, `ENOSPC`: more than one character and no
/// lowercase letter), which keeps its case.
pub fn lowercase_first(s: &str) -> String {
    let word = s.split(char::is_whitespace).next().unwrap_or("");
    let acronym = word.chars().nth(1).is_some() && !word.chars().any(char::is_lowercase);
    let mut chars = s.chars();
    match chars.next() {
        Some(first) if !acronym => first.to_lowercase().chain(chars).collect(),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_c1_del_and_bidi_and_stays_valid_json() {
        let v = serde_json::json!({"reason": "a\u{9b}31mb\u{7f}c\u{202e}d\u{2066}e é ✓"});
        let raw = serde_json::to_string(&v).unwrap();
        assert!(raw.contains('\u{9b}'), "serde_json leaves C1 raw: {raw}");
        let safe = json_escape_c1(&raw).into_owned();
        assert_eq!(safe, r#"{"reason":"a\u009b31mb\u007fc\u202ed\u2066e é ✓"}"#);
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn bidi_controls_are_escaped() {
        assert_eq!(
            escape_control("a\u{202e}b\u{2066}c"),
            "a\\u{202e}b\\u{2066}c"
        );
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in ["", "ok", "exit 1: C:\\path é ✓", "tab-free"] {
            assert!(matches!(escape_control(s), Cow::Borrowed(t) if t == s));
        }
    }

    #[test]
    fn control_characters_are_escaped_visibly() {
        assert_eq!(escape_control("\u{1b}]0;pwned\u{7}"), "\\x1b]0;pwned\\x07");
        assert_eq!(escape_control("a\nb\r\tc\0"), "a\\nb\\r\\tc\\x00");
        assert_eq!(escape_control("del\u{7f}"), "del\\x7f");
        assert_eq!(escape_control("csi\u{9b}31m\u{80}"), "csi\\u{9b}31m\\u{80}");
        assert_eq!(escape_control("\u{a0}ü"), "\u{a0}ü", "not control");
        assert_eq!(
            escape_control_lines("error: x\u{1b}\n\nhint: y\t"),
            "error: x\\x1b\n\nhint: y\\t"
        );
    }

    #[test]
    fn json_lines_get_c1_and_del_as_unicode_escapes() {
        let line = "{\"a\":\"x\u{9b}y\u{7f}\\u001b\"}";
        let escaped = json_escape_c1(line);
        assert_eq!(escaped, "{\"a\":\"x\\u009by\\u007f\\u001b\"}");
        let value = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(value(&escaped), value(line));
        assert!(matches!(json_escape_c1("{\"a\":1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn lowercase_first_keeps_acronyms() {
        assert_eq!(lowercase_first("Permission denied"), "permission denied");
        assert_eq!(lowercase_first("I/O error"), "I/O error");
        assert_eq!(lowercase_first("Input/output error"), "input/output error");
        assert_eq!(lowercase_first("ENOSPC"), "ENOSPC");
        assert_eq!(lowercase_first("TLS: bad"), "TLS: bad");
        assert_eq!(lowercase_first("A symlink"), "a symlink");
        assert_eq!(lowercase_first(""), "");
    }
}
