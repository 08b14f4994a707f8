//! Commands other than the run itself: each file is one command (and
//! `dispatch`, which routes the parsed command line to them).
pub mod activity_view;
pub mod audit;
pub mod capture;
pub mod complete_targets;
pub mod completions;
pub mod diff;
pub mod dispatch;
pub mod events;
pub mod forecast;
pub mod logs;
pub mod observe;
pub mod operator;
pub mod overrides;
pub mod policies;
pub mod process_view;
pub mod report;
pub mod shard;
pub mod status;
pub mod stdout;
pub mod target;
pub mod thrash_view;
pub mod tunables;
pub mod validate;
pub mod validate_json;
pub mod watch;
pub mod watch_paths;
