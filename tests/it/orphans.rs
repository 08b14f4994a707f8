//! GPU orphans (SPEC §12): a process holding GPU memory that no declared
//! service of the node claims is reported as `orphan_detected`; the
//! declared service's own process (and its children) is not. The GPU data
//! comes from a stand-in `nvidia-smi` put first on `PATH`.
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::live_support::{write_file, Node, NODE};

pub const UUID: &str = "GPU-1111aaaa-0000-0000-0000-000000000000";

fn fake_smi(dir: &Path, apps: &str) {
    fake_smi_used(dir, 40000, apps);
}

/// A stand-in `nvidia-smi` in `dir`: one 81559 MiB GPU with `used_mib` in
/// use, and the compute apps `apps` (`pid, uuid, MiB` lines).
pub fn fake_smi_used(dir: &Path, used_mib: u64, apps: &str) {
    let gpus = format!("0, {UUID}, NVIDIA H100 80GB HBM3, 81559, {used_mib}, 41, 7\n");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n--query-gpu=*) cat <<'EOF'\n{gpus}EOF\n;;\n\
         --query-compute-apps=*) cat <<'EOF'\n{apps}EOF\n;;\nesac\nexit 0\n"
    );
    let path = dir.join("nvidia-smi");
    write_file(&path, &script);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// With an NVIDIA driver here the binary reads NVML, not the stand-in.
pub fn nvidia_driver_present() -> bool {
    Path::new("/proc/driver/nvidia").exists() || Path::new("/dev/nvidiactl").exists()
}

#[test]
fn an_undeclared_gpu_process_is_an_orphan_and_a_declared_one_is_not() {
    if nvidia_driver_present() {
        crate::support::skip(
            "an NVIDIA driver is present, NVML takes precedence over the stand-in",
        );
        return;
    }
    let mut n = Node::new("");
    let (served, pidfile) = n.sleep_with_pidfile("llm", "3600.61");
    let stray = n.sleep("3600.62");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "services:\n  llm:\n    kind: model\n    process:\n      pidfile: {}\n",
            pidfile.display()
        ),
    );
    let bin = n.path("bin");
    fake_smi(
        &bin,
        &format!("{served}, {UUID}, 30000\n{stray}, {UUID}, 2048\n"),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = n
        .command(&[
            "reconcile",
            "--output",
            "json",
            "--now",
            "2026-11-23T12:00:00Z",
            "--dry-run",
        ])
        .env("PATH", path)
        .output()
        .expect("run");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let orphans: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "orphan_detected")
        .collect();
    assert_eq!(orphans.len(), 1, "{events:?}");
    let o = orphans[0];
    assert_eq!(o["pid"], stray, "{o}");
    assert_eq!(o["gpu_index"], 0, "{o}");
    assert_eq!(o["gpu_memory_bytes"], 2048u64 << 20, "{o}");
    assert_eq!(o["cmdline"], "sleep 3600.62", "{o}");
    assert_eq!(o["node"], NODE, "{o}");
    assert!(o["service"].is_null(), "{o}");
    // A node event: before the node's decision.
    let pos = |ty: &str| events.iter().position(|e| e["type"] == ty);
    assert!(pos("orphan_detected") < pos("decision"), "{events:?}");
}
