//! Conversions between the integers the tool counts with and `f64`, in one
//! place, so that why each is safe is written once.

/// `n` as an `f64`: exact for every `n` below 2^53. What is converted here
/// (sizes in bytes, counts, durations and Unix times in milliseconds, the
/// last about 2^41 today) is far below that; above it the result would be
/// the nearest `f64`, which a gauge, a chart or a size for people shows the
/// same.
#[allow(
    clippy::cast_precision_loss,
    reason = "exact below 2^53, far above the values converted"
)]
pub fn as_f64(n: u64) -> f64 {
    n as f64
}

/// `n` as an `f64`: exact for every `|n|` below 2^53, as for [`as_f64`]
/// (differences of times in milliseconds, Unix times in seconds).
#[allow(
    clippy::cast_precision_loss,
    reason = "exact below 2^53, far above the values converted"
)]
pub fn signed_as_f64(n: i64) -> f64 {
    n as f64
}

/// `x` without its fraction (toward zero), clamped to `0..=u64::MAX`; NaN
/// is 0. This is what Rust's `as` does; callers that mean to round, round
/// first.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "`as` from f64 saturates: the clamping is the intent"
)]
pub fn saturating_u64(x: f64) -> u64 {
    x as u64
}

/// `d` in whole milliseconds, `u64::MAX` past it (some 584 million years).
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_are_exact_below_2_pow_53_and_saturate_back() {
        let big = (1 << 53) - 1;
        assert_eq!(saturating_u64(as_f64(big)), big);
        assert_eq!(saturating_u64(-signed_as_f64(-(1 << 53) + 1)), big);
        assert_eq!(saturating_u64(2.9), 2);
        assert_eq!(saturating_u64(-1.5), 0);
        assert_eq!(saturating_u64(f64::NAN), 0);
        assert_eq!(saturating_u64(1e30), u64::MAX);
    }

    #[test]
    fn millis_are_whole_and_saturate() {
        use std::time::Duration;
        assert_eq!(millis(Duration::from_micros(2_999)), 2);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }
}
