//! The trust checks on real trees in temporary folders under `/tmp` (which
//! is itself root-owned and sticky, so the ancestor rule is exercised on
//! every test): loose modes, foreign owners, symlinks, and a clean tree.
use std::fs::{self, Permissions};
use std::os::unix::fs::{chown, symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::{check_trust, TrustProblem};

fn me() -> u32 {
    nix::unistd::geteuid().as_raw()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, Permissions::from_mode(mode)).expect("chmod");
}

/// `<tmp>/hosts/{gpu-box,web}/services.yaml`: folders 0755, files 0644.
fn clean_tree() -> (TempDir, PathBuf) {
    let tmp = tempfile::Builder::new()
        .tempdir_in("/tmp")
        .expect("temp dir");
    let hosts = tmp.path().join("hosts");
    for node in ["gpu-box", "web"] {
        let dir = hosts.join(node);
        fs::create_dir_all(&dir).expect("mkdir");
        chmod(&dir, 0o755);
        let file = dir.join("services.yaml");
        fs::write(&file, "services: {}\n").expect("write");
        chmod(&file, 0o644);
    }
    chmod(&hosts, 0o755);
    (tmp, hosts)
}

fn problem(path: &Path, problem: &str) -> TrustProblem {
    TrustProblem {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

/// A test that needs root: under `CI=true` (CI runs as root) not being
/// root is a failure, never a silent pass; elsewhere it says why it skips.
pub(crate) fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "this test cannot run here, which CI does not allow: {why}"
    );
    eprintln!("skipped: {why}");
}

#[test]
fn a_clean_tree_has_no_problems() {
    let (_tmp, hosts) = clean_tree();
    assert_eq!(check_trust(&hosts, me()), vec![]);
}

#[test]
fn files_writable_by_group_or_others_are_reported() {
    let (_tmp, hosts) = clean_tree();
    let gpu = hosts.join("gpu-box/services.yaml");
    let web = hosts.join("web/services.yaml");
    chmod(&gpu, 0o664);
    chmod(&web, 0o666);
    assert_eq!(
        check_trust(&hosts, me()),
        vec![
            problem(&gpu, "writable by group or others (mode 0664)"),
            problem(&web, "writable by group or others (mode 0666)"),
        ]
    );
}

#[test]
fn open_folders_are_reported_in_order() {
    let (_tmp, hosts) = clean_tree();
    chmod(&hosts.join("web"), 0o777);
    chmod(&hosts, 0o775);
    assert_eq!(
        check_trust(&hosts, me()),
        vec![
            problem(&hosts, "writable by group or others (mode 0775)"),
            problem(
                &hosts.join("web"),
                "writable by group or others (mode 0777)"
            ),
        ]
    );
}

#[test]
fn a_file_owned_by_another_user_is_reported() {
    if !is_root() {
        return skip("changing a file's owner needs root");
    }
    let (_tmp, hosts) = clean_tree();
    let file = hosts.join("web/services.yaml");
    chown(&file, Some(1000), None).expect("chown");
    assert_eq!(
        check_trust(&hosts, 0),
        vec![problem(&file, "owned by uid 1000, not root")]
    );
    // Running as uid 1000, that user's own file is fine (root's always are).
    assert_eq!(check_trust(&hosts, 1000), vec![]);
    assert_eq!(
        check_trust(&hosts, 1001),
        vec![problem(&file, "owned by uid 1000, not root or uid 1001")]
    );
}

