//! `<state-dir>/fallbacks.json`, the file a router reads to send a dead
//! service's traffic to its backup (docs/reference/behaviour.md, "Drift and policies"):
//! `{"<node>/<primary>": {"to": "<backup>", "since": T}}`.
//!
//! **Guarantees.** The file is replaced atomically, so a router never reads
//! half of it; an empty map is written as `{}`, not deleted, so "no
//! fallbacks" is explicit. Keys come out sorted.
//!
//! **Assumptions.** Routers poll or watch the file and re-read it whole.
//!
//! **Caveats.** The file is created with mode 0644 (before the umask) so a
//! router running as another user can read it, but the state directory is
//! 0700 by default: such a router needs that folder opened up.
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use super::atomic::write_atomic_mode;
use super::checkpoint::to_pretty_json;
use super::file::{describe, read_limited};

/// One entry: the same type as the checkpoint's.
pub use crate::checkpoint::Fallback as FallbackEntry;

/// Replaces `path` with `map` (keys `<node>/<primary>`).
pub fn write_fallbacks(path: &Path, map: &BTreeMap<String, FallbackEntry>) -> io::Result<()> {
    write_atomic_mode(path, &to_pretty_json(map)?, 0o644)
}

/// Reads `path`; a missing file is no fallbacks.
pub fn load_fallbacks(path: &Path) -> Result<BTreeMap<String, FallbackEntry>, String> {
    let shown = path.display();
    match read_limited(path, 16 * 1024 * 1024) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| format!("invalid fallbacks `{shown}`: {e}"))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(format!("cannot read fallbacks `{shown}`: {}", describe(&e))),
    }
}
