//! supervisorctl: reconcile a fleet of services and AI models with the desired
//! state kept in files. See `docs/ARCHITECTURE.md` for the map.
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub use supervisor_core::core;
pub mod desired;
pub mod envfile;
pub use supervisor_core::events;
pub mod exec;
pub mod exit;
pub use supervisor_core::fmt;
pub mod http;
pub use supervisor_core::intent;
pub mod metrics;
pub mod monitor;
pub use supervisor_core::num;
pub mod par;
pub mod probe;
pub mod procfs;
pub mod render;
pub mod replay;
pub mod report;
pub mod run;
pub mod store;
pub mod text;
pub mod webhooks;
pub mod world;
