//! The clock, read in one place. The command line resolves `--now` into a
//! [`Clock`] once (`crate::resolved`); every command asks it for the time.
//! [`wall`] is the one read of the machine's clock in the crate (the
//! monitor, a process of its own, aside): besides [`Clock::now`] without
//! `--now`, it serves what must be live whatever `--now` says:
//!
//! - what is measured against the kernel's clock: a process's uptime from
//!   its start time, the time since a monitored process exited;
//! - waiting: `watch` runs a pass whenever something changes, each at its
//!   own time; a recording (`observe --count`) sleeps to its next step;
//!   an operator's `--wait` and `reconcile --wait` poll with `Instant`.
use chrono::{DateTime, Utc};

/// `--now`, or the machine's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    fixed: Option<DateTime<Utc>>,
}

impl Clock {
    /// `--now` as given: fixed at that time, else live.
    pub fn new(fixed: Option<DateTime<Utc>>) -> Clock {
        Clock { fixed }
    }

    /// The time commands decide and report against.
    pub fn now(self) -> DateTime<Utc> {
        self.fixed.unwrap_or_else(wall)
    }

    /// `--now`, when it was given.
    pub fn fixed(self) -> Option<DateTime<Utc>> {
        self.fixed
    }
}

/// The machine's clock, whatever `--now` says (see the module's list).
pub fn wall() -> DateTime<Utc> {
    Utc::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_does_not_move() {
        let t = DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = Clock::new(Some(t));
        assert_eq!((c.now(), c.now(), c.fixed()), (t, t, Some(t)));
        assert!(Clock::new(None).now() > t - chrono::Duration::days(3650));
    }
}
