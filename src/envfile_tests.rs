//! Tests of the environment file: its syntax and its trust rule, on real files.
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

use super::*;

fn pairs(text: &str) -> (Vec<(String, String)>, Vec<String>) {
    parse(Path::new("/etc/supervisorctl/env"), text)
}

#[test]
fn assignments_comments_blank_lines_and_quotes() {
    let text = "# the hosts\n\n  ; another comment\nSUPERVISORCTL_HOSTS=/etc/supervisorctl/hosts\n\
        SUPERVISORCTL_WORLD = \"/var/lib/w orld\"\nSUPERVISORCTL_STATE_DIR='/var/lib/s'\n\
        PATH=/bin\nSUPERVISORCTL_ENV_FILE=/elsewhere\nSUPERVISORCTL_HOSTS=/later\n\
        SUPERVISORCTL_EVENTS_KEEP=\"3\n";
    let (got, warnings) = pairs(text);
    let want: Vec<(String, String)> = [
        ("SUPERVISORCTL_WORLD", "/var/lib/w orld"),
        ("SUPERVISORCTL_STATE_DIR", "/var/lib/s"),
        ("SUPERVISORCTL_HOSTS", "/later"),
        ("SUPERVISORCTL_EVENTS_KEEP", "\"3"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_line_we_cannot_read_is_a_warning_with_file_and_line() {
    let (got, warnings) =
        pairs("SUPERVISORCTL_HOSTS=/h\njust words\nexport SUPERVISORCTL_WORLD=/w\n");
    assert_eq!(got, [("SUPERVISORCTL_HOSTS".to_string(), "/h".to_string())]);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("/etc/supervisorctl/env:2: ignored: not KEY=VALUE (hint:"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with(
            "/etc/supervisorctl/env:3: ignored: `export SUPERVISORCTL_WORLD` is not a variable name"
        ),
        "{warnings:?}"
    );
}

#[test]
fn a_missing_file_is_no_file() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(read(&dir.path().join("env"), true), Ok(None));
}

#[test]
fn a_root_owned_file_is_read_and_a_weak_one_refused_as_root() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("env");
    fs::write(&path, "SUPERVISORCTL_HOSTS=/h\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let root = nix::unistd::geteuid().is_root();
    if root {
        assert_eq!(
            read(&path, true),
            Ok(Some("SUPERVISORCTL_HOSTS=/h\n".into()))
        );
    }
    assert_eq!(
        read(&path, false),
        Ok(Some("SUPERVISORCTL_HOSTS=/h\n".into()))
    );

    fs::set_permissions(&path, fs::Permissions::from_mode(0o664)).unwrap();
    let err = read(&path, true).unwrap_err();
    assert!(
        err.contains("must not be writable by group or others (mode 0664)")
            || err.contains("must be owned by root"),
        "{err}"
    );
    // Not root: nothing to protect beyond what the user can write anyway.
    assert!(read(&path, false).unwrap().is_some());

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    if root {
        let err = read(&path, true).unwrap_err();
        assert!(err.contains("its folder"), "{err}");
        assert!(err.contains("(mode 0777)"), "{err}");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        nix::unistd::chown(&path, Some(nix::unistd::Uid::from_raw(1000)), None).unwrap();
        let err = read(&path, true).unwrap_err();
        assert_eq!(err, "as root, the file must be owned by root, not uid 1000");
    }
}

#[test]
fn a_symbolic_link_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    fs::write(&real, "SUPERVISORCTL_HOSTS=/h\n").unwrap();
    let link = dir.path().join("env");
    symlink(&real, &link).unwrap();
    for root in [true, false] {
        let err = read(&link, root).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
    }
}

#[test]
fn a_folder_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        read(dir.path(), false).unwrap_err(),
        "it is not a regular file"
    );
}
