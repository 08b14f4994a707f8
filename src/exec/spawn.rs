//! Starting a service detached: its own session (no terminal, no signals
//! meant for us), stdin from /dev/null, stdout and stderr appended to its
//! log, its pid written atomically for the next run's probe.
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::procfs::{self, ProcessIdentity};

fn private_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => std::fs::DirBuilder::new().recursive(true).mode(0o700).create(p),
        _ => Ok(()),
    }
}

pub fn spawn_detached(argv: &[String], log_path: &Path, pid_path: &Path) -> io::Result<ProcessIdentity> {
    let (prog, args) = argv.split_first().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    private_parent(log_path)?;
    private_parent(pid_path)?;
    let log = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(log_path)?;
    let mut cmd = Command::new(prog);
    cmd.args(args).env_clear().envs(super::clean_env()).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
    // SAFETY: between fork and exec only async-signal-safe calls are allowed;
    // setsid(2) is one, and the closure allocates nothing.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(io::Error::from));
    }
    let child = cmd.spawn()?;
    let pid = child.id();
    let identity = procfs::identity(pid).ok_or_else(|| io::Error::other(format!("pid {pid} vanished right after spawn")))?;
    crate::store::atomic::write_atomic(pid_path, format!("{pid}\n").as_bytes())?;
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawns_in_its_own_session_with_log_and_pidfile() {
        let t = tempfile::tempdir().unwrap();
        let (log, pidf) = (t.path().join("logs/x.log"), t.path().join("pids/x.pid"));
        let argv: Vec<String> = ["sh", "-c", "echo hello; echo err >&2; exec sleep 30"].iter().map(|s| s.to_string()).collect();
        let id = spawn_detached(&argv, &log, &pidf).unwrap();
        assert_eq!(std::fs::read_to_string(&pidf).unwrap(), format!("{}\n", id.pid));
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", id.pid)).unwrap();
        let session: u32 = stat.rsplit_once(')').unwrap().1.split_whitespace().nth(3).unwrap().parse().unwrap();
        assert_eq!(session, id.pid, "leader of its own session");
        let logged = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("hello") && l.contains("err"))
        });
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(id.pid as i32), nix::sys::signal::Signal::SIGKILL);
        assert!(logged);
    }
}
