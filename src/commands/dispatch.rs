//! From the command line to the command that runs: the flags are resolved
//! once (`crate::resolved`: the state directory, the local node, the clock,
//! the output, the environment's settings), then [`dispatch`] is a table
//! from each command to the function that runs it with what it needs.
use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::cli::{Cli, Command, LogFlags, OperatorArgs, OutputArg};
use crate::commands::{self, overrides::Op};
use crate::core::{Mode, OperatorAction};
use crate::desired::Fleet;
use crate::exit::Exit;
use crate::resolved::Resolved;
use crate::run::RunOptions;

pub fn dispatch(cli: Cli) -> Result<Exit> {
    let (r, command) = crate::resolved::resolve(cli)?;
    commands::stdout::set_json(r.json());
    let r = &r;
    match command {
        Command::Check {
            checkpoint,
            overrides,
            live,
            shard,
            ..
        } => {
            let mut opts = run_opts(r, Mode::Check, live, None);
            (opts.checkpoint_file, opts.overrides_file) = (checkpoint, overrides);
            opts.shard = shard.shard;
            crate::metrics::run(&opts)
        }
        Command::Reconcile {
            dry_run,
            no_probe,
            wait,
            ..
        } => crate::metrics::run(&run_opts(r, Mode::Reconcile { dry_run }, !no_probe, wait)),
        Command::Watch {
            dry_run,
            no_probe,
            interval,
            ..
        } => watch(r, dry_run, !no_probe, interval),
        Command::Validate { .. } => validate(r),
        Command::Status { .. } => with_fleet(r, |f| {
            let local = crate::run::local_node(f, &r.hosts, &r.node, false)?;
            commands::status::run(f, &r.state, local.as_deref(), r.json(), r.clock.now())
        }),
        Command::Events {
            follow,
            lines,
            types,
            log,
        } => events(r, &log, types, lines, follow),
        Command::Pin { service, .. } => overrides(r, Op::Pin, &service, None),
        Command::Unpin { service, .. } => overrides(r, Op::Unpin, &service, None),
        Command::Hold {
            service, reason, ..
        } => overrides(r, Op::Hold, &service, reason),
        Command::Release { service, .. } => overrides(r, Op::Release, &service, None),
        Command::Reset {
            service, tuning, ..
        } => overrides(r, Op::reset(tuning), &service, None),
        Command::Diff { live, .. } => with_fleet(r, |f| diff(r, f, live)),
        Command::Policies { .. } => with_fleet(r, |f| {
            let cp = crate::checkpoint::read_for_command(&r.state)?;
            commands::policies::run(f, cp.as_ref(), r.json())
        }),
        Command::Audit { limit, log } => audit(r, &log, limit),
        Command::Forecast { .. } => {
            with_fleet(r, |f| commands::forecast::run(f, &r.state, r.json()))
        }
        Command::Observe {
            out, count, every, ..
        } => with_fleet(r, |f| observe(r, f, &out, count.zip(every))),
        Command::Restart(a) => operator(r, &a, OperatorAction::Restart),
        Command::Stop(a) => operator(r, &a, OperatorAction::Stop),
        Command::Start(a) => operator(r, &a, OperatorAction::Start),
        Command::Logs(a) => with_fleet(r, |f| match local(r, f)? {
            Some(local) => commands::logs::run(f, &r.state, &local, &a),
            None => Ok(Exit::Error),
        }),
        Command::Report { out, since, .. } => report(r, &out, since),
        Command::Completions { shell, dynamic } => {
            commands::completions::completions(shell, dynamic)
        }
        Command::Man => commands::completions::man(),
        Command::Schema => commands::completions::schema(),
        Command::Replay { scenario, .. } => replay(r, &scenario),
    }
}

/// The options of one `check`/`reconcile` pass.
fn run_opts(r: &Resolved, mode: Mode, probe: bool, wait: Option<Duration>) -> RunOptions {
    RunOptions {
        hosts: r.hosts.clone(),
        world: r.world.clone(),
        state_dir: r.state.clone(),
        checkpoint_file: None,
        overrides_file: None,
        node: r.node.clone(),
        clock: r.clock,
        output: r.run_output(),
        events: r.events.clone(),
        mode,
        probe,
        wait,
        metrics_file: r.metrics_file.clone(),
        insecure_config: r.insecure_config,
        operator: None,
        shard: None,
        settings: r.settings.clone(),
    }
}

