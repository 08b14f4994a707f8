//! Starting a `spawn:` service as a transient systemd unit, so that it
//! outlives the oneshot `supervisorctl-reconcile.service` that started it
//! without that unit needing `KillMode=process`.
//!
//! [`Systemd::detect`] decides: only when we run under systemd
//! (`INVOCATION_ID` is set, as systemd sets it for every service) and
//! `systemd-run` and `systemctl` are found on the clean `PATH`
//! ([`CLEAN_PATH`]). Then [`start`] runs
//!
//! ```text
//! systemd-run --unit=supervisorctl-<node>-<service>.service --collect --quiet
//!     --service-type=exec --property=KillMode=mixed
//!     --property=StandardOutput=append:<log> --property=StandardError=append:<log>
//!     --working-directory=<cwd> [--uid=<uid> --gid=<gid>]
//!     --setenv=<each variable of the service's environment> -- <argv...>
//! ```
//!
//! (`--user` as well when we are not root), reads the unit's main pid with
//! `systemctl show --property=MainPID --value <unit>`, and the caller
//! writes the pid file and reads the identity from `/proc` as for a direct
//! start. `<node>` is the local node and `<service>` the service's name
//! ([`unit_name`]), each escaped like `systemd-escape` does for anything but
//! `[A-Za-z0-9:_.-]`.
//!
//! # Guarantees
//!
//! - **Same process as a direct start.** The same argv, environment,
//!   working directory and user, stdin `/dev/null` (systemd's default),
//!   output appended to the same log. There is no monitor: the journal
//!   has no timestamps from us, the log is not rotated by us, and how the
//!   process ended is systemd's `ExecMainCode`/`ExecMainStatus`.
//! - **No `--wait`.** `systemd-run` returns once the command was executed
//!   (`--service-type=exec`: a command that cannot be executed fails the
//!   start instead of a unit that dies later).
//! - **A failed start leaves no unit behind.** `--collect` unloads the unit
//!   once it stops, failed or not, so the next start may reuse its name;
//!   a unit we cannot keep (no main pid in `/proc`, no pid file) is stopped.
//!
//! # Caveats
//!
//! - Where `systemd-run` cannot reach the service manager ("Failed to
//!   connect to bus"), the service is started directly, as without
//!   systemd.
//! - The transient unit does not inherit the hardening of the unit that
//!   started it; it runs with systemd's defaults as our user.
//! - Its exit status, for a start that dies at once, is read from
//!   `systemctl show` while the unit is still loaded; when it is already
//!   collected the status reads as "exited" without a code.
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::command::{run_bounded, Capture, CommandResult};
use super::env::CLEAN_PATH;
use super::spawn::Launch;
use crate::monitor::Ending;
use crate::procfs::{self, ProcessIdentity};

/// How long one `systemd-run` or `systemctl` call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a start waits for a unit of the same name (a process stopped
/// a moment ago) to be collected.
const NAME_BUSY_WAIT: Duration = Duration::from_secs(2);

/// The `systemd-run` and `systemctl` to use, and whether to talk to the
/// user's service manager (`--user`) rather than the system's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Systemd {
    pub run: PathBuf,
    pub ctl: PathBuf,
    pub user: bool,
}

impl Systemd {
    /// `Some` when `INVOCATION_ID` is set and both tools are on the clean
    /// `PATH`; `--user` when we are not root.
    pub fn detect() -> Option<Systemd> {
        Self::detect_from(
            std::env::var_os("INVOCATION_ID"),
            CLEAN_PATH,
            !nix::unistd::geteuid().is_root(),
        )
    }

    /// [`Systemd::detect`] with its inputs given (tests).
    pub fn detect_from(
        invocation_id: Option<OsString>,
        search_path: &str,
        user: bool,
    ) -> Option<Systemd> {
        invocation_id.filter(|id| !id.is_empty())?;
        Some(Systemd {
            run: find(search_path, "systemd-run")?,
            ctl: find(search_path, "systemctl")?,
            user,
        })
    }

    fn call(&self, tool: &Path, args: Vec<OsString>, capture: Capture) -> CommandResult {
        let mut argv: Vec<OsString> = vec![tool.into()];
        if self.user {
            argv.push("--user".into());
        }
        argv.extend(args);
        run_bounded(&argv, CALL_TIMEOUT, capture)
    }

    fn main_pid(&self, unit: &str) -> Option<u32> {
        let r = self.show(unit, "MainPID");
        r.trim().parse().ok().filter(|pid| *pid != 0)
    }

    fn show(&self, unit: &str, property: &str) -> String {
        let args = vec![
            "show".into(),
            format!("--property={property}").into(),
            "--value".into(),
            unit.into(),
        ];
        let r = self.call(&self.ctl, args, Capture::stdout(256));
        String::from_utf8_lossy(&r.stdout).into_owned()
    }

    /// Stops `unit` (a start we cannot keep); errors are ignored.
    pub fn stop(&self, unit: &str) {
        let args = vec!["stop".into(), "--no-block".into(), unit.into()];
        drop(self.call(&self.ctl, args, Capture::NOTHING));
    }
}

