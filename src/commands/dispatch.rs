//! From parsed flags (`crate::cli`) to the command that runs: flags given
//! before the command name are merged with the command's own (its own
//! win), paths are defaulted, and each command gets what it needs.
use crate::exit::Exit;
use std::path::{Path, PathBuf};

use crate::cli::{BeforeCommand, Cli, Command, Global, LogFlags, OutputArg, RunFlags};
use crate::commands::{self, overrides::Op};
use crate::core::{Mode, OperatorAction};
use crate::run::{EventsTarget, Output, RunOptions};

pub fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    let g = cli.global;
    let b = cli.before;
    // The state directory is resolved here, once (`--state-dir`, else the
    // default for this user); nothing downstream defaults it again.
    let state = g
        .state_dir
        .clone()
        .unwrap_or_else(crate::store::statedir::default_state_dir);
    let json = g.output == OutputArg::Json;
    if g.output == OutputArg::Html && !matches!(cli.command, Command::Replay { .. }) {
        anyhow::bail!(
            "`--output html` is for `replay` only\n\nhint: `supervisorctl report --out FILE.html` writes the fleet's page"
        );
    }
    commands::stdout::set_json(json);
    // `--insecure-config` given before the command, or after it.
    let insecure = |own: bool| own || b.insecure_config;
    match cli.command {
        Command::Check {
            checkpoint,
            overrides,
            live,
            shard,
            run,
        } => {
            let mut opts = run_opts(&g, &b, &state, &run, Mode::Check, live, None);
            opts.checkpoint_file = checkpoint;
            opts.overrides_file = overrides;
            opts.shard = shard.shard;
            crate::metrics::run(&opts)
        }
        Command::Reconcile {
            dry_run,
            no_probe,
            wait,
            run,
        } => crate::metrics::run(&run_opts(
            &g,
            &b,
            &state,
            &run,
            Mode::Reconcile { dry_run },
            !no_probe,
            wait,
        )),
        Command::Validate { trust } => {
            let insecure = insecure(trust.insecure_config);
            if json {
                return commands::validate_json::run(&g.hosts, &g.world, insecure);
            }
            match fleet(&g, insecure) {
                Some(fleet) => commands::validate::run(&fleet, &g.hosts, &g.world),
                None => Ok(Exit::Error),
            }
        }
        Command::Watch {
            dry_run,
            no_probe,
            interval,
            run,
        } => {
            let opts = run_opts(
                &g,
                &b,
                &state,
                &run,
                Mode::Reconcile { dry_run },
                !no_probe,
                Some(std::time::Duration::from_secs(30)),
            );
            // Mistakes end `watch` at once instead of failing every pass.
            let Some((fleet, _)) = crate::run::load_trusted_fleet(&g.hosts, opts.insecure_config)
            else {
                return Ok(Exit::Error);
            };
            crate::run::local_node(&fleet, &g.hosts, g.node.as_deref(), true)?;
            commands::watch::watch(&opts, interval)
        }
        Command::Status { trust } => {
            let Some(fleet) = fleet(&g, insecure(trust.insecure_config)) else {
                return Ok(Exit::Error);
            };
            commands::status::run(&fleet, &state, json, b.now)
        }
        Command::Events {
            follow,
            lines,
            types,
            log,
        } => {
            let (path, window, node, service) = log_query(&g, &b, &state, &log)?;
            let filter = commands::events::Filter {
                types,
                node,
                service,
                since: window.0,
                until: window.1,
            };
            commands::events::run(&path, &filter, lines, follow)
        }
        Command::Pin { service, trust } => overrides(
            &g,
            &state,
            insecure(trust.insecure_config),
            Op::Pin,
            &service,
            None,
        ),
        Command::Unpin { service, trust } => overrides(
            &g,
            &state,
            insecure(trust.insecure_config),
            Op::Unpin,
            &service,
            None,
        ),
        Command::Hold {
            service,
            reason,
            trust,
        } => overrides(
            &g,
            &state,
            insecure(trust.insecure_config),
            Op::Hold,
            &service,
            reason,
        ),
        Command::Release { service, trust } => overrides(
            &g,
            &state,
            insecure(trust.insecure_config),
            Op::Release,
            &service,
            None,
        ),
        Command::Reset {
            service,
            tuning,
            trust,
        } => overrides(
            &g,
            &state,
            insecure(trust.insecure_config),
            if tuning { Op::ResetTuning } else { Op::Reset },
            &service,
            None,
        ),
        Command::Diff { live, trust } => {
            let Some(fleet) = fleet(&g, insecure(trust.insecure_config)) else {
                return Ok(Exit::Error);
            };
            let missing = |e: std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
            if !live && std::fs::metadata(&g.world).is_err_and(missing) {
                anyhow::bail!("world directory `{}` does not exist\n\nhint: check `--world` (or $SUPERVISORCTL_WORLD)", g.world.display());
            }
            let probed = if live {
                let node = crate::run::local_node(&fleet, &g.hosts, g.node.as_deref(), true)?
                    .unwrap_or_default();
                Some(commands::diff::probe(&fleet, &node, &state))
            } else {
                None
            };
            // Models this tool evicted on purpose are desired evicted.
            let cp = crate::checkpoint::read_for_command(&state)?.unwrap_or_default();
            commands::diff::run(&fleet, &g.world, &cp, probed, json)
        }
        Command::Policies { trust } => {
            let Some(fleet) = fleet(&g, insecure(trust.insecure_config)) else {
                return Ok(Exit::Error);
            };
            let cp = crate::checkpoint::read_for_command(&state)?;
            commands::policies::run(&fleet, cp.as_ref(), json)
        }
        Command::Audit { limit, log } => {
            let (path, window, node, service) = log_query(&g, &b, &state, &log)?;
            let q = commands::audit::Query {
                since: window.0,
                until: window.1,
                node,
                service,
                limit,
            };
            commands::audit::run(&path, &q, json)
        }
        Command::Forecast { trust } => {
            let Some(fleet) = fleet(&g, insecure(trust.insecure_config)) else {
                return Ok(Exit::Error);
            };
            commands::forecast::run(&fleet, &state, json)
        }
        Command::Observe {
            out,
            count,
            every,
            clock,
            trust,
        } => {
            let Some(fleet) = fleet(&g, insecure(trust.insecure_config)) else {
                return Ok(Exit::Error);
            };
            let name = crate::run::local_node(&fleet, &g.hosts, g.node.as_deref(), true)?;
            let Some(node) = name.and_then(|n| fleet.nodes.get(&n)) else {
                return Ok(Exit::Error); // local_node reports every other case
            };
            let now = clock.now.or(b.now);
            match (count, every) {
                (Some(count), Some(every)) => {
                    let max = crate::replay::scenario::MAX_STEPS;
                    if every.is_zero() || count == 0 || count > max {
                        anyhow::bail!(
                            "a recording needs `--every` above 0 and `--count` from 1 to {max} (got --every {}, --count {count})\n\nhint: a scenario holds at most {max} steps; record a longer stretch as several scenarios",
                            crate::fmt::duration(every)
                        );
                    }
                    commands::record::record(&commands::record::Recording {
                        fleet: &fleet,
                        hosts: &g.hosts,
                        node,
                        out: &out,
                        state_dir: &state,
                        fixed_start: now,
                        every,
                        count,
                    })
                }
                // The state directory as every command resolves it: a spawned
                // service's pid file is there (the shipped observer unit
                // passes no `--state-dir`).
                _ => {
                    commands::observe::run(node, &out, &state, now.unwrap_or_else(chrono::Utc::now))
                }
            }
        }
        Command::Restart(a) => operator(&g, &b, &state, a, OperatorAction::Restart),
        Command::Stop(a) => operator(&g, &b, &state, a, OperatorAction::Stop),
        Command::Start(a) => operator(&g, &b, &state, a, OperatorAction::Start),
        Command::Logs(a) => {
            let Some(fleet) = fleet(&g, b.insecure_config) else {
                return Ok(Exit::Error);
            };
            let Some(local) = crate::run::local_node(&fleet, &g.hosts, g.node.as_deref(), true)?
            else {
                return Ok(Exit::Error);
            };
            commands::logs::run(&fleet, &state, &local, &a)
        }
        Command::Report {
            out,
            since,
            events,
            clock,
        } => {
            let now = clock.now.or(b.now).unwrap_or_else(chrono::Utc::now);
            let log =
                EventsTarget::from_flag(events.as_deref().or(b.events.as_deref())).log(&state);
            commands::report::run(&commands::report::Request {
                hosts: &g.hosts,
                state_dir: &state,
                events_log: log,
                out: &out,
                now,
                since: since.resolve(now),
            })
        }
        Command::Completions { shell, dynamic } => {
            commands::completions::completions(shell, dynamic)
        }
        Command::Man => commands::completions::man(),
        Command::Schema => commands::completions::schema(),
        Command::Replay { scenario, trust } if g.output == OutputArg::Html => {
            crate::replay::run_html(&scenario, insecure(trust.insecure_config))
        }
        Command::Replay { scenario, trust } => {
            let output = if json { Output::Json } else { Output::Human };
            crate::replay::run(&scenario, output, insecure(trust.insecure_config))
        }
    }
}

