//! The monitor's own run: handshake, wait, record (see [`crate::monitor`]).
use std::io::{self, BufRead, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use nix::fcntl::OFlag;
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::{Gid, Uid};

use super::logfile::LogFile;
use super::protocol::{Report, Request, GO};
use super::{exit_record, Ending, ExitRecord};

/// How long output still in the pipe is read after the service exits
/// (a child of the service may hold it open for ever).
const DRAIN: Duration = Duration::from_millis(500);

/// The pid SIGTERM and SIGINT are forwarded to; 0: none.
static SERVICE_PID: AtomicI32 = AtomicI32::new(0);

/// Runs the monitor; its exit code (0 unless the handshake failed).
pub fn main() -> i32 {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut line = String::new();
    if input.read_line(&mut line).unwrap_or(0) == 0 {
        return 0; // The run went away before asking anything.
    }
    let request: Request = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => return refuse(&format!("monitor: unreadable request: {e}")),
    };
    let log = match LogFile::open(&request.log, request.limits, owner(&request)) {
        Ok(log) => log,
        Err(e) => return refuse(&crate::text::io_error_text(&e)),
    };
    let (mut child, gate) = match start_gated(&request) {
        Ok(started) => started,
        Err(e) => return refuse(&e),
    };
    let pid = child.id();
    if !say(&Report::Pid(pid)) || !heard_go(&mut input) {
        // The run is gone before the pid file was made durable: nothing
        // may run that no pid file names.
        let _ = child.kill();
        let _ = child.wait();
        return 0;
    }
    drop(input);
    supervise(&request, child, gate, log);
    0
}

/// Says why the service cannot start; exit code 1.
fn refuse(why: &str) -> i32 {
    say(&Report::Error(why.to_string()));
    1
}

/// Writes a report line to the run; false when it no longer listens.
fn say(report: &Report) -> bool {
    let mut out = io::stdout().lock();
    out.write_all(report.line().as_bytes()).is_ok() && out.flush().is_ok()
}

fn heard_go(input: &mut impl BufRead) -> bool {
    let mut line = String::new();
    input.read_line(&mut line).is_ok() && line.trim_end() == GO
}

fn owner(request: &Request) -> Option<(u32, u32)> {
    request.credentials.as_ref().map(|c| (c.uid, c.gid))
}

/// The service, started as the gate shell in its own session with its
/// output into a pipe; the write end of its gate.
fn start_gated(request: &Request) -> Result<(Child, ChildIo), String> {
    let program = request.argv.first().ok_or("cannot run an empty command")?;
    let pipe =
        || nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("cannot make a pipe: {e}"));
    let (gate_read, gate_write) = pipe()?;
    let (out_read, out_write) = pipe()?;
    let err_write = out_write.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = crate::exec::env::clean_command(&crate::exec::spawn::gated(&request.argv));
    cmd.env_clear()
        .envs(request.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&request.cwd)
        .stdin(Stdio::from(gate_read))
        .stdout(Stdio::from(out_write))
        .stderr(Stdio::from(err_write));
    new_session_as(&mut cmd, request.credentials.as_ref());
    let child = cmd.spawn().map_err(|e| {
        let what = match unusable_cwd(&request.cwd) {
            Some(why) => why,
            None => crate::text::io_error_text(&e),
        };
        format!("cannot run `{program}`: {what}")
    })?;
    drop(cmd);
    Ok((
        child,
        ChildIo {
            gate: gate_write,
            output: out_read,
        },
    ))
}

/// Why the service cannot start in `cwd` (the gate shell is `/bin/sh`,
/// so a failed spawn is most often its working directory): missing, not a
/// folder, or not enterable by the monitor, which changes into it before
/// it switches to the service's user. `None` when `cwd` looks usable.
fn unusable_cwd(cwd: &std::path::Path) -> Option<String> {
    let why = match std::fs::metadata(cwd) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Some(format!(
                "working directory `{}` does not exist",
                cwd.display()
            ))
        }
        Err(e) => crate::text::io_error_text(&e),
        Ok(m) if !m.is_dir() => "not a directory".to_string(),
        Ok(_) => match nix::unistd::access(cwd, nix::unistd::AccessFlags::X_OK) {
            Ok(()) => return None,
            Err(e) => crate::text::io_error_text(&e.into()),
        },
    };
    Some(format!("working directory `{}`: {why}", cwd.display()))
}

