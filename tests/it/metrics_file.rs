//! `--metrics-file` is for `node_exporter`'s textfile collector, which runs as
//! another user (`prometheus` on Debian): the file is mode 0644 whatever the
//! umask (the shipped unit sets `UMask=0077`), and carries when the last
//! run ended and whether it ended without error. Proven with the real
//! `prometheus-node-exporter`, running as `nobody`, scraped over HTTP.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{repo_root, NOW};

/// A run against the sample fleet under `umask 077`, writing `metrics`.
fn run(state: &Path, metrics: &Path, node: &str) -> (i32, String) {
    let root = repo_root();
    let out = Command::new("sh")
        .args(["-c", "umask 077; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_supervisorctl"))
        .arg("--hosts")
        .arg(root.join("hosts"))
        .arg("--world")
        .arg(root.join("world-fixtures/sample/world"))
        .arg("--state-dir")
        .arg(state)
        .arg("--metrics-file")
        .arg(metrics)
        .args(["--now", NOW, "--node", node])
        .args(["reconcile", "--dry-run", "--no-probe"])
        .env_remove("SUPERVISORCTL_HOSTS")
        .env_remove("SUPERVISORCTL_WORLD")
        .env_remove("SUPERVISORCTL_STATE_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metrics file")
        .permissions()
        .mode()
        & 0o7777
}

/// The value of the sample `name` (no labels) in exposition `text`.
fn value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn now_seconds() -> f64 {
    supervisorctl::num::signed_as_f64(
        chrono::DateTime::parse_from_rfc3339(NOW)
            .unwrap()
            .timestamp(),
    )
}

/// A scratch folder that `nobody` can read.
fn textfile_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn the_metrics_file_is_world_readable_and_says_how_the_last_run_ended() {
    let dir = textfile_dir();
    let state = dir.path().join("state");
    let metrics = dir.path().join("supervisorctl.prom");
    let (code, err) = run(&state, &metrics, "gpu-box");
    assert_eq!(code, 3, "{err}");
    assert_eq!(mode(&metrics), 0o644, "under umask 077 too");
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert_eq!(
        value(&text, "supervisor_last_run_success"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "supervisor_last_run_timestamp_seconds"),
        Some(now_seconds()),
        "{text}"
    );
    assert!(text.contains("supervisor_service_health{"), "{text}");
    assert!(
        text.contains("# TYPE supervisor_last_run_success gauge"),
        "{text}"
    );

    // A run that fails keeps the last gauges and says it failed.
    let (code, err) = run(&state, &metrics, "gpu-bx");
    assert_eq!(code, 1, "{err}");
    assert_eq!(mode(&metrics), 0o644);
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert_eq!(
        value(&text, "supervisor_last_run_success"),
        Some(0.0),
        "{text}"
    );
    let samples = text
        .lines()
        .filter(|l| l.starts_with("supervisor_last_run_success"));
    assert_eq!(samples.count(), 1, "{text}");
    assert!(text.contains("supervisor_service_health{"), "{text}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "state")
        .collect();
    assert_eq!(names, ["supervisorctl.prom"], "no leftovers");
}

/// The node exporter binary: Debian's name, or upstream's.
fn exporter() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("prometheus-node-exporter"), d.join("node_exporter")])
        .find(|p| p.is_file())
}

struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scrape(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
            s.write_all(req.as_bytes()).unwrap();
            let mut body = String::new();
            if s.read_to_string(&mut body).is_ok() && body.starts_with("HTTP/1.") {
                return body;
            }
        }
        assert!(Instant::now() < deadline, "node exporter never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn node_exporter_running_as_another_user_reads_the_metrics_file() {
    let Some(bin) = exporter() else {
        crate::support::skip("prometheus-node-exporter is not installed");
        return;
    };
    let dir = textfile_dir();
    let state = dir.path().join("state");
    let metrics = dir.path().join("supervisorctl.prom");
    let (code, err) = run(&state, &metrics, "gpu-box");
    assert_eq!(code, 3, "{err}");

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!(
            "--collector.textfile.directory={}",
            dir.path().display()
        ))
        .args(["--collector.disable-defaults", "--collector.textfile"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if nix::unistd::geteuid().is_root() {
        cmd.uid(65534).gid(65534); // nobody: not the file's owner
    }
    let _exporter = Exporter(cmd.spawn().expect("start node exporter"));
    let body = scrape(port);
    assert_eq!(
        value(&body, "node_textfile_scrape_error"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        value(&body, "supervisor_last_run_success"),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        value(&body, "supervisor_last_run_timestamp_seconds"),
        Some(now_seconds()),
        "{body}"
    );
    assert!(body.contains("supervisor_service_health{"), "{body}");
    assert!(body.contains("supervisor_run_state{"), "{body}");
}

/// The metrics file is written after the run's record: one that cannot be
/// written is a warning, never exit 1 (which means nothing was executed).
#[test]
fn an_unwritable_metrics_file_is_a_warning_not_a_failed_run() {
    let state = tempfile::tempdir().unwrap();
    let (code, stderr) = run(
        state.path(),
        Path::new("/nonexistent/dir/x.prom"),
        "gpu-box",
    );
    assert!(matches!(code, 0 | 2 | 3), "{code}: {stderr}");
    assert_eq!(
        stderr.matches("cannot write metrics").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.starts_with("warning:"), "{stderr}");
    let log = std::fs::read_to_string(state.path().join("events.jsonl")).unwrap();
    assert!(log.contains("\"type\":\"run_finished\""));
}
