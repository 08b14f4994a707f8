//! Run a command to completion within a timeout: restart and stop commands,
//! health probe commands. The command runs in its own process group so that
//! at the timeout everything it started with it is killed, and it is always
//! reaped; its stderr tail is kept to explain a failure.
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::env::{cannot_run, clean_command};

/// How much of the end of stderr is kept.
const STDERR_TAIL_BYTES: usize = 2048;
/// How long we wait for stderr to close after the command has exited.
const STDERR_GRACE: Duration = Duration::from_millis(250);
/// The longest pause between two checks of whether the command has exited.
const MAX_POLL: Duration = Duration::from_millis(20);

/// What happened to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    /// The exit code, when the command exited on its own.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did (9 after a timeout).
    pub signal: Option<i32>,
    /// True when the timeout ran out and its process group was killed.
    pub timed_out: bool,
    /// The last 2 KiB of its stderr, lossy UTF-8, trimmed.
    pub stderr_tail: String,
    /// From just before the start to the reaping.
    pub duration: Duration,
    /// Why it could not be started or waited for.
    pub error: Option<String>,
}

impl CommandResult {
    /// True when the command started, exited with code 0 and did not time out.
    pub fn success(&self) -> bool {
        self.error.is_none() && !self.timed_out && self.exit_code == Some(0)
    }

    fn failed_to_start(error: String, started: Instant) -> Self {
        CommandResult {
            exit_code: None,
            signal: None,
            timed_out: false,
            stderr_tail: String::new(),
            duration: started.elapsed(),
            error: Some(error),
        }
    }
}

/// Runs `argv` (no shell; `argv[0]` looked up on the clean `PATH`) with the
/// clean environment, stdin from `/dev/null`, stdout discarded and stderr
/// captured, in a new process group. At `timeout` the whole group gets
/// SIGKILL. The child is always reaped before this returns.
pub fn run_command(argv: &[String], timeout: Duration) -> CommandResult {
    let started = Instant::now();
    let Some(program) = argv.first() else {
        return CommandResult::failed_to_start("cannot run an empty command".into(), started);
    };
    let mut cmd = clean_command(argv);
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(err) => return CommandResult::failed_to_start(cannot_run(program, &err), started),
    };
    let tail = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = mpsc::channel();
    if let Some(stderr) = child.stderr.take() {
        let tail = Arc::clone(&tail);
        // If no thread can be started, the pipe's read end is dropped with
        // the closure: the command's writes fail instead of blocking, and
        // the tail stays empty.
        let _ = thread::Builder::new()
            .name("stderr-tail".into())
            .spawn(move || {
                read_tail(stderr, &tail);
                let _ = done_tx.send(());
            });
    }

    let (status, timed_out) = wait_until(&mut child, started + timeout);
    let _ = done_rx.recv_timeout(STDERR_GRACE);
    let stderr_tail = tail_text(&tail.lock().unwrap_or_else(|e| e.into_inner()));
    let duration = started.elapsed();
    match status {
        Ok(status) => CommandResult {
            exit_code: if timed_out { None } else { status.code() },
            signal: status.signal(),
            timed_out,
            stderr_tail,
            duration,
            error: None,
        },
        Err(err) => CommandResult {
            exit_code: None,
            signal: None,
            timed_out,
            stderr_tail,
            duration,
            error: Some(format!("cannot wait for `{program}`: {err}")),
        },
    }
}

/// Waits for `child` until `deadline`; past it, kills its process group and
/// reaps it. Returns the exit status and whether the deadline ran out.
fn wait_until(child: &mut Child, deadline: Instant) -> (std::io::Result<ExitStatus>, bool) {
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (Ok(status), false),
            Ok(None) => {}
            Err(err) => {
                kill_group(child);
                let _ = child.wait();
                return (Err(err), false);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            kill_group(child);
            return (child.wait(), true);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// SIGKILL to the child's process group. The child is not reaped yet, so
/// its pid (the group's id) cannot have been reused.
fn kill_group(child: &Child) {
    if let Ok(pgid) = i32::try_from(child.id()) {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

/// Reads `from` to its end, keeping only the last bytes in `tail`.
fn read_tail(mut from: impl Read, tail: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let mut kept = tail.lock().unwrap_or_else(|e| e.into_inner());
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * STDERR_TAIL_BYTES {
                    let cut = kept.len() - STDERR_TAIL_BYTES;
                    kept.drain(..cut);
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// The last 2 KiB as text: a character cut in half at the start is
/// dropped rather than shown as a replacement character.
fn tail_text(bytes: &[u8]) -> String {
    let mut tail = &bytes[bytes.len().saturating_sub(STDERR_TAIL_BYTES)..];
    if tail.len() < bytes.len() {
        let skip = tail
            .iter()
            .take(3)
            .take_while(|b| (**b & 0xC0) == 0x80)
            .count();
        tail = &tail[skip..];
    }
    String::from_utf8_lossy(tail).trim().to_string()
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
