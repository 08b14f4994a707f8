//! The pieces `de` hands to serde's visitors: its error type (a message
//! and the node's position), a sequence's items, a mapping's entries, and
//! enums written as a name or as a tag.
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};

use super::de::NodeDe;
use super::libyaml::Mark;
use super::tree::{NodeId, Tree};

/// An error with the position of the node it is about (`None` until the
/// innermost node that sees it fills it in; `sealed` errors keep none).
#[derive(Debug)]
pub(crate) struct Error {
    pub message: String,
    pub mark: Option<Mark>,
    sealed: bool,
}

impl Error {
    pub(crate) fn at(message: impl Into<String>, mark: Option<Mark>) -> Self {
        Error {
            message: message.into(),
            mark,
            sealed: true,
        }
    }

    /// Fills in the position if none is set yet.
    pub(crate) fn fix(mut self, mark: Mark) -> Self {
        if !self.sealed && self.mark.is_none() {
            self.mark = Some(mark);
        }
        self
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
            mark: None,
            sealed: false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// What every node of one read shares: the tree and the count of alias
/// expansions.
pub(crate) struct Doc<'t> {
    pub tree: &'t Tree,
    pub jumps: Cell<usize>,
}

impl<'t> Doc<'t> {
    pub(crate) fn new(tree: &'t Tree) -> Self {
        Doc {
            tree,
            jumps: Cell::new(0),
        }
    }
}

/// A local tag (`!name`), which `yaml_serde` reads as an enum variant.
pub(crate) fn local_tag(tag: Option<&[u8]>) -> Option<&str> {
    let (b'!', rest) = tag?.split_first()? else {
        return None;
    };
    std::str::from_utf8(if rest.is_empty() { b"!" } else { rest }).ok()
}

/// A sequence's items.
pub(crate) struct Items<'a, 't> {
    pub doc: &'a Doc<'t>,
    /// Those not read yet.
    pub rest: std::slice::Iter<'t, NodeId>,
    pub depth: u8,
}

impl<'t> de::SeqAccess<'t> for Items<'_, 't> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'t>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.rest.next() {
            Some(id) => seed
                .deserialize(NodeDe::new(self.doc, *id, self.depth))
                .map(Some),
            None => Ok(None),
        }
    }
}

/// A mapping's entries.
pub(crate) struct Entries<'a, 't> {
    pub doc: &'a Doc<'t>,
    /// Those not read yet.
    pub rest: std::slice::Iter<'t, (NodeId, NodeId)>,
    pub value: Option<NodeId>,
    pub depth: u8,
}

impl<'t> de::MapAccess<'t> for Entries<'_, 't> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'t>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.rest.next() {
            Some((key, value)) => {
                self.value = Some(*value);
                seed.deserialize(NodeDe::new(self.doc, *key, self.depth))
                    .map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'t>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self.value.take().unwrap_or_default();
        seed.deserialize(NodeDe::new(self.doc, value, self.depth))
    }
}

/// An enum written as its variant's name.
pub(crate) struct Unit<'a, 't>(pub NodeDe<'a, 't>);

impl<'t> de::EnumAccess<'t> for Unit<'_, 't> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'t>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        Ok((seed.deserialize(self.0)?, self))
    }
}

impl<'t> de::VariantAccess<'t> for Unit<'_, 't> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'t>>(self, _: T) -> Result<T::Value, Error> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"newtype variant",
        ))
    }
    fn tuple_variant<V: Visitor<'t>>(self, _: usize, _: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"tuple variant",
        ))
    }
    fn struct_variant<V: Visitor<'t>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"struct variant",
        ))
    }
}

/// An enum written as a tagged node (`!name value`).
pub(crate) struct Tagged<'a, 't> {
    pub de: NodeDe<'a, 't>,
    pub tag: &'t str,
}

impl<'a, 't> de::EnumAccess<'t> for Tagged<'a, 't> {
    type Error = Error;
    type Variant = NodeDe<'a, 't>;
    fn variant_seed<V: DeserializeSeed<'t>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDe<'a, 't>), Error> {
        let name: de::value::StrDeserializer<Error> = self.tag.into_deserializer();
        let value = seed.deserialize(name)?;
        Ok((
            value,
            NodeDe {
                tagged_already: true,
                ..self.de
            },
        ))
    }
}

impl<'t> de::VariantAccess<'t> for NodeDe<'_, 't> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(self)
    }
    fn newtype_variant_seed<T: DeserializeSeed<'t>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'t>>(self, _: usize, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self, v)
    }
    fn struct_variant<V: Visitor<'t>>(
        self,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_map(self, v)
    }
}
