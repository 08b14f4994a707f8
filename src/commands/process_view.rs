//! How `status` shows a `spawn:` service's process, the way supervisord's
//! `supervisorctl status` does: a state word, the pid and uptime while it
//! runs, how it last ended (from its monitor's `exits/<service>.json`) and
//! when, and how often this tool started it in the hour before the run.
//!
//! States: `RUNNING` (alive, its start verified), `STARTING` (alive, its
//! start not verified yet), `STOPPED` (down, stopped by an operator and
//! not started since), `BACKOFF` (down, the next restart waits),
//! `FATAL` (down, the circuit is open), `EXITED` (down, its exit
//! recorded), `STOPPED` also when nothing is recorded (never started
//! here).
//! Process facts (uptime, the exit's time) are read live, against the wall
//! clock; the checkpoint's facts are "as of" the run, like the rest of
//! `status`.
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::checkpoint::ServiceState;
use crate::monitor::exit_record::{self, ExitRecord};
use crate::procfs::{self, ProcessIdentity};
use crate::run::format_ts;

/// What `status` says of a spawned service's process.
pub struct ProcessView {
    pub state: &'static str,
    pub pid: Option<u32>,
    pub uptime: Option<Duration>,
    pub last_exit: Option<ExitRecord>,
    pub restarts_last_hour: usize,
}

/// The circumstances the state word depends on, from the checkpoint.
pub struct Circumstances {
    /// `stop` was asked and no `start` since.
    pub stopped_by_operator: bool,
    pub circuit_open: bool,
    pub in_backoff: bool,
    /// The hour counted back from (the run the checkpoint describes).
    pub as_of: Option<DateTime<Utc>>,
}

impl ProcessView {
    /// Reads the pid file, `/proc` and the exit record of `service` under
    /// `state_dir`.
    pub fn read(
        state_dir: &Path,
        service: &str,
        st: &ServiceState,
        c: &Circumstances,
    ) -> ProcessView {
        let alive = live_pid(state_dir, service);
        let last_exit = exit_record::read(&crate::store::Layout::of(state_dir).exits(service));
        let state = match (alive, &last_exit) {
            (Some(_), _) if st.pending.is_some() => "STARTING",
            (Some(_), _) => "RUNNING",
            (None, _) if c.stopped_by_operator => "STOPPED",
            (None, _) if c.circuit_open => "FATAL",
            (None, _) if c.in_backoff => "BACKOFF",
            (None, Some(_)) => "EXITED",
            (None, None) => "STOPPED",
        };
        let uptime = alive
            .and_then(procfs::started_at_unix)
            .map(|start| Duration::from_secs_f64((wall_secs() - start).max(0.0)));
        let restarts_last_hour = match c.as_of {
            Some(at) => st
                .recent_starts
                .iter()
                .filter(|t| **t <= at && at - **t < chrono::Duration::hours(1))
                .count(),
            None => 0,
        };
        ProcessView {
            state,
            pid: alive.map(|id| id.pid),
            uptime,
            last_exit,
            restarts_last_hour,
        }
    }

    /// `RUNNING   pid 4242, uptime 0:03:12; last exit: killed by SIGKILL
    /// after 2h (5m ago); 2 restarts in the last hour`.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if let (Some(pid), uptime) = (self.pid, self.uptime) {
            let up = uptime
                .map(|u| format!(", uptime {}", clock(u)))
                .unwrap_or_default();
            parts.push(format!("pid {pid}{up}"));
        }
        if let Some(e) = &self.last_exit {
            // Live, as the monitor wrote `exited_at` (`crate::clock`).
            let ago = crate::clock::wall() - e.exited_at;
            let when = crate::fmt::span(ago.to_std().unwrap_or_default());
            let label = if self.pid.is_some() {
                "last exit: "
            } else {
                ""
            };
            parts.push(format!("{label}{} ({when} ago)", e.describe()));
        }
        if self.restarts_last_hour > 0 {
            let n = self.restarts_last_hour as u64;
            parts.push(format!(
                "{} in the last hour",
                crate::fmt::count(n, "start", "starts")
            ));
        }
        format!("{:<9} {}", self.state, parts.join("; "))
            .trim_end()
            .to_string()
    }

    pub fn json(&self) -> Value {
        json!({
            "state": self.state,
            "pid": self.pid,
            "uptime_seconds": self.uptime.map(|u| u.as_secs()),
            "last_exit": self.last_exit.as_ref().map(|e| json!({
                "pid": e.pid,
                "started_at": format_ts(e.started_at),
                "exited_at": format_ts(e.exited_at),
                "status": e.status,
                "signal": e.signal,
                "core_dumped": e.core_dumped,
                "description": e.describe(),
            })),
            "starts_last_hour": self.restarts_last_hour,
        })
    }
}

/// The pid file's process, when it lives.
fn live_pid(state_dir: &Path, service: &str) -> Option<ProcessIdentity> {
    let path = crate::store::Layout::of(state_dir).pid(service);
    let bytes = crate::store::read_limited(&path, 64).ok()?;
    let pid: u32 = String::from_utf8_lossy(&bytes).trim().parse().ok()?;
    procfs::identity(pid).filter(|id| procfs::is_running(*id))
}

/// Live, as the kernel's process start times are (`crate::clock`).
fn wall_secs() -> f64 {
    crate::num::signed_as_f64(crate::clock::wall().timestamp_micros()) / 1e6
}

/// `0:03:12`, `27:04:00` (hours:minutes:seconds, as supervisord shows).
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_reads_like_supervisord() {
        assert_eq!(clock(Duration::from_secs(192)), "0:03:12");
        assert_eq!(
            clock(Duration::from_hours(27) + Duration::from_mins(4)),
            "27:04:00"
        );
    }

    #[test]
    fn a_dead_service_with_a_record_is_exited_and_says_how() {
        let dir = tempfile::tempdir().unwrap();
        let r = ExitRecord::new(
            4242,
            "2026-12-07T06:50:01Z".parse().unwrap(),
            "2026-12-07T06:50:05Z".parse().unwrap(),
            crate::monitor::Ending::Status(3),
        );
        let p = crate::store::Layout::of(dir.path()).exits("web");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        exit_record::write(&p, &r).unwrap();
        let mut st = ServiceState::default();
        let at: DateTime<Utc> = "2026-12-07T07:00:00Z".parse().unwrap();
        st.recent_starts = vec![
            at - chrono::Duration::minutes(90),
            at - chrono::Duration::minutes(5),
            at,
        ];
        let c = Circumstances {
            stopped_by_operator: false,
            circuit_open: false,
            in_backoff: false,
            as_of: Some(at),
        };
        let v = ProcessView::read(dir.path(), "web", &st, &c);
        assert_eq!(v.state, "EXITED");
        let line = v.line();
        assert!(
            line.starts_with("EXITED    exited with status 3 after 4s ("),
            "{line}"
        );
        assert!(line.ends_with(" ago); 2 starts in the last hour"), "{line}");
        let fatal = ProcessView::read(
            dir.path(),
            "web",
            &st,
            &Circumstances {
                circuit_open: true,
                ..c
            },
        );
        assert_eq!(fatal.state, "FATAL");
    }
}
