//! Hostile input never crashes, hangs or escapes: a YAML alias bomb, deep
//! nesting, huge files, bytes that are not UTF-8, symlink loops, FIFOs and
//! symlinks out of the world directory, and a world file rewritten while
//! runs read it. A bad `services.yaml` is an error of `validate` (exit 1,
//! the file named); a bad world file is an `observation_invalid` of
//! `check`, which still finishes. Every run is bounded: it is killed after
//! 20 s and must have ended within 10 s.
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{copy_tree, parse_json_lines, repo_root, NOW};

const LIMIT: Duration = Duration::from_secs(10);

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `args`, output to files (no pipe to fill), killed
/// after twice [`LIMIT`]; asserts it ended within `LIMIT`.
fn bounded(args: &[&std::ffi::OsStr]) -> Ran {
    let dir = tempfile::tempdir().expect("scratch");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = crate::support::Run::bare()
        .args(args)
        .current_dir(dir.path())
        .command()
        .env("XDG_STATE_HOME", dir.path().join("xdg"))
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).expect("stdout file"))
        .stderr(fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("start supervisorctl");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll") {
            break Some(status);
        }
        if started.elapsed() > LIMIT * 2 {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let ran = Ran {
        code: status.and_then(|s| s.code()),
        stdout: fs::read_to_string(out).unwrap_or_default(),
        stderr: fs::read_to_string(err).unwrap_or_default(),
    };
    let took = started.elapsed();
    assert!(
        took < LIMIT,
        "{args:?} ran {took:?} (killed: {}); stderr: {}",
        status.is_none(),
        tail(&ran.stderr)
    );
    ran
}

fn tail(s: &str) -> &str {
    let mut at = s.len().saturating_sub(2000);
    while !s.is_char_boundary(at) {
        at += 1;
    }
    &s[at..]
}

/// A hosts/ with one node `n1` whose `services.yaml` is made by `make`.
fn hosts_with(make: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("scratch");
    let node = dir.path().join("hosts/n1");
    fs::create_dir_all(&node).expect("node folder");
    let file = node.join("services.yaml");
    make(&file);
    (dir, file)
}

/// `validate` of that hosts/ fails with exit 1, naming the file and saying
/// `what`.
fn assert_invalid_config(make: impl FnOnce(&Path), what: &str) {
    let (dir, file) = hosts_with(make);
    let hosts = dir.path().join("hosts");
    let ran = bounded(&["validate".as_ref(), "--hosts".as_ref(), hosts.as_os_str()]);
    assert_eq!(ran.code, Some(1), "stderr: {}", tail(&ran.stderr));
    let name = file.display().to_string();
    assert!(
        ran.stderr.contains(&name),
        "no `{name}` in: {}",
        tail(&ran.stderr)
    );
    assert!(
        ran.stderr.contains(what),
        "no `{what}` in: {}",
        tail(&ran.stderr)
    );
}

#[test]
fn a_yaml_alias_bomb_is_refused() {
    // Ten levels of ten aliases each: 10^10 strings if expanded.
    let mut text =
        String::from("services:\n  s0:\n    depends_on: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        let _ = write!(text, "  s{i}:\n    depends_on: &a{i} [{refs}]\n");
    }
    assert_invalid_config(|f| fs::write(f, text).expect("write"), "error:");
}

#[test]
fn moderately_deep_nesting_is_refused_quickly() {
    let text = format!("services: {}\n", "[".repeat(2_000));
    assert_invalid_config(|f| fs::write(f, text).expect("write"), "error:");
}

#[test]
fn nesting_100k_deep_is_refused_within_bounded_time() {
    let text = format!("services: {}\n", "[".repeat(100_000));
    assert_invalid_config(|f| fs::write(f, text).expect("write"), "error:");
}

#[test]
fn a_100_mb_services_yaml_is_refused() {
    let make = |f: &Path| {
        let file = fs::File::create(f).expect("create");
        file.set_len(100 * 1024 * 1024)
            .expect("a sparse 100 MB file");
    };
    assert_invalid_config(make, "file is too large");
}

#[test]
fn bytes_that_are_not_utf8_are_refused() {
    let make =
        |f: &Path| fs::write(f, b"services:\n  a\xff\xfe:\n    kind: model\n").expect("write");
    assert_invalid_config(make, "not valid UTF-8");
}

#[test]
fn a_services_yaml_symlink_loop_is_refused() {
    let make = |f: &Path| symlink("services.yaml", f).expect("symlink");
    assert_invalid_config(make, "symbolic links");
}

#[test]
fn a_services_yaml_fifo_does_not_hang() {
    let make = |f: &Path| {
        let done = Command::new("mkfifo").arg(f).status().expect("mkfifo");
        assert!(done.success());
    };
    assert_invalid_config(make, "not a regular file");
}

/// A copy of the sample world, and `check --output json` against it.
struct World {
    root: PathBuf,
    dir: tempfile::TempDir,
}

