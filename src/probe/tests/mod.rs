//! Tests of the probes against real processes, sockets and files, with the
//! helpers they share: a desired-state builder, a child process that is
//! killed when dropped, and a tiny HTTP server on 127.0.0.1.
mod gpu_tests;
mod health_tests;
mod node_tests;
mod process_tests;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::desired::{Kind, NodeSpec, Probe, ProcessMatch, ServiceSpec, Settings, Start};

pub(super) fn service(name: &str) -> ServiceSpec {
    ServiceSpec::new(name, Kind::Service)
}

pub(super) fn with_process(mut s: ServiceSpec, m: ProcessMatch) -> ServiceSpec {
    s.process = Some(m);
    s
}

pub(super) fn with_probe(mut s: ServiceSpec, p: Probe, timeout: Duration) -> ServiceSpec {
    s.health.probe = Some(p);
    s.health.timeout = timeout;
    s
}

pub(super) fn spawned(mut s: ServiceSpec) -> ServiceSpec {
    s.start = Some(Start::Spawn(vec!["sleep".into(), "30".into()]));
    s
}

pub(super) fn node(services: Vec<ServiceSpec>) -> NodeSpec {
    // The core's one test builder (the balanced preset), with what these
    // tests rely on set here.
    let settings = Settings {
        fast_tick: Duration::from_secs(10),
        backoff_base: Duration::from_secs(10),
        backoff_max: Duration::from_mins(10),
        breaker_retry: None,
        ..crate::core::testutil::settings()
    };
    NodeSpec {
        name: "local".to_string(),
        file: PathBuf::from("hosts/local/services.yaml"),
        settings,
        services: services
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A child process killed and reaped when dropped.
pub(super) struct Kid(pub Child);

impl Kid {
    pub fn spawn(program: &str, args: &[&str]) -> Kid {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn test child");
        // Give exec a moment so /proc shows the new program, not the fork.
        wait_for(|| {
            std::fs::read_to_string(format!("/proc/{}/cmdline", child.id()))
                .is_ok_and(|c| c.split('\0').next() == Some(program))
        });
        Kid(child)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `cond` for up to 3 s.
pub(super) fn wait_for(cond: impl Fn() -> bool) {
    for _ in 0..300 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How a test server answers each connection.
#[derive(Clone, Copy)]
pub(super) enum Answer {
    Status(u16),
    /// This status with this body.
    Body(u16, &'static str),
    /// Accepts, reads the request, never replies.
    Silent,
}

/// Serves `answer` on 127.0.0.1 from a background thread for the rest of
/// the test process; returns its address.
pub(super) fn http_server(answer: Answer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            match answer {
                Answer::Status(code) => {
                    let mut s = stream;
                    let _ = write!(
                        s,
                        "HTTP/1.1 {code} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                    );
                }
                Answer::Body(code, body) => {
                    let mut s = stream;
                    let n = body.len();
                    let _ = write!(
                        s,
                        "HTTP/1.1 {code} X\r\ncontent-length: {n}\r\nconnection: close\r\n\r\n{body}"
                    );
                }
                Answer::Silent => held.push(stream),
            }
        }
    });
    addr
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub(super) fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}
