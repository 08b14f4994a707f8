use std::fs;
use std::time::{Duration, Instant};

use crate::store::lock::{acquire, LockError};

#[test]
fn a_second_acquire_is_refused_quickly_with_the_pid() {
    let dir = tempfile::tempdir().unwrap();
    let held = acquire(dir.path(), None).unwrap();
    let pid = std::process::id();
    assert_eq!(fs::read_to_string(held.path()).unwrap(), format!("{pid}\n"));
    let started = Instant::now();
    let err = acquire(dir.path(), None).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    match &err {
        LockError::Held { holder, .. } => assert_eq!(*holder, Some(pid)),
        other @ LockError::Io { .. } => panic!("{other:?}"),
    }
    let lock = dir.path().join("lock");
    assert_eq!(
        err.to_string(),
        format!(
            "another supervisorctl run (pid {pid}) holds `{}`",
            lock.display()
        )
    );
    assert!(err.hint().is_some());

    // A waiting acquire gives up after its deadline.
    let started = Instant::now();
    assert!(matches!(
        acquire(dir.path(), Some(Duration::from_millis(200))),
        Err(LockError::Held { .. })
    ));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(held);
    let again = acquire(dir.path(), None).unwrap();
    drop(again);
}

#[test]
fn a_waiting_acquire_gets_the_lock_once_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let held = acquire(dir.path(), None).unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        drop(held);
    });
    let started = Instant::now();
    let lock = acquire(dir.path(), Some(Duration::from_secs(10))).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    releaser.join().unwrap();
    assert!(lock.path().ends_with("lock"));
}

#[test]
fn a_lock_held_by_another_process_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("lock");
    fs::write(&lock, "").unwrap();
    // The shell takes the lock with flock(1), then becomes `sleep`, which
    // keeps the locked descriptor: killing it releases the lock.
    let child = std::process::Command::new("sh")
        .args(["-c", "exec 9>\"$1\" && flock 9 && exec sleep 5", "sh"])
        .arg(&lock)
        .spawn();
    let Ok(mut child) = child else { return };
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut refused = false;
    while Instant::now() < deadline {
        match acquire(dir.path(), None) {
            Err(LockError::Held { .. }) => {
                refused = true;
                break;
            }
            Ok(lock) => drop(lock),
            Err(e) => panic!("{e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(refused, "the other process's lock was not seen");
    assert!(acquire(dir.path(), Some(Duration::from_secs(3))).is_ok());
}

#[test]
fn a_symlinked_lock_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, dir.path().join("lock")).unwrap();
    let err = acquire(dir.path(), None).unwrap_err();
    assert!(matches!(err, LockError::Io { .. }));
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(!target.exists());
}
