//! Start a service detached from us, under its monitor
//! ([`crate::monitor`]): in its own session, so that it outlives this run
//! and gets no terminal signals, with its output timestamped into a log
//! file the monitor rotates, its exit recorded in `exits/<service>.json`,
//! and its pid written atomically to a pid file that later runs (and other
//! tools) use to find it.
//!
//! Under systemd (`INVOCATION_ID` set, `systemd-run` on the clean `PATH`)
//! the service is started as the transient unit
//! `supervisorctl-<node>-<service>.service` instead (see [`super::transient`]),
//! so that it survives the end of the oneshot unit that started it; the
//! pid file and identity are the same as for a direct start.
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::fcntl::OFlag;

use super::env::{cannot_run, clean_command, clean_env};
use super::transient::{self, Started, Systemd};
use crate::monitor::protocol::{Report, GO};
use crate::monitor::{Ending, Limits, Request};
use crate::procfs::{self, ProcessIdentity};
use crate::store::Layout;

/// Mode of folders we create for logs, pid files and exit records.
const DIR_MODE: u32 = 0o700;
/// Mode of a new log file.
const LOG_MODE: u32 = 0o640;
/// Mode of a pid file: anyone may read which pid a service has.
const PID_MODE: u32 = 0o644;
/// How long the monitor may take to fork the service and say its pid.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// A `spawn:` start: what runs, as whom, and where its traces go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// What the monitor is asked to run, and where it keeps its log and
    /// its exit record.
    pub request: Request,
    pub pid: PathBuf,
    /// Its transient unit's name, under systemd.
    pub unit: String,
}

impl Launch {
    /// `argv` with the clean environment, in `/`, as us, the default log
    /// limits, and its traces in `state_dir` (`logs/<service>.log`,
    /// `pids/<service>.pid`, `exits/<service>.json`).
    pub fn new(service: &str, argv: &[String], state_dir: &Path, unit: &str) -> Launch {
        Launch {
            request: Request {
                service: service.to_string(),
                argv: argv.to_vec(),
                env: clean_env(),
                cwd: PathBuf::from("/"),
                credentials: None,
                log: Layout::of(state_dir).log(service),
                exits: Layout::of(state_dir).exits(service),
                limits: Limits::default(),
            },
            pid: Layout::of(state_dir).pid(service),
            unit: unit.to_string(),
        }
    }

    /// The monitor's request; the paths made absolute (it runs in `/`).
    fn request(&self) -> io::Result<Request> {
        let r = &self.request;
        Ok(Request {
            log: std::path::absolute(&r.log)?,
            exits: std::path::absolute(&r.exits)?,
            ..r.clone()
        })
    }

    /// The `PATH` the service's program is looked up on.
    fn search_path(&self) -> &str {
        self.request
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map_or(super::env::CLEAN_PATH, |(_, v)| v.as_str())
    }
}

/// Starts the service detached (see [`spawn_watched`]); its identity as
/// read from `/proc` right after the start.
pub fn spawn_detached(launch: &Launch) -> io::Result<ProcessIdentity> {
    spawn_watched(launch).map(|(identity, _)| identity)
}

/// Starts the service under its monitor: new session, the launch's
/// environment, working directory and user, stdin `/dev/null`, output
/// timestamped into the log, its pid written to the pid file as
/// `"<pid>\n"`. Returns its identity and a receiver of how it ended, sent
/// when it exits while this process still runs (so a start that dies at
/// once can be told from one that stays up).
///
/// **Atomic.** The service does not run until its identity is durable: the
/// monitor forks it as `/bin/sh` blocked on a pipe ([`GATE`]) and says its
/// pid; only once the pid file is written and synced does this process
/// answer `go`, and the shell `exec`s `argv` (same pid, same start time:
/// the recorded identity stays true). Killed before that, this process
/// closes the monitor's stdin by dying; the monitor then kills the shell
/// and exits: a SIGKILL at any moment of a start leaves no copy that no pid
/// file names and no monitor without its service. If the pid file cannot
/// be written, nothing runs either, and the error is returned.
///
/// Under systemd ([`Systemd::detect`]) the service is started as the
/// transient unit `launch.unit` (`supervisorctl-<node>-<service>.service`,
/// see [`transient::unit_name`]) without a monitor; the receiver is then
/// fed by a watcher of its pid and systemd's record of its exit.
pub fn spawn_watched(launch: &Launch) -> io::Result<(ProcessIdentity, mpsc::Receiver<Ending>)> {
    spawn_watched_with(launch, Systemd::detect().as_ref())
}

