//! Services removed from hosts/ (SPEC §9): what this tool spawned for them
//! is stopped, with `service_removed`; what it did not spawn is left alone.
use std::fmt::Write as _;

use crate::live_support::{alive, wait_until, write_file, Node, NODE};

const T0: &str = "2026-11-23T12:00:00Z";

#[test]
fn a_removed_spawned_service_is_stopped_and_another_left_alone() {
    let mut n = Node::new("");
    let (other, pidfile) = n.sleep_with_pidfile("other", "3600.66");
    let yaml = |with: bool| {
        let mut y = String::from("services:\n  keep:\n    restart: [\"true\"]\n");
        if with {
            y.push_str("  sp:\n    spawn: [sleep, \"3600.55\"]\n");
            let _ = write!(
                y,
                "  other:\n    process:\n      pidfile: {}\n    restart: [\"true\"]\n",
                pidfile.display()
            );
        }
        y
    };
    let file = n.path(&format!("hosts/{NODE}/services.yaml"));
    write_file(&file, &yaml(true));
    n.reconcile(T0, &[]);
    let sp = n.spawned_pid("sp").expect("sp was spawned");
    assert!(alive(sp));

    write_file(&file, &yaml(false));
    // A dry run says what it would do and keeps it for the next run.
    let r = n.reconcile("2026-11-23T12:01:00Z", &["--dry-run"]);
    let ev = r.of("service_removed", "sp");
    assert_eq!(ev.len(), 1, "{:?}", r.events);
    assert_eq!(ev[0]["outcome"], "skipped", "{}", ev[0]);
    assert!(alive(sp));
    // What this tool did not start is left alone, and said so once.
    let ev = r.of("service_removed", "other");
    assert_eq!(ev.len(), 1, "{:?}", r.events);
    assert_eq!(ev[0]["outcome"], "left_alone", "{}", ev[0]);

    let r = n.reconcile("2026-11-23T12:02:00Z", &[]);
    let ev = r.of("service_removed", "sp");
    assert_eq!(ev.len(), 1, "{:?}", r.events);
    assert_eq!(ev[0]["outcome"], "stopped", "{}", ev[0]);
    assert_eq!(ev[0]["pid"], sp);
    assert!(wait_until(|| !alive(sp)), "the removed service still runs");
    assert!(
        !n.state().join("pids/sp.pid").exists(),
        "its pid file is gone"
    );
    assert!(r.of("service_removed", "other").is_empty());
    assert!(
        alive(other),
        "a process this tool did not start is left alone"
    );

    // Said once: the next run has nothing more to say about either.
    let r = n.reconcile("2026-11-23T12:03:00Z", &[]);
    assert!(
        r.events.iter().all(|e| e["type"] != "service_removed"),
        "{:?}",
        r.events
    );
}

/// Issue: a checkpoint entry with `spawned: true` and the identity of any
/// process got that process sent SIGTERM as `service_removed`. The pid file
/// this tool wrote when it spawned the service must name it too.
#[test]
fn a_checkpoint_claiming_a_spawn_without_its_pid_file_stops_nothing() {
    let mut n = Node::new("services:\n  keep:\n    restart: [\"true\"]\n");
    n.reconcile(T0, &[]);
    let victim = n.sleep("3600.67");
    let stat = std::fs::read_to_string(format!("/proc/{victim}/stat")).unwrap();
    let ticks: u64 = stat
        .rsplit_once(") ")
        .unwrap()
        .1
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    let cp_path = n.state().join("checkpoint.json");
    let mut cp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cp_path).unwrap()).unwrap();
    cp["services"][format!("{NODE}/ghost")] = serde_json::json!({
        "health": "healthy", "spawned": true,
        "process": {"pid": victim, "start_ticks": ticks}
    });
    std::fs::write(&cp_path, cp.to_string()).unwrap();
    let r = n.reconcile("2026-11-23T12:01:00Z", &[]);
    let ev = r.of("service_removed", "ghost");
    assert_eq!(ev.len(), 1, "{:?}", r.events);
    assert_ne!(ev[0]["outcome"], "stopped", "{}", ev[0]);
    assert!(
        ev[0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("no process this tool spawned"),
        "{}",
        ev[0]
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(alive(victim), "an undeclared process was signalled");
}
