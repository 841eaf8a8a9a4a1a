//! Partition reference time: the reference counter and the reference TSC page (TLFS 12.4,
//! 12.7), and the x64 TSC and APIC frequency registers (appendix C).
//!
//! [`ReferenceTime`] is one partition-wide clock in 100 ns units, for every CPU:
//!
//! * without a TSC page it reads the reference counter register (`HvRegisterTimeRefCount`,
//!   x64 MSR 0x4000_0020), which needs `AccessPartitionReferenceCounter` and costs an exit
//!   per read;
//! * with [`ReferenceTime::enable_tsc_page`] it reads the reference TSC page, which needs
//!   `AccessPartitionReferenceTsc` and costs no exit: `((tsc × scale) >> 64) + offset`
//!   computed from the page and the processor's time-stamp counter ([`TscSource`]).
//!
//! # The sequence protocol (TLFS 12.7.3)
//!
//! The hypervisor changes scale and offset (after migration or restore) while guests read
//! them, and announces it through `TscSequence`, a seqlock:
//!
//! 1. read the sequence (acquire); 0 means the page is not a reliable source now: read the
//!    reference counter instead (when the partition has it; otherwise
//!    [`TimeError::TscPageInvalid`]);
//! 2. read the TSC, the scale and the offset;
//! 3. read the sequence again (after an acquire fence); if it changed, start over;
//! 4. compute with 128-bit arithmetic ([`hv_reference_time`]).
//!
//! The loop is not bounded and need not be: the hypervisor changes the page only at rare
//! events (migration, restore, a TSC frequency change), each a single update, so a reader
//! retries at most once per update that overlaps its few instructions; it cannot be starved
//! unless the hypervisor rewrites the page continuously, which the TLFS never does. A bound
//! would turn that into an error where the protocol promises a value.
//!
//! Reads from different CPUs (or across an update) may differ by a few units in either
//! direction; [`ReferenceTime::now`] makes them monotonic by never returning less than the
//! largest value it returned before (an atomic maximum shared by all CPUs).
//!
//! # The TSC
//!
//! [`TscSource`] is the seam: on x64 it is RDTSC (ordered by LFENCE), implemented by
//! `crate::arch::x86_64::X64`; on arm64 it is the virtual counter CNTVCT_EL0 (ordered by
//! ISB), implemented by `crate::arch::aarch64::Arm64`.
//!
//! ```no_run
//! # #[cfg(target_arch = "x86_64")] {
//! # use hv_guest::page::PhysPage;
//! # fn demo(privileges: hv_defs::partition::HvPartitionPrivilegeMask, page: PhysPage<'static>)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! use hv_guest::arch::x86_64::X64;
//! use hv_guest::reftime::ReferenceTime;
//!
//! static PLATFORM: X64 = X64;
//! let mut clock = ReferenceTime::new(&PLATFORM, X64, privileges)?;
//! clock.enable_tsc_page(page)?; // optional: reads without exits
//! let t0 = clock.now()?;        // 100 ns units since partition creation
//! let ns = clock.now_ns()?;
//! # let _ = (t0, ns); Ok(()) }
//! # }
//! ```

use core::mem::offset_of;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering, fence};

use hv_defs::HvGpa;
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use hv_defs::cpuid::HvFeatures;
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use hv_defs::msr::{HV_X64_MSR_APIC_FREQUENCY, HV_X64_MSR_TSC_FREQUENCY};
use hv_defs::partition::HvPartitionPrivilegeMask;
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;
use hv_defs::timer::{
    HV_REFERENCE_TIME_UNIT_NS, HV_REFERENCE_TSC_SEQUENCE_INVALID, HvReferenceTscPage,
    hv_reference_time,
};

use crate::gate::{AccessError, Unavailable};
use crate::overlay::{Overlay, OverlayError, OverlayErrorReason};
use crate::page::PhysPage;
use crate::platform::Platform;
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
use crate::platform::X64Platform;

/// The processor's time-stamp counter, the input of the reference TSC page (TLFS 12.7.3
/// `VirtualTsc`).
pub trait TscSource {
    /// Reads the counter. Implementations order the read after earlier loads (x64: LFENCE
    /// before RDTSC), so it cannot be taken before the first sequence read.
    fn read_tsc(&self) -> u64;
}

