//! Timers: the partition reference counter, synthetic timers, the time-unhalted timer and
//! the reference TSC page (TLFS 12).
//!
//! # Reference counter (TLFS 12.1.2, 12.4)
//!
//! A per-partition counter, read-only, that starts at 0 when the partition is created and
//! counts in [`HV_REFERENCE_TIME_UNIT_NS`] (100 ns) units while at least one VP is not
//! explicitly suspended. Successive reads on any VP return strictly increasing values. x64:
//! `HV_X64_MSR_TIME_REF_COUNT` (writing it raises #GP); arm64: `HvRegisterTimeRefCount`.
//!
//! # Synthetic timers (TLFS 12.1.3, 12.5)
//!
//! Each VP has [`HV_STIMER_COUNT`] synthetic timers, each a pair of registers: a
//! configuration ([`HvStimerConfig`]) and a count.
//!
//! * The count is in 100 ns units. For a one-shot timer it is the absolute expiration time:
//!   the timer expires when the reference counter is at or past it (a time in the past
//!   expires at once). For a periodic timer it is the period, and the first period starts
//!   when the timer is enabled. The count may wrap without effect.
//! * Writing 0 to the count disables the timer, whatever `auto_enable` says. With
//!   `auto_enable`, writing a non-zero count sets `enable`; otherwise set `enable` after
//!   writing the count.
//! * An expired one-shot timer clears its `enable`; periodic timers stay enabled.
//! * Enabling a timer with `sintx` = 0 clears `enable` at once. Change a timer's properties
//!   only while it is disabled.
//! * On expiry the timer sends a timer message to SINT `sintx`, or, in direct mode
//!   (CPUID feature "direct synthetic timers", TLFS 12.2), asserts `apic_vector` instead.
//!
//! # Time-unhalted timer (TLFS 12.6)
//!
//! A periodic timer that counts only while the VP is not halted, available with the
//! `AccessSyntheticTimerRegs` privilege and CPUID 0x4000_0003 EDX bit 23. On expiry the
//! hypervisor sets `SyntheticTimeUnhaltedTimerExpired` in the VP assist page.
//!
//! # Reference TSC page (TLFS 12.7)
//!
//! With an invariant TSC, the hypervisor overlays a [`HvReferenceTscPage`] at the GPA given by
//! [`HvReferenceTscMsr`]. The reference time is
//!
//! ```text
//! ReferenceTime = ((VirtualTsc * TscScale) >> 64) + TscOffset
//! ```
//!
//! with a 64×64→128-bit multiplication, in 100 ns units ([`hv_reference_time`]). A reader
//! loads `TscSequence`, then the TSC, `TscScale` and `TscOffset`, then `TscSequence` again,
//! and retries if the two sequence values differ. A sequence of
//! [`HV_REFERENCE_TSC_SEQUENCE_INVALID`] (0) means the page is not a reliable time source at
//! the moment (for example after migration to a host without an invariant TSC): read the
//! reference counter instead. TLFS 6.0 gives no other special sequence value.

use bitfield_struct::bitfield;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Number of synthetic timers per VP (TLFS 12.1.1, 12.5).
pub const HV_STIMER_COUNT: usize = 4;

/// The unit of the reference counter, timer counts and the reference TSC page, in
/// nanoseconds (TLFS 12.3, 12.4.1).
pub const HV_REFERENCE_TIME_UNIT_NS: u64 = 100;

/// Reference counter ticks per second (TLFS 12.4.1: 100 ns units).
pub const HV_REFERENCE_TIME_HZ: u64 = 1_000_000_000 / HV_REFERENCE_TIME_UNIT_NS;

/// `TscSequence` value meaning "the reference TSC page is not valid now; use the reference
/// counter" (TLFS 12.7.3.2, 12.7.3.3).
pub const HV_REFERENCE_TSC_SEQUENCE_INVALID: u32 = 0;

/// The x64 MSR of synthetic timer `index`'s configuration register, or `None` for an index of
/// [`HV_STIMER_COUNT`] or more (TLFS 12.5: 0x4000_00B0 + 2 × index).
#[must_use]
pub const fn stimer_config_msr(index: usize) -> Option<u32> {
    if index < HV_STIMER_COUNT {
        Some(crate::msr::HV_X64_MSR_STIMER0_CONFIG + 2 * index as u32)
    } else {
        None
    }
}

/// The x64 MSR of synthetic timer `index`'s count register, or `None` for an index of
/// [`HV_STIMER_COUNT`] or more (TLFS 12.5: 0x4000_00B1 + 2 × index).
#[must_use]
pub const fn stimer_count_msr(index: usize) -> Option<u32> {
    if index < HV_STIMER_COUNT {
        Some(crate::msr::HV_X64_MSR_STIMER0_COUNT + 2 * index as u32)
    } else {
        None
    }
}

/// A synthetic timer configuration register, `HV_X64_MSR_STIMERx_CONFIG` /
/// `HvRegisterStimerxConfig` (TLFS 12.5.1). Zero after VP creation and reset: disabled.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvStimerConfig {
    /// Bit 0: `Enable`.
    pub enable: bool,
    /// Bit 1: `Periodic`; clear for one-shot.
    pub periodic: bool,
    /// Bit 2: `Lazy`: a late expiry is deferred, or skipped if the next one is near
    /// (TLFS 12.1.4).
    pub lazy: bool,
    /// Bit 3: `AutoEnable`: writing a non-zero count sets `enable`.
    pub auto_enable: bool,
    /// Bits 11:4: `ApicVector`, asserted on expiry in direct mode (TLFS 12.2).
    pub apic_vector: u8,
    /// Bit 12: `DirectMode`: assert `apic_vector` instead of sending a message (TLFS 12.2).
    pub direct_mode: bool,
    /// Bits 15:13: RsvdZ.
    #[bits(3)]
    _rsvd0: u8,
    /// Bits 19:16: `SINTx`, the synthetic interrupt source for the expiry message; must not
    /// be 0 for an enabled timer.
    #[bits(4)]
    pub sintx: u8,
    /// Bits 63:20: RsvdZ.
    #[bits(44)]
    _rsvd1: u64,
}