/// [`spawn_watched`] with the systemd tools to use given (`None`: start
/// under the monitor).
pub(crate) fn spawn_watched_with(
    launch: &Launch,
    systemd: Option<&Systemd>,
) -> io::Result<(ProcessIdentity, mpsc::Receiver<Ending>)> {
    let Some(program) = launch.request.argv.first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot run an empty command",
        ));
    };
    // The log is opened here first, so that an unusable one is said now.
    drop(open_log(&launch.request.log)?);
    create_parent(&launch.pid)?;
    create_parent(&launch.request.exits)?;
    if let Some(sd) = systemd {
        if let Started::Unit(pid) = transient::start(sd, launch)? {
            return keep_unit(sd, &launch.unit, program, pid, &launch.pid);
        }
    }
    // A program that cannot run is said now, as a direct start would.
    super::env::resolve_program_on(program, launch.search_path(), &launch.request.cwd)
        .map_err(|err| io::Error::new(err.kind(), cannot_run(program, &err)))?;
    let (monitor, pipes) = start_monitor()?;
    handshake(launch, monitor, pipes)
}

/// The pipes between us and the monitor: its stdin, its stdout.
struct MonitorPipes {
    to: OwnedFd,
    from: OwnedFd,
}

/// Starts `supervisorctl __monitor` in a new session, with nothing of ours
/// but two fresh pipes (stderr `/dev/null`).
fn start_monitor() -> io::Result<(Child, MonitorPipes)> {
    let pipe = || nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from);
    let (to_read, to_write) = pipe()?;
    let (from_read, from_write) = pipe()?;
    let exe = monitor_program();
    let mut cmd = clean_command(&[exe.as_os_str()]);
    cmd.arg0("supervisorctl")
        .arg(crate::monitor::MODE)
        .env_clear()
        .stdin(Stdio::from(to_read))
        .stdout(Stdio::from(from_write))
        .stderr(Stdio::null());
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed. `setsid(2)` is async-signal-safe,
    // nix's wrapper only calls it and maps errno, and converting an `Errno`
    // into an `io::Error` does not allocate. std has no stable way to ask
    // for a new session.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| nix::unistd::setsid().map(drop).map_err(io::Error::from));
    }
    let child = cmd.spawn().map_err(|err| {
        io::Error::new(
            err.kind(),
            format!(
                "cannot start the monitor `{}`: {}",
                exe.display(),
                crate::text::io_error_text(&err)
            ),
        )
    })?;
    drop(cmd);
    Ok((
        child,
        MonitorPipes {
            to: to_write,
            from: from_read,
        },
    ))
}

/// The program the monitor runs as: this very binary (`/proc/self/exe`,
/// which still works after a package upgrade replaced the file).
#[cfg(not(test))]
fn monitor_program() -> PathBuf {
    PathBuf::from("/proc/self/exe")
}

/// Under unit tests this process is the test harness: the monitor is the
/// `supervisorctl` binary built beside it (`cargo test` builds it first).
#[cfg(test)]
fn monitor_program() -> PathBuf {
    super::test_support::built_binary()
}

/// Sends the request, waits for the pid, writes the pid file, says `go`.
fn handshake(
    launch: &Launch,
    mut monitor: Child,
    pipes: MonitorPipes,
) -> io::Result<(ProcessIdentity, mpsc::Receiver<Ending>)> {
    let program = &launch.request.argv[0];
    let mut line = serde_json::to_string(&launch.request()?).map_err(io::Error::other)?;
    line.push('\n');
    let (first, ended) = listen(pipes.from);
    if let Err(err) = nix::unistd::write(&pipes.to, line.as_bytes()) {
        abandon(&mut monitor, None);
        return Err(io::Error::other(format!(
            "cannot start `{program}`: the monitor did not take the request: {err}"
        )));
    }
    let pid = match first.recv_timeout(HANDSHAKE) {
        Ok(Report::Pid(pid)) => pid,
        Ok(Report::Error(why)) => {
            let _ = monitor.wait();
            return Err(io::Error::other(why));
        }
        _ => {
            abandon(&mut monitor, None);
            return Err(io::Error::other(format!(
                "cannot start `{program}`: its monitor (pid {}) did not say its pid",
                monitor.id()
            )));
        }
    };
    let identity = procfs::identity(pid).ok_or_else(|| {
        abandon(&mut monitor, None);
        io::Error::other(format!(
            "started `{program}` as pid {pid} but cannot read `/proc/{pid}/stat`"
        ))
    })?;
    if let Err(err) = write_pid_file(&launch.pid, pid) {
        abandon(&mut monitor, Some(identity));
        return Err(io::Error::new(
            err.kind(),
            format!(
                "cannot write pid file `{}`: {err}; stopped `{program}` (pid {pid}) again",
                launch.pid.display()
            ),
        ));
    }
    // The identity is durable: let the service run.
    if let Err(err) = nix::unistd::write(&pipes.to, format!("{GO}\n").as_bytes()) {
        abandon(&mut monitor, Some(identity));
        return Err(io::Error::other(format!(
            "cannot start `{program}` (pid {pid}): {}",
            crate::text::io_error_text(&err.into())
        )));
    }
    drop(pipes.to);
    reap_in_background(monitor);
    Ok((identity, ended))
}

