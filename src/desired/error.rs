//! A problem found in desired state, with where it is and how to fix it, and
//! its rendering for people: a `file:line:col` header and a snippet with a
//! caret, in the style of rustc.
use std::fmt::{self, Write as _};
use std::path::PathBuf;

/// One problem in one file. `line` and `column` are 1-based; `0:0` means the
/// problem concerns the whole file or folder (it is missing, too large, not
/// UTF-8, ...), and then no position is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Lowercase, no trailing period, names in backticks.
    pub message: String,
    /// What to do about it, when there is something useful to say.
    pub hint: Option<String>,
}

impl ConfigError {
    pub(crate) fn new(
        file: impl Into<PathBuf>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            file: file.into(),
            line,
            column,
            message: message.into(),
            hint: None,
        }
    }

    /// A problem with the whole file or folder (no position).
    pub(crate) fn whole(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::new(file, 0, 0, message)
    }

    pub(crate) fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// `file:line:col`, or just `file` for a whole-file problem.
    fn location(&self) -> String {
        if self.line == 0 {
            self.file.display().to_string()
        } else {
            format!("{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }

    /// A multi-line report:
    ///
    /// ```text
    /// error: unknown field `prot`, expected one of `kind`, `pinned`, ...
    ///   --> hosts/gpu-box/services.yaml:5:5
    ///    |
    ///  5 |     prot: http
    ///    |     ^
    ///    = hint: did you mean `process`?
    /// ```
    ///
    /// `source` is the file's text; without it (or for a whole-file problem,
    /// or a line past its end) the snippet is left out. Ends without a
    /// newline.
    pub fn render(&self, source: Option<&str>) -> String {
        let snippet_line = source
            .filter(|_| self.line > 0)
            .and_then(|text| text.lines().nth(self.line - 1));
        let width = if snippet_line.is_some() {
            self.line.to_string().len()
        } else {
            1
        };
        let pad = " ".repeat(width + 1);
        // Names and values come from the file: no control character of
        // theirs reaches the terminal raw.
        let esc = crate::text::escape_control;
        let mut out = format!(
            "error: {}\n{pad}--> {}",
            esc(&self.message),
            esc(&self.location())
        );
        if let Some(text) = snippet_line {
            let text = text.replace('\t', " ");
            let text = esc(&text);
            let caret_at = self.column.max(1) - 1;
            let _ = write!(
                out,
                "\n{pad} |\n {:>width$} | {text}\n{pad} | {}^",
                self.line,
                " ".repeat(caret_at)
            );
        }
        if let Some(hint) = &self.hint {
            let _ = write!(out, "\n{pad} = hint: {}", esc(hint));
        }
        out
    }
}

impl fmt::Display for ConfigError {
    /// One line: `<file>:<line>:<col>: <message>` (`<file>: <message>` for a
    /// whole-file problem).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let esc = crate::text::escape_control;
        write!(f, "{}: {}", esc(&self.location()), esc(&self.message))
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn prot() -> ConfigError {
        ConfigError::new(
            "hosts/gpu-box/services.yaml",
            5,
            5,
            "unknown field `prot`, expected one of `kind`, `pinned`",
        )
        .with_hint(Some("did you mean `process`?".into()))
    }

    #[test]
    fn renders_snippet_with_caret_and_hint() {
        let source = "services:\n  web:\n    kind: service\n    pinned: true\n    prot: http\n";
        assert_eq!(
            prot().render(Some(source)),
            "error: unknown field `prot`, expected one of `kind`, `pinned`\n  \
             --> hosts/gpu-box/services.yaml:5:5\n   \
             |\n \
             5 |     prot: http\n   \
             |     ^\n   \
             = hint: did you mean `process`?"
        );
    }

    #[test]
    fn renders_without_source_and_widens_gutter() {
        assert_eq!(
            prot().render(None),
            "error: unknown field `prot`, expected one of `kind`, `pinned`\n  \
             --> hosts/gpu-box/services.yaml:5:5\n   \
             = hint: did you mean `process`?"
        );
        let source = format!("{}x: 1", "\n".repeat(11));
        let e = ConfigError::new("f.yaml", 12, 1, "bad");
        assert_eq!(
            e.render(Some(&source)),
            "error: bad\n   --> f.yaml:12:1\n    |\n 12 | x: 1\n    | ^"
        );
    }

    #[test]
    fn display_is_one_line() {
        assert_eq!(
            prot().to_string(),
            "hosts/gpu-box/services.yaml:5:5: unknown field `prot`, expected one of `kind`, `pinned`"
        );
        let whole = ConfigError::whole("hosts/x/services.yaml", "file is not valid UTF-8");
        assert_eq!(
            whole.to_string(),
            "hosts/x/services.yaml: file is not valid UTF-8"
        );
        assert_eq!(
            whole.render(Some("anything")),
            "error: file is not valid UTF-8\n  --> hosts/x/services.yaml"
        );
    }

    #[test]
    fn control_characters_from_the_file_are_escaped() {
        let e = ConfigError::new(
            "hosts/n/services.yaml",
            1,
            3,
            "invalid service name `w\u{1b}[2J`",
        )
        .with_hint(Some("rename `w\u{1b}[2J`".into()));
        let text = e.render(Some("  w\u{1b}[2J: {}\n"));
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("`w\\x1b[2J`"), "{text}");
        assert!(!e.to_string().contains('\u{1b}'));
    }
}