impl<T: TscSource + ?Sized> TscSource for &T {
    fn read_tsc(&self) -> u64 {
        (**self).read_tsc()
    }
}

/// Where a reading came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TimeSource {
    /// The reference TSC page (TLFS 12.7).
    TscPage,
    /// The reference counter register (TLFS 12.4).
    Counter,
}

/// One reading of the reference time.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reading {
    /// The reference time in 100 ns units.
    pub time: u64,
    /// Its source.
    pub source: TimeSource,
}

/// Why the reference time could not be read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// The TSC page's sequence is 0 (not a reliable source now, TLFS 12.7.3.2) and the
    /// partition has no reference counter to fall back to.
    TscPageInvalid,
    /// No TSC page is enabled and the partition has no reference counter.
    NoSource,
    /// The platform could not read the reference counter register.
    Register(HvError),
}

impl core::fmt::Display for TimeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TscPageInvalid => {
                f.write_str("the reference TSC page is invalid and there is no reference counter")
            }
            Self::NoSource => f.write_str("no reference TSC page and no reference counter"),
            Self::Register(error) => write!(f, "reading the reference counter failed: {error}"),
        }
    }
}

impl core::error::Error for TimeError {}

/// The partition reference clock (see the module docs).
#[derive(Debug)]
pub struct ReferenceTime<'p, P: Platform, T: TscSource> {
    platform: &'p P,
    tsc: T,
    counter: bool,
    tsc_privilege: bool,
    page: Option<Overlay>,
    last: AtomicU64,
}

// SAFETY: the only field that is not `Send`/`Sync` by itself is the overlay's page pointer.
// The page is hypervisor-written memory that this type only reads, with atomic loads, through
// `&self`; enabling and disabling (which create and end the pointer) take `&mut self`. The
// platform is shared by reference and the TSC source by value, hence the bounds.
unsafe impl<P: Platform + Sync, T: TscSource + Send> Send for ReferenceTime<'_, P, T> {}

// SAFETY: as for `Send`; concurrent `&self` reads of the page are atomic loads.
unsafe impl<P: Platform + Sync, T: TscSource + Sync> Sync for ReferenceTime<'_, P, T> {}

impl<'p, P: Platform, T: TscSource> ReferenceTime<'p, P, T> {
    /// A clock on `platform`, reading the TSC from `tsc`; starts with the reference counter
    /// only.
    ///
    /// # Errors
    ///
    /// [`Unavailable::AccessPartitionReferenceCounter`] when the partition has neither the
    /// counter nor the TSC page privilege (TLFS 4.2.2).
    pub fn new(
        platform: &'p P,
        tsc: T,
        privileges: HvPartitionPrivilegeMask,
    ) -> Result<Self, Unavailable> {
        let counter = privileges.access_partition_reference_counter();
        let tsc_privilege = privileges.access_partition_reference_tsc();
        if !counter && !tsc_privilege {
            return Err(Unavailable::AccessPartitionReferenceCounter);
        }
        Ok(Self {
            platform,
            tsc,
            counter,
            tsc_privilege,
            page: None,
            last: AtomicU64::new(0),
        })
    }

    /// Whether the partition has the reference counter (`AccessPartitionReferenceCounter`).
    #[must_use]
    pub const fn has_counter(&self) -> bool {
        self.counter
    }

    /// Reads the reference counter register (TLFS 12.4.1), in 100 ns units.
    ///
    /// # Errors
    ///
    /// [`AccessError::Unavailable`] without `AccessPartitionReferenceCounter` (nothing is
    /// touched), [`AccessError::Hv`] when the platform cannot read the register.
    pub fn counter(&self) -> Result<u64, AccessError> {
        let value = self
            .read_counter()
            .ok_or(Unavailable::AccessPartitionReferenceCounter)?;
        Ok(value?)
    }

    /// The reference counter register, or `None` without its privilege.
    fn read_counter(&self) -> Option<Result<u64, HvError>> {
        self.counter.then(|| {
            // SAFETY: the register exists: its privilege was just checked (TLFS 12.4).
            unsafe {
                self.platform
                    .read_register(HvRegisterName::HvRegisterTimeRefCount)
            }
        })
    }

