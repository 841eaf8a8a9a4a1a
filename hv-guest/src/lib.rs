//! Safe wrappers for the guest side of the Microsoft hypervisor's interface, as specified by
//! the Hyper-V *Top Level Functional Specification* (TLFS) 6.0.
//!
//! # Layers
//!
//! * [`arch`]: the only code that executes privileged instructions (x86_64: CPUID,
//!   RDMSR/WRMSR, the call into the hypercall page; aarch64: `HVC`). Every `unsafe` block is
//!   there or in the few places that hand memory to the hypervisor, each with its
//!   justification.
//! * [`platform::Platform`]: the seam. Everything above it is safe, typed Rust that builds and
//!   is unit-tested on the host against the scripted fakes in `testing` (feature `testing`).
//! * [`hypercall`]: every hypercall calling convention of TLFS 3, typed over `hv-defs`.
//! * [`vmbus`]: the VMBus client (not in the TLFS): version negotiation, offers, GPADLs,
//!   channels and ring buffers, over a small transport trait the SynIC code implements.
//!
//! # Architectures
//!
//! | | x86_64 | aarch64 |
//! | --- | --- | --- |
//! | discovery | `discovery` (CPUID) | `arm64::discovery` (SMCCC UID, feature registers) |
//! | bring-up | `hyperv`: identity MSR, hypercall page | `arm64::Hyperv`: identity register |
//! | synthetic registers | MSRs | fast `HvCallGet/SetVpRegisters` |
//! | XMM fast hypercalls | yes | no (the methods do not exist) |
//! | VSM (`vsm`) | yes | not yet (VTL switches use `hvc #2`/`hvc #3` there) |
//!
//! Items of one architecture are compiled only for it (plus host test builds and feature
//! `testing`, which compile both), so using an x64-only item in an arm64 build is a compile
//! error, not a runtime failure.
//!
//! No allocation and no hidden global state: per-CPU state (hypercall parameter pages) is
//! passed in by the caller, who places it in its own per-CPU data.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub mod apic;
pub mod arch;
#[cfg(any(target_arch = "aarch64", test, feature = "testing"))]
pub mod arm64;
// The VP assist page handle lives with VSM (x64 only until arm64 VSM exists); EOI assist is
// an x64 APIC feature.
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub mod assist;
pub mod counter;
pub mod crash;
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub mod discovery;
pub mod gate;
pub mod hypercall;
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub mod hyperv;
// The TLB flush and synthetic IPI hypercalls are x64 interfaces (TLFS 9, 10): arm64 guests
// use broadcast TLBI and GIC SGIs.
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub mod ipi;
pub mod overlay;
pub mod page;
pub mod platform;
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub mod power;
pub mod reftime;
pub mod spinlock;
pub mod stimer;
pub mod synic;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub mod tlb;
pub mod vmbus;
pub mod vp;
pub mod vpreg;
pub mod vpset;
// VTL switching goes through the x64 hypercall page and the initial VP context is the x64 one;
// arm64 VSM (VTL entry and exit with `hvc #2`/`hvc #3`) is not implemented yet.
#[cfg(any(target_arch = "x86_64", test, feature = "testing"))]
pub mod vsm;

pub use hv_defs as defs;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
