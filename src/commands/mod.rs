//! Commands other than the run itself: each file is one command.
pub mod validate;
