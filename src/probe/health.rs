//! Health probes (SPEC §4): an HTTP GET answered with 2xx, a TCP connection
//! accepted, or a command that exits 0, each within its timeout. Anything
//! else is `Failing` with a short reason an operator can act on.
//!
//! # Guarantees
//!
//! - **Bounded.** A probe returns within its timeout plus a short grace:
//!   HTTP through ureq's global timeout, TCP through connect timeouts and a
//!   resolver thread that is abandoned at the timeout, a command through
//!   [`crate::exec::run_bounded`], which kills its process group.
//! - **A command is argv, never a shell string**, and runs like a restart
//!   command: clean environment, working directory `/`, stdin from
//!   `/dev/null`, no descriptor but 0, 1 and 2. Its stdout and stderr are
//!   discarded; only its exit status counts.
//! - HTTP never follows a redirect and never goes through a proxy from the
//!   environment.
//!
//! # Caveats
//!
//! - A name that takes longer than the timeout to resolve leaves its
//!   resolver thread running until the system resolver gives up.
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::desired::Probe;
use crate::exec::{self, Capture};

use super::ProbeOutcome;

/// Runs one probe; never takes much longer than `timeout`.
pub fn probe_health(probe: &Probe, timeout: Duration) -> ProbeOutcome {
    probe_health_with(probe, timeout, None)
}

/// [`probe_health`], trusting `ca_file` (PEM) besides the system's roots
/// for an `https://` check.
pub fn probe_health_with(probe: &Probe, timeout: Duration, ca_file: Option<&Path>) -> ProbeOutcome {
    match probe {
        Probe::Http(url) => http(url, timeout, ca_file),
        Probe::Tcp(addr) => tcp(addr, timeout),
        Probe::Command(argv) => command(argv, timeout),
    }
}

fn failing(why: impl Into<String>) -> ProbeOutcome {
    ProbeOutcome::Failing(why.into())
}

fn timed_out(timeout: Duration) -> ProbeOutcome {
    failing(format!("timed out after {}", fmt_duration(timeout)))
}

pub(crate) use crate::fmt::duration as fmt_duration;

fn http(url: &str, timeout: Duration, ca_file: Option<&Path>) -> ProbeOutcome {
    let agent = match crate::http::agent(timeout, ca_file) {
        Ok(a) => a,
        Err(e) => return failing(e),
    };
    match agent.get(url).call() {
        Ok(resp) if resp.status().is_success() => ProbeOutcome::Up,
        Ok(resp) => failing(format!("HTTP {}", resp.status().as_u16())),
        Err(ureq::Error::Timeout(_)) => timed_out(timeout),
        Err(ureq::Error::Io(e)) => io_failure(&e, timeout),
        Err(ureq::Error::HostNotFound) => failing("host not found"),
        Err(ureq::Error::BadUri(u)) => failing(format!("bad url: {u}")),
        Err(e) => failing(crate::http::tls_reason(&e).unwrap_or_else(|| e.to_string())),
    }
}

fn io_failure(e: &std::io::Error, timeout: Duration) -> ProbeOutcome {
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => timed_out(timeout),
        ErrorKind::ConnectionRefused => failing("connection refused"),
        ErrorKind::ConnectionReset => failing("connection reset"),
        ErrorKind::ConnectionAborted => failing("connection aborted"),
        ErrorKind::UnexpectedEof => failing("connection closed without an answer"),
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => failing("host unreachable"),
        _ => failing(crate::http::tls_reason(e).unwrap_or_else(|| e.to_string())),
    }
}

fn tcp(addr: &str, timeout: Duration) -> ProbeOutcome {
    let deadline = Instant::now() + timeout;
    let addrs = match resolve(addr, timeout) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let mut last = failing(format!("`{addr}` resolves to no address"));
    for sa in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return timed_out(timeout);
        }
        match TcpStream::connect_timeout(&sa, left) {
            Ok(_) => return ProbeOutcome::Up,
            Err(e) => last = io_failure(&e, timeout),
        }
    }
    last
}

/// An address literal directly; a name through the system resolver in a
/// helper thread, so a hung lookup cannot outlast the timeout.
fn resolve(addr: &str, timeout: Duration) -> Result<Vec<SocketAddr>, ProbeOutcome> {
    if let Ok(sa) = addr.parse::<SocketAddr>() {
        return Ok(vec![sa]);
    }
    let (tx, rx) = mpsc::channel();
    let owned = addr.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(owned.to_socket_addrs().map(Vec::from_iter));
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(failing(format!("cannot resolve `{addr}`: {e}"))),
        Err(_) => Err(timed_out(timeout)),
    }
}

fn command(argv: &[String], timeout: Duration) -> ProbeOutcome {
    if argv.is_empty() {
        return failing("empty command");
    }
    // The same runner as restart commands: clean environment, working
    // directory `/`, only stdin, stdout and stderr, its own process group.
    let r = exec::run_bounded(argv, timeout, Capture::NOTHING);
    if let Some(error) = r.error {
        failing(error)
    } else if r.timed_out {
        timed_out(timeout)
    } else {
        match (r.exit_code, r.signal) {
            (Some(0), _) => ProbeOutcome::Up,
            (Some(code), _) => failing(format!("exit status {code}")),
            (None, sig) => failing(format!("killed by signal {}", sig.unwrap_or_default())),
        }
    }
}
