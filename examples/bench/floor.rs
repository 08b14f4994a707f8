//! The floor: walk hosts/ and world/, read every file, parse it (YAML or
//! JSON) into a generic value. `check` cannot do less work than this.
use std::path::Path;

pub fn run(root: &Path) {
    let mut files = 0usize;
    let mut bytes = 0usize;
    // `hosts/` and `world/` only: what `check` reads (the report's state
    // directory beside them is not an input).
    let walk = |dir: &str| walkdir::WalkDir::new(root.join(dir)).sort_by_file_name();
    for entry in walk("hosts").into_iter().chain(walk("world")) {
        let entry = entry.expect("walk");
        if !entry.file_type().is_file() {
            continue;
        }
        let data = std::fs::read(entry.path()).expect("read");
        bytes += data.len();
        files += 1;
        let ext = entry.path().extension().and_then(|e| e.to_str());
        if ext == Some("yaml") {
            let v: serde_yaml::Value = serde_yaml::from_slice(&data).expect("yaml");
            std::hint::black_box(v);
        } else if ext == Some("json") {
            let v: serde_json::Value = serde_json::from_slice(&data).expect("json");
            std::hint::black_box(v);
        }
    }
    println!("{files} files, {bytes} bytes");
}
