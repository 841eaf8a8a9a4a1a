//! Synthetic MSRs (TLFS appendix C) and the contents of the MSRs no chapter module owns.
//!
//! Every synthetic x64 MSR is a `HV_X64_MSR_*` constant, and [`SYNTHETIC_MSRS`] describes
//! each one: its index, the partition privilege it needs, the CPUID feature flags it needs,
//! and whether it can be read and written, so that a host model can decide when an access
//! raises #GP ([`HvMsrInfo::is_available`]).
//!
//! Contents defined here: the hypercall MSR ([`HvHypercallMsr`]), reset ([`HvResetMsr`]),
//! NPIEP configuration ([`HvNpiepConfig`]) and TSC invariant control
//! ([`HvTscInvariantControl`]). `HV_X64_MSR_GUEST_IDLE` has no contents: reading it puts the
//! VP in the idle sleep state until an interrupt arrives, even a masked one (TLFS 7.5). The
//! synthetic timer and reference TSC MSRs are in [`crate::timer`], the crash control MSR in
//! [`crate::partition`], the SynIC MSRs in [`crate::synic`], the VP assist page MSR in
//! [`crate::vp`], and the reenlightenment and TSC emulation MSRs (TLFS 16.6) in
//! [`crate::nested`] ([`crate::nested::HvReenlightenmentControl`],
//! [`crate::nested::HvTscEmulationControl`], [`crate::nested::HvTscEmulationStatus`]).
//!
//! On arm64 the same state is reached through synthetic registers
//! ([`crate::register::HvRegisterName`]); only x64 has these MSRs.
//!
//! The golden test `tests/appendix_c.rs` transcribes appendix C and lists every correction
//! made to its TLFS 6.0 text.

use bitfield_struct::bitfield;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::cpuid::HvFeatures;
use crate::partition::HvPartitionPrivilegeMask;

