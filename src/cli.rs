//! The command line: raw flags (clap), every clap struct of the binary,
//! resolved once (`crate::resolved`) before anything runs. Exit codes:
//! `crate::exit`.
//!
//! Flags every command uses (`--hosts`, `--world`, `--state-dir`, `--node`,
//! `--output`) are global. The others belong to the commands that use them
//! and show only in their `--help`; `--now`, `--events`, `--insecure-config`
//! and `--metrics-file` are also accepted before the command (hidden there),
//! as they always were, and ignored by a command that has no use for them.
use std::path::PathBuf;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::events::EventKind;

type Time = chrono::DateTime<chrono::Utc>;

#[derive(Parser, Debug)]
#[command(
    name = "supervisorctl",
    version,
    about = "Reconcile a fleet of services and AI models with the state declared in hosts/"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(flatten)]
    pub before: BeforeCommand,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Desired state: one folder per node holding services.yaml
    #[arg(
        long,
        global = true,
        env = "SUPERVISORCTL_HOSTS",
        default_value = "hosts",
        value_hint = clap::ValueHint::DirPath
    )]
    pub hosts: PathBuf,
    /// Actual state written by an observer
    #[arg(
        long,
        global = true,
        env = "SUPERVISORCTL_WORLD",
        default_value = "world",
        value_hint = clap::ValueHint::DirPath
    )]
    pub world: PathBuf,
    #[allow(
        clippy::doc_markdown,
        reason = "clap prints this doc comment as the flag's help, where backticks would show"
    )]
    /// Checkpoint, event log, overrides and lock [default: /var/lib/supervisorctl as root, else $XDG_STATE_HOME/supervisorctl]
    #[arg(long, global = true, env = "SUPERVISORCTL_STATE_DIR", value_hint = clap::ValueHint::DirPath)]
    pub state_dir: Option<PathBuf>,
    /// The local node: its actions are executed and its processes probed [default: the host name]
    #[arg(long, global = true)]
    pub node: Option<String>,
    /// human for people; json for programs (JSON objects, one a line); html: `replay` only
    #[arg(long, global = true, value_enum, default_value_t = OutputArg::Human)]
    pub output: OutputArg,
}

/// Flags of some commands, also accepted before the command name
/// (`supervisorctl --now T check`); given after it, the command's own wins.
#[derive(Args, Debug, Clone, Default)]
pub struct BeforeCommand {
    #[arg(long, hide = true, value_parser = parse_now)]
    pub now: Option<Time>,
    #[arg(long, hide = true)]
    pub events: Option<String>,
    #[arg(long, hide = true)]
    pub insecure_config: bool,
    #[arg(long, hide = true)]
    pub metrics_file: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputArg {
    Human,
    Json,
    // `replay` only: a self-contained HTML page on stdout.
    Html,
}

/// `--now`: the clock.
#[derive(Args, Debug, Clone, Default)]
pub struct Clock {
    /// Fix the clock (RFC 3339), for reproducible runs
    #[arg(long, value_parser = parse_now)]
    pub now: Option<Time>,
}

/// `--insecure-config`: for the commands that load hosts/.
#[derive(Args, Debug, Clone, Default)]
pub struct Trust {
    /// As root, go on even if hosts/ is writable by others (each problem becomes a warning, or a `config_insecure` event in a run)
    #[arg(long)]
    pub insecure_config: bool,
}

/// What `check`, `reconcile` and `watch` share: where events and metrics go.
#[derive(Args, Debug, Clone, Default)]
pub struct RunFlags {
    /// Where events go: a file to append to, or - for stdout [default: events.jsonl in the state directory; check: none]
    #[arg(long)]
    pub events: Option<String>,
    /// Write Prometheus metrics here after each run (atomically)
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub metrics_file: Option<PathBuf>,
    #[command(flatten)]
    pub clock: Clock,
    #[command(flatten)]
    pub trust: Trust,
}

/// What `events` and `audit` share: which log and which stretch of it.
#[derive(Args, Debug, Clone, Default)]
pub struct LogFlags {
    /// The event log to read [default: events.jsonl in the state directory]
    #[arg(long, value_hint = clap::ValueHint::FilePath)]
    pub events: Option<String>,
    /// Only events at or after this time: RFC 3339, or a duration ago (1h, 30m)
    #[arg(long, value_parser = parse_when)]
    pub since: Option<When>,
    /// Only events at or before this time: RFC 3339, or a duration ago (1h, 30m)
    #[arg(long, value_parser = parse_when)]
    pub until: Option<When>,
    /// Only events of this service: SERVICE, or NODE/SERVICE
    #[arg(long)]
    pub service: Option<String>,
    /// The clock that relative --since/--until count back from (RFC 3339)
    #[arg(long, value_parser = parse_now)]
    pub now: Option<Time>,
}

/// A `--since`/`--until` value: a time, or a duration before now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    At(Time),
    Ago(std::time::Duration),
}

