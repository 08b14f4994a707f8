//! How a scalar's text becomes a value, exactly as `yaml_serde` resolves it
//! (YAML 1.2 core schema: `true`/`True`/`TRUE`, `~`/`null`, `0x1F`, `0o17`,
//! `.inf`, a leading zero keeps `010` a string, ...), so that the messages
//! (`invalid type: string "yes", expected a boolean`) stay the ones users
//! know. Ported from `yaml_serde`'s `de.rs` (MIT or Apache-2.0).
use std::num::ParseIntError;

use serde::de::{self, Expected, Unexpected, Visitor};

use super::de::Error;
use super::libyaml::Style;
use super::tree::{TAG_BOOL, TAG_FLOAT, TAG_INT, TAG_NULL};

pub(crate) fn parse_null(scalar: &str) -> Option<()> {
    matches!(scalar, "null" | "Null" | "NULL" | "~").then_some(())
}

pub(crate) fn parse_bool(scalar: &str) -> Option<bool> {
    match scalar {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn radix<T>(
    scalar: &str,
    from: fn(&str, u32) -> Result<T, ParseIntError>,
    negative: bool,
) -> Option<T> {
    for (prefix, base) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if negative {
            if let Some(rest) = scalar
                .strip_prefix('-')
                .and_then(|s| s.strip_prefix(prefix))
            {
                if let Ok(int) = from(&format!("-{rest}"), base) {
                    return Some(int);
                }
            }
        } else if let Some(rest) = scalar.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(int) = from(rest, base) {
                return Some(int);
            }
        }
    }
    None
}

pub(crate) fn parse_unsigned_int<T>(
    scalar: &str,
    from: fn(&str, u32) -> Result<T, ParseIntError>,
) -> Option<T> {
    let unpositive = scalar.strip_prefix('+').unwrap_or(scalar);
    for (prefix, base) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(int) = from(rest, base) {
                return Some(int);
            }
        }
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(scalar) {
        return None;
    }
    from(unpositive, 10).ok()
}

pub(crate) fn parse_signed_int<T>(
    scalar: &str,
    from: fn(&str, u32) -> Result<T, ParseIntError>,
) -> Option<T> {
    let unpositive = match scalar.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return None,
        Some(u) => u,
        None => scalar,
    };
    for (prefix, base) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(int) = from(rest, base) {
                return Some(int);
            }
        }
        if let Some(rest) = scalar
            .strip_prefix('-')
            .and_then(|s| s.strip_prefix(prefix))
        {
            if let Ok(int) = from(&format!("-{rest}"), base) {
                return Some(int);
            }
        }
    }
    if digits_but_not_number(scalar) {
        return None;
    }
    from(unpositive, 10).ok()
}

fn parse_negative_int<T>(
    scalar: &str,
    from: fn(&str, u32) -> Result<T, ParseIntError>,
) -> Option<T> {
    if let Some(int) = radix(scalar, from, true) {
        return Some(int);
    }
    if digits_but_not_number(scalar) {
        return None;
    }
    from(scalar, 10).ok()
}

pub(crate) fn parse_f64(scalar: &str) -> Option<f64> {
    let unpositive = match scalar.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return None,
        Some(u) => u,
        None => scalar,
    };
    if let ".inf" | ".Inf" | ".INF" = unpositive {
        return Some(f64::INFINITY);
    }
    if let "-.inf" | "-.Inf" | "-.INF" = scalar {
        return Some(f64::NEG_INFINITY);
    }
    if let ".nan" | ".NaN" | ".NAN" = scalar {
        return Some(f64::NAN.copysign(1.0));
    }
    unpositive.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A leading zero followed by digits is a string in YAML 1.2.
fn digits_but_not_number(scalar: &str) -> bool {
    let scalar = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
    scalar.len() > 1 && scalar.starts_with('0') && scalar[1..].bytes().all(|b| b.is_ascii_digit())
}

