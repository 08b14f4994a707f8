//! The command line resolved (ripgrep's `LowArgs` → `HiArgs`): `cli.rs` holds
//! the flags as clap parsed them; [`resolve`] turns them, once, into what
//! every command uses. It is the one place that defaults the state
//! directory, reads the host name, fixes the clock (`--now`, else live:
//! [`Clock`]) and reads the settings the environment gives besides flags
//! (`SUPERVISORCTL_TIMINGS`, the event log's rotation): nothing downstream
//! does any of it again.
use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::{BeforeCommand, Cli, Command, OutputArg, RunFlags};
use crate::clock::Clock;
use crate::run::{EventsTarget, Output};
use crate::store::rotate;
use crate::store::StateDir;

type Time = chrono::DateTime<chrono::Utc>;

/// What a command runs with.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub hosts: PathBuf,
    pub world: PathBuf,
    pub state: StateDir,
    pub node: LocalNode,
    pub clock: Clock,
    pub output: OutputArg,
    /// `--insecure-config`, before the command or after it.
    pub insecure_config: bool,
    /// `--events` (the command's own, else one given before it).
    pub events: EventsTarget,
    /// `--metrics-file` (the command's own, else one given before it).
    pub metrics_file: Option<PathBuf>,
    pub settings: Settings,
}

/// The local node: `--node`, else this machine's host name (read here,
/// once). Which of them names a node of hosts/ is `run::local_node`'s
/// question, asked with the fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalNode {
    pub given: Option<String>,
    pub host_name: Option<String>,
}

impl LocalNode {
    /// `--node`, else the host name (when it could be read).
    pub fn name(&self) -> Option<&str> {
        self.given.as_deref().or(self.host_name.as_deref())
    }
}

/// Settings from the environment that are no flag's default.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `SUPERVISORCTL_TIMINGS=1`: where a run's time went, on stderr.
    pub timings: bool,
    /// `SUPERVISORCTL_EVENTS_MAX_BYTES`, `SUPERVISORCTL_EVENTS_KEEP`.
    pub rotation: rotate::Settings,
    /// What was wrong with them (said when a run rotates its log).
    pub warnings: Vec<String>,
}

impl Settings {
    /// From `var` (the process's environment: [`std::env::var_os`]).
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Settings {
        let mut warnings = vec![];
        let rotation = rotate::Settings::from_vars(&var, &mut warnings);
        Settings {
            timings: var("SUPERVISORCTL_TIMINGS").is_some_and(|v| v == "1"),
            rotation,
            warnings,
        }
    }
}

impl Resolved {
    /// `--output json`.
    pub fn json(&self) -> bool {
        self.output == OutputArg::Json
    }

    /// The output of a run (`--output html` is `replay`'s alone).
    pub fn run_output(&self) -> Output {
        if self.json() {
            Output::Json
        } else {
            Output::Human
        }
    }

    /// The event log that `events`, `audit`, `report` read and a
    /// reconcile appends to.
    pub fn events_log(&self) -> PathBuf {
        self.events.log(&self.state)
    }
}

/// Resolves the command line; the command's own flags are kept for it.
pub fn resolve(cli: Cli) -> anyhow::Result<(Resolved, Command)> {
    let Cli {
        global: g,
        before: b,
        command,
    } = cli;
    if g.output == OutputArg::Html && !matches!(command, Command::Replay { .. }) {
        anyhow::bail!(
            "`--output html` is for `replay` only\n\nhint: `supervisorctl report --out FILE.html` writes the fleet's page"
        );
    }
    let own = Own::of(&command, &b);
    let resolved = Resolved {
        state: StateDir::new(g.state_dir.unwrap_or_else(default_state_dir)),
        hosts: g.hosts,
        world: g.world,
        node: LocalNode {
            given: g.node,
            host_name: host_name(),
        },
        clock: Clock::new(own.now),
        output: g.output,
        insecure_config: own.insecure_config,
        events: EventsTarget::from_flag(own.events.as_deref()),
        metrics_file: own.metrics_file,
        settings: Settings::from_vars(|name| std::env::var_os(name)),
    };
    Ok((resolved, command))
}

/// The flags a command may have of its own that may also come before it
/// (`supervisorctl --now T check`): its own win.
#[derive(Default)]
struct Own {
    now: Option<Time>,
    events: Option<String>,
    metrics_file: Option<PathBuf>,
    insecure_config: bool,
}

