//! Evicting GPU orphans (SPEC §12): with `evict_orphans: true`, a GPU over
//! pressure and an orphan of this user, `reconcile` stops the orphan (a real
//! `sleep`) and records it; without the setting, under `--dry-run`, or for
//! another user's process, nothing is signalled. The GPU data comes from a
//! stand-in `nvidia-smi` first on `PATH`.
use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::live_support::{alive, write_file, Node, Outcome, NODE};
use crate::orphans::{fake_smi_used, nvidia_driver_present, UUID};

const NOW: &str = "2026-11-23T12:00:00Z";

/// A `sleep` in its own process group (one in the tool's group would be
/// refused as "our process group"), killed when the node is dropped.
fn stray(n: &mut Node, arg: &str, uid: Option<u32>) -> u32 {
    let mut c = Command::new("sleep");
    c.arg(arg).stdin(Stdio::null()).process_group(0);
    if let Some(uid) = uid {
        c.uid(uid);
    }
    let child = c.spawn().expect("sleep");
    let pid = child.id();
    n.children.push(child);
    pid
}

/// A node with one declared model (`llm`, a `sleep` found by its pidfile)
/// holding 30000 MiB, `evict_orphans` as given, and GPU 0 at 80000 of
/// 81559 MiB (98%, over the 90% threshold) once `orphans` (pid, MiB) are
/// added to the stand-in's process list. Returns the node and the model's pid.
fn setup(evict_orphans: bool) -> (Node, u32) {
    let mut n = Node::new("");
    let served = stray(&mut n, "3600.71", None);
    let pidfile = n.path("llm.pid");
    write_file(&pidfile, &format!("{served}\n"));
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "supervisor:\n  evict_orphans: {evict_orphans}\nservices:\n  llm:\n    kind: model\n    process:\n      pidfile: {}\n",
            pidfile.display()
        ),
    );
    (n, served)
}

fn reconcile(n: &Node, served: u32, orphans: &[(u32, u64)], extra: &[&str]) -> Outcome {
    let mut args = vec!["--output", "json"];
    args.extend_from_slice(extra);
    Outcome::from_output(&run(n, served, orphans, &args))
}

/// `reconcile --now NOW EXTRA…` with the stand-in reporting `orphans`.
fn run(n: &Node, served: u32, orphans: &[(u32, u64)], extra: &[&str]) -> std::process::Output {
    let bin = n.path("bin");
    let mut apps = format!("{served}, {UUID}, 30000\n");
    for (pid, mib) in orphans {
        let _ = writeln!(apps, "{pid}, {UUID}, {mib}");
    }
    fake_smi_used(&bin, 80000, &apps);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut args = vec!["reconcile", "--now", NOW];
    args.extend_from_slice(extra);
    n.command(&args).env("PATH", path).output().expect("run")
}

fn orphan_actions(run: &Outcome) -> Vec<&Value> {
    run.events
        .iter()
        .filter(|e| e["type"] == "action_executed" && e["orphan"] == true)
        .collect()
}

fn skip_with_driver() -> bool {
    if nvidia_driver_present() {
        crate::support::skip(
            "an NVIDIA driver is present, NVML takes precedence over the stand-in",
        );
        return true;
    }
    false
}