impl HvStimerConfig {
    /// Mask of the RsvdZ bits 15:13 and 63:20 (TLFS 12.5.1).
    pub const RESERVED_MASK: u64 = 0xFFFF_FFFF_FFF0_E000;

    /// Whether any RsvdZ bit is set.
    #[must_use]
    pub const fn has_reserved_bits(self) -> bool {
        self.into_bits() & Self::RESERVED_MASK != 0
    }
}

/// The synthetic time-unhalted timer configuration register,
/// `HV_X64_MSR_STIME_UNHALTED_TIMER_CONFIG` / `HvRegisterStimeUnhaltedTimerConfig`
/// (TLFS 12.6.1). Its count register holds the period in 100 ns units (TLFS 12.6.2).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvStimeUnhaltedTimerConfig {
    /// Bits 54:0: RsvdZ.
    #[bits(55)]
    _rsvd: u64,
    /// Bit 55: `Enabled`.
    pub enabled: bool,
    /// Bits 63:56: `Vector`.
    pub vector: u8,
}

impl HvStimeUnhaltedTimerConfig {
    /// Mask of the RsvdZ bits 54:0 (TLFS 12.6.1).
    pub const RESERVED_MASK: u64 = 0x007F_FFFF_FFFF_FFFF;

    /// Whether any RsvdZ bit is set.
    #[must_use]
    pub const fn has_reserved_bits(self) -> bool {
        self.into_bits() & Self::RESERVED_MASK != 0
    }
}

/// The reference TSC page register, `HV_X64_MSR_REFERENCE_TSC` / `HvRegisterReferenceTsc`
/// (TLFS 12.7.1). Needs the `AccessPartitionReferenceTsc` privilege; zero at partition
/// creation.
///
/// Bits 11:1 are RsvdP: a writer starts from the value it read and changes only `enable`
/// and `gpa_page_number`.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvReferenceTscMsr {
    /// Bit 0: `Enable`.
    pub enable: bool,
    /// Bits 11:1: RsvdP, preserve on write.
    #[bits(11)]
    _rsvdp: u16,
    /// Bits 63:12: the guest physical page number ([`crate::HvGpaPageNumber`]) of the
    /// reference TSC page.
    #[bits(52)]
    pub gpa_page_number: u64,
}

impl HvReferenceTscMsr {
    /// Mask of the RsvdP bits 11:1 (TLFS 12.7.1).
    pub const RESERVED_MASK: u64 = 0x0000_0000_0000_0FFE;
}

/// The reference TSC page (TLFS 12.7.2 `HV_REFERENCE_TSC_PAGE`): one 4 KiB page written by
/// the hypervisor.
///
/// The TLFS 6.0 text lost the structure of 12.7.2; the layout is that of Linux
/// `arch/x86/include/asm/hyperv-tlfs.h` `struct ms_hyperv_tsc_page` (sequence, reserved,
/// scale, offset, then 509 reserved quadwords).
#[repr(C)]
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvReferenceTscPage {
    /// `TscSequence`; [`HV_REFERENCE_TSC_SEQUENCE_INVALID`] when the page is not usable.
    pub tsc_sequence: u32,
    /// Reserved.
    pub reserved1: u32,
    /// `TscScale`: the 64.64 fixed-point multiplier from TSC ticks to 100 ns units.
    pub tsc_scale: u64,
    /// `TscOffset`, in 100 ns units.
    pub tsc_offset: i64,
    /// Reserved, to the end of the page.
    pub reserved2: [u64; 509],
}

const _: () = assert!(size_of::<HvReferenceTscPage>() == crate::HV_PAGE_SIZE);
const _: () = assert!(offset_of!(HvReferenceTscPage, tsc_sequence) == 0);
const _: () = assert!(offset_of!(HvReferenceTscPage, tsc_scale) == 8);
const _: () = assert!(offset_of!(HvReferenceTscPage, tsc_offset) == 16);
const _: () = assert!(offset_of!(HvReferenceTscPage, reserved2) == 24);

impl HvReferenceTscPage {
    /// The reference time for `tsc` from this snapshot of the page, or `None` when the
    /// sequence is [`HV_REFERENCE_TSC_SEQUENCE_INVALID`] (TLFS 12.7.3).
    ///
    /// This computes from a copy; reading the live page consistently (the sequence loop in
    /// the module docs) is the reader's job.
    #[must_use]
    pub const fn reference_time(&self, tsc: u64) -> Option<u64> {
        if self.tsc_sequence == HV_REFERENCE_TSC_SEQUENCE_INVALID {
            None
        } else {
            Some(hv_reference_time(tsc, self.tsc_scale, self.tsc_offset))
        }
    }
}

/// `((tsc * scale) >> 64) + offset`, the reference time in 100 ns units (TLFS 12.7.3).
///
/// The product is 128 bits wide; the sum wraps like the hypervisor's 64-bit arithmetic.
#[must_use]
pub const fn hv_reference_time(tsc: u64, scale: u64, offset: i64) -> u64 {
    let scaled = ((tsc as u128 * scale as u128) >> 64) as u64;
    scaled.wrapping_add_signed(offset)
}
