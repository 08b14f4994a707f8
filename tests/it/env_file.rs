//! The environment file (`/etc/supervisorctl/env`, here a temporary one
//! named by `SUPERVISORCTL_ENV_FILE`): a command run with no `--hosts` or
//! `--world` finds the folders it names; a flag and a variable each win
//! over it; as root a file others may write is ignored with a warning.
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{copy_tree, repo_root, Run};

const NOW: &str = "2026-11-23T12:00:00Z";

/// A temporary folder holding hosts/, world/ and `env` naming both.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo_root().join("hosts"), &dir.path().join("hosts"));
    copy_tree(
        &repo_root().join("world-fixtures/sample/world"),
        &dir.path().join("world"),
    );
    let env = format!(
        "# written by the test\n\nSUPERVISORCTL_HOSTS=\"{}\"\nSUPERVISORCTL_WORLD={}\nPATH=/nowhere\n",
        dir.path().join("hosts").display(),
        dir.path().join("world").display()
    );
    fs::write(dir.path().join("env"), env).unwrap();
    fs::set_permissions(dir.path().join("env"), fs::Permissions::from_mode(0o644)).unwrap();
    dir
}

/// The events of a run, `duration_ms` (the one field `--now` leaves to
/// the clock) left out.
fn timeless(stdout: &str) -> Vec<serde_json::Value> {
    let mut events = crate::support::parse_json_lines(stdout).expect("JSON lines");
    for e in &mut events {
        e.as_object_mut().expect("object").remove("duration_ms");
    }
    events
}

fn check(env_file: &Path) -> Run {
    Run::new("check")
        .now(NOW)
        .output_json()
        .env("SUPERVISORCTL_ENV_FILE", env_file)
}

#[test]
fn a_command_with_no_hosts_flag_finds_the_folders_the_file_names() {
    let dir = setup();
    let out = check(&dir.path().join("env")).run();
    assert!(matches!(out.code, 0 | 2 | 3), "{}", out.describe());
    assert!(out.stderr.is_empty(), "{}", out.describe());
    let explicit = Run::new("check")
        .now(NOW)
        .output_json()
        .hosts(dir.path().join("hosts"))
        .world(dir.path().join("world"))
        .run();
    assert_eq!(out.code, explicit.code, "{}", explicit.describe());
    assert_eq!(timeless(&out.stdout), timeless(&explicit.stdout));
    assert!(out.stdout.contains("\"gpu-box\""), "{}", out.describe());
}

#[test]
fn a_flag_and_a_variable_each_win_over_the_file() {
    let dir = setup();
    let env = dir.path().join("env");
    let flag = check(&env).hosts("/nonexistent/flag-hosts").run();
    assert_eq!(flag.code, 1, "{}", flag.describe());
    assert!(
        flag.stderr.contains("/nonexistent/flag-hosts"),
        "{}",
        flag.describe()
    );
    let var = check(&env)
        .env("SUPERVISORCTL_WORLD", "/nonexistent/var-world")
        .run();
    // The world the variable names is missing: the run goes on with
    // nothing observed, unlike with the file's world.
    let with_file = check(&env).run();
    assert_ne!(var.stdout, with_file.stdout, "{}", var.describe());
    let var_hosts = check(&env)
        .env("SUPERVISORCTL_HOSTS", "/nonexistent/var-hosts")
        .run();
    assert_eq!(var_hosts.code, 1, "{}", var_hosts.describe());
    assert!(
        var_hosts.stderr.contains("/nonexistent/var-hosts"),
        "{}",
        var_hosts.describe()
    );
}

#[test]
fn a_missing_file_is_silently_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(&dir.path().join("no-such-env")).run();
    assert_eq!(out.code, 1, "{}", out.describe());
    assert!(
        out.stderr
            .contains("hosts directory `hosts` does not exist"),
        "{}",
        out.describe()
    );
    assert!(!out.stderr.contains("warning"), "{}", out.describe());
}

#[test]
fn as_root_a_file_others_may_write_is_ignored_with_a_warning() {
    if !nix::unistd::geteuid().is_root() {
        // Not root, the file is trusted like any file of the user's.
        let dir = setup();
        fs::set_permissions(dir.path().join("env"), fs::Permissions::from_mode(0o666)).unwrap();
        let out = check(&dir.path().join("env")).run();
        assert!(matches!(out.code, 0 | 2 | 3), "{}", out.describe());
        return;
    }
    let dir = setup();
    let env = dir.path().join("env");
    fs::set_permissions(&env, fs::Permissions::from_mode(0o666)).unwrap();
    let out = check(&env).run();
    assert_eq!(out.code, 1, "{}", out.describe());
    assert!(
        out.stderr.contains(&format!(
            "warning: environment file `{}` ignored: as root, the file must not be writable by group or others (mode 0666)",
            env.display()
        )),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr
            .contains("hosts directory `hosts` does not exist"),
        "{}",
        out.describe()
    );
}

/// The shipped example (`systemd/env`, installed as `/etc/supervisorctl/env`)
/// is read without a warning: a hand-run command looks where the units do.
#[test]
fn the_shipped_example_names_the_units_folders_for_a_hand_run_command() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    fs::copy(repo_root().join("systemd/env"), &env).unwrap();
    fs::set_permissions(&env, fs::Permissions::from_mode(0o644)).unwrap();
    let out = Run::new("validate")
        .env("SUPERVISORCTL_ENV_FILE", &env)
        .run();
    assert!(!out.stderr.contains("warning"), "{}", out.describe());
    if !Path::new("/etc/supervisorctl/hosts").exists() {
        assert!(
            out.stderr
                .contains("hosts directory `/etc/supervisorctl/hosts` does not exist"),
            "{}",
            out.describe()
        );
    }
}
