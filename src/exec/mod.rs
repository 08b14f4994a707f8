//! The executor's primitives: the only code that starts or signals
//! processes. It never decides; it does what it is told, safely, and reports
//! what happened.
//!
//! Guarantees:
//! - no command goes through a shell: argv only, looked up on a clean PATH;
//! - every command gets a clean, documented environment (`env::clean_env`);
//! - a command run to completion is killed with its whole process group at
//!   its timeout, and always reaped;
//! - no signal reaches pid 0 or 1, this process, its parent or its process
//!   group, and the identity (pid + start time) is re-checked immediately
//!   before each signal, so a reused pid is never signalled.
//!
//! Assumptions: Linux `/proc`. Caveats: between the identity check and the
//! `kill` there is a window of microseconds in which the pid could be reused;
//! a pidfd would close it, but nix offers no safe wrapper and this crate does
//! not write `unsafe` for it. The window needs the target to exit and its pid
//! to wrap around in that instant.
mod command;
mod env;
mod spawn;
mod stop;

pub use command::{run_command, CommandResult};
pub use env::clean_env;
pub use spawn::spawn_detached;
pub use stop::{is_protected, stop_process, StopOutcome};
