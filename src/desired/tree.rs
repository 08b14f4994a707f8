//! A `services.yaml` parsed once into a tree whose every node keeps its
//! position: what the loader checks fields, types and values on (through
//! `de`), and where every error of the file, including those found after
//! deserializing (`resolve`, `graph`), gets its line and column.
//!
//! Nodes live in one arena (`Vec`), children by index, so that a deeply
//! nested file is built, walked and dropped without recursion. Aliases stay
//! aliases (an index to the anchored node): expanding them is `de`'s job,
//! with `yaml_serde`'s repetition limit.
use std::collections::HashMap;

use super::libyaml::{self, Event, Mark, Style};

pub(crate) type NodeId = usize;

/// YAML's core tags as libyaml expands them.
pub(crate) const TAG_BOOL: &[u8] = b"tag:yaml.org,2002:bool";
pub(crate) const TAG_INT: &[u8] = b"tag:yaml.org,2002:int";
pub(crate) const TAG_FLOAT: &[u8] = b"tag:yaml.org,2002:float";
pub(crate) const TAG_NULL: &[u8] = b"tag:yaml.org,2002:null";

#[derive(Debug)]
pub(crate) enum Kind {
    Scalar {
        value: String,
        style: Style,
        tag: Option<Vec<u8>>,
    },
    Seq {
        tag: Option<Vec<u8>>,
        /// Written `[a, b]` rather than as `- ` items.
        flow: bool,
        items: Vec<NodeId>,
    },
    Map {
        tag: Option<Vec<u8>>,
        entries: Vec<(NodeId, NodeId)>,
    },
    Alias(NodeId),
}

#[derive(Debug)]
pub(crate) struct Node {
    pub kind: Kind,
    pub mark: Mark,
}

#[derive(Debug, Default)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    /// The document's node; `None` for a stream without a document.
    pub root: Option<NodeId>,
    /// Where the stream ends (the position of a missing document).
    pub end: Mark,
    /// Events of the document, as `yaml_serde` counts them for its
    /// repetition limit.
    pub events: usize,
}

/// The file is not one well-formed YAML document (a syntax error, an alias
/// to an unknown anchor, more than one document): `yaml_serde` words it.
#[derive(Debug)]
pub(crate) struct NotOneDocument;

/// Parses `text` into a tree.
pub(crate) fn build(text: &str) -> Result<Tree, NotOneDocument> {
    let mut tree = Tree::default();
    let mut anchors: HashMap<Vec<u8>, NodeId> = HashMap::new();
    // Open collections, each with the key waiting for its value.
    let mut open: Vec<(NodeId, Option<NodeId>)> = Vec::new();
    let mut documents = 0;
    let mut failed = false;
    let parsed = libyaml::parse(text, |event, mark| {
        let (kind, anchor, opens) = match event {
            Event::StreamStart | Event::DocumentEnd => return true,
            Event::StreamEnd => {
                tree.end = mark;
                return true;
            }
            Event::DocumentStart => {
                documents += 1;
                failed = documents > 1;
                return !failed;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                tree.events += 1;
                let Some((done, _)) = open.pop() else {
                    return true;
                };
                attach(&mut tree, &mut open, done);
                return true;
            }
            Event::Alias(name) => {
                let Some(target) = anchors.get(&name) else {
                    failed = true;
                    return false;
                };
                (Kind::Alias(*target), None, false)
            }
            Event::Scalar {
                anchor,
                tag,
                value,
                style,
            } => {
                let value = String::from_utf8(value)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                (Kind::Scalar { value, style, tag }, anchor, false)
            }
            Event::SequenceStart { anchor, tag, flow } => (
                Kind::Seq {
                    tag,
                    flow,
                    items: Vec::new(),
                },
                anchor,
                true,
            ),
            Event::MappingStart { anchor, tag } => (
                Kind::Map {
                    tag,
                    entries: Vec::new(),
                },
                anchor,
                true,
            ),
        };
        tree.events += 1;
        let id = tree.nodes.len();
        tree.nodes.push(Node { kind, mark });
        if let Some(name) = anchor {
            anchors.insert(name, id);
        }
        if opens {
            open.push((id, None));
        } else {
            attach(&mut tree, &mut open, id);
        }
        true
    });
    if parsed.is_err() || failed {
        return Err(NotOneDocument);
    }
    if tree.root.is_none() {
        tree.events += 1; // yaml_serde's `Void`
    }
    Ok(tree)
}

/// Hangs a finished node on the collection being read, or makes it the
/// document.
fn attach(tree: &mut Tree, open: &mut [(NodeId, Option<NodeId>)], id: NodeId) {
    let Some((parent, pending)) = open.last_mut() else {
        tree.root = Some(id);
        return;
    };
    match &mut tree.nodes[*parent].kind {
        Kind::Seq { items, .. } => items.push(id),
        Kind::Map { entries, .. } => match pending.take() {
            None => *pending = Some(id),
            Some(key) => entries.push((key, id)),
        },
        Kind::Scalar { .. } | Kind::Alias(_) => {}
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

pub(crate) fn key(name: &str) -> Seg {
    Seg::Key(name.to_string())
}

impl Tree {
    /// The node, through aliases (bounded: an alias never points forward).
    pub(crate) fn resolve(&self, mut id: NodeId) -> NodeId {
        while let Kind::Alias(target) = self.nodes[id].kind {
            if target >= id {
                break;
            }
            id = target;
        }
        id
    }

    /// The text of a scalar node, through aliases.
    pub(crate) fn scalar(&self, id: NodeId) -> Option<&str> {
        match &self.nodes[self.resolve(id)].kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The (key, value) nodes at `path`, each key the first of its name;
    /// for an index, the key is the item itself. `None` when the path is
    /// not there or passes through an alias.
    pub(crate) fn find(&self, path: &[Seg]) -> Option<(NodeId, NodeId)> {
        let mut at = (self.root?, self.root?);
        for seg in path {
            // Not through an alias: a problem of the aliased copy is shown
            // where the alias is used (the caller falls back to it).
            at = match (seg, &self.nodes[at.1].kind) {
                (Seg::Key(k), Kind::Map { entries, .. }) => *entries
                    .iter()
                    .find(|(key, _)| self.scalar(*key) == Some(k.as_str()))?,
                (Seg::Index(i), Kind::Seq { items, .. }) => {
                    let item = *items.get(*i)?;
                    (item, item)
                }
                _ => return None,
            };
        }
        Some(at)
    }

    /// The keys of the mapping at `path`, through aliases (none when
    /// there is no mapping there).
    pub(crate) fn keys_at(&self, path: &[Seg]) -> Vec<&str> {
        let Some(mut at) = self.root else {
            return Vec::new();
        };
        for seg in path {
            let next = match (seg, &self.nodes[self.resolve(at)].kind) {
                (Seg::Key(k), Kind::Map { entries, .. }) => entries
                    .iter()
                    .find(|(key, _)| self.scalar(*key) == Some(k.as_str()))
                    .map(|(_, value)| *value),
                (Seg::Index(i), Kind::Seq { items, .. }) => items.get(*i).copied(),
                _ => None,
            };
            let Some(next) = next else {
                return Vec::new();
            };
            at = next;
        }
        match &self.nodes[self.resolve(at)].kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .filter_map(|(k, _)| self.scalar(*k))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// 1-based line and column of a node.
    pub(crate) fn position(&self, id: NodeId) -> (usize, usize) {
        self.nodes[id].mark.one_based()
    }
}
