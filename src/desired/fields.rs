//! Every field of `services.yaml`, described once: its type, default,
//! meaning and an example. The JSON Schema (`supervisorctl schema`) takes
//! each property's description from here, and the field reference,
//! docs/reference/services-yaml.md, is this table rendered ([`markdown`]);
//! tests check that the schema has no property without a row, the table
//! no row without a property, and that the reference is up to date.

/// One field of one object of the file.
pub(crate) struct Field {
    /// The schema definition of the object it belongs to (`""`: the top
    /// level of the file).
    pub def: &'static str,
    pub name: &'static str,
    /// The kind of value, in words.
    pub ty: &'static str,
    /// What applies when it is absent.
    pub default: &'static str,
    pub meaning: &'static str,
    /// A line of YAML, as written under its parent.
    pub example: &'static str,
}

/// The objects of the file in the order of the reference: schema
/// definition, path of its fields in the file, heading.
#[cfg(test)]
pub(crate) const SECTIONS: [(&str, &str, &str); 11] = [
    ("", "", "Top level"),
    ("Supervisor", "supervisor.", "`supervisor`: node policy"),
    (
        "MaintenanceWindow",
        "supervisor.maintenance[].",
        "`supervisor.maintenance[]`: maintenance windows",
    ),
    (
        "Webhook",
        "supervisor.webhooks[].",
        "`supervisor.webhooks[]`",
    ),
    (
        "Service",
        "services.<name>.",
        "`services.<name>`: a service",
    ),
    (
        "Process",
        "services.<name>.process.",
        "`services.<name>.process`: finding the process",
    ),
    (
        "Health",
        "services.<name>.health.",
        "`services.<name>.health`: the health probe",
    ),
    (
        "Inference",
        "services.<name>.health.inference.",
        "`services.<name>.health.inference`",
    ),
    (
        "Loading",
        "services.<name>.health.loading.",
        "`services.<name>.health.loading`",
    ),
    (
        "ActivityMetrics",
        "services.<name>.activity.",
        "`services.<name>.activity` as a map",
    ),
    (
        "Logs",
        "services.<name>.logs.",
        "`services.<name>.logs`: log rotation",
    ),
];

const fn f(
    def: &'static str,
    name: &'static str,
    ty: &'static str,
    default: &'static str,
    meaning: &'static str,
    example: &'static str,
) -> Field {
    Field {
        def,
        name,
        ty,
        default,
        meaning,
        example,
    }
}

const PRESET: &str = "the preset's";

