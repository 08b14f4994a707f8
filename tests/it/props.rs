//! Properties of the two loaders, through the library API: no input makes
//! the config parser (`load_node`) or the world loader (`load_world`)
//! panic, and a generated valid `services.yaml` always loads with the
//! values it was written with. 256 cases each, so the suite stays quick;
//! the fuzz targets in `fuzz/` run the same entry points for longer.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use supervisorctl::desired::{load_node, Fleet, Kind};
use supervisorctl::world::load::load_world;
use supervisorctl::world::{DeploymentRecord, NodeRecord, Obs, ResourceRecord, ServiceRecord};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text built from YAML's punctuation and the schema's own words, so that
/// cases get past the first line more often than random text does.
fn yamlish() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "services:",
        "supervisor:",
        "node: n1",
        "\n",
        "\n  ",
        "\n    ",
        "  ",
        "- ",
        ": ",
        ":",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "<<: *a",
        "!!str ",
        "!!binary ",
        "? ",
        "|",
        ">",
        "'",
        "\"",
        "#",
        "---",
        "...",
        "%YAML 1.2\n",
        "~",
        "null",
        "true",
        "1e999",
        "-1",
        "0x10",
        "\t",
        "kind: model",
        "priority: 9223372036854775808",
        "pinned: yes",
        "idle_timeout: 5m",
        "memory: 8GiB",
        "gpu_memory: 40GB",
        "depends_on: [x]",
        "fallback: x",
        "health:",
        "http: http://127.0.0.1:1/",
        "tcp: :0",
        "timeout: 0s",
        "degraded_after: 0",
        "dead_after: 4294967296",
        "restart: [a]",
        "spawn: []",
        "process:",
        "pidfile: /x",
        "maintenance:",
        "from: \"25:61\"",
        "days: [sun]",
        "memory_pressure: 190%",
        "preset: x",
        "x:",
        "llama-70b:",
        "\u{feff}",
        "é",
    ]);
    prop::collection::vec(tokens, 0..48).prop_map(|t| t.concat())
}

const FILE: &str = "hosts/n1/services.yaml";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn load_node_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = load_node("n1", Path::new(FILE), &text);
    }

    #[test]
    fn load_node_never_panics_on_yamlish_text(text in yamlish()) {
        let _ = load_node("n1", Path::new(FILE), &text);
    }

    #[test]
    fn load_node_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = load_node("n1", Path::new(FILE), &String::from_utf8_lossy(&bytes));
    }
}

/// One node `n1` with one service `s1`.
fn small_fleet() -> Fleet {
    let text = "services:\n  s1:\n    kind: model\n";
    let node = load_node("n1", Path::new(FILE), text).expect("a valid node");
    Fleet {
        nodes: BTreeMap::from([("n1".to_string(), node)]),
        fingerprint: [0; 32],
    }
}

