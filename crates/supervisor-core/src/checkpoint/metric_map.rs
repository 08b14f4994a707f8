//! A map from a metric's name to its series (or its prediction): a sorted
//! list, not a `BTreeMap`. A service has one to three metrics; a B-tree
//! allocates a node of eleven slots for the first, about 540 bytes per
//! service for one series, 10 MB on a fleet of 20,000 services
//! (docs/performance.md). Serialized as a JSON object with its keys
//! sorted, as the `BTreeMap` was: the same bytes in the checkpoint.
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq)]
pub struct MetricMap<V> {
    /// Sorted by name, each name once.
    entries: Vec<(String, V)>,
}

impl<V> Default for MetricMap<V> {
    fn default() -> Self {
        MetricMap { entries: vec![] }
    }
}

impl<V> MetricMap<V> {
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key`'s value; returns the one it replaces.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// `key`'s value, a default one inserted first when it has none.
    pub fn get_or_default(&mut self, key: &str) -> &mut V
    where
        V: Default,
    {
        let i = match self.find(key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key.to_string(), V::default()));
                i
            }
        };
        &mut self.entries[i].1
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// By name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

impl<'a, V> IntoIterator for &'a MetricMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, V)>,
        fn(&'a (String, V)) -> (&'a String, &'a V),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<V> std::ops::Index<&str> for MetricMap<V> {
    type Output = V;

    /// Panics when `key` has no value, as `BTreeMap`'s does.
    fn index(&self, key: &str) -> &V {
        self.get(key).expect("no entry for this metric")
    }
}

impl<V> FromIterator<(String, V)> for MetricMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut map = MetricMap::default();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<V: Serialize> Serialize for MetricMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.entries.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for MetricMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through a `BTreeMap`: sorted, a repeated key keeps its last value.
        Ok(BTreeMap::<String, V>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_and_writes_the_bytes_of_a_btreemap() {
        let json = r#"{"probe_latency":[3],"gpu_memory":[2],"memory":[1]}"#;
        let ours: MetricMap<Vec<u32>> = serde_json::from_str(json).unwrap();
        let btree: BTreeMap<String, Vec<u32>> = serde_json::from_str(json).unwrap();
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&btree).unwrap()
        );
        assert_eq!(ours["gpu_memory"], [2]);
        let keys: Vec<&String> = ours.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["gpu_memory", "memory", "probe_latency"]);
    }

    #[test]
    fn insert_remove_and_default_keep_it_sorted() {
        let mut m: MetricMap<u32> = MetricMap::default();
        *m.get_or_default("memory") += 1;
        *m.get_or_default("gpu_memory") += 5;
        *m.get_or_default("memory") += 1;
        assert_eq!(m.insert("a".into(), 9), None);
        assert_eq!(m.insert("a".into(), 10), Some(9));
        let all: Vec<(&String, &u32)> = m.iter().collect();
        assert_eq!(
            all,
            [
                (&"a".to_string(), &10),
                (&"gpu_memory".into(), &5),
                (&"memory".into(), &2)
            ]
        );
        assert_eq!(m.remove("gpu_memory"), Some(5));
        m.retain(|k, _| k != "a");
        assert_eq!((m.len(), m.contains_key("memory")), (1, true));
    }
}
