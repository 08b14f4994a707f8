use std::collections::BTreeMap;
use std::fs;

use crate::store::checkpoint::{load, save, set_aside, Loaded};

type Value = BTreeMap<String, u32>;

#[test]
fn save_then_load_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.json");
    assert!(matches!(load::<Value>(&path), Loaded::Missing));
    let value: Value = [("version".to_string(), 1), ("next_seq".to_string(), 42)].into();
    save(&path, &value).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.ends_with("}\n") && text.contains("\n  \"next_seq\": 42"),
        "{text}"
    );
    match load::<Value>(&path) {
        Loaded::Ready(v) => assert_eq!(v, value),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unusable_checkpoints_are_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let torn = dir.path().join("torn.json");
    fs::write(&torn, "{\"version\": ").unwrap();
    let wrong = dir.path().join("wrong.json");
    fs::write(&wrong, "[1, 2]").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&wrong, &link).unwrap();
    let folder = dir.path().join("folder.json");
    fs::create_dir(&folder).unwrap();
    for (path, needle) in [
        (&torn, "invalid checkpoint"),
        (&wrong, "invalid checkpoint"),
        (&link, "symbolic link"),
        (&folder, "not a regular file"),
    ] {
        match load::<Value>(path) {
            Loaded::Unreadable { error } => assert!(error.contains(needle), "{path:?}: {error}"),
            other => panic!("{path:?}: {other:?}"),
        }
    }
}

#[test]
fn set_aside_picks_a_free_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.json");
    let stamp = "20260301T120000Z";
    let mut got = Vec::new();
    for round in 0..3 {
        fs::write(&path, format!("bad {round}")).unwrap();
        got.push(set_aside(&path, stamp).unwrap());
        assert!(!path.exists());
    }
    let names: Vec<_> = got
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "checkpoint.json.corrupt-20260301T120000Z",
            "checkpoint.json.corrupt-20260301T120000Z-1",
            "checkpoint.json.corrupt-20260301T120000Z-2",
        ]
    );
    assert_eq!(fs::read_to_string(&got[0]).unwrap(), "bad 0");
    assert_eq!(fs::read_to_string(&got[2]).unwrap(), "bad 2");
    let missing = set_aside(&path, stamp).unwrap_err();
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
}
