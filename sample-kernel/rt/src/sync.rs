//! The two synchronisation primitives the runtime needs: a cell that hands out its
//! contents once, and a spin lock.
//!
//! The runtime runs on one processor. Data shared with interrupt handlers is locked with
//! interrupts disabled (the console does this), so a handler never spins on a lock its own
//! processor holds.

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// A `static` whose contents are handed out as `&'static mut` exactly once.
///
/// Used for tables and stacks the hardware keeps using (GDT, TSS, IDT, page tables): the
/// first [`take`](Self::take) gets the only mutable reference; later calls get `None`.
pub struct StaticCell<T> {
    taken: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reachable only through the single `&'static mut T` that `take`
// returns once (guarded by the atomic swap), so sharing the cell between threads is sharing
// nothing but the flag; the `&mut T` may move to another thread, hence `T: Send`.
unsafe impl<T: Send> Sync for StaticCell<T> {}

impl<T> StaticCell<T> {
    /// A cell holding `value`, not yet taken.
    pub const fn new(value: T) -> Self {
        Self {
            taken: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The contents, the first time; `None` afterwards.
    // The lint flags `&self -> &mut T`; here the atomic swap makes the `&mut` unique.
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.swap(true, Ordering::AcqRel) {
            None
        } else {
            // SAFETY: the swap above returned `false` exactly once, so this is the only
            // reference ever created to the value; it lives as long as the `'static` cell.
            Some(unsafe { &mut *self.value.get() })
        }
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
        let cell: &'static StaticCell<u32> = Box::leak(Box::new(StaticCell::new(7)));
        let first = cell.take().expect("first take succeeds");
        *first += 1;
        assert_eq!(*first, 8);
        assert!(cell.take().is_none());
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
