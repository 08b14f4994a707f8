//! Health probes (docs/reference/behaviour.md, "Health"): an HTTP GET answered with 2xx, a TCP connection
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
//!   `/dev/null`, no descriptor but 0, 1 and 2. Its stdout is discarded;
//!   its exit status counts, and the last line of its stderr explains a
//!   failure (`exit 1: connection refused`).
//! - **An inference check** (docs/reference/behaviour.md, "Inference check") POSTs a one-token completion and is
//!   up only when a 2xx answer with a choice arrives within its timeout.
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

use crate::desired::{LoadingAnswer, Probe};
use crate::exec::{self, Capture};

use super::ProbeOutcome;

/// Runs one probe; never takes much longer than `timeout`.
pub fn probe_health(probe: &Probe, timeout: Duration) -> ProbeOutcome {
    probe_health_with(probe, timeout, None)
}

/// [`probe_health`], trusting `ca_file` (PEM) besides the system's roots
/// for an `https://` check.
pub fn probe_health_with(probe: &Probe, timeout: Duration, ca_file: Option<&Path>) -> ProbeOutcome {
    probe_health_full(probe, timeout, ca_file, None)
}

/// [`probe_health_with`], also recognising `loading` (besides llama.cpp's
/// own 503 "Loading model") as an answer that means the server is loading
/// (docs/reference/behaviour.md, "Loading"): then the outcome is [`ProbeOutcome::Loading`].
pub fn probe_health_full(
    probe: &Probe,
    timeout: Duration,
    ca_file: Option<&Path>,
    loading: Option<&LoadingAnswer>,
) -> ProbeOutcome {
    let outcome = probe_answer(probe, timeout, ca_file);
    match outcome {
        Answered::Status(prefix, status, body) => {
            if is_loading(status, &body, loading) {
                ProbeOutcome::Loading(format!("{prefix}HTTP {status}: loading"))
            } else {
                failing(format!("{prefix}HTTP {status}"))
            }
        }
        Answered::Outcome(o) => o,
    }
}