/// Guest OS identity, see [`crate::guest_id`] (TLFS 2.6, appendix C).
pub const HV_X64_MSR_GUEST_OS_ID: u32 = 0x4000_0000;
/// Hypercall page, see [`HvHypercallMsr`] (TLFS 3.13, appendix C).
pub const HV_X64_MSR_HYPERCALL: u32 = 0x4000_0001;
/// The VP's index (TLFS 7.8.1, appendix C).
pub const HV_X64_MSR_VP_INDEX: u32 = 0x4000_0002;
/// Hypervisor-controlled reset, see [`HvResetMsr`] (appendix C).
pub const HV_X64_MSR_RESET: u32 = 0x4000_0003;
/// The VP's run time in 100 ns units (TLFS 7.9.1, appendix C).
pub const HV_X64_MSR_VP_RUNTIME: u32 = 0x4000_0010;
/// Partition reference counter (TLFS 12.4, appendix C).
pub const HV_X64_MSR_TIME_REF_COUNT: u32 = 0x4000_0020;
/// Reference TSC page, see [`crate::timer::HvReferenceTscMsr`] (TLFS 12.7.1, appendix C).
pub const HV_X64_MSR_REFERENCE_TSC: u32 = 0x4000_0021;
/// TSC frequency in Hz (appendix C).
pub const HV_X64_MSR_TSC_FREQUENCY: u32 = 0x4000_0022;
/// Local APIC timer frequency in Hz (appendix C).
pub const HV_X64_MSR_APIC_FREQUENCY: u32 = 0x4000_0023;
/// Non-privileged instruction execution prevention, see [`HvNpiepConfig`] (TLFS 8.12,
/// appendix C).
pub const HV_X64_MSR_NPIEP_CONFIG: u32 = 0x4000_0040;
/// APIC EOI (TLFS 10, appendix C).
pub const HV_X64_MSR_EOI: u32 = 0x4000_0070;
/// APIC ICR (TLFS 10, appendix C).
pub const HV_X64_MSR_ICR: u32 = 0x4000_0071;
/// APIC TPR (TLFS 10, appendix C).
pub const HV_X64_MSR_TPR: u32 = 0x4000_0072;
/// VP assist page (TLFS 7.8.7, appendix C).
pub const HV_X64_MSR_VP_ASSIST_PAGE: u32 = 0x4000_0073;
/// The name TLFS 15.11.1.1 uses for [`HV_X64_MSR_VP_ASSIST_PAGE`].
pub const HV_X64_MSR_APIC_ASSIST_PAGE: u32 = HV_X64_MSR_VP_ASSIST_PAGE;
/// SynIC control (TLFS 11.8.1, appendix C).
pub const HV_X64_MSR_SCONTROL: u32 = 0x4000_0080;
/// SynIC version (TLFS 11.8.2, appendix C).
pub const HV_X64_MSR_SVERSION: u32 = 0x4000_0081;
/// SynIC event flags page (TLFS 11.8.3, appendix C).
pub const HV_X64_MSR_SIEFP: u32 = 0x4000_0082;
/// SynIC message page (TLFS 11.8.4, appendix C).
pub const HV_X64_MSR_SIMP: u32 = 0x4000_0083;
/// SynIC end of message (TLFS 11.8.6, appendix C).
pub const HV_X64_MSR_EOM: u32 = 0x4000_0084;
/// SynIC SIRBP (TLFS 15.11.1.1 lists it; number from Linux `hvgdk_mini.h`).
pub const HV_X64_MSR_SIRBP: u32 = 0x4000_0085;
/// SynIC SINT0 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT0: u32 = 0x4000_0090;
/// SynIC SINT1 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT1: u32 = 0x4000_0091;
/// SynIC SINT2 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT2: u32 = 0x4000_0092;
/// SynIC SINT3 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT3: u32 = 0x4000_0093;
/// SynIC SINT4 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT4: u32 = 0x4000_0094;
/// SynIC SINT5 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT5: u32 = 0x4000_0095;
/// SynIC SINT6 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT6: u32 = 0x4000_0096;
/// SynIC SINT7 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT7: u32 = 0x4000_0097;
/// SynIC SINT8 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT8: u32 = 0x4000_0098;
/// SynIC SINT9 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT9: u32 = 0x4000_0099;
/// SynIC SINT10 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT10: u32 = 0x4000_009A;
/// SynIC SINT11 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT11: u32 = 0x4000_009B;
/// SynIC SINT12 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT12: u32 = 0x4000_009C;
/// SynIC SINT13 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT13: u32 = 0x4000_009D;
/// SynIC SINT14 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT14: u32 = 0x4000_009E;
/// SynIC SINT15 (TLFS 11.8.5, appendix C).
pub const HV_X64_MSR_SINT15: u32 = 0x4000_009F;
/// Synthetic timer 0 configuration, see [`crate::timer::HvStimerConfig`] (TLFS 12.5,
/// appendix C).
pub const HV_X64_MSR_STIMER0_CONFIG: u32 = 0x4000_00B0;
/// Synthetic timer 0 count (TLFS 12.5, appendix C).
pub const HV_X64_MSR_STIMER0_COUNT: u32 = 0x4000_00B1;
/// Synthetic timer 1 configuration (TLFS 12.5, appendix C).
pub const HV_X64_MSR_STIMER1_CONFIG: u32 = 0x4000_00B2;
/// Synthetic timer 1 count (TLFS 12.5, appendix C).
pub const HV_X64_MSR_STIMER1_COUNT: u32 = 0x4000_00B3;
/// Synthetic timer 2 configuration (TLFS 12.5, appendix C).
pub const HV_X64_MSR_STIMER2_CONFIG: u32 = 0x4000_00B4;
/// Synthetic timer 2 count (TLFS 12.5, appendix C).
pub const HV_X64_MSR_STIMER2_COUNT: u32 = 0x4000_00B5;
/// Synthetic timer 3 configuration (TLFS 12.5, appendix C).
pub const HV_X64_MSR_STIMER3_CONFIG: u32 = 0x4000_00B6;
/// Synthetic timer 3 count (TLFS 12.5, appendix C).
pub const HV_X64_MSR_STIMER3_COUNT: u32 = 0x4000_00B7;
/// Guest idle: a read enters the idle sleep state (TLFS 7.5, appendix C).
pub const HV_X64_MSR_GUEST_IDLE: u32 = 0x4000_00F0;
/// Synthetic debugger control (post-TLFS 6.0; Linux `arch/x86/include/asm/hyperv-tlfs.h`,
/// used by KVM's `hv-syndbg`).
pub const HV_X64_MSR_SYNDBG_CONTROL: u32 = 0x4000_00F1;
/// Synthetic debugger status (post-TLFS 6.0; Linux `hyperv-tlfs.h`).
pub const HV_X64_MSR_SYNDBG_STATUS: u32 = 0x4000_00F2;
/// Synthetic debugger send buffer (post-TLFS 6.0; Linux `hyperv-tlfs.h`).
pub const HV_X64_MSR_SYNDBG_SEND_BUFFER: u32 = 0x4000_00F3;
/// Synthetic debugger receive buffer (post-TLFS 6.0; Linux `hyperv-tlfs.h`).
pub const HV_X64_MSR_SYNDBG_RECV_BUFFER: u32 = 0x4000_00F4;
/// Synthetic debugger pending buffer (post-TLFS 6.0; Linux `hyperv-tlfs.h`).
pub const HV_X64_MSR_SYNDBG_PENDING_BUFFER: u32 = 0x4000_00F5;
/// Synthetic debugger options (post-TLFS 6.0; Linux `hyperv-tlfs.h`).
pub const HV_X64_MSR_SYNDBG_OPTIONS: u32 = 0x4000_00FF;
/// Guest crash parameter P0 (TLFS 4.3.1, appendix C).
pub const HV_X64_MSR_CRASH_P0: u32 = 0x4000_0100;
/// Guest crash parameter P1 (TLFS 4.3.1, appendix C).
pub const HV_X64_MSR_CRASH_P1: u32 = 0x4000_0101;
/// Guest crash parameter P2 (TLFS 4.3.1, appendix C).
pub const HV_X64_MSR_CRASH_P2: u32 = 0x4000_0102;
/// Guest crash parameter P3; the crash message GPA with `CrashMessage` (TLFS 4.3.1,
/// appendix C).
pub const HV_X64_MSR_CRASH_P3: u32 = 0x4000_0103;
/// Guest crash parameter P4; the crash message length with `CrashMessage` (TLFS 4.3.1,
/// appendix C).
pub const HV_X64_MSR_CRASH_P4: u32 = 0x4000_0104;
/// Guest crash control, see [`crate::partition::HvGuestCrashControl`] (TLFS 4.3.1.1,
/// appendix C).
pub const HV_X64_MSR_CRASH_CTL: u32 = 0x4000_0105;
/// Reenlightenment control, see [`crate::nested::HvReenlightenmentControl`] (TLFS 16.6.1,
/// appendix C).
pub const HV_X64_MSR_REENLIGHTENMENT_CONTROL: u32 = 0x4000_0106;
/// TSC emulation control, see [`crate::nested::HvTscEmulationControl`] (TLFS 16.6.2,
/// appendix C).
pub const HV_X64_MSR_TSC_EMULATION_CONTROL: u32 = 0x4000_0107;
/// TSC emulation status, see [`crate::nested::HvTscEmulationStatus`] (TLFS 16.6.2,
/// appendix C).
pub const HV_X64_MSR_TSC_EMULATION_STATUS: u32 = 0x4000_0108;
/// Time-unhalted timer configuration, see [`crate::timer::HvStimeUnhaltedTimerConfig`]
/// (TLFS 12.6, appendix C).
pub const HV_X64_MSR_STIME_UNHALTED_TIMER_CONFIG: u32 = 0x4000_0114;
/// Time-unhalted timer period (TLFS 12.6, appendix C).
pub const HV_X64_MSR_STIME_UNHALTED_TIMER_COUNT: u32 = 0x4000_0115;
/// TSC invariant control, see [`HvTscInvariantControl`] (post-TLFS 6.0; Linux
/// `hvgdk_mini.h`).
pub const HV_X64_MSR_TSC_INVARIANT_CONTROL: u32 = 0x4000_0118;
/// The underlying VP index when running in a nested hypervisor (appendix C).
pub const HV_X64_MSR_NESTED_VP_INDEX: u32 = 0x4000_1002;
/// SynIC control of the base hypervisor in a nested root partition (appendix C).
pub const HV_X64_MSR_NESTED_SCONTROL: u32 = 0x4000_1080;
/// SynIC version of the base hypervisor in a nested root partition (appendix C).
pub const HV_X64_MSR_NESTED_SVERSION: u32 = 0x4000_1081;
/// SynIC event flags page of the base hypervisor in a nested root partition (appendix C).
pub const HV_X64_MSR_NESTED_SIEFP: u32 = 0x4000_1082;
/// SynIC message page of the base hypervisor in a nested root partition (appendix C).
pub const HV_X64_MSR_NESTED_SIMP: u32 = 0x4000_1083;
/// SynIC end of message of the base hypervisor in a nested root partition (appendix C).
pub const HV_X64_MSR_NESTED_EOM: u32 = 0x4000_1084;
/// Nested SINT0 (appendix C).
pub const HV_X64_MSR_NESTED_SINT0: u32 = 0x4000_1090;
/// Nested SINT1 (appendix C).
pub const HV_X64_MSR_NESTED_SINT1: u32 = 0x4000_1091;
/// Nested SINT2 (appendix C).
pub const HV_X64_MSR_NESTED_SINT2: u32 = 0x4000_1092;
/// Nested SINT3 (appendix C).
pub const HV_X64_MSR_NESTED_SINT3: u32 = 0x4000_1093;
/// Nested SINT4 (appendix C).
pub const HV_X64_MSR_NESTED_SINT4: u32 = 0x4000_1094;
/// Nested SINT5 (appendix C).
pub const HV_X64_MSR_NESTED_SINT5: u32 = 0x4000_1095;
/// Nested SINT6 (appendix C).
pub const HV_X64_MSR_NESTED_SINT6: u32 = 0x4000_1096;
/// Nested SINT7 (appendix C).
pub const HV_X64_MSR_NESTED_SINT7: u32 = 0x4000_1097;
/// Nested SINT8 (appendix C).
pub const HV_X64_MSR_NESTED_SINT8: u32 = 0x4000_1098;
/// Nested SINT9 (appendix C).
pub const HV_X64_MSR_NESTED_SINT9: u32 = 0x4000_1099;
/// Nested SINT10 (appendix C).
pub const HV_X64_MSR_NESTED_SINT10: u32 = 0x4000_109A;
/// Nested SINT11 (appendix C).
pub const HV_X64_MSR_NESTED_SINT11: u32 = 0x4000_109B;
/// Nested SINT12 (appendix C).
pub const HV_X64_MSR_NESTED_SINT12: u32 = 0x4000_109C;
/// Nested SINT13 (appendix C).
pub const HV_X64_MSR_NESTED_SINT13: u32 = 0x4000_109D;
/// Nested SINT14 (appendix C).
pub const HV_X64_MSR_NESTED_SINT14: u32 = 0x4000_109E;
/// Nested SINT15 (appendix C).
pub const HV_X64_MSR_NESTED_SINT15: u32 = 0x4000_109F;

