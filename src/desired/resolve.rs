//! From raw (serde) types to the resolved types of `spec`: the preset and
//! the defaults applied, and the rules that involve more than one field of
//! one section checked (one process matcher, one probe, thresholds in order,
//! `restart` or `spawn`, a maintenance window that is not empty).
use std::time::Duration;

use super::presets::{
    preset_settings, DEAD_AFTER, DEGRADED_AFTER, PROBE_TIMEOUT, RESTART_TIMEOUT, STOP_TIMEOUT,
};
use super::raw::{
    Fields, RawActivity, RawActivityMode, RawHealth, RawProcess, RawService, RawSupervisor,
};
use super::report::Report;
use super::spec::{
    ActivitySource, HealthSpec, LaunchSettings, LoadingAnswer, MaintenanceWindow, Origin, Preset,
    Probe, ProcessMatch, ServiceSpec, Settings, Start, Webhook, WebhookFormat,
};
use super::tree::{key, Seg};

fn path(parts: &[&str]) -> Vec<Seg> {
    parts.iter().map(|p| key(p)).collect()
}

fn child(base: &[Seg], field: &str) -> Vec<Seg> {
    let mut p = base.to_vec();
    p.push(key(field));
    p
}

/// The node's settings: the preset's, overridden by what the file says.
pub(crate) fn resolve_settings(raw: &RawSupervisor, report: &mut Report) -> Settings {
    let mut s = preset_settings(raw.preset.map_or(Preset::Balanced, Preset::from));
    if let Some(r) = raw.memory_pressure {
        s.memory_pressure = r.0;
    }
    if let Some(r) = raw.gpu_pressure {
        s.gpu_pressure = r.0;
    }
    if let Some(d) = raw.idle_timeout {
        s.idle_timeout = d.0;
    }
    if let Some(n) = raw.max_restart_attempts {
        s.max_restart_attempts = n;
    }
    s.idle_eviction = raw.idle_eviction.unwrap_or(s.idle_eviction);
    s.resource_optimization = raw.resource_optimization.unwrap_or(s.resource_optimization);
    s.max_actions_per_run = raw.max_actions_per_run.unwrap_or(s.max_actions_per_run);
    if let Some(d) = raw.node_offline_after {
        s.node_offline_after = d.0;
    }
    if let Some(d) = raw.start_grace {
        s.start_grace = d.0;
    }
    if let Some(r) = raw.breaker_retry {
        s.breaker_retry = r.0;
    }
    if let Some(d) = raw.load_timeout {
        s.load_timeout = d.0;
    }
    s.evict_orphans = raw.evict_orphans.unwrap_or(s.evict_orphans);
    s.predictive = raw.predictive.unwrap_or(s.predictive);
    if let Some(d) = raw.predict_horizon {
        s.predict_horizon = d.0;
    }
    s.adaptive = raw.adaptive.unwrap_or(s.adaptive);
    if let Some(d) = raw.probe_period {
        s.probe_period = d.0;
    }
    s.idle_without_activity = raw.idle_without_activity.unwrap_or(s.idle_without_activity);
    for (i, w) in raw.maintenance.iter().flatten().enumerate() {
        if w.from.0 == w.to.0 {
            let mut at = path(&["supervisor", "maintenance"]);
            at.extend([Seg::Index(i), key("to")]);
            report.at_value(
                &at,
                "maintenance window is empty: `from` and `to` are the same time".into(),
                Some("for a whole day, use from: \"00:00\" and to: \"24:00\"".into()),
            );
        }
        if w.days.as_ref().is_some_and(Vec::is_empty) {
            let mut at = path(&["supervisor", "maintenance"]);
            at.extend([Seg::Index(i), key("days")]);
            report.at_value(
                &at,
                "`days` is empty".into(),
                Some(
                    "omit `days` for a window on every day, or list its days, e.g. [sat, sun]"
                        .into(),
                ),
            );
        }
        let mut days: Vec<chrono::Weekday> = Vec::new();
        for day in w.days.iter().flatten() {
            if !days.contains(&day.0) {
                days.push(day.0);
            }
        }
        s.maintenance.push(MaintenanceWindow {
            days,
            from_minute: w.from.0,
            to_minute: w.to.0,
        });
    }
    for (i, hook) in raw.webhooks.iter().flatten().enumerate() {
        let format = hook.format.map(Into::into).unwrap_or_default();
        if hook.secret_file.is_some() && format != WebhookFormat::Generic {
            let mut at = path(&["supervisor", "webhooks"]);
            at.extend([Seg::Index(i), key("secret_file")]);
            report.at_value(
                &at,
                "`secret_file` signs only `format: generic` deliveries: a chat service checks no signature".into(),
                Some("remove `secret_file` (the chat webhook's URL is its secret), or use `format: generic`".into()),
            );
        }
        let mut events: Vec<String> = Vec::new();
        for event in hook.events.iter().flatten() {
            if !events.contains(&event.0) {
                events.push(event.0.clone());
            }
        }
        let secret_file = hook.secret_file.as_ref().map(|f| f.0.clone().into());
        s.webhooks.push(Webhook {
            url: hook.url.0.clone(),
            format,
            events,
            secret_file,
            ca_file: hook.ca_file.as_ref().map(|f| f.0.clone().into()),
        });
    }
    s
}

