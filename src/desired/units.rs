//! The three value syntaxes of `services.yaml` (docs/reference/services-yaml.md): durations, sizes
//! and ratios. Parsing is strict and the messages say what would have been
//! accepted, because these values decide when things get restarted or
//! evicted.
use std::time::Duration;

/// The longest duration accepted anywhere (in `services.yaml` and in
/// flags): a year. Anything longer is a typo, and a year already means
/// "never" for every setting here.
pub const MAX_DURATION: Duration = Duration::from_hours(365 * 24);

const DURATION_UNITS: &str = "use ms, s, m, h or d, e.g. `500ms`, `2s`, `5m`";

/// Parses `500ms`, `2s`, `5m`, `1h`, `1d`, or a sum such as `1h30m`.
/// A unit is required; negative, fractional, empty and overflowing values
/// are refused.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if text.starts_with('-') {
        return Err(format!("invalid duration `{text}`: must not be negative"));
    }
    let bad = |why: &str| format!("invalid duration `{text}`: {why}");
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad(&format!(
                "expected a whole number followed by a unit ({DURATION_UNITS})"
            )));
        }
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail.chars().take_while(char::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let factor: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" if tail.starts_with('.') => {
                return Err(bad(&format!("use whole numbers ({DURATION_UNITS})")))
            }
            "" => return Err(bad(&format!("missing unit ({DURATION_UNITS})"))),
            other => return Err(bad(&format!("unknown unit `{other}` ({DURATION_UNITS})"))),
        };
        let too_large = || bad("too large, at most 365d");
        let value: u64 = number.parse().map_err(|_| too_large())?;
        total_ms = value
            .checked_mul(factor)
            .and_then(|ms| total_ms.checked_add(ms))
            .filter(|ms| u128::from(*ms) <= MAX_DURATION.as_millis())
            .ok_or_else(too_large)?;
        rest = tail;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Parses a size in bytes: a plain integer, or a number with a unit.
/// `KB`, `MB`, `GB`, `TB`, `PB` are powers of 1000; `KiB` … `PiB` powers of
/// 1024; `B` is bytes. Units are case-insensitive, a space before the unit is
/// allowed, and a fraction (`1.5GiB`) is rounded down to whole bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty size".into());
    }
    if text.starts_with('-') {
        return Err(format!("invalid size `{text}`: must not be negative"));
    }
    let bad = |why: &str| format!("invalid size `{text}`: {why}");
    let number_len = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .count();
    let (number, unit) = text.split_at(number_len);
    let multiplier: u128 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "pb" => 1_000_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        "pib" => 1 << 50,
        _ => {
            return Err(bad(
                "expected a number of bytes or a unit such as `512MiB`, `8GiB`, `40GB`",
            ))
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || fraction.contains('.') || (number.contains('.') && fraction.is_empty()) {
        return Err(bad("expected a number, e.g. `512MiB`"));
    }
    if !fraction.is_empty() && multiplier == 1 {
        return Err(bad("bytes must be a whole number"));
    }
    let whole: u128 = whole.parse().map_err(|_| bad("too large"))?;
    let mut bytes = whole
        .checked_mul(multiplier)
        .ok_or_else(|| bad("too large"))?;
    if !fraction.is_empty() {
        // At most 18 fraction digits matter for a u64 result.
        let digits = &fraction[..fraction.len().min(18)];
        let numerator: u128 = digits.parse().map_err(|_| bad("bad fraction"))?;
        bytes += numerator * multiplier
            / 10u128.pow(u32::try_from(digits.len()).expect("at most 18 digits"));
    }
    u64::try_from(bytes).map_err(|_| bad("too large"))
}

/// Parses `90%` or `0.9`; the result must be in (0, 1].
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty ratio".into());
    }
    let (number, percent) = match text.strip_suffix('%') {
        Some(n) => (n.trim_end(), true),
        None => (text, false),
    };
    let parsed: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("invalid ratio `{text}`: expected a percentage such as `90%` or a fraction such as `0.9`"))?;
    let value = if percent { parsed / 100.0 } else { parsed };
    check_ratio(value).map_err(|why| format!("invalid ratio `{text}`: {why}"))
}

/// Checks that a ratio is in (0, 1].
pub(crate) fn check_ratio(value: f64) -> Result<f64, String> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err("must be above 0 and at most 1 (100%)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_mins(5)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_hours(1)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_hours(24)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_mins(90)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations() {
        assert_eq!(parse_duration(""), Err("empty duration".into()));
        assert_eq!(
            parse_duration("-5s"),
            Err("invalid duration `-5s`: must not be negative".into())
        );
        assert_eq!(
            parse_duration("30"),
            Err("invalid duration `30`: missing unit (use ms, s, m, h or d, e.g. `500ms`, `2s`, `5m`)".into())
        );
        assert!(parse_duration("5x")
            .unwrap_err()
            .contains("unknown unit `x`"));
        assert!(parse_duration("1.5h")
            .unwrap_err()
            .contains("whole numbers"));
        assert!(parse_duration("s").unwrap_err().contains("whole number"));
        assert!(parse_duration("99999999999999999999d")
            .unwrap_err()
            .ends_with("too large, at most 365d"));
        assert!(parse_duration("999999999999999d")
            .unwrap_err()
            .ends_with("too large, at most 365d"));
    }

    #[test]
    fn durations_are_bounded_to_a_year() {
        assert_eq!(parse_duration("365d"), Ok(Duration::from_hours(365 * 24)));
        assert_eq!(
            parse_duration("100000d"),
            Err("invalid duration `100000d`: too large, at most 365d".into())
        );
        assert!(parse_duration("365d1ms").is_err());
        assert!(parse_duration("8761h").is_err());
        assert_eq!(MAX_DURATION, Duration::from_hours(365 * 24));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_size("40GB"), Ok(40_000_000_000));
        assert_eq!(parse_size("1KB"), Ok(1000));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("1TiB"), Ok(1 << 40));
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("123B"), Ok(123));
        assert_eq!(parse_size("8 gib"), Ok(8 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
    }

    #[test]
    fn bad_sizes() {
        assert_eq!(parse_size(""), Err("empty size".into()));
        assert!(parse_size("-1GiB").unwrap_err().contains("negative"));
        assert!(parse_size("8XB").unwrap_err().contains("such as `512MiB`"));
        assert!(parse_size("GiB").unwrap_err().contains("expected a number"));
        assert!(parse_size("1.5").unwrap_err().contains("whole number"));
        assert!(parse_size("1..5GiB")
            .unwrap_err()
            .contains("expected a number"));
        assert!(parse_size("99999999PiB")
            .unwrap_err()
            .ends_with("too large"));
    }

    #[test]
    fn ratios() {
        assert_eq!(parse_ratio("90%"), Ok(0.9));
        assert_eq!(parse_ratio("0.9"), Ok(0.9));
        assert_eq!(parse_ratio("100%"), Ok(1.0));
        assert_eq!(parse_ratio("1"), Ok(1.0));
        assert_eq!(
            parse_ratio("0"),
            Err("invalid ratio `0`: must be above 0 and at most 1 (100%)".into())
        );
        assert!(parse_ratio("120%").is_err());
        assert!(parse_ratio("90").is_err());
        assert!(parse_ratio("-0.5").is_err());
        assert!(parse_ratio("NaN").is_err());
        assert!(parse_ratio("").is_err());
        assert!(parse_ratio("ninety").unwrap_err().contains("such as `90%`"));
    }
}
