//! Start a service detached from us: in its own session, so that it
//! outlives this run and gets no terminal signals, with its output appended
//! to a log file and its pid written atomically to a pid file that later
//! runs (and other tools) use to find it.
//!
//! Under systemd (`INVOCATION_ID` set, `systemd-run` on the clean `PATH`)
//! the service is started as the transient unit
//! `supervisorctl-<node>-<service>.service` instead (see [`super::transient`]),
//! so that it survives the end of the oneshot unit that started it; the
//! pid file and identity are the same as for a direct start.
use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;

use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::env::{cannot_run, clean_command};
use super::transient::{self, Started, Systemd};
use crate::procfs::{self, ProcessIdentity};

/// Mode of folders we create for logs and pid files.
const DIR_MODE: u32 = 0o700;
/// Mode of a new log file.
const LOG_MODE: u32 = 0o640;
/// Mode of a pid file: anyone may read which pid a service has.
const PID_MODE: u32 = 0o644;

/// Starts `argv` detached: new session (`setsid`), clean environment,
/// working directory `/`, stdin from `/dev/null`, stdout and stderr
/// appended to `log_path`, its pid written to `pid_path` as `"<pid>\n"`.
/// Returns its identity as read from `/proc` right after the start.
///
/// If the pid file cannot be written, the new process is killed again and
/// the error returned: a service nobody can find would be started twice.
///
/// **Atomic.** The child does not run `argv` until the parent has made its
/// identity durable: it starts as `/bin/sh` blocked reading a pipe from
/// the parent ([`GATE`]), and only once the pid file is written and
/// synced does the parent send the word, and the shell `exec`s `argv` (same
/// pid, same start time: the recorded identity stays true). A parent killed
/// before that closes the pipe by dying, and the child exits without ever
/// running `argv`: a SIGKILL at any moment of a start leaves no copy that
/// no pid file names.
/// The process is reaped by a background thread when it exits, so that it
/// never lingers as a zombie of ours; once we exit, init adopts it.
pub fn spawn_detached(
    argv: &[String],
    log_path: &Path,
    pid_path: &Path,
    unit: &str,
) -> io::Result<ProcessIdentity> {
    spawn_watched(argv, log_path, pid_path, unit).map(|(identity, _)| identity)
}

/// [`spawn_detached`], and a receiver of the process's exit status, sent
/// when it exits while this process still runs (so a start that dies at
/// once can be told from one that stays up).
///
/// Under systemd ([`Systemd::detect`]) the service is started as the
/// transient unit `unit` (`supervisorctl-<node>-<service>.service`, see
/// [`transient::unit_name`]); it is then not our child, and the receiver
/// is fed by a watcher of its pid instead of a reaper.
pub fn spawn_watched(
    argv: &[String],
    log_path: &Path,
    pid_path: &Path,
    unit: &str,
) -> io::Result<(ProcessIdentity, mpsc::Receiver<ExitStatus>)> {
    spawn_watched_with(argv, log_path, pid_path, unit, Systemd::detect().as_ref())
}

/// [`spawn_watched`] with the systemd tools to use given (`None`: start
/// directly).
pub(crate) fn spawn_watched_with(
    argv: &[String],
    log_path: &Path,
    pid_path: &Path,
    unit: &str,
    systemd: Option<&Systemd>,
) -> io::Result<(ProcessIdentity, mpsc::Receiver<ExitStatus>)> {
    let Some(program) = argv.first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot run an empty command",
        ));
    };
    let log = open_log(log_path)?;
    create_parent(pid_path)?;
    if let Some(sd) = systemd {
        if let Started::Unit(pid) = transient::start(sd, unit, argv, log_path)? {
            drop(log);
            return keep_unit(sd, unit, program, pid, pid_path);
        }
    }
    // A program that cannot run is said now, as a direct start would.
    super::env::resolve_program(program)
        .map_err(|err| io::Error::new(err.kind(), cannot_run(program, &err)))?;
    let (gate_read, gate_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    let mut cmd = clean_command(&gated(argv));
    cmd.stdin(Stdio::from(gate_read))
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log));
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed. `setsid(2)` is async-signal-safe,
    // nix's wrapper only calls it and maps errno, and converting an `Errno`
    // into an `io::Error` does not allocate. std has no stable way to ask
    // for a new session.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| nix::unistd::setsid().map(drop).map_err(io::Error::from));
    }
    let mut child = cmd
        .spawn()
        .map_err(|err| io::Error::new(err.kind(), cannot_run(program, &err)))?;
    let pid = child.id();
    let identity = match procfs::identity(pid) {
        Some(identity) => identity,
        None => {
            discard(&mut child);
            return Err(io::Error::other(format!(
                "started `{program}` as pid {pid} but cannot read `/proc/{pid}/stat`"
            )));
        }
    };
    if let Err(err) = write_pid_file(pid_path, pid) {
        discard(&mut child);
        return Err(io::Error::new(
            err.kind(),
            format!(
                "cannot write pid file `{}`: {err}; stopped `{program}` (pid {pid}) again",
                pid_path.display()
            ),
        ));
    }
    // The identity is durable: let the child become the service.
    let go = nix::unistd::write(&gate_write, b"go\n");
    drop(gate_write);
    if let Err(err) = go {
        discard(&mut child);
        return Err(io::Error::other(format!(
            "cannot start `{program}` (pid {pid}): {}",
            crate::text::io_error_text(&err.into())
        )));
    }
    Ok((identity, reap_in_background(child)))
}

