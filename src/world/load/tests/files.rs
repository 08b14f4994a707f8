use std::fs;
use std::time::{Duration, Instant};

use super::*;
use crate::world::load::{load_world, load_world_threads};
use crate::world::*;

#[test]
fn reads_every_file_kind() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(
        root,
        "nodes/gpu-box.json",
        format!(r#"{{"status": "online", "last_seen": "{T}"}}"#),
    );
    put(root, "services/gpu-box/llama.json", svc("degraded"));
    put(
        root,
        "deployments/gpu-box/llama.json",
        format!(r#"{{"attempts": [{{"at": "{T}", "outcome": "failed", "message": "oom"}}]}}"#),
    );
    put(
        root,
        "resources/gpu-box.json",
        format!(
            r#"{{"observed_at": "{T}", "memory": {{"total_bytes": 100, "used_bytes": 95}},
                "gpus": [{{"index": 0, "name": "H100", "memory_total_bytes": 80,
                           "memory_used_bytes": 10, "temperature_c": 61, "utilization": 0.87}}]}}"#
        ),
    );
    put(
        root,
        "incidents/inc-2.json",
        incident("inc-2", "gpu-box", Some("llama")),
    );
    put(
        root,
        "incidents/inc-1.json",
        incident("inc-1", "gpu-box", None),
    );
    let w = load_world(root, &fleet(&[("gpu-box", &["llama", "redis"])]));

    assert!(w.invalid.is_empty(), "{:?}", w.invalid);
    let node = w.nodes["gpu-box"].valid().unwrap();
    assert_eq!(node.status, NodeStatus::Online);
    let s = w.services[&key("gpu-box", "llama")].valid().unwrap();
    assert_eq!(
        (s.status, s.pid, s.in_flight),
        (ServiceStatus::Degraded, Some(42), Some(1))
    );
    assert!(!w.services.contains_key(&key("gpu-box", "redis")));
    let d = w.deployments[&key("gpu-box", "llama")].valid().unwrap();
    assert_eq!(d.attempts[0].outcome, AttemptOutcome::Failed);
    assert_eq!(d.attempts[0].message.as_deref(), Some("oom"));
    let r = w.resources["gpu-box"].valid().unwrap();
    assert_eq!(r.memory.unwrap().used_bytes, 95);
    assert_eq!(r.gpus[0].utilization, Some(0.87));
    let ids: Vec<_> = w.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["inc-1", "inc-2"]);
}

#[test]
fn missing_world_and_folders_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    let f = fleet(&[("a", &["x"])]);
    let missing = load_world(&dir.path().join("nope"), &f);
    let empty = load_world(dir.path(), &f);
    for w in [&missing, &empty] {
        assert!(w.nodes.is_empty() && w.services.is_empty() && w.invalid.is_empty());
        assert!(w.incidents.is_empty() && w.resources.is_empty() && w.deployments.is_empty());
    }
    assert_eq!(missing.fingerprint, empty.fingerprint);
}

