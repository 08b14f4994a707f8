//! The executor's primitives: the only code in supervisorctl that starts or
//! signals processes. It never decides anything: the plan says what to run,
//! start or stop, and these functions do exactly that, safely, and report
//! what happened in a value the caller turns into events. Nothing here
//! panics on a failing process; failures are data.
//!
//! - `env::clean_command`: the one builder of every child we start, with
//!   the environment of [`env::clean_env`].
//! - [`command::run_bounded`]: the one runner of an argv to completion
//!   within a timeout, keeping the output asked for (restart and stop
//!   commands via [`command::run_command`], health probe commands,
//!   `nvidia-smi`).
//! - [`spawn::spawn_detached`]: start a service under its monitor
//!   ([`crate::monitor`]) in its own session, with its output timestamped
//!   in a log file, its exit recorded and its pid in a pid file.
//! - [`stop::stop_process`]: stop a process by its identity, with its own
//!   stop command or SIGTERM then SIGKILL.
//!
//! # Guarantees
//!
//! - **No shell.** Every argv is executed directly; `argv[0]` is looked up
//!   on the clean `PATH`. No string is ever interpreted by a shell.
//! - **Clean environment.** A child inherits nothing but the variables
//!   [`env::clean_env`] lists; its working directory is `/`, its stdin is
//!   `/dev/null`.
//! - **Only stdin, stdout and stderr.** Every child (service, restart,
//!   stop and health command, `nvidia-smi`) starts with exactly fds 0, 1
//!   and 2: everything else it would inherit (a caller's `flock` lock or
//!   pipes) is marked close-on-exec between fork and exec, in one audited
//!   `pre_exec` hook of `env::clean_command`.
//! - **Bounded.** [`command::run_bounded`] returns within its timeout plus
//!   a short grace: at the timeout the command's whole process group gets
//!   SIGKILL and is reaped. [`stop::stop_process`] returns within
//!   `stop_timeout` (plus the stop command's own bound, when there is one)
//!   plus about 2 s.
//! - **No wrong process is ever signalled on purpose.** A target is named by
//!   its [`ProcessIdentity`](crate::procfs::ProcessIdentity) (pid and start
//!   time in clock ticks), and the identity is re-read from `/proc`
//!   immediately before every signal: a pid that now names another process
//!   is reported as [`stop::StopOutcome::AlreadyGone`] and left alone. Pid 0,
//!   pid 1, our own process, our parent and every member of our own process
//!   group are refused ([`stop::is_protected`]); so is a pid beyond
//!   `i32::MAX`, which `kill(2)` would read as a process group.
//! - **Signals go to one pid.** A stop signals the target process only,
//!   never its group: a service's helpers are its own business.
//! - **No zombies of ours.** Commands are always reaped; a detached service
//!   is reaped by a small thread when it exits, so a long-lived supervisorctl
//!   (`watch`) does not keep dead services looking alive in `/proc`.
//!
//! # Assumptions
//!
//! - Linux with `/proc` mounted: identities and process states are read
//!   from `/proc/PID/stat` by [`crate::procfs`], where a zombie or a dead
//!   task (`Z`, `X`, `x`) is not running. `close_range(2)` needs Linux 5.11;
//!   older kernels take a slower `fcntl` loop (see [`mod@env`]).
//! - A pid and its start time in clock ticks name one process for the life
//!   of a boot; this module never compares identities across boots.
//! - Paths given for logs and pid files are trusted configuration (the state
//!   directory); they are opened without following a final symlink, but the
//!   folders above them are not checked.
//!
//! # Caveats
//!
//! - **Signals through a pidfd.** A stop opens a pidfd for the identity
//!   (`pidfd.rs`: opened, then the identity checked, so it names the right
//!   process) and sends through it (`pidfd_send_signal`): a pid reused
//!   after the check cannot receive the signal. On a kernel without pidfds
//!   (before 5.3) it falls back to the identity re-check right before
//!   `kill(2)`, whose window (microseconds) would need the target to exit,
//!   be reaped and have its pid reused inside it.
//! - **Escapees.** A command that puts a child in another process group or
//!   session escapes the SIGKILL at its timeout. A command that exits while
//!   a background child still holds its stderr is not waited for beyond a
//!   short grace; that child's later writes to stderr may fail once
//!   supervisorctl exits.
//! - **No terminal signals.** Children run in their own process group (or
//!   session), so Ctrl-C on supervisorctl does not reach them; the timeouts
//!   bound them instead.
//! - **A stop command's verdict.** When a stop command leaves its target
//!   alive, the signals that follow decide the outcome; the command's own
//!   result is not part of it.

pub mod command;
pub mod env;
pub mod pidfd;
pub mod spawn;
pub mod stop;
pub mod transient;

#[cfg(test)]
pub(crate) mod test_support;

pub use command::{run_bounded, run_command, Capture, CommandResult};
pub use env::clean_env;
pub use spawn::{log_tail, spawn_detached, spawn_watched, Launch};
pub use stop::{is_protected, stop_process, StopOutcome};
