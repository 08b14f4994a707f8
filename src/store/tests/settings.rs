use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};

use crate::store::fallbacks::{load_fallbacks, write_fallbacks, FallbackEntry};
use crate::store::overrides::{load_overrides, save_overrides, Hold, Overrides};
use crate::store::statedir::{prepare, state_dir_for};

#[test]
fn overrides_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overrides.json");
    assert_eq!(load_overrides(&path).unwrap(), Overrides::default());
    assert_eq!(Overrides::default().version, 1);
    let since = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let mut o = Overrides::default();
    o.pins.insert("gpu-box/llama".into(), true);
    o.pins.insert("gpu-box/redis".into(), false);
    o.holds.insert(
        "gpu-box/llama".into(),
        Hold {
            since,
            reason: Some("debugging".into()),
        },
    );
    o.holds.insert(
        "gpu-box/agent".into(),
        Hold {
            since,
            reason: None,
        },
    );
    save_overrides(&path, &o).unwrap();
    assert_eq!(load_overrides(&path).unwrap(), o);
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("\"since\": \"2026-03-01T12:00:00Z\""),
        "{text}"
    );
    assert_eq!(text.matches("reason").count(), 1, "{text}");
}

#[test]
fn unusable_overrides_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overrides.json");
    for (body, needle) in [
        (
            "{\"version\": 1, \"holds\": {\"a/b\": {\"since\": \"yesterday\"}}}",
            "invalid overrides",
        ),
        ("{\"version\": 1, \"pins\": ", "invalid overrides"),
        ("{\"pins\": {}}", "missing field `version`"),
        ("{\"version\": 2}", "unsupported overrides version 2"),
    ] {
        fs::write(&path, body).unwrap();
        let err = load_overrides(&path).unwrap_err();
        assert!(
            err.contains(needle) && err.contains("overrides.json`"),
            "{body}: {err}"
        );
    }
    fs::write(&path, "{\"version\": 1}").unwrap();
    assert_eq!(load_overrides(&path).unwrap(), Overrides::default());
    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(dir.path().join("x"), &path).unwrap();
    assert!(load_overrides(&path).unwrap_err().contains("symbolic link"));
}

#[test]
fn fallbacks_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fallbacks.json");
    assert!(load_fallbacks(&path).unwrap().is_empty());
    let since = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let map: BTreeMap<_, _> = [(
        "gpu-box/llama-70b".to_string(),
        FallbackEntry {
            to: "llama-8b".into(),
            since,
        },
    )]
    .into();
    write_fallbacks(&path, &map).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"gpu-box/llama-70b": {"to": "llama-8b", "since": "2026-03-01T12:00:00Z"}})
    );
    assert_eq!(load_fallbacks(&path).unwrap(), map);
    write_fallbacks(&path, &BTreeMap::new()).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "{}\n");
}

#[test]
fn prepare_makes_a_private_folder() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("a/b/state");
    prepare(&state).unwrap();
    assert_eq!(
        fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o700
    );
    prepare(&state).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&state, &link).unwrap();
    let err = prepare(&link).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    let file = dir.path().join("file");
    fs::write(&file, "").unwrap();
    assert!(prepare(&file)
        .unwrap_err()
        .to_string()
        .contains("not a directory"));
}

#[test]
fn default_state_dir_rules() {
    let os = |s: &str| Some(OsString::from(s));
    let p = PathBuf::from;
    assert_eq!(
        state_dir_for(true, os("/x"), os("/home/a")),
        p("/var/lib/supervisorctl")
    );
    assert_eq!(
        state_dir_for(false, os("/x/state"), os("/home/a")),
        p("/x/state/supervisorctl")
    );
    assert_eq!(
        state_dir_for(false, os("relative"), os("/home/a")),
        p("/home/a/.local/state/supervisorctl")
    );
    assert_eq!(
        state_dir_for(false, None, os("/home/a")),
        p("/home/a/.local/state/supervisorctl")
    );
}
