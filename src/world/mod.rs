//! Actual state as an observer wrote it: the world directory. The data
//! types live in the decision core (`supervisor_core::world`); reading the
//! directory is `load`'s.
pub mod load;

pub use supervisor_core::world::*;
