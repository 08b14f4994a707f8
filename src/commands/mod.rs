//! Commands other than the run itself: each file is one command.
pub mod audit;
pub mod diff;
pub mod events;
pub mod forecast;
pub mod observe;
pub mod overrides;
pub mod policies;
pub mod status;
pub mod stdout;
pub mod target;
pub mod validate;
pub mod watch;