/// The monitor's ends of the service's pipes.
struct ChildIo {
    gate: OwnedFd,
    output: OwnedFd,
}

/// In the child, before exec: a new session, then (as root) the service's
/// groups, group and user, in that order (each needs the privilege the
/// next one drops).
#[allow(unsafe_code)]
fn new_session_as(cmd: &mut Command, credentials: Option<&super::Credentials>) {
    let ids = credentials.map(|c| {
        let groups: Vec<Gid> = c.groups.iter().map(|g| Gid::from_raw(*g)).collect();
        (groups, Gid::from_raw(c.gid), Uid::from_raw(c.uid))
    });
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed. `setsid`, `setgroups`, `setgid`
    // and `setuid` are system calls (async-signal-safe); nix's wrappers
    // only call them and map errno, the group list was built before the
    // fork and is only borrowed, and an `Errno` becomes an `io::Error`
    // without allocating.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid()?;
            if let Some((groups, gid, uid)) = &ids {
                nix::unistd::setgroups(groups)?;
                nix::unistd::setgid(*gid)?;
                nix::unistd::setuid(*uid)?;
            }
            Ok(())
        });
    }
}

/// From `go` on: lets the service run, logs its output, forwards
/// signals, and records its exit.
fn supervise(request: &Request, mut child: Child, io: ChildIo, log: LogFile) {
    let pid = child.id();
    let started_at = Utc::now();
    let log = Arc::new(Mutex::new(log));
    with_log(&log, |l| {
        l.marker(
            started_at,
            &format!("started pid {pid}: {}", request.argv.join(" ")),
        );
    });
    SERVICE_PID.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
    forward_signals();
    let _ = nix::unistd::write(&io.gate, format!("{GO}\n").as_bytes());
    drop(io.gate);
    let drained = copy_output(io.output, Arc::clone(&log));
    let status = child.wait();
    SERVICE_PID.store(0, Ordering::SeqCst);
    let _ = drained.recv_timeout(DRAIN);
    let exited_at = Utc::now();
    let ending = status
        .ok()
        .and_then(Ending::of)
        .unwrap_or(Ending::Status(-1));
    let record = ExitRecord::new(pid, started_at, exited_at, ending);
    with_log(&log, |l| {
        l.flush_pending(exited_at);
        l.marker(exited_at, &format!("pid {pid} {}", record.describe()));
    });
    if let Err(e) = exit_record::write(&request.exits, &record) {
        let why = crate::text::io_error_text(&e);
        with_log(&log, |l| {
            l.marker(
                Utc::now(),
                &format!("cannot write `{}`: {why}", request.exits.display()),
            );
        });
    }
    say(&Report::Exit(record));
}

fn with_log(log: &Mutex<LogFile>, f: impl FnOnce(&mut LogFile)) {
    if let Ok(mut l) = log.lock() {
        f(&mut l);
    }
}

/// Reads the service's output into the log in a thread; the receiver
/// hears once the pipe is at its end.
fn copy_output(output: OwnedFd, log: Arc<Mutex<LogFile>>) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("output".into())
        .spawn(move || {
            let mut pipe = std::fs::File::from(output);
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => with_log(&log, |l| l.output(Utc::now(), &buf[..n])),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
    drop(spawned);
    rx
}

extern "C" fn forward(sig: nix::libc::c_int) {
    let pid = SERVICE_PID.load(Ordering::SeqCst);
    if pid > 1 {
        // SAFETY: kill(2) is async-signal-safe; the pid is a plain load.
        #[allow(unsafe_code)]
        unsafe {
            nix::libc::kill(pid, sig);
        }
    }
}

/// SIGTERM and SIGINT to the monitor go to the service.
#[allow(unsafe_code)]
fn forward_signals() {
    let action = SigAction::new(
        SigHandler::Handler(forward),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only loads an atomic and calls kill(2), both
        // async-signal-safe; it replaces the default (terminate) action.
        unsafe {
            let _ = signal::sigaction(sig, &action);
        }
    }
}
