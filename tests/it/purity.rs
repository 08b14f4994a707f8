//! The decision core is pure by construction (docs/ARCHITECTURE.md): a
//! copy of `crates/supervisor-core` gets one impurity of each kind an
//! architecture review planted in the core, and the build refuses every
//! one. Reads of the clock, the state directory and the stores do not
//! compile (the crate cannot name them); what std still offers is refused
//! by clippy's list (clippy.toml). The copy builds in a target folder of its
//! own under the test's temporary folder, so its dependencies are compiled
//! once and reused.
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use walkdir::WalkDir;

use crate::support::repo_root;

/// Planted impurities that must not compile: the core names no clock and
/// no module of the binary.
const UNCOMPILABLE: &str = r#"
#[allow(dead_code)]
fn planted_reads() {
    let _ = chrono::Utc::now();
    let _ = chrono::Local::now();
    let _ = crate::checkpoint::read_for_command(std::path::Path::new("."));
    let _ = crate::store::statedir::default_state_dir();
    let _ = crate::probe::observe_node();
}
"#;

/// Planted impurities std offers, with the name clippy reports for each.
const CLIPPY: &[(&str, &str)] = &[
    ("let _ = std::fs::rename(\"a\", \"b\");", "std::fs::rename"),
    (
        "let _ = std::fs::create_dir_all(\"a\");",
        "std::fs::create_dir_all",
    ),
    ("let _ = std::fs::read(\"a\");", "std::fs::read"),
    (
        "let _ = std::time::UNIX_EPOCH.elapsed();",
        "std::time::SystemTime::elapsed",
    ),
    (
        "let _ = std::time::SystemTime::now();",
        "std::time::SystemTime::now",
    ),
    ("let _ = std::env::vars().count();", "std::env::vars"),
    ("let _ = std::process::id();", "std::process::id"),
    (
        "let _ = std::path::Path::new(\"a\").exists();",
        "std::path::Path::exists",
    ),
    ("let _ = std::thread::spawn(|| ());", "std::thread::spawn"),
    (
        "let _: std::collections::HashMap<u8, u8> = Default::default();",
        "std::collections::HashMap",
    ),
];

/// A copy of the core crate with `planted` appended to `core/clock.rs`,
/// and the project's clippy.toml and lock file beside it.
fn planted_copy(name: &str, planted: &str) -> PathBuf {
    let src = repo_root().join("crates/supervisor-core");
    let dst = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("purity")
        .join(name);
    let _ = fs::remove_dir_all(&dst);
    for entry in WalkDir::new(&src) {
        let entry = entry.expect("walk the core crate");
        let to = dst.join(entry.path().strip_prefix(&src).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&to).unwrap();
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
    for file in ["clippy.toml", "Cargo.lock"] {
        fs::copy(repo_root().join(file), dst.join(file)).unwrap();
    }
    // A workspace of its own, wherever the temporary folder lies.
    let manifest = dst.join("Cargo.toml");
    let mut toml = fs::read_to_string(&manifest).unwrap();
    toml.push_str("\n[workspace]\n");
    fs::write(&manifest, toml).unwrap();
    let clock = dst.join("src/core/clock.rs");
    let mut text = fs::read_to_string(&clock).unwrap();
    text.push_str(planted);
    fs::write(&clock, text).unwrap();
    dst
}

/// Runs `cargo <verb>` on the copy, offline; returns (success, stderr).
fn cargo(verb: &str, dir: &Path) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .arg(verb)
        .args(["--offline", "--quiet", "--lib"])
        .current_dir(dir)
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("purity/target"),
        )
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn reads_of_the_clock_and_of_the_binarys_modules_do_not_compile_in_the_core() {
    let dir = planted_copy("uncompilable", UNCOMPILABLE);
    let (ok, stderr) = cargo("check", &dir);
    assert!(!ok, "the planted reads compiled:\n{stderr}");
    for name in ["now", "read_for_command", "store", "probe"] {
        assert!(
            stderr.contains(&format!("`{name}`")),
            "no error names `{name}`:\n{stderr}"
        );
    }
}

#[test]
fn clippy_refuses_every_impurity_std_offers_the_core() {
    let mut body = String::new();
    for (code, _) in CLIPPY {
        let _ = writeln!(body, "    {code}");
    }
    let planted = format!("\n#[allow(dead_code)]\nfn planted_impurities() {{\n{body}}}\n");
    let dir = planted_copy("clippy", &planted);
    let (ok, stderr) = cargo("clippy", &dir);
    assert!(!ok, "clippy passed the planted impurities:\n{stderr}");
    for (code, name) in CLIPPY {
        assert!(
            stderr.contains(&format!("disallowed method `{name}`"))
                || stderr.contains(&format!("disallowed type `{name}`")),
            "clippy let `{code}` pass:\n{stderr}"
        );
    }
}

#[test]
fn the_core_as_shipped_passes_its_own_clippy() {
    let dir = planted_copy("clean", "");
    let (ok, stderr) = cargo("clippy", &dir);
    assert!(ok, "{stderr}");
}