/// How a synthetic MSR may be accessed (TLFS appendix C "Access"). An access the MSR does
/// not allow raises #GP.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HvMsrAccess {
    /// Read only ("R").
    Read,
    /// Write only ("W").
    Write,
    /// Read and write ("R/W").
    ReadWrite,
}

impl HvMsrAccess {
    /// Whether RDMSR is allowed.
    #[must_use]
    pub const fn can_read(self) -> bool {
        matches!(self, Self::Read | Self::ReadWrite)
    }

    /// Whether WRMSR is allowed.
    #[must_use]
    pub const fn can_write(self) -> bool {
        matches!(self, Self::Write | Self::ReadWrite)
    }
}

/// One synthetic MSR (TLFS appendix C).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct HvMsrInfo {
    /// The TLFS name, `HV_X64_MSR_*`.
    pub name: &'static str,
    /// The MSR index.
    pub index: u32,
    /// The partition privileges the MSR needs, all of them (appendix C "Privilege Required",
    /// with the names of TLFS 4.2.2); empty when none.
    pub privilege: HvPartitionPrivilegeMask,
    /// CPUID 0x4000_0003 feature flags the MSR also needs (only EDX bits are ever set);
    /// empty when none.
    pub features: HvFeatures,
    /// Which accesses are allowed.
    pub access: HvMsrAccess,
}