#[test]
fn reconcile_stops_an_orphan_under_gpu_pressure_before_any_model() {
    if skip_with_driver() {
        return;
    }
    let (mut n, served) = setup(true);
    let orphan = stray(&mut n, "3600.72", None);
    let run = reconcile(&n, served, &[(orphan, 30000)], &[]);
    let acts = orphan_actions(&run);
    assert_eq!(acts.len(), 1, "{:#?}", run.events);
    let a = acts[0];
    assert_eq!(a["action"], "evict", "{a}");
    assert_eq!(a["outcome"], "success", "{a}");
    assert_eq!(a["pid"], orphan, "{a}");
    assert_eq!(a["gpu_index"], 0, "{a}");
    assert_eq!(a["gpu_memory_bytes"], 30000u64 << 20, "{a}");
    assert!(a["service"].is_null(), "{a}");
    assert!(a["reason"].as_str().unwrap().contains("SIGTERM"), "{a}");
    assert!(!alive(orphan), "the orphan is gone");
    assert!(
        alive(served),
        "the declared model stays: the orphan was enough"
    );
    assert!(run.executed("llm", "evict").is_none(), "{:#?}", run.events);
    // Safety's node-level proposal names the orphan.
    let required = run
        .events
        .iter()
        .find(|e| e["type"] == "reconcile_required" && e["service"].is_null())
        .expect("reconcile_required for the node");
    assert!(
        required["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("evict orphan pid {orphan}")),
        "{required}"
    );
    // The decision lists it; the log has it; the intent journal is done.
    let decision = run.events.iter().find(|e| e["type"] == "decision").unwrap();
    let listed = decision["actions"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|x| x["orphan"] == true && x["pid"] == orphan),
        "{decision}"
    );
    let log = std::fs::read_to_string(n.state().join("events.jsonl")).expect("log");
    assert!(log.contains("\"orphan\":true"), "{log}");
    assert!(!n.state().join("intents.jsonl").exists());
}

#[test]
fn without_evict_orphans_or_under_dry_run_no_orphan_is_signalled() {
    if skip_with_driver() {
        return;
    }
    let (mut n, served) = setup(false);
    let orphan = stray(&mut n, "3600.73", None);
    let run = reconcile(&n, served, &[(orphan, 30000)], &["--dry-run"]);
    assert!(orphan_actions(&run).is_empty(), "{:#?}", run.events);
    let run = reconcile(&n, served, &[(orphan, 30000)], &[]);
    assert!(orphan_actions(&run).is_empty(), "{:#?}", run.events);
    assert!(alive(orphan), "evict_orphans is off");
    let detected = run.events.iter().filter(|e| e["type"] == "orphan_detected");
    assert_eq!(detected.count(), 1, "still reported");

    let (mut n, served) = setup(true);
    let orphan = stray(&mut n, "3600.74", None);
    let run = reconcile(&n, served, &[(orphan, 30000)], &["--dry-run"]);
    let acts = orphan_actions(&run);
    assert_eq!(acts.len(), 1, "{:#?}", run.events);
    assert_eq!(acts[0]["outcome"], "skipped", "{}", acts[0]);
    assert_eq!(acts[0]["reason"], "dry_run", "{}", acts[0]);
    assert!(alive(orphan), "a dry run signals nothing");
}

#[test]
fn another_users_process_and_pid_1_are_never_signalled() {
    if skip_with_driver() {
        return;
    }
    let (mut n, served) = setup(true);
    let mut orphans = vec![(1, 30000)];
    // As root, a `sleep` of `nobody`; otherwise pid 1 is another user's anyway.
    let root = nix::unistd::geteuid().is_root();
    let theirs = root.then(|| stray(&mut n, "3600.75", Some(65534)));
    orphans.extend(theirs.map(|pid| (pid, 30000)));
    let run = reconcile(&n, served, &orphans, &[]);
    assert!(orphan_actions(&run).is_empty(), "{:#?}", run.events);
    let detected = run
        .events
        .iter()
        .filter(|e| e["type"] == "orphan_detected")
        .count();
    assert_eq!(detected, orphans.len(), "{:#?}", run.events);
    if let Some(pid) = theirs {
        assert!(alive(pid), "another user's orphan is left alone");
    }
}

/// People see the orphan (pid, GPU, GiB, command line) and the eviction a
/// dry run skipped, by pid.
#[test]
fn human_output_shows_the_orphan_and_its_skipped_eviction() {
    if skip_with_driver() {
        return;
    }
    let (mut n, served) = setup(true);
    let orphan = stray(&mut n, "3600.76", None);
    let out = run(&n, served, &[(orphan, 30000)], &["--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "orphan      pid {orphan} holds 29.3 GiB on gpu 0: `sleep 3600.76`"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "skipped     evict orphan pid {orphan} (29.3 GiB on gpu 0): dry_run"
        )),
        "{text}"
    );
    assert!(!text.contains("bytes"), "sizes in GiB: {text}");
    assert!(alive(orphan));
}
