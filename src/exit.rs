//! Exit codes, in one place (docs/reference/exit-codes.md; docs/reference/behaviour.md, "Mistakes are errors, not drift"),
//! the way fd and ripgrep keep theirs: every command returns an [`Exit`],
//! named for what it means, and `main` turns it into the process's exit
//! status. The numbers are the contract: `exit_codes_are_the_contract`
//! below pins each one.
use std::process::ExitCode;

use crate::core::operator::Verdict;
use crate::core::settle::Summary;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; for `check` and `reconcile`, a nominal fleet.
    Ok,
    /// An error, said on stderr: bad input, a usage mistake, a held lock,
    /// an I/O failure, an interrupted run. Nothing was executed that is
    /// not recorded.
    Error,
    /// `validate`: hosts/ or the world has problems, each one said.
    Invalid,
    /// `restart`, `stop`, `start`: the service did not end in the asked
    /// state (refused or failed), the reason on stderr.
    NotDone,
    /// `check`, `reconcile`: drift of severity degraded, or an invalid
    /// observation.
    Degraded,
    /// `check`, `reconcile`: an action was executed.
    Reconciling,
    /// `check`, `reconcile`: drift of severity unstable.
    Unstable,
    /// `diff`: desired and actual differ.
    Differs,
    /// `replay`: the score is not clean.
    ScoreNotClean,
}

impl Exit {
    /// The number the process exits with.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Error | Exit::Invalid | Exit::NotDone => 1,
            Exit::Degraded | Exit::Reconciling | Exit::Differs | Exit::ScoreNotClean => 2,
            Exit::Unstable => 3,
        }
    }

    /// `Ok` when `ok`, else `otherwise`.
    pub fn ok_or(ok: bool, otherwise: Exit) -> Exit {
        if ok {
            Exit::Ok
        } else {
            otherwise
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// A run's summary state: nominal, degraded, reconciling,
/// unstable.
impl From<Summary> for Exit {
    fn from(summary: Summary) -> Exit {
        match summary {
            Summary::Nominal => Exit::Ok,
            Summary::Degraded => Exit::Degraded,
            Summary::Reconciling => Exit::Reconciling,
            Summary::Unstable => Exit::Unstable,
        }
    }
}

/// An operator's request that needs no wait: done (or started, with
/// `--no-wait`), or not.
impl From<&Verdict> for Exit {
    fn from(verdict: &Verdict) -> Exit {
        match verdict {
            Verdict::Done(_) | Verdict::Started { .. } => Exit::Ok,
            Verdict::Refused(_) | Verdict::Failed(_) => Exit::NotDone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_contract() {
        // docs/reference/exit-codes.md: 0 success or nominal, 1 an error
        // (or a refused operator command, an invalid config), 2 degraded,
        // reconciling, a diff or a failed score, 3 unstable.
        let table = [
            (Exit::Ok, 0),
            (Exit::Error, 1),
            (Exit::Invalid, 1),
            (Exit::NotDone, 1),
            (Exit::Degraded, 2),
            (Exit::Reconciling, 2),
            (Exit::Differs, 2),
            (Exit::ScoreNotClean, 2),
            (Exit::Unstable, 3),
        ];
        for (exit, code) in table {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
    }

    #[test]
    fn every_summary_maps_like_its_name() {
        let by_name = |s: Summary| match s.as_str() {
            "nominal" => 0,
            "unstable" => 3,
            _ => 2,
        };
        for s in [
            Summary::Nominal,
            Summary::Degraded,
            Summary::Reconciling,
            Summary::Unstable,
        ] {
            assert_eq!(Exit::from(s).code(), by_name(s), "{s:?}");
        }
    }

    #[test]
    fn a_verdict_is_done_or_not() {
        assert_eq!(Exit::from(&Verdict::Refused("held".into())).code(), 1);
        assert_eq!(Exit::from(&Verdict::Failed("gone".into())).code(), 1);
        assert_eq!(Exit::from(&Verdict::Done("stopped".into())).code(), 0);
    }
}