impl HvMsrInfo {
    /// Whether a partition whose CPUID 0x4000_0003 value is `features` may access this MSR
    /// at all: it has every privilege and every feature flag the MSR needs.
    #[must_use]
    pub const fn is_available(&self, features: HvFeatures) -> bool {
        features.privileges().contains(self.privilege) && features.contains(self.features)
    }
}

/// The [`SYNTHETIC_MSRS`] entry for `index`, if it is a synthetic MSR.
#[must_use]
pub const fn msr_info(index: u32) -> Option<&'static HvMsrInfo> {
    let mut i = 0;
    while i < SYNTHETIC_MSRS.len() {
        if SYNTHETIC_MSRS[i].index == index {
            return Some(&SYNTHETIC_MSRS[i]);
        }
        i += 1;
    }
    None
}

/// The x64 MSR through which a synthetic register is reached, for the registers that have
/// one (TLFS 7.8.2 lists both names; appendix C the MSRs). `None` for registers with no MSR
/// (x64 code reaches those through `HvCallGetVpRegisters`) and for architectural registers.
///
/// This is what lets arch-neutral code name a register by its TLFS register name and run
/// unchanged on arm64, where every synthetic register is a VP register.
#[must_use]
pub const fn x64_msr_for_register(name: crate::register::HvRegisterName) -> Option<u32> {
    use crate::register::HvRegisterName as R;
    let n = name.get();
    // Ranges with a fixed stride: SINTx, stimers (config/count pairs), crash P0–P4.
    if n >= R::HvRegisterSint0.get() && n <= R::HvRegisterSint15.get() {
        return Some(HV_X64_MSR_SINT0 + (n - R::HvRegisterSint0.get()));
    }
    if n >= R::HvRegisterStimer0Config.get() && n < R::HvRegisterStimer0Config.get() + 8 {
        return Some(HV_X64_MSR_STIMER0_CONFIG + (n - R::HvRegisterStimer0Config.get()));
    }
    if n >= R::HvRegisterGuestCrashP0.get() && n <= R::HvRegisterGuestCrashCtl.get() {
        return Some(HV_X64_MSR_CRASH_P0 + (n - R::HvRegisterGuestCrashP0.get()));
    }
    Some(match name {
        R::HvRegisterGuestOsId => HV_X64_MSR_GUEST_OS_ID,
        R::HvX64RegisterHypercall => HV_X64_MSR_HYPERCALL,
        R::HvRegisterVpIndex => HV_X64_MSR_VP_INDEX,
        R::HvX64RegisterVpRuntime => HV_X64_MSR_VP_RUNTIME,
        R::HvRegisterTimeRefCount => HV_X64_MSR_TIME_REF_COUNT,
        R::HvRegisterReferenceTsc => HV_X64_MSR_REFERENCE_TSC,
        R::HvRegisterVpAssistPage => HV_X64_MSR_VP_ASSIST_PAGE,
        R::HvRegisterScontrol => HV_X64_MSR_SCONTROL,
        R::HvRegisterSversion => HV_X64_MSR_SVERSION,
        R::HvRegisterSifp => HV_X64_MSR_SIEFP,
        R::HvRegisterSipp => HV_X64_MSR_SIMP,
        R::HvRegisterEom => HV_X64_MSR_EOM,
        R::HvRegisterSirbp => HV_X64_MSR_SIRBP,
        R::HvRegisterGuestIdle => HV_X64_MSR_GUEST_IDLE,
        _ => return None,
    })
}