/// An HTTP answer that is not a success (the reason's prefix, status, the
/// start of its body), or any other outcome.
enum Answered {
    Status(&'static str, u16, String),
    Outcome(ProbeOutcome),
}

/// llama.cpp's own: 503 with `Loading model` in the body.
const LLAMA_CPP_LOADING: &str = "loading model";

/// Whether an answer says "loading": llama.cpp's 503 `Loading model`, or
/// the service's `health.loading` (status, and body text when given).
pub fn is_loading(status: u16, body: &str, loading: Option<&LoadingAnswer>) -> bool {
    let body = body.to_lowercase();
    let llama = status == 503 && body.contains(LLAMA_CPP_LOADING);
    let declared = loading.is_some_and(|l| {
        l.status == status
            && l.body
                .as_ref()
                .is_none_or(|b| body.contains(&b.to_lowercase()))
    });
    llama || declared
}

fn probe_answer(probe: &Probe, timeout: Duration, ca_file: Option<&Path>) -> Answered {
    let outcome = match probe {
        Probe::Http(url) => return http(url, timeout, ca_file),
        Probe::Tcp(addr) => tcp(addr, timeout),
        Probe::Command(argv) => command(argv, timeout),
        Probe::Inference {
            url,
            model,
            timeout: own,
        } => return inference(url, model.as_deref(), own.unwrap_or(timeout), ca_file),
    };
    Answered::Outcome(outcome)
}

/// The start of a body, for the loading check: at most 4 KiB, lossy.
fn body_start(resp: &mut ureq::http::Response<ureq::Body>) -> String {
    resp.body_mut()
        .with_config()
        .limit(4096)
        .read_to_vec()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn failing(why: impl Into<String>) -> ProbeOutcome {
    ProbeOutcome::Failing(why.into())
}

fn timed_out(timeout: Duration) -> ProbeOutcome {
    failing(format!("timed out after {}", fmt_duration(timeout)))
}

pub(crate) use crate::fmt::duration as fmt_duration;

fn http(url: &str, timeout: Duration, ca_file: Option<&Path>) -> Answered {
    let agent = match crate::http::agent(timeout, ca_file) {
        Ok(a) => a,
        // Our configuration, not the service: no evidence either way.
        Err(e) => return Answered::Outcome(ProbeOutcome::Unknown(e)),
    };
    let outcome = match agent.get(url).call() {
        Ok(resp) if resp.status().is_success() => ProbeOutcome::Up,
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            return Answered::Status("", status, body_start(&mut resp));
        }
        Err(ureq::Error::Timeout(_)) => timed_out(timeout),
        Err(ureq::Error::Io(e)) => io_failure(&e, timeout),
        Err(ureq::Error::HostNotFound) => failing("host not found"),
        Err(ureq::Error::BadUri(u)) => failing(format!("bad url: {u}")),
        Err(e) => failing(crate::http::tls_reason(&e).unwrap_or_else(|| e.to_string())),
    };
    Answered::Outcome(outcome)
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

/// docs/reference/behaviour.md, "Inference check": POST `{"model": M, "prompt": "1", "max_tokens": 1}`; up only
/// if a 2xx answer with at least one choice arrives within the timeout. A
/// server whose `/health` answers while generation hangs is failing here.
fn inference(
    url: &str,
    model: Option<&str>,
    timeout: Duration,
    ca_file: Option<&Path>,
) -> Answered {
    match inference_outcome(url, model, timeout, ca_file) {
        Ok(o) => Answered::Outcome(o),
        Err(status_and_body) => status_and_body,
    }
}

/// The inference check's outcome, or Err: the answer's status and body
/// when it was not a success (the caller tells loading from failing).
fn inference_outcome(
    url: &str,
    model: Option<&str>,
    timeout: Duration,
    ca_file: Option<&Path>,
) -> Result<ProbeOutcome, Answered> {
    let agent = match crate::http::agent(timeout, ca_file) {
        Ok(a) => a,
        Err(e) => return Ok(ProbeOutcome::Unknown(format!("inference: {e}"))),
    };
    let mut body = serde_json::json!({"prompt": "1", "max_tokens": 1});
    if let Some(m) = model {
        body["model"] = m.into();
    }
    let fail = |why: String| failing(format!("inference {why}"));
    let resp = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes());
    let mut resp = match resp {
        Ok(r) => r,
        Err(ureq::Error::Timeout(_)) => {
            return Ok(fail(format!("timed out after {}", fmt_duration(timeout))))
        }
        Err(ureq::Error::Io(e)) => {
            return Ok(match io_failure(&e, timeout) {
                ProbeOutcome::Failing(why) => fail(why),
                up => up,
            })
        }
        Err(e) => {
            return Ok(fail(
                crate::http::tls_reason(&e).unwrap_or_else(|| e.to_string()),
            ))
        }
    };
    if !resp.status().is_success() {
        let status = resp.status().as_u16();
        return Err(Answered::Status(
            "inference ",
            status,
            body_start(&mut resp),
        ));
    }
    let text = match resp
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
    {
        Ok(t) => t,
        Err(ureq::Error::Timeout(_)) => {
            return Ok(fail(format!("timed out after {}", fmt_duration(timeout))))
        }
        Err(e) => return Ok(fail(format!("answer unreadable: {e}"))),
    };
    let choices = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("choices").and_then(|c| c.as_array()).map(Vec::len));
    Ok(match choices {
        Some(n) if n > 0 => ProbeOutcome::Up,
        Some(_) => fail("answered with no choice".into()),
        None => fail("answer is not a completion (no `choices`)".into()),
    })
}

fn command(argv: &[String], timeout: Duration) -> ProbeOutcome {
    if argv.is_empty() {
        return failing("empty command");
    }
    // The same runner as restart commands: clean environment, working
    // directory `/`, only stdin, stdout and stderr, its own process group.
    let r = exec::run_bounded(argv, timeout, Capture::STDERR_TAIL);
    if let Some(error) = r.error {
        failing(error)
    } else if r.timed_out {
        timed_out(timeout)
    } else {
        match (r.exit_code, r.signal) {
            (Some(0), _) => ProbeOutcome::Up,
            (Some(code), _) => match r.stderr_tail.lines().rev().find(|l| !l.trim().is_empty()) {
                Some(last) => failing(format!("exit {code}: {}", last.trim())),
                None => failing(format!("exit {code}")),
            },
            (None, sig) => failing(format!("killed by signal {}", sig.unwrap_or_default())),
        }
    }
}
