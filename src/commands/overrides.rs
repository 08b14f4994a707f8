//! Operator overrides from the command line: `pin`/`unpin` (keep a service
//! whatever the YAML says), `hold`/`release` (no action on it at all), and
//! `reset` (close its restart circuit; `--tuning`: forget adaptive
//! tuning's values). Each takes the state lock, so it
//! never races a run.
use crate::exit::Exit;
use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::checkpoint::key;
use crate::desired::Fleet;
use crate::store::{self, overrides::Hold};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Pin,
    Unpin,
    Hold,
    Release,
    Reset,
    /// `reset --tuning`: forget the tuned values and their evidence.
    ResetTuning,
}

impl Op {
    /// `reset`, or with `--tuning` `reset --tuning`.
    pub fn reset(tuning: bool) -> Op {
        if tuning {
            Op::ResetTuning
        } else {
            Op::Reset
        }
    }
}

/// `now`: the clock (`--now`, else the machine's): when a hold began,
/// what interrupted runs' intents are counted at.
pub fn run(
    op: Op,
    fleet: &Fleet,
    dir: &Path,
    node: &str,
    service: &str,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<Exit> {
    // Taking away needs something to take: a state directory that is not
    // there is a mistyped one, not a first use (decisions.md).
    if matches!(op, Op::Reset | Op::ResetTuning | Op::Release)
        && std::fs::symlink_metadata(dir).is_err()
    {
        anyhow::bail!(
            "state directory `{}` does not exist: nothing to {}\n\nhint: check --state-dir \
             (or SUPERVISORCTL_STATE_DIR); the first reconcile, pin or hold creates it",
            dir.display(),
            if op == Op::Release {
                "release"
            } else {
                "reset"
            }
        );
    }
    // Its errors name the folder already.
    store::statedir::prepare(dir)?;
    let _lock = store::lock::acquire(dir, Some(std::time::Duration::from_secs(10)))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let k = key(node, service);
    if op == Op::ResetTuning {
        return reset_tuning(dir, &k);
    }
    if op == Op::Reset {
        let path = crate::store::Layout::of(dir).checkpoint();
        let Some(mut cp) = crate::checkpoint::read_for_command(dir)? else {
            let text = format!("{k}: no checkpoint yet; nothing to reset");
            super::stdout::message(
                &text,
                serde_json::json!({"service": k, "op": "reset", "changed": false}),
            )?;
            return Ok(Exit::Ok);
        };
        // Count what interrupted runs did (every service's), so that
        // clearing their journal below loses no attempt but this one's.
        let journal = store::Layout::of(dir).intents();
        let intents = store::intents::load(&journal)
            .map_err(|e| anyhow::anyhow!("{e}\n\nhint: {}", store::intents::UNREADABLE_HINT))?;
        crate::core::recover::recover(&mut cp, &intents, now);
        let st = cp.services.entry(k.clone()).or_default();
        let before = st.restart_attempts;
        st.restart_attempts = 0;
        st.last_restart_at = None;
        store::checkpoint::save(&path, &cp)?;
        store::intents::clear(&journal)?;
        let forgotten = crate::fmt::count(before.into(), "attempt", "attempts");
        let text = format!("{k}: restart circuit closed ({forgotten} forgotten)");
        super::stdout::message(
            &text,
            serde_json::json!({"service": k, "op": "reset", "attempts_forgotten": before}),
        )?;
        return Ok(Exit::Ok);
    }
    let path = crate::store::Layout::of(dir).overrides();
    // The message names the file already.
    let mut o = store::overrides::load_overrides(&path)
        .map_err(|e| anyhow::anyhow!("{e}\n\nhint: {}", store::overrides::UNREADABLE_HINT))?;
    let yaml_pinned = fleet.nodes[node].services[service].pinned;
    let msg = match op {
        Op::Pin => {
            o.pins.insert(k.clone(), true);
            format!("{k}: pinned")
        }
        Op::Unpin => {
            if yaml_pinned {
                o.pins.insert(k.clone(), false);
                format!("{k}: unpinned (overrides `pinned: true` in its services.yaml)")
            } else {
                o.pins.remove(&k);
                format!("{k}: unpinned")
            }
        }
        // A second `hold` keeps when the hold began; a new `--reason`
        // replaces the old one, none keeps it.
        Op::Hold => {
            if let Some(held) = o.holds.get_mut(&k) {
                if reason.is_some() {
                    held.reason = reason;
                }
                format!(
                    "{k}: already held since {}{}; no action will be executed on it until `release`",
                    crate::fmt::ts_secs(held.since),
                    held.reason
                        .as_deref()
                        .map(|r| format!(" ({})", crate::text::escape_control(r)))
                        .unwrap_or_default()
                )
            } else {
                o.holds.insert(k.clone(), Hold { since: now, reason });
                format!("{k}: held; no action will be executed on it until `release`")
            }
        }
        Op::Release => match o.holds.remove(&k) {
            Some(_) => format!("{k}: released"),
            None => format!("{k}: was not held"),
        },
        Op::Reset | Op::ResetTuning => unreachable!("handled above"),
    };
    store::overrides::save_overrides(&path, &o)?;
    let op_name = format!("{op:?}").to_lowercase();
    super::stdout::message(&msg, serde_json::json!({"service": k, "op": op_name}))?;
    Ok(Exit::Ok)
}

/// `reset SERVICE --tuning`: the checkpoint without the service's tuned
/// values and evidence (under the state lock the caller holds; written
/// atomically). The configured values apply from the next run, which
/// reports each one that went back as `tuning_changed` (`reset by an
/// operator`), from the values kept in `tuning.reset` until then.
fn reset_tuning(dir: &Path, k: &str) -> Result<Exit> {
    use crate::checkpoint::tuning::Tuning;
    use crate::core::tuning::Setting;
    let cp = crate::checkpoint::read_for_command(dir)?;
    let mut cp = cp.unwrap_or_default();
    let mut tuning = cp
        .services
        .get_mut(k)
        .map(|st| std::mem::take(&mut st.tuning))
        .unwrap_or_default();
    // What the next run reports as gone back: these values, or those of an
    // earlier reset it has not reported yet.
    let earlier = tuning.reset.take();
    let values = Tuning {
        evidence: crate::checkpoint::tuning::Evidence::default(),
        ..tuning.clone()
    };
    let note = if values.is_empty() {
        earlier
    } else {
        Some(Box::new(values))
    };
    if let Some(st) = cp.services.get_mut(k) {
        st.tuning.reset = note;
    }
    let forgotten: Vec<String> = Setting::ALL
        .iter()
        .filter_map(|s| {
            s.slot(&tuning)
                .map(|t| format!("{} {}", s.as_str(), s.show(t.value)))
        })
        .collect();
    let changed = !tuning.is_empty();
    if changed {
        store::checkpoint::save(&store::Layout::of(dir).checkpoint(), &cp)?;
    }
    let text = match (changed, forgotten.is_empty()) {
        (false, _) => format!("{k}: nothing tuned; nothing to forget"),
        (true, true) => format!("{k}: tuning evidence forgotten"),
        (true, false) => format!(
            "{k}: tuning forgotten ({}); the configured values apply",
            forgotten.join(", ")
        ),
    };
    super::stdout::message(
        &text,
        serde_json::json!({"service": k, "op": "reset_tuning", "changed": changed, "forgotten": forgotten}),
    )?;
    Ok(Exit::Ok)
}