#[test]
fn bad_files_become_invalid_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(root, "services/n/torn.json", r#"{"status": "ok", "observ"#);
    put(root, "services/n/weird.json", svc("weird"));
    put(root, "services/n/latin.json", b"{\"status\": \"ok\xe9\"}");
    put(root, "services/n/huge.json", vec![b' '; 1024 * 1024 + 1]);
    put(root, "services/n/exact.json", {
        let mut body = svc("ok").into_bytes();
        body.resize(1024 * 1024, b' ');
        body
    });
    put(root, "elsewhere.json", svc("ok"));
    std::os::unix::fs::symlink(
        root.join("elsewhere.json"),
        root.join("services/n/link.json"),
    )
    .unwrap();
    nix::unistd::mkfifo(
        &root.join("services/n/fifo.json"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    fs::create_dir_all(root.join("services/n/dir.json")).unwrap();
    put(root, "incidents/bad.json", "{}");
    put(root, "nodes/n.json", r#"{"status": "online"}"#);

    let services = [
        "torn", "weird", "latin", "huge", "exact", "link", "fifo", "dir",
    ];
    let started = Instant::now();
    let w = load_world(root, &fleet(&[("n", &services)]));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a FIFO must not hang the loader"
    );

    for (s, needle) in [
        ("torn", "invalid JSON"),
        ("weird", "unknown variant `weird`"),
        ("latin", "not valid UTF-8"),
        ("huge", "file exceeds 1 MiB limit"),
        ("link", "not a regular file"),
        ("fifo", "not a regular file"),
        ("dir", "not a regular file"),
    ] {
        let path = format!("services/n/{s}.json");
        let inv = invalid(&w, &path);
        assert!(inv.error.contains(needle), "{path}: {}", inv.error);
        assert_eq!(
            (inv.node.as_deref(), inv.service.as_deref()),
            (Some("n"), Some(s))
        );
        assert!(matches!(w.services[&key("n", s)], Obs::Invalid), "{s}");
    }
    assert!(
        w.services[&key("n", "exact")].valid().is_some(),
        "exactly 1 MiB is allowed"
    );
    let inc = invalid(&w, "incidents/bad.json");
    assert_eq!((inc.node.clone(), inc.service.clone()), (None, None));
    let node_error = &invalid(&w, "nodes/n.json").error;
    assert!(node_error.starts_with("unexpected shape"), "{node_error}");
    assert!(matches!(w.nodes["n"], Obs::Invalid));
    let paths: Vec<_> = w.invalid.iter().map(|i| i.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted);
    assert_eq!(paths.len(), 9);
}

#[test]
fn only_declared_json_files_count() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(root, "services/n/a.json", svc("ok"));
    put(root, "services/n/a.json.tmp", "torn");
    put(root, "services/n/b.json.tmp", svc("ok"));
    put(root, "services/n/undeclared.json", "not even json");
    put(root, "services/other/a.json", "not even json");
    put(root, "nodes/other.json", "not even json");
    put(root, "incidents/.hidden.json", "not even json");
    // Incident ids come from other tools: `INC-7` is a valid name.
    put(root, "incidents/INC-7.json", incident("INC-7", "n", None));
    put(root, "incidents/note.txt", "not even json");
    put(root, "incidents/x.json.tmp", "not even json");
    put(
        root,
        "incidents/i-other.json",
        incident("i-other", "other", None),
    );
    put(
        root,
        "incidents/i-undeclared.json",
        incident("i-undeclared", "n", Some("zzz")),
    );
    put(root, "incidents/i-node.json", incident("i-node", "n", None));
    put(
        root,
        "incidents/i-svc.json",
        incident("i-svc", "n", Some("a")),
    );
    let w = load_world(root, &fleet(&[("n", &["a", "b"])]));
    assert!(w.invalid.is_empty(), "{:?}", w.invalid);
    assert_eq!(w.services.len(), 1);
    assert!(w.services[&key("n", "a")].valid().is_some());
    let ids: Vec<_> = w.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["INC-7", "i-node", "i-svc"]);
}

#[test]
fn unusable_folders_make_their_records_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let elsewhere = root.join("elsewhere");
    put(root, "elsewhere/a.json", svc("ok"));
    fs::create_dir_all(root.join("services")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, root.join("services/n")).unwrap();
    put(root, "services/m/a.json", svc("ok"));
    put(root, "nodes", "a file where a folder belongs");
    let w = load_world(root, &fleet(&[("m", &["a"]), ("n", &["a", "b"])]));
    let inv = invalid(&w, "services/n");
    assert_eq!(inv.error, "not a directory (symbolic link)");
    assert_eq!(
        (inv.node.as_deref(), inv.service.as_deref()),
        (Some("n"), None)
    );
    assert!(matches!(w.services[&key("n", "a")], Obs::Invalid));
    assert!(matches!(w.services[&key("n", "b")], Obs::Invalid));
    assert!(w.services[&key("m", "a")].valid().is_some());
    assert_eq!(invalid(&w, "nodes").error, "not a directory");
    assert!(matches!(w.nodes["m"], Obs::Invalid) && matches!(w.nodes["n"], Obs::Invalid));
    assert_eq!(w.invalid.len(), 2);
}

#[test]
fn fingerprint_follows_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(root, "services/n/a.json", svc("ok"));
    put(
        root,
        "nodes/n.json",
        format!(r#"{{"status": "online", "last_seen": "{T}"}}"#),
    );
    let f = fleet(&[("n", &["a"])]);
    let first = load_world(root, &f).fingerprint;
    assert_eq!(first, load_world(root, &f).fingerprint);
    put(root, "services/n/ignored.json.tmp", "x");
    put(root, "services/n/undeclared.json", "x");
    assert_eq!(first, load_world(root, &f).fingerprint);
    put(root, "services/n/a.json", svc("ok").replace("42", "43"));
    let changed = load_world(root, &f).fingerprint;
    assert_ne!(first, changed);
    put(root, "services/n/a.json", svc("ok"));
    assert_eq!(first, load_world(root, &f).fingerprint);
}