/// One service with its defaults; `None` when a rule is broken (reported).
pub(crate) fn resolve_service(
    name: &str,
    raw: &RawService,
    node_idle: Duration,
    node_grace: Duration,
    report: &mut Report,
) -> Option<ServiceSpec> {
    let base = path(&["services", name]);
    let before = report.errors.len();
    let process = raw
        .process
        .as_ref()
        .and_then(|p| resolve_process(p, &child(&base, "process"), report));
    let health = resolve_health(raw.health.as_ref(), &child(&base, "health"), report);
    if raw.restart.is_some() && raw.spawn.is_some() {
        report.at_key(
            &child(&base, "spawn"),
            "`restart` and `spawn` are both given".into(),
            Some("`restart` runs a command that (re)starts the service, `spawn` starts the process itself: keep one".into()),
        );
    }
    let launch = resolve_launch(raw, &base, report);
    let start = match (&raw.restart, &raw.spawn) {
        (Some(argv), _) => Some(Start::Restart(argv.0.clone())),
        (None, Some(argv)) => Some(Start::Spawn(argv.0.clone())),
        (None, None) => None,
    };
    if report.errors.len() > before {
        return None;
    }
    Some(ServiceSpec {
        name: name.to_string(),
        kind: raw.kind.map_or(super::spec::Kind::Service, Into::into),
        pinned: raw.pinned.unwrap_or(false),
        priority: raw.priority.unwrap_or(0),
        process,
        process_user: raw
            .process
            .as_ref()
            .and_then(|p| p.user.as_ref())
            .map(|u| u.0.clone()),
        health,
        start,
        stop: raw.stop.as_ref().map(|a| a.0.clone()),
        stop_timeout: raw.stop_timeout.map_or(STOP_TIMEOUT, |d| d.0),
        restart_timeout: raw.restart_timeout.map_or(RESTART_TIMEOUT, |d| d.0),
        idle_timeout: raw.idle_timeout.map_or(node_idle, |d| d.0),
        start_grace: raw.start_grace.map_or(node_grace, |d| d.0),
        memory: raw.memory.map(|s| s.0),
        gpu_memory: raw.gpu_memory.map(|s| s.0),
        fallback: raw.fallback.clone(),
        depends_on: raw.depends_on.clone().unwrap_or_default(),
        activity: raw.activity.as_ref().map(resolve_activity),
        launch,
    })
}

