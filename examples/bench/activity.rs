//! `just bench-activity`: what the activity probes of SPEC §13 cost per
//! service, on a real server process: `connections` (the process's socket
//! inodes and `/proc/PID/net/tcp*`) with 0, 10 and 100 clients connected,
//! and `metrics` (one HTTP GET of a llama.cpp-sized Prometheus answer and
//! its parse). Reports the median and the 90th percentile of 200 calls.
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use supervisorctl::desired::ActivitySource;
use supervisorctl::probe::probe_activity;

const CALLS: usize = 200;

fn time(mut f: impl FnMut()) -> (Duration, Duration) {
    let mut d: Vec<Duration> = (0..CALLS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    d.sort();
    (d[CALLS / 2], d[CALLS * 9 / 10])
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// llama.cpp's `/metrics` answer, the size it is (about 1.5 KB).
fn metrics_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut body = String::new();
        for name in [
            "prompt_tokens_total",
            "tokens_predicted_total",
            "n_decode_total",
            "n_busy_slots_per_decode",
            "prompt_seconds_total",
            "tokens_predicted_seconds_total",
        ] {
            let _ = write!(
                body,
                "# HELP llamacpp:{name} x\n# TYPE llamacpp:{name} counter\nllamacpp:{name} 12345\n"
            );
        }
        for name in [
            "requests_processing",
            "requests_deferred",
            "prompt_tokens_seconds",
            "predicted_tokens_seconds",
        ] {
            let _ = write!(
                body,
                "# HELP llamacpp:{name} x\n# TYPE llamacpp:{name} gauge\nllamacpp:{name} 0\n"
            );
        }
        for mut c in l.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf);
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

pub fn run() {
    let port = free_port();
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m http.server");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err()
        && started.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = server.id();
    let timeout = Duration::from_secs(2);
    println!("activity probe, {CALLS} calls each (median, p90):");
    let mut clients = vec![];
    for want in [0usize, 10, 100] {
        while clients.len() < want {
            clients.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
        }
        std::thread::sleep(Duration::from_millis(200));
        let (median, p90) = time(|| {
            let r = probe_activity(None, Some(pid), timeout, None).expect("connections");
            assert!(r.connections.is_some());
        });
        println!(
            "  connections, {want:>3} clients: {:>7.1} µs, {:>7.1} µs",
            median.as_secs_f64() * 1e6,
            p90.as_secs_f64() * 1e6
        );
    }
    drop(clients);
    let mport = metrics_server();
    let source = ActivitySource::Metrics {
        url: format!("http://127.0.0.1:{mport}/metrics"),
        counter: None,
        gauge: None,
    };
    let (median, p90) = time(|| {
        let r = probe_activity(Some(&source), Some(pid), timeout, None).expect("metrics");
        assert_eq!(r.source, "metrics");
    });
    println!(
        "  metrics (llama.cpp text):   {:>7.1} µs, {:>7.1} µs",
        median.as_secs_f64() * 1e6,
        p90.as_secs_f64() * 1e6
    );
    let _ = server.kill();
    let _ = server.wait();
}
