//! The two synchronisation primitives the runtime needs: a cell that hands out its
//! contents once, and a spin lock.
//!
//! The runtime runs on the boot processor and at most one application processor (see
//! `arch::x86_64::smp`), which share these primitives through atomics. Data shared with
//! interrupt handlers is locked with interrupts disabled (the console does this), so a
//! handler never spins on a lock its own processor holds.

use core::cell::UnsafeCell;
use core::fmt;
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// A `static` that is filled once at run time and then handed out as `&'static mut`.
///
/// Used for tables and stacks the hardware keeps using (GDT, TSS, IDT, page tables, the
/// page bitmap): the first [`init`](Self::init) or [`init_zeroed`](Self::init_zeroed) gets
/// the only mutable reference; later calls get `None`.
///
/// An empty cell is all zero bytes, so it lives in `.bss`, which both entry points clear:
/// a kernel entered again (the 64-bit entry after a PVH boot, as `rt-check` does) starts
/// with empty cells, where a cell initialised at compile time (`.data`) would stay taken.
pub struct StaticCell<T> {
    taken: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is reachable only through the single `&'static mut T` handed out once
// (guarded by the atomic swap), so sharing the cell between threads shares nothing but the
// flag; the `&mut T` may move to another thread, hence `T: Send`.
unsafe impl<T: Send> Sync for StaticCell<T> {}

impl<T> StaticCell<T> {
    /// An empty cell.
    pub const fn new() -> Self {
        Self {
            taken: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Claims the cell: `true` exactly once.
    fn claim(&self) -> bool {
        !self.taken.swap(true, Ordering::AcqRel)
    }

    /// Moves `value` into the cell and returns it, the first time; `None` afterwards (and
    /// `value` is dropped).
    // The lint flags `&self -> &mut T`; here the atomic swap makes the `&mut` unique.
    #[allow(clippy::mut_from_ref)]
    pub fn init(&'static self, value: T) -> Option<&'static mut T> {
        if !self.claim() {
            return None;
        }
        // SAFETY: `claim` returned true exactly once, so this is the only reference ever
        // made to the storage, which lives as long as the 'static cell.
        let slot = unsafe { &mut *self.value.get() };
        Some(slot.write(value))
    }

    /// Fills the cell with zero bytes in place and returns it, the first time; `None`
    /// afterwards. For values too large to build on the stack.
    ///
    /// # Safety
    ///
    /// All-zero bytes must be a valid `T`.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn init_zeroed(&'static self) -> Option<&'static mut T> {
        if !self.claim() {
            return None;
        }
        // SAFETY: `claim` returned true exactly once, so this is the only reference ever
        // made to the storage, which lives as long as the 'static cell.
        let slot = unsafe { &mut *self.value.get() };
        // SAFETY: the pointer is the storage's own, valid and aligned for one `T`.
        unsafe { slot.as_mut_ptr().write_bytes(0, 1) };
        // SAFETY: the storage is all zero bytes, a valid `T` (the caller's duty).
        Some(unsafe { slot.assume_init_mut() })
    }
}

impl<T> Default for StaticCell<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for StaticCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCell")
            .field("taken", &self.taken.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A spin lock.
pub struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a `SpinLockGuard`, and at most one guard exists
// at a time (the atomic `locked` flag), so `&SpinLock<T>` gives exclusive access to a `T`
// that may be on another thread: `T: Send` is what that needs.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A lock holding `value`, unlocked.
    pub const fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Locks, spinning while another holder has it.
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        loop {
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
    }

    /// Locks if nobody holds the lock.
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| SpinLockGuard { lock: self })
    }
}

impl<T> fmt::Debug for SpinLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpinLock")
            .field("locked", &self.locked.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Exclusive access to the value of a [`SpinLock`]; unlocks when dropped.
pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one (the lock's flag), so no `&mut T` exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the only one (the lock's flag) and is borrowed mutably, so
        // this is the only reference to the value.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

impl<T> fmt::Debug for SpinLockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpinLockGuard").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::{SpinLock, StaticCell};
    use std::boxed::Box;

    #[test]
    fn static_cell_hands_out_once() {
        let cell: &'static StaticCell<u32> = Box::leak(Box::new(StaticCell::new()));
        let first = cell.init(7).expect("first init succeeds");
        *first += 1;
        assert_eq!(*first, 8);
        assert!(cell.init(9).is_none());
        // SAFETY: zero is a valid u32.
        assert!(unsafe { cell.init_zeroed() }.is_none());
    }

    #[test]
    fn static_cell_zeroes_in_place() {
        let cell: &'static StaticCell<[u64; 512]> = Box::leak(Box::new(StaticCell::new()));
        // SAFETY: all-zero bytes are a valid array of integers.
        let value = unsafe { cell.init_zeroed() }.expect("first init succeeds");
        assert!(value.iter().all(|&x| x == 0));
        assert!(cell.init([1; 512]).is_none());
    }

    #[test]
    fn spin_lock_excludes_a_second_holder() {
        let lock = SpinLock::new(1_u32);
        let mut guard = lock.lock();
        *guard += 1;
        assert!(lock.try_lock().is_none());
        drop(guard);
        assert_eq!(*lock.try_lock().expect("free again"), 2);
    }

    #[test]
    fn spin_lock_counts_across_threads() {
        let lock = std::sync::Arc::new(SpinLock::new(0_u64));
        let threads: std::vec::Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        *lock.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread finished");
        }
        assert_eq!(*lock.lock(), 4000);
    }
}
