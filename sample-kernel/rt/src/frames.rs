//! The physical page allocator: 4 KiB pages from the RAM of the memory map.
//!
//! [`FrameBitmap`] is the bookkeeping (one bit per page, set = not free), portable and
//! unit-tested on the host. On the kernel target, [`alloc_page`] hands out zeroed,
//! identity-mapped pages as [`PageBox`]es from a bitmap built at boot from the memory map
//! minus everything below 1 MiB (firmware, boot structures) and minus the kernel image.
//! Hypercall pages, SynIC pages and the like come from here.

use core::fmt;

use crate::bootinfo::{MemoryRegion, RegionKind};

/// Size of the pages the allocator hands out.
pub const PAGE_SIZE: u64 = 4096;

/// Why a page could not be returned to the allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// The address is not 4 KiB aligned.
    Unaligned(u64),
    /// The address is outside the memory the allocator manages.
    OutOfRange(u64),
    /// The page is free already, or was never the allocator's to give.
    NotAllocated(u64),
}

impl fmt::Display for FreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unaligned(a) => write!(f, "page address {a:#x} is not 4 KiB aligned"),
            Self::OutOfRange(a) => write!(f, "page {a:#x} is outside the managed memory"),
            Self::NotAllocated(a) => write!(f, "page {a:#x} is not allocated"),
        }
    }
}

impl core::error::Error for FreeError {}

/// One bit per 4 KiB page from physical address 0: set when the page is not free.
///
/// Pages become free only through [`add_free`](Self::add_free) (whole pages inside a
/// range); [`reserve`](Self::reserve) takes back every page a range touches. Freeing a page
/// that is not allocated is an error, so a double free is caught.
pub struct FrameBitmap<'a> {
    words: &'a mut [u64],
    free: usize,
    /// Index of a word at or before the first word with a free page.
    hint: usize,
    /// Pages ever made free (allocatable); only these may be freed back.
    managed: Option<&'a mut [u64]>,
}

impl<'a> FrameBitmap<'a> {
    /// A bitmap over `words.len() * 64` pages with no free page. `managed`, if given, must
    /// be as long as `words`; it records which pages were ever free so that [`free`]
    /// refuses pages that were never the allocator's.
    ///
    /// [`free`]: Self::free
    ///
    /// # Panics
    ///
    /// If `managed` is given with a length other than `words.len()` (a programming error
    /// in the caller, not data from the host).
    pub fn new(words: &'a mut [u64], managed: Option<&'a mut [u64]>) -> Self {
        words.fill(!0);
        let mut managed = managed;
        if let Some(m) = managed.as_deref_mut() {
            assert_eq!(
                m.len(),
                words.len(),
                "managed bitmap must match the page bitmap"
            );
            m.fill(0);
        }
        Self {
            words,
            free: 0,
            hint: 0,
            managed,
        }
    }

    /// Number of pages the bitmap covers.
    pub fn capacity(&self) -> u64 {
        self.words.len() as u64 * 64
    }

    /// One past the highest physical address the bitmap covers.
    pub fn limit(&self) -> u64 {
        self.capacity() * PAGE_SIZE
    }

    /// Number of free pages.
    pub const fn free_pages(&self) -> usize {
        self.free
    }

    /// Makes free every whole page inside `[start, end)` that the bitmap covers.
    pub fn add_free(&mut self, start: u64, end: u64) {
        let first = start.div_ceil(PAGE_SIZE);
        let last = (end / PAGE_SIZE).min(self.capacity());
        for page in first..last {
            self.set_free(page as usize);
        }
    }

    /// Takes away every page that `[start, end)` touches.
    pub fn reserve(&mut self, start: u64, end: u64) {
        if end <= start {
            return;
        }
        let first = start / PAGE_SIZE;
        let last = end.div_ceil(PAGE_SIZE).min(self.capacity());
        for page in first..last {
            self.set_used(page as usize);
        }
    }

    /// Allocates the lowest free page and returns its physical address.
    pub fn alloc(&mut self) -> Option<u64> {
        for w in self.hint..self.words.len() {
            let word = self.words[w];
            if word != !0 {
                let bit = word.trailing_ones() as usize;
                let page = w * 64 + bit;
                self.set_used(page);
                self.hint = w;
                return Some(page as u64 * PAGE_SIZE);
            }
        }
        self.hint = self.words.len();
        None
    }

