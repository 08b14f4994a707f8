use std::fs;
use std::path::Path;
use std::time::Instant;

use super::fleet;
use crate::world::load::load_world_threads;
use crate::world::*;

/// `SUPERVISORCTL_BENCH_WORLD=/path cargo test --release --lib bench_ -- --ignored --nocapture`
/// on a world of 2,000 nodes × 40 services (`node-0000`…, `svc-00`…).
#[test]
#[ignore = "a benchmark: needs SUPERVISORCTL_BENCH_WORLD"]
fn bench_big_world() {
    let Ok(root) = std::env::var("SUPERVISORCTL_BENCH_WORLD") else {
        return;
    };
    let root = Path::new(&root);
    let names: Vec<String> = (0..40).map(|j| format!("svc-{j:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let nodes: Vec<String> = (0..2000).map(|i| format!("node-{i:04}")).collect();
    let spec: Vec<(&str, &[&str])> = nodes.iter().map(|n| (n.as_str(), &refs[..])).collect();
    let f = fleet(&spec);
    let time = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    let baseline = time(&|| {
        for node in &nodes {
            let read = |rel: String| fs::read(root.join(rel)).unwrap();
            let _: NodeRecord =
                serde_json::from_slice(&read(format!("nodes/{node}.json"))).unwrap();
            let _: ResourceRecord =
                serde_json::from_slice(&read(format!("resources/{node}.json"))).unwrap();
            for s in &names {
                let _: ServiceRecord =
                    serde_json::from_slice(&read(format!("services/{node}/{s}.json"))).unwrap();
                let _: DeploymentRecord =
                    serde_json::from_slice(&read(format!("deployments/{node}/{s}.json"))).unwrap();
            }
        }
    });
    println!("baseline: read and parse every file, one thread: {baseline:?}");
    for threads in [1, 2, 4] {
        let took =
            time(&|| assert_eq!(load_world_threads(root, &f, threads).services.len(), 80_000));
        println!("load_world, {threads} thread(s): {took:?}");
    }
}
