//! A global allocator that keeps the large blocks a network frees for its next pass.
//!
//! A denoising loop runs the same network on the same shapes dozens of times, so it frees and
//! allocates the same large activations (several MiB each) over and over. glibc hands blocks
//! that large to the kernel and maps them afresh, and the first write to each page of a fresh
//! mapping faults: on the VAE decode of three windows that was a fifth of its time.
//! This allocator keeps recently freed large blocks and hands one back when the same size is
//! asked for again, so after the first pass the network's buffers are reused, already
//! mapped. Smaller blocks, and everything when the cache is full, go to the system allocator.
//! Binaries opt in with `#[global_allocator]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;

/// Blocks from this size up are cached (the size from which glibc maps blocks afresh, as
/// the `avsync` binary tunes it).
const MIN_BLOCK: usize = 4 << 20;
/// Most bytes kept at once.
const MAX_BYTES: usize = 128 << 20;
/// Most blocks kept at once.
const SLOTS: usize = 48;

/// A freed block: its address, size and alignment, and when it was freed (to evict the
/// oldest first).
#[derive(Clone, Copy)]
struct Block {
    addr: usize,
    size: usize,
    align: usize,
    freed: u64,
}

struct Cache {
    blocks: [Option<Block>; SLOTS],
    bytes: usize,
    clock: u64,
}

/// The allocator: the system's, with freed blocks of `MIN_BLOCK` bytes and more kept for
/// reuse (at most `MAX_BYTES` in `SLOTS` blocks, the oldest handed back first).
pub struct BufferCache {
    cache: Mutex<Cache>,
}

impl BufferCache {
    /// An empty cache.
    pub const fn new() -> Self {
        Self {
            cache: Mutex::new(Cache {
                blocks: [None; SLOTS],
                bytes: 0,
                clock: 0,
            }),
        }
    }

    /// A cached block of exactly `layout`, taken out of the cache.
    fn take(&self, layout: Layout) -> Option<*mut u8> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let slot = cache
            .blocks
            .iter_mut()
            .find(|b| b.is_some_and(|b| b.size == layout.size() && b.align == layout.align()))?;
        let block = slot.take()?;
        cache.bytes -= block.size;
        Some(block.addr as *mut u8)
    }

    /// Keep `ptr` for reuse, handing the oldest blocks back to the system to make room;
    /// false when it does not fit at all.
    fn keep(&self, ptr: *mut u8, layout: Layout) -> bool {
        if layout.size() > MAX_BYTES {
            return false;
        }
        let mut evicted = [None; SLOTS];
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            let mut n = 0;
            while cache.bytes + layout.size() > MAX_BYTES
                || cache.blocks.iter().all(Option::is_some)
            {
                let oldest = cache
                    .blocks
                    .iter_mut()
                    .filter(|b| b.is_some())
                    .min_by_key(|b| b.map_or(u64::MAX, |b| b.freed))
                    .and_then(Option::take);
                let Some(block) = oldest else { break };
                cache.bytes -= block.size;
                evicted[n] = Some(block);
                n += 1;
            }
            cache.clock += 1;
            let freed = cache.clock;
            if let Some(slot) = cache.blocks.iter_mut().find(|b| b.is_none()) {
                *slot = Some(Block {
                    addr: ptr as usize,
                    size: layout.size(),
                    align: layout.align(),
                    freed,
                });
                cache.bytes += layout.size();
            }
        }
        // Outside the lock: the system's free may take a while (an munmap).
        for block in evicted.into_iter().flatten() {
            // SAFETY: the block came from `System` with this size and alignment.
            unsafe {
                System.dealloc(
                    block.addr as *mut u8,
                    Layout::from_size_align_unchecked(block.size, block.align),
                );
            }
        }
        true
    }
}

impl Drop for BufferCache {
    fn drop(&mut self) {
        let cache = self.cache.get_mut().unwrap_or_else(|e| e.into_inner());
        for block in cache.blocks.iter_mut().filter_map(Option::take) {
            // SAFETY: the block came from `System` with this size and alignment.
            unsafe {
                System.dealloc(
                    block.addr as *mut u8,
                    Layout::from_size_align_unchecked(block.size, block.align),
                );
            }
        }
    }
}

impl Default for BufferCache {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every block handed out is either fresh from `System` or a block of the same size
// and alignment that was allocated by `System` and freed to the cache; a block is in the
// cache or handed out, never both (the cache is behind a mutex).
unsafe impl GlobalAlloc for BufferCache {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_BLOCK
            && let Some(ptr) = self.take(layout)
        {
            return ptr;
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_BLOCK
            && let Some(ptr) = self.take(layout)
        {
            // SAFETY: the block holds `layout.size()` bytes.
            unsafe { ptr.write_bytes(0, layout.size()) };
            return ptr;
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= MIN_BLOCK && self.keep(ptr, layout) {
            return;
        }
        // SAFETY: `ptr` came from `System` with this layout (cached blocks are too).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < MIN_BLOCK && new_size < MIN_BLOCK {
            // SAFETY: forwarded; neither size is ever cached.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: the caller's layout, resized as `GlobalAlloc::realloc` requires.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a fresh block of the new size; the old one holds `layout.size()` bytes.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_block_of_the_same_size_is_reused_and_zeroed_on_request() {
        let cache = BufferCache::new();
        let layout = Layout::from_size_align(MIN_BLOCK + 4096, 64).unwrap();
        unsafe {
            let a = cache.alloc(layout);
            a.write_bytes(7, layout.size());
            cache.dealloc(a, layout);
            let b = cache.alloc_zeroed(layout);
            assert_eq!(a, b);
            assert!(
                std::slice::from_raw_parts(b, layout.size())
                    .iter()
                    .all(|&v| v == 0)
            );
            // A different size is not served from the cache.
            let other = Layout::from_size_align(MIN_BLOCK + 8192, 64).unwrap();
            cache.dealloc(b, layout);
            let c = cache.alloc(other);
            assert_ne!(c, b);
            cache.dealloc(c, other);
        }
    }

    #[test]
    fn the_cache_stays_within_its_bounds() {
        let cache = BufferCache::new();
        let layout = Layout::from_size_align(MIN_BLOCK, 8).unwrap();
        unsafe {
            let blocks: Vec<*mut u8> = (0..SLOTS + 8).map(|_| cache.alloc(layout)).collect();
            for &b in &blocks {
                cache.dealloc(b, layout);
            }
            let kept = cache.cache.lock().unwrap();
            assert!(kept.bytes <= MAX_BYTES);
            assert_eq!(
                kept.bytes,
                kept.blocks.iter().flatten().map(|b| b.size).sum::<usize>()
            );
            assert!(
                kept.blocks
                    .iter()
                    .flatten()
                    .all(|b| !blocks[..8].contains(&(b.addr as *mut u8)))
            );
        }
    }
}
