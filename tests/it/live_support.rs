//! A scratch node for live tests: a temp tree with hosts/, world/ and a state
//! directory, the real binary, a switchable HTTP health server, and cleanup of
//! every process a test starts.
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use serde_json::Value;

pub const NODE: &str = "testnode";

pub struct Node {
    pub dir: tempfile::TempDir,
    pub children: Vec<Child>,
    pub extra_pids: Vec<u32>,
}

pub struct Outcome {
    pub code: i32,
    pub events: Vec<Value>,
    pub stderr: String,
}

impl Outcome {
    /// A finished command's exit code, its stdout as JSON events, its stderr.
    pub fn from_output(out: &Output) -> Outcome {
        let stdout = String::from_utf8_lossy(&out.stdout);
        Outcome {
            code: out.status.code().unwrap_or(-1),
            events: stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l}: {e}")))
                .collect(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn of(&self, ty: &str, service: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["type"] == ty && e["service"] == service)
            .collect()
    }

    pub fn executed(&self, service: &str, action: &str) -> Option<&Value> {
        self.of("action_executed", service)
            .into_iter()
            .find(|e| e["action"] == action)
    }
}

impl Node {
    pub fn new(yaml: &str) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let hosts = dir.path().join("hosts").join(NODE);
        std::fs::create_dir_all(&hosts).expect("mkdir");
        std::fs::write(hosts.join("services.yaml"), yaml).expect("yaml");
        std::fs::create_dir_all(dir.path().join("world")).expect("mkdir");
        Node {
            dir,
            children: vec![],
            extra_pids: vec![],
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn state(&self) -> PathBuf {
        self.path("state")
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run binary")
    }

    /// The binary pointed at this node's hosts, world and state, with `args`
    /// (the one runner, [`crate::support::Run`], sets it up).
    pub fn command(&self, args: &[&str]) -> Command {
        let p = self.dir.path();
        crate::support::Run::bare()
            .hosts(p.join("hosts"))
            .world(p.join("world"))
            .state(self.state())
            .node(NODE)
            .args(args)
            .current_dir(p)
            .command()
    }

    /// A `sleep <arg>` process written to `<name>.pid`; returns (pid, pidfile).
    pub fn sleep_with_pidfile(&mut self, name: &str, arg: &str) -> (u32, PathBuf) {
        let pid = self.sleep(arg);
        let pidfile = self.path(&format!("{name}.pid"));
        write_file(&pidfile, &format!("{pid}\n"));
        (pid, pidfile)
    }

    /// `reconcile --output json` at `now`; extra args appended.
    pub fn reconcile(&self, now: &str, extra: &[&str]) -> Outcome {
        let mut args = vec!["reconcile", "--output", "json", "--now", now];
        args.extend_from_slice(extra);
        Outcome::from_output(&self.cli(&args))
    }

    pub fn sleep(&mut self, arg: &str) -> u32 {
        let child = Command::new("sleep").arg(arg).spawn().expect("sleep");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    pub fn spawned_pid(&mut self, service: &str) -> Option<u32> {
        let text =
            std::fs::read_to_string(self.state().join("pids").join(format!("{service}.pid")))
                .ok()?;
        let pid = text.trim().parse().ok()?;
        self.extra_pids.push(pid);
        Some(pid)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // And whatever the tool spawned last for this node (its monitors
        // end with them), so no test leaves a service running.
        let spawned = std::fs::read_dir(self.state().join("pids"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| t.trim().parse::<u32>().ok());
        let pids: Vec<u32> = self.extra_pids.iter().copied().chain(spawned).collect();
        for pid in pids {
            let _ = nix::sys::signal::kill(
                crate::support::nix_pid(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

pub fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped by its parent) is not alive.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// An HTTP server on 127.0.0.1 that answers every request with `status`
/// (a 503 with llama.cpp's "Loading model" body while `loading` is set).
pub struct Health {
    pub port: u16,
    pub status: Arc<AtomicU16>,
    pub loading: Arc<std::sync::atomic::AtomicBool>,
}

/// What llama.cpp's server answers while it loads its model (verbatim).
pub const LLAMA_LOADING: &str =
    r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#;

impl Health {
    pub fn start(status: u16) -> Health {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(AtomicU16::new(status));
        let loading = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, l) = (shared.clone(), loading.clone());
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut buf = [0u8; 2048];
                let _ = conn.read(&mut buf);
                let (code, body) = if l.load(Ordering::SeqCst) {
                    (503, LLAMA_LOADING)
                } else {
                    (s.load(Ordering::SeqCst), "")
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {code} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Health {
            port,
            status: shared,
            loading,
        }
    }

    pub fn set(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Answers llama.cpp's loading 503 (`true`) or `status` again.
    pub fn set_loading(&self, loading: bool) {
        self.loading.store(loading, Ordering::SeqCst);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/health", self.port)
    }
}

/// Polls `f` every 50 ms until it holds, for up to 30 s: generous, so a
/// loaded machine (a debug build started many times in parallel) does not
/// fail a test; it returns as soon as `f` holds.
pub fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if f() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

pub fn write_file(path: &Path, body: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, body).expect("write");
}

/// A log line without the monitor's time (`2026-12-07T06:50:01.120Z `),
/// which it must have.
pub fn untimed(line: &str) -> &str {
    let (stamp, rest) = line.split_once(' ').unwrap_or((line, ""));
    assert!(
        stamp.len() == 24 && chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "no time at the start of {line:?}"
    );
    rest
}
