//! The one builder of every child we start (`clean_command`): restart and
//! stop commands, health commands, `nvidia-smi` and spawned services.
//!
//! # Guarantees
//!
//! - **Clean environment.** A child gets only the variables
//!   [`clean_env`] lists, so that what runs under a systemd timer and what
//!   runs from an operator's shell behave the same, and no secret of ours
//!   leaks into a child. Its working directory is `/`, its stdin
//!   `/dev/null`.
//! - **Only stdin, stdout and stderr.** Every other descriptor the child
//!   would inherit (a `flock` lock, a caller's pipes, anything opened
//!   without `O_CLOEXEC`) is marked close-on-exec in the child between fork
//!   and exec, so the program starts with exactly fds 0, 1 and 2. This is
//!   the crate's one use of `pre_exec` for descriptors
//!   (`close_inherited_fds`); it only marks, never closes, so std's
//!   exec-error pipe still reports a failed exec.
//!
//! # Assumptions
//!
//! - Linux. `close_range(2)` with `CLOSE_RANGE_CLOEXEC` needs 5.11; on an
//!   older kernel (or where seccomp refuses it) a loop of `fcntl(F_SETFD)`
//!   over `3..min(RLIMIT_NOFILE soft limit, 65536)` does the same.
//!
//! # Caveats
//!
//! - With the fallback, a descriptor numbered at or above 65536 (possible
//!   only when the soft limit was raised past it) stays inherited.
//! - Starting a child always forks (std cannot use `posix_spawn` once a
//!   `pre_exec` hook is set); the cost is a copy of page tables, negligible
//!   for the few children one run starts.
use std::ffi::OsStr;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::libc;
use nix::sys::resource::{getrlimit, Resource};

/// The search path of every child; `argv[0]` is looked up on it.
pub const CLEAN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Variables copied from our own environment when set (and valid UTF-8).
const COPIED: [&str; 4] = ["HOME", "USER", "LOGNAME", "TZ"];

/// The full environment of a child: `PATH` (fixed), `LANG=C.UTF-8`, `HOME`,
/// `USER`, `LOGNAME` and `TZ` copied from ours when set, and
/// `SUPERVISORCTL=1` so that a script can tell who started it. Nothing else
/// is inherited.
pub fn clean_env() -> Vec<(String, String)> {
    let mut vars = vec![
        ("PATH".to_string(), CLEAN_PATH.to_string()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
    ];
    for name in COPIED {
        if let Ok(value) = std::env::var(name) {
            vars.push((name.to_string(), value));
        }
    }
    vars.push(("SUPERVISORCTL".to_string(), "1".to_string()));
    vars
}

/// The most descriptors the fallback of `close_inherited_fds` walks.
const MAX_FALLBACK_FDS: u64 = 65536;

/// Builds a command for `argv` (which must not be empty) with the clean
/// environment, `/` as working directory, stdin from `/dev/null`, and every
/// inherited descriptor above 2 closed at exec.
pub(crate) fn clean_command<S: AsRef<OsStr>>(argv: &[S]) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(clean_env())
        .current_dir("/")
        .stdin(std::process::Stdio::null());
    close_inherited_fds(&mut cmd, Marking::CloseRange);
    cmd
}

/// How `close_inherited_fds` marks descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marking {
    /// `close_range(2)`, falling back to the loop if it fails.
    CloseRange,
    /// The loop only (tests of the fallback).
    #[cfg(test)]
    LoopOnly,
}

