//! Checked scalar values of `services.yaml`: each is parsed while
//! deserializing, so a bad value is reported at its own line and column by
//! the YAML crate. A message may carry a hint after a `\nhint: ` line; the
//! loader splits it off.
use crate::events::EventKind;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::suggest;
use super::units::{parse_duration, parse_ratio, parse_size};

/// Whether `name` is a valid node or service name:
/// `^[a-z0-9][a-z0-9._-]{0,62}$`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b))
}

/// The message for a name that does not match the pattern.
pub(crate) fn invalid_name(what: &str, name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let hint = if name != lower && is_valid_name(&lower) {
        format!("names are lowercase: `{lower}`")
    } else {
        "use 1 to 63 of a-z, 0-9, `.`, `_`, `-`, starting with a letter or digit".to_string()
    };
    format!("invalid {what} name `{name}`\nhint: {hint}")
}

/// Deserializes a scalar and converts its text with `parse`, inside the
/// YAML deserializer so that an error gets the value's position. (The YAML
/// crate offers plain numbers as their text, so `30` and `0.9` arrive here.)
fn from_text<'de, D, T>(
    d: D,
    expecting: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    d.deserialize_str(TextVisitor { expecting, parse })
}

struct TextVisitor<F> {
    expecting: &'static str,
    parse: F,
}

impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for TextVisitor<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }
}

/// A duration (`2s`, `5m`); with `NONZERO`, zero is refused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dur<const NONZERO: bool = true>(pub Duration);

impl<'de, const NONZERO: bool> Deserialize<'de> for Dur<NONZERO> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "a duration such as `2s` or `5m`", |text| {
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("invalid duration `{text}`: missing unit\nhint: write `{text}s` for seconds, or use ms, m, h, d"));
            }
            let value = parse_duration(text)?;
            if NONZERO && value.is_zero() {
                return Err(format!(
                    "invalid duration `{text}`: must be greater than zero"
                ));
            }
            Ok(Dur(value))
        })
    }
}

/// A size in bytes (`8GiB`, `40GB`, `1048576`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "a size such as `8GiB` or a number of bytes", |t| {
            parse_size(t).map(Size)
        })
    }
}

/// A ratio in (0, 1]: `90%` or `0.9`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ratio(pub f64);

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "a ratio such as `90%` or `0.9`", |text| {
            parse_ratio(text)
                .map(Ratio)
                .map_err(|why| match text.trim().parse::<f64>() {
                    Ok(v) if v > 1.0 && v <= 100.0 => {
                        format!("{why}\nhint: write `{v}%` for a percentage")
                    }
                    _ => why,
                })
        })
    }
}

/// A command line: a non-empty list of strings whose program is not empty.
#[derive(Debug, Clone)]
pub(crate) struct Argv(pub Vec<String>);

impl<'de> Deserialize<'de> for Argv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ArgvVisitor;
        impl<'de> Visitor<'de> for ArgvVisitor {
            type Value = Argv;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command as a list of arguments, e.g. [systemctl, restart, web]")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Argv, E> {
                let words: Vec<&str> = v.split_whitespace().collect();
                Err(E::custom(format!(
                    "expected a list of arguments, found the string `{v}`\nhint: commands never go through a shell; write [{}]",
                    words.join(", ")
                )))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Argv, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<String>()? {
                    argv.push(arg);
                }
                match argv.first() {
                    None => Err(de::Error::custom(
                        "empty command: give at least the program to run",
                    )),
                    Some(program) if program.trim().is_empty() => {
                        Err(de::Error::custom("empty program name in command"))
                    }
                    Some(_) => Ok(Argv(argv)),
                }
            }
        }
        d.deserialize_any(ArgvVisitor)
    }
}

/// A time of day `HH:MM` (UTC) as minutes since midnight; `24:00` only when
/// `END` (the end of a maintenance window).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock<const END: bool>(pub u32);

impl<'de, const END: bool> Deserialize<'de> for Clock<END> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "a time of day such as \"02:00\"", |text| {
            let parsed = text.split_once(':').and_then(|(h, m)| {
                let ok = h.len() == 2 && m.len() == 2;
                let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
                (ok && m < 60 && (h < 24 || (END && h == 24 && m == 0))).then_some(h * 60 + m)
            });
            let range = if END {
                "00:00 to 24:00"
            } else {
                "00:00 to 23:59"
            };
            parsed.map(Clock).ok_or_else(|| {
                let hint = if text == "24:00" {
                    "\nhint: `24:00` can only end a window (`to`)"
                } else {
                    ""
                };
                format!("invalid time `{text}`: expected \"HH:MM\" from {range} (UTC){hint}")
            })
        })
    }
}

/// A day of the week: `mon` … `sun`, or the full English name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Day(pub chrono::Weekday);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use chrono::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
        const SHORT: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        const LONG: [&str; 7] = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        const DAYS: [chrono::Weekday; 7] = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];
        from_text(d, "a day of the week such as `mon`", |text| {
            SHORT
            .iter()
            .position(|s| *s == text)
            .or_else(|| LONG.iter().position(|s| *s == text))
            .map(|i| Day(DAYS[i]))
            .ok_or_else(|| {
                let hint = suggest::hint(text, SHORT.iter().chain(LONG.iter()).copied())
                    .unwrap_or_else(|| "days are lowercase".to_string());
                format!("unknown day `{text}`, expected one of `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`\nhint: {hint}")
            })
        })
    }
}

