//! Tests of the locator: key paths to positions in block-style YAML.
use super::*;

fn path(parts: &[&str]) -> Vec<Seg> {
    parts
        .iter()
        .map(|p| match p.parse::<usize>() {
            Ok(i) => Seg::Index(i),
            Err(_) => key(p),
        })
        .collect()
}

const TEXT: &str = "\
# comment: not a key
node: a   # trailing comment
supervisor:
  maintenance:
  - days: [sat]
    from: \"02:00\"
  -   from: \"03:00\"
      to: \"04:00\"
services:
  web:
    note: |
      fallback: not a key
      depends_on: [x]
    \"quoted key\": 1
    depends_on:
      - redis
      - db
    fallback: db
  db:
    depends_on: [redis, web, redis]
    cmd: [a,
      b]
    fallback: web
";

#[test]
fn finds_keys_items_and_values() {
    let l = Locator::new(TEXT);
    assert_eq!(l.key_position(&path(&["node"])), (2, 1));
    assert_eq!(l.value_position(&path(&["node"])), (2, 7));
    assert_eq!(
        l.key_position(&path(&["supervisor", "maintenance", "0", "from"])),
        (6, 5)
    );
    assert_eq!(
        l.key_position(&path(&["supervisor", "maintenance", "1", "from"])),
        (7, 7)
    );
    assert_eq!(
        l.key_position(&path(&["supervisor", "maintenance", "1", "to"])),
        (8, 7)
    );
    assert_eq!(
        l.key_position(&path(&["services", "web", "quoted key"])),
        (14, 5)
    );
    assert_eq!(
        l.key_position(&path(&["services", "web", "fallback"])),
        (18, 5),
        "block scalar text is skipped"
    );
    assert_eq!(
        l.value_position(&path(&["services", "db", "fallback"])),
        (23, 15),
        "flow list lines are skipped"
    );
    let items = ["redis".to_string(), "db".to_string()];
    assert_eq!(
        l.item_position(&path(&["services", "web", "depends_on"]), 1, &items),
        (17, 9)
    );
    let items = ["redis".to_string(), "web".to_string(), "redis".to_string()];
    let deps = path(&["services", "db", "depends_on"]);
    assert_eq!(l.item_position(&deps, 1, &items), (20, 25));
    assert_eq!(
        l.item_position(&deps, 2, &items),
        (20, 30),
        "the second equal item"
    );
}

#[test]
fn falls_back_to_the_nearest_ancestor() {
    let l = Locator::new(TEXT);
    assert_eq!(l.key_position(&path(&["services", "web", "nope"])), (10, 3));
    assert_eq!(l.key_position(&path(&["nothing"])), (1, 1));
    let flow = Locator::new("services: {web: {fallback: x}}\n");
    assert_eq!(
        flow.key_position(&path(&["services", "web", "fallback"])),
        (1, 1)
    );
}

#[test]
fn finds_the_repeated_key_of_one_mapping() {
    let l = Locator::new("a:\n  x: 1\n  y: 2\nb:\n  x: 1\n  x: 2\n");
    let second = l.duplicate_key(&[], "x").unwrap();
    assert_eq!((second.line, second.column), (6, 3));
    assert!(l.duplicate_key(&path(&["a"]), "x").is_none());
}
