//! The decision core of supervisorctl and the data it decides on: desired
//! state (`desired`), observed state (`world`), what one run hands to the
//! next (`checkpoint`), the events it writes (`events`), and time and text
//! formatting. Nothing here reads a clock, a file, a process or the
//! environment: this crate depends on serde, `serde_json` and chrono (without
//! its clock) only, so such a read does not compile; clippy.toml denies
//! the rest of std's I/O as a backstop.
pub mod checkpoint;
pub mod core;
pub mod desired;
pub mod events;
pub mod fmt;
pub mod intent;
pub mod num;
pub mod text;
pub mod world;
