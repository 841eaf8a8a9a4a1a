//! Partition properties: the partition privilege mask and the guest crash enlightenment
//! (TLFS 4).
//!
//! # Privileges
//!
//! [`HvPartitionPrivilegeMask`] is the `HvPartitionPropertyPrivilegeFlags` partition property
//! (TLFS 4.2.2). A guest sees it as the first 64 bits of the features leaf: CPUID
//! 0x4000_0003 EAX (bits 31:0) and EBX (bits 63:32) on x64, and the low 64 bits of
//! `HvRegisterPrivilegesAndFeaturesInfo` on arm64 (see [`crate::cpuid::HvFeatures`]).
//!
//! # Guest crash enlightenment (TLFS 4.3)
//!
//! When the features leaf reports guest crash registers (x64: CPUID 0x4000_0003 EDX bit 10;
//! arm64: bit 8 of the third word of `HvRegisterPrivilegesAndFeaturesInfo`), a crashing guest
//! may:
//!
//! 1. write up to five crash parameters P0–P4 (x64 MSRs `HV_X64_MSR_CRASH_P0`..`P4`, arm64
//!    registers `HvRegisterGuestCrashP0`..`P4`), which the hypervisor preserves and hands to
//!    the root partition for logging;
//! 2. optionally place a crash message in a guest page and pass its guest physical address
//!    in P3 and its length in bytes (at most [`HV_GUEST_CRASH_MESSAGE_MAX_BYTES`]) in P4;
//! 3. write the crash control register once, with [`HvGuestCrashControl::NOTIFY`] or
//!    [`HvGuestCrashControl::NOTIFY_WITH_MESSAGE`].
//!
//! Reading the crash control register reports which actions the hypervisor supports, in the
//! same bit positions.

