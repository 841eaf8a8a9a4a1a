//! Test support: page-aligned memory shared between "guest" and "host" test code.

extern crate std;

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use std::alloc::{Layout, alloc_zeroed, dealloc};

use hv_defs::HV_PAGE_SIZE;

use super::ring::Ring;
use super::shared::{copy_from_shared, copy_to_shared};

/// Zeroed, page-aligned pages, accessed only through raw pointers (like guest memory the host
/// can write). Freed on drop.
#[derive(Debug)]
pub(crate) struct Pages {
    base: NonNull<u8>,
    layout: Layout,
}

// SAFETY: the pages are plain memory owned by this value; every access goes through raw
// pointers whose users (rings, test hosts) synchronise with atomics.
unsafe impl Send for Pages {}
// SAFETY: as above; `&Pages` only hands out the base pointer and performs atomic or volatile
// accesses.
unsafe impl Sync for Pages {}

impl Pages {
    pub(crate) fn new(count: usize) -> Self {
        let layout = Layout::from_size_align(count * HV_PAGE_SIZE, HV_PAGE_SIZE).unwrap();
        // SAFETY: the layout has a nonzero size (tests ask for at least one page).
        let ptr = unsafe { alloc_zeroed(layout) };
        Self {
            base: NonNull::new(ptr).expect("test allocation failed"),
            layout,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.layout.size()
    }

    pub(crate) fn base(&self) -> NonNull<u8> {
        self.base
    }

    pub(crate) fn page(&self, index: usize) -> NonNull<u8> {
        assert!(index * HV_PAGE_SIZE < self.len());
        // SAFETY: inside the allocation (checked above).
        unsafe { self.base.add(index * HV_PAGE_SIZE) }
    }

    /// A ring over `count` pages starting at page `first`.
    pub(crate) fn ring(&self, first: usize, count: usize) -> Ring<'_> {
        assert!((first + count) * HV_PAGE_SIZE <= self.len());
        // SAFETY: inside the allocation, which outlives the ring (borrowed); tests create at
        // most one writer and one reader per ring, and touch it otherwise only with
        // `load_u32`/`store_u32`/`write_bytes`/`read_bytes` (atomic or volatile).
        unsafe { Ring::new(self.page(first), count * HV_PAGE_SIZE).unwrap() }
    }

    fn atomic(&self, offset: usize) -> &AtomicU32 {
        assert!(offset % 4 == 0 && offset + 4 <= self.len());
        // SAFETY: aligned and inside the allocation; all accesses to control fields are
        // atomic.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().wrapping_add(offset).cast::<u32>()) }
    }

    pub(crate) fn load_u32(&self, offset: usize) -> u32 {
        self.atomic(offset).load(Ordering::SeqCst)
    }

    pub(crate) fn store_u32(&self, offset: usize, value: u32) {
        self.atomic(offset).store(value, Ordering::SeqCst);
    }

    pub(crate) fn write_bytes(&self, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= self.len());
        // SAFETY: inside the allocation; no reference to it exists.
        unsafe { copy_to_shared(self.base.as_ptr().wrapping_add(offset), bytes) };
    }

    pub(crate) fn read_bytes(&self, offset: usize, out: &mut [u8]) {
        assert!(offset + out.len() <= self.len());
        // SAFETY: inside the allocation.
        unsafe { copy_from_shared(self.base.as_ptr().wrapping_add(offset), out) };
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.base.as_ptr(), self.layout) };
    }
}

/// A small deterministic generator (xorshift64*), so tests need no RNG crate.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..bound`.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// Proptest settings: few cases under Miri, no failure files (Miri has no file system).
pub(crate) fn proptest_config() -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: if cfg!(miri) { 6 } else { 512 },
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