    /// Allocates the lowest run of `count` free pages (at least one) and returns the
    /// physical address of its first page.
    pub fn alloc_contiguous(&mut self, count: usize) -> Option<u64> {
        let count = count.max(1);
        if count > self.free {
            return None;
        }
        let mut run_start = 0;
        let mut run = 0;
        for page in self.hint * 64..self.words.len() * 64 {
            if self.words[page / 64] & (1 << (page % 64)) != 0 {
                run = 0;
                continue;
            }
            if run == 0 {
                run_start = page;
            }
            run += 1;
            if run == count {
                for p in run_start..run_start + count {
                    self.set_used(p);
                }
                return Some(run_start as u64 * PAGE_SIZE);
            }
        }
        None
    }

    /// Returns an allocated page.
    ///
    /// # Errors
    ///
    /// [`FreeError`] when `addr` is unaligned, outside the bitmap, already free, or (when
    /// the bitmap tracks it) never was the allocator's.
    pub fn free(&mut self, addr: u64) -> Result<(), FreeError> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(FreeError::Unaligned(addr));
        }
        let page = addr / PAGE_SIZE;
        if page >= self.capacity() {
            return Err(FreeError::OutOfRange(addr));
        }
        let page = page as usize;
        let (w, bit) = (page / 64, 1_u64 << (page % 64));
        let managed = self.managed.as_ref().is_none_or(|m| m[w] & bit != 0);
        if self.words[w] & bit == 0 || !managed {
            return Err(FreeError::NotAllocated(addr));
        }
        self.set_free(page);
        Ok(())
    }

    fn set_free(&mut self, page: usize) {
        let (w, bit) = (page / 64, 1_u64 << (page % 64));
        if self.words[w] & bit != 0 {
            self.words[w] &= !bit;
            self.free += 1;
            self.hint = self.hint.min(w);
        }
        if let Some(managed) = self.managed.as_mut() {
            managed[w] |= bit;
        }
    }

    fn set_used(&mut self, page: usize) {
        let (w, bit) = (page / 64, 1_u64 << (page % 64));
        if self.words[w] & bit == 0 {
            self.words[w] |= bit;
            self.free -= 1;
        }
    }
}

impl fmt::Debug for FrameBitmap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameBitmap")
            .field("capacity", &self.capacity())
            .field("free", &self.free)
            .finish_non_exhaustive()
    }
}

/// Fills `bitmap` from a memory map: RAM regions become free, then every page that a
/// non-RAM region touches and every range in `reserved` is taken away (so overlapping or
/// unsorted maps can only lose pages, never hand out reserved ones).
pub fn populate(bitmap: &mut FrameBitmap<'_>, regions: &[MemoryRegion], reserved: &[(u64, u64)]) {
    for r in regions.iter().filter(|r| r.kind == RegionKind::RAM) {
        bitmap.add_free(r.start, r.end());
    }
    for r in regions.iter().filter(|r| r.kind != RegionKind::RAM) {
        bitmap.reserve(r.start, r.end());
    }
    // `populate` runs once at boot; the managed set is what is free now.
    for &(start, end) in reserved {
        bitmap.reserve(start, end);
    }
    if let Some(managed) = bitmap.managed.as_mut() {
        for (m, w) in managed.iter_mut().zip(bitmap.words.iter()) {
            *m = !*w;
        }
    }
}

#[cfg(rt_kernel)]
pub use global::{AllocError, Page, PageBox, alloc_page, alloc_pages_forever, free_pages, init};

#[cfg(rt_kernel)]
mod global {
    use core::fmt;
    use core::ops::{Deref, DerefMut};
    use core::ptr::NonNull;

    use super::{FrameBitmap, PAGE_SIZE, populate};
    use crate::arch::{IDENTITY_MAP_END, without_interrupts};
    use crate::bootinfo::BootInfo;
    use crate::sync::{SpinLock, StaticCell};

    /// Words of the bitmap: one bit per page of the identity-mapped range.
    const WORDS: usize = (IDENTITY_MAP_END / PAGE_SIZE / 64) as usize;

