//! The command line: raw flags (clap) at the edge, resolved into
//! `RunOptions` before anything runs. Exit codes live here and in
//! `core::settle::Summary` (0 nominal, 2 degraded/reconciling, 3 unstable,
//! 1 error).
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{self, overrides::Op};
use crate::core::Mode;
use crate::run::{EventsTarget, Output, RunOptions};

/// Exit code for an error: bad input, lock held, I/O failure.
pub const EXIT_ERROR: i32 = crate::exit::ERROR;

#[derive(Parser, Debug)]
#[command(
    name = "supervisorctl",
    version,
    about = "Reconcile a fleet of services and AI models with the state declared in hosts/"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Desired state: one folder per node holding services.yaml
    #[arg(
        long,
        global = true,
        env = "SUPERVISORCTL_HOSTS",
        default_value = "hosts"
    )]
    pub hosts: PathBuf,
    /// Actual state written by an observer
    #[arg(
        long,
        global = true,
        env = "SUPERVISORCTL_WORLD",
        default_value = "world"
    )]
    pub world: PathBuf,
    /// Checkpoint, event log, overrides and lock [default: /var/lib/supervisorctl as root, else $XDG_STATE_HOME/supervisorctl]
    #[arg(long, global = true, env = "SUPERVISORCTL_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// The local node: its actions are executed and its processes probed [default: the host name]
    #[arg(long, global = true)]
    pub node: Option<String>,
    /// Fix the clock (RFC 3339), for reproducible runs
    #[arg(long, global = true, value_parser = parse_now)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// human for people; json prints exactly the run's events, one per line
    #[arg(long, global = true, value_enum, default_value_t = OutputArg::Human)]
    pub output: OutputArg,
    /// Where events go: a file to append to, or - for stdout
    #[arg(long, global = true)]
    pub events: Option<String>,
    /// As root, run even if hosts/ is writable by others (each problem becomes a `config_insecure` event)
    #[arg(long, global = true)]
    pub insecure_config: bool,
    /// Write Prometheus metrics here after each run (atomically)
    #[arg(long, global = true)]
    pub metrics_file: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputArg {
    Human,
    Json,
}

fn parse_now(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("`{s}` is not an RFC 3339 time ({e}); example: 2026-11-23T12:00:00Z"))
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Pure drift check for CI: reads hosts, world and an optional checkpoint, writes nothing, prints the plan
    Check {
        /// A checkpoint to start from (read only)
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Operator overrides (pins, holds) to apply (read only)
        #[arg(long)]
        overrides: Option<PathBuf>,
        /// Probe this node (--node) like reconcile and start from the state
        /// directory's checkpoint and overrides; takes no lock, writes nothing
        #[arg(long)]
        live: bool,
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
    },
    /// Reconcile now, then again whenever hosts/ or the world change
    Watch {
        /// Execute nothing; still record events and the checkpoint
        #[arg(long)]
        dry_run: bool,
        /// Do not probe live processes, health endpoints, memory or GPUs
        #[arg(long)]
        no_probe: bool,
        /// Also reconcile this often without a change (e.g. 30s)
        #[arg(long, value_parser = parse_duration_arg)]
        interval: Option<std::time::Duration>,
    },
    /// Check hosts/ (and the world) and report every error
    Validate,
    /// Services, health, attempts, backoff and last action, from the checkpoint
    Status,
    /// The event log, filtered
    Events {
        /// Keep printing new events as they are appended
        #[arg(long)]
        follow: bool,
        /// Only events of this type (repeatable)
        #[arg(long = "type")]
        types: Vec<String>,
        /// Only events of this service
        #[arg(long)]
        service: Option<String>,
    },
    /// Keep SERVICE running whatever its services.yaml says
    Pin { service: String },
    /// Undo `pin` (or unpin a service pinned in services.yaml)
    Unpin { service: String },
    /// Execute no action on SERVICE until `release`
    Hold {
        service: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Undo `hold`
    Release { service: String },
    /// Close SERVICE's restart circuit and forget its attempts
    Reset { service: String },
    /// Desired against actual, as a unified diff per node (exit 2 when they differ)
    Diff {
        /// Take this node's (--node) actual side from live probes, not the world
        #[arg(long)]
        live: bool,
    },
    /// The effective settings per node and the policy order
    Policies,
    /// Decision records of past runs, from the event log
    Audit {
        /// Only records at or after this time (RFC 3339)
        #[arg(long, value_parser = parse_now)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Only records at or before this time (RFC 3339)
        #[arg(long, value_parser = parse_now)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// Only records that mention this service
        #[arg(long)]
        service: Option<String>,
        /// Only the last N records
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Per-model demand forecast (EWMA of the request rate) and trend
    Forecast,
    /// Probe this machine (the --node) and write what is seen as a world directory
    Observe {
        /// The world directory to write
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    crate::desired::parse_duration(s)
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!("error: {}", crate::text::escape_control_lines(&message));
            EXIT_ERROR
        }
    }
}

