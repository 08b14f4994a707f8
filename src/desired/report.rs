//! Collects the problems of one file found after deserializing (`resolve`,
//! `graph`), placing each at its node in the parsed tree: a key, a value,
//! a list item, by key path.
use std::path::PathBuf;

use super::error::ConfigError;
use super::libyaml::Style;
use super::tree::{Kind, Seg, Tree};

pub(crate) struct Report<'a> {
    pub file: PathBuf,
    /// `None` when the file had no document to place problems in.
    pub tree: Option<&'a Tree>,
    pub errors: Vec<ConfigError>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(file: PathBuf, tree: Option<&'a Tree>) -> Self {
        Report {
            file,
            tree,
            errors: Vec::new(),
        }
    }

    fn push(&mut self, (line, column): (usize, usize), message: String, hint: Option<String>) {
        let error = ConfigError::new(self.file.clone(), line, column, message).with_hint(hint);
        self.errors.push(error);
    }

    /// Line and column of the key at `path`, else of its nearest ancestor
    /// found (`1:1` when none is).
    fn key_position(&self, path: &[Seg]) -> (usize, usize) {
        let Some(tree) = self.tree else {
            return (1, 1);
        };
        (1..=path.len())
            .rev()
            .find_map(|n| tree.find(&path[..n]))
            .map_or((1, 1), |(key, _)| tree.position(key))
    }

    /// Line and column of the value at `path` when it starts on its key's
    /// line, else of the key.
    fn value_position(&self, path: &[Seg]) -> (usize, usize) {
        let Some(tree) = self.tree else {
            return (1, 1);
        };
        let Some((key, value)) = tree.find(path) else {
            return self.key_position(path);
        };
        let (key_at, value_at) = (tree.position(key), tree.position(value));
        if value_at.0 == key_at.0 {
            value_at
        } else {
            key_at
        }
    }

    /// The keys the file gives in the mapping at `path`, read or not: a
    /// field whose value was refused (and reported) is still given, so no
    /// rule says it is missing.
    pub(crate) fn keys(&self, path: &[Seg]) -> Vec<&'a str> {
        self.tree.map_or_else(Vec::new, |tree| tree.keys_at(path))
    }

    /// A problem with the key at `path` itself (e.g. a field that must not
    /// be given together with another).
    pub(crate) fn at_key(&mut self, path: &[Seg], message: String, hint: Option<String>) {
        let position = self.key_position(path);
        self.push(position, message, hint);
    }

    /// A problem with the value at `path`.
    pub(crate) fn at_value(&mut self, path: &[Seg], message: String, hint: Option<String>) {
        let position = self.value_position(path);
        self.push(position, message, hint);
    }

    /// A problem with item `index` of the list at `path`.
    pub(crate) fn at_item(
        &mut self,
        path: &[Seg],
        index: usize,
        message: String,
        hint: Option<String>,
    ) {
        let mut item = path.to_vec();
        item.push(Seg::Index(index));
        let (line, mut column) = self.value_position(&item);
        // In a flow list, a quoted name is shown from its first letter.
        if let Some(tree) = self.tree {
            if let (Some((_, list)), Some((id, _))) = (tree.find(path), tree.find(&item)) {
                let flow = matches!(tree.nodes[list].kind, Kind::Seq { flow: true, .. });
                let quoted = matches!(
                    tree.nodes[id].kind,
                    Kind::Scalar {
                        style: Style::SingleQuoted | Style::DoubleQuoted,
                        ..
                    }
                );
                if flow && quoted {
                    column += 1;
                }
            }
        }
        self.push((line, column), message, hint);
    }
}
