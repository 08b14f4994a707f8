//! serde's `Deserializer` over one node of the parsed tree: the typed
//! fields of `raw` and the checked scalars of `scalars` are read from the
//! tree as `yaml_serde` would read them from the text (same resolution of
//! scalars, same messages, same limits), and every error carries the
//! position of the node it is about. Because the tree is already parsed,
//! an error in one field leaves the others readable: `document` reads each
//! field on its own and keeps going.
use serde::de::{self, Unexpected, Visitor};

pub(crate) use super::de_access::{local_tag, Doc, Error};
use super::de_access::{Entries, Items, Tagged, Unit};
use super::de_scalar::{
    invalid_scalar, parse_bool, parse_f64, parse_null, parse_signed_int, parse_unsigned_int,
    plain_or_tagged_literal, visit_scalar,
};
use super::libyaml::{Mark, Style};
use super::tree::{Kind, NodeId, TAG_BOOL, TAG_FLOAT, TAG_INT, TAG_NULL};

/// Nesting allowed below the document, as `yaml_serde` allows.
pub(crate) const RECURSION_LIMIT: u8 = 128;

/// One node to deserialize. `depth` is the nesting still allowed.
#[derive(Clone, Copy)]
pub(crate) struct NodeDe<'a, 't> {
    pub doc: &'a Doc<'t>,
    pub id: NodeId,
    pub depth: u8,
    pub(crate) tagged_already: bool,
}

impl<'a, 't> NodeDe<'a, 't> {
    pub(crate) fn new(doc: &'a Doc<'t>, id: NodeId, depth: u8) -> Self {
        NodeDe {
            doc,
            id,
            depth,
            tagged_already: false,
        }
    }

    fn mark(&self) -> Mark {
        self.doc.tree.nodes[self.id].mark
    }

    fn kind(&self) -> &'t Kind {
        &self.doc.tree.nodes[self.id].kind
    }

    /// Follows an alias, counting it against the repetition limit.
    fn resolved(mut self) -> Result<Self, Error> {
        while let Kind::Alias(target) = self.kind() {
            let jumps = self.doc.jumps.get() + 1;
            self.doc.jumps.set(jumps);
            if jumps > self.doc.tree.events * 100 {
                return Err(Error::at("repetition limit exceeded", None));
            }
            self.id = *target;
            self.tagged_already = false;
        }
        Ok(self)
    }

    pub(crate) fn nested(&self) -> Result<u8, Error> {
        self.depth
            .checked_sub(1)
            .ok_or_else(|| Error::at("recursion limit exceeded", Some(self.mark())))
    }

    fn visit_seq<V: Visitor<'t>>(self, visitor: V, items: &'t [NodeId]) -> Result<V::Value, Error> {
        let depth = self.nested()?;
        visitor.visit_seq(Items {
            doc: self.doc,
            rest: items.iter(),
            depth,
        })
    }

    fn visit_map<V: Visitor<'t>>(
        self,
        visitor: V,
        entries: &'t [(NodeId, NodeId)],
    ) -> Result<V::Value, Error> {
        let depth = self.nested()?;
        visitor.visit_map(Entries {
            doc: self.doc,
            rest: entries.iter(),
            value: None,
            depth,
        })
    }

    /// An empty plain scalar reads as an empty sequence or mapping.
    fn is_empty_plain(&self) -> bool {
        matches!(self.kind(), Kind::Scalar { value, style: Style::Plain, .. } if value.is_empty())
    }

    fn invalid_type(&self, exp: &dyn de::Expected) -> Error {
        match self.kind() {
            Kind::Scalar { value, style, tag } => {
                invalid_scalar(value, *style, tag.as_deref(), exp)
            }
            Kind::Seq { .. } => de::Error::invalid_type(Unexpected::Seq, exp),
            Kind::Map { .. } => de::Error::invalid_type(Unexpected::Map, exp),
            Kind::Alias(_) => de::Error::custom("unresolved alias"),
        }
    }

    /// A typed scalar (`bool`, integers, floats): parsed when the node is a
    /// plain scalar (or a literal tagged with the type), else refused.
    fn typed<V: Visitor<'t>>(
        self,
        visitor: V,
        expected: &[u8],
        parse: impl FnOnce(&str, V) -> Result<Result<V::Value, Error>, V>,
    ) -> Result<V::Value, Error> {
        let de = self.resolved()?;
        let result = match de.kind() {
            Kind::Scalar { value, style, tag }
                if plain_or_tagged_literal(expected, *style, tag.as_deref(), de.tagged_already) =>
            {
                match parse(value, visitor) {
                    Ok(result) => result,
                    Err(visitor) => Err(de.invalid_type(&visitor)),
                }
            }
            _ => Err(de.invalid_type(&visitor)),
        };
        result.map_err(|e| e.fix(de.mark()))
    }
}

macro_rules! signed {
    ($name:ident, $ty:ty, $visit:ident) => {
        fn $name<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
            self.typed(visitor, TAG_INT, |v, visitor| {
                match parse_signed_int(v, <$ty>::from_str_radix) {
                    Some(n) => Ok(visitor.$visit(n)),
                    None => Err(visitor),
                }
            })
        }
    };
}

macro_rules! unsigned {
    ($name:ident, $ty:ty, $visit:ident) => {
        fn $name<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
            self.typed(visitor, TAG_INT, |v, visitor| {
                match parse_unsigned_int(v, <$ty>::from_str_radix) {
                    Some(n) => Ok(visitor.$visit(n)),
                    None => Err(visitor),
                }
            })
        }
    };
}