impl When {
    pub fn resolve(self, now: Time) -> Time {
        match self {
            When::At(t) => t,
            When::Ago(d) => chrono::Duration::from_std(d).map_or(Time::MIN_UTC, |d| now - d),
        }
    }
}

fn parse_now(s: &str) -> Result<Time, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("`{s}` is not an RFC 3339 time ({e}); example: 2026-11-23T12:00:00Z"))
}

fn parse_when(s: &str) -> Result<When, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(When::At(t.with_timezone(&chrono::Utc)));
    }
    crate::desired::parse_duration(s).map(When::Ago).map_err(|_| {
        format!("`{s}` is neither an RFC 3339 time (2026-11-23T12:00:00Z) nor a duration ago (30m, 1h, 2d)")
    })
}

/// `--type`: one of [`EventKind::ALL`]; anything else is a usage error
/// that lists them, with a "did you mean" when one is close.
#[derive(Clone, Debug)]
pub struct EventTypeParser;

impl TypedValueParser for EventTypeParser {
    type Value = EventKind;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<EventKind, clap::Error> {
        let typed = value.to_string_lossy();
        if let Some(kind) = EventKind::parse(&typed) {
            return Ok(kind);
        }
        let names = EventKind::ALL.map(EventKind::as_str);
        let mut msg = format!(
            "unknown event type `{}` for `--type`\n\nvalid types: {}\n",
            crate::text::escape_control(&typed),
            names.join(", ")
        );
        if let Some(hint) = crate::desired::suggest::hint(&typed, names) {
            msg.push_str("\nhint: ");
            msg.push_str(&hint);
            msg.push('\n');
        }
        Err(clap::Error::raw(clap::error::ErrorKind::InvalidValue, msg).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            EventKind::ALL
                .into_iter()
                .map(|k| PossibleValue::new(k.as_str())),
        ))
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Pure drift check for CI: reads hosts, world and an optional checkpoint, writes nothing, prints the plan
    Check {
        /// A checkpoint to start from (read only)
        #[arg(long, value_hint = clap::ValueHint::FilePath)]
        checkpoint: Option<PathBuf>,
        /// Operator overrides (pins, holds) to apply (read only)
        #[arg(long, value_hint = clap::ValueHint::FilePath)]
        overrides: Option<PathBuf>,
        /// Probe this node (--node) like reconcile, from the state directory; no lock, writes nothing
        #[arg(long)]
        live: bool,
        #[command(flatten)]
        shard: ShardArgs,
        #[command(flatten)]
        run: RunFlags,
    },
    /// Observe, decide, execute (unless --dry-run), record events and the checkpoint
    Reconcile {
        /// Execute nothing; still record events and the checkpoint
        #[arg(long)]
        dry_run: bool,
        /// Do not probe live processes, health endpoints, memory or GPUs
        #[arg(long)]
        no_probe: bool,
        /// Wait up to this long for another run's lock (e.g. 30s)
        #[arg(long, value_parser = parse_duration_arg)]
        wait: Option<std::time::Duration>,
        #[command(flatten)]
        run: RunFlags,
    },
    /// Reconcile now, then again whenever hosts/ or the world change
    Watch {
        /// Execute nothing; still record events and the checkpoint
        #[arg(long)]
        dry_run: bool,
        /// Do not probe live processes, health endpoints, memory or GPUs
        #[arg(long)]
        no_probe: bool,
        /// Also reconcile this often without a change (default 60s; at least 1s)
        #[arg(long, value_parser = parse_interval_arg)]
        interval: Option<std::time::Duration>,
        #[command(flatten)]
        run: RunFlags,
    },
    /// Check hosts/ (and the world) and report every error
    Validate {
        #[command(flatten)]
        trust: Trust,
    },
    /// Services, health, attempts, backoff and last action, from the checkpoint
    Status {
        #[command(flatten)]
        trust: Trust,
    },
    /// The event log, filtered (`-n 20 --follow`: like `tail -n 20 -f`)
    Events {
        /// Keep printing new events as they are appended (from the end, unless -n or --since)
        #[arg(short = 'f', long)]
        follow: bool,
        /// Only the last N matching events (then keep following with --follow)
        #[arg(short = 'n', long = "lines", value_name = "N")]
        lines: Option<usize>,
        /// Only events of this type (repeatable)
        #[arg(long = "type", value_name = "TYPE", value_parser = EventTypeParser, hide_possible_values = true)]
        types: Vec<EventKind>,
        #[command(flatten)]
        log: LogFlags,
    },
    /// Keep SERVICE running whatever its services.yaml says
    Pin {
        #[arg(add = clap_complete::ArgValueCompleter::new(crate::commands::complete_targets::targets))]
        service: String,
        #[command(flatten)]
        trust: Trust,
    },
    /// Undo `pin` (or unpin a service pinned in services.yaml)
    Unpin {
        #[arg(add = clap_complete::ArgValueCompleter::new(crate::commands::complete_targets::targets))]
        service: String,
        #[command(flatten)]
        trust: Trust,
    },
    /// Execute no action on SERVICE until `release`
    Hold {
        #[arg(add = clap_complete::ArgValueCompleter::new(crate::commands::complete_targets::targets))]
        service: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        trust: Trust,
    },
    /// Undo `hold`
    Release {
        #[arg(add = clap_complete::ArgValueCompleter::new(crate::commands::complete_targets::targets))]
        service: String,
        #[command(flatten)]
        trust: Trust,
    },
    /// Restart SERVICE now, through the guardrails, and record it (policy: operator)
    Restart(OperatorArgs),
    /// Stop SERVICE now, through the guardrails, and record it (policy: operator)
    Stop(OperatorArgs),
    /// Start SERVICE now unless it runs, through the guardrails (policy: operator)
    Start(OperatorArgs),
    /// The last lines of a spawned SERVICE's output (`-n 20 -f`: like `tail -n 20 -F`)
    Logs(LogsArgs),
    /// Close SERVICE's restart circuit and forget its attempts (--tuning: forget its tuned values instead)
    Reset {
        #[arg(add = clap_complete::ArgValueCompleter::new(crate::commands::complete_targets::targets))]
        service: String,
        /// Forget adaptive tuning's values and evidence for SERVICE (the configured values apply again)
        #[arg(long)]
        tuning: bool,
        #[command(flatten)]
        trust: Trust,
    },
    /// Desired against actual, as a unified diff per node (exit 2 when they differ)
    Diff {
        /// Take this node's (--node) actual side from live probes, not the world
        #[arg(long)]
        live: bool,
        #[command(flatten)]
        trust: Trust,
    },
    /// The effective settings per node and the policy order
    Policies {
        #[command(flatten)]
        trust: Trust,
    },
    /// Decision records of past runs, from the event log
    Audit {
        /// Only the last N records
        #[arg(long, allow_negative_numbers = true)]
        limit: Option<usize>,
        #[command(flatten)]
        log: LogFlags,
    },
    /// Per-model demand forecast (EWMA of the request rate) and trend
    Forecast {
        #[command(flatten)]
        trust: Trust,
    },
    /// Probe this machine (the --node) and write what is seen as a world directory
    Observe {
        /// The world directory to write (with --count: a scenario folder for `replay`)
        #[arg(long, value_hint = clap::ValueHint::DirPath)]
        out: PathBuf,
        /// Record a scenario: observe this many times, into steps/NN/
        #[arg(long, requires = "every")]
        count: Option<u32>,
        /// Time between two observations of a recording
        #[arg(long, value_parser = parse_duration_arg, requires = "count")]
        every: Option<std::time::Duration>,
        #[command(flatten)]
        clock: Clock,
        #[command(flatten)]
        trust: Trust,
    },
    /// Write one self-contained HTML page about the fleet: grid, timelines, memory, incidents
    ///
    /// Built from hosts/, the state directory's checkpoint and overrides, and
    /// the event log (its rotated files too). The page loads nothing and runs
    /// no script; what cannot be read is skipped and listed on the page.
    Report {
        /// The HTML file to write (replaced atomically)
        #[arg(long, value_hint = clap::ValueHint::FilePath)]
        out: PathBuf,
        /// The window's start: RFC 3339, or a duration ago (24h, 30m, 7d)
        #[arg(long, value_parser = parse_when, default_value = "24h")]
        since: When,
        /// The event log to read [default: events.jsonl in the state directory]
        #[arg(long, value_hint = clap::ValueHint::FilePath)]
        events: Option<String>,
        #[command(flatten)]
        clock: Clock,
    },
    /// Print a shell completion script (bash, zsh or fish) to stdout
    Completions {
        #[arg(value_enum)]
        shell: Shell,
        /// A script that asks the binary while completing: node and service names from hosts/ too
        #[arg(long)]
        dynamic: bool,
    },
    /// Print the man page (roff) to stdout
    Man,
    /// Print the JSON Schema of services.yaml to stdout
    Schema,
    /// Run the decision core over a scenario's recorded worlds and score it
    ///
    /// The scenario folder supplies hosts/ and the worlds; nothing is written.
    Replay {
        /// The scenario folder: scenario.yaml, hosts/, one world per step
        #[arg(value_hint = clap::ValueHint::DirPath)]
        scenario: PathBuf,
        #[command(flatten)]
        trust: Trust,
    },
}

