use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::store::atomic::{temp_path, write_atomic, write_with_names};

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn replaces_content_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.json");
    write_atomic(&path, b"first\n").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"first\n");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    write_atomic(&path, b"second, longer\n").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second, longer\n");
    write_atomic(&path, b"").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"");
    assert_eq!(entries(dir.path()), ["checkpoint.json"]);
}

#[test]
fn never_writes_through_a_symlinked_temp_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let victim = dir.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    let planted = temp_path(&path, 1, 0).unwrap();
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let free = temp_path(&path, 1, 1).unwrap();

    // The planted name is skipped; the next one is used.
    write_with_names(&path, b"new", 0o600, [planted.clone(), free]).unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert_eq!(fs::read(&path).unwrap(), b"new");
    assert!(fs::symlink_metadata(&planted)
        .unwrap()
        .file_type()
        .is_symlink());

    // Only planted names: refused, nothing touched.
    let err = write_with_names(&path, b"newer", 0o600, [planted]).unwrap_err();
    assert!(
        err.to_string().contains("every temporary name is taken"),
        "{err}"
    );
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert_eq!(fs::read(&path).unwrap(), b"new");
}

#[test]
fn failure_leaves_the_old_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.json");
    write_atomic(&path, b"old").unwrap();
    // A folder where the file should be: the rename fails.
    let blocked = dir.path().join("blocked");
    fs::create_dir_all(blocked.join("inside")).unwrap();
    let err = write_atomic(&blocked, b"data").unwrap_err();
    assert!(err.to_string().starts_with("cannot replace `"), "{err}");
    assert_eq!(entries(dir.path()), ["blocked", "x.json"]);
    assert_eq!(fs::read(&path).unwrap(), b"old");
}