/// The options of one `check`/`reconcile` pass.
fn run_opts(
    g: &Global,
    b: &BeforeCommand,
    state: &Path,
    run: &RunFlags,
    mode: Mode,
    probe: bool,
    wait: Option<std::time::Duration>,
) -> RunOptions {
    RunOptions {
        hosts: g.hosts.clone(),
        world: g.world.clone(),
        state_dir: state.to_path_buf(),
        checkpoint_file: None,
        overrides_file: None,
        node: g.node.clone(),
        now: run.clock.now.or(b.now),
        output: if g.output == OutputArg::Json {
            Output::Json
        } else {
            Output::Human
        },
        events: EventsTarget::from_flag(run.events.as_deref().or(b.events.as_deref())),
        mode,
        probe,
        wait,
        metrics_file: run.metrics_file.clone().or_else(|| b.metrics_file.clone()),
        insecure_config: run.trust.insecure_config || b.insecure_config,
        operator: None,
        shard: None,
    }
}

type Window = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
);

/// What `events` and `audit` read and keep: the log, the time window
/// (relative times counted back from `--now`, else the clock), the node
/// (`--node`, or the NODE of `--service NODE/SERVICE`) and the service.
fn log_query(
    g: &Global,
    b: &BeforeCommand,
    state: &Path,
    log: &LogFlags,
) -> anyhow::Result<(PathBuf, Window, Option<String>, Option<String>)> {
    let path = EventsTarget::from_flag(log.events.as_deref().or(b.events.as_deref())).log(state);
    let now = log.now.or(b.now).unwrap_or_else(chrono::Utc::now);
    let window = (
        log.since.map(|w| w.resolve(now)),
        log.until.map(|w| w.resolve(now)),
    );
    let (node, service) = match log.service.as_deref().map(|s| s.split_once('/')) {
        Some(Some((n, s))) => {
            if g.node.as_deref().is_some_and(|given| given != n) {
                anyhow::bail!(
                    "`--service {n}/{s}` names node `{n}` but `--node` is `{}`",
                    g.node.as_deref().unwrap_or_default()
                );
            }
            (Some(n.to_string()), Some(s.to_string()))
        }
        _ => (g.node.clone(), log.service.clone()),
    };
    check_names(&g.hosts, node.as_deref(), service.as_deref())?;
    Ok((path, window, node, service))
}