use bitfield_struct::bitfield;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The partition privilege flags (TLFS 4.2.2 `HV_PARTITION_PRIVILEGE_MASK`).
///
/// Bits 31:0 grant access to synthetic MSRs/registers, bits 63:32 to hypercalls. Flags that
/// TLFS 6.0 marks reserved but later public sources name are included and cited.
///
/// # Corrections to the TLFS 6.0 text
///
/// * The structure in 4.2.2 lists `Reserved1:18` after `AccessReenlightenmentControls`;
///   bits 14 and 15 have since been assigned (OpenVMM `HvPartitionPrivilege`, Linux
///   `HV_ACCESS_TSC_INVARIANT` = bit 15), so only bits 31:16 remain reserved.
/// * Bit 35 is reserved in 4.2.2 but is `AdjustMessageBuffers` in Linux `hvgdk_mini.h`
///   (`HV_ADJUST_MESSAGE_BUFFERS`); bits 45–47, 51 and 54 are named by OpenVMM and Linux.
/// * The 4.2.2 meaning table calls bit 3 `AccessSyntheticTimerMsrs`, the structure
///   `AccessSyntheticTimerRegs`; appendix C uses other aliases (`AccessApicMsrs` for bit 4,
///   `AccessSystemResetMsr` for bit 7, `AccessVpRuntimeMsr` for bit 0). This type uses the
///   structure's names.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvPartitionPrivilegeMask {
    /// Bit 0: `HV_X64_MSR_VP_RUNTIME` (TLFS 4.2.2 `AccessVpRunTimeReg`).
    pub access_vp_runtime_reg: bool,
    /// Bit 1: `HV_X64_MSR_TIME_REF_COUNT` (TLFS 4.2.2 `AccessPartitionReferenceCounter`).
    pub access_partition_reference_counter: bool,
    /// Bit 2: the SynIC MSRs (TLFS 4.2.2 `AccessSynicRegs`).
    pub access_synic_regs: bool,
    /// Bit 3: the synthetic timer MSRs (TLFS 4.2.2 `AccessSyntheticTimerRegs`).
    pub access_synthetic_timer_regs: bool,
    /// Bit 4: the APIC MSRs EOI, ICR, TPR and the VP assist page MSR (TLFS 4.2.2
    /// `AccessIntrCtrlRegs`).
    pub access_intr_ctrl_regs: bool,
    /// Bit 5: `HV_X64_MSR_GUEST_OS_ID` and `HV_X64_MSR_HYPERCALL` (TLFS 4.2.2
    /// `AccessHypercallMsrs`).
    pub access_hypercall_msrs: bool,
    /// Bit 6: `HV_X64_MSR_VP_INDEX` (TLFS 4.2.2 `AccessVpIndex`).
    pub access_vp_index: bool,
    /// Bit 7: `HV_X64_MSR_RESET` (TLFS 4.2.2 `AccessResetReg`).
    pub access_reset_reg: bool,
    /// Bit 8: the statistics page MSRs (TLFS 4.2.2 `AccessStatsReg`).
    pub access_stats_reg: bool,
    /// Bit 9: `HV_X64_MSR_REFERENCE_TSC` (TLFS 4.2.2 `AccessPartitionReferenceTsc`, 12.7).
    pub access_partition_reference_tsc: bool,
    /// Bit 10: `HV_X64_MSR_GUEST_IDLE` (TLFS 4.2.2 `AccessGuestIdleReg`, 7.5).
    pub access_guest_idle_reg: bool,
    /// Bit 11: the TSC and APIC frequency MSRs (TLFS 4.2.2 `AccessFrequencyRegs`).
    pub access_frequency_regs: bool,
    /// Bit 12: the synthetic debugging MSRs (TLFS 4.2.2 `AccessDebugRegs`).
    pub access_debug_regs: bool,
    /// Bit 13: reenlightenment and TSC emulation MSRs (TLFS 4.2.2
    /// `AccessReenlightenmentControls`, 16.6).
    pub access_reenlightenment_controls: bool,
    /// Bit 14: the root scheduler MSR (post-TLFS 6.0; OpenVMM
    /// `HvPartitionPrivilege::access_root_scheduler_msr`).
    pub access_root_scheduler_reg: bool,
    /// Bit 15: `HV_X64_MSR_TSC_INVARIANT_CONTROL` (post-TLFS 6.0; Linux `hvgdk_mini.h`
    /// `HV_ACCESS_TSC_INVARIANT`).
    pub access_tsc_invariant_controls: bool,
    /// Reserved, bits 31:16.
    #[bits(16)]
    _rsvd0: u16,
    /// Bit 32: `HvCallCreatePartition` and hypercalls on children (TLFS 4.2.2
    /// `CreatePartitions`).
    pub create_partitions: bool,
    /// Bit 33: `HvCallGetPartitionId` (TLFS 4.2.2 `AccessPartitionId`).
    pub access_partition_id: bool,
    /// Bit 34: deposit/withdraw memory and memory balance (TLFS 4.2.2 `AccessMemoryPool`).
    pub access_memory_pool: bool,
    /// Bit 35: adjust message buffers (post-TLFS 6.0; Linux `hvgdk_mini.h`
    /// `HV_ADJUST_MESSAGE_BUFFERS`; reserved in TLFS 6.0).
    pub adjust_message_buffers: bool,
    /// Bit 36: `HvCallPostMessage` (TLFS 4.2.2 `PostMessages`).
    pub post_messages: bool,
    /// Bit 37: `HvCallSignalEvent` (TLFS 4.2.2 `SignalEvents`).
    pub signal_events: bool,
    /// Bit 38: `HvCallCreatePort` (TLFS 4.2.2 `CreatePort`).
    pub create_port: bool,
    /// Bit 39: `HvCallConnectPort` (TLFS 4.2.2 `ConnectPort`).
    pub connect_port: bool,
    /// Bit 40: map/unmap statistics pages (TLFS 4.2.2 `AccessStats`).
    pub access_stats: bool,
    /// Reserved, bits 42:41 (TLFS 4.2.2 `Reserved2`).
    #[bits(2)]
    _rsvd1: u8,
    /// Bit 43: the debug data hypercalls (TLFS 4.2.2 `Debugging`).
    pub debugging: bool,
    /// Bit 44: logical processor run time, parked VPs, power management MSRs and the
    /// nested SynIC MSRs (TLFS 4.2.2 `CpuManagement`, appendix C).
    pub cpu_management: bool,
    /// Bit 45: configure the profiler (post-TLFS 6.0; OpenVMM `configure_profiler`).
    pub configure_profiler: bool,
    /// Bit 46: VP exit tracing (post-TLFS 6.0; OpenVMM `access_vp_exit_tracing`).
    pub access_vp_exit_tracing: bool,
    /// Bit 47: extended GVA ranges for `HvCallFlushVirtualAddressList` (post-TLFS 6.0;
    /// OpenVMM `enable_extended_gva_ranges_flush_va_list`).
    pub enable_extended_gva_ranges_flush_va_list: bool,
    /// Bit 48: Virtual Secure Mode (TLFS 4.2.2 `AccessVSM`, 15).
    pub access_vsm: bool,
    /// Bit 49: `HvCallGetVpRegisters` / `HvCallSetVpRegisters` (TLFS 4.2.2
    /// `AccessVpRegisters`).
    pub access_vp_registers: bool,
    /// Reserved, bit 50.
    _rsvd2: bool,
    /// Bit 51: fast hypercall output (post-TLFS 6.0; OpenVMM `fast_hypercall_output`).
    pub fast_hypercall_output: bool,
    /// Bit 52: the extended hypercall interface (TLFS 4.2.2 `EnableExtendedHypercalls`,
    /// 3.14).
    pub enable_extended_hypercalls: bool,
    /// Bit 53: `HvCallStartVirtualProcessor` (TLFS 4.2.2 `StartVirtualProcessor`).
    pub start_virtual_processor: bool,
    /// Bit 54: isolation (post-TLFS 6.0; Linux `hvgdk_mini.h` `HV_ISOLATION`, OpenVMM
    /// `isolation`).
    pub isolation: bool,
    /// Reserved, bits 63:55.
    #[bits(9)]
    _rsvd3: u16,
}