#[test]
fn threads_do_not_change_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let names: Vec<String> = (0..30).map(|i| format!("s{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let nodes: Vec<String> = (0..40).map(|i| format!("node-{i}")).collect();
    let spec: Vec<(&str, &[&str])> = nodes.iter().map(|n| (n.as_str(), &refs[..])).collect();
    for (i, node) in nodes.iter().enumerate() {
        for (j, s) in names.iter().enumerate() {
            let body = if (i + j) % 97 == 0 {
                "{".to_string()
            } else {
                svc("ok")
            };
            put(root, &format!("services/{node}/{s}.json"), body);
        }
    }
    let f = fleet(&spec);
    let one = load_world_threads(root, &f, 1);
    let four = load_world_threads(root, &f, 4);
    assert_eq!(one.fingerprint, four.fingerprint);
    assert_eq!(one.invalid, four.invalid);
    assert_eq!(one.services.len(), 1200);
    assert_eq!(four.services.len(), 1200);
    assert!(!one.invalid.is_empty());
    let valid = |w: &World| w.services.values().filter(|o| o.valid().is_some()).count();
    assert_eq!(valid(&one), valid(&four));
}

#[test]
fn node_folders_sort_like_their_files() {
    // `a-b/` sorts before `a/`: the fingerprint follows file paths, so the
    // same bytes under other folder names in another order must differ, and
    // the `invalid` list comes out sorted by path.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for node in ["a", "a-b", "a.c"] {
        put(root, &format!("services/{node}/s.json"), "{");
        put(root, &format!("deployments/{node}/s.json"), "{");
    }
    let w = load_world(
        root,
        &fleet(&[("a", &["s"]), ("a-b", &["s"]), ("a.c", &["s"])]),
    );
    let paths: Vec<_> = w.invalid.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "deployments/a-b/s.json",
            "deployments/a.c/s.json",
            "deployments/a/s.json",
            "services/a-b/s.json",
            "services/a.c/s.json",
            "services/a/s.json",
        ]
    );
}

#[test]
fn many_nodes_do_not_hold_many_descriptors() {
    // Node folders are opened one group at a time: 400 nodes (800 folders)
    // load under a limit of 200 descriptors. The limit is set on a child
    // process (this test binary again) so that other tests are unaffected.
    const CHILD: &str = "SUPERVISORCTL_TEST_FD_LIMIT_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let exe = std::env::current_exe().unwrap();
        let status = std::process::Command::new("sh")
            .args([
                "-c",
                "ulimit -n 200 && exec \"$0\" --exact \"$1\" --test-threads 1",
            ])
            .arg(exe)
            .arg("world::load::tests::files::many_nodes_do_not_hold_many_descriptors")
            .env(CHILD, "1")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "the load under `ulimit -n 200` failed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let nodes: Vec<String> = (0..400).map(|i| format!("n{i}")).collect();
    for node in &nodes {
        put(root, &format!("services/{node}/s.json"), svc("ok"));
        put(
            root,
            &format!("deployments/{node}/s.json"),
            "{\"attempts\": []}",
        );
    }
    let spec: Vec<(&str, &[&str])> = nodes.iter().map(|n| (n.as_str(), &["s"][..])).collect();
    for threads in [1, 4] {
        let w = load_world_threads(root, &fleet(&spec), threads);
        assert!(w.invalid.is_empty(), "{:?}", &w.invalid[..1]);
        assert_eq!((w.services.len(), w.deployments.len()), (400, 400));
    }
}

#[test]
fn a_world_path_that_is_a_file_makes_everything_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world");
    fs::write(&path, "not a folder").unwrap();
    let w = load_world(&path, &fleet(&[("n", &["a"])]));
    assert_eq!(w.invalid.len(), 1);
    assert_eq!(w.invalid[0].path, ".");
    assert_eq!(
        w.invalid[0].error,
        "cannot open world directory: not a directory"
    );
    assert!(matches!(w.nodes["n"], Obs::Invalid));
    assert!(matches!(w.services[&key("n", "a")], Obs::Invalid));
}

/// Issue: whoever writes the world could stall every run (40,000
/// incidents: 3.4 s in `decide`) and rotate all history away with their
/// events. At most 1,000 a node are read (open ones first, in id order);
/// the rest are reported once, with their count.
#[test]
fn incidents_past_the_cap_are_left_out_and_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..1500 {
        put(
            root,
            &format!("incidents/i{i:05}.json"),
            incident(&format!("i{i:05}"), "n1", None),
        );
    }
    let w = load_world(root, &fleet(&[("n1", &["a"])]));
    assert_eq!(w.incidents.len(), 1000);
    assert_eq!(w.incidents[0].id, "i00000");
    let capped: Vec<_> = w.invalid.iter().filter(|i| i.path == "incidents").collect();
    assert_eq!(capped.len(), 1, "{:?}", w.invalid);
    assert!(
        capped[0]
            .error
            .contains("has 500 more incidents than the 1000 read"),
        "{}",
        capped[0].error
    );
    assert_eq!(capped[0].node.as_deref(), Some("n1"));
}