impl World {
    fn sample() -> World {
        let dir = tempfile::tempdir().expect("scratch");
        let root = dir.path().join("world");
        copy_tree(&repo_root().join("world-fixtures/sample/world"), &root);
        World { root, dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Replaces `rel` with what `make` puts there.
    fn replace(&self, rel: &str, make: impl FnOnce(&Path)) {
        let path = self.path(rel);
        let _ = fs::remove_file(&path);
        make(&path);
    }

    fn check(&self) -> Vec<Value> {
        let hosts = repo_root().join("hosts");
        let args = [
            "check".as_ref(),
            "--output".as_ref(),
            "json".as_ref(),
            "--now".as_ref(),
            NOW.as_ref(),
            "--hosts".as_ref(),
            hosts.as_os_str(),
            "--world".as_ref(),
            self.root.as_os_str(),
        ];
        let ran = bounded(&args);
        assert!(
            matches!(ran.code, Some(0 | 2 | 3)),
            "check exited {:?}: {}",
            ran.code,
            tail(&ran.stderr)
        );
        parse_json_lines(&ran.stdout).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The `observation_invalid` events, as (path, error).
fn invalid(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["type"] == "observation_invalid")
        .map(|e| {
            (
                e["path"].as_str().unwrap_or_default().to_string(),
                e["error"].to_string(),
            )
        })
        .collect()
}

fn assert_invalid(found: &[(String, String)], path: &str, error: &str) {
    assert!(
        found.iter().any(|(p, e)| p == path && e.contains(error)),
        "no observation_invalid for `{path}` with `{error}` in {found:?}"
    );
}

#[test]
fn fifos_symlink_loops_and_symlinks_out_of_the_world_are_invalid_observations() {
    let world = World::sample();
    let mkfifo = |p: &Path| {
        assert!(Command::new("mkfifo")
            .arg(p)
            .status()
            .expect("mkfifo")
            .success());
    };
    world.replace("services/gpu-box/agent-runner.json", mkfifo);
    world.replace("services/gpu-box/llama-70b.json", |p| {
        symlink("llama-70b.json", p).expect("a symlink to itself");
    });
    // A valid record outside the world: following the link would read it.
    let outside = world.dir.path().join("outside.json");
    fs::copy(world.path("services/gpu-box/bge-embed.json"), &outside).expect("copy");
    world.replace("services/gpu-box/bge-embed.json", |p| {
        symlink(&outside, p).expect("symlink");
    });
    // A folder that is a symlink loop.
    fs::remove_dir_all(world.path("services/nas")).expect("remove a folder");
    symlink("nas", world.path("services/nas")).expect("a folder symlink loop");
    let found = invalid(&world.check());
    assert_invalid(
        &found,
        "services/gpu-box/agent-runner.json",
        "not a regular file",
    );
    assert_invalid(
        &found,
        "services/gpu-box/llama-70b.json",
        "not a regular file",
    );
    assert_invalid(
        &found,
        "services/gpu-box/bge-embed.json",
        "not a regular file",
    );
    assert_invalid(&found, "services/nas", "symbolic link");
}

#[test]
fn huge_deep_and_binary_world_files_are_invalid_observations() {
    let world = World::sample();
    world.replace("resources/gpu-box.json", |p| {
        let file = fs::File::create(p).expect("create");
        file.set_len(100 * 1024 * 1024)
            .expect("a sparse 100 MB file");
    });
    world.replace("nodes/nas.json", |p| {
        fs::write(p, "[".repeat(100_000)).expect("write deep JSON");
    });
    world.replace("services/gpu-box/llama-8b.json", |p| {
        fs::write(p, b"{\"status\": \"ok\xff\xfe\"}").expect("write");
    });
    let found = invalid(&world.check());
    assert_invalid(&found, "resources/gpu-box.json", "1 MiB");
    assert_invalid(&found, "nodes/nas.json", "");
    assert_invalid(&found, "services/gpu-box/llama-8b.json", "");
}

#[test]
fn a_world_file_rewritten_in_place_during_twenty_checks() {
    let world = World::sample();
    let path = world.path("services/gpu-box/llama-8b.json");
    let valid = fs::read(&path).expect("a record");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, path) = (stop.clone(), path.clone());
        thread::spawn(move || {
            let versions: [&[u8]; 4] = [&valid, b"{\"status\": \"fail", b"", b"\x00\xff{}"];
            let mut writes = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // In place (truncate, then write), not the observer's rename.
                let _ = fs::write(&path, versions[(writes % 4) as usize]);
                writes += 1;
            }
            writes
        })
    };
    let mut torn = 0;
    for _ in 0..20 {
        let events = world.check();
        assert_eq!(
            events.last().map(|e| e["type"].clone()),
            Some("run_finished".into())
        );
        torn += invalid(&events).len();
    }
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().expect("the writer");
    println!("20 checks during {writes} rewrites; {torn} invalid observations");
}
