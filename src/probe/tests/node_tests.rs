//! Whole-node probes: which services get a health probe, that the probes
//! run side by side, and a timing of a 50-service node (run by hand).
use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{closed_port, http_server, node, service, with_probe, with_process, Answer, Kid};
use crate::desired::{Probe, ProcessMatch};
use crate::probe::{probe_node, ProbeOptions, ProbeOutcome, ProcessState};

fn no_gpu() -> ProbeOptions {
    ProbeOptions {
        nvidia_smi: "/nonexistent/nvidia-smi".into(),
        use_nvml: false,
        ..ProbeOptions::default()
    }
}

#[test]
fn health_is_probed_only_for_live_or_unconfigured_processes() {
    let up = http_server(Answer::Status(200));
    let url = Probe::Http(format!("http://{up}/"));
    let dir = tempfile::tempdir().expect("tempdir");
    let kid = Kid::spawn("sleep", &["30"]);
    let live_pid = dir.path().join("live.pid");
    std::fs::write(&live_pid, kid.pid().to_string()).expect("write");
    let t = Duration::from_secs(2);

    let n = node(vec![
        with_probe(
            with_process(service("alive"), ProcessMatch::Pidfile(live_pid)),
            url.clone(),
            t,
        ),
        with_probe(
            with_process(
                service("dead"),
                ProcessMatch::Pidfile(dir.path().join("none.pid")),
            ),
            url.clone(),
            t,
        ),
        with_probe(service("unconfigured"), url, t),
        with_probe(service("refused"), Probe::Tcp(closed_port().to_string()), t),
        service("bare"),
    ]);
    let live = probe_node(&n, &HashMap::new(), &no_gpu());

    assert!(matches!(
        live.services["alive"].process,
        ProcessState::Found(_)
    ));
    assert_eq!(live.services["alive"].health, Some(ProbeOutcome::Up));
    assert_eq!(live.services["dead"].process, ProcessState::NotFound);
    assert_eq!(live.services["dead"].health, None);
    assert_eq!(live.services["unconfigured"].health, Some(ProbeOutcome::Up));
    assert_eq!(
        live.services["refused"].health,
        Some(ProbeOutcome::Failing("connection refused".into()))
    );
    assert_eq!(live.services["bare"].process, ProcessState::NotConfigured);
    assert_eq!(live.services["bare"].health, None);
    assert_eq!(live.services.len(), 5);
    let mem = live.memory.expect("meminfo");
    assert!(mem.total_bytes > mem.used_bytes);
}

#[test]
fn forty_silent_endpoints_take_about_one_timeout() {
    let silent = http_server(Answer::Silent);
    let services = (0..40)
        .map(|i| {
            with_probe(
                service(&format!("svc-{i:02}")),
                Probe::Http(format!("http://{silent}/health")),
                Duration::from_millis(300),
            )
        })
        .collect();
    let started = Instant::now();
    let live = probe_node(&node(services), &HashMap::new(), &no_gpu());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    for s in live.services.values() {
        assert_eq!(
            s.health,
            Some(ProbeOutcome::Failing("timed out after 300ms".into()))
        );
    }
}

/// Timing of a 50-service node, printed rather than asserted:
/// `cargo test --lib probe::tests::node_tests::timing -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn timing_of_fifty_services() {
    let up = http_server(Answer::Status(200));
    let silent = http_server(Answer::Silent);
    let dir = tempfile::tempdir().expect("tempdir");
    let kid = Kid::spawn("sleep", &["30"]);
    let pidfile = dir.path().join("svc.pid");
    std::fs::write(&pidfile, kid.pid().to_string()).expect("write");

    let build = |probe: &dyn Fn(usize) -> Probe, pm: &dyn Fn(usize) -> Option<ProcessMatch>| {
        (0..50)
            .map(|i| {
                let mut s = with_probe(
                    service(&format!("svc-{i:02}")),
                    probe(i),
                    Duration::from_secs(2),
                );
                s.process = pm(i);
                s
            })
            .collect::<Vec<_>>()
    };
    let cases: Vec<(&str, Vec<_>)> = vec![
        (
            "50 http 200, pidfiles",
            build(&|_| Probe::Http(format!("http://{up}/")), &|_| {
                Some(ProcessMatch::Pidfile(pidfile.clone()))
            }),
        ),
        (
            "50 mixed http/tcp/command, cmdline match",
            build(
                &|i| match i % 3 {
                    0 => Probe::Http(format!("http://{up}/")),
                    1 => Probe::Tcp(up.to_string()),
                    _ => Probe::Command(vec!["true".into()]),
                },
                &|_| Some(ProcessMatch::CmdlineContains("sleep 30".into())),
            ),
        ),
        (
            "50 http silent, 2s timeout",
            build(&|_| Probe::Http(format!("http://{silent}/")), &|_| None),
        ),
    ];
    for (label, services) in cases {
        let n = node(services);
        for max_parallel in [16, 64] {
            let opts = ProbeOptions {
                max_parallel,
                ..ProbeOptions::default()
            };
            let started = Instant::now();
            let _ = probe_node(&n, &HashMap::new(), &opts);
            eprintln!(
                "{label}, max_parallel {max_parallel}: {:?}",
                started.elapsed()
            );
        }
    }
}
