//! `-- incidents [N]`: a world with N open incidents on one node (default
//! 40,000), whoever wrote them: `check`'s median time, peak RSS and the
//! bytes of events it prints. The run reads 1,000 of them (the cap) and
//! decides in one pass of the arbiter, so the time is mostly reading the
//! files.
use std::path::Path;

use super::gen;
use super::measure::{peak_rss, time};

pub fn run(bin: &Path, base: &Path, incidents: usize) {
    let dir = base.join(format!("incidents-{incidents}"));
    if !dir.join(".done").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("hosts/n1")).expect("hosts");
        std::fs::create_dir_all(dir.join("world/nodes")).expect("world");
        std::fs::create_dir_all(dir.join("world/incidents")).expect("incidents");
        std::fs::write(
            dir.join("hosts/n1/services.yaml"),
            "services:\n  api:\n    restart: [\"true\"]\n",
        )
        .expect("services.yaml");
        std::fs::write(
            dir.join("world/nodes/n1.json"),
            format!(r#"{{"status":"online","last_seen":"{}"}}"#, gen::NOW),
        )
        .expect("node");
        for i in 0..incidents {
            let body = format!(
                r#"{{"id":"INC-{i:06}","node":"n1","severity":"warning","status":"open","opened_at":"2026-11-23T11:00:00Z","summary":"disk {i} slow"}}"#
            );
            std::fs::write(dir.join(format!("world/incidents/INC-{i:06}.json")), body)
                .expect("incident");
        }
        std::fs::write(dir.join(".done"), "").expect("marker");
    }
    let d = dir.display().to_string();
    let cmd: Vec<String> = [
        bin.display().to_string(),
        "--hosts".into(),
        format!("{d}/hosts"),
        "--world".into(),
        format!("{d}/world"),
        "--node".into(),
        "n1".into(),
        "--now".into(),
        gen::NOW.into(),
        "--output".into(),
        "json".into(),
        "check".into(),
    ]
    .to_vec();
    let median = time(&cmd, 5);
    let rss = peak_rss(&cmd);
    let out = std::process::Command::new(&cmd[0])
        .args(&cmd[1..])
        .output()
        .expect("check");
    println!(
        "check of {incidents} incidents on one node: median {:.0} ms, peak RSS {} MiB, {} KiB of events",
        median.as_secs_f64() * 1000.0,
        rss >> 10,
        out.stdout.len() >> 10
    );
}
