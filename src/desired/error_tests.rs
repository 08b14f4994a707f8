//! Each kind of error in `services.yaml`, with its exact message, line and
//! column (and hint where there is one).
use super::tests::{errors, load, single};

#[test]
fn unknown_fields_are_refused_with_a_suggestion() {
    let (e, hint) = single("services:\n  web:\n    kind: service\n    prot: http\n");
    assert!(
        e.starts_with("4:5: unknown field `prot`, expected one of `kind`, `pinned`"),
        "{e}"
    );
    assert_eq!(hint.as_deref(), Some("did you mean `process`?"));
    let (e, hint) = single("servics:\n  web: {}\n");
    assert_eq!(
        e,
        "1:1: unknown field `servics`, expected one of `node`, `supervisor`, `services`"
    );
    assert_eq!(hint.as_deref(), Some("did you mean `services`?"));
    let (e, _) = single("supervisor:\n  idle_timeot: 5m\n");
    assert!(e.starts_with("2:3: unknown field `idle_timeot`"), "{e}");
    let (e, hint) = single("services:\n  web:\n    health:\n      htp: http://x\n");
    assert!(e.starts_with("4:7: unknown field `htp`"), "{e}");
    assert_eq!(hint.as_deref(), Some("did you mean `http`?"));
    let (e, _) = single("supervisor:\n  webhooks:\n    - url: http://x\n      event: [decision]\n");
    assert!(e.starts_with("4:7: unknown field `event`"), "{e}");
    let (e, hint) = single("services:\n  web:\n    kind: modle\n");
    assert_eq!(
        e,
        "3:11: unknown variant `modle`, expected `model` or `service`"
    );
    assert_eq!(hint.as_deref(), Some("did you mean `model`?"));
}

#[test]
fn duplicate_keys_are_refused_at_the_repeated_key() {
    let text = "services:\n  web:\n    kind: model\n    kind: service\n  db: {}\n  web: {}\n";
    assert_eq!(
        errors(text),
        [
            "4:5: duplicate field `kind`",
            "6:3: duplicate service `web`"
        ]
    );
    let (e, hint) = single("supervisor:\n  preset: balanced\n  preset: aggressive\n");
    assert_eq!(
        (e.as_str(), hint.as_deref()),
        (
            "3:3: duplicate field `preset`",
            Some("`preset` is first set on line 2; keep one")
        )
    );
    let (e, _) = single("services: {}\nsupervisor: {}\nservices: {}\n");
    assert_eq!(e, "3:1: duplicate field `services`");
    // Inside structs read by serde's derive, the error moves to the key.
    let (e, hint) = single(
        "services:\n  web:\n    health:\n      timeout: 1s\n      tcp: x:1\n      timeout: 2s\n",
    );
    assert_eq!(
        (e.as_str(), hint.as_deref()),
        (
            "6:7: duplicate field `timeout`",
            Some("`timeout` is first set on line 4; keep one")
        )
    );
    let (e, _) = single("supervisor:\n  maintenance:\n    - from: \"01:00\"\n      to: \"02:00\"\n      from: \"03:00\"\n");
    assert_eq!(e, "5:7: duplicate field `from`");
}

