//! `just bench`: generates fleets of 1×50, 100×40, 500×40 and 2,000×40
//! services, runs `check` on each, and measures in the same run the floor —
//! this same program walking the same folders, reading every file and parsing
//! it — to report the median time, the ratio to the floor, peak RSS and the
//! growth exponent; then `report --out` of the largest fleet (`-- report`
//! measures only that). Not part of the test suite: timings are reported, never
//! asserted.
//!
//! Usage: cargo run --release --example bench [-- --quick | activity | report [NODES] | incidents [N]]
mod activity;
mod floor;
mod gen;
mod incidents;
mod measure;
mod report;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("floor") => floor::run(std::path::Path::new(&args[2])),
        Some("rss") => measure::rss_child(&args[2..]),
        Some("activity") => activity::run(),
        // A world writer's 40,000 incidents: `-- incidents [N]`.
        Some("incidents") => {
            let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(40_000);
            let bin = measure::release_dir().join("supervisorctl");
            incidents::run(&bin, &std::env::temp_dir().join("supervisorctl-bench"), n);
        }
        // Only the report's line: `-- report [NODES]` (default 2,000×40).
        Some("report") => {
            let nodes = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(2000);
            let bin = measure::release_dir().join("supervisorctl");
            let base = std::env::temp_dir().join("supervisorctl-bench");
            report::run(&bin, &base, nodes, 40);
        }
        _ => measure::run(args.iter().any(|a| a == "--quick")),
    }
}
