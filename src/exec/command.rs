//! The one runner of bounded children: restart and stop commands, health
//! probe commands and `nvidia-smi` queries. Each is built by
//! `clean_command` and run to completion within a timeout.
//!
//! # Guarantees
//!
//! - **One builder.** Clean environment, working directory `/`, stdin from
//!   `/dev/null`, no descriptor but 0, 1 and 2 (see [`super::env`]).
//! - **Bounded.** The command runs in a new process group; at the timeout
//!   the whole group gets SIGKILL (and the command itself too, should it
//!   have left its group), and the command is reaped. [`run_bounded`]
//!   returns within the timeout plus a short grace for the output to close
//!   (100 ms for a captured stdout, 250 ms for a stderr tail), whatever the
//!   command and its descendants do.
//! - **Output as asked** ([`Capture`]): stdout is discarded or its first
//!   bytes kept up to a limit; stderr is discarded or its last 2 KiB kept.
//!   Pipes are read beside the wait, so a full pipe never stalls the
//!   command; a captured stdout past its limit is closed on the command.
//! - **Failures are data.** A command that cannot start, exits non-zero,
//!   is killed or times out is described in [`CommandResult`]; nothing
//!   here panics on a failing process.
//!
//! # Assumptions
//!
//! - `argv[0]` names a program on the clean `PATH`, or is a path.
//!
//! # Caveats
//!
//! - A descendant that leaves the process group escapes the SIGKILL. If it
//!   holds stderr, the tail is cut 250 ms after the command exits; if it
//!   holds a captured stdout past the deadline, the answer is incomplete
//!   and the result is a timeout. Its reader thread lives until it closes
//!   the pipe.
use std::ffi::OsStr;
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
/// The least time a captured stdout gets to close after the command exited.
const STDOUT_GRACE: Duration = Duration::from_millis(100);
/// The longest pause between two checks of whether the command has exited.
const MAX_POLL: Duration = Duration::from_millis(20);

/// Which output of a command is kept; what is not kept goes to `/dev/null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capture {
    /// Keep up to this many bytes from the start of stdout.
    pub stdout_limit: Option<usize>,
    /// Keep the last 2 KiB of stderr.
    pub stderr_tail: bool,
}

impl Capture {
    /// Restart and stop commands: stderr explains a failure.
    pub const STDERR_TAIL: Capture = Capture {
        stdout_limit: None,
        stderr_tail: true,
    };
    /// Health commands: only the exit status counts.
    pub const NOTHING: Capture = Capture {
        stdout_limit: None,
        stderr_tail: false,
    };

    /// Queries whose answer is their stdout (`nvidia-smi`).
    pub const fn stdout(limit: usize) -> Capture {
        Capture {
            stdout_limit: Some(limit),
            stderr_tail: false,
        }
    }
}

/// What happened to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    /// The exit code, when the command exited on its own.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did (9 after a timeout).
    pub signal: Option<i32>,
    /// True when the timeout ran out and its process group was killed, or
    /// when a captured stdout was still open at the deadline.
    pub timed_out: bool,
    /// The last 2 KiB of its stderr, lossy UTF-8, trimmed (empty unless
    /// asked for).
    pub stderr_tail: String,
    /// The start of its stdout, up to the limit (empty unless asked for).
    pub stdout: Vec<u8>,
    /// From just before the start to the reaping.
    pub duration: Duration,
    /// Why it could not be started, waited for or read.
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
            stdout: Vec::new(),
            duration: started.elapsed(),
            error: Some(error),
        }
    }
}

/// Runs `argv` with stdout discarded and the stderr tail kept: restart and
/// stop commands. See [`run_bounded`].
pub fn run_command(argv: &[String], timeout: Duration) -> CommandResult {
    run_bounded(argv, timeout, Capture::STDERR_TAIL)
}