/// Prints what clap has to say: `--help` and `--version` on stdout with
/// exit 0; a usage error (unknown flag or subcommand, bad value) on stderr
/// with exit 1, since 2 means degraded (SPEC §9).
fn usage(e: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
        _ => EXIT_ERROR,
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let g = cli.global;
    let run_opts = |mode, checkpoint_file, overrides_file, probe, wait| RunOptions {
        hosts: g.hosts.clone(),
        world: g.world.clone(),
        state_dir: g.state_dir.clone(),
        checkpoint_file,
        overrides_file,
        node: g.node.clone(),
        now: g.now,
        output: if g.output == OutputArg::Json {
            Output::Json
        } else {
            Output::Human
        },
        events: match g.events.as_deref() {
            None => EventsTarget::Default,
            Some("-") => EventsTarget::Stdout,
            Some(p) => EventsTarget::File(PathBuf::from(p)),
        },
        mode,
        probe,
        wait,
        metrics_file: g.metrics_file.clone(),
        insecure_config: g.insecure_config,
    };
    match cli.command {
        Command::Check {
            checkpoint,
            overrides,
            live,
        } => crate::metrics::run(&run_opts(Mode::Check, checkpoint, overrides, live, None)),
        Command::Reconcile {
            dry_run,
            no_probe,
            wait,
        } => crate::metrics::run(&run_opts(
            Mode::Reconcile { dry_run },
            None,
            None,
            !no_probe,
            wait,
        )),
        Command::Validate => match fleet(&g) {
            Some(fleet) => commands::validate::run(&fleet, &g.hosts, &g.world),
            None => Ok(EXIT_ERROR),
        },
        Command::Watch {
            dry_run,
            no_probe,
            interval,
        } => {
            // Mistakes end `watch` at once instead of failing every pass.
            let Some((fleet, _)) = crate::run::load_trusted_fleet(&g.hosts, g.insecure_config)
            else {
                return Ok(EXIT_ERROR);
            };
            crate::run::local_node(&fleet, &g.hosts, g.node.as_deref(), true)?;
            let opts = run_opts(
                Mode::Reconcile { dry_run },
                None,
                None,
                !no_probe,
                Some(std::time::Duration::from_secs(30)),
            );
            commands::watch::watch(&opts, interval)
        }
        Command::Status => {
            let Some(fleet) = fleet(&g) else {
                return Ok(EXIT_ERROR);
            };
            commands::status::run(&fleet, &state_dir(&g), g.output == OutputArg::Json)
        }
        Command::Events {
            follow,
            types,
            service,
        } => {
            let path = match g.events.as_deref() {
                Some(p) if p != "-" => PathBuf::from(p),
                _ => state_dir(&g).join("events.jsonl"),
            };
            let filter = commands::events::Filter {
                types,
                node: g.node.clone(),
                service,
            };
            commands::events::run(&path, &filter, follow)
        }
        Command::Pin { service } => overrides(&g, Op::Pin, &service, None),
        Command::Unpin { service } => overrides(&g, Op::Unpin, &service, None),
        Command::Hold { service, reason } => overrides(&g, Op::Hold, &service, reason),
        Command::Release { service } => overrides(&g, Op::Release, &service, None),
        Command::Reset { service } => overrides(&g, Op::Reset, &service, None),
        Command::Diff { live } => {
            let Some(fleet) = fleet(&g) else {
                return Ok(EXIT_ERROR);
            };
            let missing = |e: std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
            if !live && std::fs::metadata(&g.world).is_err_and(missing) {
                anyhow::bail!("world directory `{}` does not exist\n\nhint: check `--world` (or $SUPERVISORCTL_WORLD)", g.world.display());
            }
            let probed = if live {
                let node = crate::run::local_node(&fleet, &g.hosts, g.node.as_deref(), true)?
                    .unwrap_or_default();
                Some(commands::diff::probe(&fleet, &node, &state_dir(&g)))
            } else {
                None
            };
            commands::diff::run(&fleet, &g.world, probed)
        }
        Command::Policies => {
            let Some(fleet) = fleet(&g) else {
                return Ok(EXIT_ERROR);
            };
            commands::policies::run(&fleet, g.output == OutputArg::Json)
        }
        Command::Audit {
            since,
            until,
            service,
            limit,
        } => {
            let path = match g.events.as_deref() {
                Some(p) if p != "-" => PathBuf::from(p),
                _ => state_dir(&g).join("events.jsonl"),
            };
            let q = commands::audit::Query {
                since,
                until,
                node: g.node.clone(),
                service,
                limit,
            };
            commands::audit::run(&path, &q, g.output == OutputArg::Json)
        }
        Command::Forecast => {
            let Some(fleet) = fleet(&g) else {
                return Ok(EXIT_ERROR);
            };
            commands::forecast::run(&fleet, &state_dir(&g), g.output == OutputArg::Json)
        }
        Command::Observe { out } => {
            let Some(fleet) = fleet(&g) else {
                return Ok(EXIT_ERROR);
            };
            let name = crate::run::local_node(&fleet, &g.hosts, g.node.as_deref(), true)?;
            let Some(node) = name.and_then(|n| fleet.nodes.get(&n)) else {
                return Ok(EXIT_ERROR); // local_node reports every other case
            };
            commands::observe::run(
                node,
                &out,
                g.state_dir.as_deref(),
                g.now.unwrap_or_else(chrono::Utc::now),
            )
        }
    }
}

/// hosts/, loaded the way every command loads it (`run::load_trusted_fleet`:
/// config errors, then the root trust check); None when refused, with the
/// reasons on stderr. Problems let through by `--insecure-config` are
/// warnings.
fn fleet(g: &Global) -> Option<crate::desired::Fleet> {
    let (fleet, insecure) = crate::run::load_trusted_fleet(&g.hosts, g.insecure_config)?;
    for p in &insecure {
        eprintln!("warning: {p} (--insecure-config)");
    }
    Some(fleet)
}

fn state_dir(g: &Global) -> PathBuf {
    g.state_dir
        .clone()
        .unwrap_or_else(crate::store::statedir::default_state_dir)
}

fn overrides(g: &Global, op: Op, service: &str, reason: Option<String>) -> anyhow::Result<i32> {
    let Some(fleet) = fleet(g) else {
        return Ok(EXIT_ERROR);
    };
    let (node, svc) = commands::target::resolve(&fleet, service, g.node.as_deref())?;
    commands::overrides::run(op, &fleet, &state_dir(g), &node, &svc, reason)
}
