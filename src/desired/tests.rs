//! Tests of loading `services.yaml`: a realistic good file resolved with its
//! preset and defaults. Each kind of error, with its message and position,
//! is in `error_tests`; folders, files and the fingerprint in `fleet_tests`.
use std::path::Path;
use std::time::Duration;

use super::*;

/// A realistic node: an inference box with two models, a router and redis.
pub(super) const EXAMPLE: &str = r#"# GPU box in rack 3
node: gpu-box
supervisor:
  preset: aggressive
  memory_pressure: 85%        # beats the preset's 80%
  max_actions_per_run: 3
  maintenance:
    - days: [sat, sunday]
      from: "02:00"
      to: "04:00"
    - from: "23:00"
      to: "24:00"
  webhooks:
    - url: http://127.0.0.1:9000/hooks/supervisor
      events: [health_changed, reconcile_blocked, action_executed]
      secret_file: /etc/supervisorctl/hook.secret
services:
  llama-70b:
    kind: model
    pinned: true
    priority: 10
    process:
      pidfile: /run/llama-70b.pid
    health:
      http: http://127.0.0.1:8081/health
      timeout: 3s
      degraded_after: 3
      dead_after: 6
    restart: [systemctl, restart, llama@70b]
    stop: [systemctl, stop, llama@70b]
    memory: 8GiB
    gpu_memory: 40GiB
    fallback: llama-8b
    depends_on: [redis]
  llama-8b:
    kind: model
    process:
      cmdline_contains: "-m /models/8b.gguf"
    spawn: [llama-server, -m, /models/8b.gguf, --port, "8082"]
    idle_timeout: 45m
    gpu_memory: 6GB
  redis:
    process: {name: redis-server}
    health:
      tcp: 127.0.0.1:6379
    restart: [systemctl, restart, redis]
    restart_timeout: 2m
  router:
    health:
      command: [curl, -fsS, http://127.0.0.1:8080/ready]
    depends_on:
      - redis
      - llama-70b
"#;

pub(super) fn load(text: &str) -> Result<NodeSpec, Vec<ConfigError>> {
    load_node("gpu-box", Path::new("hosts/gpu-box/services.yaml"), text)
}

/// Every error as `line:col: message`.
pub(super) fn errors(text: &str) -> Vec<String> {
    match load(text) {
        Ok(_) => panic!("expected errors in:\n{text}"),
        Err(errors) => errors
            .iter()
            .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
            .collect(),
    }
}

/// The only error, with its hint.
pub(super) fn single(text: &str) -> (String, Option<String>) {
    let all = load(text).expect_err("expected an error");
    assert_eq!(all.len(), 1, "{all:#?}");
    let e = &all[0];
    (
        format!("{}:{}: {}", e.line, e.column, e.message),
        e.hint.clone(),
    )
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn example_resolves_preset_overrides_and_defaults() {
    use chrono::Weekday::{Sat, Sun};
    let node = load(EXAMPLE).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(node.name, "gpu-box");
    let s = &node.settings;
    assert_eq!(s.preset, Preset::Aggressive);
    assert_eq!(s.fast_tick, secs(2));
    assert!(
        (s.memory_pressure - 0.85).abs() < f64::EPSILON,
        "explicit setting beats the preset"
    );
    assert!((s.gpu_pressure - 0.8).abs() < f64::EPSILON, "preset value");
    assert_eq!((s.idle_timeout, s.max_restart_attempts), (secs(600), 5));
    assert!(s.idle_eviction && s.resource_optimization);
    assert_eq!(s.max_actions_per_run, 3);
    assert_eq!(
        (s.node_offline_after, s.backoff_base, s.backoff_max),
        (secs(300), secs(5), secs(300))
    );
    assert_eq!(
        s.maintenance,
        vec![
            MaintenanceWindow {
                days: vec![Sat, Sun],
                from_minute: 120,
                to_minute: 240
            },
            MaintenanceWindow {
                days: vec![],
                from_minute: 23 * 60,
                to_minute: 24 * 60
            },
        ]
    );
    assert_eq!(
        s.webhooks[0].events,
        ["health_changed", "reconcile_blocked", "action_executed"]
    );
    assert_eq!(
        s.webhooks[0].secret_file.as_deref(),
        Some(Path::new("/etc/supervisorctl/hook.secret"))
    );

    assert_eq!(
        node.services.keys().collect::<Vec<_>>(),
        ["llama-70b", "llama-8b", "redis", "router"]
    );
    let big = &node.services["llama-70b"];
    assert!(big.is_model() && big.pinned);
    assert_eq!(big.priority, 10);
    assert_eq!(
        big.process,
        Some(ProcessMatch::Pidfile("/run/llama-70b.pid".into()))
    );
    assert_eq!(
        big.health.probe,
        Some(Probe::Http("http://127.0.0.1:8081/health".into()))
    );
    assert_eq!(
        (
            big.health.timeout,
            big.health.degraded_after,
            big.health.dead_after
        ),
        (secs(3), 3, 6)
    );
    assert_eq!(
        big.start,
        Some(Start::Restart(vec![
            "systemctl".into(),
            "restart".into(),
            "llama@70b".into()
        ]))
    );
    assert_eq!(
        (big.memory, big.gpu_memory),
        (Some(8 << 30), Some(40 << 30))
    );
    assert_eq!(
        (big.fallback.as_deref(), big.depends_on.as_slice()),
        (Some("llama-8b"), &["redis".to_string()][..])
    );
    assert_eq!(big.idle_timeout, secs(600), "the node's idle timeout");
    assert_eq!(
        (big.stop_timeout, big.restart_timeout),
        (secs(10), secs(60))
    );

    let small = &node.services["llama-8b"];
    assert_eq!(small.idle_timeout, secs(45 * 60), "its own idle timeout");
    assert_eq!(small.gpu_memory, Some(6_000_000_000));
    assert!(matches!(&small.start, Some(Start::Spawn(argv)) if argv[4] == "8082"));
    assert!(
        matches!(&small.process, Some(ProcessMatch::CmdlineContains(c)) if c == "-m /models/8b.gguf")
    );

    let redis = &node.services["redis"];
    assert_eq!(
        (redis.kind, redis.pinned, redis.priority),
        (Kind::Service, false, 0)
    );
    assert_eq!(
        redis.process,
        Some(ProcessMatch::Name("redis-server".into()))
    );
    assert_eq!(
        redis.health.probe,
        Some(Probe::Tcp("127.0.0.1:6379".into()))
    );
    assert_eq!(
        (
            redis.health.timeout,
            redis.health.degraded_after,
            redis.health.dead_after
        ),
        (secs(2), 2, 5)
    );
    assert_eq!(redis.restart_timeout, secs(120));
    let router = &node.services["router"];
    assert_eq!(router.depends_on, ["redis", "llama-70b"]);
    assert!(matches!(&router.health.probe, Some(Probe::Command(argv)) if argv[0] == "curl"));
    assert_eq!(
        (router.process.as_ref(), router.start.as_ref()),
        (None, None)
    );
}

#[test]
fn empty_file_and_minimal_service_get_balanced_defaults() {
    for text in [
        "",
        "# nothing yet\n",
        "services:\n",
        "supervisor:\nservices: {}\n",
    ] {
        let node = load(text).unwrap_or_else(|e| panic!("{text:?}: {e:#?}"));
        assert!(node.services.is_empty());
        let s = &node.settings;
        assert_eq!(
            (s.preset, s.memory_pressure, s.idle_timeout),
            (Preset::Balanced, 0.9, secs(1800))
        );
        assert_eq!((s.max_restart_attempts, s.max_actions_per_run), (3, 5));
    }
    let conservative =
        load("supervisor:\n  preset: conservative\n  idle_eviction: true\nservices:\n  web: {}\n")
            .unwrap();
    let s = &conservative.settings;
    assert_eq!(
        (
            s.fast_tick,
            s.memory_pressure,
            s.idle_timeout,
            s.max_restart_attempts
        ),
        (secs(5), 0.95, secs(3600), 1)
    );
    assert!(
        s.idle_eviction && !s.resource_optimization,
        "explicit idle_eviction beats the preset"
    );
    let web = &conservative.services["web"];
    assert_eq!(
        (web.kind, web.idle_timeout, web.health.probe.as_ref()),
        (Kind::Service, secs(3600), None)
    );
}

#[test]
fn render_of_a_loaded_error() {
    let text = "services:\n  web:\n    kind: service\n    prot: http\n";
    let e = &load(text).unwrap_err()[0];
    assert_eq!(
        e.render(Some(text)),
        "error: unknown field `prot`, expected one of `kind`, `pinned`, `priority`, `process`, `health`, `restart`, `spawn`, `stop`, `stop_timeout`, `restart_timeout`, `start_grace`, `idle_timeout`, `memory`, `gpu_memory`, `fallback`, `depends_on`, `activity`, `env`, `env_file`, `cwd`, `user`, `group`, `logs`\n  \
         --> hosts/gpu-box/services.yaml:4:5\n   \
         |\n \
         4 |     prot: http\n   \
         |     ^\n   \
         = hint: did you mean `process`?"
    );
}
