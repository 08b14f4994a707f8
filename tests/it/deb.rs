//! The Debian package (`[package.metadata.deb]`, built by cargo-deb as
//! `just deb` does, from the binary under test): `dpkg -i` installs it,
//! the installed binary runs, `systemd-analyze verify` accepts the
//! installed units, `man -w` finds the page, and `dpkg -r` removes it.
//! Root only (it installs into /usr); a machine that has Debian's
//! `supervisor` (which ships /usr/bin/supervisorctl: the package conflicts
//! with it) or an installed `supervisorctl` package of its own is left
//! alone. Everything it installs is purged at the end, however it ends.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{repo_root, skip};

fn on_path(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

fn cargo_deb() -> Option<PathBuf> {
    on_path("cargo-deb").or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        Some(home.join("bin/cargo-deb")).filter(|p| p.is_file())
    })
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// The folders the package's postinst makes, deepest first.
const MADE: [&str; 5] = [
    "/etc/supervisorctl/hosts",
    "/etc/supervisorctl",
    "/var/lib/supervisorctl-observer/world",
    "/var/lib/supervisorctl-observer",
    "/var/lib/supervisorctl",
];

/// Purges the package when the test ends, however it ends, and removes
/// the (empty) folders its postinst made that were not there before.
struct Purge(Vec<&'static str>);

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg")
            .args(["--purge", "supervisorctl"])
            .output();
        for dir in &self.0 {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// What `just deb` generates into `<target>/dist/` (from the binary
/// under test): completions, the gzipped man page, the schema, the units
/// with the binary at /usr/bin.
fn generate(target: &Path) {
    let bin = env!("CARGO_BIN_EXE_supervisorctl");
    let dist = target.join("dist");
    let _ = std::fs::remove_dir_all(dist.join("deb"));
    std::fs::create_dir_all(dist.join("completions")).unwrap();
    std::fs::create_dir_all(dist.join("deb/systemd")).unwrap();
    let out = |args: &[&str]| run(Command::new(bin).args(args)).stdout;
    for (shell, name) in [
        ("bash", "supervisorctl.bash"),
        ("zsh", "_supervisorctl"),
        ("fish", "supervisorctl.fish"),
    ] {
        std::fs::write(
            dist.join("completions").join(name),
            out(&["completions", shell]),
        )
        .unwrap();
    }
    std::fs::write(dist.join("services.schema.json"), out(&["schema"])).unwrap();
    let page = dist.join("supervisorctl.1");
    std::fs::write(&page, out(&["man"])).unwrap();
    let gz = run(Command::new("gzip").arg("-9nc").arg(&page)).stdout;
    std::fs::write(dist.join("deb/supervisorctl.1.gz"), gz).unwrap();
    for e in std::fs::read_dir(repo_root().join("systemd")).unwrap() {
        let p = e.unwrap().path();
        if p.extension()
            .is_some_and(|x| x == "service" || x == "timer")
        {
            let text = std::fs::read_to_string(&p)
                .unwrap()
                .replace("/usr/local/bin/supervisorctl", "/usr/bin/supervisorctl");
            std::fs::write(dist.join("deb/systemd").join(p.file_name().unwrap()), text).unwrap();
        }
    }
}

#[test]
fn the_deb_installs_verifies_and_removes() {
    if !nix::unistd::geteuid().is_root() {
        skip("installing a package needs root");
        return;
    }
    let (Some(deb), Some(_), Some(analyze), Some(_)) = (
        cargo_deb(),
        on_path("dpkg"),
        on_path("systemd-analyze"),
        on_path("man"),
    ) else {
        skip("cargo-deb, dpkg, systemd-analyze or man is missing (.ci/run installs cargo-deb)");
        return;
    };
    if installed("supervisor") || installed("supervisorctl") {
        skip("this machine has `supervisor` or a `supervisorctl` package installed: not touched");
        return;
    }
    // The test binary is <target>/debug/deps/it-…; the built binary is
    // <target>/debug/supervisorctl, which cargo-deb's `--profile dev` takes.
    let target = std::env::current_exe()
        .unwrap()
        .ancestors()
        .nth(3)
        .unwrap()
        .to_path_buf();
    generate(&target);
    let out = tempfile::tempdir().unwrap();
    run(Command::new(deb)
        .args([
            "deb",
            "--no-build",
            "--strip",
            "--profile",
            "dev",
            "--output",
        ])
        .arg(out.path())
        .current_dir(repo_root())
        .env("CARGO_TARGET_DIR", &target));
    let package = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("a .deb");
    let fields =
        String::from_utf8(run(Command::new("dpkg-deb").arg("-f").arg(&package)).stdout).unwrap();
    assert!(fields.contains("\nConflicts: supervisor\n"), "{fields}");
    let listing =
        String::from_utf8(run(Command::new("dpkg-deb").arg("-c").arg(&package)).stdout).unwrap();
    for path in [
        "./usr/bin/supervisorctl",
        "./usr/lib/systemd/system/supervisorctl-reconcile.service",
        "./usr/lib/systemd/system/supervisorctl-reconcile.timer",
        "./usr/lib/systemd/system/supervisorctl-observe.service",
        "./usr/lib/systemd/system/supervisorctl-observe.timer",
        "./etc/supervisorctl/env",
        "./usr/share/man/man1/supervisorctl.1.gz",
        "./usr/share/bash-completion/completions/supervisorctl",
        "./usr/share/zsh/vendor-completions/_supervisorctl",
        "./usr/share/fish/vendor_completions.d/supervisorctl.fish",
        "./usr/share/supervisorctl/services.schema.json",
        "./usr/share/supervisorctl/monitoring/alerts.yml",
    ] {
        assert!(
            listing.lines().any(|l| l.ends_with(path)),
            "{path} not in\n{listing}"
        );
    }

    let _purge = Purge(
        MADE.into_iter()
            .filter(|d| !Path::new(d).exists())
            .collect(),
    );
    run(Command::new("dpkg").arg("-i").arg(&package));
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    let built = Path::new(env!("CARGO_BIN_EXE_supervisorctl"));
    assert!(
        size(Path::new("/usr/bin/supervisorctl")) < size(built) / 2,
        "the packaged binary is stripped"
    );
    let version = run(Command::new("/usr/bin/supervisorctl").arg("--version")).stdout;
    assert_eq!(
        String::from_utf8_lossy(&version).trim(),
        format!("supervisorctl {}", env!("CARGO_PKG_VERSION"))
    );
    let units: Vec<String> = ["observe", "reconcile"]
        .iter()
        .flat_map(|u| {
            ["service", "timer"].map(|k| format!("/usr/lib/systemd/system/supervisorctl-{u}.{k}"))
        })
        .collect();
    let verify = run(Command::new(&analyze).arg("verify").args(&units));
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(
        !said.contains("supervisorctl"),
        "systemd-analyze verify: {said}"
    );
    let page = run(Command::new("man").args(["-w", "supervisorctl"])).stdout;
    assert_eq!(
        String::from_utf8_lossy(&page).trim(),
        "/usr/share/man/man1/supervisorctl.1.gz"
    );
    assert!(Path::new("/etc/supervisorctl/env").is_file());
    run(Command::new("dpkg").args(["-r", "supervisorctl"]));
    assert!(
        !Path::new("/usr/bin/supervisorctl").exists(),
        "dpkg -r removes the binary"
    );
    assert!(!installed("supervisorctl"));
}