#[test]
fn symlinked_node_folders_and_files_are_reported() {
    let (tmp, hosts) = clean_tree();
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere).expect("mkdir");
    chmod(&elsewhere, 0o755);
    let target = elsewhere.join("services.yaml");
    fs::write(&target, "services: {}\n").expect("write");
    chmod(&target, 0o644);

    let file = hosts.join("web/services.yaml");
    fs::remove_file(&file).expect("rm");
    symlink(&target, &file).expect("symlink");
    let node = hosts.join("linked-node");
    symlink(&elsewhere, &node).expect("symlink");
    // What the loader ignores is not a problem: a symlink to a plain file,
    // a plain file, and a dot-folder, however open.
    symlink(&target, hosts.join("notes.yaml")).expect("symlink");
    fs::write(hosts.join("README"), "x").expect("write");
    chmod(&hosts.join("README"), 0o666);
    fs::create_dir(hosts.join(".git")).expect("mkdir");
    chmod(&hosts.join(".git"), 0o777);

    assert_eq!(
        check_trust(&hosts, me()),
        vec![
            problem(&node, "a symbolic link"),
            problem(&file, "a symbolic link"),
        ]
    );
}

#[test]
fn folders_above_hosts_are_checked() {
    let (tmp, _) = clean_tree();
    let open = tmp.path().join("open");
    let hosts = open.join("hosts");
    fs::create_dir_all(&hosts).expect("mkdir");
    chmod(&hosts, 0o755);
    chmod(&open, 0o777);
    assert_eq!(
        check_trust(&hosts, me()),
        vec![problem(&open, "writable by group or others (mode 0777)")]
    );
    // Reached through a symlink, the folder it resolves to is still found.
    let link = tmp.path().join("link");
    symlink(&hosts, &link).expect("symlink");
    assert_eq!(
        check_trust(&link, me()),
        vec![problem(&open, "writable by group or others (mode 0777)")]
    );
}

#[test]
fn a_sticky_root_owned_ancestor_is_accepted_and_only_that() {
    if !is_root() {
        return skip("a root-owned sticky folder of our own needs root");
    }
    let (tmp, _) = clean_tree();
    let sticky = tmp.path().join("sticky");
    let hosts = sticky.join("hosts");
    fs::create_dir_all(&hosts).expect("mkdir");
    chmod(&hosts, 0o755);
    chmod(&sticky, 0o1777);
    assert_eq!(check_trust(&hosts, 0), vec![]);
    // Sticky but owned by someone else: both rules fail.
    chown(&sticky, Some(1000), None).expect("chown");
    chmod(&sticky, 0o1777);
    assert_eq!(
        check_trust(&hosts, 0),
        vec![
            problem(&sticky, "owned by uid 1000, not root"),
            problem(&sticky, "writable by group or others (mode 1777)"),
        ]
    );
    // Sticky is no excuse for hosts/ itself.
    chown(&sticky, Some(0), None).expect("chown");
    chmod(&hosts, 0o1777);
    assert_eq!(
        check_trust(&hosts, 0),
        vec![problem(&hosts, "writable by group or others (mode 1777)")]
    );
}

#[test]
fn a_missing_hosts_folder_fails_closed() {
    let (tmp, _) = clean_tree();
    let missing = tmp.path().join("nope");
    assert_eq!(
        check_trust(&missing, me()),
        vec![problem(
            &missing,
            "not checkable (no such file or directory)"
        )]
    );
}

#[test]
fn problems_display_with_the_path_in_backticks() {
    let p = problem(
        Path::new("/etc/supervisorctl/hosts/gpu-box/services.yaml"),
        "writable by group or others (mode 0664)",
    );
    assert_eq!(
        p.to_string(),
        "`/etc/supervisorctl/hosts/gpu-box/services.yaml` is writable by group or others (mode 0664)"
    );
}

#[test]
fn an_unreadable_reason_keeps_the_case_of_acronyms() {
    let path = Path::new("/etc/supervisorctl/hosts");
    let eio = std::io::Error::from_raw_os_error(nix::errno::Errno::EIO as i32);
    assert_eq!(
        super::unreadable(path, &eio),
        problem(path, "not checkable (I/O error)")
    );
    let eacces = std::io::Error::from_raw_os_error(nix::errno::Errno::EACCES as i32);
    assert_eq!(
        super::unreadable(path, &eacces),
        problem(path, "not checkable (permission denied)")
    );
}
