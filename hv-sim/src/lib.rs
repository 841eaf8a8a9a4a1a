//! `hv-sim`: a model of the Hyper-V host that boots x86-64 and arm64 guest kernels on the
//! Unicorn CPU emulator, without Hyper-V or KVM.
//!
//! The model provides what a guest kernel sees of a Hyper-V partition: the hypervisor
//! CPUID leaves, the synthetic MSRs and the hypercall interface, each following a
//! [`Profile`] (no hypervisor, QEMU/KVM's Hyper-V emulation with QEMU's `hv-*` flags, or
//! Hyper-V itself), plus the machine around it: RAM, the 64-bit boot entry of
//! `docs/architecture.md`, a 16550 UART, QEMU's `isa-debug-exit`, an x2APIC, and a
//! deterministic virtual clock.
//!
//! # Virtual time
//!
//! Time advances only with guest execution: every instruction costs
//! [`NS_PER_INSTRUCTION`] virtual nanoseconds, accounted when its translation block
//! starts; when every VP halts, time jumps to the next timer deadline. The TSC runs at
//! [`TSC_HZ`] and the partition reference counter at 10 MHz, both derived from the same
//! clock, so two runs of the same guest give identical transcripts and counters.
//!
//! # Several VPs
//!
//! The VPs share the one emulated CPU: the running one's registers are Unicorn's, the
//! others' wait in Unicorn contexts; a VP runs until HLT or for [`SLICE_INSTRUCTIONS`]
//! while another is runnable. VP 0 starts at the entry; the others start with INIT and
//! SIPI or `HvCallStartVirtualProcessor`. The details are in the `smp` module's source.
//!
//! # How exits are trapped
//!
//! CPUID, RDTSC/RDTSCP and port I/O use Unicorn instruction hooks; VMCALL/VMMCALL reach
//! the model as invalid instructions. Unicorn executes RDMSR/WRMSR and `MOV CR8` itself,
//! so the model decodes every new translation block once (with `iced-x86`) and installs a
//! code hook on exactly the addresses of those instructions; the rest of the code runs
//! without per-instruction callbacks. Unicorn never delivers exceptions or interrupts to
//! the guest: the model does, through the guest's IDT ([`x86`]).
//!
//! # arm64
//!
//! [`Arm64Machine`] boots an arm64 Linux `Image` at EL1 on QEMU `virt`'s layout (GICv3,
//! generic timer, PL011, a generated device tree) and models the Microsoft hypervisor's
//! arm64 interface: the SMCCC UID query, hypercalls through `hvc #0` and `hvc #1`, the
//! synthetic registers (including the SynIC and synthetic timers, delivered to GIC
//! interrupt ids) and PSCI. `MRS`/`MSR` of the generic timer and GIC CPU interface
//! registers are trapped with Unicorn's system register hooks; see the `arm64` module.
//!
//! Licence: GPL-2.0-only, because Unicorn is GPL-2.0. No library of this workspace
//! depends on this crate.

mod acpi;
mod apic;
mod arm64;
mod assist;
mod crash;
mod error;
mod flush;
mod hv;
mod machine;
mod mem;
mod profile;
mod reftsc;
mod smp;
mod stats;
mod stimer;
mod synic;
mod uart;
mod uc;
mod vmbus;
mod vpset;
mod vsm;
mod x86;

pub use arm64::{Arm64Machine, is_image as is_arm64_image};
pub use crash::{CrashMessage, CrashReport};
pub use error::{Exit, SimError};
pub use hv::{
    CLOBBER_BYTE, HYPERCALL_PAGE_ENTRY, HYPERCALL_PAGE_VTL_CALL, HYPERCALL_PAGE_VTL_RETURN,
};
pub use machine::{
    APIC_HZ, Config, DEFAULT_REFTSC_UPDATE_NS, Image, Machine, NS_PER_INSTRUCTION, TSC_HZ,
};
pub use profile::{HvFlag, HvImplementation, HvInterface, Profile, ProfileError};
pub use smp::SLICE_INSTRUCTIONS;
pub use stats::{FlushCounts, Stats, SynicStats, VmbusStats};
pub use synic::{Connection, ECHO_CONNECTION_ID, EVENT_CONNECTION_ID, LOOPBACK_SINT, Port};
pub use uc::{UcError, Unmapped};
pub use vmbus::{
    ECHO_RELID, HOST_LATENCY_NS, MAX_GPADL_PAGES, Misbehaviour, STATUS_UNSUCCESSFUL, VmbusChoice,
    VmbusServer,
};
