//! The integration tests: one binary (so the crate and the CLI are linked
//! once) that runs the real `supervisorctl` against files in temporary
//! directories. Each module is one concern: the fixture worlds, `validate`,
//! the records a run leaves behind, and the README's demo.
mod commands;
mod crash;
mod fixtures;
mod live;
mod live_support;
mod matcher;
mod readme;
mod records;
mod security;
mod support;
mod validate;
mod webhooks;
