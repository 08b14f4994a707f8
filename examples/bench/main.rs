//! `just bench`: generates fleets of 1×50, 100×40, 500×40 and 2,000×40
//! services, runs `check` on each, and measures in the same run the floor —
//! this same program walking the same folders, reading every file and parsing
//! it — to report the median time, the ratio to the floor, peak RSS and the
//! growth exponent. Not part of the test suite: timings are reported, never
//! asserted.
//!
//! Usage: cargo run --release --example bench [-- --quick | activity]
mod activity;
mod floor;
mod gen;
mod measure;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("floor") => floor::run(std::path::Path::new(&args[2])),
        Some("rss") => measure::rss_child(&args[2..]),
        Some("activity") => activity::run(),
        _ => measure::run(args.iter().any(|a| a == "--quick")),
    }
}
