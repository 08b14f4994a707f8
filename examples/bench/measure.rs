//! Timing and peak-RSS measurement of `check` against the floor, plus a live
//! `reconcile --dry-run` of a 50-service node with real processes and a real
//! HTTP health endpoint, and `report --out` of the largest fleet
//! (`report.rs`).
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use supervisorctl::num::as_f64;

use super::gen;

pub fn release_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/release")
        .to_path_buf()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn time(cmd: &[String], runs: usize) -> Duration {
    let mut samples = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        let status = Command::new(&cmd[0])
            .args(&cmd[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("spawn");
        samples.push(t.elapsed());
        assert!(
            matches!(status.code(), Some(0 | 2 | 3)),
            "{cmd:?} failed: {status}"
        );
    }
    median(samples)
}

/// Peak RSS (KiB) of one run of `cmd`, measured by a fresh child of ours so
/// that `RUSAGE_CHILDREN` sees that command alone.
pub fn peak_rss(cmd: &[String]) -> u64 {
    let me = std::env::current_exe().expect("exe");
    let out = Command::new(me).arg("rss").args(cmd).output().expect("rss");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

pub fn rss_child(cmd: &[String]) {
    let _ = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    println!("{}", usage.max_rss());
}

fn files_in(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count()
}

pub fn run(quick: bool) {
    let bin = release_dir().join("supervisorctl");
    assert!(bin.exists(), "build first: cargo build --release");
    let me = std::env::current_exe().expect("exe").display().to_string();
    let base = std::env::temp_dir().join("supervisorctl-bench");
    let mut sizes = vec![(1usize, 50usize), (100, 40), (500, 40)];
    if !quick {
        sizes.push((2000, 40));
    }
    println!("| fleet | files | check (median) | floor (median) | ratio | check peak RSS | floor peak RSS |");
    println!("|---|---|---|---|---|---|---|");
    let mut medians = vec![];
    for (nodes, services) in sizes {
        let dir = gen::fleet_once(&base, nodes, services);
        let d = dir.display().to_string();
        let check: Vec<String> = [
            bin.display().to_string(),
            "check".into(),
            "--hosts".into(),
            format!("{d}/hosts"),
            "--world".into(),
            format!("{d}/world"),
            "--now".into(),
            gen::NOW.into(),
            "--output".into(),
            "json".into(),
        ]
        .to_vec();
        let floor: Vec<String> = vec![me.clone(), "floor".into(), d.clone()];
        let runs = match nodes {
            1 => 21,
            100 => 11,
            500 => 5,
            _ => 3,
        };
        time(&check, 1); // warm the page cache
        time(&floor, 1);
        let tc = time(&check, runs);
        let tf = time(&floor, runs);
        let (rc, rf) = (peak_rss(&check), peak_rss(&floor));
        println!(
            "| {nodes}×{services} | {} | {:.1} ms | {:.1} ms | {:.2}× | {:.1} MiB | {:.1} MiB |",
            files_in(&dir),
            tc.as_secs_f64() * 1e3,
            tf.as_secs_f64() * 1e3,
            tc.as_secs_f64() / tf.as_secs_f64(),
            as_f64(rc) / 1024.0,
            as_f64(rf) / 1024.0
        );
        medians.push((nodes * services, tc));
        if nodes == 500 {
            target_500x40(as_f64(rc) / 1024.0, tc.as_secs_f64() / tf.as_secs_f64());
        }
    }
    if let [.., (n1, t1), (n2, t2)] = medians.as_slice() {
        let k = (t2.as_secs_f64() / t1.as_secs_f64()).ln()
            / (as_f64(*n2 as u64) / as_f64(*n1 as u64)).ln();
        println!("\ngrowth exponent from {n1} to {n2} services: {k:.2} (1.0 = linear)");
    }
    live(&bin, &base);
    let (nodes, services) = if quick { (500, 40) } else { (2000, 40) };
    super::report::run(&bin, &base, nodes, services);
}

/// `reconcile --dry-run` with live probes of a 50-service node: 25 services
/// found by pidfile (real `sleep` processes), 25 by command line, each with an
/// HTTP health check against a real local server.
fn live(bin: &Path, base: &Path) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        // One thread per connection: each real service answers its own
        // health endpoint, so probes should not queue behind one another.
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            });
        }
    });
    let dir = base.join("live");
    let _ = std::fs::remove_dir_all(&dir);
    let mut sleepers = vec![];
    let mut yaml = String::from("services:\n");
    for i in 0..50 {
        let name = format!("svc-{i:02}");
        let process = if i % 2 == 0 {
            let child = Command::new("sleep")
                .arg(format!("3600.{i}"))
                .spawn()
                .expect("sleep");
            let pidfile = dir.join(format!("{name}.pid"));
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(&pidfile, format!("{}\n", child.id())).expect("pidfile");
            sleepers.push(child);
            format!("pidfile: {}", pidfile.display())
        } else {
            format!("cmdline_contains: \"bench-no-such-process-{i}\"")
        };
        let _ = write!(yaml, "  {name}:\n    process:\n      {process}\n    health:\n      http: http://127.0.0.1:{port}/health\n    restart: [\"true\"]\n");
    }
    std::fs::create_dir_all(dir.join("hosts/bench-live")).expect("mkdir");
    std::fs::write(dir.join("hosts/bench-live/services.yaml"), yaml).expect("yaml");
    let d = dir.display().to_string();
    let cmd: Vec<String> = [
        bin.display().to_string(),
        "reconcile".into(),
        "--dry-run".into(),
        "--node".into(),
        "bench-live".into(),
        "--hosts".into(),
        format!("{d}/hosts"),
        "--world".into(),
        format!("{d}/world"),
        "--state-dir".into(),
        format!("{d}/state"),
        "--output".into(),
        "json".into(),
    ]
    .to_vec();
    time(&cmd, 2);
    let t = time(&cmd, 11);
    let procs = std::fs::read_dir("/proc")
        .map(|r| {
            r.filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
                .count()
        })
        .unwrap_or(0);
    println!("\nlive reconcile --dry-run, 50 services (25 pidfile, 25 cmdline), {procs} processes on this machine: {:.1} ms median", t.as_secs_f64() * 1e3);
    for mut c in sleepers {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// The targets set for `check` on 500×40 (docs/performance.md, "a lighter
/// `check`"): peak RSS at most 48 MiB, wall at most 1.0× the floor; said
/// met, or missed by how much.
fn target_500x40(peak_mib: f64, ratio: f64) {
    const PEAK_MIB: f64 = 48.0;
    const RATIO: f64 = 1.0;
    let said = |met: bool, by: String| {
        if met {
            "met".to_string()
        } else {
            format!("missed by {by}")
        }
    };
    println!(
        "\n500×40 targets: peak RSS ≤ {PEAK_MIB:.0} MiB: {peak_mib:.1} MiB, {}; wall ≤ {RATIO:.1}× the floor: {ratio:.2}×, {}",
        said(peak_mib <= PEAK_MIB, format!("{:.1} MiB", peak_mib - PEAK_MIB)),
        said(ratio <= RATIO, format!("{:.2}×", ratio - RATIO)),
    );
}
