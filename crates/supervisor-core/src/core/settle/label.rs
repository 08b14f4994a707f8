//! The `outcome` label and reason of one planned action, from its
//! disposition and what the executor did with it.
use super::{Disposition, Mode, Report};
use crate::events::Outcome;

/// `(outcome, reason)` of `action_executed` and the decision record.
pub(in crate::core) fn label(
    mode: Mode,
    d: &Disposition,
    o: Option<&Report>,
    interrupted: Option<&str>,
) -> (Outcome, String) {
    match (d, o) {
        (_, Some(o)) => (
            match (o.success, o.started) {
                (true, true) => Outcome::Started,
                (true, false) => Outcome::Success,
                _ => Outcome::Failed,
            },
            o.reason.clone(),
        ),
        (Disposition::Remote, _) => (Outcome::Recommended, "not the local node".into()),
        (Disposition::Skip(r), _) => (Outcome::Skipped, r.to_string()),
        (Disposition::Execute, None) if mode == Mode::Check => (Outcome::Planned, String::new()),
        (Disposition::Execute, None) if interrupted.is_some() => (
            Outcome::Skipped,
            format!("interrupted by {}", interrupted.unwrap_or_default()),
        ),
        (Disposition::Execute, None) => (Outcome::Skipped, "not executed".into()),
    }
}
