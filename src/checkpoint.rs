//! The checkpoint: its data types live in the decision core
//! (`supervisor_core::checkpoint`); reading and writing it is `store`'s.
pub use supervisor_core::checkpoint::*;

/// Reads `<dir>/checkpoint.json` for commands that report or edit it
/// (`status`, `forecast`, `reset`): missing is empty state, unreadable is an
/// error (unlike a run, these commands must not set it aside).
pub fn read_for_command(dir: &std::path::Path) -> anyhow::Result<Option<Checkpoint>> {
    use crate::store::checkpoint::{load, Loaded};
    let path = crate::store::Layout::of(dir).checkpoint();
    match load::<Checkpoint>(&path) {
        Loaded::Ready(cp) => Ok(Some(cp)),
        Loaded::Missing => Ok(None),
        Loaded::Unreadable { error } => {
            anyhow::bail!(
                "cannot read checkpoint `{}`: {error}\n\nhint: the next `reconcile` sets it \
                 aside (`checkpoint.json.corrupt-<time>`) and starts from an empty state",
                path.display()
            )
        }
    }
}
