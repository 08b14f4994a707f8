//! The walk of `document`: the top-level mapping, `services`, each service
//! (and its `process` and `health`) and `supervisor`, entry by entry in
//! document order, each key checked (unknown, badly named, repeated) at its
//! own position and each field's value deserialized on its own. What fails
//! is left out and reported; the walk goes on with the next entry.
//!
//! A key that cannot be read (a list or a mapping used as a key) leaves
//! the mapping it is in unread from there on: that mapping is dropped (an
//! unreadable top level ends the file's checks).
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, Visitor};

use super::de::{local_tag, Doc, Error, NodeDe, RECURSION_LIMIT};
use super::document::{split_hint, RawFile};
use super::error::ConfigError;
use super::libyaml::Mark;
use super::raw::{Fields, RawService, SectionReader, TOP_FIELDS};
use super::scalars::{invalid_name, is_valid_name};
use super::tree::{Kind, NodeId, Tree};

/// More errors than this in one file and the rest is not checked.
const MAX_ERRORS: usize = 50;

/// The file's checks end here (too many errors).
pub(crate) struct Stop;

/// What a mapping's keys may be.
#[derive(Clone, Copy)]
enum Keys {
    Fields(&'static [&'static str]),
    ServiceNames,
}

/// A mapping being walked: its entries, the nesting left for its values,
/// where it starts.
struct Mapping<'t> {
    entries: &'t [(NodeId, NodeId)],
    depth: u8,
    mark: Mark,
}

/// The names read so far in one mapping, each with its key node: a short
/// list (a struct's fields, the usual case, allocate nothing past it), a
/// hash map once a mapping has many names (`services` of a big node).
#[derive(Default)]
pub(crate) struct Seen<'t> {
    few: Vec<(&'t str, NodeId)>,
    many: HashMap<&'t str, NodeId>,
}

impl<'t> Seen<'t> {
    const FEW: usize = 16;

    fn get(&self, name: &str) -> Option<&NodeId> {
        if self.many.is_empty() {
            self.few.iter().find(|(n, _)| *n == name).map(|(_, k)| k)
        } else {
            self.many.get(name)
        }
    }

    fn insert(&mut self, name: &'t str, key: NodeId) {
        if self.many.is_empty() && self.few.len() < Self::FEW {
            self.few.push((name, key));
            return;
        }
        self.many.extend(self.few.drain(..));
        self.many.insert(name, key);
    }
}

/// How one key read.
enum Key<'t> {
    /// A name to read the value of.
    Name(&'t str),
    /// Reported; the entry is skipped.
    Skip,
    /// Not a name at all: the mapping is dropped.
    Broken,
}

pub(crate) struct Walk<'a, 't> {
    doc: &'a Doc<'t>,
    folder: &'a str,
    file: &'a Path,
    pub errors: Vec<ConfigError>,
}

impl<'a, 't> Walk<'a, 't> {
    pub(crate) fn new(doc: &'a Doc<'t>, folder: &'a str, file: &'a Path) -> Self {
        Walk {
            doc,
            folder,
            file,
            errors: Vec::new(),
        }
    }

