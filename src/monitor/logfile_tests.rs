//! The monitor's log writer against real files.
use super::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn each_line_gets_its_time_and_a_partial_line_waits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.log");
    let mut log = LogFile::open(&path, Limits::default(), None).unwrap();
    let t = at("2026-12-07T06:50:01.12Z");
    log.marker(t, "started pid 7: sleep 1");
    log.output(t, b"one\ntw");
    log.output(at("2026-12-07T06:50:02Z"), b"o\r\n\nthree");
    assert_eq!(
        read(&path),
        "2026-12-07T06:50:01.120Z [supervisorctl] started pid 7: sleep 1\n\
         2026-12-07T06:50:01.120Z one\n\
         2026-12-07T06:50:02.000Z two\n\
         2026-12-07T06:50:02.000Z\n"
    );
    log.flush_pending(at("2026-12-07T06:50:03Z"));
    assert!(read(&path).ends_with("2026-12-07T06:50:03.000Z three\n"));
}

#[test]
fn a_long_line_is_cut_and_each_piece_timed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.log");
    let mut log = LogFile::open(&path, Limits::default(), None).unwrap();
    let long = vec![b'x'; MAX_LINE * 2 + 10];
    log.output(at("2026-12-07T06:50:01Z"), &long);
    // Two full pieces are written before any newline comes.
    assert_eq!(read(&path).lines().count(), 2);
    log.output(at("2026-12-07T06:50:01Z"), b"\n");
    let text = read(&path);
    let lens: Vec<usize> = text.lines().map(|l| l.len() - 25).collect();
    assert_eq!(lens, vec![MAX_LINE, MAX_LINE, 10]);
}

#[test]
fn rotation_keeps_every_file_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.log");
    let limits = Limits {
        max_size: 64 * 1024,
        keep: 2,
    };
    let mut log = LogFile::open(&path, limits, None).unwrap();
    let line = [b'y'; 999];
    for i in 0..400 {
        log.output(at("2026-12-07T06:50:01Z"), &line);
        log.output(at("2026-12-07T06:50:01Z"), format!("{i}\n").as_bytes());
    }
    let rotated = crate::store::rotate::rotated_paths(&path);
    assert_eq!(rotated.len(), 2, "{rotated:?}");
    for p in std::iter::once(&path).chain(&rotated) {
        let len = std::fs::metadata(p).unwrap().len();
        assert!(len <= limits.max_size, "{} is {len} bytes", p.display());
    }
    for p in &rotated {
        let len = std::fs::metadata(p).unwrap().len();
        assert!(
            len > limits.max_size - 1100,
            "{} rotated at {len} bytes",
            p.display()
        );
    }
    // The newest line is in the live file, whole.
    assert!(read(&path).ends_with("y399\n"));
    // Lines are never split across files.
    for p in std::iter::once(&path).chain(&rotated) {
        assert!(read(p)
            .lines()
            .all(|l| l.starts_with("2026-12-07T06:50:01.000Z y")));
    }
}

#[test]
fn a_symlink_in_place_of_the_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, "").unwrap();
    let path = dir.path().join("web.log");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    assert!(LogFile::open(&path, Limits::default(), None).is_err());
}
