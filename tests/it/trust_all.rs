//! Every command that reads hosts/ loads it the same way: as root, a
//! hosts/ that others could have written is refused by `validate`,
//! `observe` and the read-only commands exactly as by `check` and
//! `reconcile` (SPEC §9 "Trust"), unless `--insecure-config` says to go on.
use std::os::unix::fs::PermissionsExt;

use super::live_support::*;

const NOW: &str = "2026-11-23T12:00:00Z";

fn loose_node() -> Option<Node> {
    if !nix::unistd::geteuid().is_root() {
        crate::support::skip("the trust check applies only when running as root");
        return None;
    }
    let n = Node::new("");
    // The health command leaves a mark if anything runs it.
    let mark = n.path("ran");
    let file = n.path("hosts/testnode/services.yaml");
    let yaml = format!(
        "services:\n  web:\n    restart: [\"true\"]\n    health:\n      command: [\"touch\", \"{}\"]\n",
        mark.display()
    );
    std::fs::write(&file, yaml).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
    Some(n)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn validate_refuses_what_check_refuses() {
    let Some(n) = loose_node() else { return };
    let check = n.cli(&["check", "--now", NOW]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let validate = n.cli(&["validate"]);
    assert_eq!(validate.status.code(), Some(1), "{}", stderr(&validate));
    assert_eq!(stderr(&validate), stderr(&check), "the same message");
    assert!(
        stderr(&validate).contains("writable by group or others (mode 0664)"),
        "{}",
        stderr(&validate)
    );
    assert!(validate.stdout.is_empty(), "no `ok`");

    let validate = n.cli(&["validate", "--insecure-config"]);
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    assert!(
        stderr(&validate).contains("writable by group or others (mode 0664)"),
        "each problem is still reported\n{}",
        stderr(&validate)
    );
}

#[test]
fn observe_and_the_read_only_commands_refuse_a_loose_hosts() {
    let Some(n) = loose_node() else { return };
    let out_dir = n.path("observed");
    let out = n.cli(&["observe", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("writable by group or others"),
        "{}",
        stderr(&out)
    );
    assert!(!out_dir.exists(), "nothing written");
    assert!(!n.path("ran").exists(), "no health command ran");

    for cmd in [
        &["diff"][..],
        &["status"],
        &["policies"],
        &["forecast"],
        &["pin", "web"],
        &["watch", "--dry-run", "--no-probe"],
    ] {
        let out = n.cli(cmd);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("writable by group or others"),
            "{cmd:?}: {}",
            stderr(&out)
        );
    }
    assert!(
        !n.state().join("overrides.json").exists(),
        "pin changed nothing"
    );
}

/// Issue: a link owned by another user (in `/tmp`, say) pointing at a
/// root-owned fleet passed `validate`, and by flipping it between a
/// trusted fleet and their own between the check and the load, that user's
/// `restart` ran as root. A path to hosts/ now follows only root's and the
/// caller's links, resolved once, component by component, and the loader
/// reads through the very descriptors the check judged.
#[test]
fn a_link_to_hosts_owned_by_another_user_is_refused_and_a_root_link_is_followed() {
    if !nix::unistd::geteuid().is_root() {
        return crate::support::skip("links of other users matter only to root");
    }
    let n = Node::new("services:\n  web:\n    restart: [\"true\"]\n");
    let hosts = n.path("hosts");
    let link = n.path("fleet-link");
    std::os::unix::fs::symlink(&hosts, &link).unwrap();
    // Root's own link: followed.
    let via = |args: &[&str]| {
        crate::support::Run::bare()
            .hosts(&link)
            .world(n.path("world"))
            .state(n.state())
            .node(NODE)
            .args(args)
            .command()
            .output()
            .expect("run binary")
    };
    let ok = via(&["validate"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    // The same link, owned by `nobody`: refused, naming the link.
    let nobody = nix::unistd::Uid::from_raw(65534);
    nix::unistd::fchownat(
        nix::fcntl::AT_FDCWD,
        &link,
        Some(nobody),
        None,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .unwrap();
    for cmd in [
        &["validate"][..],
        &["check", "--now", NOW],
        &["reconcile", "--dry-run", "--now", NOW],
    ] {
        let out = via(cmd);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "`{}` is a symbolic link owned by uid 65534",
                link.display()
            )),
            "{cmd:?}: {}",
            stderr(&out)
        );
    }
    // `--insecure-config` does not follow it either: it is not a
    // permission to relax but a path that is not the caller's.
    let out = via(&["--insecure-config", "validate"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}
