//! The monitor: this binary, re-executed in a hidden mode
//! (`supervisorctl __monitor`), as the parent of each `spawn:` service,
//! the way conmon, s6-supervise or runit's svlogd sit beside what they
//! watch. It
//!
//! - waits for the service and writes how it ended to
//!   `<state-dir>/exits/<service>.json` ([`exit_record`]), atomically;
//! - prefixes each line of the service's output with the time and writes
//!   marker lines at its start and exit ([`logfile`]), rotating the log by
//!   `logs.max_size` and `logs.keep`;
//! - forwards SIGTERM and SIGINT to the service, and exits when it exits.
//!
//! # The handshake ([`protocol`])
//!
//! The run that starts a service (`exec::spawn`) starts the monitor in a
//! new session with two pipes: the monitor's stdin (run → monitor) and its
//! stdout (monitor → run); stderr is `/dev/null`, and no other descriptor
//! of the run is inherited (`exec::env::clean_command`).
//!
//! 1. run → monitor: one line, the [`Request`] as JSON (argv, the full
//!    environment, working directory, credentials, log and exit paths).
//!    It comes through a pipe, not argv: an `env_file`'s secrets never
//!    show in `ps`.
//! 2. The monitor forks the service as `/bin/sh` waiting on a pipe
//!    ([`crate::exec::spawn::GATE`]), drops to the service's user in that
//!    child, and answers `pid <pid>`.
//! 3. The run writes the pid file (durably) and answers `go`.
//! 4. The monitor lets the shell `exec` the service (same pid), and later
//!    answers `exit <record>` if the run still listens.
//!
//! A run killed anywhere before step 3 closes the monitor's stdin: the
//! monitor kills the waiting shell and exits, and nothing ran. A monitor
//! killed before step 4 closes the shell's pipe: it exits without running
//! anything. So a SIGKILL at any moment never leaves a service that no pid
//! file names, nor a monitor without its service.
//!
//! # Caveats
//!
//! - A monitor killed while its service runs leaves the service running
//!   (adopted by init) with no reader of its output: its next write fails
//!   (SIGPIPE) and no exit record is written.
//! - A signal to the monitor in the microseconds between the service's
//!   exit being reaped and the forwarding being switched off would go to
//!   that pid, were it reused within them.
pub mod exit_record;
pub mod logfile;
pub mod protocol;
mod run;

pub use exit_record::{Ending, ExitRecord};
pub use logfile::Limits;
pub use protocol::{Credentials, Request};
pub use run::main;

/// The word that selects the monitor mode (`argv[1]`).
pub const MODE: &str = "__monitor";