/// `env`, `env_file`, `cwd`, `user`, `group` and `logs`: settings of a
/// `spawn:` start, reported where they are given without `spawn:`.
fn resolve_launch(raw: &RawService, base: &[Seg], report: &mut Report) -> LaunchSettings {
    if raw.spawn.is_none() {
        let given = [
            ("env", raw.env.is_some()),
            ("env_file", raw.env_file.is_some()),
            ("cwd", raw.cwd.is_some()),
            ("user", raw.user.is_some()),
            ("group", raw.group.is_some()),
            ("logs", raw.logs.is_some()),
        ];
        for (field, _) in given.iter().filter(|(_, g)| *g) {
            report.at_key(
                &child(base, field),
                format!("`{field}` applies to `spawn:` services only"),
                Some(if raw.restart.is_some() {
                    "a `restart` command sets up its own environment; remove this line, or start the process itself with `spawn:`".to_string()
                } else {
                    "add `spawn: [program, args…]`, or remove this line".to_string()
                }),
            );
        }
    }
    if raw.group.is_some() && raw.user.is_none() {
        report.at_key(
            &child(base, "group"),
            "`group` needs `user`".into(),
            Some("name the user the service runs as; `group` only replaces that user's primary group".into()),
        );
    }
    if let Some(keep) = raw.logs.as_ref().and_then(|l| l.keep) {
        if keep == 0 || keep > 1000 {
            report.at_value(
                &[base, &path(&["logs", "keep"])].concat(),
                format!("`logs.keep` must be 1 to 1000, found {keep}"),
                Some("the number of rotated files kept beside the live log, e.g. 3".into()),
            );
        }
    }
    let logs = raw.logs.clone().unwrap_or_default();
    let defaults = LaunchSettings::default();
    LaunchSettings {
        env: raw
            .env
            .iter()
            .flatten()
            .map(|(k, v)| (k.0.clone(), v.0.clone()))
            .collect(),
        env_file: raw.env_file.as_ref().map(|p| p.0.clone().into()),
        cwd: raw.cwd.as_ref().map(|p| p.0.clone().into()),
        user: raw.user.as_ref().map(|u| u.0.clone()),
        group: raw.group.as_ref().map(|g| g.0.clone()),
        log_max_size: logs.max_size.map_or(defaults.log_max_size, |s| s.0),
        log_keep: logs.keep.unwrap_or(defaults.log_keep).clamp(1, 1000),
    }
}

fn resolve_activity(raw: &RawActivity) -> ActivitySource {
    match raw {
        RawActivity::Mode(RawActivityMode::Connections) => ActivitySource::Connections,
        RawActivity::Metrics(m) => ActivitySource::Metrics {
            url: m.metrics.0.clone(),
            counter: m.counter.as_ref().map(|c| c.0.clone()),
            gauge: m.gauge.as_ref().map(|g| g.0.clone()),
        },
    }
}

/// Reports more than one of `choices` given (at the second) or, when
/// `required` (the section's fields), none (at `base`); returns the index
/// of the one given. "None" is not said when the file gives a choice that
/// was refused or a key that is no field (a misspelt one, reported).
fn one_of(
    given: &[bool],
    choices: &[&str],
    base: &[Seg],
    required: Option<&[&str]>,
    report: &mut Report,
) -> Option<usize> {
    let chosen: Vec<usize> = (0..given.len()).filter(|i| given[*i]).collect();
    let list = choices
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let section = match base.last() {
        Some(Seg::Key(k)) => k.as_str(),
        _ => "",
    };
    let refused = |fields: &[&str]| {
        let keys = report.keys(base);
        keys.iter()
            .any(|k| choices.contains(k) || !fields.contains(k))
    };
    match chosen.as_slice() {
        [] if required.is_some_and(|fields| !refused(fields)) => {
            report.at_key(base, format!("`{section}` needs one of {list}"), None);
            None
        }
        [] => None,
        [one] => Some(*one),
        [first, second, ..] => {
            report.at_key(
                &child(base, choices[*second]),
                format!(
                    "`{section}` takes only one of {list}; found `{}` and `{}`",
                    choices[*first], choices[*second]
                ),
                Some("keep one of them".into()),
            );
            None
        }
    }
}

fn resolve_process(raw: &RawProcess, base: &[Seg], report: &mut Report) -> Option<ProcessMatch> {
    let fields = [
        raw.pidfile.as_ref().map(|p| &p.0),
        raw.name.as_ref().map(|n| &n.0),
        raw.cmdline_contains.as_ref().map(|c| &c.0),
    ];
    let given = fields.map(|f| f.is_some());
    let chosen = one_of(
        &given,
        &["pidfile", "name", "cmdline_contains"],
        base,
        Some(RawProcess::FIELDS),
        report,
    )?;
    let value = fields[chosen]?.clone();
    Some(match chosen {
        0 => ProcessMatch::Pidfile(value.into()),
        1 => ProcessMatch::Name(value),
        _ => ProcessMatch::CmdlineContains(value),
    })
}

