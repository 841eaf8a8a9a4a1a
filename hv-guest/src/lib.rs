//! Safe wrappers for the guest side of the Microsoft hypervisor's interface, as specified by
//! the Hyper-V *Top Level Functional Specification* (TLFS) 6.0.
//!
//! # Layers
//!
//! * [`arch`]: the only code that executes privileged instructions (CPUID, RDMSR/WRMSR, the
//!   call into the hypercall page). Every `unsafe` block is there or in the few places that
//!   hand memory to the hypervisor, each with its justification.
//! * [`platform::Platform`]: the seam. Everything above it is safe, typed Rust that builds and
//!   is unit-tested on the host against the scripted fake in `testing` (feature `testing`).
//! * [`hypercall`]: every hypercall calling convention of TLFS 3, typed over `hv-defs`.
//! * [`vmbus`]: the VMBus client (not in the TLFS): version negotiation, offers, GPADLs,
//!   channels and ring buffers, over a small transport trait the SynIC code implements.
//!
//! No allocation and no hidden global state: per-CPU state (hypercall parameter pages) is
//! passed in by the caller, who places it in its own per-CPU data.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod arch;
pub mod discovery;
pub mod hypercall;
pub mod hyperv;
pub mod page;
pub mod platform;
pub mod stimer;
pub mod synic;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod vmbus;
pub mod vp;
pub mod vsm;

pub use hv_defs as defs;
