//! Exit codes, in one place (docs/reference/exit-codes.md; docs/reference/behaviour.md, "Mistakes are errors, not drift"), the way fd and ripgrep keep
//! theirs: every command returns one of these.
use crate::core::settle::Summary;

/// Nominal; for other commands, success.
pub const OK: i32 = 0;
/// An error: bad input, a usage mistake, a held lock, an I/O failure, an
/// interrupted run. Nothing was executed that is not recorded.
pub const ERROR: i32 = 1;
/// Degraded or reconciling (`check`, `reconcile`); `diff`: something differs.
pub const DEGRADED: i32 = 2;
/// Unstable.
pub const UNSTABLE: i32 = 3;

/// The exit code of a run's summary state.
pub fn of_summary(summary: Summary) -> i32 {
    match summary {
        Summary::Nominal => OK,
        Summary::Degraded | Summary::Reconciling => DEGRADED,
        Summary::Unstable => UNSTABLE,
    }
}

/// The exit code of a summary state as `run_finished` writes it.
pub fn of_state(state: &str) -> i32 {
    match state {
        "nominal" => OK,
        "unstable" => UNSTABLE,
        _ => DEGRADED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_summary_maps_like_its_name() {
        for s in [
            Summary::Nominal,
            Summary::Degraded,
            Summary::Reconciling,
            Summary::Unstable,
        ] {
            assert_eq!(of_summary(s), of_state(s.as_str()), "{s:?}");
        }
    }
}
