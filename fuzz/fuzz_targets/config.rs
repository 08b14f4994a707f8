//! Fuzzes the `services.yaml` parser: any bytes that are UTF-8 (the file
//! loader refuses the rest before parsing) go through `load_node`, which
//! must return a node or located errors, never panic or hang.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let file = Path::new("hosts/n1/services.yaml");
        let _ = supervisorctl::desired::load_node("n1", file, text);
    }
});