    static BITS: StaticCell<[[u64; WORDS]; 2]> = StaticCell::new();
    static FRAMES: SpinLock<Option<FrameBitmap<'static>>> = SpinLock::new(None);

    /// A 4 KiB page-aligned page of physical memory (identity-mapped).
    #[repr(C, align(4096))]
    pub struct Page(pub [u8; PAGE_SIZE as usize]);

    impl Page {
        /// The page's physical address (equal to its virtual address).
        pub fn phys_addr(&self) -> u64 {
            core::ptr::from_ref(self).addr() as u64
        }
    }

    impl fmt::Debug for Page {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Page({:#x})", self.phys_addr())
        }
    }

    /// An allocated page; returned to the allocator when dropped.
    ///
    /// A page handed to the hypervisor as an overlay (hypercall page, SynIC pages, ...)
    /// must stay allocated for as long as the overlay exists: [`leak`](Self::leak) it.
    pub struct PageBox {
        page: NonNull<Page>,
    }

    // SAFETY: a `PageBox` owns its page exclusively (the allocator hands each page out
    // once), like a `Box<Page>`.
    unsafe impl Send for PageBox {}
    // SAFETY: `&PageBox` only gives `&Page`, a byte array.
    unsafe impl Sync for PageBox {}

    impl PageBox {
        /// Keeps the page allocated forever and returns it.
        pub fn leak(self) -> &'static mut Page {
            let mut page = core::mem::ManuallyDrop::new(self).page;
            // SAFETY: the allocator handed this page out once, to this box, which is never
            // dropped (so never freed): the reference is unique and valid forever.
            unsafe { page.as_mut() }
        }
    }

    impl Deref for PageBox {
        type Target = Page;

        fn deref(&self) -> &Page {
            // SAFETY: the box owns the identity-mapped, zero-initialised page.
            unsafe { self.page.as_ref() }
        }
    }

    impl DerefMut for PageBox {
        fn deref_mut(&mut self) -> &mut Page {
            // SAFETY: the box owns the page exclusively.
            unsafe { self.page.as_mut() }
        }
    }

    impl Drop for PageBox {
        fn drop(&mut self) {
            let addr = self.page.addr().get() as u64;
            let freed = without_interrupts(|| FRAMES.lock().as_mut().map(|f| f.free(addr)));
            // The box came from this allocator and owned the page, so freeing it cannot
            // fail; an error here would mean the bitmap was corrupted.
            if let Some(Err(e)) = freed {
                panic!("page allocator: {e}");
            }
        }
    }