impl HvPartitionPrivilegeMask {
    /// Mask of the reserved bits: 31:16, 42:41, 50 and 63:55 (TLFS 4.2.2 and the sources
    /// cited on the fields).
    pub const RESERVED_MASK: u64 = 0xFF84_0600_FFFF_0000;

    /// The empty mask: no privilege.
    pub const NONE: Self = Self::new();

    /// The mask from CPUID 0x4000_0003 EAX (bits 31:0) and EBX (bits 63:32) (TLFS 2.4.4).
    #[must_use]
    pub const fn from_cpuid(eax: u32, ebx: u32) -> Self {
        Self::from_bits((ebx as u64) << 32 | eax as u64)
    }

    /// The CPUID 0x4000_0003 EAX and EBX values for this mask (TLFS 2.4.4).
    #[must_use]
    pub const fn into_cpuid(self) -> (u32, u32) {
        let bits = self.into_bits();
        (bits as u32, (bits >> 32) as u32)
    }

    /// Whether every flag set in `required` is also set in `self`: what a host checks before
    /// letting a partition touch an MSR or make a hypercall.
    #[must_use]
    pub const fn contains(self, required: Self) -> bool {
        self.into_bits() & required.into_bits() == required.into_bits()
    }

    /// Whether no flag is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.into_bits() == 0
    }

    /// Whether any reserved bit is set.
    #[must_use]
    pub const fn has_reserved_bits(self) -> bool {
        self.into_bits() & Self::RESERVED_MASK != 0
    }
}

/// Number of guest crash parameters, P0–P4 (TLFS 4.3.1).
pub const HV_GUEST_CRASH_PARAMETER_COUNT: usize = 5;

/// Index of the crash parameter that holds the guest physical address of the crash message
/// when [`HvGuestCrashControl::crash_message`] is set (TLFS 4.3.1.1: P3).
pub const HV_GUEST_CRASH_MESSAGE_GPA_PARAMETER: usize = 3;

/// Index of the crash parameter that holds the length in bytes of the crash message when
/// [`HvGuestCrashControl::crash_message`] is set (TLFS 4.3.1.1: P4).
pub const HV_GUEST_CRASH_MESSAGE_LENGTH_PARAMETER: usize = 4;

/// Largest crash message length, in bytes (TLFS 4.3.1.1).
pub const HV_GUEST_CRASH_MESSAGE_MAX_BYTES: u64 = 4096;

/// Contents of the guest crash control register, x64 MSR `HV_X64_MSR_CRASH_CTL` and arm64
/// register `HvRegisterGuestCrashCtl` (TLFS 4.3.1.1, 4.3.2 `HV_CRASH_CTL_REG_CONTENTS`).
///
/// Read: the actions the hypervisor supports. Write: the action to take, at most once per
/// crash, after P0–P4 are written.
///
/// The TLFS 6.0 text of 4.3.2 lost the structure itself; the bit positions come from Linux
/// `hvgdk_mini.h` (`HV_CRASH_CTL_CRASH_NOTIFY` = bit 63, `HV_CRASH_CTL_CRASH_NOTIFY_MSG` =
/// bit 62) and OpenVMM `GuestCrashCtl` (bits 61 and 60:58).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvGuestCrashControl {
    /// Reserved, bits 57:0.
    #[bits(58)]
    _rsvd: u64,
    /// Id of the pre-OS environment that crashed, bits 60:58 (post-TLFS 6.0; OpenVMM
    /// `GuestCrashCtl::pre_os_id`).
    #[bits(3)]
    pub pre_os_id: u8,
    /// Do not capture a crash dump, bit 61 (post-TLFS 6.0; OpenVMM
    /// `GuestCrashCtl::no_crash_dump`).
    pub no_crash_dump: bool,
    /// `CrashMessage`, bit 62: P3 is the GPA of a crash message and P4 its length in bytes
    /// (TLFS 4.3.1.1; Linux `HV_CRASH_CTL_CRASH_NOTIFY_MSG`). Only valid with
    /// `crash_notify`.
    pub crash_message: bool,
    /// `CrashNotify`, bit 63: P0–P4 are written; log them (TLFS 4.3.1.1; Linux
    /// `HV_CRASH_CTL_CRASH_NOTIFY`).
    pub crash_notify: bool,
}

impl HvGuestCrashControl {
    /// Mask of the reserved bits 57:0.
    pub const RESERVED_MASK: u64 = 0x03FF_FFFF_FFFF_FFFF;

    /// `CrashNotify` alone (TLFS 4.3.1.1, first variation).
    pub const NOTIFY: Self = Self::new().with_crash_notify(true);

    /// `CrashMessage` with `CrashNotify` (TLFS 4.3.1.1, second variation).
    pub const NOTIFY_WITH_MESSAGE: Self = Self::NOTIFY.with_crash_message(true);

    /// Whether any reserved bit is set.
    #[must_use]
    pub const fn has_reserved_bits(self) -> bool {
        self.into_bits() & Self::RESERVED_MASK != 0
    }
}