/// Runs `argv` (no shell; `argv[0]` looked up on the clean `PATH`) built by
/// `clean_command`, in a new process group, keeping the output `capture`
/// asks for. At `timeout` the whole group gets SIGKILL. The child is always
/// reaped before this returns.
pub fn run_bounded<S: AsRef<OsStr>>(
    argv: &[S],
    timeout: Duration,
    capture: Capture,
) -> CommandResult {
    let started = Instant::now();
    let deadline = started + timeout;
    let Some(program) = argv.first() else {
        return CommandResult::failed_to_start("cannot run an empty command".into(), started);
    };
    let program = program.as_ref().to_string_lossy();
    let piped_if = |yes: bool| if yes { Stdio::piped() } else { Stdio::null() };
    let mut cmd = clean_command(argv);
    cmd.stdout(piped_if(capture.stdout_limit.is_some()))
        .stderr(piped_if(capture.stderr_tail))
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(err) => return CommandResult::failed_to_start(cannot_run(&program, &err), started),
    };
    let stdout = (child.stdout.take())
        .zip(capture.stdout_limit)
        .map(|(out, limit)| Reader::start(out, Keep::Head(limit)));
    let stderr = (child.stderr.take()).map(|err| Reader::start(err, Keep::Tail(STDERR_TAIL_BYTES)));

    let (status, mut timed_out) = wait_until(&mut child, deadline);
    let mut error = None;
    let stdout = match stdout.map(|r| {
        let left = deadline.saturating_duration_since(Instant::now());
        r.finish(left.max(STDOUT_GRACE))
    }) {
        None => Vec::new(),
        Some(Ok(bytes)) => bytes,
        // A descendant kept stdout open past the deadline: the answer is
        // incomplete.
        Some(Err(Unfinished::StillOpen(_))) => {
            timed_out = true;
            Vec::new()
        }
        Some(Err(Unfinished::NoReader)) => {
            error = Some(format!("cannot read the output of `{program}`"));
            Vec::new()
        }
    };
    let stderr_tail = match stderr.map(|r| r.finish(STDERR_GRACE)) {
        Some(Ok(bytes) | Err(Unfinished::StillOpen(bytes))) => tail_text(&bytes),
        None | Some(Err(Unfinished::NoReader)) => String::new(),
    };
    let duration = started.elapsed();
    match status {
        Ok(status) => CommandResult {
            exit_code: if timed_out { None } else { status.code() },
            signal: status.signal(),
            timed_out,
            stderr_tail,
            stdout,
            duration,
            error,
        },
        Err(err) => CommandResult {
            exit_code: None,
            signal: None,
            timed_out,
            stderr_tail,
            stdout,
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
                kill(child);
                let _ = child.wait();
                return (Err(err), false);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            kill(child);
            return (child.wait(), true);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// SIGKILL to the child's process group, and to the child itself in case
/// it left the group (so that the wait that follows cannot hang). The
/// child is not reaped yet, so its pid (the group's id) cannot have been
/// reused.
fn kill(child: &mut Child) {
    if let Ok(pgid) = i32::try_from(child.id()) {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
    let _ = child.kill();
}

/// Which bytes of a stream are kept.
#[derive(Debug, Clone, Copy)]
enum Keep {
    /// The first `n`; the stream is closed once they are read.
    Head(usize),
    /// The last `n` (up to twice as many are buffered).
    Tail(usize),
}

/// A stream read to its end by a thread of its own.
struct Reader {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

/// Why a [`Reader`] has no complete answer.
enum Unfinished {
    /// The stream was still open at the end of the grace: what came so far.
    StillOpen(Vec<u8>),
    /// No thread could be started to read it.
    NoReader,
}

impl Reader {
    fn start(from: impl Read + Send + 'static, keep: Keep) -> Reader {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (done_tx, done) = mpsc::channel();
        let shared = Arc::clone(&bytes);
        // If no thread can be started, the pipe's read end is dropped with
        // the closure: the command's writes fail instead of blocking.
        let _ = thread::Builder::new()
            .name("command-output".into())
            .spawn(move || {
                read_into(from, &shared, keep);
                let _ = done_tx.send(());
            });
        Reader { bytes, done }
    }

    /// Waits up to `grace` for the end of the stream.
    fn finish(self, grace: Duration) -> Result<Vec<u8>, Unfinished> {
        let outcome = self.done.recv_timeout(grace);
        let bytes = std::mem::take(
            &mut *self
                .bytes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        match outcome {
            Ok(()) => Ok(bytes),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Unfinished::StillOpen(bytes)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Unfinished::NoReader),
        }
    }
}

/// Reads `from` to its end (or, for a head, its limit) into `kept`.
fn read_into(mut from: impl Read, kept: &Mutex<Vec<u8>>, keep: Keep) {
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let mut kept = kept
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match keep {
                    Keep::Head(limit) => {
                        let room = limit.saturating_sub(kept.len());
                        kept.extend_from_slice(&buf[..n.min(room)]);
                        if kept.len() >= limit {
                            return;
                        }
                    }
                    Keep::Tail(size) => {
                        kept.extend_from_slice(&buf[..n]);
                        if kept.len() > 2 * size {
                            let cut = kept.len() - size;
                            kept.drain(..cut);
                        }
                    }
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
