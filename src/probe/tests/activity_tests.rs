//! Activity probes against real text and real sockets: the metrics reader
//! over llama.cpp's and vLLM's own output, and connection counting against
//! a real server process with real clients.
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::super::tests::{wait_for, Kid};
use super::*;

/// What llama.cpp's `llama-server --metrics` serves (abridged, verbatim lines).
const LLAMA: &str = "\
# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 12
# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 40
# HELP llamacpp:requests_processing Number of requests processing.
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 1
";

const VLLM: &str = "\
# TYPE vllm:request_success_total counter
vllm:request_success_total{finished_reason=\"stop\",model_name=\"m\"} 7.0
vllm:request_success_total{finished_reason=\"length\",model_name=\"m\"} 3.0
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name=\"m\"} 0.0
vllm:num_requests_running_extra 9
";

#[test]
fn llama_cpp_defaults_are_found() {
    let r = read_metrics(LLAMA, None, None).unwrap();
    assert_eq!(
        (r.source, r.requests_total, r.in_flight),
        ("metrics", Some(40), Some(1))
    );
}

#[test]
fn vllm_defaults_sum_every_label_set_and_ignore_longer_names() {
    let r = read_metrics(VLLM, None, None).unwrap();
    assert_eq!((r.requests_total, r.in_flight), (Some(10), Some(0)));
}

#[test]
fn named_metrics_win_and_a_missing_one_is_an_error_naming_it() {
    let r = read_metrics(LLAMA, Some("llamacpp:prompt_tokens_total"), None).unwrap();
    assert_eq!((r.requests_total, r.in_flight), (Some(12), None));
    let e = read_metrics(LLAMA, Some("http_requests_total"), None).unwrap_err();
    assert_eq!(e, "none of `http_requests_total` is served");
    let e = read_metrics("up 1\n", None, None).unwrap_err();
    assert!(e.contains("llamacpp:tokens_predicted_total"), "{e}");
}

#[test]
fn proc_net_lines_parse() {
    let line = "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 424242 1 0000000000000000 20 4 30 10 -1";
    let s = parse_socket(line).unwrap();
    assert_eq!(s.local, ("0100007F".into(), 8080));
    assert_eq!(s.remote, ("0100007F".into(), 50000));
    assert_eq!((s.state, s.inode), (ESTABLISHED, 424_242));
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real server process (python's http.server) listening on 127.0.0.1.
fn server() -> (Kid, u16) {
    let port = free_port();
    let kid = Kid::spawn(
        "python3",
        &[
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ],
    );
    wait_for(|| TcpStream::connect(("127.0.0.1", port)).is_ok());
    (kid, port)
}

fn count(pid: u32) -> u64 {
    connections(pid).unwrap().connections.unwrap()
}

#[test]
fn connections_count_other_peers_and_not_our_own() {
    let (kid, port) = server();
    assert_eq!(count(kid.pid()), 0);
    // This process's own socket is a probe's, not a client's.
    let ours = TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(count(kid.pid()), 0);
    // A client in another process counts.
    let script = format!(
        "import socket,time; s=socket.create_connection(('127.0.0.1',{port})); time.sleep(30)"
    );
    let _client = Kid::spawn("python3", &["-c", &script]);
    wait_for(|| count(kid.pid()) == 1);
    assert_eq!(count(kid.pid()), 1);
    drop(ours);
}

#[test]
fn a_process_that_listens_nowhere_or_is_gone_is_unknown() {
    let kid = Kid::spawn("sleep", &["30"]);
    let e = connections(kid.pid()).unwrap_err();
    assert_eq!(e, "the process listens on no TCP port");
    let e = probe_activity(None, None, Duration::from_secs(1), None).unwrap_err();
    assert_eq!(e, "connections: no process");
}

#[test]
fn metrics_that_fail_fall_back_to_connections() {
    let (kid, port) = server();
    let source = ActivitySource::Metrics {
        // http.server answers 404 for /metrics.
        url: format!("http://127.0.0.1:{port}/metrics"),
        counter: None,
        gauge: None,
    };
    let r = probe_activity(Some(&source), Some(kid.pid()), Duration::from_secs(2), None).unwrap();
    assert_eq!(r.source, "connections");
    let e = probe_activity(Some(&source), None, Duration::from_secs(2), None).unwrap_err();
    assert!(
        e.starts_with(&format!(
            "metrics http://127.0.0.1:{port}/metrics: HTTP 404"
        )),
        "{e}"
    );
}
