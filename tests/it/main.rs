//! The integration tests: one binary (so the crate and the CLI are linked
//! once) that runs the real `supervisorctl` against files in temporary
//! directories. Each module is one concern: the fixture worlds, `validate`,
//! the records a run leaves behind, the README's demo, live processes,
//! operator commands, webhooks, security, and the proof under stress:
//! crashes, races, full or read-only state, bad input, properties.
mod activity;
mod bad_input;
mod baselines;
mod breaker;
mod children;
mod ci_recipe;
mod clock;
mod closed_stdout;
mod commands;
mod decision_quality;
mod ecosystem;
mod env_file;
mod escapes;
mod events_cmd;
mod fixtures;
mod guide_examples;
mod https;
mod identity;
mod inference;
mod jq_cookbook;
mod json_output;
mod live;
mod live_preview;
mod live_support;
mod lnav_lines;
mod loading;
mod log_shipping;
mod matcher;
mod metrics_file;
mod mistakes;
mod observe_swap;
mod operator;
mod orphan_evict;
mod orphans;
mod predict;
mod props;
mod readme;
mod reasons;
mod record;
mod records;
mod reference;
mod reliability;
mod remote_fallback;
mod removed;
mod replay;
mod reset_state;
mod rotation;
mod schema;
mod security;
mod snapshots;
mod start_grace;
mod state_trust;
mod status_view;
mod support;
mod systemd_units;
mod thrash;
mod trust_all;
mod tuning;
mod usage;
mod validate;
mod watch;
mod webhooks;