/// A webhook URL: `http://` or `https://`.
#[derive(Debug, Clone)]
pub(crate) struct Url(pub String);

impl<'de> Deserialize<'de> for Url {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "an `http://` or `https://` url", |text| {
            let rest = text
                .strip_prefix("http://")
                .or_else(|| text.strip_prefix("https://"));
            match rest {
                Some(host) if !host.is_empty() && !host.starts_with('/') => {
                    Ok(Url(text.to_string()))
                }
                _ => Err(format!(
                    "invalid url `{text}`: expected `http://` or `https://` followed by a host"
                )),
            }
        })
    }
}

/// An event type name that a webhook subscribes to.
#[derive(Debug, Clone)]
pub(crate) struct EventName(pub String);

impl<'de> Deserialize<'de> for EventName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "an event type", |text| {
            if EventKind::parse(text).is_some() {
                return Ok(EventName(text.to_string()));
            }
            let names = EventKind::ALL.map(EventKind::as_str);
            let list = names.map(|e| format!("`{e}`")).join(", ");
            let hint = suggest::hint(text, names)
                .map(|h| format!("\nhint: {h}"))
                .unwrap_or_default();
            Err(format!(
                "unknown event type `{text}`, expected one of {list}{hint}"
            ))
        })
    }
}

/// A string that must not be empty (paths, process names, addresses).
#[derive(Debug, Clone)]
pub(crate) struct NonEmpty(pub String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "a non-empty string", |text| match text.trim() {
            "" => Err("expected a non-empty string".to_string()),
            _ => Ok(NonEmpty(text.to_string())),
        })
    }
}

/// An absolute path (`process.pidfile`): a relative one would depend on the
/// directory the tool happens to run in (docs/reference/behaviour.md, "Which process is the service").
#[derive(Debug, Clone)]
pub(crate) struct AbsPath(pub String);

impl<'de> Deserialize<'de> for AbsPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "an absolute path", |text| {
            if text.trim().is_empty() {
                return Err("expected a non-empty string".to_string());
            }
            if text.starts_with('/') {
                return Ok(AbsPath(text.to_string()));
            }
            let path = std::path::Path::new(text);
            let file = path
                .file_name()
                .and_then(|f| f.to_str())
                .filter(|_| path.extension() == Some("pid".as_ref()))
                .unwrap_or("<service>.pid");
            Err(format!(
                "`pidfile` must be an absolute path, found `{text}`\nhint: use an absolute path such as /run/{file}"
            ))
        })
    }
}

/// An absolute path of a `spawn:` setting (`cwd`, `env_file`).
#[derive(Debug, Clone)]
pub(crate) struct SpawnPath(pub String);

impl<'de> Deserialize<'de> for SpawnPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "an absolute path", |text| {
            if text.starts_with('/') && !text.contains('\0') {
                Ok(SpawnPath(text.to_string()))
            } else {
                Err(format!(
                    "expected an absolute path, found `{text}`\nhint: a relative path would depend on where the tool runs; write it from `/`"
                ))
            }
        })
    }
}

/// The name of an environment variable (`env:` keys):
/// `^[A-Za-z_][A-Za-z0-9_]*$`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EnvName(pub String);

impl AsRef<str> for EnvName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for EnvName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "a variable name", |text| {
            if is_env_name(text) {
                Ok(EnvName(text.to_string()))
            } else {
                Err(format!(
                    "invalid environment variable name `{text}`\nhint: use letters, digits and `_`, not starting with a digit (e.g. `CUDA_VISIBLE_DEVICES`)"
                ))
            }
        })
    }
}

/// Whether `name` may name an environment variable.
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The value of an environment variable: any scalar, as its text (`1`
/// stays `1`), without a NUL byte.
#[derive(Debug, Clone)]
pub(crate) struct EnvValue(pub String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "a string", |text| {
            if text.contains('\0') {
                Err("an environment variable cannot hold a NUL byte".to_string())
            } else {
                Ok(EnvValue(text.to_string()))
            }
        })
    }
}

/// `ca_file`: an absolute path to a PEM file of private CA certificates.
#[derive(Debug, Clone)]
pub(crate) struct CaFile(pub String);

impl<'de> Deserialize<'de> for CaFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "an absolute path", |text| {
            if text.starts_with('/') {
                Ok(CaFile(text.to_string()))
            } else {
                Err(format!(
                    "`ca_file` must be an absolute path, found `{text}`\nhint: use an absolute path such as /etc/ssl/private-ca.pem"
                ))
            }
        })
    }
}

/// `breaker_retry`: a duration, or `never` (docs/reference/behaviour.md, "Restarts: backoff and the circuit breaker").
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryAfter(pub Option<Duration>);

impl<'de> Deserialize<'de> for RetryAfter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "a duration such as `30m`, or `never`", |text| {
            if text == "never" {
                return Ok(RetryAfter(None));
            }
            let value = parse_duration(text)
                .map_err(|e| format!("{e}\nhint: a duration such as `30m`, or `never`"))?;
            if value.is_zero() {
                return Err("invalid duration: must be greater than zero (or `never`)".into());
            }
            Ok(RetryAfter(Some(value)))
        })
    }
}
