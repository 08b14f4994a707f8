//! `report --out` of a generated fleet: one `reconcile --dry-run
//! --no-probe` records it (events and checkpoint), then the page is made
//! from that state directory; the median time, peak RSS and the page's size.
use std::path::Path;

use supervisorctl::num::as_f64;

use super::gen;
use super::measure::{peak_rss, time};

pub fn run(bin: &Path, base: &Path, nodes: usize, services: usize) {
    let dir = gen::fleet_once(base, nodes, services);
    let d = dir.display().to_string();
    let arg = |s: &str| s.to_string();
    let state = format!("{d}/report-state");
    let _ = std::fs::remove_dir_all(&state);
    let record: Vec<String> = vec![
        bin.display().to_string(),
        arg("reconcile"),
        arg("--dry-run"),
        arg("--no-probe"),
        arg("--node"),
        arg("node-0000"),
        arg("--hosts"),
        format!("{d}/hosts"),
        arg("--world"),
        format!("{d}/world"),
        arg("--state-dir"),
        state.clone(),
        arg("--now"),
        arg(gen::NOW),
        arg("--output"),
        arg("json"),
    ];
    time(&record, 1);
    let out = format!("{d}/report.html");
    let report: Vec<String> = vec![
        bin.display().to_string(),
        arg("report"),
        arg("--hosts"),
        format!("{d}/hosts"),
        arg("--state-dir"),
        state,
        arg("--now"),
        arg("2026-11-23T12:01:00Z"),
        arg("--out"),
        out.clone(),
    ];
    time(&report, 1);
    let t = time(&report, 3);
    let rss = peak_rss(&report);
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "\nreport --out of {nodes}×{services} after one dry run: {:.0} ms median, {:.1} MiB peak RSS, page {:.1} MiB",
        t.as_secs_f64() * 1e3,
        as_f64(rss) / 1024.0,
        as_f64(size) / 1_048_576.0
    );
}
