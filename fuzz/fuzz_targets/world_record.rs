//! Fuzzes the world directory's record shapes (SPEC §3): any bytes are
//! deserialized into each record type, as the world loader does with a
//! file it has read. A failure must be an error (an invalid observation),
//! never a panic. The loader's file handling is covered by the tests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use supervisorctl::world::{DeploymentRecord, Incident, NodeRecord, ResourceRecord, ServiceRecord};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<NodeRecord>(data);
    let _ = serde_json::from_slice::<ServiceRecord>(data);
    let _ = serde_json::from_slice::<DeploymentRecord>(data);
    let _ = serde_json::from_slice::<ResourceRecord>(data);
    let _ = serde_json::from_slice::<Incident>(data);
});
