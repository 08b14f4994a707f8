//! Running a child process with a deadline: command health probes and the
//! `nvidia-smi` fallback. The child gets its own process group so that, at
//! the deadline, it is killed together with anything it started (a shell's
//! `sleep`), and it is always reaped.
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Most stdout kept from a child: enough for any `nvidia-smi` query.
const MAX_STDOUT: u64 = 4 << 20;

#[derive(Debug)]
pub(crate) enum Ran {
    /// Exited within the deadline; stdout if it was captured, else empty.
    Exited(ExitStatus, Vec<u8>),
    /// Killed at the deadline (or its output never closed).
    TimedOut,
    SpawnFailed(std::io::Error),
}

/// Runs `cmd` with stdin and stderr null and stdout null or captured,
/// waiting at most `timeout`.
pub(crate) fn run(mut cmd: Command, timeout: Duration, capture_stdout: bool) -> Ran {
    let deadline = Instant::now() + timeout;
    cmd.stdin(Stdio::null())
        .stderr(Stdio::null())
        .stdout(if capture_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Ran::SpawnFailed(e),
    };
    // Read stdout beside the wait so a full pipe cannot stall the child.
    let output = child.stdout.take().map(|out| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let ok = out.take(MAX_STDOUT).read_to_end(&mut buf).is_ok();
            let _ = tx.send(ok.then_some(buf));
        });
        rx
    });

    let Some(status) = wait_until(&mut child, deadline) else {
        kill_group(&mut child);
        return Ran::TimedOut;
    };
    let stdout = match output {
        None => Vec::new(),
        Some(rx) => {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.max(Duration::from_millis(100))) {
                Ok(Some(buf)) => buf,
                // A descendant kept the pipe open past the deadline.
                Ok(None) | Err(_) => return Ran::TimedOut,
            }
        }
    };
    Ran::Exited(status, stdout)
}

/// Polls the child until it exits or the deadline passes. Polling starts at
/// 1 ms so a fast command costs little, and backs off to 20 ms.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let mut step = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return None,
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(step.min(deadline - now));
        step = (step * 2).min(Duration::from_millis(20));
    }
}

fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // The group id is the child's pid (process_group(0)).
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn captures_stdout_of_a_quick_child() {
        match run(sh("echo hello"), Duration::from_secs(5), true) {
            Ran::Exited(status, out) => {
                assert!(status.success());
                assert_eq!(out, b"hello\n");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn kills_the_whole_group_at_the_deadline() {
        let started = Instant::now();
        // The shell's `sleep` holds stdout; killing only the shell would
        // leave the reader waiting for 30 s.
        let ran = run(sh("sleep 30; echo late"), Duration::from_millis(200), true);
        assert!(matches!(ran, Ran::TimedOut), "{ran:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn missing_program_is_a_spawn_failure() {
        let ran = run(
            Command::new("/nonexistent/definitely-not-here"),
            Duration::from_secs(1),
            false,
        );
        assert!(matches!(ran, Ran::SpawnFailed(_)));
    }
}
