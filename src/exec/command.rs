//! Running a command to completion with a timeout, capturing the tail of its
//! stderr for the event that reports it.
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// How much of stderr an event carries.
const TAIL_BYTES: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stderr_tail: String,
    pub duration: Duration,
    /// The command could not be started at all.
    pub error: Option<String>,
}

impl CommandResult {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && self.error.is_none()
    }

    fn failed_to_start(error: String, start: Instant) -> CommandResult {
        CommandResult { exit_code: None, signal: None, timed_out: false, stderr_tail: String::new(), duration: start.elapsed(), error: Some(error) }
    }
}

pub fn run_command(argv: &[String], timeout: Duration) -> CommandResult {
    use std::os::unix::process::ExitStatusExt;
    let start = Instant::now();
    let Some((prog, args)) = argv.split_first() else {
        return CommandResult::failed_to_start("empty command".into(), start);
    };
    let mut child = match Command::new(prog)
        .args(args)
        .env_clear()
        .envs(super::clean_env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return CommandResult::failed_to_start(format!("cannot run `{prog}`: {e}"), start),
    };
    let (tx, rx) = mpsc::channel();
    if let Some(mut err) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut tail: Vec<u8> = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 2 * TAIL_BYTES {
                    tail.drain(..tail.len() - TAIL_BYTES);
                }
            }
            let _ = tx.send(tail);
        });
    }
    let group = Pid::from_raw(child.id() as i32);
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => {
                timed_out = true;
                let _ = killpg(group, Signal::SIGKILL);
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    // A grandchild that keeps stderr open must not hold us up.
    let tail = rx.recv_timeout(Duration::from_millis(200)).unwrap_or_default();
    let start_at = tail.len().saturating_sub(TAIL_BYTES);
    CommandResult {
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        timed_out,
        stderr_tail: String::from_utf8_lossy(&tail[start_at..]).trim().to_string(),
        duration: start.elapsed(),
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn success_failure_and_stderr_tail() {
        assert!(run_command(&argv(&["true"]), Duration::from_secs(5)).success());
        let r = run_command(&argv(&["sh", "-c", "echo oops >&2; exit 3"]), Duration::from_secs(5));
        assert_eq!((r.exit_code, r.stderr_tail.as_str(), r.success()), (Some(3), "oops", false));
        let r = run_command(&argv(&["no-such-binary-xyz"]), Duration::from_secs(5));
        assert!(r.error.unwrap().contains("cannot run `no-such-binary-xyz`"));
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let t = tempfile::tempdir().unwrap();
        let pidfile = t.path().join("grandchild");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let r = run_command(&argv(&["sh", "-c", &script]), Duration::from_millis(300));
        assert!(r.timed_out && r.duration < Duration::from_secs(3), "{r:?}");
        let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        let gone = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            crate::procfs::identity(pid).is_none_or(|id| !crate::procfs::is_running(id))
        });
        assert!(gone, "grandchild {pid} survived the timeout");
    }

    #[test]
    fn environment_is_clean() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("env");
        let r = run_command(&argv(&["sh", "-c", &format!("env > {}", out.display())]), Duration::from_secs(5));
        assert!(r.success());
        let env = std::fs::read_to_string(out).unwrap();
        assert!(env.contains("SUPERVISORCTL=1") && env.contains(&format!("PATH={}", super::super::env::CLEAN_PATH)));
        assert!(!env.contains("CARGO"), "inherited cargo variables: {env}");
    }
}
