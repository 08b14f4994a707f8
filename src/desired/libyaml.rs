//! The YAML parser's events, each with its position: a small safe wrapper
//! around `libyaml-rs` (the pure-Rust libyaml that `yaml_serde` uses), so
//! that `tree` gets the same grammar, the same scalar values and the same
//! line and column numbers that `yaml_serde` reports, from one parse.
//!
//! `yaml_serde` keeps its own wrapper private; this one follows it (its
//! `libyaml/parser.rs`, MIT or Apache-2.0). It is the only `unsafe` code of
//! the loader: each block calls the C-style API as its documentation says,
//! on a parser that lives in a `Box` for the whole parse and an input that
//! outlives it.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use libyaml_rs as sys;

/// A position: 0-based line and column (in characters), as libyaml counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Mark {
    pub line: usize,
    pub column: usize,
}

impl Mark {
    /// 1-based line and column, as errors show them.
    pub(crate) fn one_based(self) -> (usize, usize) {
        (self.line + 1, self.column + 1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// One parser event; anchors, aliases and tags as bytes.
#[derive(Debug)]
pub(crate) enum Event {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias(Vec<u8>),
    Scalar {
        anchor: Option<Vec<u8>>,
        tag: Option<Vec<u8>>,
        value: Vec<u8>,
        style: Style,
    },
    SequenceStart {
        anchor: Option<Vec<u8>>,
        tag: Option<Vec<u8>>,
        flow: bool,
    },
    SequenceEnd,
    MappingStart {
        anchor: Option<Vec<u8>>,
        tag: Option<Vec<u8>>,
    },
    MappingEnd,
}

/// The parser failed (a syntax error); the caller asks `yaml_serde` for the
/// message, which comes from the same parser.
#[derive(Debug)]
pub(crate) struct SyntaxError;

/// Parses `text`, calling `each` with every event and its start mark until
/// the end of the stream or `each` returns `false`.
pub(crate) fn parse(
    text: &str,
    mut each: impl FnMut(Event, Mark) -> bool,
) -> Result<(), SyntaxError> {
    let input = text.as_bytes();
    let mut parser = Box::new(MaybeUninit::<sys::yaml_parser_t>::uninit());
    let parser = parser.as_mut_ptr();
    // SAFETY: `parser` points to memory owned by the box for this whole
    // function; `yaml_parser_initialize` fills it before any other use, and
    // `input` outlives the parser, which is deleted before returning.
    unsafe {
        if sys::yaml_parser_initialize(parser).fail {
            return Err(SyntaxError);
        }
        sys::yaml_parser_set_encoding(parser, sys::YAML_UTF8_ENCODING);
        sys::yaml_parser_set_input_string(parser, input.as_ptr(), input.len() as u64);
    }
    let mut result = Ok(());
    loop {
        let mut event = MaybeUninit::<sys::yaml_event_t>::uninit();
        // SAFETY: the parser is initialized; a successful `yaml_parser_parse`
        // initializes `event`, which is read, then deleted once.
        let next = unsafe {
            let event = event.as_mut_ptr();
            if (&(*parser)).error != sys::YAML_NO_ERROR
                || sys::yaml_parser_parse(parser, event).fail
            {
                None
            } else {
                let converted = convert(&*event);
                let mark = Mark {
                    line: usize::try_from((*event).start_mark.line).unwrap_or(usize::MAX),
                    column: usize::try_from((*event).start_mark.column).unwrap_or(usize::MAX),
                };
                sys::yaml_event_delete(event);
                Some((converted, mark))
            }
        };
        match next {
            None => {
                result = Err(SyntaxError);
                break;
            }
            Some((event, mark)) => {
                let end = matches!(event, Event::StreamEnd);
                if !each(event, mark) || end {
                    break;
                }
            }
        }
    }
    // SAFETY: initialized above, deleted once.
    unsafe { sys::yaml_parser_delete(parser) };
    result
}

/// SAFETY: `e` is an event just produced by `yaml_parser_parse`.
unsafe fn convert(e: &sys::yaml_event_t) -> Event {
    // SAFETY (whole body): the union member read is the one `type_` names;
    // strings are NUL-terminated or null, values are `length` bytes.
    unsafe {
        match e.type_ {
            sys::YAML_STREAM_START_EVENT => Event::StreamStart,
            sys::YAML_STREAM_END_EVENT => Event::StreamEnd,
            sys::YAML_DOCUMENT_START_EVENT => Event::DocumentStart,
            sys::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
            sys::YAML_ALIAS_EVENT => Event::Alias(c_bytes(e.data.alias.anchor).unwrap_or_default()),
            sys::YAML_SCALAR_EVENT => {
                let s = &e.data.scalar;
                Event::Scalar {
                    anchor: c_bytes(s.anchor),
                    tag: c_bytes(s.tag),
                    value: std::slice::from_raw_parts(
                        s.value,
                        usize::try_from(s.length).expect("a scalar in memory has a usize length"),
                    )
                    .to_vec(),
                    style: match s.style {
                        sys::YAML_SINGLE_QUOTED_SCALAR_STYLE => Style::SingleQuoted,
                        sys::YAML_DOUBLE_QUOTED_SCALAR_STYLE => Style::DoubleQuoted,
                        sys::YAML_LITERAL_SCALAR_STYLE => Style::Literal,
                        sys::YAML_FOLDED_SCALAR_STYLE => Style::Folded,
                        _ => Style::Plain,
                    },
                }
            }
            sys::YAML_SEQUENCE_START_EVENT => Event::SequenceStart {
                anchor: c_bytes(e.data.sequence_start.anchor),
                tag: c_bytes(e.data.sequence_start.tag),
                flow: e.data.sequence_start.style == sys::YAML_FLOW_SEQUENCE_STYLE,
            },
            sys::YAML_SEQUENCE_END_EVENT => Event::SequenceEnd,
            sys::YAML_MAPPING_START_EVENT => Event::MappingStart {
                anchor: c_bytes(e.data.mapping_start.anchor),
                tag: c_bytes(e.data.mapping_start.tag),
            },
            _ => Event::MappingEnd,
        }
    }
}

/// The bytes of a NUL-terminated string, or `None` for a null pointer.
///
/// SAFETY: `p` is null or points to a NUL-terminated string.
unsafe fn c_bytes(p: *const u8) -> Option<Vec<u8>> {
    if p.is_null() {
        return None;
    }
    let mut len = 0;
    // SAFETY: the string is NUL-terminated, so every byte up to the NUL is
    // readable.
    unsafe {
        while *p.add(len) != 0 {
            len += 1;
        }
        Some(std::slice::from_raw_parts(p, len).to_vec())
    }
}
