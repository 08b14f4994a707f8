//! `DirHandle` against real folders: no symlink followed at any component,
//! and writes that stay with the folder opened, whatever is swapped in.
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use crate::store::dirhandle::DirHandle;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn creates_folders_and_replaces_files_leaving_no_temp_file() {
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("new/out");
    let out = DirHandle::create_or_open(&base).unwrap();
    assert!(base.is_dir());
    let deep = out.create_dirs(Path::new("services/node")).unwrap();
    assert_eq!(deep.path(), base.join("services/node"));
    deep.write_file("web.json", b"first\n").unwrap();
    deep.write_file("web.json", b"second\n").unwrap();
    let file = base.join("services/node/web.json");
    assert_eq!(fs::read(&file).unwrap(), b"second\n");
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    out.write_file_mode("shared.txt", b"x", 0o644).unwrap();
    let mode = fs::metadata(base.join("shared.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    assert_eq!(entries(&base), ["services", "shared.txt"]);
    assert_eq!(entries(&base.join("services/node")), ["web.json"]);
    assert!(out.exists("shared.txt") && !out.exists("missing"));
    assert_eq!(out.owner().unwrap(), nix::unistd::geteuid().as_raw());
    // A symlink above the folder is the operator's: followed.
    let via = t.path().join("via");
    symlink(t.path().join("new"), &via).unwrap();
    DirHandle::create_or_open(&via.join("out"))
        .unwrap()
        .write_file("c", b"")
        .unwrap();
    assert!(base.join("c").is_file());
    fs::remove_file(base.join("c")).unwrap();
    // Opening it again, and an empty path, give the same folder.
    let again = DirHandle::create_or_open(&base).unwrap();
    again
        .create_dirs(Path::new(""))
        .unwrap()
        .write_file("b", b"")
        .unwrap();
    assert!(base.join("b").is_file());
}

#[test]
fn refuses_a_symlink_at_any_component() {
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("out");
    let elsewhere = t.path().join("elsewhere");
    fs::create_dir_all(base.join("steps")).unwrap();
    fs::create_dir(&elsewhere).unwrap();
    symlink(&elsewhere, base.join("steps/00")).unwrap();
    let out = DirHandle::create_or_open(&base).unwrap();
    let e = out.create_dirs(Path::new("steps/00/nodes")).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("steps/00`: is a symbolic link"), "{text}");
    // The folder itself, with or without a trailing slash.
    let link = t.path().join("link");
    symlink(&elsewhere, &link).unwrap();
    for given in [link.clone(), link.join(""), link.join(".")] {
        let e = DirHandle::create_or_open(&given).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{given:?}: {e}");
    }
    // A file where a folder should be; a path that climbs out.
    fs::write(base.join("nodes"), b"").unwrap();
    let e = out.create_dirs(Path::new("nodes")).unwrap_err();
    assert!(e.to_string().contains("not a directory"), "{e}");
    assert!(out.create_dirs(Path::new("../up")).is_err());
    assert!(out.write_file("a/b", b"").is_err());
    assert_eq!(entries(&elsewhere), Vec::<String>::new());
    assert!(!t.path().join("up").exists());
}

#[test]
fn a_symlink_at_the_file_name_is_replaced_not_followed() {
    let t = tempfile::tempdir().unwrap();
    let victim = t.path().join("victim");
    fs::write(&victim, b"keep").unwrap();
    let out = DirHandle::create_or_open(&t.path().join("out")).unwrap();
    symlink(&victim, t.path().join("out/web.json")).unwrap();
    out.write_file("web.json", b"new").unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"keep");
    let written = t.path().join("out/web.json");
    assert!(!fs::symlink_metadata(&written).unwrap().is_symlink());
    assert_eq!(fs::read(&written).unwrap(), b"new");
}

#[test]
fn writes_stay_with_the_open_folder_when_a_symlink_is_swapped_in() {
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("out");
    let moved = t.path().join("out.old");
    let elsewhere = t.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let out = DirHandle::create_or_open(&base).unwrap();
    let step = out.create_dirs(Path::new("steps/00")).unwrap();
    // The hostile user's move: the folder renamed away, a link in its place.
    fs::rename(&base, &moved).unwrap();
    symlink(&elsewhere, &base).unwrap();
    out.create_dirs(Path::new("nodes"))
        .unwrap()
        .write_file("n.json", b"{}")
        .unwrap();
    step.write_file("s.json", b"{}").unwrap();
    out.write_file("scenario.yaml", b"steps: []\n").unwrap();
    assert_eq!(entries(&elsewhere), Vec::<String>::new());
    assert!(moved.join("nodes/n.json").is_file());
    assert!(moved.join("steps/00/s.json").is_file());
    assert!(moved.join("scenario.yaml").is_file());
}
