//! Activity probes (docs/reference/behaviour.md, "Activity"): whether a service is in use, from the server
//! itself. Two sources, tried in this order:
//!
//! - **metrics**: a Prometheus text endpoint; a request counter (its value
//!   now; the core compares it with the last sample) and an in-flight
//!   gauge. Without names, the known servers' defaults are looked up:
//!   llama.cpp (`llamacpp:tokens_predicted_total`,
//!   `llamacpp:requests_processing`) and vLLM (`vllm:request_success_total`,
//!   `vllm:num_requests_running`).
//! - **connections**: established TCP connections to the process's
//!   listening sockets (`/proc/PID/net/tcp` and `tcp6`, matched to the
//!   socket inodes of the process and its children), from peers other than
//!   this tool's own sockets (its health probe, say).
//!
//! A source that cannot say is an error with a reason; the caller tries the
//! next one, and activity that no source can give is *unknown*, which the
//! core never takes as idle.
//!
//! # Guarantees
//!
//! - **Bounded**: the HTTP exchange has the health check's timeout and a
//!   body cap ([`MAX_METRICS_BYTES`]); `/proc` files are read with a size cap.
//! - Read-only: nothing is written, nothing is signalled.
//!
//! # Caveats
//!
//! - A client that keeps a connection open while idle (a Prometheus scraper
//!   of the same port, a connection pool) counts as activity under
//!   `connections`: the safe direction (never evicted), documented.
use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::desired::ActivitySource;
use crate::num::saturating_u64;

/// The largest metrics answer read; a longer one is an error, not a guess.
pub const MAX_METRICS_BYTES: u64 = 4 << 20;
/// The largest `/proc/PID/net/tcp*` file read (about 27,000 sockets).
const MAX_NET_BYTES: u64 = 4 << 20;

/// Known servers' (counter, gauge), tried in order when none is named.
pub const KNOWN_METRICS: [(&str, &str); 2] = [
    (
        "llamacpp:tokens_predicted_total",
        "llamacpp:requests_processing",
    ),
    ("vllm:request_success_total", "vllm:num_requests_running"),
];

/// What one activity probe read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityReading {
    /// `metrics` or `connections`.
    pub source: &'static str,
    /// The request counter's value (metrics).
    pub requests_total: Option<u64>,
    /// The in-flight gauge's value (metrics).
    pub in_flight: Option<u64>,
    /// Established connections from other peers (connections).
    pub connections: Option<u64>,
    /// Requests this tool made itself since the last reading and that the
    /// counter includes (its inference check: one completion of one
    /// token): a rise by no more than this is not use.
    pub own_requests: u64,
    /// Why a configured source was passed over (`metrics …: HTTP 501`).
    pub note: Option<String>,
}

/// Reads activity for a service whose process is `pid` (if found), from
/// `source` (`None`: connections), falling back to connections when the
/// metrics endpoint cannot say. Err: why activity is unknown.
pub fn probe_activity(
    source: Option<&ActivitySource>,
    pid: Option<u32>,
    timeout: Duration,
    ca_file: Option<&Path>,
) -> Result<ActivityReading, String> {
    let metrics_error = match source {
        Some(ActivitySource::Metrics {
            url,
            counter,
            gauge,
        }) => match metrics(url, counter.as_deref(), gauge.as_deref(), timeout, ca_file) {
            Ok(r) => return Ok(r),
            Err(e) => Some(e),
        },
        _ => None,
    };
    let conn = match pid {
        Some(pid) => connections(pid),
        None => Err("no process".to_string()),
    };
    match (conn, metrics_error) {
        (Ok(mut r), m) => {
            r.note = m.map(|m| format!("{m}; from connections instead"));
            Ok(r)
        }
        (Err(c), Some(m)) => Err(format!("{m}; connections: {c}")),
        (Err(c), None) => Err(format!("connections: {c}")),
    }
}

/// GETs `url` and reads the counter and gauge (or the known defaults).
pub fn metrics(
    url: &str,
    counter: Option<&str>,
    gauge: Option<&str>,
    timeout: Duration,
    ca_file: Option<&Path>,
) -> Result<ActivityReading, String> {
    let text = fetch(url, timeout, ca_file).map_err(|e| format!("metrics {url}: {e}"))?;
    read_metrics(&text, counter, gauge).map_err(|e| format!("metrics {url}: {e}"))
}

fn fetch(url: &str, timeout: Duration, ca_file: Option<&Path>) -> Result<String, String> {
    let agent = crate::http::agent(timeout, ca_file)?;
    let mut resp = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Timeout(_) => format!("timed out after {}", crate::fmt::duration(timeout)),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        e => crate::http::tls_reason(&e).unwrap_or_else(|| e.to_string()),
    })?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status().as_u16()));
    }
    resp.body_mut()
        .with_config()
        .limit(MAX_METRICS_BYTES)
        .read_to_string()
        .map_err(|e| format!("answer unreadable: {e}"))
}

/// The named (or known) counter and gauge in Prometheus text. Err when
/// neither is there.
pub fn read_metrics(
    text: &str,
    counter: Option<&str>,
    gauge: Option<&str>,
) -> Result<ActivityReading, String> {
    let pairs: Vec<(Option<&str>, Option<&str>)> = if counter.is_some() || gauge.is_some() {
        vec![(counter, gauge)]
    } else {
        KNOWN_METRICS
            .iter()
            .map(|(c, g)| (Some(*c), Some(*g)))
            .collect()
    };
    for (c, g) in &pairs {
        let total = c.and_then(|c| sum_of(text, c));
        let in_flight = g.and_then(|g| sum_of(text, g));
        if total.is_some() || in_flight.is_some() {
            return Ok(ActivityReading {
                source: "metrics",
                requests_total: total.map(saturating_u64),
                in_flight: in_flight.map(|v| saturating_u64(v.ceil())),
                connections: None,
                own_requests: 0,
                note: None,
            });
        }
    }
    let names: Vec<String> = pairs
        .iter()
        .flat_map(|(c, g)| [c, g])
        .flatten()
        .map(|n| format!("`{n}`"))
        .collect();
    Err(format!("none of {} is served", names.join(", ")))
}