    /// Enables the reference TSC page at `page` (TLFS 12.7.1): zeroes it, writes the
    /// register (RsvdP bits preserved) and checks the read-back. From then on [`Self::read`]
    /// uses the page.
    ///
    /// # Errors
    ///
    /// [`OverlayError`] with the page given back: no `AccessPartitionReferenceTsc` privilege
    /// (nothing touched), a page already enabled, or a host that did not accept the page.
    pub fn enable_tsc_page(&mut self, page: PhysPage<'static>) -> Result<(), OverlayError> {
        let fail = |page, reason| Err(OverlayError { page, reason });
        if !self.tsc_privilege {
            let missing = Unavailable::AccessPartitionReferenceTsc;
            return fail(page, OverlayErrorReason::Unavailable(missing));
        }
        if self.page.is_some() {
            return fail(page, OverlayErrorReason::AlreadyEnabled);
        }
        // SAFETY: the reference TSC register exists with the privilege just checked and has
        // the overlay layout (TLFS 12.7.1).
        let overlay = unsafe {
            Overlay::enable(self.platform, HvRegisterName::HvRegisterReferenceTsc, page)
        }?;
        self.page = Some(overlay);
        Ok(())
    }

    /// The guest physical address of the enabled TSC page.
    #[must_use]
    pub fn tsc_page_gpa(&self) -> Option<HvGpa> {
        self.page.as_ref().map(Overlay::gpa)
    }

    /// Disables the TSC page (clears its enable bit) and gives it back; `None` when none is
    /// enabled. The clock goes back to the reference counter.
    ///
    /// # Errors
    ///
    /// The platform's error when the register could not be written; the page stays enabled.
    pub fn disable_tsc_page(&mut self) -> Result<Option<PhysPage<'static>>, HvError> {
        let Some(overlay) = self.page.take() else {
            return Ok(None);
        };
        match overlay.disable(self.platform) {
            Ok(page) => Ok(Some(page)),
            Err((overlay, error)) => {
                self.page = Some(overlay);
                Err(error)
            }
        }
    }

    /// One reading: the TSC page when enabled and valid, the reference counter otherwise
    /// (TLFS 12.7.3.3). Not monotonic across CPUs; see [`Self::now`].
    ///
    /// # Errors
    ///
    /// [`TimeError`] when neither source can answer.
    pub fn read(&self) -> Result<Reading, TimeError> {
        let page_invalid = match &self.page {
            Some(overlay) => match read_tsc_page(overlay.page().cast(), &self.tsc) {
                Some(time) => {
                    return Ok(Reading {
                        time,
                        source: TimeSource::TscPage,
                    });
                }
                None => true,
            },
            None => false,
        };
        match self.read_counter() {
            Some(Ok(time)) => Ok(Reading {
                time,
                source: TimeSource::Counter,
            }),
            Some(Err(error)) => Err(TimeError::Register(error)),
            None if page_invalid => Err(TimeError::TscPageInvalid),
            None => Err(TimeError::NoSource),
        }
    }

    /// The reference time in 100 ns units, never less than a value this clock returned
    /// before (on any CPU).
    ///
    /// # Errors
    ///
    /// As [`Self::read`].
    pub fn now(&self) -> Result<u64, TimeError> {
        let time = self.read()?.time;
        Ok(self.last.fetch_max(time, Ordering::Relaxed).max(time))
    }

    /// [`Self::now`] in nanoseconds (saturating: 100 ns units overflow nanoseconds after
    /// 584 years).
    ///
    /// # Errors
    ///
    /// As [`Self::read`].
    pub fn now_ns(&self) -> Result<u64, TimeError> {
        Ok(self.now()?.saturating_mul(HV_REFERENCE_TIME_UNIT_NS))
    }
}

