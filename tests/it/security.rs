//! Running as root, a hosts/ that others could have written is refused (its
//! argv would run as root), unless `--insecure-config` says to go on, in
//! which case each problem is reported as a `config_insecure` event.
use std::os::unix::fs::PermissionsExt;

use super::live_support::*;

#[test]
fn group_writable_services_yaml_is_refused_as_root_unless_overridden() {
    if !nix::unistd::geteuid().is_root() {
        crate::support::skip("the trust check applies only when running as root");
        return;
    }
    let n = Node::new("services:\n  web:\n    restart: [\"true\"]\n");
    let file = n.path("hosts/testnode/services.yaml");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
    let out = n.cli(&["check", "--now", "2026-11-23T12:00:00Z", "--output", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("services.yaml` is writable by group or others (mode 0664)"),
        "{stderr}"
    );
    assert!(stderr.contains("--insecure-config"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing checked");

    let out = n.cli(&[
        "check",
        "--now",
        "2026-11-23T12:00:00Z",
        "--output",
        "json",
        "--insecure-config",
    ]);
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "run_started");
    assert_eq!(events[1]["type"], "config_insecure");
    assert!(events[1]["path"]
        .as_str()
        .unwrap()
        .ends_with("hosts/testnode/services.yaml"));
    assert_eq!(
        events[1]["problem"],
        "writable by group or others (mode 0664)"
    );
}
