//! Wall time, client CPU time and peak memory of this process.
//!
//! CPU time comes from `getrusage(RUSAGE_SELF)` (user + system, every thread of the process,
//! microsecond resolution) through `nix`, whose wrapper is safe: the workspace denies unsafe
//! code, `/proc/self/stat` only counts clock ticks (10 ms), and `nix` is already in the
//! dependency graph.

use std::future::Future;
use std::time::Instant;

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeVal;

/// What one contender's run cost.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// Seconds of wall time.
    pub wall: f64,
    /// Seconds of CPU time of this process (user + system).
    pub cpu: f64,
}

fn seconds(t: TimeVal) -> f64 {
    t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6
}

/// CPU seconds this process has used so far.
pub fn cpu_seconds() -> f64 {
    getrusage(UsageWho::RUSAGE_SELF)
        .map_or(0.0, |u| seconds(u.user_time()) + seconds(u.system_time()))
}

/// Run `work`, measuring it.
pub async fn timed<T>(work: impl Future<Output = T>) -> (T, Sample) {
    let cpu = cpu_seconds();
    let start = Instant::now();
    let out = work.await;
    let wall = start.elapsed().as_secs_f64();
    let sample = Sample {
        wall,
        cpu: cpu_seconds() - cpu,
    };
    (out, sample)
}

/// The median (the mean of the middle two for an even count); 0 for none.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        f64::midpoint(values[mid - 1], values[mid])
    }
}

/// The allocator, counting what it hands out and takes back.
#[global_allocator]
static ALLOCATOR: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Bytes of heap this process holds now.
pub fn heap_bytes() -> i64 {
    let stats = ALLOCATOR.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64 + stats.bytes_reallocated as i64
}

/// The peak resident set size of this process in KiB (`VmHWM` of `/proc/self/status`).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