fn resolve_health(raw: Option<&RawHealth>, base: &[Seg], report: &mut Report) -> HealthSpec {
    let default = RawHealth::default();
    let raw = raw.unwrap_or(&default);
    let given = [
        raw.http.is_some(),
        raw.tcp.is_some(),
        raw.command.is_some(),
        raw.inference.is_some(),
    ];
    let kinds = ["http", "tcp", "command", "inference"];
    let probe = match one_of(&given, &kinds, base, None, report) {
        Some(0) => raw.http.as_ref().map(|u| Probe::Http(u.0.clone())),
        Some(1) => raw.tcp.as_ref().map(|t| {
            let valid = t.0.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !valid {
                report.at_value(
                    &child(base, "tcp"),
                    format!("invalid tcp address `{}`: expected `host:port`", t.0),
                    Some("e.g. tcp: 127.0.0.1:6379".into()),
                );
            }
            Probe::Tcp(t.0.clone())
        }),
        Some(2) => raw.command.as_ref().map(|a| Probe::Command(a.0.clone())),
        Some(_) => raw.inference.as_ref().map(|i| Probe::Inference {
            url: i.url.0.clone(),
            model: i.model.as_ref().map(|m| m.0.clone()),
            timeout: i.timeout.map(|d| d.0),
        }),
        None => None,
    };
    let degraded_after = raw.degraded_after.unwrap_or(DEGRADED_AFTER);
    let dead_after = raw.dead_after.unwrap_or(DEAD_AFTER);
    check_thresholds(raw, base, report);
    if raw.every == Some(0) {
        report.at_value(
            &child(base, "every"),
            "`every` must be at least 1".into(),
            Some(
                "`every: 5` probes every fifth probe period; omit it to probe every period".into(),
            ),
        );
    }
    HealthSpec {
        probe,
        every: raw.every.unwrap_or(1).max(1),
        ca_file: raw.ca_file.as_ref().map(|f| f.0.clone().into()),
        timeout: raw.timeout.map_or(PROBE_TIMEOUT, |d| d.0),
        degraded_after,
        dead_after,
        origins: (origin(raw.degraded_after), origin(raw.dead_after)),
        loading: raw.loading.as_ref().map(|l| LoadingAnswer {
            status: l.status,
            body: l.body.as_ref().map(|b| b.0.clone()),
        }),
    }
}

/// `degraded_after` at least 1 and at most `dead_after`. A threshold the
/// file gives but that was refused (reported) is not compared with the
/// other's default.
fn check_thresholds(raw: &RawHealth, base: &[Seg], report: &mut Report) {
    let degraded_after = raw.degraded_after.unwrap_or(DEGRADED_AFTER);
    let dead_after = raw.dead_after.unwrap_or(DEAD_AFTER);
    let keys = report.keys(base);
    let refused = |value: Option<u32>, field: &str| value.is_none() && keys.contains(&field);
    if refused(raw.degraded_after, "degraded_after") || refused(raw.dead_after, "dead_after") {
        return;
    }
    if degraded_after == 0 {
        report.at_value(
            &child(base, "degraded_after"),
            "`degraded_after` must be at least 1".into(),
            None,
        );
    } else if degraded_after > dead_after {
        let field = if raw.degraded_after.is_some() {
            "degraded_after"
        } else {
            "dead_after"
        };
        report.at_value(
            &child(base, field),
            format!("`degraded_after` ({degraded_after}) must not exceed `dead_after` ({dead_after})"),
            Some("a service is degraded before it is dead: lower `degraded_after` or raise `dead_after`".into()),
        );
    }
}

fn origin(given: Option<u32>) -> Origin {
    match given {
        Some(_) => Origin::File,
        None => Origin::Preset,
    }
}
