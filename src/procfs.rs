//! Process identity from `/proc`: a pid alone can be reused, (pid, start
//! time in clock ticks since boot) cannot within one boot.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessIdentity {
    pub pid: u32,
    /// Field 22 of `/proc/PID/stat`: start time in clock ticks after boot.
    pub start_ticks: u64,
}

/// Reads the identity of a live process, or `None` if it is gone.
pub fn identity(pid: u32) -> Option<ProcessIdentity> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_ticks(&stat).map(|start_ticks| ProcessIdentity { pid, start_ticks })
}

/// True when `id` still names the same live process.
pub fn is_same_process(id: ProcessIdentity) -> bool {
    identity(id.pid) == Some(id)
}

/// True when `id` names the same process and it has not exited (a zombie
/// that its parent has not reaped yet counts as exited).
pub fn is_running(id: ProcessIdentity) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", id.pid)) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    parse_start_ticks(&stat) == Some(id.start_ticks) && !matches!(state, Some("Z" | "X" | "x"))
}

/// Field 22 of a stat line; the comm field (2) may hold spaces and parens,
/// so fields are counted after its closing parenthesis.
fn parse_start_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ")" come fields 3.. ; field 22 is the 20th of them.
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_start_ticks_with_odd_comm() {
        let line =
            "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(parse_start_ticks(line), Some(98765));
    }

    #[test]
    fn own_identity_is_stable() {
        let me = std::process::id();
        let a = identity(me).expect("own process");
        assert!(is_same_process(a));
        assert!(!is_same_process(ProcessIdentity {
            pid: me,
            start_ticks: a.start_ticks + 1
        }));
    }
}
