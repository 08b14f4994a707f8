//! System memory from `/proc/meminfo`. "Used" is what the kernel could not
//! hand to a new process without swapping (`MemTotal - MemAvailable`), the
//! figure memory pressure is judged by; page cache does not count.
use crate::world::MemoryUse;

/// Memory of this machine, or `None` when `/proc/meminfo` is unreadable.
pub fn read_meminfo() -> Option<MemoryUse> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

pub(crate) fn parse_meminfo(text: &str) -> Option<MemoryUse> {
    let field = |key: &str| -> Option<u64> {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            if k.trim() != key {
                return None;
            }
            let kb: u64 = v.split_whitespace().next()?.parse().ok()?;
            Some(kb.saturating_mul(1024))
        })
    };
    let total = field("MemTotal").filter(|&t| t > 0)?;
    // Kernels before 3.14 have no MemAvailable: approximate it.
    let available = field("MemAvailable").or_else(|| {
        Some(field("MemFree")? + field("Buffers").unwrap_or(0) + field("Cached").unwrap_or(0))
    })?;
    Some(MemoryUse {
        total_bytes: total,
        used_bytes: total.saturating_sub(available),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_is_total_minus_available() {
        let text = "MemTotal:       16000 kB\nMemFree:         1000 kB\n\
                    MemAvailable:    6000 kB\nBuffers:          10 kB\n";
        let m = parse_meminfo(text).expect("parses");
        assert_eq!(m.total_bytes, 16000 * 1024);
        assert_eq!(m.used_bytes, 10000 * 1024);
    }

    #[test]
    fn old_kernels_fall_back_to_free_plus_cache() {
        let text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n";
        let m = parse_meminfo(text).expect("parses");
        assert_eq!(m.used_bytes, 600 * 1024);
    }

    #[test]
    fn missing_total_is_none() {
        assert!(parse_meminfo("MemFree: 100 kB\n").is_none());
        assert!(parse_meminfo("").is_none());
    }

    #[test]
    fn this_machine_is_sane() {
        let m = read_meminfo().expect("/proc/meminfo readable");
        assert!(m.total_bytes > m.used_bytes, "{m:?}");
        assert!(m.used_bytes > 0, "{m:?}");
    }
}