const fn privilege() -> HvPartitionPrivilegeMask {
    HvPartitionPrivilegeMask::new()
}

const NO_PRIVILEGE: HvPartitionPrivilegeMask = privilege();
const HYPERCALL_MSRS: HvPartitionPrivilegeMask = privilege().with_access_hypercall_msrs(true);
const VP_INDEX: HvPartitionPrivilegeMask = privilege().with_access_vp_index(true);
const RESET: HvPartitionPrivilegeMask = privilege().with_access_reset_reg(true);
const VP_RUNTIME: HvPartitionPrivilegeMask = privilege().with_access_vp_runtime_reg(true);
const REF_COUNTER: HvPartitionPrivilegeMask =
    privilege().with_access_partition_reference_counter(true);
const REF_TSC: HvPartitionPrivilegeMask = privilege().with_access_partition_reference_tsc(true);
const FREQUENCY: HvPartitionPrivilegeMask = privilege().with_access_frequency_regs(true);
const APIC: HvPartitionPrivilegeMask = privilege().with_access_intr_ctrl_regs(true);
const SYNIC: HvPartitionPrivilegeMask = privilege().with_access_synic_regs(true);
const STIMER: HvPartitionPrivilegeMask = privilege().with_access_synthetic_timer_regs(true);
const GUEST_IDLE: HvPartitionPrivilegeMask = privilege().with_access_guest_idle_reg(true);
const DEBUG: HvPartitionPrivilegeMask = privilege().with_access_debug_regs(true);
const REENLIGHTENMENT: HvPartitionPrivilegeMask =
    privilege().with_access_reenlightenment_controls(true);
