//! `--output json` on the commands that report in a sentence (SPEC §9
//! "Output"): `diff`, `observe`, `pin`…`reset` print JSON objects too.
use crate::live_support::Node;

fn objects(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn diff_observe_and_overrides_speak_json() {
    let n = Node::new("services:\n  web:\n    restart: [\"true\"]\n");
    let diff = objects(&n.cli(&["diff", "--output", "json"]));
    assert_eq!(diff.len(), 1);
    assert_eq!(diff[0]["node"], "testnode");
    assert_eq!(diff[0]["differs"], true);
    assert!(diff[0]["diff"]
        .as_str()
        .unwrap()
        .contains("+service web: absent"));

    let hold = objects(&n.cli(&["hold", "web", "--output", "json"]));
    assert_eq!(hold[0]["service"], "testnode/web");
    assert_eq!(hold[0]["op"], "hold");
    assert!(hold[0]["message"].as_str().unwrap().contains("held"));

    let out = n.path("observed");
    let obs = objects(&n.cli(&[
        "observe",
        "--out",
        out.to_str().unwrap(),
        "--output",
        "json",
    ]));
    assert_eq!(obs[0]["node"], "testnode");
    assert!(obs[0]["records"].is_number());
}