#[test]
fn wrong_types_and_bad_values_point_at_the_value() {
    let cases = [
        ("services:\n  web:\n    pinned: yes\n", "3:13: invalid type: string \"yes\", expected a boolean"),
        ("services:\n  web:\n    priority: high\n", "3:15: invalid type: string \"high\", expected i64"),
        ("services: 3\n", "1:11: invalid type: integer `3`, expected a mapping of service names to services"),
        ("- a\n", "1:1: invalid type: sequence, expected a mapping with `node`, `supervisor` and `services`"),
        ("services:\n  web:\n    stop_timeout: 10\n", "3:19: invalid duration `10`: missing unit"),
        ("services:\n  web:\n    idle_timeout: 5x\n", "3:19: invalid duration `5x`: unknown unit `x` (use ms, s, m, h or d, e.g. `500ms`, `2s`, `5m`)"),
        ("services:\n  web:\n    health:\n      timeout: 0s\n", "4:16: invalid duration `0s`: must be greater than zero"),
        ("services:\n  web:\n    memory: 8XB\n", "3:13: invalid size `8XB`: expected a number of bytes or a unit such as `512MiB`, `8GiB`, `40GB`"),
        ("services:\n  web:\n    gpu_memory: -1GiB\n", "3:17: invalid size `-1GiB`: must not be negative"),
        ("supervisor:\n  gpu_pressure: 0%\n", "2:17: invalid ratio `0%`: must be above 0 and at most 1 (100%)"),
        ("supervisor:\n  memory_pressure: 1.5\n", "2:20: invalid ratio `1.5`: must be above 0 and at most 1 (100%)"),
        ("supervisor:\n  max_restart_attempts: -1\n", "2:25: invalid type: integer `-1`, expected u32"),
        ("services:\n  web:\n    restart: []\n", "3:14: empty command: give at least the program to run"),
        ("services:\n  web:\n    stop: [\"\", x]\n", "3:11: empty program name in command"),
        ("services:\n  web:\n    spawn: run me\n", "3:12: expected a list of arguments, found the string `run me`"),
        ("services:\n  web:\n    process:\n      pidfile: \"\"\n", "4:16: expected a non-empty string"),
        ("supervisor:\n  webhooks:\n    - url: ftp://x\n", "3:12: invalid url `ftp://x`: expected `http://` or `https://` followed by a host"),
        ("services:\n  web:\n    health:\n      http: localhost:80\n", "4:13: invalid url `localhost:80`: expected `http://` or `https://` followed by a host"),
        ("services:\n  web:\n    health:\n      tcp: localhost\n", "4:12: invalid tcp address `localhost`: expected `host:port`"),
        ("supervisor:\n  webhooks:\n    - url: http://x\n      events: [decision, health_change]\n", "4:26: unknown event type `health_change`, expected one of `run_started`, `health_changed`, `observation_invalid`, `drift_detected`, `reconcile_required`, `reconcile_recommended`, `reconcile_blocked`, `conflict_resolved`, `action_executed`, `action_verified`, `decision`, `run_finished`, `webhook_failed`, `config_insecure`, `intent_recovered`, `service_removed`, `circuit_half_open`, `thrash_detected`, `orphan_detected`, `replay_score`, `tuning_changed`, `failure_predicted`"),
        ("services:\n  web:\n    health:\n      degraded_after: 0\n", "4:23: `degraded_after` must be at least 1"),
        ("services:\n  web:\n    health:\n      degraded_after: 4\n      dead_after: 3\n", "4:23: `degraded_after` (4) must not exceed `dead_after` (3)"),
        ("services:\n  web:\n    health:\n      dead_after: 1\n", "4:19: `degraded_after` (2) must not exceed `dead_after` (1)"),
    ];
    for (text, expected) in cases {
        assert_eq!(errors(text), [expected], "in:\n{text}");
    }
    let (_, hint) = single("supervisor:\n  memory_pressure: 90\n");
    assert_eq!(hint.as_deref(), Some("write `90%` for a percentage"));
    let (_, hint) = single("services:\n  web:\n    stop_timeout: 10\n");
    assert_eq!(
        hint.as_deref(),
        Some("write `10s` for seconds, or use ms, m, h, d")
    );
}

#[test]
fn one_of_rules() {
    let text = "services:\n  a:\n    process:\n      pidfile: /run/a.pid\n      name: a\n  b:\n    health:\n      http: http://x/\n      command: [true]\n  c:\n    restart: [x]\n    spawn: [y]\n  d:\n    process: {}\n";
    assert_eq!(
        errors(text),
        [
            "5:7: `process` takes only one of `pidfile`, `name`, `cmdline_contains`; found `pidfile` and `name`",
            "9:7: `health` takes only one of `http`, `tcp`, `command`, `inference`; found `http` and `command`",
            "12:5: `restart` and `spawn` are both given",
            "14:5: `process` needs one of `pidfile`, `name`, `cmdline_contains`",
        ]
    );
}

#[test]
fn maintenance_windows() {
    let window = |days: &str, from: &str, to: &str| {
        format!(
            "supervisor:\n  maintenance:\n    - days: {days}\n      from: {from}\n      to: {to}\n"
        )
    };
    let node = load(&window("[mon, Friday]", "\"22:30\"", "\"01:00\"")).unwrap_err();
    assert_eq!(
        node[0].message,
        "unknown day `Friday`, expected one of `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`"
    );
    assert_eq!(
        (node[0].line, node[0].column, node[0].hint.as_deref()),
        (3, 19, Some("did you mean `friday`?"))
    );
    let ok = load(&window("[monday, fri]", "\"22:30\"", "\"01:00\"")).unwrap();
    let w = &ok.settings.maintenance[0];
    assert_eq!(
        (w.days.as_slice(), w.from_minute, w.to_minute),
        (&[chrono::Weekday::Mon, chrono::Weekday::Fri][..], 1350, 60)
    );
    assert_eq!(
        errors(&window("[sat]", "\"03:00\"", "\"03:00\"")),
        ["5:11: maintenance window is empty: `from` and `to` are the same time"]
    );
    assert_eq!(
        errors(&window("[sat]", "\"24:00\"", "\"03:00\"")),
        ["4:13: invalid time `24:00`: expected \"HH:MM\" from 00:00 to 23:59 (UTC)"]
    );
    assert_eq!(
        errors(&window("[sat]", "\"01:00\"", "\"24:01\"")),
        ["5:11: invalid time `24:01`: expected \"HH:MM\" from 00:00 to 24:00 (UTC)"]
    );
    assert_eq!(
        errors(&window("[sat]", "\"1:00\"", "\"02:00\"")),
        ["4:13: invalid time `1:00`: expected \"HH:MM\" from 00:00 to 23:59 (UTC)"]
    );
    assert_eq!(
        errors("supervisor:\n  maintenance:\n    - to: \"02:00\"\n"),
        ["3:7: missing field `from`"]
    );
}

