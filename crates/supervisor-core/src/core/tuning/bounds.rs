//! The bounds of adaptive tuning: a tuned value never goes below half nor
//! above twice its configured value (a count never below 1, the backoff
//! base never above `backoff_max`), and `dead_after` stays above
//! `degraded_after`. Each step moves one count by one, or the backoff
//! base by a factor of two, clamped to these bounds. Pure.

/// An inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub lo: u64,
    pub hi: u64,
}

impl Range {
    pub fn clamp(self, v: u64) -> u64 {
        v.clamp(self.lo, self.hi)
    }

    pub fn contains(self, v: u64) -> bool {
        (self.lo..=self.hi).contains(&v)
    }
}

/// `degraded_after` or `dead_after` configured at `c`: [⌈c/2⌉, 2c], at least 1.
pub fn count(c: u64) -> Range {
    let lo = c.div_ceil(2).max(1);
    Range {
        lo,
        hi: c.saturating_mul(2).max(lo),
    }
}

/// The backoff base configured at `c` ms, under a cap of `max` ms:
/// [c/2, 2c], never above the cap (unless the configured base already is).
pub fn backoff_ms(c: u64, max: u64) -> Range {
    let lo = (c / 2).max(1);
    Range {
        lo,
        hi: c.saturating_mul(2).min(max).max(c).max(lo),
    }
}

/// One step of the backoff base up or down, within `r`.
pub fn backoff_step(v: u64, up: bool, r: Range) -> u64 {
    r.clamp(if up { v.saturating_mul(2) } else { v / 2 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stay_between_half_and_twice_and_at_least_one() {
        assert_eq!(count(2), Range { lo: 1, hi: 4 });
        assert_eq!(count(5), Range { lo: 3, hi: 10 });
        assert_eq!(count(1), Range { lo: 1, hi: 2 });
    }

    #[test]
    fn the_backoff_base_stays_under_its_cap() {
        assert_eq!(
            backoff_ms(5000, 300_000),
            Range {
                lo: 2500,
                hi: 10_000
            }
        );
        assert_eq!(backoff_ms(5000, 6000), Range { lo: 2500, hi: 6000 });
        assert_eq!(backoff_step(5000, true, backoff_ms(5000, 300_000)), 10_000);
        assert_eq!(
            backoff_step(10_000, true, backoff_ms(5000, 300_000)),
            10_000
        );
        assert_eq!(backoff_step(5000, false, backoff_ms(5000, 300_000)), 2500);
    }
}