/// The gate a spawned service passes before it runs (see
/// `spawn_watched_with`): one line from the parent, else exit without
/// running anything; then `argv` in place of the shell, stdin `/dev/null`.
pub const GATE: &str = "IFS= read -r go || exit 0; unset PWD OLDPWD; exec \"$0\" \"$@\" </dev/null";

/// `sh -c GATE argv…`: `$0` is the program as given (looked up on the same
/// clean `PATH`), `$@` its arguments, passed through untouched.
fn gated(argv: &[String]) -> Vec<&str> {
    let mut out = vec!["/bin/sh", "-c", GATE];
    out.extend(argv.iter().map(String::as_str));
    out
}

/// Reads the identity of `pid`, the main process of the transient `unit`,
/// and writes its pid file; stops the unit when either fails.
fn keep_unit(
    sd: &Systemd,
    unit: &str,
    program: &str,
    pid: u32,
    pid_path: &Path,
) -> io::Result<(ProcessIdentity, mpsc::Receiver<ExitStatus>)> {
    let Some(identity) = procfs::identity(pid) else {
        sd.stop(unit);
        return Err(io::Error::other(format!(
            "started `{program}` as pid {pid} (unit `{unit}`) but cannot read `/proc/{pid}/stat`"
        )));
    };
    if let Err(err) = write_pid_file(pid_path, pid) {
        sd.stop(unit);
        return Err(io::Error::new(
            err.kind(),
            format!(
                "cannot write pid file `{}`: {err}; stopped unit `{unit}` (pid {pid}) again",
                pid_path.display()
            ),
        ));
    }
    Ok((identity, transient::watch_exit(sd, unit, identity)))
}

/// Opens the log for appending, creating it (0640) and its folders (0700);
/// a symlink in place of the log is refused.
fn open_log(path: &Path) -> io::Result<File> {
    create_parent(path)?;
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(LOG_MODE)
        .custom_flags(OFlag::O_NOFOLLOW.bits())
        .open(path)
        .map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("cannot open log `{}`: {err}", path.display()),
            )
        })
}

fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|err| {
                io::Error::new(
                    err.kind(),
                    format!("cannot create folder `{}`: {err}", dir.display()),
                )
            }),
        _ => Ok(()),
    }
}

/// Writes `"<pid>\n"` to `path` atomically and durably (the store's one
/// atomic write: temporary file `O_EXCL|O_NOFOLLOW`, fsync, rename, fsync
/// of the folder), mode 0644 so other tools may read it.
fn write_pid_file(path: &Path, pid: u32) -> io::Result<()> {
    crate::store::atomic::write_atomic_mode(path, format!("{pid}\n").as_bytes(), PID_MODE)
}

/// Kills and reaps a child we just started and cannot keep.
fn discard(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = child.wait();
}

/// Waits for the child in a thread, so that when it exits while we still
/// run it does not stay a zombie (which `/proc` would show as alive).
fn reap_in_background(mut child: Child) -> mpsc::Receiver<ExitStatus> {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("reap-{pid}"))
        .spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = tx.send(status);
            }
        });
    // Without a thread the child is simply not reaped while we live; init
    // adopts it when we exit.
    drop(spawned);
    rx
}

/// The last `lines` lines written to the log at `path` after byte `from`
/// (read from its last 8 KiB, without following a symlink), for a start
/// that failed.
pub fn log_tail(path: &Path, from: u64, lines: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = crate::store::open_regular(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(8192).max(from)));
    let mut buf = Vec::new();
    let _ = file.take(8192).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join(" | ")
}

#[cfg(test)]
#[path = "spawn_tests.rs"]
mod tests;
