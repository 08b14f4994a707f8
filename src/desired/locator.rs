//! Maps a key path such as `services.web.fallback` to a line and column of
//! the YAML text, for problems found after deserializing (where the YAML
//! crate no longer knows positions).
//!
//! It is a light, indentation-based scan of block-style YAML that has already
//! parsed: comments, block scalars (`|`, `>`), multi-line plain scalars and
//! multi-line flow collections are skipped; keys inside flow collections
//! (`{a: 1}`) are not indexed. When a path is not found, callers get the
//! position of its nearest indexed ancestor, so a message always points
//! somewhere sensible.
use std::collections::HashMap;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

pub(crate) fn key(name: &str) -> Seg {
    Seg::Key(name.to_string())
}

/// A key (or sequence item) found in the text. Positions are 1-based.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub path: Vec<Seg>,
    pub line: usize,
    pub column: usize,
    /// Where the value starts, when it is on the same line.
    pub value_column: Option<usize>,
}

struct Frame {
    column: usize,
    seg: Seg,
    items: usize,
}

/// Built on first use: a file that loads cleanly never pays for the index.
pub(crate) struct Locator<'a> {
    text: &'a str,
    built: std::cell::OnceCell<Built>,
}

/// Owns its lines, so that `Locator` stays covariant in its lifetime.
struct Built {
    lines: Vec<String>,
    entries: Vec<Entry>,
    /// Index of the first entry of each path.
    first: HashMap<Vec<Seg>, usize>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Locator {
            text,
            built: std::cell::OnceCell::new(),
        }
    }

    fn b(&self) -> &Built {
        self.built.get_or_init(|| Built::new(self.text))
    }
}

impl Built {
    fn new(text: &str) -> Self {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut entries = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut root_items = 0;
        let mut skip_deeper_than: Option<usize> = None;
        let mut flow_depth: i64 = 0;
        for (number, raw) in lines.iter().enumerate() {
            let chars: Vec<char> = strip_comment(raw).chars().collect();
            let indent = chars.iter().take_while(|c| **c == ' ').count();
            let blank = indent == chars.len() || chars[indent..].iter().all(|c| c.is_whitespace());
            if flow_depth > 0 {
                flow_depth += bracket_balance(&chars);
                continue;
            }
            if let Some(limit) = skip_deeper_than {
                if blank || indent > limit {
                    continue;
                }
                skip_deeper_than = None;
            }
            if blank || (indent == 0 && (starts_with(&chars, "---") || starts_with(&chars, "...")))
            {
                continue;
            }
            let mut pos = indent;
            loop {
                let rest = &chars[pos..];
                if rest.first() == Some(&'-') && rest.get(1).is_none_or(|c| *c == ' ') {
                    while stack.last().is_some_and(|f| {
                        f.column > pos || (f.column == pos && matches!(f.seg, Seg::Index(_)))
                    }) {
                        stack.pop();
                    }
                    let counter = match stack.last_mut() {
                        Some(parent) => &mut parent.items,
                        None => &mut root_items,
                    };
                    let index = *counter;
                    *counter += 1;
                    stack.push(Frame {
                        column: pos,
                        seg: Seg::Index(index),
                        items: 0,
                    });
                    let value_at = (pos + 1..chars.len()).find(|i| chars[*i] != ' ');
                    entries.push(entry(&stack, number, pos, value_at));
                    match value_at {
                        Some(next) => pos = next,
                        None => break,
                    }
                    continue;
                }
                if let Some((name, after_colon)) = parse_key(rest) {
                    while stack.last().is_some_and(|f| f.column >= pos) {
                        stack.pop();
                    }
                    stack.push(Frame {
                        column: pos,
                        seg: Seg::Key(name),
                        items: 0,
                    });
                    let value_at = (pos + after_colon..chars.len()).find(|i| chars[*i] != ' ');
                    entries.push(entry(&stack, number, pos, value_at));
                    if let Some(v) = value_at {
                        match chars[v] {
                            '[' | '{' => flow_depth = bracket_balance(&chars[v..]),
                            '&' | '!' if !chars[v..].contains(&' ') => {}
                            _ => skip_deeper_than = Some(pos),
                        }
                    }
                } else if let Some(first) = rest.first() {
                    match first {
                        '[' | '{' => flow_depth = bracket_balance(rest),
                        _ => skip_deeper_than = Some(pos.saturating_sub(1)),
                    }
                }
                break;
            }
            flow_depth = flow_depth.max(0);
        }
        let mut first = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            first.entry(e.path.clone()).or_insert(i);
        }
        Built {
            lines,
            entries,
            first,
        }
    }
}

