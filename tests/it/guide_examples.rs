//! The operator guide's services.yaml examples ("Running model servers")
//! are valid configuration: each is loaded by `validate`.
use crate::support::repo_root;

#[test]
fn the_model_server_examples_validate() {
    let guide = std::fs::read_to_string(repo_root().join("docs/operator-guide.md")).unwrap();
    let section = guide
        .split("## Running model servers")
        .nth(1)
        .expect("the guide has the section");
    let blocks: Vec<&str> = section
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(blocks.len() >= 3, "llama.cpp, vLLM and Ollama examples");
    for (i, yaml) in blocks.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join(format!("hosts/n{i}"));
        std::fs::create_dir_all(&node).unwrap();
        std::fs::write(node.join("services.yaml"), yaml).unwrap();
        let out = crate::support::Run::bare()
            .command()
            .arg("--hosts")
            .arg(dir.path().join("hosts"))
            .arg("validate")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "example {i}:\n{yaml}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
