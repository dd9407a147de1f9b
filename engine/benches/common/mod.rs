//! Shared by the benchmark binaries.

/// Peak resident memory of this process in MiB (Linux `VmHWM`).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The allocator of the `avsync` binary.
#[global_allocator]
static ALLOCATOR: avsync_engine::buffer_cache::BufferCache =
    avsync_engine::buffer_cache::BufferCache::new();

/// Tune the allocator as the `avsync` binary does at start-up (a fixed 4 MiB mmap threshold,
/// see `app/src/main.rs`), so the benchmarks allocate and fault pages as generation does.
pub fn allocate_like_the_app() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; it runs first, before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    }
}