/// hosts/, loaded the way every command loads it (`run::load_trusted_fleet`:
/// config errors, then the root trust check), then `f`; exit 1 when it is
/// refused, with the reasons on stderr. Problems let through by
/// `--insecure-config` are warnings.
fn with_fleet(r: &Resolved, f: impl FnOnce(&Fleet) -> Result<Exit>) -> Result<Exit> {
    let Some((fleet, insecure)) = crate::run::load_trusted_fleet(&r.hosts, r.insecure_config)
    else {
        return Ok(Exit::Error);
    };
    for p in &insecure {
        eprintln!("warning: {p} (--insecure-config)");
    }
    f(&fleet)
}

/// The local node, which a command that probes or acts here needs: an
/// error when it names no node of `fleet` (`run::local_node`).
fn local(r: &Resolved, fleet: &Fleet) -> Result<Option<String>> {
    crate::run::local_node(fleet, &r.hosts, &r.node, true)
}

fn watch(r: &Resolved, dry_run: bool, probe: bool, interval: Option<Duration>) -> Result<Exit> {
    let wait = Some(Duration::from_secs(30));
    let opts = run_opts(r, Mode::Reconcile { dry_run }, probe, wait);
    // Mistakes end `watch` at once instead of failing every pass.
    let Some((fleet, _)) = crate::run::load_trusted_fleet(&r.hosts, r.insecure_config) else {
        return Ok(Exit::Error);
    };
    match local(r, &fleet)? {
        Some(local) => commands::watch::watch(&opts, &local, interval),
        None => Ok(Exit::Error),
    }
}

fn validate(r: &Resolved) -> Result<Exit> {
    if r.json() {
        return commands::validate_json::run(&r.hosts, &r.world, r.insecure_config);
    }
    with_fleet(r, |f| commands::validate::run(f, &r.hosts, &r.world))
}

fn events(
    r: &Resolved,
    log: &LogFlags,
    types: Vec<crate::events::EventKind>,
    lines: Option<usize>,
    follow: bool,
) -> Result<Exit> {
    let q = log_query(r, log)?;
    let filter = commands::events::Filter {
        types,
        node: q.node,
        service: q.service,
        since: q.since,
        until: q.until,
    };
    commands::events::run(&r.events_log(), &filter, lines, follow)
}

fn audit(r: &Resolved, log: &LogFlags, limit: Option<usize>) -> Result<Exit> {
    let q = log_query(r, log)?;
    let query = commands::audit::Query {
        since: q.since,
        until: q.until,
        node: q.node,
        service: q.service,
        limit,
    };
    commands::audit::run(&r.events_log(), &query, r.json())
}

fn overrides(r: &Resolved, op: Op, service: &str, reason: Option<String>) -> Result<Exit> {
    with_fleet(r, |fleet| {
        let (node, svc) = commands::target::resolve(fleet, service, r.node.given.as_deref())?;
        let now = r.clock.now();
        commands::overrides::run(op, fleet, &r.state, &node, &svc, reason, now)
    })
}

fn diff(r: &Resolved, fleet: &Fleet, live: bool) -> Result<Exit> {
    let missing = |e: std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    if !live && std::fs::metadata(&r.world).is_err_and(missing) {
        anyhow::bail!("world directory `{}` does not exist\n\nhint: check `--world` (or $SUPERVISORCTL_WORLD)", r.world.display());
    }
    let probed = if live {
        let node = local(r, fleet)?.unwrap_or_default();
        Some(commands::diff::probe(fleet, &node, &r.state))
    } else {
        None
    };
    // Models this tool evicted on purpose are desired evicted.
    let cp = crate::checkpoint::read_for_command(&r.state)?.unwrap_or_default();
    commands::diff::run(fleet, &r.world, &cp, probed.as_ref(), r.json())
}

/// `observe`, or with `--count N --every D` a recording of N steps.
fn observe(
    r: &Resolved,
    fleet: &Fleet,
    out: &Path,
    recording: Option<(u32, Duration)>,
) -> Result<Exit> {
    let name = local(r, fleet)?;
    let Some(node) = name.and_then(|n| fleet.nodes.get(&n)) else {
        return Ok(Exit::Error); // local_node reports every other case
    };
    let Some((count, every)) = recording else {
        // The state directory as every command resolves it: a spawned
        // service's pid file is there (the shipped observer unit passes
        // no `--state-dir`).
        return commands::observe::run(node, out, &r.state, r.clock.now());
    };
    let max = crate::replay::scenario::MAX_STEPS;
    if every.is_zero() || count == 0 || count > max {
        anyhow::bail!(
            "a recording needs `--every` above 0 and `--count` from 1 to {max} (got --every {}, --count {count})\n\nhint: a scenario holds at most {max} steps; record a longer stretch as several scenarios",
            crate::fmt::duration(every)
        );
    }
    commands::capture::record(&commands::capture::Recording {
        fleet,
        hosts: &r.hosts,
        node,
        out,
        state_dir: &r.state,
        clock: r.clock,
        every,
        count,
    })
}

