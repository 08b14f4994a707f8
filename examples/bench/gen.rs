//! Generates a synthetic fleet with the shape of SPEC §3: some services
//! failed, missing, degraded or idle, some nodes stale, some deployments
//! failed, a few incidents. Deterministic: the same sizes give the same bytes.
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

pub const NOW: &str = "2026-11-23T12:00:00Z";

fn write(path: &Path, body: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, body).expect("write");
}

/// A small deterministic pseudo-random sequence (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pct(&mut self) -> u64 {
        self.next() % 100
    }
}

pub fn fleet(root: &Path, nodes: usize, services: usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (nodes as u64 * 1_000_003 + services as u64));
    for n in 0..nodes {
        let node = format!("node-{n:04}");
        let mut yaml = format!(
            "node: {node}\nsupervisor:\n  preset: balanced\n  max_actions_per_run: 5\nservices:\n"
        );
        for s in 0..services {
            let name = format!("svc-{s:03}");
            let model = s % 4 == 0;
            let _ = writeln!(yaml, "  {name}:");
            let _ = writeln!(
                yaml,
                "    kind: {}",
                if model { "model" } else { "service" }
            );
            let _ = writeln!(yaml, "    priority: {}", s % 7);
            let _ = writeln!(
                yaml,
                "    process:\n      pidfile: /run/bench/{node}-{name}.pid"
            );
            let _ = writeln!(
                yaml,
                "    health:\n      http: http://127.0.0.1:9/{name}/health\n      timeout: 1s"
            );
            let _ = writeln!(yaml, "    restart: [systemctl, restart, {name}]");
            if model {
                let _ = writeln!(
                    yaml,
                    "    memory: 4GiB\n    gpu_memory: 8GiB\n    idle_timeout: 20m"
                );
            }
            if s > 0 && s % 10 == 0 {
                let _ = writeln!(yaml, "    depends_on: [svc-{:03}]", s - 1);
            }
            if model && s + 1 < services && s % 8 == 0 {
                let _ = writeln!(yaml, "    fallback: svc-{:03}", s + 1);
            }
        }
        write(&root.join(format!("hosts/{node}/services.yaml")), &yaml);

        let seen = if rng.pct() < 2 {
            "2026-11-23T11:00:00Z"
        } else {
            "2026-11-23T11:59:30Z"
        };
        write(
            &root.join(format!("world/nodes/{node}.json")),
            &format!("{{\"status\":\"online\",\"last_seen\":\"{seen}\"}}\n"),
        );
        let used = 40 + rng.pct() / 2;
        write(
            &root.join(format!("world/resources/{node}.json")),
            &format!(
                "{{\"observed_at\":\"{NOW}\",\"memory\":{{\"total_bytes\":137438953472,\"used_bytes\":{}}},\"gpus\":[{{\"index\":0,\"name\":\"NVIDIA H100\",\"memory_total_bytes\":85899345920,\"memory_used_bytes\":{}}}]}}\n",
                137_438_953_472u64 / 100 * used,
                85_899_345_920u64 / 100 * (used + 5)
            ),
        );
        for s in 0..services {
            let name = format!("svc-{s:03}");
            let roll = rng.pct();
            if roll < 3 {
                continue; // missing
            }
            let status = match roll {
                3..=7 => "failed",
                8..=10 => "degraded",
                _ => "ok",
            };
            let activity = if s % 4 == 0 && rng.pct() < 30 {
                "2026-11-23T10:00:00Z"
            } else {
                "2026-11-23T11:58:00Z"
            };
            write(
                &root.join(format!("world/services/{node}/{name}.json")),
                &format!(
                    "{{\"status\":\"{status}\",\"observed_at\":\"{NOW}\",\"pid\":{},\"last_activity\":\"{activity}\",\"requests_total\":{},\"in_flight\":0,\"memory_bytes\":{},\"gpu_memory_bytes\":{}}}\n",
                    1000 + s,
                    rng.next() % 100_000,
                    1u64 << 30,
                    if s % 4 == 0 { 8u64 << 30 } else { 0 }
                ),
            );
            if rng.pct() < 10 {
                let outcome = if rng.pct() < 40 {
                    "failed"
                } else {
                    "succeeded"
                };
                write(
                    &root.join(format!("world/deployments/{node}/{name}.json")),
                    &format!("{{\"attempts\":[{{\"at\":\"2026-11-23T11:00:00Z\",\"outcome\":\"succeeded\"}},{{\"at\":\"2026-11-23T11:30:00Z\",\"outcome\":\"{outcome}\",\"message\":\"image pull\"}}]}}\n"),
                );
            }
        }
        if n % 25 == 0 {
            write(
                &root.join(format!("world/incidents/inc-{n:04}.json")),
                &format!("{{\"id\":\"inc-{n:04}\",\"node\":\"{node}\",\"service\":\"svc-001\",\"severity\":\"warning\",\"status\":\"open\",\"opened_at\":\"2026-11-23T09:00:00Z\",\"summary\":\"latency above SLO\"}}\n"),
            );
        }
    }
}

/// The generated fleet of `nodes` × `services` under `base`, made once and
/// kept (a `.done` marker) for later runs; returns its folder.
pub fn fleet_once(base: &Path, nodes: usize, services: usize) -> std::path::PathBuf {
    let dir = base.join(format!("{nodes}x{services}"));
    if !dir.join(".done").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        fleet(&dir, nodes, services);
        std::fs::write(dir.join(".done"), "").expect("marker");
    }
    dir
}
