//! Values that parse but cannot be meant: a relative pidfile, an empty list
//! of maintenance days, a duration beyond a year. Each is an error at its
//! own line and column, with a hint.
use super::tests::{load, single};

#[test]
fn a_relative_pidfile_is_an_error_at_its_value() {
    let (e, hint) = single("services:\n  web:\n    process:\n      pidfile: run/web.pid\n");
    assert_eq!(
        e,
        "4:16: `pidfile` must be an absolute path, found `run/web.pid`"
    );
    assert_eq!(
        hint.as_deref(),
        Some("use an absolute path such as /run/web.pid")
    );
    let (e, hint) = single("services:\n  db:\n    process: {pidfile: ./db.pid}\n");
    assert_eq!(
        e,
        "3:24: `pidfile` must be an absolute path, found `./db.pid`"
    );
    assert_eq!(
        hint.as_deref(),
        Some("use an absolute path such as /run/db.pid")
    );
    let (_, hint) = single("services:\n  db:\n    process:\n      pidfile: db\n");
    assert_eq!(
        hint.as_deref(),
        Some("use an absolute path such as /run/<service>.pid")
    );
    let node = load("services:\n  web:\n    process:\n      pidfile: /run/web.pid\n").unwrap();
    assert!(node.services["web"].process.is_some());
}

#[test]
fn empty_maintenance_days_are_an_error() {
    let (e, hint) = single(
        "supervisor:\n  maintenance:\n    - days: []\n      from: \"01:00\"\n      to: \"02:00\"\n",
    );
    assert_eq!(e, "3:13: `days` is empty");
    assert_eq!(
        hint.as_deref(),
        Some("omit `days` for a window on every day, or list its days, e.g. [sat, sun]")
    );
    let every =
        load("supervisor:\n  maintenance:\n    - from: \"01:00\"\n      to: \"02:00\"\n").unwrap();
    assert!(every.settings.maintenance[0].days.is_empty(), "every day");
}

#[test]
fn durations_are_at_most_a_year() {
    let (e, hint) = single("services:\n  web:\n    idle_timeout: 100000d\n");
    assert_eq!(
        e,
        "3:19: invalid duration `100000d`: too large, at most 365d"
    );
    assert_eq!(hint, None);
    let (e, _) = single("supervisor:\n  node_offline_after: 365d1ms\n");
    assert!(
        e.starts_with("2:23: invalid duration `365d1ms`: too large"),
        "{e}"
    );
    let node = load("supervisor:\n  node_offline_after: 365d\n").unwrap();
    assert_eq!(
        node.settings.node_offline_after,
        std::time::Duration::from_hours(365 * 24)
    );
}
