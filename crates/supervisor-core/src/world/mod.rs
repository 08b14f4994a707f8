//! Actual state as an observer wrote it: the world directory (docs/reference/world.md).
pub mod record;

use std::collections::BTreeMap;

pub use record::*;

/// One world file's reading: parsed, or present but unusable.
#[derive(Debug, Clone)]
pub enum Obs<T> {
    Valid(T),
    /// The file exists but could not be read or parsed; an
    /// `observation_invalid` was recorded for it.
    Invalid,
}

impl<T> Obs<T> {
    pub fn valid(&self) -> Option<&T> {
        match self {
            Obs::Valid(t) => Some(t),
            Obs::Invalid => None,
        }
    }
}

/// A world file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidObservation {
    /// Path relative to the world directory, with `/` separators.
    pub path: String,
    pub error: String,
    pub node: Option<String>,
    pub service: Option<String>,
}

/// Keyed by (node, service).
pub type ServiceKey = (String, String);

/// Everything read from the world directory, restricted to declared nodes
/// and services (incidents included).
#[derive(Debug, Clone, Default)]
pub struct World {
    pub nodes: BTreeMap<String, Obs<NodeRecord>>,
    pub services: BTreeMap<ServiceKey, Obs<ServiceRecord>>,
    pub deployments: BTreeMap<ServiceKey, Obs<DeploymentRecord>>,
    pub resources: BTreeMap<String, Obs<ResourceRecord>>,
    /// Valid incidents of declared nodes (and declared services), sorted by id.
    pub incidents: Vec<Incident>,
    /// Sorted by path.
    pub invalid: Vec<InvalidObservation>,
    /// SHA-256 over (relative path, bytes) of every file read, sorted by path.
    pub fingerprint: [u8; 32],
}

impl World {
    /// One `observation_invalid` event per file that could not be used.
    pub fn invalid_events(&self) -> impl Iterator<Item = crate::events::Event> + '_ {
        self.invalid.iter().map(|inv| {
            crate::events::Event::new(
                inv.node.as_deref(),
                inv.service.as_deref(),
                crate::events::ObservationInvalid {
                    error: inv.error.clone(),
                    path: inv.path.clone(),
                    set_aside: None,
                },
            )
        })
    }
}