/// JSON values over the world records' field names, serialized, then
/// sometimes cut short or given a stray byte; or plain bytes.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let key = prop::sample::select(vec![
        "status",
        "last_seen",
        "observed_at",
        "pid",
        "memory",
        "gpus",
        "attempts",
        "at",
        "outcome",
        "total_bytes",
        "used_bytes",
        "index",
        "memory_total_bytes",
        "id",
        "node",
        "severity",
        "opened_at",
        "summary",
        "requests_total",
        "temperature_c",
    ]);
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "ok",
            "online",
            "failed",
            "succeeded",
            "critical",
            "open",
            "2026-11-23T12:00:00Z",
            "2026-13-40T25:00:00Z",
            "",
        ])
        .prop_map(serde_json::Value::from),
    ];
    let value = leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(key.clone(), inner, 0..8).prop_map(|m| {
                serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    });
    prop_oneof![
        4 => (value, any::<prop::sample::Index>(), any::<u8>(), 0..3u8).prop_map(|(v, cut, stray, how)| {
            let mut bytes = serde_json::to_vec(&v).expect("serialize");
            match how {
                0 => {}
                1 => bytes.truncate(cut.index(bytes.len() + 1)),
                _ => bytes.insert(cut.index(bytes.len() + 1), stray),
            }
            bytes
        }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// Valid or reported invalid, and valid only when the record type parses.
fn agrees<T: serde::de::DeserializeOwned>(
    obs: Option<&Obs<T>>,
    bytes: &[u8],
    rel: &str,
    invalid: &[String],
) {
    match obs {
        Some(Obs::Valid(_)) => assert!(
            serde_json::from_slice::<T>(bytes).is_ok(),
            "`{rel}` loaded as valid but does not parse"
        ),
        Some(Obs::Invalid) => assert!(
            invalid.iter().any(|p| p == rel),
            "`{rel}` invalid but not reported"
        ),
        None => panic!("`{rel}` exists but is neither valid nor invalid"),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn load_world_never_panics_and_reports_every_bad_file(
        node in jsonish(), service in jsonish(), deployment in jsonish(),
        resources in jsonish(), incident in jsonish(),
    ) {
        let dir = tempfile::tempdir().expect("scratch");
        let root = dir.path();
        let files = [
            ("nodes/n1.json", &node),
            ("services/n1/s1.json", &service),
            ("deployments/n1/s1.json", &deployment),
            ("resources/n1.json", &resources),
            ("incidents/i1.json", &incident),
        ];
        for (rel, bytes) in files {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
            fs::write(path, bytes).expect("write");
        }
        let world = load_world(root, &small_fleet());
        let invalid: Vec<String> = world.invalid.iter().map(|i| i.path.clone()).collect();
        let key = ("n1".to_string(), "s1".to_string());
        agrees::<NodeRecord>(world.nodes.get("n1"), &node, "nodes/n1.json", &invalid);
        agrees::<ServiceRecord>(world.services.get(&key), &service, "services/n1/s1.json", &invalid);
        agrees::<DeploymentRecord>(world.deployments.get(&key), &deployment, "deployments/n1/s1.json", &invalid);
        agrees::<ResourceRecord>(world.resources.get("n1"), &resources, "resources/n1.json", &invalid);
    }
}

/// One generated service: the values written and the text that says them.
#[derive(Debug, Clone)]
struct Gen {
    model: bool,
    priority: i64,
    pinned: bool,
    idle: (u64, &'static str),
    stop: (u64, &'static str),
    memory: (u64, &'static str),
    deps: Vec<prop::sample::Index>,
}

fn unit_ms(unit: &str) -> u64 {
    match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => 86_400_000,
    }
}

fn unit_bytes(unit: &str) -> u64 {
    match unit {
        "" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => 1_000_000_000,
    }
}

fn service() -> impl Strategy<Value = Gen> {
    // At most 365d, the bound on every duration.
    let dur = (
        1..366u64,
        prop::sample::select(vec!["ms", "s", "m", "h", "d"]),
    );
    let size = (
        1..4096u64,
        prop::sample::select(vec!["", "KiB", "MiB", "GiB", "GB"]),
    );
    let deps = prop::collection::vec(any::<prop::sample::Index>(), 0..3);
    (
        any::<bool>(),
        -1000..1000i64,
        any::<bool>(),
        dur.clone(),
        dur,
        size,
        deps,
    )
        .prop_map(|(model, priority, pinned, idle, stop, memory, deps)| Gen {
            model,
            priority,
            pinned,
            idle,
            stop,
            memory,
            deps,
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_generated_valid_services_yaml_loads_with_its_values(
        services in prop::collection::btree_map("[a-z0-9][a-z0-9._-]{0,20}", service(), 1..8),
    ) {
        let names: Vec<&String> = services.keys().collect();
        let mut text = String::from("services:\n");
        let mut deps_of = BTreeMap::new();
        for (i, (name, g)) in services.iter().enumerate() {
            // Depend only on earlier names: never a cycle.
            let mut deps: Vec<&str> = g.deps.iter().filter(|_| i > 0).map(|d| names[d.index(i)].as_str()).collect();
            deps.sort_unstable();
            deps.dedup();
            let _ = write!(
                text,
                "  {name}:\n    kind: {}\n    priority: {}\n    pinned: {}\n    idle_timeout: {}{}\n    stop_timeout: {}{}\n    memory: {}{}\n    depends_on: [{}]\n",
                if g.model { "model" } else { "service" }, g.priority, g.pinned,
                g.idle.0, g.idle.1, g.stop.0, g.stop.1, g.memory.0, g.memory.1, deps.join(", "),
            );
            deps_of.insert(name.clone(), deps);
        }
        let node = load_node("n1", Path::new(FILE), &text)
            .unwrap_or_else(|e| panic!("{text}\nrefused: {e:?}"));
        prop_assert_eq!(node.services.keys().collect::<Vec<_>>(), names.clone());
        for (name, g) in &services {
            let s = &node.services[name];
            prop_assert_eq!(s.kind, if g.model { Kind::Model } else { Kind::Service });
            prop_assert_eq!(s.priority, g.priority);
            prop_assert_eq!(s.pinned, g.pinned);
            prop_assert_eq!(s.idle_timeout, Duration::from_millis(g.idle.0 * unit_ms(g.idle.1)));
            prop_assert_eq!(s.stop_timeout, Duration::from_millis(g.stop.0 * unit_ms(g.stop.1)));
            prop_assert_eq!(s.memory, Some(g.memory.0 * unit_bytes(g.memory.1)));
            prop_assert_eq!(&s.depends_on, &deps_of[name]);
        }
    }
}

/// Names YAML 1.1 or 1.2 would read as numbers, booleans, null or dates
/// are still the names written, character for character.
#[test]
fn names_that_look_like_other_yaml_types_keep_their_text() {
    let names = [
        "1",
        "007",
        "1.0",
        "1.50",
        "1e5",
        "0x10",
        "0o17",
        "1_000",
        "null",
        "true",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "nan",
        "inf",
        "2026-01-01",
    ];
    let mut text = String::from("services:\n");
    for name in names {
        let _ = write!(text, "  {name}:\n    depends_on: []\n");
    }
    let node = load_node("n1", Path::new(FILE), &text).expect("valid names");
    let mut expected: Vec<&str> = names.to_vec();
    expected.sort_unstable();
    let loaded: Vec<&str> = node.services.keys().map(String::as_str).collect();
    assert_eq!(loaded, expected);
}