/// Makes the child mark every descriptor from 3 up close-on-exec, right
/// before it execs. The fallback's bound is read here, before the fork,
/// because `getrlimit` in the child is one more call to audit.
#[allow(unsafe_code)]
fn close_inherited_fds(cmd: &mut Command, marking: Marking) {
    let limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    // At most 65536, so the cast cannot truncate.
    let end = limit.min(MAX_FALLBACK_FDS) as libc::c_int;
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed. It makes raw `close_range(2)` and
    // `fcntl(2)` system calls, both async-signal-safe, touches no lock and
    // allocates nothing (it captures two plain values and returns `Ok(())`). It
    // changes only the close-on-exec flag of descriptors 3 and up: stdin,
    // stdout and stderr (already dup2'ed into place by std) are untouched,
    // and no descriptor is closed, so std's own exec-error pipe (already
    // close-on-exec) keeps working until exec.
    unsafe {
        cmd.pre_exec(move || {
            let first: libc::c_uint = 3;
            let marked = marking == Marking::CloseRange
                && libc::syscall(
                    libc::SYS_close_range,
                    first,
                    libc::c_uint::MAX,
                    libc::CLOSE_RANGE_CLOEXEC,
                ) == 0;
            if !marked {
                // Before Linux 5.11, or refused by a seccomp filter. A
                // descriptor that is not open answers EBADF: nothing to do.
                for fd in 3..end {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            Ok::<(), io::Error>(())
        });
    }
}

/// Formats an error of starting `program` as "cannot run `x`: reason",
/// without the "(os error N)" suffix std adds.
pub(crate) fn cannot_run(program: &str, err: &std::io::Error) -> String {
    format!(
        "cannot run `{program}`: {}",
        crate::text::io_error_text(err)
    )
}

/// Where `program` runs from: itself when it holds a `/` (a relative one
/// taken from `cwd`), else the first executable of that name on `search`
/// (a service's `PATH`), as `execvp` would find it.
pub(crate) fn resolve_program_on(
    program: &str,
    search: &str,
    cwd: &std::path::Path,
) -> io::Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = cwd.join(program);
        return match std::fs::metadata(&p) {
            Ok(_) if executable(&p) => Ok(p),
            Ok(_) => Err(io::Error::from_raw_os_error(libc::EACCES)),
            Err(e) => Err(e),
        };
    }
    search
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| cwd.join(dir).join(program))
        .find(|p| executable(p))
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_env_has_fixed_path_lang_and_marker() {
        let env = clean_env();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PATH"), Some(CLEAN_PATH));
        assert_eq!(get("LANG"), Some("C.UTF-8"));
        assert_eq!(get("SUPERVISORCTL"), Some("1"));
        let allowed = [
            "PATH",
            "LANG",
            "HOME",
            "USER",
            "LOGNAME",
            "TZ",
            "SUPERVISORCTL",
        ];
        for (name, _) in &env {
            assert!(allowed.contains(&name.as_str()), "unexpected {name}");
        }
        if let Ok(home) = std::env::var("HOME") {
            assert_eq!(get("HOME"), Some(home.as_str()));
        }
    }

    /// The descriptors a child of `cmd` starts with, as `ls` lists them
    /// (its own handle on the folder included).
    fn child_fds(mut cmd: Command) -> Vec<u32> {
        let out = cmd.output().expect("run ls");
        let mut fds: Vec<u32> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        fds.sort_unstable();
        fds
    }

    #[test]
    fn both_markings_leave_only_stdio_inherited() {
        // A descriptor of ours without close-on-exec, like a `flock` lock.
        let file = tempfile::tempfile().unwrap();
        let flags = nix::fcntl::FdFlag::empty();
        nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFD(flags)).unwrap();
        let leaked = std::os::fd::AsRawFd::as_raw_fd(&file).unsigned_abs();
        let mut plain = Command::new("ls");
        plain.arg("/proc/self/fd");
        assert!(child_fds(plain).contains(&leaked), "the test leaks nothing");
        for marking in [Marking::CloseRange, Marking::LoopOnly] {
            let mut cmd = Command::new("ls");
            cmd.arg("/proc/self/fd");
            close_inherited_fds(&mut cmd, marking);
            // 3 is `ls`'s own handle on /proc/self/fd.
            assert_eq!(child_fds(cmd), [0, 1, 2, 3], "{marking:?}");
        }
    }

    #[test]
    fn a_failed_exec_is_still_reported() {
        // std learns of a failed exec through a close-on-exec pipe that the
        // marking must leave open.
        let err = clean_command(&["/nonexistent/definitely-not-here"])
            .spawn()
            .expect_err("cannot start");
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn cannot_run_drops_os_error_suffix() {
        let err = std::io::Error::from_raw_os_error(2);
        assert_eq!(
            cannot_run("nope", &err),
            "cannot run `nope`: no such file or directory"
        );
    }
}