/// The sequence loop of TLFS 12.7.3.3 over a live reference TSC page; `None` when the
/// sequence is [`HV_REFERENCE_TSC_SEQUENCE_INVALID`].
fn read_tsc_page(page: NonNull<HvReferenceTscPage>, tsc: &impl TscSource) -> Option<u64> {
    let base = page.as_ptr();
    let scale_at = offset_of!(HvReferenceTscPage, tsc_scale);
    let offset_at = offset_of!(HvReferenceTscPage, tsc_offset);
    // SAFETY: `page` is the enabled overlay, a live 4 KiB page owned by the clock and
    // reached only by atomic accesses (the hypervisor writes it concurrently). The fields
    // are naturally aligned inside the page-aligned page (offsets 0, 8, 16).
    let sequence = unsafe { AtomicU32::from_ptr(base.cast::<u32>()) };
    // SAFETY: see above.
    let scale = unsafe { AtomicU64::from_ptr(base.wrapping_byte_add(scale_at).cast::<u64>()) };
    // SAFETY: see above.
    let offset = unsafe { AtomicI64::from_ptr(base.wrapping_byte_add(offset_at).cast::<i64>()) };
    loop {
        let start = sequence.load(Ordering::Acquire);
        if start == HV_REFERENCE_TSC_SEQUENCE_INVALID {
            return None;
        }
        let tsc_value = tsc.read_tsc();
        let scale_value = scale.load(Ordering::Relaxed);
        let offset_value = offset.load(Ordering::Relaxed);
        // Orders the loads above before the second sequence load (the seqlock reader's
        // fence); the hypervisor's writer side increments the sequence after its update.
        fence(Ordering::Acquire);
        if sequence.load(Ordering::Relaxed) == start {
            return Some(hv_reference_time(tsc_value, scale_value, offset_value));
        }
    }
}

