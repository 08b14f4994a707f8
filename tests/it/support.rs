//! The one way the tests run the binary: [`Run`], a builder that runs the
//! real `supervisorctl` in a scratch directory and hands back what it did:
//! the exit code, stdout (as text and as JSON lines) and stderr. The
//! environment is scrubbed so that a developer's `SUPERVISORCTL_*`
//! variables or state directory never leak into a test. A test that must
//! signal, time or feed the process takes its [`Run::command`] instead.
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The nix `Pid` of process `pid` (Linux pids are below 2^22: an `i32`).
pub fn nix_pid(pid: u32) -> nix::unistd::Pid {
    nix::unistd::Pid::from_raw(i32::try_from(pid).expect("a pid fits in an i32"))
}

/// A run longer than this is killed and reported as a failure.
const TIMEOUT: Duration = Duration::from_mins(1);

/// The instant every fixture is set at (a Monday).
pub const NOW: &str = "2026-11-23T12:00:00Z";

/// A test that cannot run on this machine (no root, a tool missing). Under
/// `CI=true` that is a failure, never a silent pass: `.ci/run` installs
/// every tool and CI runs as root. Elsewhere it says why it is skipped.
pub fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "this test cannot run here, which CI does not allow: {why}"
    );
    eprintln!("skipped: {why}");
}

/// `reconcile --dry-run --no-probe` of the shipped sample fleet against its
/// sample world, as node `gpu-box` at [`NOW`], into `state`, JSON output.
pub fn sample_dry_run(state: &Path) -> Run {
    Run::new("reconcile")
        .args(["--dry-run", "--no-probe"])
        .state(state)
        .sample_fleet()
        .output_json()
        .node("gpu-box")
}

/// The repository root (where `hosts/` and `world-fixtures/` live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One invocation of `supervisorctl`: `Run::new("check").hosts(..)
/// .world(..).now(NOW).output_json().run()`.
pub struct Run {
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    envs: Vec<(OsString, OsString)>,
    scratch: tempfile::TempDir,
}

impl Run {
    /// `supervisorctl <subcommand>`; more arguments follow with the
    /// builder's methods (global flags are accepted after the subcommand).
    pub fn new(subcommand: &str) -> Self {
        Self::bare().arg(subcommand)
    }