/// The executable `name` in the first folder of `search_path` that has it.
fn find(search_path: &str, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    search_path
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `supervisorctl-<node>-<service>.service`: the transient unit of the
/// `spawn:` service `service` of the local node `node`, each part escaped
/// like `systemd-escape` does for anything but `[A-Za-z0-9:_.-]` (and a
/// leading `.`). Only the local node's services are spawned, so on one
/// machine the node part is the same for all of them.
pub fn unit_name(node: &str, service: &str) -> String {
    let mut name = String::from("supervisorctl-");
    escape_into(&mut name, node);
    name.push('-');
    escape_into(&mut name, service);
    name.push_str(".service");
    name
}

fn escape_into(name: &mut String, part: &str) {
    for (i, b) in part.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b"_-:".contains(&b) || (b == b'.' && i > 0);
        if plain {
            name.push(char::from(b));
        } else {
            let _ = write!(name, "\\x{b:02x}");
        }
    }
}

/// The `systemd-run` arguments (after the tool itself) that start the
/// launch's `argv` as its unit, with its environment, working directory
/// and user, and its output appended to its log.
pub fn run_args(launch: &Launch) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        format!("--unit={}", launch.unit).into(),
        "--collect".into(),
        "--quiet".into(),
        "--service-type=exec".into(),
        "--property=KillMode=mixed".into(),
    ];
    for stream in ["StandardOutput", "StandardError"] {
        let mut prop = OsString::from(format!("--property={stream}=append:"));
        prop.push(launch.request.log.as_os_str());
        args.push(prop);
    }
    let mut cwd = OsString::from("--working-directory=");
    cwd.push(launch.request.cwd.as_os_str());
    args.push(cwd);
    if let Some(c) = &launch.request.credentials {
        args.push(format!("--uid={}", c.uid).into());
        args.push(format!("--gid={}", c.gid).into());
    }
    for (name, value) in &launch.request.env {
        args.push(format!("--setenv={name}={value}").into());
    }
    args.push("--".into());
    args.extend(launch.request.argv.iter().map(OsString::from));
    args
}

/// What [`start`] did.
pub enum Started {
    /// The unit runs; its main pid.
    Unit(u32),
    /// `systemd-run` cannot reach the service manager: start directly.
    NoManager,
}

/// Starts the launch as its transient unit and returns its main pid.
pub fn start(sd: &Systemd, launch: &Launch) -> io::Result<Started> {
    let unit = launch.unit.as_str();
    let deadline = Instant::now() + NAME_BUSY_WAIT;
    let r = loop {
        let r = sd.call(&sd.run, run_args(launch), Capture::STDERR_TAIL);
        let busy = r.stderr_tail.contains("already");
        if r.success() || !busy || Instant::now() >= deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !r.success() {
        let why = &r.stderr_tail;
        if why.contains("Failed to connect to bus") || why.contains("Failed to create bus") {
            return Ok(Started::NoManager);
        }
        let how = match (&r.error, r.exit_code) {
            (Some(e), _) => e.clone(),
            (None, Some(code)) => format!("exited {code}"),
            (None, None) => "was killed".to_string(),
        };
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(": {why}")
        };
        return Err(io::Error::other(format!(
            "`systemd-run --unit={unit}` {how}{why}"
        )));
    }
    match sd.main_pid(unit) {
        Some(pid) => Ok(Started::Unit(pid)),
        None => Err(io::Error::other(format!(
            "transient unit `{unit}` has no main process: it exited at once"
        ))),
    }
}

/// A receiver of the exit status of `id`, the main process of `unit`, sent
/// when it exits while we still run (it is not our child: a pidfd, else a
/// poll of `/proc`, tells when it is gone; systemd, its parent, tells how).
pub fn watch_exit(sd: &Systemd, unit: &str, id: ProcessIdentity) -> mpsc::Receiver<Ending> {
    let (tx, rx) = mpsc::channel();
    let sd = sd.clone();
    let unit = unit.to_string();
    let spawned = std::thread::Builder::new()
        .name(format!("unit-{}", id.pid))
        .spawn(move || {
            wait_gone(id);
            let _ = tx.send(exit_status(&sd, &unit));
        });
    // Without a thread no early exit is reported; the start still stands.
    drop(spawned);
    rx
}

fn wait_gone(id: ProcessIdentity) {
    match super::pidfd::open(id) {
        Some(fd) => {
            while super::pidfd::wait_any(std::slice::from_ref(&fd), 1000).is_empty()
                && procfs::is_running(id)
            {}
        }
        None => {
            while procfs::is_running(id) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// The main process's exit as systemd recorded it (`ExecMainCode` 1:
/// exited with `ExecMainStatus`; 2: killed by that signal; 3: killed, core
/// dumped), waiting up to a second for systemd to reap it;
/// [`Ending::Unknown`] when the unit is already gone.
fn exit_status(sd: &Systemd, unit: &str) -> Ending {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let code: i32 = sd.show(unit, "ExecMainCode").trim().parse().unwrap_or(0);
        let status: i32 = sd.show(unit, "ExecMainStatus").trim().parse().unwrap_or(0);
        match code {
            1 => return Ending::Status(status),
            2 | 3 => {
                return Ending::Signal {
                    number: status,
                    core_dumped: code == 3,
                }
            }
            _ if Instant::now() >= deadline => return Ending::Unknown,
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