    fn tree(&self) -> &'t Tree {
        self.doc.tree
    }

    /// Records `e`, placed at `fallback` when it has no position of its
    /// own; a `duplicate field` inside `section` moves to the repeated key.
    fn push(&mut self, e: Error, fallback: Mark, section: Option<NodeId>) -> Result<(), Stop> {
        let e = e.fix(fallback);
        let (mut line, mut column) = e.mark.map_or((0, 0), Mark::one_based);
        let (message, mut hint) = split_hint(&e.message);
        let duplicate = message
            .strip_prefix("duplicate field `")
            .and_then(|r| r.strip_suffix('`'));
        if let (Some(field), Some(section), None) = (duplicate, section, &hint) {
            if let Some((again, first)) = self.duplicate_key(section, field) {
                (line, column) = self.tree().position(again);
                let first = self.tree().position(first).0;
                hint = Some(format!("`{field}` is first set on line {first}; keep one"));
            }
        }
        let error = ConfigError::new(self.file, line, column, message).with_hint(hint);
        self.errors.push(error);
        if self.errors.len() >= MAX_ERRORS {
            let stop = format!("too many errors, stopped after {MAX_ERRORS}");
            let hint = Some("fix these and run again".to_string());
            self.errors
                .push(ConfigError::whole(self.file, stop).with_hint(hint));
            return Err(Stop);
        }
        Ok(())
    }

    /// Opens the mapping at `id`: `Ok(None)` for an empty value (null),
    /// `Err` with the problem when it is something else.
    fn open(&self, id: NodeId, depth: u8, expecting: &str) -> Result<Option<Mapping<'t>>, Error> {
        let tree = self.tree();
        let id = tree.resolve(id);
        let node = &tree.nodes[id];
        if let Kind::Map { tag, entries } = &node.kind {
            if local_tag(tag.as_deref()).is_some() {
                let e: Error = de::Error::invalid_type(de::Unexpected::Enum, &expecting);
                return Err(e.fix(node.mark));
            }
            let depth = depth.checked_sub(1).ok_or_else(|| {
                let e: Error = de::Error::custom("recursion limit exceeded");
                e.fix(node.mark)
            })?;
            return Ok(Some(Mapping {
                entries,
                depth,
                mark: node.mark,
            }));
        }
        NodeDe::new(self.doc, id, depth)
            .deserialize_any(Expecting(expecting))
            .map(|()| None)
    }

    /// Reads key `k` of a mapping; `seen` holds the names read so far.
    fn key(
        &mut self,
        k: NodeId,
        map: &Mapping<'t>,
        keys: Keys,
        seen: &mut Seen<'t>,
    ) -> Result<Key<'t>, Stop> {
        let name = match NodeDe::new(self.doc, k, map.depth).deserialize_str(Name(keys)) {
            Ok(name) => name,
            Err(e) => {
                self.push(e, map.mark, None)?;
                return Ok(Key::Broken);
            }
        };
        let what = match keys {
            Keys::Fields(fields) if !fields.contains(&name) => {
                self.push(de::Error::unknown_field(name, fields), self.mark(k), None)?;
                return Ok(Key::Skip);
            }
            Keys::Fields(_) => "field",
            Keys::ServiceNames if !is_valid_name(name) => {
                self.push(
                    de::Error::custom(invalid_name("service", name)),
                    self.mark(k),
                    None,
                )?;
                return Ok(Key::Skip);
            }
            Keys::ServiceNames => "service",
        };
        if let Some(first) = seen.get(name) {
            let first = self.tree().position(*first).0;
            let message = format!(
                "duplicate {what} `{name}`\nhint: `{name}` is first set on line {first}; keep one"
            );
            self.push(de::Error::custom(message), self.mark(k), None)?;
            return Ok(Key::Skip);
        }
        seen.insert(name, k);
        Ok(Key::Name(name))
    }

    fn mark(&self, id: NodeId) -> Mark {
        self.tree().nodes[self.tree().resolve(id)].mark
    }

    /// The whole file; `None` when nothing of it can be used.
    pub(crate) fn file(&mut self) -> Option<RawFile> {
        let expecting = "a mapping with `node`, `supervisor` and `services`";
        let Some(root) = self.tree().root else {
            let e = de::Error::invalid_type(de::Unexpected::Option, &expecting);
            self.push(e, self.tree().end, None).ok();
            return None;
        };
        let map = match self.open(root, RECURSION_LIMIT, expecting) {
            Ok(Some(map)) => map,
            Ok(None) => return Some(RawFile::default()),
            Err(e) => {
                self.push(e, self.mark(root), None).ok();
                return None;
            }
        };
        let mut file = RawFile::default();
        let mut seen = Seen::default();
        for (k, v) in map.entries {
            let name = match self
                .key(*k, &map, Keys::Fields(&TOP_FIELDS), &mut seen)
                .ok()?
            {
                Key::Name(name) => name,
                Key::Skip => continue,
                Key::Broken => return None,
            };
            match name {
                "node" => {
                    let de = NodeDe::new(self.doc, *v, map.depth);
                    match de.deserialize_str(NodeName(self.folder)) {
                        Ok(node) => file.node = Some(node),
                        Err(e) => self.push(e, map.mark, None).ok()?,
                    }
                }
                "supervisor" => file.supervisor = self.fields(*v, &map, FIELDS).ok()?,
                _ => self.services(*v, &map, &mut file).ok()?,
            }
        }
        Some(file)
    }

    /// `services:`: service name to service.
    fn services(&mut self, id: NodeId, parent: &Mapping, file: &mut RawFile) -> Result<(), Stop> {
        let expecting = "a mapping of service names to services";
        let map = match self.open(id, parent.depth, expecting) {
            Ok(Some(map)) => map,
            Ok(None) => return Ok(()),
            Err(e) => return self.push(e, parent.mark, None),
        };
        let mut seen = Seen::default();
        let mut services = Vec::new();
        let mut declared = Vec::new();
        for (k, v) in map.entries {
            let name = match self.key(*k, &map, Keys::ServiceNames, &mut seen)? {
                Key::Name(name) => name,
                Key::Skip => {
                    declared.extend(self.tree().scalar(*k).map(str::to_string));
                    continue;
                }
                Key::Broken => return Ok(()),
            };
            declared.push(name.to_string());
            if let Some(service) = self.fields::<RawService>(*v, &map, FIELDS)? {
                services.push((name.to_string(), service));
            }
        }
        file.services.extend(services);
        file.declared.extend(declared);
        Ok(())
    }

    /// `supervisor`, a service or a section of one: a struct read field
    /// by field (`expecting`: what a value that is no mapping is not).
    fn fields<T: Fields>(
        &mut self,
        id: NodeId,
        parent: &Mapping,
        expecting: &str,
    ) -> Result<Option<T>, Stop> {
        let map = match self.open(id, parent.depth, expecting) {
            Ok(Some(map)) => map,
            Ok(None) => return Ok(Some(T::default())),
            Err(e) => {
                self.push(e, parent.mark, None)?;
                return Ok(None);
            }
        };
        let mut value = T::default();
        let mut seen = Seen::default();
        for (k, v) in map.entries {
            let name = match self.key(*k, &map, Keys::Fields(T::FIELDS), &mut seen)? {
                Key::Name(name) => name,
                Key::Skip => continue,
                Key::Broken => return Ok(None),
            };
            let nested = Nested {
                walk: self,
                id: *v,
                parent: &map,
            };
            if value.read_section(name, nested)? {
                continue;
            }
            if let Err(e) = value.read(name, NodeDe::new(self.doc, *v, map.depth)) {
                self.push(e, map.mark, Some(*v))?;
            }
        }
        Ok(Some(value))
    }

    /// The earliest repeated key `field` in a mapping under `section` (not
    /// through aliases), and the first key of that name in that mapping.
    fn duplicate_key(&self, section: NodeId, field: &str) -> Option<(NodeId, NodeId)> {
        let tree = self.tree();
        let mut stack = vec![section];
        let mut best: Option<(NodeId, NodeId)> = None;
        while let Some(id) = stack.pop() {
            match &tree.nodes[id].kind {
                Kind::Map { entries, .. } => {
                    let mut first = None;
                    for (k, v) in entries {
                        stack.push(*v);
                        if tree.scalar(*k) != Some(field) {
                            continue;
                        }
                        match first {
                            None => first = Some(*k),
                            Some(first) => {
                                let earlier = best
                                    .is_none_or(|(b, _)| tree.nodes[*k].mark < tree.nodes[b].mark);
                                if earlier {
                                    best = Some((*k, first));
                                }
                                break;
                            }
                        }
                    }
                }
                Kind::Seq { items, .. } => stack.extend(items),
                Kind::Scalar { .. } | Kind::Alias(_) => {}
            }
        }
        best
    }
}

