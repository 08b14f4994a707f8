//! `fallback: node/service` (SPEC §12): a dead model's traffic goes to a
//! service of another node, and only while the world shows that one healthy.
use crate::live_support::write_file;

fn fleet(dir: &std::path::Path) {
    write_file(
        &dir.join("hosts/gpu/services.yaml"),
        &format!(
            "services:\n  llm:\n    kind: model\n    process:\n      pidfile: {}\n    fallback: edge-01/small\n",
            dir.join("none.pid").display()
        ),
    );
    write_file(
        &dir.join("hosts/edge-01/services.yaml"),
        "services:\n  small:\n    kind: model\n",
    );
    for node in ["gpu", "edge-01"] {
        write_file(
            &dir.join(format!("world/nodes/{node}.json")),
            r#"{"status":"online","last_seen":"2026-11-23T12:00:00Z"}"#,
        );
    }
}

fn small(dir: &std::path::Path, status: &str) {
    write_file(
        &dir.join("world/services/edge-01/small.json"),
        &format!(r#"{{"status":"{status}","observed_at":"2026-11-23T12:00:00Z"}}"#),
    );
}

fn reconcile(dir: &std::path::Path, now: &str) -> String {
    let out = crate::support::Run::bare()
        .command()
        .arg("--hosts")
        .arg(dir.join("hosts"))
        .arg("--world")
        .arg(dir.join("world"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args([
            "--node",
            "gpu",
            "--now",
            now,
            "reconcile",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn published(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("state/fallbacks.json")).unwrap_or_default()
}

#[test]
fn a_fallback_on_another_node_is_used_only_while_it_is_healthy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fleet(dir);
    // The other node's service is failed: not activated, and said why.
    small(dir, "failed");
    let out = reconcile(dir, "2026-11-23T12:00:10Z");
    assert!(!out.contains("\"action\":\"activate_fallback\""), "{out}");
    assert!(
        out.contains("fallback `edge-01/small` is not healthy in the world"),
        "{out}"
    );
    // Healthy: activated, naming node/service.
    small(dir, "ok");
    let out = reconcile(dir, "2026-11-23T12:00:20Z");
    assert!(out.contains("\"action\":\"activate_fallback\""), "{out}");
    assert!(
        published(dir).contains("\"to\": \"edge-01/small\""),
        "{}",
        published(dir)
    );
    // It fails in turn: deactivated.
    write_file(
        &dir.join("world/services/edge-01/small.json"),
        r#"{"status":"failed","observed_at":"2026-11-23T12:00:25Z"}"#,
    );
    let out = reconcile(dir, "2026-11-23T12:00:30Z");
    assert!(out.contains("\"action\":\"deactivate_fallback\""), "{out}");
    assert!(!published(dir).contains("gpu/llm"), "{}", published(dir));
}

#[test]
fn a_malformed_remote_fallback_is_a_config_error() {
    let tmp = tempfile::tempdir().unwrap();
    write_file(
        &tmp.path().join("hosts/gpu/services.yaml"),
        "services:\n  llm:\n    fallback: Edge/x\n",
    );
    let out = crate::support::Run::new("validate")
        .hosts(tmp.path().join("hosts"))
        .command()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("expected `service` or `node/service`"),
        "{stderr}"
    );
}
