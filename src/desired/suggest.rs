//! "Did you mean" for misspelt field names, enum values and service
//! references: a small edit distance, biased towards shared prefixes so that
//! a truncated `prot` still finds `process`.

/// Levenshtein distance between two strings, counted in characters.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// How far `typed` is from `candidate`: the plain distance, or the distance
/// to the candidate's prefix of the same length plus one.
fn score(typed: &str, candidate: &str) -> usize {
    let full = levenshtein(typed, candidate);
    let typed_len = typed.chars().count();
    if candidate.chars().count() > typed_len {
        let prefix: String = candidate.chars().take(typed_len).collect();
        full.min(levenshtein(typed, &prefix) + 1)
    } else {
        full
    }
}

/// The candidate closest to `typed`, if one is close enough to be a likely
/// typo. Ties go to the smaller full distance, then to the earlier candidate.
pub(crate) fn did_you_mean<'a, I>(typed: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let typed_len = typed.chars().count();
    let limit = 2.max(typed_len / 3);
    candidates
        .into_iter()
        .filter(|c| *c != typed)
        .map(|c| (score(typed, c), levenshtein(typed, c), c))
        .filter(|(s, _, _)| *s <= limit && *s < typed_len)
        .min_by_key(|(s, full, _)| (*s, *full))
        .map(|(_, _, c)| c)
}

/// A `hint:` line for [`did_you_mean`].
pub(crate) fn hint<'a, I>(typed: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    did_you_mean(typed, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// Pulls the offending name and the accepted names out of serde's
/// unknown-field (or unknown-variant) messages, which quote the name, then
/// each accepted name, in backticks.
pub(crate) fn hint_for_serde_message(message: &str) -> Option<String> {
    let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    else {
        return plain_hint(message).map(String::from);
    };
    let (typed, rest) = rest.split_once('`')?;
    let expected = rest.split_once("expected")?.1;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    hint(typed, candidates)
}

/// Plain words for the messages of the YAML and serde crates that name a
/// Rust type (`expected i64`) or a parser state rather than the mistake.
fn plain_hint(message: &str) -> Option<&'static str> {
    const HINTS: [(&str, &str); 7] = [
        ("expected i64", "a whole number is expected here, e.g. `50`"),
        ("expected i32", "a whole number is expected here, e.g. `50`"),
        (
            "expected u64",
            "a whole number, 0 or more, is expected here, e.g. `3`",
        ),
        (
            "expected u32",
            "a whole number, 0 or more, is expected here, e.g. `3`",
        ),
        ("expected f64", "a number is expected here, e.g. `0.5`"),
        (
            "found character that cannot start any token",
            "indent with spaces, never tabs; quote a value that starts with `@` or a backtick",
        ),
        (
            "did not find expected ',' or ']'",
            "a `[` list above is not closed: end it with `]`",
        ),
    ];
    HINTS
        .iter()
        .find(|(needle, _)| message.ends_with(needle) || message.starts_with(needle))
        .map(|(_, hint)| *hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_is_levenshtein() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
        assert_eq!(levenshtein("héllo", "hello"), 1);
    }

    #[test]
    fn suggests_close_names_only() {
        let fields = ["kind", "pinned", "priority", "process", "stop"];
        assert_eq!(did_you_mean("prot", fields), Some("process"));
        assert_eq!(did_you_mean("pined", fields), Some("pinned"));
        assert_eq!(did_you_mean("kindd", fields), Some("kind"));
        assert_eq!(did_you_mean("zzzzzzzz", fields), None);
        assert_eq!(did_you_mean("x", fields), None);
    }

    #[test]
    fn reads_serde_messages() {
        let m = "unknown field `prot`, expected one of `kind`, `pinned`, `process`";
        assert_eq!(
            hint_for_serde_message(m).as_deref(),
            Some("did you mean `process`?")
        );
        let m = "unknown variant `modle`, expected `model` or `service`";
        assert_eq!(
            hint_for_serde_message(m).as_deref(),
            Some("did you mean `model`?")
        );
        assert_eq!(hint_for_serde_message("invalid type: integer"), None);
    }

    #[test]
    fn parser_and_type_messages_get_a_plain_hint() {
        let hint = |m: &str| hint_for_serde_message(m);
        assert_eq!(
            hint("invalid type: string \"high\", expected i64").as_deref(),
            Some("a whole number is expected here, e.g. `50`")
        );
        assert!(hint(
            "found character that cannot start any token, while scanning for the next token"
        )
        .is_some_and(|h| h.contains("tabs")));
        assert!(
            hint("did not find expected ',' or ']', while parsing a flow sequence")
                .is_some_and(|h| h.contains("`]`"))
        );
        assert_eq!(hint("invalid type: string \"x\", expected a boolean"), None);
    }
}
