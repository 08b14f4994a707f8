use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use crate::store::eventlog::{append, last_seq, read, BadLine};

fn event(seq: u64, pad: usize) -> String {
    format!(
        "{{\"seq\":{seq},\"type\":\"decision\",\"pad\":\"{}\"}}\n",
        "x".repeat(pad)
    )
}

#[test]
fn concurrent_appends_stay_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let path = &path;
            s.spawn(move || {
                for i in 0..200usize {
                    // Lines of different sizes, some larger than a page.
                    append(path, event(t * 1000 + i as u64, (i * 37) % 5000).as_bytes()).unwrap();
                }
            });
        }
    });
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    let mut seqs: Vec<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs.len(), 1600);
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 1600);
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn append_refuses_a_symlink_and_cuts_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = append(&link, b"{}\n").unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(!target.exists());

    let path = dir.path().join("events.jsonl");
    fs::write(&path, format!("{}{{\"seq\":2,\"ty", event(1, 0))).unwrap();
    append(&path, event(3, 0).as_bytes()).unwrap();
    // The fragment a killed append left is cut: only whole lines remain.
    let items: Vec<_> = read(&path).unwrap().collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap()["seq"], 1);
    assert_eq!(items[1].as_ref().unwrap()["seq"], 3);
    assert_eq!(last_seq(&path).unwrap(), Some(3));
    // A log that is nothing but a fragment is cut to empty.
    fs::write(&path, "{\"seq\":9,\"ty").unwrap();
    append(&path, event(10, 0).as_bytes()).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), event(10, 0));
}

#[test]
fn last_seq_reads_from_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    assert_eq!(last_seq(&path).unwrap(), None);
    fs::write(&path, "").unwrap();
    assert_eq!(last_seq(&path).unwrap(), None);

    // ~20 MB over many 64 KiB chunks, lines straddling chunk borders.
    let mut file = fs::File::create(&path).unwrap();
    let mut buf = String::new();
    for seq in 1..=40_000usize {
        buf.push_str(&event(seq as u64, (seq * 131) % 1000));
    }
    file.write_all(buf.as_bytes()).unwrap();
    assert_eq!(last_seq(&path).unwrap(), Some(40_000));

    // A torn tail is skipped; so are complete lines that do not parse or
    // have no seq.
    file.write_all(b"not json\n{\"type\":\"x\"}\n{\"seq\": 40001, \"ty")
        .unwrap();
    assert_eq!(last_seq(&path).unwrap(), Some(40_000));

    // A last line longer than a chunk.
    file.write_all(format!("\n{}", event(40_002, 200_000)).as_bytes())
        .unwrap();
    assert_eq!(last_seq(&path).unwrap(), Some(40_002));
}

#[test]
fn last_seq_of_small_logs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    for (text, want) in [
        ("{\"seq\":7}\n", Some(7)),
        ("{\"seq\":7}", None),
        ("{\"seq\":7}\n\n\n", Some(7)),
        ("{\"seq\":7}\n{\"seq\":8", Some(7)),
        ("garbage\n", None),
        ("\n", None),
    ] {
        fs::write(&path, text).unwrap();
        assert_eq!(last_seq(&path).unwrap(), want, "{text:?}");
    }
}

#[test]
fn reader_reports_bad_lines_and_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    fs::write(&path, b"{\"seq\":1}\n\nnope\n\xff\n{\"seq\":2}\n{\"seq\":3").unwrap();
    let mut reader = read(&path).unwrap();
    assert_eq!(reader.next().unwrap().unwrap()["seq"], 1);
    let bad = reader.next().unwrap().unwrap_err();
    assert_eq!(bad.line, 3);
    assert_eq!(reader.next().unwrap().unwrap_err().line, 4);
    assert_eq!(reader.next().unwrap().unwrap()["seq"], 2);
    let torn = reader.next().unwrap().unwrap_err();
    assert_eq!(
        torn,
        BadLine {
            line: 6,
            error: "incomplete last line (no newline at the end)".into()
        }
    );
    assert!(reader.next().is_none());

    // The writer finishes the line; a new reader sees it whole.
    fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"}\n")
        .unwrap();
    let all: Vec<_> = read(&path).unwrap().collect();
    assert_eq!(all.last().unwrap().as_ref().unwrap()["seq"], 3, "{all:?}");
    assert!(
        !all.iter().any(|l| l.as_ref().is_err_and(|b| b.line == 6)),
        "{all:?}"
    );
}
