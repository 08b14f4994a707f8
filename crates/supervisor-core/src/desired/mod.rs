//! Desired state as the core sees it: the resolved fleet. Parsing and
//! validating `hosts/<node>/services.yaml` is the `supervisorctl` crate's.
pub mod presets;
pub mod spec;

pub use presets::preset_settings;
pub use spec::*;
