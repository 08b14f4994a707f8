//! `observe --out DIR` and the recorder write nothing through a symlink
//! that another user swaps in while the probes run: the out folder and its
//! subfolders are opened once, and every write goes through those open
//! folders, never by path name again (docs/security.md).
//!
//! The probe announces that it started (a marker file) and then sleeps, so
//! the swap happens after every check on a path and before any write: the
//! race a hostile user wins by timing is won here every time.
use std::fs;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use super::live_support::*;

const NOW: &str = "2026-11-20T12:00:00Z";

/// A node whose one service's health command touches `marker` and then
/// sleeps 1.5 s.
fn slow_node() -> (Node, PathBuf) {
    let n = Node::new("services: {}\n");
    let marker = n.path("probe-started");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "services:\n  slow:\n    health:\n      command: [sh, -c, \"touch \\\"$0\\\" && sleep 1.5\", \"{}\"]\n      timeout: 10s\n    restart: [\"true\"]\n",
            marker.display()
        ),
    );
    (n, marker)
}

/// Once `marker` exists, renames `folder` to `moved` and plants a symlink
/// to `target` in its place; answers whether it did.
fn swap_when_probing(
    marker: PathBuf,
    folder: PathBuf,
    moved: PathBuf,
    target: PathBuf,
) -> JoinHandle<bool> {
    std::thread::spawn(move || {
        for _ in 0..4000 {
            if marker.exists() {
                fs::rename(&folder, &moved).expect("rename the folder away");
                std::os::unix::fs::symlink(&target, &folder).expect("plant the symlink");
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    })
}

fn entries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("read folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn observe_writes_nothing_through_an_out_folder_swapped_while_probing() {
    let (n, marker) = slow_node();
    let out = n.path("observed");
    let moved = n.path("observed.old");
    let target = n.path("target");
    fs::create_dir(&out).expect("mkdir");
    fs::create_dir(&target).expect("mkdir");
    let swapper = swap_when_probing(marker, out.clone(), moved.clone(), target.clone());
    let o = n.cli(&["observe", "--out", out.to_str().expect("utf-8")]);
    nothing_through_the_link(swapper, &o, &target);
    // The records are in the folder that was opened: the one renamed away.
    assert!(moved.join(format!("nodes/{NODE}.json")).is_file());
    assert!(moved.join(format!("resources/{NODE}.json")).is_file());
    let rec = fs::read_to_string(moved.join(format!("services/{NODE}/slow.json")))
        .expect("the service's record");
    assert!(rec.contains("\"status\": \"ok\""), "{rec}");
}

#[test]
fn the_recorder_writes_nothing_through_a_step_folder_swapped_while_probing() {
    let (n, marker) = slow_node();
    let out = n.path("recording");
    let step = out.join("steps/00");
    let moved = out.join("steps/00.old");
    let target = n.path("target");
    fs::create_dir(&target).expect("mkdir");
    let swapper = swap_when_probing(marker, step, moved.clone(), target.clone());
    let o = n.cli(&[
        "observe",
        "--out",
        out.to_str().expect("utf-8"),
        "--every",
        "300ms",
        "--count",
        "1",
        "--now",
        NOW,
    ]);
    nothing_through_the_link(swapper, &o, &target);
    assert!(moved.join(format!("nodes/{NODE}.json")).is_file());
    assert!(moved.join(format!("services/{NODE}/slow.json")).is_file());
    let scenario = fs::read_to_string(out.join("scenario.yaml")).expect("scenario.yaml");
    assert!(scenario.contains("    world: steps/00\n"), "{scenario}");
}

/// The swap happened while probing, the command succeeded, and the link's
/// target is still empty.
fn nothing_through_the_link(
    swapper: std::thread::JoinHandle<bool>,
    o: &std::process::Output,
    target: &std::path::Path,
) {
    assert!(swapper.join().expect("swapper"), "the probe never started");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        entries(target),
        Vec::<String>::new(),
        "written through the link: {stderr}"
    );
    assert_eq!(o.status.code(), Some(0), "{stderr}");
}
