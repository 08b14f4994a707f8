//! Waiting for any process to exit, not only our children (Linux pidfd,
//! kernel 5.3+): `watch` wakes the moment a service it knows dies.
//!
//! **Guarantees.** A pidfd names the process it was opened for, never a
//! later one with a reused pid; the identity is checked right after the
//! open, so a pid that was already reused is not watched.
//! **Caveats.** Where `pidfd_open` is not available, [`open`] returns
//! None and the caller falls back to its interval.
use std::os::fd::{FromRawFd, OwnedFd};

use crate::procfs::{self, ProcessIdentity};

/// A pidfd for the live process `id`, or None (gone, reused, unsupported).
pub fn open(id: ProcessIdentity) -> Option<OwnedFd> {
    let pid = i32::try_from(id.pid).ok()?;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new file
    // descriptor or -1; it touches no memory of ours. The descriptor it
    // returns is owned by nobody else, so wrapping it in an OwnedFd (which
    // closes it once) is sound.
    #[allow(unsafe_code)]
    let fd = unsafe {
        let fd = nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0);
        // A descriptor is a non-negative int; -1 is a failure.
        let fd = std::os::fd::RawFd::try_from(fd)
            .ok()
            .filter(|fd| *fd >= 0)?;
        OwnedFd::from_raw_fd(fd)
    };
    // Opened after the pid may have been reused: keep it only if it is
    // still the process we know.
    procfs::is_running(id).then_some(fd)
}

/// Sends `signal` through the pidfd `fd` (`pidfd_send_signal(2)`): to the
/// process the pidfd was opened for, never to a later one that reuses its
/// pid. Err(ESRCH) when it has exited.
pub fn send_signal(fd: &OwnedFd, signal: nix::sys::signal::Signal) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_send_signal(2) takes a descriptor we own (borrowed for
    // the call), a signal number, a null siginfo pointer (allowed: the
    // kernel fills in the default) and flags 0; it touches no memory of ours.
    #[allow(unsafe_code)]
    let r = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal as i32,
            std::ptr::null::<nix::libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}

/// Blocks until one of `fds` reports its process's exit or `timeout_ms`
/// passes; returns the indexes of those that exited.
pub fn wait_any(fds: &[OwnedFd], timeout_ms: u16) -> Vec<usize> {
    wait_refs(&fds.iter().collect::<Vec<_>>(), timeout_ms)
}

/// [`wait_any`] over borrowed pidfds.
pub fn wait_refs(fds: &[&OwnedFd], timeout_ms: u16) -> Vec<usize> {
    use nix::poll::{poll, PollFd, PollFlags};
    use std::os::fd::AsFd;
    let mut polls: Vec<PollFd> = fds
        .iter()
        .map(|f| PollFd::new(f.as_fd(), PollFlags::POLLIN))
        .collect();
    if polls.is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(u64::from(timeout_ms)));
        return vec![];
    }
    match poll(&mut polls, timeout_ms) {
        Ok(n) if n > 0 => polls
            .iter()
            .enumerate()
            .filter(|(_, p)| p.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect(),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_when_a_process_that_is_not_our_child_exits() {
        // `sh` starts `sleep` and exits: the sleep is not our child.
        let out = std::process::Command::new("sh")
            .args(["-c", "sleep 0.5 >/dev/null 2>&1 & echo $!"])
            .output()
            .unwrap();
        let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let id = procfs::identity(pid).expect("the sleep runs");
        let fd = open(id).expect("pidfd_open works on this kernel");
        let started = std::time::Instant::now();
        let mut woke = vec![];
        while woke.is_empty() && started.elapsed().as_secs() < 5 {
            woke = wait_any(std::slice::from_ref(&fd), 100);
        }
        assert_eq!(woke, vec![0]);
        assert!(started.elapsed().as_millis() < 2000);
    }
}
