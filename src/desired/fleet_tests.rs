//! Tests of `load_fleet` on real folders: node discovery, file-level
//! problems, errors from several files at once, and the fingerprint.
use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::tests::EXAMPLE;
use super::*;

fn write(root: &Path, node: &str, text: &[u8]) {
    fs::create_dir_all(root.join(node)).unwrap();
    fs::write(root.join(node).join("services.yaml"), text).unwrap();
}

fn brief(errors: &[ConfigError], root: &Path) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let file = e
                .file
                .strip_prefix(root)
                .unwrap_or(&e.file)
                .display()
                .to_string();
            format!("{file}:{}:{}: {}", e.line, e.column, e.message)
        })
        .collect()
}

#[test]
fn loads_every_node_in_order_with_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "gpu-box", EXAMPLE.as_bytes());
    write(
        root,
        "db-1",
        b"services:\n  postgres:\n    restart: [systemctl, restart, postgresql]\n",
    );
    write(root, ".git", b"not: a node\n");
    fs::write(root.join("README.md"), "plain files are ignored").unwrap();
    let fleet = load_fleet(root).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(fleet.nodes.keys().collect::<Vec<_>>(), ["db-1", "gpu-box"]);
    assert_eq!(fleet.nodes["db-1"].file, root.join("db-1/services.yaml"));
    assert_eq!(fleet.nodes["gpu-box"].settings.preset, Preset::Aggressive);

    let mut expected = Sha256::new();
    for (node, text) in [
        ("db-1", fs::read(root.join("db-1/services.yaml")).unwrap()),
        ("gpu-box", EXAMPLE.as_bytes().to_vec()),
    ] {
        expected.update(format!("{node}/services.yaml").as_bytes());
        expected.update([0u8]);
        expected.update((text.len() as u64).to_le_bytes());
        expected.update(&text);
    }
    let expected: [u8; 32] = expected.finalize().into();
    assert_eq!(fleet.fingerprint, expected);
    // Same input, same fingerprint; one byte changed, another.
    assert_eq!(load_fleet(root).unwrap().fingerprint, expected);
    write(
        root,
        "db-1",
        b"services:\n  postgres:\n    restart: [systemctl, restart, postgresql] \n",
    );
    assert_ne!(load_fleet(root).unwrap().fingerprint, expected);
}

#[test]
fn two_bad_files_are_both_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "alpha",
        b"services:\n  web:\n    pinned: maybe\n  api:\n    kind: modle\n",
    );
    write(root, "beta", b"supervisor:\n  preset: fast\n");
    write(root, "gamma", b"services: {}\n");
    let errors = load_fleet(root).unwrap_err();
    assert_eq!(
        brief(&errors, root),
        [
            "alpha/services.yaml:3:13: invalid type: string \"maybe\", expected a boolean",
            "alpha/services.yaml:5:11: unknown variant `modle`, expected `model` or `service`",
            "beta/services.yaml:2:11: unknown variant `fast`, expected one of `conservative`, `balanced`, `aggressive`",
        ]
    );
}

#[test]
fn folder_and_file_problems() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Bad_Node", b"services: {}\n");
    fs::create_dir(root.join("empty-node")).unwrap();
    write(
        root,
        "huge",
        &vec![b'#'; usize::try_from(MAX_FILE_BYTES).unwrap() + 1],
    );
    write(root, "latin1", b"services:\n  caf\xe9: {}\n");
    write(root, "ok", b"services: {}\n");
    let errors = load_fleet(root).unwrap_err();
    assert_eq!(
        brief(&errors, root),
        [
            "Bad_Node: invalid node name `Bad_Node`".to_string(),
            "empty-node: node folder `".to_string() + &root.join("empty-node").display().to_string() + "` has no `services.yaml`",
            format!("huge/services.yaml: file is too large ({} bytes; the limit is 1048576 bytes, 1 MiB)", MAX_FILE_BYTES + 1),
            "latin1/services.yaml: file is not valid UTF-8 (invalid byte at offset 15, line 2)".to_string(),
        ]
        .map(|s| s.replacen(": ", ":0:0: ", 1))
    );
    assert_eq!(
        errors[0].hint.as_deref(),
        Some("names are lowercase: `bad_node`")
    );
    assert_eq!(
        errors[0].to_string(),
        format!(
            "{}: invalid node name `Bad_Node`",
            root.join("Bad_Node").display()
        )
    );
    // A file exactly at the limit is read.
    write(
        root,
        "big-ok",
        &vec![b'#'; usize::try_from(MAX_FILE_BYTES).unwrap()],
    );
    assert!(!brief(&load_fleet(root).unwrap_err(), root)
        .iter()
        .any(|e| e.starts_with("big-ok")));
}

#[test]
fn missing_or_empty_hosts_dir() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let errors = load_fleet(&missing).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, errors[0].column), (0, 0));
    assert_eq!(
        errors[0].message,
        format!("hosts directory `{}` does not exist", missing.display())
    );
    fs::create_dir(dir.path().join(".hidden")).unwrap();
    let errors = load_fleet(dir.path()).unwrap_err();
    assert_eq!(
        errors[0].message,
        format!("no nodes in `{}`", dir.path().display())
    );
    assert!(errors[0].hint.as_deref().unwrap().contains("services.yaml"));
}