const TSC_INVARIANT: HvPartitionPrivilegeMask =
    privilege().with_access_tsc_invariant_controls(true);
const CPU_MANAGEMENT: HvPartitionPrivilegeMask = privilege().with_cpu_management(true);

const NO_FEATURE: HvFeatures = HvFeatures::new();
const NPIEP_FEATURE: HvFeatures = HvFeatures::new().with_npiep_available(true);
const DEBUG_FEATURE: HvFeatures = HvFeatures::new().with_debug_regs_available(true);
const CRASH_FEATURE: HvFeatures = HvFeatures::new().with_guest_crash_regs_available(true);
const UNHALTED_FEATURE: HvFeatures =
    HvFeatures::new().with_synthetic_time_unhalted_timer_available(true);

/// One [`SYNTHETIC_MSRS`] entry named after its constant.
macro_rules! msr {
    ($name:ident, $privilege:expr, $features:expr, $access:ident) => {
        HvMsrInfo {
            name: stringify!($name),
            index: $name,
            privilege: $privilege,
            features: $features,
            access: HvMsrAccess::$access,
        }
    };
}

/// Every synthetic x64 MSR, in index order: TLFS appendix C with its corrections, then the
/// MSRs named after TLFS 6.0 (`SIRBP`, the synthetic debugger MSRs, `TSC_INVARIANT_CONTROL`).
///
/// Privileges and features beyond appendix C, from the chapter text:
///
/// * `HV_X64_MSR_REFERENCE_TSC` needs `AccessPartitionReferenceTsc` and is read/write
///   (TLFS 12.7.1; appendix C says `AccessPartitionReferenceCounter`, read-only).
/// * The crash MSRs need no privilege but the `GuestCrashMsrsAvailable` CPUID feature
///   (TLFS 4.3; appendix C puts the feature in its privilege column).
/// * `HV_X64_MSR_NPIEP_CONFIG` needs the NPIEP CPUID feature (TLFS 2.4.4 EDX bit 12, 8.12).
/// * The time-unhalted timer MSRs also need CPUID 0x4000_0003 EDX bit 23 (TLFS 12.6).
/// * `HV_X64_MSR_SIRBP` is gated like the other SynIC MSRs; its access is not published and
///   is recorded as read/write like the SynIC page MSRs.
/// * The synthetic debugger MSRs need `AccessDebugRegs` and the debug MSRs CPUID feature
///   (TLFS 4.2.2, 2.4.4 EDX bit 11; KVM `arch/x86/kvm/hyperv.c` gates them the same way).
/// * `HV_X64_MSR_TSC_INVARIANT_CONTROL` needs `AccessTscInvariantControls` (Linux
///   `HV_ACCESS_TSC_INVARIANT`).
pub const SYNTHETIC_MSRS: &[HvMsrInfo] = &[
    msr!(
        HV_X64_MSR_GUEST_OS_ID,
        HYPERCALL_MSRS,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(HV_X64_MSR_HYPERCALL, HYPERCALL_MSRS, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_VP_INDEX, VP_INDEX, NO_FEATURE, Read),
    msr!(HV_X64_MSR_RESET, RESET, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_VP_RUNTIME, VP_RUNTIME, NO_FEATURE, Read),
    msr!(HV_X64_MSR_TIME_REF_COUNT, REF_COUNTER, NO_FEATURE, Read),
    msr!(HV_X64_MSR_REFERENCE_TSC, REF_TSC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_TSC_FREQUENCY, FREQUENCY, NO_FEATURE, Read),
    msr!(HV_X64_MSR_APIC_FREQUENCY, FREQUENCY, NO_FEATURE, Read),
    msr!(
        HV_X64_MSR_NPIEP_CONFIG,
        NO_PRIVILEGE,
        NPIEP_FEATURE,
        ReadWrite
    ),
    msr!(HV_X64_MSR_EOI, APIC, NO_FEATURE, Write),
    msr!(HV_X64_MSR_ICR, APIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_TPR, APIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_VP_ASSIST_PAGE, APIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SCONTROL, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SVERSION, SYNIC, NO_FEATURE, Read),
    msr!(HV_X64_MSR_SIEFP, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SIMP, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_EOM, SYNIC, NO_FEATURE, Write),
    msr!(HV_X64_MSR_SIRBP, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT0, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT1, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT2, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT3, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT4, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT5, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT6, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT7, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT8, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT9, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT10, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT11, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT12, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT13, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT14, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SINT15, SYNIC, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_STIMER0_CONFIG, STIMER, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_STIMER0_COUNT, STIMER, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_STIMER1_CONFIG, STIMER, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_STIMER1_COUNT, STIMER, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_STIMER2_CONFIG, STIMER, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_STIMER2_COUNT, STIMER, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_STIMER3_CONFIG, STIMER, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_STIMER3_COUNT, STIMER, NO_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_GUEST_IDLE, GUEST_IDLE, NO_FEATURE, Read),
    msr!(HV_X64_MSR_SYNDBG_CONTROL, DEBUG, DEBUG_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_SYNDBG_STATUS, DEBUG, DEBUG_FEATURE, ReadWrite),
    msr!(
        HV_X64_MSR_SYNDBG_SEND_BUFFER,
        DEBUG,
        DEBUG_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_SYNDBG_RECV_BUFFER,
        DEBUG,
        DEBUG_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_SYNDBG_PENDING_BUFFER,
        DEBUG,
        DEBUG_FEATURE,
        ReadWrite
    ),
    msr!(HV_X64_MSR_SYNDBG_OPTIONS, DEBUG, DEBUG_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_CRASH_P0, NO_PRIVILEGE, CRASH_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_CRASH_P1, NO_PRIVILEGE, CRASH_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_CRASH_P2, NO_PRIVILEGE, CRASH_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_CRASH_P3, NO_PRIVILEGE, CRASH_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_CRASH_P4, NO_PRIVILEGE, CRASH_FEATURE, ReadWrite),
    msr!(HV_X64_MSR_CRASH_CTL, NO_PRIVILEGE, CRASH_FEATURE, ReadWrite),
    msr!(
        HV_X64_MSR_REENLIGHTENMENT_CONTROL,
        REENLIGHTENMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_TSC_EMULATION_CONTROL,
        REENLIGHTENMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_TSC_EMULATION_STATUS,
        REENLIGHTENMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_STIME_UNHALTED_TIMER_CONFIG,
        STIMER,
        UNHALTED_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_STIME_UNHALTED_TIMER_COUNT,
        STIMER,
        UNHALTED_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_TSC_INVARIANT_CONTROL,
        TSC_INVARIANT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(HV_X64_MSR_NESTED_VP_INDEX, CPU_MANAGEMENT, NO_FEATURE, Read),
    msr!(
        HV_X64_MSR_NESTED_SCONTROL,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(HV_X64_MSR_NESTED_SVERSION, CPU_MANAGEMENT, NO_FEATURE, Read),
    msr!(
        HV_X64_MSR_NESTED_SIEFP,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SIMP,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(HV_X64_MSR_NESTED_EOM, CPU_MANAGEMENT, NO_FEATURE, Write),
    msr!(
        HV_X64_MSR_NESTED_SINT0,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT1,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT2,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT3,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT4,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT5,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT6,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT7,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT8,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT9,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT10,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT11,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT12,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT13,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT14,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
    msr!(
        HV_X64_MSR_NESTED_SINT15,
        CPU_MANAGEMENT,
        NO_FEATURE,
        ReadWrite
    ),
];

/// The hypercall page MSR, `HV_X64_MSR_HYPERCALL` (TLFS 3.13). Partition-wide.
///
/// Enabling needs a non-zero guest OS identity first; otherwise `enable` stays 0. Bits 11:2
/// are RsvdP: a writer starts from the value it read.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvHypercallMsr {
    /// Bit 0: enable the hypercall page.
    pub enable: bool,
    /// Bit 1: locked. Once set the MSR is immutable until system reset (needs CPUID
    /// 0x4000_0003 EDX bit 18, `HypercallMsrLockAvailable`).
    pub locked: bool,
    /// Bits 11:2: RsvdP, preserve on write.
    #[bits(10)]
    _rsvdp: u16,
    /// Bits 63:12: the guest physical page number of the hypercall page.
    #[bits(52)]
    pub gpa_page_number: u64,
}

impl HvHypercallMsr {
    /// Mask of the RsvdP bits 11:2 (TLFS 3.13).
    pub const RESERVED_MASK: u64 = 0x0000_0000_0000_0FFC;
}

/// The reset MSR, `HV_X64_MSR_RESET` (appendix C: "a hypervisor-controlled reboot
/// operation").
///
/// TLFS 6.0 gives no bit layout; bit 0 is the reset request as implemented by KVM
/// (`arch/x86/kvm/hyperv.c`: writing 1 requests a reset). Needs the
/// `AccessResetReg` privilege; CPUID 0x4000_0004 EAX bit 4 recommends using it.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvResetMsr {
    /// Bit 0: request a reset of the partition.
    pub reset: bool,
    /// Bits 63:1: reserved.
    #[bits(63)]
    _rsvd: u64,
}

impl HvResetMsr {
    /// Mask of the reserved bits 63:1.
    pub const RESERVED_MASK: u64 = !1;

    /// The value that requests a reset.
    pub const RESET: Self = Self::new().with_reset(true);
}

/// Per-VP non-privileged instruction execution prevention, `HV_X64_MSR_NPIEP_CONFIG`
/// (TLFS 8.12 `HV_X64_MSR_NPIEP_CONFIG_CONTENTS`). A prevented instruction executed in user
/// mode raises #GP.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvNpiepConfig {
    /// Bit 0: `PreventSgdt`.
    pub prevent_sgdt: bool,
    /// Bit 1: `PreventSidt`.
    pub prevent_sidt: bool,
    /// Bit 2: `PreventSldt`.
    pub prevent_sldt: bool,
    /// Bit 3: `PreventStr`.
    pub prevent_str: bool,
    /// Bits 63:4: reserved.
    #[bits(60)]
    _rsvd: u64,
}

impl HvNpiepConfig {
    /// Mask of the reserved bits 63:4 (TLFS 8.12).
    pub const RESERVED_MASK: u64 = !0xF;
}

/// TSC invariant control, `HV_X64_MSR_TSC_INVARIANT_CONTROL` (post-TLFS 6.0; Linux
/// `hvgdk_mini.h`). Needs the `AccessTscInvariantControls` privilege.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvTscInvariantControl {
    /// Bit 0: expose the invariant TSC flag in CPUID 0x8000_0007 EDX to the guest (Linux
    /// `HV_EXPOSE_INVARIANT_TSC`).
    pub expose_invariant_tsc: bool,
    /// Bits 63:1: reserved.
    #[bits(63)]
    _rsvd: u64,
}

impl HvTscInvariantControl {
    /// Mask of the reserved bits 63:1.
    pub const RESERVED_MASK: u64 = !1;
}
