//! The state directory's layout, in one place: every file and folder a
//! run, a command or the monitor uses under it is named here and nowhere
//! else (see docs/reference/state-dir.md).
use std::path::{Path, PathBuf};

/// A state directory, resolved once (`--state-dir`, else the default for
/// this user: `crate::resolved`): it owns the path, and [`Layout`] names
/// every file under it. A `&StateDir` is a `&Path` where one is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir(PathBuf);

impl StateDir {
    pub fn new(root: PathBuf) -> StateDir {
        StateDir(root)
    }

    /// Its files and folders.
    pub fn layout(&self) -> Layout<'_> {
        Layout(&self.0)
    }
}

impl std::ops::Deref for StateDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for StateDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// The paths under one state directory.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a>(&'a Path);

impl<'a> Layout<'a> {
    /// The layout of the state directory `root`.
    pub fn of(root: &'a Path) -> Layout<'a> {
        Layout(root)
    }

    pub fn root(self) -> &'a Path {
        self.0
    }

    /// What one run hands to the next.
    pub fn checkpoint(self) -> PathBuf {
        self.0.join("checkpoint.json")
    }

    /// Pins and holds from the command line.
    pub fn overrides(self) -> PathBuf {
        self.0.join("overrides.json")
    }

    /// The event log (rotated beside it: `.1`, `.2` …).
    pub fn events_log(self) -> PathBuf {
        self.0.join("events.jsonl")
    }

    /// Actions recorded before they run.
    pub fn intents(self) -> PathBuf {
        self.0.join("intents.jsonl")
    }

    /// Webhook deliveries still owed.
    pub fn outbox(self) -> PathBuf {
        self.0.join("webhooks.pending.json")
    }

    /// Active fallbacks, for a router.
    pub fn fallbacks(self) -> PathBuf {
        self.0.join("fallbacks.json")
    }

    /// One run at a time.
    pub fn lock(self) -> PathBuf {
        self.0.join("lock")
    }

    /// The pid file of a spawned `service`.
    pub fn pid(self, service: &str) -> PathBuf {
        self.0.join("pids").join(format!("{service}.pid"))
    }

    /// The log of a spawned `service` (rotated beside it).
    pub fn log(self, service: &str) -> PathBuf {
        self.0.join("logs").join(format!("{service}.log"))
    }

    /// How the last process of a spawned `service` ended.
    pub fn exits(self, service: &str) -> PathBuf {
        self.0.join("exits").join(format!("{service}.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_of_the_reference() {
        let l = Layout::of(Path::new("/var/lib/supervisorctl"));
        let names: Vec<PathBuf> = vec![
            l.checkpoint(),
            l.overrides(),
            l.events_log(),
            l.intents(),
            l.outbox(),
            l.fallbacks(),
            l.lock(),
            l.pid("web"),
            l.log("web"),
            l.exits("web"),
        ];
        let reference = include_str!("../../docs/reference/state-dir.md");
        for p in names {
            let rel = p
                .strip_prefix("/var/lib/supervisorctl")
                .unwrap()
                .display()
                .to_string();
            let rel = match rel.split_once('/') {
                Some((dir, _)) => rel.replace(&format!("{dir}/web"), &format!("{dir}/<service>")),
                None => rel,
            };
            assert!(
                reference.contains(&rel),
                "{rel} is not in docs/reference/state-dir.md"
            );
        }
    }
}
