//! The `outcome` label and reason of one planned action, from its
//! disposition and what the executor did with it.
use super::{Disposition, Mode, Outcome};

/// `(outcome, reason)` of `action_executed` and the decision record.
pub(in crate::core) fn label(
    mode: Mode,
    d: &Disposition,
    o: Option<&Outcome>,
    interrupted: Option<&str>,
) -> (&'static str, String) {
    match (d, o) {
        (_, Some(o)) => (
            match (o.success, o.started) {
                (true, true) => "started",
                (true, false) => "success",
                _ => "failed",
            },
            o.reason.clone(),
        ),
        (Disposition::Remote, _) => ("recommended", "not the local node".into()),
        (Disposition::Skip(r), _) => ("skipped", r.to_string()),
        (Disposition::Execute, None) if mode == Mode::Check => ("planned", String::new()),
        (Disposition::Execute, None) if interrupted.is_some() => (
            "skipped",
            format!("interrupted by {}", interrupted.unwrap_or_default()),
        ),
        (Disposition::Execute, None) => ("skipped", "not executed".into()),
    }
}
