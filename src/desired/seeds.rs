//! The serde seeds that read `services.yaml` one section at a time for
//! `document`: each key is read by [`KeySeed`], which makes the section it
//! opens current (so that a failure can be pinned on it), skips it when an
//! earlier pass failed on it, and refuses unknown, duplicate and badly named
//! keys at the key's own position.
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::document::{locator_path, Ctx, RawFile, Section};
use super::raw::{Fields, RawService, TOP_FIELDS};
use super::scalars::{invalid_name, is_valid_name};

/// What a map's keys may be.
#[derive(Clone, Copy)]
enum Keys {
    Fields(&'static [&'static str]),
    ServiceNames,
}

/// Reads one key of a map at `parent`, makes its section current, and
/// refuses unknown, duplicate and badly named keys at the key's position.
/// `None`: the section is skipped in this pass.
struct KeySeed<'c, 's> {
    ctx: &'c Ctx<'c>,
    parent: &'s Section,
    seen: &'s mut HashMap<String, usize>,
    keys: Keys,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_, '_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self.keys {
            Keys::Fields(_) => "a field name",
            Keys::ServiceNames => "a service name",
        })
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<Option<String>, E> {
        // Hot path (every key of every file): no allocation beyond the
        // section that error attribution needs.
        let nth = match self.seen.get_mut(name) {
            Some(count) => {
                *count += 1;
                *count - 1
            }
            None => {
                self.seen.insert(name.to_string(), 1);
                0
            }
        };
        let mut section = self.parent.clone();
        section.push((name.to_string(), nth));
        let skipped = !self.ctx.skip.is_empty() && self.ctx.skip.contains(&section);
        let path = if nth > 0 {
            locator_path(&section)
        } else {
            Vec::new()
        };
        self.ctx.current.replace(section);
        if skipped {
            return Ok(None);
        }
        let what = match self.keys {
            Keys::Fields(fields) if !fields.contains(&name) => {
                return Err(E::unknown_field(name, fields))
            }
            Keys::Fields(_) => "field",
            Keys::ServiceNames if !is_valid_name(name) => {
                return Err(E::custom(invalid_name("service", name)))
            }
            Keys::ServiceNames => "service",
        };
        if nth > 0 {
            let first = self.ctx.locator.find(&path).map_or(0, |e| e.line);
            return Err(E::custom(format!(
                "duplicate {what} `{name}`\nhint: `{name}` is first set on line {first}; keep one"
            )));
        }
        Ok(Some(name.to_string()))
    }
}

/// The whole file.
pub(crate) struct FileSeed<'c>(pub &'c Ctx<'c>);

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = RawFile;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawFile, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = RawFile;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping with `node`, `supervisor` and `services`")
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawFile, E> {
        Ok(RawFile::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFile, A::Error> {
        let ctx = self.0;
        let root = Vec::new();
        let mut file = RawFile::default();
        let mut seen = HashMap::new();
        while let Some(top) = map.next_key_seed(KeySeed {
            ctx,
            parent: &root,
            seen: &mut seen,
            keys: Keys::Fields(&TOP_FIELDS),
        })? {
            let here = ctx.current.borrow().clone();
            match top.as_deref() {
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
                Some("node") => file.node = Some(map.next_value_seed(NodeSeed(ctx.folder))?),
                Some("supervisor") => {
                    file.supervisor = Some(map.next_value_seed(FieldsSeed::new(ctx, here))?)
                }
                Some(_) => map.next_value_seed(ServicesSeed {
                    ctx,
                    here,
                    file: &mut file,
                })?,
            }
            ctx.current.replace(Vec::new());
        }
        Ok(file)
    }
}

/// `node:`: must name the folder it is in.
struct NodeSeed<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for NodeSeed<'_> {
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

/// `services:`: a map of service name to service.
struct ServicesSeed<'c, 'f> {
    ctx: &'c Ctx<'c>,
    here: Section,
    file: &'f mut RawFile,
}

impl<'de> DeserializeSeed<'de> for ServicesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ServicesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of service names to services")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let mut seen = HashMap::new();
        while let Some(name) = map.next_key_seed(KeySeed {
            ctx,
            parent: &self.here,
            seen: &mut seen,
            keys: Keys::ServiceNames,
        })? {
            let service = ctx.current.borrow().clone();
            if let Some((declared, _)) = service.last() {
                self.file.declared.insert(declared.clone());
            }
            match name {
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
                Some(name) => {
                    let raw = map.next_value_seed(FieldsSeed::<RawService>::new(ctx, service))?;
                    self.file.services.push((name, raw));
                }
            }
            ctx.current.replace(self.here.clone());
        }
        Ok(())
    }
}

/// A struct read field by field, each field its own section.
struct FieldsSeed<'c, T> {
    ctx: &'c Ctx<'c>,
    here: Section,
    _type: PhantomData<T>,
}

impl<'c, T> FieldsSeed<'c, T> {
    fn new(ctx: &'c Ctx<'c>, here: Section) -> Self {
        FieldsSeed {
            ctx,
            here,
            _type: PhantomData,
        }
    }
}

impl<'de, T: Fields> DeserializeSeed<'de> for FieldsSeed<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Fields> Visitor<'de> for FieldsSeed<'_, T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of fields")
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut value = T::default();
        let mut seen = HashMap::new();
        while let Some(field) = map.next_key_seed(KeySeed {
            ctx: self.ctx,
            parent: &self.here,
            seen: &mut seen,
            keys: Keys::Fields(T::FIELDS),
        })? {
            match field {
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
                Some(field) => value.read(&field, &mut map)?,
            }
            self.ctx.current.replace(self.here.clone());
        }
        Ok(value)
    }
}
