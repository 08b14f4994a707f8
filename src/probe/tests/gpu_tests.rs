//! GPU data: recorded `nvidia-smi` output, and a fake `nvidia-smi` script
//! run end to end, including attribution of a worker's GPU memory to the
//! service process that started it.
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{node, service, with_process};
use crate::desired::ProcessMatch;
use crate::probe::{parse_nvidia_smi_apps, parse_nvidia_smi_gpus, probe_node, ProbeOptions};

const MIB: u64 = 1024 * 1024;

/// Recorded from a mixed box, with rows made to look like a Jetson (no
/// memory of its own) and a GPU that has fallen off the bus.
const GPUS: &str = "\
0, GPU-1111aaaa-0000-0000-0000-000000000000, NVIDIA A100-SXM4-80GB, 81920, 40960, 61, 87
1, GPU-2222bbbb-0000-0000-0000-000000000000, NVIDIA GeForce RTX 4090, 24564, 1024, [N/A], [Not Supported]
2, GPU-3333cccc-0000-0000-0000-000000000000, Orin (nvgpu), 0, 0, 45, 10
3, GPU-4444dddd-0000-0000-0000-000000000000, NVIDIA L4, [N/A], [N/A], [N/A], [N/A]
4, GPU-5555eeee-0000-0000-0000-000000000000, Weird, Name, With Commas, 1000, 10, 30, 250

garbage line
";

#[test]
fn parses_gpus_dropping_those_without_data() {
    let gpus = parse_nvidia_smi_gpus(GPUS);
    let indexes: Vec<u32> = gpus.iter().map(|(g, _)| g.index).collect();
    assert_eq!(indexes, vec![0, 1, 4]);

    let (a100, uuid) = &gpus[0];
    assert_eq!(uuid, "GPU-1111aaaa-0000-0000-0000-000000000000");
    assert_eq!(a100.name.as_deref(), Some("NVIDIA A100-SXM4-80GB"));
    assert_eq!(a100.memory_total_bytes, 81920 * MIB);
    assert_eq!(a100.memory_used_bytes, 40960 * MIB);
    assert_eq!(a100.temperature_c, Some(61.0));
    assert_eq!(a100.utilization, Some(0.87));

    let (rtx, _) = &gpus[1];
    assert_eq!(rtx.temperature_c, None);
    assert_eq!(rtx.utilization, None);

    let (weird, _) = &gpus[2];
    assert_eq!(weird.name.as_deref(), Some("Weird, Name, With Commas"));
    assert_eq!(weird.utilization, Some(1.0), "clamped to a ratio");
}

#[test]
fn parses_compute_apps() {
    let csv = "\
1234, GPU-1111aaaa-0000-0000-0000-000000000000, 20480
1234, GPU-2222bbbb-0000-0000-0000-000000000000, 512
77, GPU-1111aaaa-0000-0000-0000-000000000000, [N/A]
No running processes found
";
    let apps = parse_nvidia_smi_apps(csv);
    assert_eq!(
        apps,
        vec![
            (
                1234,
                "GPU-1111aaaa-0000-0000-0000-000000000000".to_string(),
                20480 * MIB
            ),
            (
                1234,
                "GPU-2222bbbb-0000-0000-0000-000000000000".to_string(),
                512 * MIB
            ),
        ]
    );
    assert!(parse_nvidia_smi_apps("").is_empty());
}

fn fake_smi(dir: &Path, gpus: &str, apps: &str, exit: i32) -> PathBuf {
    let path = dir.join("nvidia-smi");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n--query-gpu=*) cat <<'EOF'\n{gpus}EOF\n;;\n\
         --query-compute-apps=*) cat <<'EOF'\n{apps}EOF\n;;\nesac\nexit {exit}\n"
    );
    std::fs::write(&path, script).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn opts(smi: PathBuf) -> ProbeOptions {
    ProbeOptions {
        nvidia_smi: smi,
        use_nvml: false,
        ..ProbeOptions::default()
    }
}

#[test]
fn fake_nvidia_smi_end_to_end_attributes_worker_memory() {
    // The service process is a shell; its GPU memory sits in its child.
    let mut shell = Command::new("sh")
        .args(["-c", "sleep 30 & echo $!; wait"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn shell");
    let mut line = String::new();
    BufReader::new(shell.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read worker pid");
    let worker: u32 = line.trim().parse().expect("worker pid");

    let dir = tempfile::tempdir().expect("tempdir");
    let apps = format!(
        "{worker}, GPU-1111aaaa-0000-0000-0000-000000000000, 1024\n\
         {worker}, GPU-2222bbbb-0000-0000-0000-000000000000, 1024\n\
         999999, GPU-1111aaaa-0000-0000-0000-000000000000, 7\n"
    );
    let smi = fake_smi(dir.path(), GPUS, &apps, 0);
    let pidfile = dir.path().join("svc.pid");
    std::fs::write(&pidfile, shell.id().to_string()).expect("pidfile");

    let n = node(vec![
        with_process(service("model"), ProcessMatch::Pidfile(pidfile)),
        service("cpu-only"),
    ]);
    let live = probe_node(&n, &HashMap::new(), &opts(smi));

    let _ = Command::new("kill").arg(worker.to_string()).status();
    let _ = shell.kill();
    let _ = shell.wait();

    assert_eq!(live.gpus.len(), 3);
    assert_eq!(live.gpus[0].memory_total_bytes, 81920 * MIB);
    assert_eq!(live.services["model"].gpu_memory_bytes, Some(2048 * MIB));
    assert_eq!(live.services["cpu-only"].gpu_memory_bytes, None);
}

#[test]
fn failing_or_missing_nvidia_smi_gives_no_gpu_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = node(vec![service("svc")]);

    let broken = fake_smi(dir.path(), GPUS, "", 9);
    let live = probe_node(&n, &HashMap::new(), &opts(broken));
    assert!(live.gpus.is_empty());

    let started = Instant::now();
    for smi in ["/nonexistent/nvidia-smi", "nvidia-smi-not-on-any-path"] {
        let live = probe_node(&n, &HashMap::new(), &opts(smi.into()));
        assert!(live.gpus.is_empty());
        assert_eq!(live.services["svc"].gpu_memory_bytes, None);
    }
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn the_default_probe_of_this_machine_never_fails() {
    // NVML (if built in) and then PATH's nvidia-smi, whatever this machine has.
    let live = probe_node(&node(vec![]), &HashMap::new(), &ProbeOptions::default());
    for g in &live.gpus {
        assert!(g.memory_total_bytes > 0);
    }
}