/// What `supervisor:` or a service that is not a mapping is said not to be.
const FIELDS: &str = "a mapping of fields";

/// A section inside a struct being walked (`process:`, `health:`).
struct Nested<'w, 'a, 't, 'm> {
    walk: &'w mut Walk<'a, 't>,
    id: NodeId,
    parent: &'m Mapping<'t>,
}

impl SectionReader for Nested<'_, '_, '_, '_> {
    type Stop = Stop;

    fn section<T: Fields>(self) -> Result<Option<T>, Stop> {
        // Worded as a derived `Deserialize` words it: `expected struct RawHealth`.
        let expecting = format!("struct {}", T::NAME);
        // An empty section (`health:`) is no section, as `Option` reads it.
        if let Ok(None) = self.walk.open(self.id, self.parent.depth, &expecting) {
            return Ok(None);
        }
        self.walk.fields(self.id, self.parent, &expecting)
    }

    fn map<K, V>(self) -> Result<Option<std::collections::BTreeMap<K, V>>, Stop>
    where
        K: for<'de> serde::Deserialize<'de> + Ord + AsRef<str>,
        V: for<'de> serde::Deserialize<'de>,
    {
        let map = match self.walk.open(self.id, self.parent.depth, "a map") {
            Ok(Some(map)) => map,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.walk.push(e, self.parent.mark, None)?;
                return Ok(None);
            }
        };
        let mut out = std::collections::BTreeMap::new();
        let mut firsts = std::collections::BTreeMap::new();
        let mut complete = true;
        for (k, v) in map.entries {
            let key = K::deserialize(NodeDe::new(self.walk.doc, *k, map.depth));
            let value = V::deserialize(NodeDe::new(self.walk.doc, *v, map.depth));
            let (key, value) = match (key, value) {
                (Ok(key), Ok(value)) => (key, value),
                (key, value) => {
                    complete = false;
                    if let Err(e) = key {
                        self.walk.push(e, self.walk.mark(*k), None)?;
                    }
                    if let Err(e) = value {
                        self.walk.push(e, map.mark, Some(*v))?;
                    }
                    continue;
                }
            };
            if let Some(first) = firsts.get(key.as_ref()) {
                complete = false;
                let first = self.walk.tree().position(*first).0;
                let name = key.as_ref();
                let message = format!(
                    "duplicate variable `{name}`\nhint: `{name}` is first set on line {first}; keep one"
                );
                self.walk
                    .push(de::Error::custom(message), self.walk.mark(*k), None)?;
                continue;
            }
            firsts.insert(key.as_ref().to_string(), *k);
            out.insert(key, value);
        }
        Ok(complete.then_some(out))
    }
}

/// Accepts only a null value (everything else is refused with the message
/// `yaml_serde` gives).
struct Expecting<'a>(&'a str);

impl Visitor<'_> for Expecting<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A key, read as a name (borrowed from the tree).
struct Name(Keys);

impl<'t> Visitor<'t> for Name {
    type Value = &'t str;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self.0 {
            Keys::Fields(_) => "a field name",
            Keys::ServiceNames => "a service name",
        })
    }
    fn visit_borrowed_str<E: de::Error>(self, name: &'t str) -> Result<&'t str, E> {
        Ok(name)
    }
}

/// `node:`: must name the folder it is in.
struct NodeName<'a>(&'a str);

impl Visitor<'_> for NodeName<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the node name")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<String, E> {
        if name == self.0 {
            return Ok(name.to_string());
        }
        Err(E::custom(format!(
            "`node: {name}` does not match the folder name `{}`\nhint: the folder name is the node name; remove `node:` or rename the folder",
            self.0
        )))
    }
}
