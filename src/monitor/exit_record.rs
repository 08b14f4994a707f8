//! `<state-dir>/exits/<service>.json`: how a spawned service's process
//! ended, written by its monitor when it exits (atomically, mode 0644) and
//! read by later runs to say why a service is down.
//!
//! ```json
//! {"pid":4242,"started_at":"2026-12-07T06:50:01.120Z","exited_at":"2026-12-07T06:50:05.310Z","status":3,"core_dumped":false}
//! {"pid":4243,"started_at":"…","exited_at":"…","signal":"SIGKILL","signal_number":9,"core_dumped":false}
//! ```
//!
//! Exactly one of `status` (the exit status) and `signal` (the name of the
//! signal that killed it, with `signal_number`) is present.
use std::io;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most bytes of an exit record read back (a record is about 200).
const MAX_RECORD: u64 = 4096;

/// How one run of a spawned service ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub exited_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_number: Option<i32>,
    #[serde(default)]
    pub core_dumped: bool,
}

/// How a process ended, from its wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Status(i32),
    Signal {
        number: i32,
        core_dumped: bool,
    },
    /// Neither known (a systemd unit already collected).
    Unknown,
}

impl Ending {
    /// From a wait status (`None` when it is neither an exit nor a signal).
    pub fn of(status: std::process::ExitStatus) -> Option<Ending> {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Some(Ending::Status(code)),
            (None, Some(number)) => Some(Ending::Signal {
                number,
                core_dumped: status.core_dumped(),
            }),
            _ => None,
        }
    }

    /// `exited with status 3`, `killed by SIGSEGV (core dumped)`, `exited`.
    pub fn describe(self) -> String {
        match self {
            Ending::Status(code) => format!("exited with status {code}"),
            Ending::Signal {
                number,
                core_dumped,
            } => {
                let core = if core_dumped { " (core dumped)" } else { "" };
                format!("killed by {}{core}", signal_name(number))
            }
            Ending::Unknown => "exited".to_string(),
        }
    }
}

/// `SIGKILL` for 9; `signal 42` for a number without a name.
pub fn signal_name(number: i32) -> String {
    nix::sys::signal::Signal::try_from(number)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {number}"))
}

impl ExitRecord {
    pub fn new(
        pid: u32,
        started_at: DateTime<Utc>,
        exited_at: DateTime<Utc>,
        ending: Ending,
    ) -> ExitRecord {
        let (status, signal, signal_number, core_dumped) = match ending {
            Ending::Status(code) => (Some(code), None, None, false),
            Ending::Signal {
                number,
                core_dumped,
            } => (None, Some(signal_name(number)), Some(number), core_dumped),
            Ending::Unknown => (None, None, None, false),
        };
        ExitRecord {
            pid,
            started_at,
            exited_at,
            status,
            signal,
            signal_number,
            core_dumped,
        }
    }

    /// How long the process ran.
    pub fn ran_for(&self) -> Duration {
        (self.exited_at - self.started_at)
            .to_std()
            .unwrap_or_default()
    }

    /// What happened, in the words of events and `status`: `exited with
    /// status 3 after 4s`, `killed by SIGKILL after 2m`, `killed by
    /// SIGSEGV (core dumped) after 1s`.
    pub fn describe(&self) -> String {
        format!(
            "{} after {}",
            self.ending().describe(),
            crate::fmt::span(self.ran_for())
        )
    }

    /// How it ended, back from the record's fields.
    pub fn ending(&self) -> Ending {
        match (self.signal_number, self.status) {
            (Some(number), _) => Ending::Signal {
                number,
                core_dumped: self.core_dumped,
            },
            (None, Some(code)) => Ending::Status(code),
            (None, None) => Ending::Unknown,
        }
    }
}

/// Writes `record` atomically (mode 0644: anyone may read how it ended).
pub fn write(path: &Path, record: &ExitRecord) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(record).map_err(io::Error::other)?;
    bytes.push(b'\n');
    crate::store::atomic::write_atomic_mode(path, &bytes, 0o644)
}

/// The record at `path`; `None` when there is none or it cannot be read
/// (a torn or foreign file is no evidence of anything).
pub fn read(path: &Path) -> Option<ExitRecord> {
    let bytes = crate::store::read_limited(path, MAX_RECORD).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn an_exit_status_reads_like_supervisord() {
        let r = ExitRecord::new(
            7,
            at("2026-12-07T06:50:01Z"),
            at("2026-12-07T06:50:05.2Z"),
            Ending::Status(3),
        );
        assert_eq!(r.describe(), "exited with status 3 after 4s");
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"status\":3"), "{json}");
        assert!(!json.contains("signal"), "{json}");
        assert_eq!(serde_json::from_str::<ExitRecord>(&json).unwrap(), r);
    }

    #[test]
    fn a_signal_is_named_and_a_core_dump_said() {
        let r = ExitRecord::new(
            7,
            at("2026-12-07T06:50:01Z"),
            at("2026-12-07T06:52:06Z"),
            Ending::Signal {
                number: 11,
                core_dumped: true,
            },
        );
        assert_eq!(r.describe(), "killed by SIGSEGV (core dumped) after 2m5s");
        assert_eq!(r.signal.as_deref(), Some("SIGSEGV"));
        assert_eq!(r.signal_number, Some(11));
        let k = ExitRecord::new(
            7,
            at("2026-12-07T06:50:01Z"),
            at("2026-12-07T06:50:01.25Z"),
            Ending::Signal {
                number: 9,
                core_dumped: false,
            },
        );
        assert_eq!(k.describe(), "killed by SIGKILL after 250ms");
    }

    #[test]
    fn spans_keep_two_units() {
        assert_eq!(
            crate::fmt::span(Duration::from_secs(3 * 3600 + 600 + 5)),
            "3h10m"
        );
        assert_eq!(crate::fmt::span(Duration::from_hours(2 * 24)), "2d");
        assert_eq!(crate::fmt::span(Duration::from_mins(1)), "1m");
    }

    #[test]
    fn a_torn_record_is_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let p = crate::store::Layout::of(dir.path()).exits("web");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"{\"pid\":7,\"started_").unwrap();
        assert_eq!(read(&p), None);
        let r = ExitRecord::new(
            7,
            at("2026-12-07T06:50:01Z"),
            at("2026-12-07T06:50:05Z"),
            Ending::Status(0),
        );
        write(&p, &r).unwrap();
        assert_eq!(read(&p), Some(r));
    }
}