pub(crate) const FIELDS: &[Field] = &[
    f("", "node", "name", "the folder's name",
      "The node's name; when given it must be the name of the folder (`hosts/<node>/`). Node and service names are 1 to 63 of `a-z`, `0-9`, `.`, `_`, `-`, starting with a letter or digit.",
      "node: gpu-box"),
    f("", "supervisor", "map", "the `balanced` preset, nothing overridden",
      "Node policy: a preset and the settings that override it.",
      "supervisor: {preset: conservative}"),
    f("", "services", "map of name to service", "no services",
      "The services and models of this node, by name.",
      "services: {redis: {restart: [systemctl, restart, redis-server]}}"),

    f("Supervisor", "preset", "`conservative`, `balanced` or `aggressive`", "`balanced`",
      "The values every setting below starts from (see Presets): fast tick 5s/3s/2s, pressure 95%/90%/80%, idle timeout 60m/30m/10m, max restart attempts 1/3/5, idle eviction and resource optimization off/on/on.",
      "preset: conservative"),
    f("Supervisor", "memory_pressure", "ratio", PRESET,
      "System memory use (used/total) at or above which the node is under pressure: safety evicts running unpinned models (lowest `priority` first, then least recently active) until the projected use is below it, and defers a start that would reach it.",
      "memory_pressure: 85%"),
    f("Supervisor", "gpu_pressure", "ratio", PRESET,
      "The same per GPU (GPU memory used/total); a service's GPU memory counts on the GPU its world record names (`gpu_index`).",
      "gpu_pressure: 0.9"),
    f("Supervisor", "idle_timeout", "duration", PRESET,
      "A running model without activity for longer than this is idle, and evicted when `idle_eviction` is on; a service's own `idle_timeout` wins.",
      "idle_timeout: 45m"),
    f("Supervisor", "max_restart_attempts", "integer, 0 or more", PRESET,
      "Restarts after which the restart circuit opens (`restart_exhausted`); a first start is not a restart. `0`: never restart.",
      "max_restart_attempts: 3"),
    f("Supervisor", "idle_eviction", "boolean", PRESET,
      "Evict idle models (`kind: model`).",
      "idle_eviction: false"),
    f("Supervisor", "resource_optimization", "boolean", PRESET,
      "Preload evicted models whose forecast demand is rising, when there is room.",
      "resource_optimization: false"),
    f("Supervisor", "max_actions_per_run", "integer, 0 or more", "`5`",
      "The most actions one run executes; the rest are skipped with a reason and wait for the next run. `0`: never act, only report.",
      "max_actions_per_run: 2"),
    f("Supervisor", "node_offline_after", "duration", "`5m`",
      "A node whose world record is older than this (or missing, or `offline`) is offline: it gets `offline_node` and its services are not judged.",
      "node_offline_after: 2m"),
    f("Supervisor", "start_grace", "duration, zero allowed", "`10s`",
      "A start counts as a success only once seen up: a process that exits, or whose health probe never passes, within this is a failed attempt. A service's own `start_grace` wins.",
      "start_grace: 30s"),
    f("Supervisor", "breaker_retry", "duration, or `never`", "`30m`",
      "An open restart circuit half-opens after this for one trial start (`circuit_half_open`): success closes it, failure reopens it and doubles the wait (24h at most). `never`: only `reset` or 10 healthy minutes close it.",
      "breaker_retry: 1h"),
    f("Supervisor", "load_timeout", "duration", "`10m`",
      "The longest a service may be `loading` (the server answers that it loads, or after a start its resident or GPU memory grew by 64 MiB or more since the previous run; a growing log is not loading): its failing probes do not count and `start_grace` counts from the end of loading; still loading after it, the start failed.",
      "load_timeout: 20m"),
    f("Supervisor", "evict_orphans", "boolean", "`false`",
      "Let safety evict GPU orphans (processes of this user holding GPU memory that no declared service claims) under GPU pressure; without it they are only reported (`orphan_detected`).",
      "evict_orphans: true"),
    f("Supervisor", "predictive", "boolean", "`true`",
      "Failure prediction: keep a bounded series of samples per service and emit `failure_predicted` when a good fit projects a threshold crossing within `predict_horizon`. It never acts by itself.",
      "predictive: false"),
    f("Supervisor", "predict_horizon", "duration", "`30m`",
      "How far ahead a prediction looks.",
      "predict_horizon: 1h"),
    f("Supervisor", "adaptive", "boolean", "`false`",
      "Adaptive tuning of each service's `degraded_after`, `dead_after` and backoff base, within bounds, from verified outcomes (`tuning_changed`; see configuration.md).",
      "adaptive: true"),
    f("Supervisor", "probe_period", "duration", "`10s`",
      "A failing probe counts toward `degraded_after`/`dead_after` at most once per period, however often runs come, so `dead_after × probe_period` is the least time from the first failure to dead; `health.every` counts periods.",
      "probe_period: 30s"),
    f("Supervisor", "idle_without_activity", "boolean", "`false`",
      "A model whose activity is unknown may be evicted for idleness, counted from its last start; by default unknown activity is never idle.",
      "idle_without_activity: true"),
    f("Supervisor", "maintenance", "list of windows", "none",
      "Daily windows (UTC) in which nothing is executed: actions are reported, skipped with a reason.",
      "maintenance: [{days: [sat, sun], from: \"02:00\", to: \"04:00\"}]"),
    f("Supervisor", "webhooks", "list of webhooks", "none",
      "Where events are POSTed, after the run's record is on disk; a failed delivery is kept, retried by the next run and reported as `webhook_failed`.",
      "webhooks: [{url: \"http://127.0.0.1:9000/hooks\", events: [health_changed]}]"),

    f("MaintenanceWindow", "days", "list of `mon` … `sun` (full names too)", "every day",
      "The days the window opens on; `days: []` is an error (leave it out for every day).",
      "days: [sat, sun]"),
    f("MaintenanceWindow", "from", "time of day `\"HH:MM\"`, UTC, `00:00` to `23:59`", "required",
      "When the window opens.",
      "from: \"02:00\""),
    f("MaintenanceWindow", "to", "time of day `\"HH:MM\"`, UTC, `00:00` to `24:00`", "required",
      "When it closes; earlier than `from`: it runs past midnight. Equal to `from` is an error.",
      "to: \"04:00\""),

    f("Webhook", "url", "`http://` or `https://` URL", "required",
      "Where each event is POSTed (5 s timeout); `https://` is verified against the system's roots and `ca_file`.",
      "url: https://hooks.example.net/supervisor"),
    f("Webhook", "format", "`generic`, `slack`, `discord` or `ntfy`", "`generic`",
      "`generic`: each event's JSON line, signed with `secret_file` when set; `slack` (`{\"text\": …}`), `discord` (`{\"content\": …}`, mentions off) or `ntfy` (a plain-text body with `Title`, `Priority` and `Tags` headers; the URL is the topic's): one line a person reads, control characters escaped, at most 1,900 characters. Chat formats are never signed: a `secret_file` with them is an error.",
      "format: ntfy"),
    f("Webhook", "events", "list of event types", "every type",
      "The event types delivered (see reference/events.md); an unknown type is an error that lists them.",
      "events: [health_changed, reconcile_blocked, action_executed]"),
    f("Webhook", "secret_file", "path", "none (unsigned)",
      "The HMAC-SHA256 key: each body is sent with `X-Supervisor-Signature: sha256=<hex>`. The key is the file's bytes less one trailing newline (a receiver must strip it too; security.md has a verifying receiver); a regular file of at most 64 KiB, as root owned by root and writable by nobody else.",
      "secret_file: /etc/supervisorctl/hook.secret"),
    f("Webhook", "ca_file", "absolute path", "none",
      "A PEM file of private CA certificates trusted, besides the system's roots, for an `https://` URL; a server certificate equal to one of its certificates (a self-signed one) is trusted as pinned.",
      "ca_file: /etc/supervisorctl/homelab-ca.pem"),

    f("Service", "kind", "`model` or `service`", "`service`",
      "A model loads on demand: it may be evicted when idle or under pressure (`evicted`, not dead), preloaded, and is loaded again on new activity or when pinned. A service is kept running.",
      "kind: model"),
    f("Service", "pinned", "boolean", "`false`",
      "Keep it: never evicted, restarted when dead, loaded again when evicted. `supervisorctl pin`/`unpin` override it.",
      "pinned: true"),
    f("Service", "priority", "integer", "`0`",
      "Higher is more important: under pressure the lowest priority is evicted first.",
      "priority: 10"),
    f("Service", "process", "map", "none",
      "How a live probe finds the process: at most one of `pidfile`, `name`, `cmdline_contains`. A `spawn:` service needs none (its pid is recorded).",
      "process: {pidfile: /run/llama-70b.pid}"),
    f("Service", "health", "map", "none: a live process is up",
      "At most one probe (`http`, `tcp`, `command`, `inference`) and its thresholds.",
      "health: {http: \"http://127.0.0.1:8081/health\"}"),
    f("Service", "restart", "command", "none",
      "The command that (re)starts it, run to completion (at most `restart_timeout`), never through a shell. Not with `spawn`.",
      "restart: [systemctl, restart, llama@70b]"),
    f("Service", "spawn", "command", "none",
      "Start the process itself, detached under a small monitor: output to `<state-dir>/logs/<service>.log` (rotated, see `logs`), pid to `<state-dir>/pids/`, exit status to `<state-dir>/exits/`. Not with `restart`.",
      "spawn: [llama-server, -m, /models/8b.gguf, --port, \"8081\"]"),
    f("Service", "stop", "command", "SIGTERM, then SIGKILL after `stop_timeout`",
      "How to stop it (an eviction, `supervisorctl stop`, a service removed from hosts/).",
      "stop: [systemctl, stop, llama@70b]"),
    f("Service", "stop_timeout", "duration, zero allowed", "`10s`",
      "How long a stop may take before SIGKILL; `0s`: SIGKILL at once.",
      "stop_timeout: 30s"),
    f("Service", "restart_timeout", "duration", "`60s`",
      "How long a `restart` command may run before its process group is killed.",
      "restart_timeout: 2m"),
    f("Service", "start_grace", "duration, zero allowed", "`supervisor.start_grace`",
      "This service's start grace (see `supervisor.start_grace`).",
      "start_grace: 2m"),
    f("Service", "idle_timeout", "duration", "`supervisor.idle_timeout`",
      "This model's idle timeout (see `supervisor.idle_timeout`).",
      "idle_timeout: 10m"),
    f("Service", "memory", "size", "none",
      "Expected resident memory, used when neither a live probe nor the world record measures it (pressure projections).",
      "memory: 8GiB"),
    f("Service", "gpu_memory", "size", "none",
      "Expected GPU memory, used the same way.",
      "gpu_memory: 40GiB"),
    f("Service", "fallback", "service name, or `node/service`", "none",
      "A service that serves its traffic while this one is dead: activated in `<state-dir>/fallbacks.json` (which a router can read) and removed when this one is healthy again. Another node's service is activated only while the world shows it healthy.",
      "fallback: llama-8b"),
    f("Service", "depends_on", "list of service names of this node", "none",
      "A restart waits (`delayed_deployment`) while one of these is not healthy; cycles are errors.",
      "depends_on: [redis]"),
    f("Service", "activity", "`connections`, or a map", "`connections` when the process is found and listens",
      "Where \"in use\" comes from: established TCP connections to the process's listening sockets, or a Prometheus endpoint (`{metrics: URL, counter: NAME, gauge: NAME}`; without names llama.cpp's and vLLM's defaults). The world's `last_activity` always comes first. Unknown activity is never idle.",
      "activity: {metrics: \"http://127.0.0.1:8081/metrics\"}"),
    f("Service", "env", "map of name to value", "none",
      "`spawn:` only: variables added to the clean environment (`PATH`, `LANG`, `HOME`, `USER`, `LOGNAME`, `TZ`, `SUPERVISORCTL=1`); a number or boolean is taken as its text. Names are `[A-Za-z_][A-Za-z0-9_]*`. Wins over `env_file`.",
      "env: {CUDA_VISIBLE_DEVICES: 1}"),
    f("Service", "env_file", "absolute path", "none",
      "`spawn:` only: a file of `KEY=VALUE` lines (blank lines and `#`/`;` comments skipped, one pair of quotes dropped, no expansion), read at each start (bounded, no FIFO, as root only root's file, writable by nobody else). An unreadable file or a line that is not an assignment fails the start, naming it. Its values reach the service through a pipe, never a command line.",
      "env_file: /etc/llm/8b.env"),
    f("Service", "cwd", "absolute path", "`/`",
      "`spawn:` only: the working directory; a relative program path (`./server`) is found from it.",
      "cwd: /srv/llm"),
    f("Service", "user", "user name or uid", "the user supervisorctl runs as",
      "`spawn:` only: the user the service runs as. Only a run as root switches (groups, group, then user, in the child before anything runs); a run as another user refuses the start unless it is that user. Supplementary groups come from the group database. `HOME`, `USER`, `LOGNAME` are the user's unless `env` sets them.",
      "user: llm"),
    f("Service", "group", "group name or gid", "`user`'s primary group",
      "`spawn:` only: the group in place of `user`'s primary group (needs `user`).",
      "group: video"),
    f("Service", "logs", "map", "`{max_size: 16MiB, keep: 3}`",
      "`spawn:` only: how the monitor rotates the service's log.",
      "logs: {max_size: 64MiB, keep: 5}"),

    f("Process", "pidfile", "absolute path", "none",
      "The process is the pid in this file; a missing file or a pid that is not alive is `no process`, a live process that cannot be the service (a kernel thread, another user's) `pidfile stale: …`.",
      "pidfile: /run/llama-70b.pid"),
    f("Process", "name", "text", "none",
      "The process whose name (`/proc/PID/comm`) is exactly this; a name longer than the 15 bytes the kernel keeps is compared by those.",
      "name: redis-server"),
    f("Process", "cmdline_contains", "text", "none",
      "The process whose command line contains this text.",
      "cmdline_contains: \"-m /models/70b.gguf\""),
    f("Process", "user", "user name or uid", "the user supervisorctl runs as",
      "Whose processes `name` and `cmdline_contains` match. Two or more unrelated matches make the service ambiguous (`observation_invalid`, nothing signalled); a name no user has makes the observation unknown, never a match.",
      "user: redis"),

    f("Health", "http", "`http://` or `https://` URL", "none",
      "GET it: 2xx within `timeout` is up, anything else failing with its reason (`HTTP 503`, `connection refused`, `timed out after 2s`, `TLS: …`).",
      "http: \"http://127.0.0.1:8081/health\""),
    f("Health", "tcp", "`host:port`", "none",
      "A connection accepted within `timeout` is up.",
      "tcp: 127.0.0.1:6379"),
    f("Health", "command", "command", "none",
      "Run it (no shell): exit 0 within `timeout` is up; otherwise the reason is `exit N: <last stderr line>`.",
      "command: [pg_isready, -q]"),
    f("Health", "inference", "map", "none",
      "POST a one-token completion to an OpenAI-compatible server: up only if a 2xx answer with at least one choice arrives within the timeout, so a server whose `/health` answers while generation hangs is failing.",
      "inference: {url: \"http://127.0.0.1:8081/v1/completions\"}"),
    f("Health", "every", "integer, 1 or more", "`1`",
      "Probe once every this many probe periods (for costly probes such as `inference`).",
      "every: 5"),
    f("Health", "ca_file", "absolute path", "none",
      "A PEM file of private CA certificates trusted, besides the system's roots, for an `https://` URL; a server certificate equal to one of its certificates (a self-signed one) is trusted as pinned.",
      "ca_file: /etc/ssl/homelab-ca.pem"),
    f("Health", "timeout", "duration", "`2s`",
      "How long the probe may take.",
      "timeout: 5s"),
    f("Health", "degraded_after", "integer, 1 or more", "`2`",
      "Consecutive failing probes (counted once per `probe_period`) that make it `degraded`; at most `dead_after`.",
      "degraded_after: 3"),
    f("Health", "dead_after", "integer, 1 or more", "`5`",
      "Consecutive failing probes that make it `dead` (then it is restarted).",
      "dead_after: 10"),
    f("Health", "loading", "map", "llama.cpp's 503 `Loading model` only",
      "An answer that means \"loading\", not failing: its failing probes do not count until `load_timeout`.",
      "loading: {status: 503, body: loading}"),

    f("Inference", "url", "`http://` or `https://` URL", "required",
      "The completions endpoint.",
      "url: \"http://127.0.0.1:8081/v1/completions\""),
    f("Inference", "model", "text", "none (no `model` sent)",
      "The request's `model` field.",
      "model: llama-70b"),
    f("Inference", "timeout", "duration", "the health check's `timeout`",
      "How long the completion may take (`inference timed out after 10s`).",
      "timeout: 10s"),

    f("Loading", "status", "HTTP status", "required",
      "The status of an answer that means loading.",
      "status: 503"),
    f("Loading", "body", "text", "any body",
      "Text the answer's body contains (case-insensitive).",
      "body: loading"),

    f("ActivityMetrics", "metrics", "`http://` or `https://` URL", "required",
      "A Prometheus text endpoint: the service is in use while the counter rises or the gauge is above 0. The counter also gives `requests_total` for `forecast` and preload.",
      "metrics: \"http://127.0.0.1:8081/metrics\""),
    f("ActivityMetrics", "counter", "metric name", "llama.cpp's `llamacpp:tokens_predicted_total`, vLLM's `vllm:request_success_total`",
      "A request counter (rises with each request).",
      "counter: http_requests_total"),
    f("ActivityMetrics", "gauge", "metric name", "llama.cpp's `llamacpp:requests_processing`, vLLM's `vllm:num_requests_running`",
      "An in-flight gauge (above 0 while a request runs).",
      "gauge: requests_in_flight"),

    f("Logs", "max_size", "size", "`16MiB`",
      "The monitor rotates the log before it would grow past this: `<service>.log` → `.log.1` → … (a single longer line is cut into 16 KiB pieces).",
      "max_size: 64MiB"),
    f("Logs", "keep", "integer, 1 to 1000", "`3`",
      "Rotated files kept beside the live one: at most `max_size × (keep + 1)` on disk.",
      "keep: 5"),
];

/// The row of `name` in the object of schema definition `def`.
pub(crate) fn field(def: &str, name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.def == def && f.name == name)
}

/// The description of a field in the schema: its meaning, type, default
/// and an example (editors show it on hover).
pub(crate) fn description(f: &Field) -> String {
    let default = match f.default {
        "required" => "Required.".to_string(),
        d => format!("Default: {d}."),
    };
    format!(
        "{} Type: {}. {default} Example: `{}`",
        f.meaning, f.ty, f.example
    )
}

/// The tables of docs/reference/services-yaml.md between its markers.
#[cfg(test)]
pub(crate) fn markdown() -> String {
    use std::fmt::Write as _;
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    for (def, prefix, heading) in SECTIONS {
        let _ = write!(out,
            "### {heading}\n\n| field | type | default | meaning | example |\n|---|---|---|---|---|\n"
        );
        for f in FIELDS.iter().filter(|f| f.def == def) {
            let _ = writeln!(
                out,
                "| `{prefix}{}` | {} | {} | {} | `{}` |",
                f.name,
                cell(f.ty),
                cell(f.default),
                cell(f.meaning),
                cell(f.example)
            );
        }
        out.push('\n');
    }
    out
}