fn visit_int<'de, V: Visitor<'de>>(visitor: V, v: &str) -> Result<Result<V::Value, Error>, V> {
    if let Some(int) = parse_unsigned_int(v, u64::from_str_radix) {
        return Ok(visitor.visit_u64(int));
    }
    if let Some(int) = parse_negative_int(v, i64::from_str_radix) {
        return Ok(visitor.visit_i64(int));
    }
    if let Some(int) = parse_unsigned_int(v, u128::from_str_radix) {
        return Ok(visitor.visit_u128(int));
    }
    if let Some(int) = parse_negative_int(v, i128::from_str_radix) {
        return Ok(visitor.visit_i128(int));
    }
    Err(visitor)
}

fn visit_untagged<'de, V: Visitor<'de>>(visitor: V, v: &str) -> Result<V::Value, Error> {
    if v.is_empty() || parse_null(v).is_some() {
        return visitor.visit_unit();
    }
    if let Some(boolean) = parse_bool(v) {
        return visitor.visit_bool(boolean);
    }
    let visitor = match visit_int(visitor, v) {
        Ok(result) => return result,
        Err(visitor) => visitor,
    };
    if !digits_but_not_number(v) {
        if let Some(float) = parse_f64(v) {
            return visitor.visit_f64(float);
        }
    }
    visitor.visit_str(v)
}

/// A scalar offered to `visitor` as what it resolves to.
pub(crate) fn visit_scalar<'de, V: Visitor<'de>>(
    visitor: V,
    v: &str,
    style: Style,
    tag: Option<&[u8]>,
    tagged_already: bool,
) -> Result<V::Value, Error> {
    match (tag, tagged_already) {
        (Some(tag), false) => {
            if tag == TAG_BOOL {
                return match parse_bool(v) {
                    Some(b) => visitor.visit_bool(b),
                    None => Err(de::Error::invalid_value(Unexpected::Str(v), &"a boolean")),
                };
            } else if tag == TAG_INT {
                return match visit_int(visitor, v) {
                    Ok(result) => result,
                    Err(_) => Err(de::Error::invalid_value(Unexpected::Str(v), &"an integer")),
                };
            } else if tag == TAG_FLOAT {
                return match parse_f64(v) {
                    Some(f) => visitor.visit_f64(f),
                    None => Err(de::Error::invalid_value(Unexpected::Str(v), &"a float")),
                };
            } else if tag == TAG_NULL {
                return match parse_null(v) {
                    Some(()) => visitor.visit_unit(),
                    None => Err(de::Error::invalid_value(Unexpected::Str(v), &"null")),
                };
            } else if tag.starts_with(b"!") && style == Style::Plain {
                return visit_untagged(visitor, v);
            }
        }
        _ if style == Style::Plain => return visit_untagged(visitor, v),
        _ => {}
    }
    visitor.visit_str(v)
}

/// Whether a typed request (`bool`, an integer, a float) may read this
/// scalar: a plain one, or a literal block tagged with the type.
pub(crate) fn plain_or_tagged_literal(
    expected: &[u8],
    style: Style,
    tag: Option<&[u8]>,
    tagged_already: bool,
) -> bool {
    match (style, tag, tagged_already) {
        (Style::Plain, _, _) => true,
        (Style::Literal, Some(tag), false) => tag == expected,
        _ => false,
    }
}

/// "invalid type: <what the scalar resolves to>, expected <exp>".
pub(crate) fn invalid_scalar(
    v: &str,
    style: Style,
    tag: Option<&[u8]>,
    exp: &dyn Expected,
) -> Error {
    enum Void {}
    struct InvalidType<'a>(&'a dyn Expected);
    impl Visitor<'_> for InvalidType<'_> {
        type Value = Void;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            self.0.fmt(f)
        }
    }
    match visit_scalar(InvalidType(exp), v, style, tag, false) {
        Ok(void) => match void {},
        Err(e) => e,
    }
}
