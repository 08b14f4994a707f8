//! Reading through opened descriptors: small files a config names (a FIFO
//! never blocks, `/dev/zero` never fills memory, as root only root's file
//! is trusted) and hosts/ reached through links.
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use super::*;

#[test]
fn a_fifo_is_refused_at_once_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("ca.pem");
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
    let started = Instant::now();
    let e = read_small_file(&fifo, 1 << 20).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(e, "not a regular file");
}

#[test]
fn a_link_to_dev_zero_is_refused_and_a_large_file_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("secret");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    assert_eq!(
        read_small_file(&link, 1 << 20).unwrap_err(),
        "not a regular file"
    );
    // Our own link to a regular file is followed (as Debian's certificate
    // links, root's, are).
    let real = dir.path().join("real.pem");
    std::fs::write(&real, b"pem").unwrap();
    let ours = dir.path().join("ours.pem");
    std::os::unix::fs::symlink(&real, &ours).unwrap();
    assert_eq!(read_small_file(&ours, 64).unwrap(), b"pem");
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'x'; 2048]).unwrap();
    assert_eq!(
        read_small_file(&big, 1024).unwrap_err(),
        "larger than 1024 bytes"
    );
    std::fs::write(&big, b"key\n").unwrap();
    assert_eq!(read_small_file(&big, 1024).unwrap(), b"key\n");
}

#[test]
fn as_root_a_file_of_another_user_or_writable_by_others_is_refused() {
    if !nix::unistd::geteuid().is_root() {
        return crate::desired::trust::tests::skip("the owner rule applies only to root");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, b"key").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(
        read_small_file(&file, 64).unwrap_err(),
        "writable by group or others (mode 0666)"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A link of another user to root's own file is refused, naming it.
    let link = dir.path().join("theirs");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    nix::unistd::fchownat(
        nix::fcntl::AT_FDCWD,
        &link,
        Some(nix::unistd::Uid::from_raw(65534)),
        None,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .unwrap();
    let e = read_small_file(&link, 64).unwrap_err();
    assert!(e.contains("is a symbolic link owned by uid 65534"), "{e}");
    nix::unistd::chown(&file, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    assert!(read_small_file(&file, 64)
        .unwrap_err()
        .starts_with("owned by uid 65534, not root"));
}

#[test]
fn a_folder_reached_through_our_own_link_is_read_and_noted() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir_all(real.join("n1")).unwrap();
    std::fs::write(real.join("n1/services.yaml"), "services: {}\n").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("real", &link).unwrap();
    let read = HostsRead::open(&link, |_| true);
    assert!(read.root.is_ok(), "{:?}", read.root);
    assert_eq!(read.nodes.len(), 1);
    assert!(
        matches!(&read.nodes[0].file, FileRead::Read { bytes, .. } if bytes == b"services: {}\n")
    );
    // The folder holding the link was traversed and is checked.
    assert!(read.ancestors.iter().any(|(p, _)| p == dir.path()));
    // A link nobody trusts is refused, naming it.
    let refused = HostsRead::open(&link, |_| false);
    assert!(
        matches!(&refused.root, Err(OpenError::UntrustedLink { path, .. }) if *path == link),
        "{:?}",
        refused.root
    );
}
