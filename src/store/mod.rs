//! The durable edge: everything supervisorctl keeps between runs lives in
//! the state directory (docs/reference/state-dir.md) and is written only through this module.
//! Each file here documents what it guarantees, what it assumes and where
//! it falls short; the decision core never touches the file system itself.
pub mod atomic;
pub mod checkpoint;
pub mod dirhandle;
pub mod eventlog;
pub mod fallbacks;
mod file;
/// Reading a file of ours or an operator's: no symlink, no FIFO, regular only.
pub(crate) use file::{open_regular, read_limited};
pub mod intents;
pub mod layout;
pub use layout::{Layout, StateDir};
pub mod lock;
pub mod outbox;
pub mod overrides;
pub mod rotate;
pub mod statedir;

#[cfg(test)]
mod tests;