/// `restart`/`stop`/`start`: a live reconcile pass carrying the request.
fn operator(r: &Resolved, a: &OperatorArgs, action: OperatorAction) -> Result<Exit> {
    let mode = Mode::Reconcile { dry_run: false };
    let opts = run_opts(r, mode, true, Some(Duration::from_secs(10)));
    commands::operator::run(opts, action, a)
}

fn report(r: &Resolved, out: &Path, since: crate::cli::When) -> Result<Exit> {
    let now = r.clock.now();
    commands::report::run(&commands::report::Request {
        hosts: &r.hosts,
        state_dir: &r.state,
        events_log: r.events_log(),
        out,
        now,
        since: since.resolve(now),
    })
}

fn replay(r: &Resolved, scenario: &Path) -> Result<Exit> {
    match r.output {
        OutputArg::Html => crate::replay::run_html(scenario, r.insecure_config),
        _ => crate::replay::run(scenario, r.run_output(), r.insecure_config),
    }
}

/// What `events` and `audit` keep: the time window (relative times
/// counted back from the clock), the node (`--node`, or the NODE of
/// `--service NODE/SERVICE`) and the service.
struct LogQuery {
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    node: Option<String>,
    service: Option<String>,
}

/// `--events` given to a reader of the log names one that is there: a
/// missing state directory log is a fleet with no events yet, a missing
/// named one is a mistake (`events` would print nothing and exit 0).
fn named_log_is_there(target: &crate::run::EventsTarget) -> Result<()> {
    match target {
        crate::run::EventsTarget::Stdout => anyhow::bail!(
            "`--events -` is where a run prints its events (stdout); `events` and `audit` read a log: give its path, or leave `--events` out to read the state directory's"
        ),
        crate::run::EventsTarget::File(p)
            if std::fs::symlink_metadata(p)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
        {
            anyhow::bail!(
                "no event log at `{}`: check the path, or leave `--events` out to read the state directory's",
                p.display()
            )
        }
        _ => Ok(()),
    }
}

fn log_query(r: &Resolved, log: &LogFlags) -> Result<LogQuery> {
    named_log_is_there(&r.events)?;
    let now = r.clock.now();
    let given = r.node.given.as_deref();
    let (node, service) = match log.service.as_deref().map(|s| s.split_once('/')) {
        Some(Some((n, s))) => {
            if given.is_some_and(|given| given != n) {
                anyhow::bail!(
                    "`--service {n}/{s}` names node `{n}` but `--node` is `{}`",
                    given.unwrap_or_default()
                );
            }
            (Some(n.to_string()), Some(s.to_string()))
        }
        _ => (given.map(str::to_string), log.service.clone()),
    };
    check_names(
        &r.hosts,
        &r.events_log(),
        node.as_deref(),
        service.as_deref(),
    )?;
    Ok(LogQuery {
        since: log.since.map(|w| w.resolve(now)),
        until: log.until.map(|w| w.resolve(now)),
        node,
        service,
    })
}

/// A `--node` or `--service` filter that names nothing hosts/ declares is
/// a mistake, not an empty answer (like `--type nope`): an error with the
/// known names and a did-you-mean. Without a readable hosts/ (a log copied
/// from elsewhere), names are not checked; a service no longer declared
/// whose events the log holds (its history after `service_removed`) is
/// no mistake either.
fn check_names(hosts: &Path, log: &Path, node: Option<&str>, service: Option<&str>) -> Result<()> {
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
    if !known.contains(&s) && !in_log(log, s) {
        let hint = crate::desired::suggest::hint(s, known.iter().copied())
            .map(|h| format!("\n\nhint: {h}"))
            .unwrap_or_default();
        let scope = node.map_or(String::new(), |n| format!(" on node `{n}`"));
        anyhow::bail!("no service `{s}`{scope} in `{}`{hint}", hosts.display());
    }
    Ok(())
}

/// Whether the event log (or a rotated file of it) has an event of
/// `service`. Service names are plain (`[A-Za-z0-9_.-]`), so the JSON of
/// the field is the name between quotes.
fn in_log(log: &Path, service: &str) -> bool {
    let needle = format!("\"service\":\"{service}\"");
    let mut paths = crate::store::rotate::rotated_paths(log);
    paths.push(log.to_path_buf());
    paths.iter().any(|path| {
        std::fs::read(path)
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}
