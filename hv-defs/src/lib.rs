//! Typed definitions of the Microsoft hypervisor's guest interface, as specified by the
//! *Hypervisor Top Level Functional Specification* (TLFS) 6.0, plus the public facts that
//! appeared after it (arm64 synthetic registers, newer CPUID bits, status codes, VMBus).
//!
//! This crate is data only: constants, bitfields, `#[repr(C)]` wire structures and open
//! enums. It executes nothing and contains no `unsafe` code. The safe wrappers that use these
//! definitions live in the `hv-guest` crate.
//!
//! Modules follow the TLFS chapters:
//!
//! | module | TLFS |
//! | --- | --- |
//! | [`arm64`] | Post-TLFS: the arm64 `HVC` conventions, SMCCC function ids and UID |
//! | [`cpuid`] | 2.4 Microsoft hypervisor CPUID leaves |
//! | [`guest_id`] | 2.6 Reporting the guest OS identity |
//! | [`hypercall`] | 3 Hypercall interface, appendix A |
//! | [`status`] | 3.12 Hypercall status codes, appendix B |
//! | [`partition`] | 4 Partition properties (privileges, crash enlightenment) |
//! | [`vp`] | 7 Virtual processor management (registers, VP sets, VP assist page) |
//! | [`register`] | 7.8.2 Virtual processor register names (x64 and arm64) |
//! | [`mmu`] | 9 Virtual MMU: TLB flush hypercalls |
//! | [`interrupt`] | 10 Virtual interrupts: IPIs, APIC MSRs, device interrupts |
//! | [`synic`] | 11 Synthetic interrupt controller, 13 message formats |
//! | [`timer`] | 12 Timers, reference counter, reference TSC page |
//! | [`vsm`] | 15 Virtual Secure Mode |
//! | [`nested`] | 16 Nested virtualization, enlightened VMCS, reenlightenment |
//! | [`msr`] | Appendix C: synthetic MSRs |
//! | [`vmbus`] | The VMBus protocol (not in the TLFS) |
//!
//! # Conventions
//!
//! * Wire codes (hypercall codes, status codes, register names, message types) are *open
//!   enums*: a `#[repr(transparent)]` newtype with associated constants. Any value the
//!   hypervisor returns is representable; `Debug` prints the TLFS name or the number.
//! * Registers and CPUID leaves are `bitfield-struct` bitfields with `_reserved` padding; a
//!   builder never sets a reserved bit.
//! * Every wire structure has a compile-time size assertion.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;

pub mod arm64;
pub mod cpuid;
pub mod guest_id;
pub mod hypercall;
pub mod interrupt;
pub mod mmu;
pub mod msr;
pub mod nested;
pub mod partition;
pub mod register;
pub mod status;
pub mod synic;
pub mod timer;
pub mod vmbus;
pub mod vp;
pub mod vsm;

/// Size of a hypervisor page: the unit of GPA overlays, hypercall input/output pages and
/// GPA page numbers (TLFS 1.7).
pub const HV_PAGE_SIZE: usize = 4096;

/// log2 of [`HV_PAGE_SIZE`] (TLFS 1.7).
pub const HV_PAGE_SHIFT: u32 = 12;

/// A guest physical page number: a guest physical address shifted right by
/// [`HV_PAGE_SHIFT`] (TLFS 1.7, `HV_GPA_PAGE_NUMBER`).
pub type HvGpaPageNumber = u64;

/// A guest virtual address (TLFS 1.7, `HV_GVA`).
pub type HvGva = u64;

/// A guest physical address (TLFS 1.7, `HV_GPA`).
pub type HvGpa = u64;

/// A virtual processor index (TLFS 7.8.1, `HV_VP_INDEX`).
pub type HvVpIndex = u32;

/// The VP index meaning "the calling virtual processor" (TLFS 7.8.1, `HV_VP_INDEX_SELF`).
pub const HV_VP_INDEX_SELF: HvVpIndex = 0xFFFF_FFFE;

/// The VP index meaning "any virtual processor" (TLFS 7.8.1, `HV_ANY_VP`).
pub const HV_ANY_VP: HvVpIndex = 0xFFFF_FFFF;

/// A partition id (TLFS 4.2.1, `HV_PARTITION_ID`).
pub type HvPartitionId = u64;

/// The partition id meaning "the caller's own partition" (TLFS 4.2.1, `HV_PARTITION_ID_SELF`).
pub const HV_PARTITION_ID_SELF: HvPartitionId = u64::MAX;

/// A virtual trust level, 0 (lowest) to 15 (TLFS 15.2, `HV_VTL`).
pub type HvVtl = u8;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