/// The TSC and local APIC timer frequencies, in Hz (x64 MSRs 0x4000_0022 and 0x4000_0023,
/// appendix C).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frequencies {
    /// `HV_X64_MSR_TSC_FREQUENCY`.
    pub tsc_hz: u64,
    /// `HV_X64_MSR_APIC_FREQUENCY`.
    pub apic_hz: u64,
}

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
/// Reads the TSC and APIC frequency registers (x64 only: arm64 has CNTFRQ_EL0 instead).
/// They need the `AccessFrequencyRegs` privilege (TLFS 4.2.2) and the "timer frequency
/// details available" feature (CPUID 0x4000_0003 EDX bit 8, TLFS 2.4.4), as Linux checks.
///
/// # Errors
///
/// [`Unavailable`] naming the missing bit; no MSR is touched then.
pub fn frequencies<P: X64Platform>(
    platform: &P,
    features: HvFeatures,
) -> Result<Frequencies, Unavailable> {
    Unavailable::AccessFrequencyRegs.require(features.privileges().access_frequency_regs())?;
    Unavailable::FrequencyRegsAvailable.require(features.frequency_regs_available())?;
    // SAFETY: the read-only MSR exists with the privilege and feature just checked
    // (appendix C); reading it has no effect.
    let tsc_hz = unsafe { platform.read_msr(HV_X64_MSR_TSC_FREQUENCY) };
    // SAFETY: as above.
    let apic_hz = unsafe { platform.read_msr(HV_X64_MSR_APIC_FREQUENCY) };
    Ok(Frequencies { tsc_hz, apic_hz })
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::cell::{Cell, RefCell};
    use std::boxed::Box;
    use std::vec::Vec;

    use hv_defs::msr::{HV_X64_MSR_REFERENCE_TSC, HV_X64_MSR_TIME_REF_COUNT};
    use proptest::prelude::*;

    use super::*;
    use crate::testing::{Event, FakePlatform, MsrAccess};
    use crate::vpset::tests::proptest_config;

    /// A TSC that returns `value` and runs `on_read` (the "hypervisor") on every read, with
    /// the number of the read (0 first).
    struct ScriptedTsc {
        value: Cell<u64>,
        reads: Cell<u32>,
        on_read: RefCell<Box<dyn FnMut(u32)>>,
    }

    impl ScriptedTsc {
        fn new(value: u64) -> Self {
            Self {
                value: Cell::new(value),
                reads: Cell::new(0),
                on_read: RefCell::new(Box::new(|_| {})),
            }
        }
    }

    impl TscSource for ScriptedTsc {
        fn read_tsc(&self) -> u64 {
            let n = self.reads.get();
            self.reads.set(n + 1);
            (self.on_read.borrow_mut())(n);
            self.value.get()
        }
    }

    /// The hypervisor's side: writes the overlay at `gpa` through the exposed address, as a
    /// seqlock writer (data first, sequence last).
    fn publish(gpa: HvGpa, sequence: u32, scale: u64, offset: i64) {
        let page = core::ptr::with_exposed_provenance_mut::<u8>(gpa as usize);
        // SAFETY: the page is the live overlay the clock exposed, reached only by atomics;
        // the offsets are those of `HvReferenceTscPage`.
        let seq = unsafe { AtomicU32::from_ptr(page.cast()) };
        // SAFETY: as above.
        let sc = unsafe { AtomicU64::from_ptr(page.wrapping_add(8).cast()) };
        // SAFETY: as above.
        let off = unsafe { AtomicI64::from_ptr(page.wrapping_add(16).cast()) };
        sc.store(scale, Ordering::Relaxed);
        off.store(offset, Ordering::Relaxed);
        seq.store(sequence, Ordering::Release);
    }

    const COUNTER: u64 = 0x1234_5678;

    fn privileges(counter: bool, tsc: bool) -> HvPartitionPrivilegeMask {
        HvPartitionPrivilegeMask::new()
            .with_access_partition_reference_counter(counter)
            .with_access_partition_reference_tsc(tsc)
    }

    fn partition() -> FakePlatform {
        let fake = FakePlatform::new();
        fake.define_msr(HV_X64_MSR_TIME_REF_COUNT, COUNTER, MsrAccess::ReadOnly);
        // RsvdP bits 11:1 set, as a host may report them.
        fake.define_msr(HV_X64_MSR_REFERENCE_TSC, 0xFFE, MsrAccess::ReadWrite);
        fake
    }

    /// A clock with the TSC page enabled; returns it with the page's GPA.
    fn page_clock<'f>(
        fake: &'f FakePlatform,
        tsc: &'f ScriptedTsc,
        counter: bool,
    ) -> (ReferenceTime<'f, FakePlatform, &'f ScriptedTsc>, HvGpa) {
        let mut clock = ReferenceTime::new(fake, tsc, privileges(counter, true)).unwrap();
        let page = fake.page();
        let gpa = page.gpa();
        clock.enable_tsc_page(page).unwrap();
        fake.clear_log();
        (clock, gpa)
    }

    #[test]
    fn without_a_page_the_counter_register_is_read() {
        let fake = partition();
        let tsc = ScriptedTsc::new(0);
        let clock = ReferenceTime::new(&fake, &tsc, privileges(true, false)).unwrap();
        assert_eq!(
            clock.read(),
            Ok(Reading {
                time: COUNTER,
                source: TimeSource::Counter
            })
        );
        assert_eq!(clock.now_ns(), Ok(COUNTER * 100));
        assert_eq!(
            fake.log(),
            [
                Event::ReadMsr(HV_X64_MSR_TIME_REF_COUNT, COUNTER),
                Event::ReadMsr(HV_X64_MSR_TIME_REF_COUNT, COUNTER)
            ]
        );
        assert_eq!(tsc.reads.get(), 0);
    }

    #[test]
    fn enabling_preserves_rsvdp_and_checks_the_readback() {
        let fake = partition();
        let tsc = ScriptedTsc::new(0);
        let mut clock = ReferenceTime::new(&fake, &tsc, privileges(true, true)).unwrap();
        let mut page = fake.page();
        page.bytes_mut().fill(0xAA);
        let gpa = page.gpa();
        clock.enable_tsc_page(page).unwrap();
        assert_eq!(
            fake.log(),
            [
                Event::ReadMsr(HV_X64_MSR_REFERENCE_TSC, 0xFFE),
                Event::WriteMsr(HV_X64_MSR_REFERENCE_TSC, gpa | 0xFFF),
                Event::ReadMsr(HV_X64_MSR_REFERENCE_TSC, gpa | 0xFFF),
            ]
        );
        assert_eq!(clock.tsc_page_gpa(), Some(gpa));
        // The page was zeroed: sequence 0 until the hypervisor fills it, so the counter.
        assert_eq!(clock.read().map(|r| r.source), Ok(TimeSource::Counter));
        let second = fake.page();
        let err = clock.enable_tsc_page(second).unwrap_err();
        assert_eq!(err.reason, OverlayErrorReason::AlreadyEnabled);
    }

    #[test]
    fn the_page_gives_scaled_tsc_plus_offset_without_any_register_access() {
        let fake = partition();
        let tsc = ScriptedTsc::new(1000);
        let (clock, gpa) = page_clock(&fake, &tsc, true);
        // Scale 2^63 is one half.
        publish(gpa, 1, 1 << 63, 100);
        assert_eq!(
            clock.read(),
            Ok(Reading {
                time: 600,
                source: TimeSource::TscPage
            })
        );
        assert!(fake.log().is_empty());
        assert_eq!(tsc.reads.get(), 1);
    }

    #[test]
    fn a_sequence_change_between_the_two_reads_makes_the_reader_retry() {
        let fake = partition();
        let tsc = ScriptedTsc::new(1000);
        let (clock, gpa) = page_clock(&fake, &tsc, true);
        publish(gpa, 7, 1 << 63, 100);
        // During the first read, the hypervisor updates scale and offset (sequence 7 -> 8).
        *tsc.on_read.borrow_mut() = Box::new(move |n| {
            if n == 0 {
                publish(gpa, 8, 1 << 62, 5);
            }
        });
        // The first attempt's values (600) are discarded; the retry uses the new ones.
        assert_eq!(clock.read().map(|r| r.time), Ok(250 + 5));
        assert_eq!(tsc.reads.get(), 2);
        assert!(fake.log().is_empty());
    }

    #[test]
    fn sequence_zero_falls_back_to_the_counter_or_fails_without_one() {
        let fake = partition();
        let tsc = ScriptedTsc::new(1000);
        let (clock, gpa) = page_clock(&fake, &tsc, true);
        publish(gpa, 3, 1 << 63, 0);
        assert_eq!(clock.read().map(|r| r.source), Ok(TimeSource::TscPage));
        publish(gpa, HV_REFERENCE_TSC_SEQUENCE_INVALID, 1 << 63, 0);
        assert_eq!(
            clock.read(),
            Ok(Reading {
                time: COUNTER,
                source: TimeSource::Counter
            })
        );
        // The TSC is not read once the sequence says the page is invalid.
        assert_eq!(tsc.reads.get(), 1);

        let fake = partition();
        let (clock, gpa) = page_clock(&fake, &tsc, false);
        publish(gpa, 0, 1 << 63, 0);
        assert_eq!(clock.read(), Err(TimeError::TscPageInvalid));
        assert_eq!(
            clock.counter(),
            Err(AccessError::Unavailable(
                Unavailable::AccessPartitionReferenceCounter
            ))
        );
        assert!(
            fake.log().is_empty(),
            "no counter MSR without its privilege"
        );
    }

    #[test]
    fn now_never_goes_back() {
        let fake = partition();
        let tsc = ScriptedTsc::new(1000);
        let (clock, gpa) = page_clock(&fake, &tsc, true);
        publish(gpa, 1, 1 << 63, 1_000);
        assert_eq!(clock.now(), Ok(1_500));
        // An update moves the raw reading back by 400 units.
        publish(gpa, 2, 1 << 63, 600);
        assert_eq!(clock.read().map(|r| r.time), Ok(1_100));
        assert_eq!(clock.now(), Ok(1_500));
        assert_eq!(clock.now_ns(), Ok(150_000));
        tsc.value.set(3000);
        assert_eq!(clock.now(), Ok(2_100));
        let readings: Vec<u64> = (0..5)
            .map(|i| {
                tsc.value.set(3000 - 100 * i);
                clock.now().unwrap()
            })
            .collect();
        assert!(readings.iter().all(|&t| t == 2_100));
    }

    #[test]
    fn missing_privileges_touch_nothing() {
        let fake = partition();
        let tsc = ScriptedTsc::new(0);
        assert_eq!(
            ReferenceTime::new(&fake, &tsc, privileges(false, false)).map(|_| ()),
            Err(Unavailable::AccessPartitionReferenceCounter)
        );
        let mut clock = ReferenceTime::new(&fake, &tsc, privileges(true, false)).unwrap();
        let err = clock.enable_tsc_page(fake.page()).unwrap_err();
        assert_eq!(
            err.reason,
            OverlayErrorReason::Unavailable(Unavailable::AccessPartitionReferenceTsc)
        );
        assert!(fake.log().is_empty());
        let only_tsc = ReferenceTime::new(&fake, &tsc, privileges(false, true)).unwrap();
        assert_eq!(only_tsc.read(), Err(TimeError::NoSource));
        assert!(fake.log().is_empty());
    }

    #[test]
    fn a_host_that_ignores_the_page_is_reported_and_the_page_returned() {
        let fake = partition();
        fake.define_msr(HV_X64_MSR_REFERENCE_TSC, 0, MsrAccess::DropsWrites);
        let tsc = ScriptedTsc::new(0);
        let mut clock = ReferenceTime::new(&fake, &tsc, privileges(true, true)).unwrap();
        let page = fake.page();
        let gpa = page.gpa();
        let err = clock.enable_tsc_page(page).unwrap_err();
        assert_eq!(err.reason, OverlayErrorReason::NotAccepted { readback: 0 });
        assert_eq!(err.page.gpa(), gpa);
        assert_eq!(clock.tsc_page_gpa(), None);
    }

    #[test]
    fn disabling_clears_only_enable_and_returns_the_page() {
        let fake = partition();
        let tsc = ScriptedTsc::new(1000);
        let (mut clock, gpa) = page_clock(&fake, &tsc, true);
        publish(gpa, 1, 1 << 63, 0);
        let page = clock.disable_tsc_page().unwrap().unwrap();
        assert_eq!(page.gpa(), gpa);
        // The hypervisor's last contents are visible through the page again.
        assert_eq!(page.bytes()[0], 1);
        assert_eq!(
            fake.log(),
            [
                Event::ReadMsr(HV_X64_MSR_REFERENCE_TSC, gpa | 0xFFF),
                Event::WriteMsr(HV_X64_MSR_REFERENCE_TSC, gpa | 0xFFE),
            ]
        );
        assert_eq!(clock.read().map(|r| r.source), Ok(TimeSource::Counter));
        assert!(matches!(clock.disable_tsc_page(), Ok(None)));
    }

    #[test]
    fn frequencies_need_the_privilege_and_the_feature() {
        let fake = FakePlatform::new();
        fake.define_msr(HV_X64_MSR_TSC_FREQUENCY, 2_500_000_000, MsrAccess::ReadOnly);
        fake.define_msr(HV_X64_MSR_APIC_FREQUENCY, 200_000_000, MsrAccess::ReadOnly);
        let privileged = HvFeatures::new()
            .with_privileges(HvPartitionPrivilegeMask::new().with_access_frequency_regs(true));
        assert_eq!(
            frequencies(&fake, privileged),
            Err(Unavailable::FrequencyRegsAvailable)
        );
        assert_eq!(
            frequencies(&fake, HvFeatures::new().with_frequency_regs_available(true)),
            Err(Unavailable::AccessFrequencyRegs)
        );
        assert!(fake.log().is_empty());
        assert_eq!(
            frequencies(&fake, privileged.with_frequency_regs_available(true)),
            Ok(Frequencies {
                tsc_hz: 2_500_000_000,
                apic_hz: 200_000_000
            })
        );
    }

    /// `((tsc * scale) >> 64) + offset` by schoolbook multiplication in 32-bit limbs, with
    /// no 128-bit type.
    fn reference(tsc: u64, scale: u64, offset: i64) -> u64 {
        let (a, b) = (
            [tsc & 0xFFFF_FFFF, tsc >> 32],
            [scale & 0xFFFF_FFFF, scale >> 32],
        );
        let mut limbs = [0u64; 4];
        for i in 0..2 {
            let mut carry = 0;
            for j in 0..2 {
                let t = a[i] * b[j] + limbs[i + j] + carry;
                limbs[i + j] = t & 0xFFFF_FFFF;
                carry = t >> 32;
            }
            limbs[i + 2] += carry;
        }
        (limbs[3] << 32 | limbs[2]).wrapping_add(offset as u64)
    }

    proptest! {
        #![proptest_config(proptest_config())]

        #[test]
        fn the_page_read_matches_the_reference_arithmetic(
            tsc_value in any::<u64>(),
            scale in any::<u64>(),
            offset in any::<i64>(),
            sequence in 1u32..,
        ) {
            let fake = partition();
            let tsc = ScriptedTsc::new(tsc_value);
            let (clock, gpa) = page_clock(&fake, &tsc, true);
            publish(gpa, sequence, scale, offset);
            prop_assert_eq!(
                clock.read(),
                Ok(Reading { time: reference(tsc_value, scale, offset), source: TimeSource::TscPage })
            );
        }
    }
}
