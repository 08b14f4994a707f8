//! Commands other than the run itself: each file is one command.
pub mod events;
pub mod observe;
pub mod overrides;
pub mod status;
pub mod target;
pub mod validate;
