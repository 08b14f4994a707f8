//! The store against real files in temp folders: crash-safety properties
//! that can be observed from outside (no temp files left, no symlink
//! followed, whole lines under concurrency, locks across open files).
mod atomic;
mod checkpoint;
mod dirhandle;
mod eventlog;
mod lock;
mod settings;