impl<'t> de::Deserializer<'t> for NodeDe<'_, 't> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        let de = self.resolved()?;
        let result = match de.kind() {
            Kind::Scalar { tag, .. } | Kind::Seq { tag, .. } | Kind::Map { tag, .. }
                if !de.tagged_already && local_tag(tag.as_deref()).is_some() =>
            {
                Err(de::Error::invalid_type(Unexpected::Enum, &visitor))
            }
            Kind::Scalar { value, style, tag } => {
                visit_scalar(visitor, value, *style, tag.as_deref(), de.tagged_already)
            }
            Kind::Seq { items, .. } => de.visit_seq(visitor, items),
            Kind::Map { entries, .. } => de.visit_map(visitor, entries),
            Kind::Alias(_) => Err(de.invalid_type(&visitor)),
        };
        result.map_err(|e| e.fix(de.mark()))
    }

    fn deserialize_bool<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.typed(visitor, TAG_BOOL, |v, visitor| match parse_bool(v) {
            Some(b) => Ok(visitor.visit_bool(b)),
            None => Err(visitor),
        })
    }

    signed!(deserialize_i64, i64, visit_i64);
    signed!(deserialize_i128, i128, visit_i128);
    unsigned!(deserialize_u64, u64, visit_u64);
    unsigned!(deserialize_u128, u128, visit_u128);

    fn deserialize_i8<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i16<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i32<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u8<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u16<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u32<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_f32<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }
    fn deserialize_f64<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.typed(visitor, TAG_FLOAT, |v, visitor| match parse_f64(v) {
            Some(f) => Ok(visitor.visit_f64(f)),
            None => Err(visitor),
        })
    }

    fn deserialize_char<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        let de = self.resolved()?;
        let result = match de.kind() {
            Kind::Scalar { value, .. } => visitor.visit_borrowed_str(value),
            _ => Err(de.invalid_type(&visitor)),
        };
        result.map_err(|e| e.fix(de.mark()))
    }

    fn deserialize_string<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'t>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error::at(
            "serialization and deserialization of bytes in YAML is not implemented",
            None,
        ))
    }

    fn deserialize_byte_buf<V: Visitor<'t>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(v)
    }

    fn deserialize_option<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        let de = self.resolved()?;
        let is_some = match de.kind() {
            Kind::Scalar { value, style, tag } => {
                if *style != Style::Plain {
                    true
                } else if let (Some(tag), false) = (tag, de.tagged_already) {
                    if tag == TAG_NULL {
                        if parse_null(value).is_some() {
                            false
                        } else {
                            return Err(de::Error::invalid_value(Unexpected::Str(value), &"null"));
                        }
                    } else {
                        true
                    }
                } else {
                    !value.is_empty() && parse_null(value).is_none()
                }
            }
            _ => true,
        };
        if is_some {
            visitor.visit_some(de)
        } else {
            visitor.visit_none()
        }
    }

    fn deserialize_unit<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        let de = self.resolved()?;
        let result = match de.kind() {
            Kind::Scalar { value, style, tag } => {
                let is_null = if *style != Style::Plain {
                    false
                } else if let (Some(tag), false) = (tag, de.tagged_already) {
                    tag == TAG_NULL && parse_null(value).is_some()
                } else {
                    value.is_empty() || parse_null(value).is_some()
                };
                if is_null {
                    visitor.visit_unit()
                } else {
                    Err(de::Error::invalid_value(Unexpected::Str(value), &"null"))
                }
            }
            _ => Err(de.invalid_type(&visitor)),
        };
        result.map_err(|e| e.fix(de.mark()))
    }

    fn deserialize_unit_struct<V: Visitor<'t>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'t>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let depth = self.nested()?;
        visitor.visit_newtype_struct(NodeDe { depth, ..self })
    }

    fn deserialize_seq<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        let de = self.resolved()?;
        let result = match de.kind() {
            Kind::Seq { items, .. } => de.visit_seq(visitor, items),
            _ if de.is_empty_plain() => de.visit_seq(visitor, &[]),
            _ => Err(de.invalid_type(&visitor)),
        };
        result.map_err(|e| e.fix(de.mark()))
    }

    fn deserialize_tuple<V: Visitor<'t>>(self, _: usize, v: V) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'t>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        let de = self.resolved()?;
        let result = match de.kind() {
            Kind::Map { entries, .. } => de.visit_map(visitor, entries),
            _ if de.is_empty_plain() => de.visit_map(visitor, &[]),
            _ => Err(de.invalid_type(&visitor)),
        };
        result.map_err(|e| e.fix(de.mark()))
    }

    fn deserialize_struct<V: Visitor<'t>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'t>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let de = self.resolved()?;
        let mark = de.mark();
        let (Kind::Scalar { tag, .. } | Kind::Seq { tag, .. } | Kind::Map { tag, .. }) = de.kind()
        else {
            return Err(de.invalid_type(&visitor));
        };
        if let Some(tag) = local_tag(tag.as_deref()) {
            return visitor.visit_enum(Tagged { de, tag });
        }
        let result = match de.kind() {
            Kind::Scalar { .. } => visitor.visit_enum(Unit(de)),
            Kind::Map { .. } => Err(de::Error::invalid_type(
                Unexpected::Map,
                &"a YAML tag starting with '!'",
            )),
            _ => Err(de::Error::invalid_type(
                Unexpected::Seq,
                &"a YAML tag starting with '!'",
            )),
        };
        result.map_err(|e| e.fix(mark))
    }

    fn deserialize_identifier<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}
