//! Health probes against real servers on 127.0.0.1 and real commands.
use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::{closed_port, http_server, Answer};
use crate::desired::Probe;
use crate::probe::{probe_health, ProbeOutcome};

const SHORT: Duration = Duration::from_millis(300);

fn failing(why: &str) -> ProbeOutcome {
    ProbeOutcome::Failing(why.to_string())
}

fn http(addr: std::net::SocketAddr) -> Probe {
    Probe::Http(format!("http://{addr}/health"))
}

#[test]
fn http_2xx_is_up() {
    let addr = http_server(Answer::Status(200));
    assert_eq!(probe_health(&http(addr), SHORT), ProbeOutcome::Up);
    let addr = http_server(Answer::Status(204));
    assert_eq!(probe_health(&http(addr), SHORT), ProbeOutcome::Up);
}

#[test]
fn http_errors_and_redirects_fail_with_their_status() {
    let addr = http_server(Answer::Status(503));
    assert_eq!(probe_health(&http(addr), SHORT), failing("HTTP 503"));
    let addr = http_server(Answer::Status(404));
    assert_eq!(probe_health(&http(addr), SHORT), failing("HTTP 404"));
    let addr = http_server(Answer::Status(302));
    assert_eq!(probe_health(&http(addr), SHORT), failing("HTTP 302"));
}

#[test]
fn http_silence_times_out_in_bounded_time() {
    let addr = http_server(Answer::Silent);
    let started = Instant::now();
    let outcome = probe_health(&http(addr), SHORT);
    assert_eq!(outcome, failing("timed out after 300ms"));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        probe_health(&http(addr), Duration::from_secs(1)),
        failing("timed out after 1s")
    );
}

#[test]
fn http_to_a_closed_port_is_refused() {
    let addr = closed_port();
    assert_eq!(
        probe_health(&http(addr), SHORT),
        failing("connection refused")
    );
}

#[test]
fn http_bad_url_fails_readably() {
    match probe_health(&Probe::Http("not a url".into()), SHORT) {
        ProbeOutcome::Failing(why) => assert!(!why.is_empty()),
        ProbeOutcome::Up => panic!("a bad url cannot be up"),
        ProbeOutcome::Loading(why) | ProbeOutcome::Unknown(why) => {
            panic!("not loading or unknown: {why}")
        }
    }
}

#[test]
fn tcp_connect_is_up_and_a_closed_port_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    assert_eq!(
        probe_health(&Probe::Tcp(addr.to_string()), SHORT),
        ProbeOutcome::Up
    );
    // Names go through the resolver.
    let by_name = format!("localhost:{}", addr.port());
    assert_eq!(probe_health(&Probe::Tcp(by_name), SHORT), ProbeOutcome::Up);

    let closed = closed_port();
    assert_eq!(
        probe_health(&Probe::Tcp(closed.to_string()), SHORT),
        failing("connection refused")
    );
}

#[test]
fn tcp_unresolvable_fails() {
    match probe_health(&Probe::Tcp("no-port-here".into()), SHORT) {
        ProbeOutcome::Failing(why) => assert!(why.contains("no-port-here"), "{why}"),
        ProbeOutcome::Up => panic!("cannot be up"),
        ProbeOutcome::Loading(why) | ProbeOutcome::Unknown(why) => {
            panic!("not loading or unknown: {why}")
        }
    }
}

fn cmd(argv: &[&str]) -> Probe {
    Probe::Command(argv.iter().map(ToString::to_string).collect())
}

#[test]
fn command_exit_status_decides() {
    assert_eq!(probe_health(&cmd(&["true"]), SHORT), ProbeOutcome::Up);
    assert_eq!(probe_health(&cmd(&["false"]), SHORT), failing("exit 1"));
    assert_eq!(
        probe_health(&cmd(&["sh", "-c", "exit 7"]), Duration::from_secs(2)),
        failing("exit 7")
    );
}

#[test]
fn command_is_killed_at_the_timeout() {
    let started = Instant::now();
    let outcome = probe_health(&cmd(&["sleep", "10"]), SHORT);
    assert_eq!(outcome, failing("timed out after 300ms"));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn command_is_not_run_through_a_shell() {
    // With a shell this would be `true`; as argv it is a missing program.
    match probe_health(&cmd(&["true && true"]), SHORT) {
        ProbeOutcome::Failing(why) => {
            assert!(why.starts_with("cannot run `true && true`"), "{why}");
        }
        ProbeOutcome::Up => panic!("ran through a shell"),
        ProbeOutcome::Loading(why) | ProbeOutcome::Unknown(why) => {
            panic!("not loading or unknown: {why}")
        }
    }
    assert_eq!(probe_health(&cmd(&[]), SHORT), failing("empty command"));
}

/// llama.cpp's answer while it loads a model (its `/health` and completion
/// endpoints, verbatim).
const LLAMA_LOADING: &str =
    r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#;

#[test]
fn llama_cpp_loading_answer_is_loading_and_any_other_503_is_failing() {
    use crate::probe::health::probe_health_full;
    let addr = http_server(Answer::Body(503, LLAMA_LOADING));
    assert_eq!(
        probe_health_full(&http(addr), SHORT, None, None),
        ProbeOutcome::Loading("HTTP 503: loading".into())
    );
    let inference = Probe::Inference {
        url: format!("http://{addr}/v1/completions"),
        model: None,
        timeout: None,
    };
    assert_eq!(
        probe_health_full(&inference, SHORT, None, None),
        ProbeOutcome::Loading("inference HTTP 503: loading".into())
    );
    let addr = http_server(Answer::Body(503, r#"{"error":"overloaded"}"#));
    assert_eq!(
        probe_health_full(&http(addr), SHORT, None, None),
        failing("HTTP 503")
    );
}

#[test]
fn a_declared_loading_answer_is_loading() {
    use crate::desired::LoadingAnswer;
    use crate::probe::health::probe_health_full;
    let addr = http_server(Answer::Body(425, "Model LOADING, please wait"));
    let declared = LoadingAnswer {
        status: 425,
        body: Some("loading".into()),
    };
    assert_eq!(
        probe_health_full(&http(addr), SHORT, None, Some(&declared)),
        ProbeOutcome::Loading("HTTP 425: loading".into())
    );
    let other = LoadingAnswer {
        status: 425,
        body: Some("warming".into()),
    };
    assert_eq!(
        probe_health_full(&http(addr), SHORT, None, Some(&other)),
        failing("HTTP 425")
    );
    let any_body = LoadingAnswer {
        status: 425,
        body: None,
    };
    assert!(matches!(
        probe_health_full(&http(addr), SHORT, None, Some(&any_body)),
        ProbeOutcome::Loading(_)
    ));
}
