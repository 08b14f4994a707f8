//! supervisorctl: reconcile a fleet of services and AI models with the desired
//! state kept in files. See `docs/ARCHITECTURE.md` for the map.
pub mod cli;
pub mod desired;
pub mod probe;
pub mod procfs;
pub mod world;
