//! When to tell the hypervisor about a long spin (TLFS 14.3.1, 14.5.1).
//!
//! The hypervisor recommends a spin count (CPUID 0x4000_0004 EBX, TLFS 2.4.5): a guest that
//! has retried a lock that many times should notify it with `HvCallNotifyLongSpinWait`
//! ([`crate::hypercall::Hypercalls::notify_long_spin_wait`]), and again at every multiple
//! of the count, so it can run the lock holder. 0xFFFF_FFFF means "never notify".
//! [`SpinWaitPolicy`] turns the recommendation into a per-iteration answer:
//!
//! ```no_run
//! # use core::sync::atomic::{AtomicBool, Ordering};
//! # use hv_guest::hypercall::Hypercalls;
//! # use hv_guest::platform::Platform;
//! use hv_guest::spinlock::SpinWaitPolicy;
//!
//! # fn lock<P: Platform>(locked: &AtomicBool, hc: Hypercalls<'_, P>,
//! #     recommendations: hv_defs::cpuid::HvEnlightenmentInformation) {
//! let policy = SpinWaitPolicy::new(recommendations);
//! let mut spins = 0u32;
//! while locked.swap(true, Ordering::Acquire) {
//!     spins = spins.wrapping_add(1);
//!     if policy.should_notify(spins) {
//!         // Advisory: the call cannot fail in a way the lock must handle (TLFS 14.5.1).
//!         let _ = hc.notify_long_spin_wait(spins);
//!     }
//!     core::hint::spin_loop();
//! }
//! # }
//! ```

use core::num::NonZeroU32;

use hv_defs::cpuid::HvEnlightenmentInformation;

/// The spin-notification policy of the partition.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct SpinWaitPolicy {
    every: Option<NonZeroU32>,
}

impl SpinWaitPolicy {
    /// Never notify.
    pub const NEVER: Self = Self { every: None };

    /// The policy the hypervisor recommends (TLFS 2.4.5).
    #[must_use]
    pub const fn new(recommendations: HvEnlightenmentInformation) -> Self {
        Self::from_retries(recommendations.spinlock_retries())
    }

    /// Notify every `retries` spins; `None` (the TLFS's 0xFFFF_FFFF) and 0 mean never. The
    /// TLFS gives 0 no meaning; reading it as "never" keeps an advisory call from being made
    /// on every spin.
    #[must_use]
    pub const fn from_retries(retries: Option<u32>) -> Self {
        match retries {
            Some(n) => Self {
                every: NonZeroU32::new(n),
            },
            None => Self::NEVER,
        }
    }

    /// The spin count between notifications, or `None` for never.
    #[must_use]
    pub const fn retries(&self) -> Option<NonZeroU32> {
        self.every
    }

    /// Whether to notify after `spins` failed attempts: at every non-zero multiple of the
    /// recommended count (TLFS 14.3.1).
    #[must_use]
    pub const fn should_notify(&self, spins: u32) -> bool {
        match self.every {
            Some(every) => spins != 0 && spins % every.get() == 0,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use super::*;

    #[test]
    fn notifies_at_every_multiple_of_the_recommended_count() {
        let policy = SpinWaitPolicy::new(
            HvEnlightenmentInformation::new().with_long_spin_wait_count(0x1000),
        );
        assert_eq!(policy.retries().map(NonZeroU32::get), Some(0x1000));
        let hits: Vec<u32> = (0..=0x3000).filter(|&s| policy.should_notify(s)).collect();
        assert_eq!(hits, [0x1000, 0x2000, 0x3000]);
    }

    #[test]
    fn never_notify_and_zero_mean_never() {
        let never = SpinWaitPolicy::new(
            HvEnlightenmentInformation::new().with_long_spin_wait_count(0xFFFF_FFFF),
        );
        assert_eq!(never, SpinWaitPolicy::NEVER);
        let zero = SpinWaitPolicy::from_retries(Some(0));
        for spins in [0, 1, 0xFFFF_FFFF] {
            assert!(!never.should_notify(spins));
            assert!(!zero.should_notify(spins));
        }
        assert!(SpinWaitPolicy::from_retries(Some(1)).should_notify(1));
    }
}