/// A `--node` or `--service` filter that names nothing hosts/ declares is
/// a mistake, not an empty answer (like `--type nope`): an error with the
/// known names and a did-you-mean. Without a readable hosts/ (a log copied
/// from elsewhere), names are not checked.
fn check_names(hosts: &Path, node: Option<&str>, service: Option<&str>) -> anyhow::Result<()> {
    let Ok(fleet) = crate::desired::load_fleet(hosts) else {
        return Ok(());
    };
    if let Some(n) = node.filter(|n| !fleet.nodes.contains_key(*n)) {
        let hint = crate::desired::suggest::hint(n, fleet.nodes.keys().map(String::as_str))
            .map(|h| format!("\n\nhint: {h}"))
            .unwrap_or_default();
        anyhow::bail!("no node `{n}` in `{}`{hint}", hosts.display());
    }
    let Some(s) = service else { return Ok(()) };
    let known: Vec<&str> = fleet
        .nodes
        .values()
        .filter(|spec| node.is_none_or(|n| spec.name == n))
        .flat_map(|spec| spec.services.keys().map(String::as_str))
        .collect();
    if !known.contains(&s) {
        let hint = crate::desired::suggest::hint(s, known.iter().copied())
            .map(|h| format!("\n\nhint: {h}"))
            .unwrap_or_default();
        let scope = node.map_or(String::new(), |n| format!(" on node `{n}`"));
        anyhow::bail!("no service `{s}`{scope} in `{}`{hint}", hosts.display());
    }
    Ok(())
}

/// hosts/, loaded the way every command loads it (`run::load_trusted_fleet`:
/// config errors, then the root trust check); None when refused, with the
/// reasons on stderr. Problems let through by `--insecure-config` are
/// warnings.
fn fleet(g: &Global, insecure_config: bool) -> Option<crate::desired::Fleet> {
    let (fleet, insecure) = crate::run::load_trusted_fleet(&g.hosts, insecure_config)?;
    for p in &insecure {
        eprintln!("warning: {p} (--insecure-config)");
    }
    Some(fleet)
}

fn overrides(
    g: &Global,
    state: &Path,
    insecure_config: bool,
    op: Op,
    service: &str,
    reason: Option<String>,
) -> anyhow::Result<Exit> {
    let Some(fleet) = fleet(g, insecure_config) else {
        return Ok(Exit::Error);
    };
    let (node, svc) = commands::target::resolve(&fleet, service, g.node.as_deref())?;
    commands::overrides::run(op, &fleet, state, &node, &svc, reason)
}

/// `restart`/`stop`/`start`: a live reconcile pass carrying the request.
fn operator(
    g: &Global,
    b: &BeforeCommand,
    state: &Path,
    a: commands::operator::OperatorArgs,
    action: OperatorAction,
) -> anyhow::Result<Exit> {
    let mode = Mode::Reconcile { dry_run: false };
    let wait = Some(std::time::Duration::from_secs(10));
    let opts = run_opts(g, b, state, &a.run, mode, true, wait);
    commands::operator::run(opts, action, &a)
}