    impl fmt::Debug for PageBox {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(&**self, f)
        }
    }

    /// Why no page could be allocated.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum AllocError {
        /// Every page is in use.
        OutOfMemory,
        /// The allocator has not been set up (before the runtime calls the kernel).
        NotInitialized,
    }

    impl fmt::Display for AllocError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                Self::OutOfMemory => "out of physical pages",
                Self::NotInitialized => "page allocator not initialised",
            })
        }
    }

    impl core::error::Error for AllocError {}

    /// Allocates a zeroed 4 KiB page.
    ///
    /// # Errors
    ///
    /// [`AllocError`] when no page is free.
    pub fn alloc_page() -> Result<PageBox, AllocError> {
        // Interrupts stay off while the lock is held, so a handler may allocate too.
        let addr = without_interrupts(|| {
            FRAMES
                .lock()
                .as_mut()
                .ok_or(AllocError::NotInitialized)?
                .alloc()
                .ok_or(AllocError::OutOfMemory)
        })?;
        let ptr = core::ptr::with_exposed_provenance_mut::<Page>(addr as usize);
        // SAFETY: `addr` is a free RAM page below IDENTITY_MAP_END (the bitmap covers only
        // that range, and the kernel image and non-RAM regions were reserved), so it is
        // identity-mapped, writable, 4 KiB aligned and used by nothing else.
        unsafe { ptr.write_bytes(0, 1) };
        let page = NonNull::new(ptr).ok_or(AllocError::OutOfMemory)?;
        Ok(PageBox { page })
    }

    /// Allocates `count` zeroed, physically contiguous pages that stay allocated for ever
    /// (stacks of other processors, for example).
    ///
    /// # Errors
    ///
    /// [`AllocError`] when no run of `count` free pages exists.
    pub fn alloc_pages_forever(count: usize) -> Result<&'static mut [Page], AllocError> {
        let count = count.max(1);
        let addr = without_interrupts(|| {
            FRAMES
                .lock()
                .as_mut()
                .ok_or(AllocError::NotInitialized)?
                .alloc_contiguous(count)
                .ok_or(AllocError::OutOfMemory)
        })?;
        let ptr = core::ptr::with_exposed_provenance_mut::<Page>(addr as usize);
        // SAFETY: `addr` starts `count` free RAM pages below IDENTITY_MAP_END (the bitmap
        // covers only that range), identity-mapped, writable, 4 KiB aligned and used by
        // nothing else; they are never freed, so the slice is unique and valid for ever.
        unsafe { ptr.write_bytes(0, count) };
        // SAFETY: as above: `count` zeroed pages nobody else uses, never freed.
        Ok(unsafe { core::slice::from_raw_parts_mut(ptr, count) })
    }

    /// Number of free pages.
    pub fn free_pages() -> usize {
        without_interrupts(|| FRAMES.lock().as_ref().map_or(0, FrameBitmap::free_pages))
    }

    /// Builds the allocator from the boot memory map, keeping `reserved` ranges out.
    /// Called once by the runtime before the kernel's main function.
    pub fn init(boot: &BootInfo, reserved: &[(u64, u64)]) {
        // SAFETY: zero bytes are valid integers.
        let Some([words, managed]) = (unsafe { BITS.init_zeroed() }).map(|b| b.each_mut()) else {
            return;
        };
        let mut bitmap = FrameBitmap::new(words, Some(managed));
        populate(&mut bitmap, boot.regions(), reserved);
        without_interrupts(|| *FRAMES.lock() = Some(bitmap));
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::bootinfo::{MemoryRegion, RegionKind};
    use std::collections::BTreeSet;
    use std::vec;

    fn region(start: u64, size: u64, kind: RegionKind) -> MemoryRegion {
        MemoryRegion { start, size, kind }
    }

    #[test]
    fn hands_out_lowest_pages_first_and_only_free_ones() {
        let (mut words, mut managed) = (vec![0; 4], vec![0; 4]);
        let mut bitmap = FrameBitmap::new(&mut words, Some(&mut managed));
        populate(
            &mut bitmap,
            &[
                region(0, 0x20_000, RegionKind::RAM),
                region(0x3000, 0x1000, RegionKind::RESERVED),
            ],
            &[(0, 0x2000)],
        );
        // Pages 0 and 1 reserved by the caller, page 3 by the map: 32 - 3 free.
        assert_eq!(bitmap.free_pages(), 29);
        assert_eq!(bitmap.alloc(), Some(0x2000));
        assert_eq!(bitmap.alloc(), Some(0x4000));
        assert_eq!(bitmap.free_pages(), 27);
    }

    #[test]
    fn contiguous_runs_skip_used_pages() {
        let mut words = vec![0; 2];
        let mut bitmap = FrameBitmap::new(&mut words, None);
        populate(
            &mut bitmap,
            &[region(0, 0x80_000, RegionKind::RAM)],
            &[(0x3000, 0x4000), (0x8000, 0x9000)],
        );
        // Free: 0-2, 4-7, 9-127. A run of 4 starts at page 4, the next one at page 9.
        assert_eq!(bitmap.alloc_contiguous(4), Some(0x4000));
        assert_eq!(bitmap.alloc_contiguous(4), Some(0x9000));
        assert_eq!(bitmap.alloc(), Some(0));
        assert_eq!(bitmap.alloc_contiguous(200), None);
        assert_eq!(bitmap.free_pages(), 128 - 2 - 8 - 1);
        // The run may cross a word boundary.
        assert_eq!(bitmap.alloc_contiguous(100), Some(0xd000));
        assert_eq!(
            bitmap.alloc_contiguous(0),
            Some(0x1000),
            "at least one page"
        );
    }

    #[test]
    fn partial_pages_of_ram_are_not_used_but_partial_reservations_are_honoured() {
        let mut words = vec![0; 1];
        let mut bitmap = FrameBitmap::new(&mut words, None);
        populate(
            &mut bitmap,
            &[
                region(0x800, 0x3000, RegionKind::RAM),
                region(0x2fff, 2, RegionKind::ACPI),
            ],
            &[],
        );
        // RAM 0x800..0x3800 holds whole pages 1 and 2; ACPI touches pages 2 and 3.
        assert_eq!(bitmap.free_pages(), 1);
        assert_eq!(bitmap.alloc(), Some(0x1000));
        assert_eq!(bitmap.alloc(), None);
    }

    #[test]
    fn ram_beyond_the_bitmap_is_ignored() {
        let mut words = vec![0; 1];
        let mut bitmap = FrameBitmap::new(&mut words, None);
        populate(
            &mut bitmap,
            &[region(0, u64::MAX / 2, RegionKind::RAM)],
            &[],
        );
        assert_eq!(bitmap.free_pages(), 64);
        assert_eq!(bitmap.limit(), 64 * PAGE_SIZE);
    }

    #[test]
    fn free_checks_its_argument() {
        let (mut words, mut managed) = (vec![0; 1], vec![0; 1]);
        let mut bitmap = FrameBitmap::new(&mut words, Some(&mut managed));
        populate(
            &mut bitmap,
            &[region(0, 0x4000, RegionKind::RAM)],
            &[(0, 0x1000)],
        );
        let page = bitmap.alloc().expect("a free page");
        assert_eq!(bitmap.free(page + 1), Err(FreeError::Unaligned(page + 1)));
        assert_eq!(
            bitmap.free(64 * PAGE_SIZE),
            Err(FreeError::OutOfRange(64 * PAGE_SIZE))
        );
        // Page 0 was reserved, never the allocator's; page 5 is outside RAM.
        assert_eq!(bitmap.free(0), Err(FreeError::NotAllocated(0)));
        assert_eq!(bitmap.free(0x5000), Err(FreeError::NotAllocated(0x5000)));
        assert_eq!(bitmap.free(page), Ok(()));
        assert_eq!(
            bitmap.free(page),
            Err(FreeError::NotAllocated(page)),
            "double free"
        );
        assert_eq!(bitmap.alloc(), Some(page), "a freed page is reused");
    }

    proptest::proptest! {
        /// Allocating everything yields distinct, aligned RAM pages outside every reserved
        /// range and non-RAM region, exactly `free_pages()` of them; freeing them all
        /// restores the count.
        #[test]
        fn allocations_respect_the_map(
            map in proptest::collection::vec((0_u64..0x40_000, 0_u64..0x10_000, 1_u32..4), 0..12),
            reserved in proptest::collection::vec((0_u64..0x40_000, 0_u64..0x8000), 0..4),
        ) {
            let regions: std::vec::Vec<_> =
                map.iter().map(|&(s, l, k)| region(s, l, RegionKind(k))).collect();
            let reserved: std::vec::Vec<_> = reserved.iter().map(|&(s, l)| (s, s + l)).collect();
            let (mut words, mut managed) = (vec![0; 4], vec![0; 4]);
            let mut bitmap = FrameBitmap::new(&mut words, Some(&mut managed));
            populate(&mut bitmap, &regions, &reserved);
            let expected = bitmap.free_pages();
            let mut seen = BTreeSet::new();
            while let Some(page) = bitmap.alloc() {
                proptest::prop_assert_eq!(page % PAGE_SIZE, 0);
                proptest::prop_assert!(seen.insert(page), "page {:#x} handed out twice", page);
                let end = page + PAGE_SIZE;
                proptest::prop_assert!(regions.iter().any(|r| r.kind == RegionKind::RAM
                    && r.start <= page && end <= r.end()));
                proptest::prop_assert!(!regions.iter().any(|r| r.kind != RegionKind::RAM
                    && r.start < end && page < r.end()));
                proptest::prop_assert!(!reserved.iter().any(|&(s, e)| s < end && page < e));
            }
            proptest::prop_assert_eq!(seen.len(), expected);
            proptest::prop_assert_eq!(bitmap.free_pages(), 0);
            for &page in &seen {
                proptest::prop_assert_eq!(bitmap.free(page), Ok(()));
            }
            proptest::prop_assert_eq!(bitmap.free_pages(), expected);
        }
    }
}
