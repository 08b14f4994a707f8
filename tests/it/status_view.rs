//! `status` as an operator reads it: as of when, pins and holds with their
//! reason, no backoff that is already over.
use crate::live_support::{write_file, Node, NODE};

#[test]
fn status_shows_holds_pins_and_only_current_backoffs() {
    let n = Node::new("");
    write_file(
        &n.path(&format!("hosts/{NODE}/services.yaml")),
        &format!(
            "services:\n  web:\n    process:\n      pidfile: {}\n    restart: [\"true\"]\n  db:\n    restart: [\"true\"]\n",
            n.path("none.pid").display()
        ),
    );
    // A restart long ago: its backoff is over.
    n.reconcile("2020-01-01T00:00:00Z", &[]);
    assert!(n
        .cli(&["hold", "db", "--reason", "migration"])
        .status
        .success());
    assert!(n.cli(&["pin", "web"]).status.success());
    let out = n.cli(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("as of 2020-01-01T00:00:00Z"), "{text}");
    assert!(text.contains("held since"), "{text}");
    assert!(text.contains(": migration"), "{text}");
    assert!(text.contains("pinned"), "{text}");
    assert!(
        !text.contains("backoff until"),
        "a backoff from 2020 is over: {text}"
    );
    let out = n.cli(&["status", "--output", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#""reason":"migration""#), "{text}");
    assert!(text.contains(r#""pinned":true"#), "{text}");
}