impl Own {
    fn of(command: &Command, b: &BeforeCommand) -> Own {
        let own = match command {
            Command::Check { run, .. }
            | Command::Reconcile { run, .. }
            | Command::Watch { run, .. } => Own::run(run),
            Command::Restart(a) | Command::Stop(a) | Command::Start(a) => Own::run(&a.run),
            Command::Events { log, .. } | Command::Audit { log, .. } => Own {
                now: log.now,
                events: log.events.clone(),
                ..Own::default()
            },
            Command::Observe { clock, trust, .. } => Own {
                now: clock.now,
                insecure_config: trust.insecure_config,
                ..Own::default()
            },
            Command::Report { events, clock, .. } => Own {
                now: clock.now,
                events: events.clone(),
                ..Own::default()
            },
            Command::Validate { trust }
            | Command::Status { trust }
            | Command::Pin { trust, .. }
            | Command::Unpin { trust, .. }
            | Command::Hold { trust, .. }
            | Command::Release { trust, .. }
            | Command::Reset { trust, .. }
            | Command::Diff { trust, .. }
            | Command::Policies { trust }
            | Command::Forecast { trust }
            | Command::Replay { trust, .. } => Own {
                insecure_config: trust.insecure_config,
                ..Own::default()
            },
            Command::Logs(_) | Command::Completions { .. } | Command::Man | Command::Schema => {
                Own::default()
            }
        };
        Own {
            now: own.now.or(b.now),
            events: own.events.or_else(|| b.events.clone()),
            metrics_file: own.metrics_file.or_else(|| b.metrics_file.clone()),
            insecure_config: own.insecure_config || b.insecure_config,
        }
    }

    fn run(run: &RunFlags) -> Own {
        Own {
            now: run.clock.now,
            events: run.events.clone(),
            metrics_file: run.metrics_file.clone(),
            insecure_config: run.trust.insecure_config,
        }
    }
}

/// This machine's host name, if it can be read (and is UTF-8).
fn host_name() -> Option<String> {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
}

/// `/var/lib/supervisorctl` for root; else `$XDG_STATE_HOME/supervisorctl`,
/// else `$HOME/.local/state/supervisorctl` (`store::statedir::state_dir_for`).
fn default_state_dir() -> PathBuf {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| {
            let user = nix::unistd::User::from_uid(nix::unistd::getuid()).ok()??;
            Some(user.dir.into_os_string())
        });
    crate::store::statedir::state_dir_for(
        nix::unistd::geteuid().is_root(),
        std::env::var_os("XDG_STATE_HOME"),
        home,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resolved(args: &[&str]) -> Resolved {
        let cli = Cli::try_parse_from(std::iter::once("supervisorctl").chain(args.iter().copied()))
            .expect("flags");
        resolve(cli).expect("resolves").0
    }

    #[test]
    fn a_commands_own_flags_win_over_those_before_it() {
        let r = resolved(&[
            "--now",
            "2026-01-01T00:00:00Z",
            "--events",
            "before.jsonl",
            "check",
            "--now",
            "2026-02-02T00:00:00Z",
        ]);
        assert_eq!(
            r.clock.fixed().map(|t| t.to_rfc3339()),
            Some("2026-02-02T00:00:00+00:00".into())
        );
        assert_eq!(r.events, EventsTarget::File("before.jsonl".into()));
        let r = resolved(&["--now", "2026-01-01T00:00:00Z", "hold", "web"]);
        assert!(r.clock.fixed().is_some(), "`--now` before any command");
    }

    #[test]
    fn the_state_dir_is_defaulted_once_and_names_every_file() {
        let r = resolved(&["--state-dir", "/tmp/s", "status"]);
        assert_eq!(
            r.state.layout().checkpoint(),
            PathBuf::from("/tmp/s/checkpoint.json")
        );
        assert_eq!(r.events_log(), PathBuf::from("/tmp/s/events.jsonl"));
        let r = resolved(&["status"]);
        assert!(r.state.ends_with("supervisorctl"), "{}", r.state.display());
    }

    #[test]
    fn the_environment_settings_are_read_from_what_is_given() {
        let var = |name: &str| match name {
            "SUPERVISORCTL_TIMINGS" => Some(OsString::from("1")),
            "SUPERVISORCTL_EVENTS_KEEP" => Some(OsString::from("lots")),
            _ => None,
        };
        let s = Settings::from_vars(var);
        assert!(s.timings);
        assert_eq!(s.rotation.keep, rotate::Settings::default().keep);
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    }
}
