//! Desired state: `hosts/<node>/services.yaml`, loaded and validated.
pub mod spec;

pub use spec::*;