/// The arguments of `restart`, `stop` and `start`.
#[derive(Args, Debug, Clone)]
pub struct OperatorArgs {
    /// NODE/SERVICE, or a SERVICE on --node or unique in the fleet
    #[arg(add = clap_complete::ArgValueCompleter::new(crate::commands::complete_targets::targets))]
    pub service: String,
    /// Go past a restart backoff or an open restart circuit (recorded as
    /// `forced: true`); never past a hold
    #[arg(long)]
    pub force: bool,
    /// Exit once the action ran, without waiting to see the service up
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub run: RunFlags,
}

/// The arguments of `logs`.
#[derive(Args, Debug, Clone)]
pub struct LogsArgs {
    /// NODE/SERVICE, or a SERVICE on --node or unique in the fleet
    #[arg(add = clap_complete::ArgValueCompleter::new(crate::commands::complete_targets::targets))]
    pub service: String,
    /// Keep printing lines as they are appended
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// The last N lines
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 50)]
    pub lines: usize,
}

/// `check --shard K/N`.
#[derive(Args, Debug, Clone, Default)]
pub struct ShardArgs {
    /// Check only shard K of N (1 ≤ K ≤ N): a stable slice of the nodes, for a CI matrix
    #[arg(long, value_name = "K/N", value_parser = crate::commands::shard::parse_shard)]
    pub shard: Option<(u32, u32)>,
}

pub fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    crate::desired::parse_duration(s)
}

/// `watch --interval`: a duration of at least one second (a smaller one
/// would make `watch` a busy loop of runs).
pub fn parse_interval_arg(s: &str) -> Result<std::time::Duration, String> {
    // A fraction of a second is told the bound, not the general `500ms` hint.
    let d = parse_duration_arg(s).map_err(|e| {
        if s.starts_with("0.") {
            format!("invalid interval `{s}`: at least 1s, in whole units (e.g. `1s`, `30s`, `1m`)")
        } else {
            e
        }
    })?;
    if d < std::time::Duration::from_secs(1) {
        return Err(format!(
            "`{s}` is less than 1s; runs that often would be a busy loop"
        ));
    }
    Ok(d)
}
