//! The one order-preserving parallel map, with scoped threads: results
//! keep their input order, so runs stay deterministic. [`map`] spreads
//! CPU-bound parsing over the machine's cores; [`map_bounded`] runs jobs
//! that mostly wait (health probes on sockets and children) at most N at a
//! time, so a node's probe takes about one timeout rather than the sum.
//! (The world loader's reader threads are not a map: each holds its own
//! directory descriptors and streams records to a sink; see
//! `world/load/run.rs`.)
use std::sync::atomic::{AtomicUsize, Ordering};

/// [`map_bounded`] over the machine's cores (at most 8); one thread below
/// 64 items, where starting threads costs more than it saves.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8);
    if items.len() < 64 {
        return items.iter().map(&f).collect();
    }
    map_bounded(items, threads, f)
}

/// Applies `f` to every job, at most `max_parallel` at a time (at least
/// one), and returns the results in the jobs' order.
pub fn map_bounded<J, R, F>(jobs: &[J], max_parallel: usize, f: F) -> Vec<R>
where
    J: Sync,
    R: Send,
    F: Fn(&J) -> R + Sync,
{
    let workers = max_parallel.max(1).min(jobs.len());
    if workers <= 1 {
        return jobs.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        mine.push((i, f(job)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(results) => results,
                // A panicking probe is a bug; surface it rather than drop a result.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        assert_eq!(
            super::map(&items, |x| x * 2),
            items.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
    }
}

#[cfg(test)]
mod bounded_tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[test]
    fn keeps_order_and_bounds_concurrency() {
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let jobs: Vec<u32> = (0..40).collect();
        let out = map_bounded(&jobs, 8, |&j| {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            in_flight.fetch_sub(1, Ordering::SeqCst);
            j * 2
        });
        assert_eq!(out, jobs.iter().map(|j| j * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 8);
        assert!(peak.load(Ordering::SeqCst) > 1, "ran in parallel");
    }

    #[test]
    fn zero_parallelism_still_runs_everything() {
        let out = map_bounded(&[1, 2, 3], 0, |x| x + 1);
        assert_eq!(out, vec![2, 3, 4]);
        let none: Vec<i32> = map_bounded(&[], 4, |x: &i32| *x);
        assert!(none.is_empty());
    }
}