    /// `supervisorctl` with no subcommand (`--version`, usage errors).
    pub fn bare() -> Self {
        Run {
            args: Vec::new(),
            cwd: None,
            envs: Vec::new(),
            scratch: tempfile::tempdir().expect("create a scratch directory"),
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `--hosts <dir>`
    pub fn hosts(self, dir: impl AsRef<Path>) -> Self {
        self.arg("--hosts").arg(dir.as_ref())
    }

    /// `--world <dir>`
    pub fn world(self, dir: impl AsRef<Path>) -> Self {
        self.arg("--world").arg(dir.as_ref())
    }

    /// `--state-dir <dir>`
    pub fn state(self, dir: impl AsRef<Path>) -> Self {
        self.arg("--state-dir").arg(dir.as_ref())
    }

    /// `--now <instant>`
    pub fn now(self, instant: &str) -> Self {
        self.args(["--now", instant])
    }

    /// `--node <name>`
    pub fn node(self, name: &str) -> Self {
        self.args(["--node", name])
    }

    /// The shipped sample fleet (`hosts/`) against its sample world, at
    /// [`NOW`].
    pub fn sample_fleet(self) -> Self {
        let root = repo_root();
        self.hosts(root.join("hosts"))
            .world(root.join("world-fixtures/sample/world"))
            .now(NOW)
    }

    /// `--output json`
    pub fn output_json(self) -> Self {
        self.args(["--output", "json"])
    }

    /// An environment variable for this run only.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Runs in `dir` instead of the scratch directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// The scratch directory: the default working directory, and the home of
    /// `XDG_STATE_HOME` for this run.
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// The command line, for messages.
    pub fn describe(&self) -> String {
        format!(
            "supervisorctl {}",
            self.args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        )
    }

    /// The process, set up but not started, for a test that spawns,
    /// signals or feeds it itself; its streams are the caller's to set. It
    /// may outlive this builder, so it does not use the scratch directory:
    /// it runs where the test runs unless `current_dir` says otherwise, and
    /// the caller names the state directory.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_supervisorctl"));
        cmd.args(&self.args)
            .env_remove("SUPERVISORCTL_HOSTS")
            .env_remove("SUPERVISORCTL_WORLD")
            .env_remove("SUPERVISORCTL_STATE_DIR")
            // No environment file of this machine's (/etc/supervisorctl/env).
            .env("SUPERVISORCTL_ENV_FILE", "")
            .env("NO_COLOR", "1");
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        for (key, value) in &self.envs {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs to the end (killed after a minute) and hands back what it did.
    pub fn run(self) -> Output {
        let scratch = self.scratch.path();
        let mut cmd = self.command();
        cmd.current_dir(self.cwd.as_deref().unwrap_or(scratch))
            .env("XDG_STATE_HOME", scratch.join("xdg-state"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let command = self.describe();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
        let out = drain(child.stdout.take().expect("piped stdout"));
        let err = drain(child.stderr.take().expect("piped stderr"));
        let started = Instant::now();
        let (code, timed_out) = loop {
            match child.try_wait().expect("wait for supervisorctl") {
                Some(status) => break (status.code().unwrap_or(-1), false),
                None if started.elapsed() > TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break (-1, true);
                }
                None => thread::sleep(Duration::from_millis(10)),
            }
        };
        let stdout = out.join().expect("stdout reader");
        let mut stderr = err.join().expect("stderr reader");
        if timed_out {
            let _ = write!(stderr, "\n[killed after {TIMEOUT:?}]");
        }
        Output {
            code,
            stdout,
            stderr,
            command,
            scratch: self.scratch,
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// What one run did.
pub struct Output {
    /// The exit status; -1 when killed by a signal or the timeout.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for messages.
    pub command: String,
    /// Kept alive so files the run wrote there can still be inspected.
    scratch: tempfile::TempDir,
}

impl Output {
    /// The run's scratch directory (its working directory unless it was
    /// given another), for files it wrote and for redacting its path.
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// stdout as JSON objects, one a line; the first line that is not one
    /// is an error.
    pub fn events(&self) -> Result<Vec<Value>, String> {
        parse_json_lines(&self.stdout)
    }

    /// Like `events`, for tests that need them: panics with the context.
    pub fn expect_events(&self) -> Vec<Value> {
        self.events()
            .unwrap_or_else(|e| panic!("{e}\n{}", self.describe()))
    }

    /// The command, exit code and the ends of both streams, for failures.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nexit code: {}\nstdout (tail):\n{}\nstderr (tail):\n{}",
            self.command,
            self.code,
            tail(&self.stdout, 3000),
            tail(&self.stderr, 3000)
        )
    }
}

/// Parses JSON lines that must each be an object.
pub fn parse_json_lines(text: &str) -> Result<Vec<Value>, String> {
    text.lines()
        .enumerate()
        .map(|(i, line)| match serde_json::from_str::<Value>(line) {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err(format!("line {} is JSON but not an object: {line}", i + 1)),
            Err(e) => Err(format!("line {} is not JSON ({e}): {line}", i + 1)),
        })
        .collect()
}

fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Copies a directory tree (files and folders only).
/// A TCP port on 127.0.0.1 that nothing listens on now (bound, then
/// released), for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A fixture case's hosts/ and world copied into a fresh folder, with a
/// state directory beside them: (folder, hosts, world, state).
pub fn fixture_copy(case: &str) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = repo_root().join("world-fixtures").join(case);
    let (hosts, world, state) = (
        dir.path().join("hosts"),
        dir.path().join("world"),
        dir.path().join("state"),
    );
    copy_tree(&from.join("hosts"), &hosts);
    copy_tree(&from.join("world"), &world);
    (dir, hosts, world, state)
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy target");
    for entry in std::fs::read_dir(from).expect("read copy source") {
        let entry = entry.expect("read entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Every file under `dir` with its bytes, sorted by relative path.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    files
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            files.push((rel, std::fs::read(&path).unwrap_or_default()));
        }
    }
}

/// A tool a test runs: `var` when set (a file, else none), else the newest
/// `~/.cache/supervisorctl-tests/<prefix>*/rel` (`$SUPERVISORCTL_TEST_CACHE`
/// for the cache), which the scripts of tests/tools/ leave there.
pub fn cached_tool(var: &str, prefix: &str, rel: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var).map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let cache = std::env::var_os("SUPERVISORCTL_TEST_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/supervisorctl-tests"))
        })?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(cache)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path().join(rel))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}