#[test]
fn names_and_node_field() {
    assert_eq!(
        single("node: other\n").0,
        "1:7: `node: other` does not match the folder name `gpu-box`"
    );
    let (e, hint) = single("services:\n  Web_1: {}\n");
    assert_eq!(
        (e.as_str(), hint.as_deref()),
        (
            "2:3: invalid service name `Web_1`",
            Some("names are lowercase: `web_1`")
        )
    );
    assert_eq!(
        single("services:\n  -web: {}\n").0,
        "2:3: invalid service name `-web`"
    );
    assert_eq!(
        single(&format!("services:\n  {}: {{}}\n", "a".repeat(64))).0,
        format!("2:3: invalid service name `{}`", "a".repeat(64))
    );
    assert!(load(&format!(
        "services:\n  {}: {{}}\n  a.b_c-9: {{}}\n",
        "a".repeat(63)
    ))
    .is_ok());
}

#[test]
fn references_and_cycles() {
    let text = "services:\n  a:\n    depends_on: [b]\n    fallback: a\n  b:\n    depends_on:\n      - c\n      - rediss\n  c:\n    depends_on: [a, c, a]\n    fallback: lama\n  redis: {}\n  llama: {}\n";
    assert_eq!(
        errors(text),
        [
            "3:18: dependency cycle `a -> b -> c -> a`",
            "4:15: service `a` cannot be its own fallback",
            "8:9: unknown service `rediss` in `depends_on`",
            "10:21: service `c` cannot depend on itself",
            "10:24: `a` is listed twice in `depends_on`",
            "11:15: unknown service `lama` in `fallback`",
        ]
    );
    let all = load(text).unwrap_err();
    assert_eq!(all[2].hint.as_deref(), Some("did you mean `redis`?"));
    assert_eq!(all[5].hint.as_deref(), Some("did you mean `llama`?"));
    // Two separate cycles, each named once.
    let two = "services:\n  x:\n    depends_on: [y]\n  y:\n    depends_on: [x]\n  p:\n    depends_on: [q]\n  q:\n    depends_on: [p]\n";
    assert_eq!(
        errors(two),
        [
            "3:18: dependency cycle `x -> y -> x`",
            "7:18: dependency cycle `p -> q -> p`"
        ]
    );
    // A reference to a service that failed to load is not also unknown.
    assert_eq!(
        errors("services:\n  a:\n    fallback: b\n  b:\n    kind: nope\n"),
        ["5:11: unknown variant `nope`, expected `model` or `service`"]
    );
}

#[test]
fn every_bad_service_and_field_is_reported() {
    let text = "services:\n  a:\n    memory: lots\n    priority: x\n  b:\n    kind: nope\n  c: {}\nsupervisor:\n  preset: wild\n  idle_timeout: 5\n";
    assert_eq!(
        errors(text),
        [
            "3:13: invalid size `lots`: expected a number of bytes or a unit such as `512MiB`, `8GiB`, `40GB`",
            "4:15: invalid type: string \"x\", expected i64",
            "6:11: unknown variant `nope`, expected `model` or `service`",
            "9:11: unknown variant `wild`, expected one of `conservative`, `balanced`, `aggressive`",
            "10:17: invalid duration `5`: missing unit",
        ]
    );
}

#[test]
fn syntax_errors_end_the_file() {
    assert_eq!(
        errors("services:\n  a: [1\n  b: 2\n"),
        ["3:4: did not find expected ',' or ']', while parsing a flow sequence"]
    );
    assert_eq!(
        errors("services:\n  a:\n    b: c\n   d: e\n"),
        ["4:4: did not find expected key, while parsing a block mapping"]
    );
    assert_eq!(errors("a: 1\n---\nb: 2\n").len(), 1);
}

#[test]
fn too_many_errors_stop_the_file() {
    let text: String = std::iter::once("services:\n".to_string())
        .chain((0..60).map(|i| format!("  s{i}:\n    memory: bad\n")))
        .collect();
    let all = load(&text).unwrap_err();
    assert_eq!(all.len(), 51);
    assert_eq!(
        (all[0].line, all[0].message.as_str()),
        (0, "too many errors, stopped after 50")
    );
    assert_eq!((all[50].line, all[50].column), (101, 13));
}
