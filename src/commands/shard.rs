//! `check --shard K/N`: a stable slice of the fleet's nodes, so a CI matrix
//! of N jobs checks a big fleet in parallel, each node in exactly one job.
//! A node's shard is a hash of its name (FNV-1a), not its position, so
//! adding a node never moves the others.
use crate::desired::Fleet;

/// `--shard K/N` (`crate::cli::ShardArgs`).
pub fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not K/N (e.g. 2/4)"))?;
    let (k, n): (u32, u32) = (
        k.parse().map_err(|_| format!("`{k}` is not a number"))?,
        n.parse().map_err(|_| format!("`{n}` is not a number"))?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n}: need 1 ≤ K ≤ N"));
    }
    Ok((k, n))
}

/// The shard (1-based) of `node` among `n`.
pub fn shard_of(node: &str, n: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    u32::try_from(h % u64::from(n)).expect("less than `n`, a u32") + 1
}

/// Keeps only the nodes of shard `k` of `n`.
pub fn retain(fleet: &mut Fleet, (k, n): (u32, u32)) {
    fleet.nodes.retain(|name, _| shard_of(name, n) == k);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_is_in_exactly_one_shard() {
        for name in ["gpu-box", "nas", "edge-01", "a", "node-1234"] {
            let hits = (1..=4).filter(|&k| shard_of(name, 4) == k).count();
            assert_eq!(hits, 1, "{name}");
        }
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        assert!(
            parse_shard("5/4").is_err() && parse_shard("0/1").is_err() && parse_shard("x").is_err()
        );
    }
}
