//! Desired state: `hosts/<node>/services.yaml`, loaded and validated.
//!
//! [`load_fleet`] is the entry point; [`ConfigError::render`] draws a
//! problem for people. See `load` for how problems are found and placed.
mod de;
mod de_access;
mod de_scalar;
mod document;
pub mod error;
pub(crate) mod fields;
mod graph;
mod libyaml;
pub mod load;
pub mod opened;
mod raw;
mod report;
mod resolve;
mod scalars;
mod schema;
pub(crate) use scalars::is_valid_name;
pub(crate) mod suggest;
mod tree;
pub mod trust;
pub mod units;
mod walk;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod fleet_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod value_tests;

pub use error::ConfigError;
pub use load::{load_fleet, load_node, MAX_FILE_BYTES, SERVICES_FILE};
pub use presets::preset_settings;
pub use schema::services_schema_json;
pub use spec::*;
pub use supervisor_core::desired::{presets, spec};
pub use units::{parse_duration, parse_ratio, parse_size};