/// The sum of every sample of metric `name` (any labels); `None` if absent.
fn sum_of(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim_start();
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let rest = match rest.as_bytes().first() {
            Some(b'{') => match rest.find('}') {
                Some(end) => &rest[end + 1..],
                None => continue,
            },
            Some(b' ' | b'\t') => rest,
            _ => continue,
        };
        let value = rest.split_whitespace().next().and_then(parse_value);
        if let Some(v) = value.filter(|v| v.is_finite()) {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "-Inf" | "NaN" => None,
        s => s.parse().ok(),
    }
}

/// A TCP endpoint as `/proc/net/tcp*` writes it (hex address, port).
type Endpoint = (String, u16);

/// One line of `/proc/PID/net/tcp*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Socket {
    local: Endpoint,
    remote: Endpoint,
    state: u8,
    inode: u64,
}

const ESTABLISHED: u8 = 0x01;
const LISTEN: u8 = 0x0A;

/// Established connections to `pid`'s listening TCP sockets from peers
/// other than this process's own sockets (its probes). One read of the
/// tables: this process's sockets are found in the same ones (the same
/// network namespace).
pub fn connections(pid: u32) -> Result<ActivityReading, String> {
    let inodes = socket_inodes_of_tree(pid)?;
    let sockets = read_tcp(pid)?;
    let mine = socket_inodes(std::process::id()).unwrap_or_default();
    let own: BTreeSet<&Endpoint> = sockets
        .iter()
        .filter(|s| mine.contains(&s.inode))
        .map(|s| &s.local)
        .collect();
    let listening: BTreeSet<u16> = sockets
        .iter()
        .filter(|s| s.state == LISTEN && inodes.contains(&s.inode))
        .map(|s| s.local.1)
        .collect();
    if listening.is_empty() {
        return Err("the process listens on no TCP port".into());
    }
    let n = sockets
        .iter()
        .filter(|s| s.state == ESTABLISHED && listening.contains(&s.local.1))
        .filter(|s| !own.contains(&s.remote))
        .count();
    Ok(ActivityReading {
        source: "connections",
        requests_total: None,
        in_flight: None,
        connections: Some(n as u64),
        own_requests: 0,
        note: None,
    })
}

/// Socket inodes held by `pid` and its descendants (a server's workers).
fn socket_inodes_of_tree(pid: u32) -> Result<BTreeSet<u64>, String> {
    let mut all = socket_inodes(pid)?;
    let mut queue = children(pid);
    let mut seen = BTreeSet::from([pid]);
    while let Some(child) = queue.pop() {
        if !seen.insert(child) || seen.len() > 4096 {
            continue;
        }
        all.extend(socket_inodes(child).unwrap_or_default());
        queue.extend(children(child));
    }
    Ok(all)
}

fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return vec![];
    };
    let mut out = vec![];
    for task in tasks.flatten() {
        let path = task.path().join("children");
        if let Ok(text) = read_capped(&path, 1 << 20) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

fn socket_inodes(pid: u32) -> Result<BTreeSet<u64>, String> {
    let dir = format!("/proc/{pid}/fd");
    let entries = std::fs::read_dir(&dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            format!("cannot read {dir}: permission denied (run as its user or root)")
        }
        std::io::ErrorKind::NotFound => "no process".to_string(),
        _ => format!("cannot read {dir}: {e}"),
    })?;
    Ok(entries
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|target| {
            let t = target.to_str()?;
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect())
}

/// Both tables of `pid`'s network namespace.
fn read_tcp(pid: u32) -> Result<Vec<Socket>, String> {
    let mut out = vec![];
    let mut any = false;
    for table in ["tcp", "tcp6"] {
        let path = format!("/proc/{pid}/net/{table}");
        if let Ok(text) = read_capped(Path::new(&path), MAX_NET_BYTES) {
            any = true;
            out.extend(text.lines().skip(1).filter_map(parse_socket));
        }
    }
    if !any {
        return Err(format!("cannot read /proc/{pid}/net/tcp"));
    }
    Ok(out)
}

/// Reads a `/proc` file in large reads: the kernel regenerates a
/// `seq_file` table such as `/proc/net/tcp` from its start at every read
/// call, so small reads make it quadratic.
fn read_capped(path: &Path, cap: u64) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 || bytes.len() as u64 >= cap {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
    }
    bytes.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `  0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 12345 …`
fn parse_socket(line: &str) -> Option<Socket> {
    let mut f = line.split_whitespace();
    let _slot = f.next()?;
    let local = endpoint(f.next()?)?;
    let remote = endpoint(f.next()?)?;
    let state = u8::from_str_radix(f.next()?, 16).ok()?;
    // tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, inode
    let inode = f.nth(5)?.parse().ok()?;
    Some(Socket {
        local,
        remote,
        state,
        inode,
    })
}

fn endpoint(s: &str) -> Option<Endpoint> {
    let (addr, port) = s.split_once(':')?;
    Some((addr.to_string(), u16::from_str_radix(port, 16).ok()?))
}

#[cfg(test)]
#[path = "tests/activity_tests.rs"]
mod tests;