impl Locator<'_> {
    /// The first key at exactly this path.
    pub(crate) fn find(&self, path: &[Seg]) -> Option<&Entry> {
        self.b().first.get(path).map(|i| &self.b().entries[*i])
    }

    /// The entry for the path, else for its nearest indexed ancestor.
    fn nearest(&self, path: &[Seg]) -> Option<&Entry> {
        (1..=path.len()).rev().find_map(|n| self.find(&path[..n]))
    }

    /// Line and column of the key at `path` (or its nearest ancestor; `1:1`
    /// when nothing matches).
    pub(crate) fn key_position(&self, path: &[Seg]) -> (usize, usize) {
        self.nearest(path).map_or((1, 1), |e| (e.line, e.column))
    }

    /// Line and column of the value at `path` when it sits on the key's line,
    /// else of the key.
    pub(crate) fn value_position(&self, path: &[Seg]) -> (usize, usize) {
        match self.find(path) {
            Some(e) => (e.line, e.value_column.unwrap_or(e.column)),
            None => self.key_position(path),
        }
    }

    /// Position of item `index` of the list at `list` (whose items are
    /// `items`): a block item, else the item inside a one-line flow list
    /// (the right one of equal items), else the list's key.
    pub(crate) fn item_position(
        &self,
        list: &[Seg],
        index: usize,
        items: &[String],
    ) -> (usize, usize) {
        let mut item_path = list.to_vec();
        item_path.push(Seg::Index(index));
        if let Some(e) = self.find(&item_path) {
            return (e.line, e.value_column.unwrap_or(e.column));
        }
        let (Some(e), Some(item)) = (self.find(list), items.get(index)) else {
            return self.key_position(list);
        };
        let earlier_equal = items[..index].iter().filter(|i| *i == item).count();
        let chars: Vec<char> = self.b().lines[e.line - 1].chars().collect();
        let wanted: Vec<char> = item.chars().collect();
        let boundary =
            |i: Option<usize>| i.is_none_or(|i| i >= chars.len() || " ,[]\"'".contains(chars[i]));
        let start = e.value_column.unwrap_or(e.column) - 1;
        (start..chars.len())
            .filter(|i| {
                chars[*i..].starts_with(&wanted)
                    && boundary(i.checked_sub(1))
                    && boundary(Some(i + wanted.len()))
            })
            .nth(earlier_equal)
            .map_or((e.line, e.column), |i| (e.line, i + 1))
    }

    /// The second occurrence of `name` among keys of one mapping at or
    /// below `prefix`, in document order.
    pub(crate) fn duplicate_key(&self, prefix: &[Seg], name: &str) -> Option<&Entry> {
        let wanted = Seg::Key(name.to_string());
        let candidates: Vec<&Entry> = self
            .b()
            .entries
            .iter()
            .filter(|e| e.path.starts_with(prefix) && e.path.last() == Some(&wanted))
            .collect();
        candidates
            .iter()
            .enumerate()
            .filter_map(|(i, later)| {
                let parent = &later.path[..later.path.len() - 1];
                candidates[..i]
                    .iter()
                    .any(|earlier| &earlier.path[..earlier.path.len() - 1] == parent)
                    .then_some(*later)
            })
            .next()
    }
}

fn entry(stack: &[Frame], line_index: usize, column: usize, value_at: Option<usize>) -> Entry {
    Entry {
        path: stack.iter().map(|f| f.seg.clone()).collect(),
        line: line_index + 1,
        column: column + 1,
        value_column: value_at.map(|v| v + 1),
    }
}

fn starts_with(chars: &[char], prefix: &str) -> bool {
    prefix
        .chars()
        .enumerate()
        .all(|(i, c)| chars.get(i) == Some(&c))
}

/// A mapping key at the start of `rest`, and the offset just past its colon.
fn parse_key(rest: &[char]) -> Option<(String, usize)> {
    let colon_ok =
        |i: usize| rest.get(i) == Some(&':') && rest.get(i + 1).is_none_or(|c| *c == ' ');
    match rest.first()? {
        quote @ ('"' | '\'') => {
            let mut name = String::new();
            let mut i = 1;
            while i < rest.len() && rest[i] != *quote {
                if *quote == '"' && rest[i] == '\\' {
                    i += 1;
                }
                name.extend(rest.get(i));
                i += 1;
            }
            let mut after = i + 1;
            while rest.get(after) == Some(&' ') {
                after += 1;
            }
            colon_ok(after).then_some((name, after + 1))
        }
        c if "[{#&*!|>%@`?,".contains(*c) => None,
        _ => {
            let colon = (0..rest.len()).find(|i| colon_ok(*i))?;
            let name: String = rest[..colon].iter().collect();
            (!name.contains(" #")).then(|| (name.trim_end().to_string(), colon + 1))
        }
    }
}

/// The line without its comment (a `#` at the start or after a blank,
/// outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == '"' || c == '\'') && " :[{,-".contains(previous) => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return &line[..i],
            None => {}
        }
        previous = c;
    }
    line
}

/// Opening minus closing brackets outside quotes.
fn bracket_balance(chars: &[char]) -> i64 {
    let mut quote: Option<char> = None;
    let mut balance = 0;
    for c in chars {
        match (quote, c) {
            (Some(q), c) if *c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(*c),
            (None, '[' | '{') => balance += 1,
            (None, ']' | '}') => balance -= 1,
            _ => {}
        }
    }
    balance
}

#[cfg(test)]
#[path = "locator_tests.rs"]
mod tests;