/// Reads the monitor's reports in a thread: the first one (pid or error)
/// on the first receiver, how the service ended on the second.
fn listen(from: OwnedFd) -> (mpsc::Receiver<Report>, mpsc::Receiver<Ending>) {
    let (first_tx, first) = mpsc::channel();
    let (end_tx, ended) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("monitor".into())
        .spawn(move || {
            let mut lines = BufReader::new(File::from(from)).lines();
            if let Some(Ok(line)) = lines.next() {
                let report = Report::parse(&line)
                    .unwrap_or_else(|| Report::Error(format!("monitor: {line}")));
                let _ = first_tx.send(report);
            }
            for line in lines.map_while(Result::ok) {
                if let Some(Report::Exit(record)) = Report::parse(&line) {
                    let _ = end_tx.send(record.ending());
                }
            }
        });
    // Without a thread no pid is heard: the start fails as unanswered.
    drop(spawned);
    (first, ended)
}

/// Kills the monitor; its gate shell then reads the end of its pipe and
/// exits without running anything. When its pid is known it is killed
/// too (identity checked), and waited for up to a second, so that the
/// caller's error is true when it returns.
fn abandon(monitor: &mut Child, gated: Option<ProcessIdentity>) {
    let _ = monitor.kill();
    let _ = monitor.wait();
    if let Some(id) = gated {
        if let Some(fd) = super::pidfd::open(id) {
            let _ = super::pidfd::send_signal(&fd, nix::sys::signal::Signal::SIGKILL);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while procfs::is_running(id) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The gate a spawned service passes before it runs (see
/// [`spawn_watched`]): one line from the monitor, else exit without
/// running anything; then `argv` in place of the shell, stdin `/dev/null`.
pub const GATE: &str = "IFS= read -r go || exit 0; unset PWD OLDPWD; exec \"$0\" \"$@\" </dev/null";

/// `sh -c GATE argv…`: `$0` is the program as given (looked up on the
/// service's `PATH`), `$@` its arguments, passed through untouched.
pub(crate) fn gated(argv: &[String]) -> Vec<&str> {
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
) -> io::Result<(ProcessIdentity, mpsc::Receiver<Ending>)> {
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

/// Waits for the monitor in a thread, so that when it exits while we still
/// run it does not stay a zombie; once we exit, init adopts it.
fn reap_in_background(mut monitor: Child) {
    let spawned = std::thread::Builder::new()
        .name(format!("reap-{}", monitor.id()))
        .spawn(move || {
            let _ = monitor.wait();
        });
    drop(spawned);
}

/// The last `lines` lines the service wrote to the log at `path` after
/// byte `from` (read from its last 8 KiB, without following a symlink;
/// without the monitor's times and markers), for a start that failed.
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
    let all: Vec<&str> = text
        .lines()
        .map(without_time)
        .filter(|l| !l.trim().is_empty() && !l.starts_with(crate::monitor::logfile::MARKER))
        .collect();
    all[all.len().saturating_sub(lines)..].join(" | ")
}

/// A log line without the monitor's time prefix (`2026-12-07T06:50:01.120Z `).
fn without_time(line: &str) -> &str {
    match line.split_once(' ') {
        Some((stamp, rest))
            if stamp.len() == 24
                && stamp.ends_with('Z')
                && chrono::DateTime::parse_from_rfc3339(stamp).is_ok() =>
        {
            rest
        }
        _ => line,
    }
}

#[cfg(test)]
#[path = "spawn_tests.rs"]
mod tests;
