//! Virtual processor register names for x64 and arm64 (TLFS 7.8.2, 7.8.3).
//!
//! Registers are read and written with `HvCallGetVpRegisters` / `HvCallSetVpRegisters`
//! (TLFS 7.10) by name; each value travels as a 16-byte [`HvRegisterValue`].
//!
//! # Which names exist on which architecture
//!
//! * `HvRegister*` names are synthetic registers with the same number on x64 and arm64. On
//!   x64 most of them are also reachable as synthetic MSRs (the docs give the MSR); on arm64
//!   the register interface is the only way to reach them, including the CPUID-equivalent
//!   feature registers 0x0000_0100–0x0000_0209 (see [`crate::cpuid::cpuid_leaf_register`]).
//! * `HvX64Register*` names exist only on x64, except `HvX64RegisterVpRuntime`, which Linux
//!   also uses on arm64 (`HV_REGISTER_VP_RUNTIME`).
//! * `HvArm64Register*` names exist only on arm64.
//!
//! Architectural register numbers are per architecture: 0x0002_0000 is RAX on x64 and X0 on
//! arm64. [`HvRegisterName::name`] and `Debug` report the synthetic or x64 name for such a
//! shared number; arm64 code names its registers with the `HvArm64Register*` constants.
//!
//! # Sources and corrections
//!
//! Synthetic and x64 names are spelled as in TLFS 7.8.2. The TLFS 6.0 text of the list is
//! garbled in places; the corrections (checked against Linux `hvgdk_mini.h` and OpenVMM
//! `hvdef`) are listed beside the golden test `tests/defs_a_registers.rs`. Names newer than
//! TLFS 6.0 come from Linux `include/hyperv/hvgdk_mini.h`, OpenVMM `vm/hv1/hvdef`
//! (`HvAllArchRegisterName`, `HvX64RegisterName`, `HvArm64RegisterName`) and, for arm64
//! registers OpenVMM does not name, the public header `Mile.HyperV.Guest.Interface.h` of
//! ProjectMile/Mile.HyperV (compiled from Microsoft's MsvmPkg headers and OpenVMM); each
//! constant cites its source.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

open_enum! {
    /// A virtual processor register name (TLFS 7.8.2 `HV_REGISTER_NAME`).
    ///
    /// See the module docs for which names exist on which architecture.
    pub struct HvRegisterName(u32) {
        // Synthetic registers: the same name and number on x64 and arm64.
        /// Explicit suspend state (TLFS 7.8.2).
        HvRegisterExplicitSuspend = 0x0000_0000,
        /// Intercept suspend state (TLFS 7.8.2).
        HvRegisterInterceptSuspend = 0x0000_0001,
        /// Instruction emulation hints (post-TLFS 6.0; OpenVMM).
        HvRegisterInstructionEmulationHints = 0x0000_0002,
        /// Dispatch suspend state (post-TLFS 6.0; Linux `HV_REGISTER_DISPATCH_SUSPEND`).
        HvRegisterDispatchSuspend = 0x0000_0003,
        /// Internal activity state (post-TLFS 6.0; OpenVMM).
        HvRegisterInternalActivityState = 0x0000_0004,
        /// Hypervisor version, same 128 bits as CPUID 0x4000_0002 (TLFS 7.8.2).
        HvRegisterHypervisorVersion = 0x0000_0100,
        /// Privileges and features, same 128 bits as CPUID 0x4000_0003 (TLFS 7.8.2); arm64 layout
        /// differs, see `cpuid::HvArm64Features`.
        HvRegisterPrivilegesAndFeaturesInfo = 0x0000_0200,
        /// Implementation recommendations, same 128 bits as CPUID 0x4000_0004 (TLFS 7.8.2).
        HvRegisterFeaturesInfo = 0x0000_0201,
        /// Implementation limits, same 128 bits as CPUID 0x4000_0005 (TLFS 7.8.2).
        HvRegisterImplementationLimitsInfo = 0x0000_0202,
        /// Hardware features, same 128 bits as CPUID 0x4000_0006 (TLFS 7.8.2).
        HvRegisterHardwareFeaturesInfo = 0x0000_0203,
        /// CPU management features, as CPUID 0x4000_0007 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterCpuManagementFeaturesInfo = 0x0000_0204,
        /// SVM features, as CPUID 0x4000_0008 (post-TLFS 6.0; Linux `hvgdk_mini.h`; OpenVMM arm64
        /// `PasidFeaturesInfo`).
        HvRegisterSvmFeaturesInfo = 0x0000_0205,
        /// Nested hypervisor features, as CPUID 0x4000_0009 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterSkipLevelFeaturesInfo = 0x0000_0206,
        /// Nested virtualization features, as CPUID 0x4000_000A (post-TLFS 6.0; Linux
        /// `hvgdk_mini.h`).
        HvRegisterNestedVirtFeaturesInfo = 0x0000_0207,
        /// Intel PT features, as CPUID 0x4000_000B (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterIptFeaturesInfo = 0x0000_0208,
        /// Isolation configuration, as CPUID 0x4000_000C (post-TLFS 6.0; OpenVMM
        /// `HvArm64RegisterName`).
        HvRegisterIsolationConfiguration = 0x0000_0209,
        /// Guest crash parameter P0 (TLFS 4.3, TLFS 7.8.2).
        HvRegisterGuestCrashP0 = 0x0000_0210,
        /// Guest crash parameter P1 (TLFS 4.3, TLFS 7.8.2).
        HvRegisterGuestCrashP1 = 0x0000_0211,
        /// Guest crash parameter P2 (TLFS 4.3, TLFS 7.8.2).
        HvRegisterGuestCrashP2 = 0x0000_0212,
        /// Guest crash parameter P3 (TLFS 4.3, TLFS 7.8.2).
        HvRegisterGuestCrashP3 = 0x0000_0213,
        /// Guest crash parameter P4 (TLFS 4.3, TLFS 7.8.2).
        HvRegisterGuestCrashP4 = 0x0000_0214,
        /// Guest crash control, see `partition::HvGuestCrashControl` (TLFS 4.3, TLFS 7.8.2).
        HvRegisterGuestCrashCtl = 0x0000_0215,
        /// Power state configuration (TLFS 7.8.2).
        HvRegisterPowerStateConfigC1 = 0x0000_0220,
        /// Power state configuration (TLFS 7.8.2).
        HvRegisterPowerStateTriggerC1 = 0x0000_0221,
        /// Power state configuration (TLFS 7.8.2).
        HvRegisterPowerStateConfigC2 = 0x0000_0222,
        /// Power state configuration (TLFS 7.8.2).
        HvRegisterPowerStateTriggerC2 = 0x0000_0223,
        /// Power state configuration (TLFS 7.8.2).
        HvRegisterPowerStateConfigC3 = 0x0000_0224,
        /// Power state configuration (TLFS 7.8.2).
        HvRegisterPowerStateTriggerC3 = 0x0000_0225,
        /// Processor clock frequency (TLFS 7.8.2).
        HvRegisterProcessorClockFrequency = 0x0000_0240,
        /// Interrupt clock frequency (TLFS 7.8.2).
        HvRegisterInterruptClockFrequency = 0x0000_0241,
        /// Guest idle (TLFS 7.8.2).
        HvRegisterGuestIdle = 0x0000_0250,
        /// Guest debug device options (TLFS 7.8.2).
        HvRegisterDebugDeviceOptions = 0x0000_0260,
        /// Pending interruption (TLFS 7.8.2).
        HvRegisterPendingInterruption = 0x0001_0002,
        /// Interrupt state (TLFS 7.8.2).
        HvRegisterInterruptState = 0x0001_0003,
        /// Pending event 0 (TLFS 7.8.2).
        HvRegisterPendingEvent0 = 0x0001_0004,
        /// Pending event 1 (TLFS 7.8.2).
        HvRegisterPendingEvent1 = 0x0001_0005,
        /// Deliverability notifications (post-TLFS 6.0; OpenVMM).
        HvRegisterDeliverabilityNotifications = 0x0001_0006,
        /// Guest OS identity, see `guest_id` (TLFS 2.6, TLFS 7.8.2; x64 MSR 0x4000_0000).
        HvRegisterGuestOsId = 0x0009_0002,
        /// VP index (TLFS 7.8.1, TLFS 7.8.2; x64 MSR 0x4000_0002).
        HvRegisterVpIndex = 0x0009_0003,
        /// Partition reference counter, 100 ns units (TLFS 12.4, TLFS 7.8.2; x64 MSR 0x4000_0020).
        HvRegisterTimeRefCount = 0x0009_0004,
        /// CPU management version (TLFS 7.8.2).
        HvRegisterCpuManagementVersion = 0x0009_0007,
        /// VP assist page (TLFS 7.8.7, TLFS 7.8.2; x64 MSR 0x4000_0073).
        HvRegisterVpAssistPage = 0x0009_0013,
        /// Root signal count (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterVpRootSignalCount = 0x0009_0014,
        /// Reference TSC page, see `timer::HvReferenceTscMsr` (TLFS 12.7, TLFS 7.8.2; x64 MSR
        /// 0x4000_0021).
        HvRegisterReferenceTsc = 0x0009_0017,
        /// VP configuration (post-TLFS 6.0; OpenVMM).
        HvRegisterVpConfig = 0x0009_0018,
        /// SEV-SNP GHCB (post-TLFS 6.0; OpenVMM).
        HvRegisterGhcb = 0x0009_0019,
        /// Reference TSC sequence (post-TLFS 6.0; OpenVMM).
        HvRegisterReferenceTscSequence = 0x0009_001A,
        /// Guest scheduler event (post-TLFS 6.0; OpenVMM).
        HvRegisterGuestSchedulerEvent = 0x0009_001B,
        /// Partition retail statistics page (TLFS 7.8.2).
        HvRegisterStatsPartitionRetail = 0x0009_0020,
        /// Partition internal statistics page (TLFS 7.8.2).
        HvRegisterStatsPartitionInternal = 0x0009_0021,
        /// VP retail statistics page (TLFS 7.8.2).
        HvRegisterStatsVpRetail = 0x0009_0022,
        /// VP internal statistics page (TLFS 7.8.2).
        HvRegisterStatsVpInternal = 0x0009_0023,
        /// SynIC SINT0 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x40000090).
        HvRegisterSint0 = 0x000A_0000,
        /// SynIC SINT1 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x40000091).
        HvRegisterSint1 = 0x000A_0001,
        /// SynIC SINT2 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x40000092).
        HvRegisterSint2 = 0x000A_0002,
        /// SynIC SINT3 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x40000093).
        HvRegisterSint3 = 0x000A_0003,
        /// SynIC SINT4 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x40000094).
        HvRegisterSint4 = 0x000A_0004,
        /// SynIC SINT5 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x40000095).
        HvRegisterSint5 = 0x000A_0005,
        /// SynIC SINT6 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x40000096).
        HvRegisterSint6 = 0x000A_0006,
        /// SynIC SINT7 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x40000097).
        HvRegisterSint7 = 0x000A_0007,
        /// SynIC SINT8 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x40000098).
        HvRegisterSint8 = 0x000A_0008,
        /// SynIC SINT9 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x40000099).
        HvRegisterSint9 = 0x000A_0009,
        /// SynIC SINT10 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x4000009a).
        HvRegisterSint10 = 0x000A_000A,
        /// SynIC SINT11 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x4000009b).
        HvRegisterSint11 = 0x000A_000B,
        /// SynIC SINT12 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x4000009c).
        HvRegisterSint12 = 0x000A_000C,
        /// SynIC SINT13 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x4000009d).
        HvRegisterSint13 = 0x000A_000D,
        /// SynIC SINT14 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x4000009e).
        HvRegisterSint14 = 0x000A_000E,
        /// SynIC SINT15 (TLFS 11.8.5, TLFS 7.8.2; x64 MSR 0x4000009f).
        HvRegisterSint15 = 0x000A_000F,
        /// SynIC control (TLFS 11.8.1, TLFS 7.8.2; x64 MSR 0x4000_0080).
        HvRegisterScontrol = 0x000A_0010,
        /// SynIC version (TLFS 11.8.2, TLFS 7.8.2; x64 MSR 0x4000_0081).
        HvRegisterSversion = 0x000A_0011,
        /// SynIC event flags page, SIEFP (TLFS 11.8.3, TLFS 7.8.2; x64 MSR 0x4000_0082).
        HvRegisterSifp = 0x000A_0012,
        /// SynIC message page, SIMP (TLFS 11.8.4, TLFS 7.8.2; x64 MSR 0x4000_0083).
        HvRegisterSipp = 0x000A_0013,
        /// SynIC end of message (TLFS 11.8.6, TLFS 7.8.2; x64 MSR 0x4000_0084).
        HvRegisterEom = 0x000A_0014,
        /// SynIC SIRBP (TLFS 7.8.2; x64 MSR 0x4000_0085).
        HvRegisterSirbp = 0x000A_0015,
        /// Nested SynIC SINT0 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint0 = 0x000A_1000,
        /// Nested SynIC SINT1 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint1 = 0x000A_1001,
        /// Nested SynIC SINT2 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint2 = 0x000A_1002,
        /// Nested SynIC SINT3 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint3 = 0x000A_1003,
        /// Nested SynIC SINT4 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint4 = 0x000A_1004,
        /// Nested SynIC SINT5 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint5 = 0x000A_1005,
        /// Nested SynIC SINT6 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint6 = 0x000A_1006,
        /// Nested SynIC SINT7 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint7 = 0x000A_1007,
        /// Nested SynIC SINT8 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint8 = 0x000A_1008,
        /// Nested SynIC SINT9 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint9 = 0x000A_1009,
        /// Nested SynIC SINT10 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint10 = 0x000A_100A,
        /// Nested SynIC SINT11 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint11 = 0x000A_100B,
        /// Nested SynIC SINT12 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint12 = 0x000A_100C,
        /// Nested SynIC SINT13 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint13 = 0x000A_100D,
        /// Nested SynIC SINT14 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint14 = 0x000A_100E,
        /// Nested SynIC SINT15 (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSint15 = 0x000A_100F,
        /// Nested SynIC control (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedScontrol = 0x000A_1010,
        /// Nested SynIC version (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSversion = 0x000A_1011,
        /// Nested SynIC event flags page (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSifp = 0x000A_1012,
        /// Nested SynIC message page (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSipp = 0x000A_1013,
        /// Nested SynIC end of message (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedEom = 0x000A_1014,
        /// Nested SynIC SIRBP (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvRegisterNestedSirbp = 0x000A_1015,
        /// Synthetic timer 0 configuration (TLFS 12.5.1, TLFS 7.8.2; x64 MSR 0x400000b0).
        HvRegisterStimer0Config = 0x000B_0000,
        /// Synthetic timer 0 count (TLFS 12.5.2, TLFS 7.8.2; x64 MSR 0x400000b1).
        HvRegisterStimer0Count = 0x000B_0001,
        /// Synthetic timer 1 configuration (TLFS 12.5.1, TLFS 7.8.2; x64 MSR 0x400000b2).
        HvRegisterStimer1Config = 0x000B_0002,
        /// Synthetic timer 1 count (TLFS 12.5.2, TLFS 7.8.2; x64 MSR 0x400000b3).
        HvRegisterStimer1Count = 0x000B_0003,
        /// Synthetic timer 2 configuration (TLFS 12.5.1, TLFS 7.8.2; x64 MSR 0x400000b4).
        HvRegisterStimer2Config = 0x000B_0004,
        /// Synthetic timer 2 count (TLFS 12.5.2, TLFS 7.8.2; x64 MSR 0x400000b5).
        HvRegisterStimer2Count = 0x000B_0005,
        /// Synthetic timer 3 configuration (TLFS 12.5.1, TLFS 7.8.2; x64 MSR 0x400000b6).
        HvRegisterStimer3Config = 0x000B_0006,
        /// Synthetic timer 3 count (TLFS 12.5.2, TLFS 7.8.2; x64 MSR 0x400000b7).
        HvRegisterStimer3Count = 0x000B_0007,
        /// Time-unhalted timer configuration (TLFS 12.6.1, TLFS 7.8.2).
        HvRegisterStimeUnhaltedTimerConfig = 0x000B_0100,
        /// Time-unhalted timer count (TLFS 12.6.2, TLFS 7.8.2).
        HvRegisterStimeUnhaltedTimerCount = 0x000B_0101,
        /// VSM code page offsets (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmCodePageOffsets = 0x000D_0002,
        /// VSM VP status (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpStatus = 0x000D_0003,
        /// VSM partition status (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmPartitionStatus = 0x000D_0004,
        /// VSM virtual interrupt notification assist (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVina = 0x000D_0005,
        /// VSM capabilities (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmCapabilities = 0x000D_0006,
        /// VSM partition configuration (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmPartitionConfig = 0x000D_0007,
        /// Guest VSM partition configuration (post-TLFS 6.0; OpenVMM).
        HvRegisterGuestVsmPartitionConfig = 0x000D_0008,
        /// VSM VP secure VTL configuration for VTL 0 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl0 = 0x000D_0010,
        /// VSM VP secure VTL configuration for VTL 1 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl1 = 0x000D_0011,
        /// VSM VP secure VTL configuration for VTL 2 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl2 = 0x000D_0012,
        /// VSM VP secure VTL configuration for VTL 3 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl3 = 0x000D_0013,
        /// VSM VP secure VTL configuration for VTL 4 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl4 = 0x000D_0014,
        /// VSM VP secure VTL configuration for VTL 5 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl5 = 0x000D_0015,
        /// VSM VP secure VTL configuration for VTL 6 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl6 = 0x000D_0016,
        /// VSM VP secure VTL configuration for VTL 7 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl7 = 0x000D_0017,
        /// VSM VP secure VTL configuration for VTL 8 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl8 = 0x000D_0018,
        /// VSM VP secure VTL configuration for VTL 9 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl9 = 0x000D_0019,
        /// VSM VP secure VTL configuration for VTL 10 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl10 = 0x000D_001A,
        /// VSM VP secure VTL configuration for VTL 11 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl11 = 0x000D_001B,
        /// VSM VP secure VTL configuration for VTL 12 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl12 = 0x000D_001C,
        /// VSM VP secure VTL configuration for VTL 13 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl13 = 0x000D_001D,
        /// VSM VP secure VTL configuration for VTL 14 (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpSecureConfigVtl14 = 0x000D_001E,
        /// VSM wait for TLB lock (TLFS 15, TLFS 7.8.2).
        HvRegisterVsmVpWaitForTlbLock = 0x000D_0020,
        // x64 registers.
        /// RAX (x64, TLFS 7.8.2).
        HvX64RegisterRax = 0x0002_0000,
        /// RCX (x64, TLFS 7.8.2).
        HvX64RegisterRcx = 0x0002_0001,
        /// RDX (x64, TLFS 7.8.2).
        HvX64RegisterRdx = 0x0002_0002,
        /// RBX (x64, TLFS 7.8.2).
        HvX64RegisterRbx = 0x0002_0003,
        /// RSP (x64, TLFS 7.8.2).
        HvX64RegisterRsp = 0x0002_0004,
        /// RBP (x64, TLFS 7.8.2).
        HvX64RegisterRbp = 0x0002_0005,
        /// RSI (x64, TLFS 7.8.2).
        HvX64RegisterRsi = 0x0002_0006,
        /// RDI (x64, TLFS 7.8.2).
        HvX64RegisterRdi = 0x0002_0007,
        /// R8 (x64, TLFS 7.8.2).
        HvX64RegisterR8 = 0x0002_0008,
        /// R9 (x64, TLFS 7.8.2).
        HvX64RegisterR9 = 0x0002_0009,
        /// R10 (x64, TLFS 7.8.2).
        HvX64RegisterR10 = 0x0002_000A,
        /// R11 (x64, TLFS 7.8.2).
        HvX64RegisterR11 = 0x0002_000B,
        /// R12 (x64, TLFS 7.8.2).
        HvX64RegisterR12 = 0x0002_000C,
        /// R13 (x64, TLFS 7.8.2).
        HvX64RegisterR13 = 0x0002_000D,
        /// R14 (x64, TLFS 7.8.2).
        HvX64RegisterR14 = 0x0002_000E,
        /// R15 (x64, TLFS 7.8.2).
        HvX64RegisterR15 = 0x0002_000F,
        /// RIP (x64, TLFS 7.8.2).
        HvX64RegisterRip = 0x0002_0010,
        /// RFLAGS (x64, TLFS 7.8.2).
        HvX64RegisterRflags = 0x0002_0011,
        /// XMM0 (x64, TLFS 7.8.2).
        HvX64RegisterXmm0 = 0x0003_0000,
        /// XMM1 (x64, TLFS 7.8.2).
        HvX64RegisterXmm1 = 0x0003_0001,
        /// XMM2 (x64, TLFS 7.8.2).
        HvX64RegisterXmm2 = 0x0003_0002,
        /// XMM3 (x64, TLFS 7.8.2).
        HvX64RegisterXmm3 = 0x0003_0003,
        /// XMM4 (x64, TLFS 7.8.2).
        HvX64RegisterXmm4 = 0x0003_0004,
        /// XMM5 (x64, TLFS 7.8.2).
        HvX64RegisterXmm5 = 0x0003_0005,
        /// XMM6 (x64, TLFS 7.8.2).
        HvX64RegisterXmm6 = 0x0003_0006,
        /// XMM7 (x64, TLFS 7.8.2).
        HvX64RegisterXmm7 = 0x0003_0007,
        /// XMM8 (x64, TLFS 7.8.2).
        HvX64RegisterXmm8 = 0x0003_0008,
        /// XMM9 (x64, TLFS 7.8.2).
        HvX64RegisterXmm9 = 0x0003_0009,
        /// XMM10 (x64, TLFS 7.8.2).
        HvX64RegisterXmm10 = 0x0003_000A,
        /// XMM11 (x64, TLFS 7.8.2).
        HvX64RegisterXmm11 = 0x0003_000B,
        /// XMM12 (x64, TLFS 7.8.2).
        HvX64RegisterXmm12 = 0x0003_000C,
        /// XMM13 (x64, TLFS 7.8.2).
        HvX64RegisterXmm13 = 0x0003_000D,
        /// XMM14 (x64, TLFS 7.8.2).
        HvX64RegisterXmm14 = 0x0003_000E,
        /// XMM15 (x64, TLFS 7.8.2).
        HvX64RegisterXmm15 = 0x0003_000F,
        /// FP/MMX register 0 (x64, TLFS 7.8.2).
        HvX64RegisterFpMmx0 = 0x0003_0010,
        /// FP/MMX register 1 (x64, TLFS 7.8.2).
        HvX64RegisterFpMmx1 = 0x0003_0011,
        /// FP/MMX register 2 (x64, TLFS 7.8.2).
        HvX64RegisterFpMmx2 = 0x0003_0012,
        /// FP/MMX register 3 (x64, TLFS 7.8.2).
        HvX64RegisterFpMmx3 = 0x0003_0013,
        /// FP/MMX register 4 (x64, TLFS 7.8.2).
        HvX64RegisterFpMmx4 = 0x0003_0014,
        /// FP/MMX register 5 (x64, TLFS 7.8.2).
        HvX64RegisterFpMmx5 = 0x0003_0015,
        /// FP/MMX register 6 (x64, TLFS 7.8.2).
        HvX64RegisterFpMmx6 = 0x0003_0016,
        /// FP/MMX register 7 (x64, TLFS 7.8.2).
        HvX64RegisterFpMmx7 = 0x0003_0017,
        /// x87 control and status (x64, TLFS 7.8.2).
        HvX64RegisterFpControlStatus = 0x0003_0018,
        /// MXCSR and XMM control/status (x64, TLFS 7.8.2).
        HvX64RegisterXmmControlStatus = 0x0003_0019,
        /// CR0 (x64, TLFS 7.8.2).
        HvX64RegisterCr0 = 0x0004_0000,
        /// CR2 (x64, TLFS 7.8.2).
        HvX64RegisterCr2 = 0x0004_0001,
        /// CR3 (x64, TLFS 7.8.2).
        HvX64RegisterCr3 = 0x0004_0002,
        /// CR4 (x64, TLFS 7.8.2).
        HvX64RegisterCr4 = 0x0004_0003,
        /// CR8 (x64, TLFS 7.8.2).
        HvX64RegisterCr8 = 0x0004_0004,
        /// XFEM, the XSAVE feature enable mask (x64, TLFS 7.8.2).
        HvX64RegisterXfem = 0x0004_0005,
        /// Intermediate CR0 (x64, TLFS 7.8.2).
        HvX64RegisterIntermediateCr0 = 0x0004_1000,
        /// Intermediate CR3 (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterIntermediateCr3 = 0x0004_1002,
        /// Intermediate CR4 (x64, TLFS 7.8.2).
        HvX64RegisterIntermediateCr4 = 0x0004_1003,
        /// Intermediate CR8 (x64, TLFS 7.8.2).
        HvX64RegisterIntermediateCr8 = 0x0004_1004,
        /// DR0 (x64, TLFS 7.8.2).
        HvX64RegisterDr0 = 0x0005_0000,
        /// DR1 (x64, TLFS 7.8.2).
        HvX64RegisterDr1 = 0x0005_0001,
        /// DR2 (x64, TLFS 7.8.2).
        HvX64RegisterDr2 = 0x0005_0002,
        /// DR3 (x64, TLFS 7.8.2).
        HvX64RegisterDr3 = 0x0005_0003,
        /// DR6 (x64, TLFS 7.8.2).
        HvX64RegisterDr6 = 0x0005_0004,
        /// DR7 (x64, TLFS 7.8.2).
        HvX64RegisterDr7 = 0x0005_0005,
        /// ES with hidden state (x64, TLFS 7.8.2).
        HvX64RegisterEs = 0x0006_0000,
        /// CS with hidden state (x64, TLFS 7.8.2).
        HvX64RegisterCs = 0x0006_0001,
        /// SS with hidden state (x64, TLFS 7.8.2).
        HvX64RegisterSs = 0x0006_0002,
        /// DS with hidden state (x64, TLFS 7.8.2).
        HvX64RegisterDs = 0x0006_0003,
        /// FS with hidden state (x64, TLFS 7.8.2).
        HvX64RegisterFs = 0x0006_0004,
        /// GS with hidden state (x64, TLFS 7.8.2).
        HvX64RegisterGs = 0x0006_0005,
        /// LDTR with hidden state (x64, TLFS 7.8.2).
        HvX64RegisterLdtr = 0x0006_0006,
        /// TR with hidden state (x64, TLFS 7.8.2).
        HvX64RegisterTr = 0x0006_0007,
        /// IDTR (x64, TLFS 7.8.2).
        HvX64RegisterIdtr = 0x0007_0000,
        /// GDTR (x64, TLFS 7.8.2).
        HvX64RegisterGdtr = 0x0007_0001,
        /// TSC (x64, TLFS 7.8.2).
        HvX64RegisterTsc = 0x0008_0000,
        /// EFER (x64, TLFS 7.8.2).
        HvX64RegisterEfer = 0x0008_0001,
        /// KERNEL_GS_BASE (x64, TLFS 7.8.2).
        HvX64RegisterKernelGsBase = 0x0008_0002,
        /// APIC_BASE (x64, TLFS 7.8.2).
        HvX64RegisterApicBase = 0x0008_0003,
        /// PAT (x64, TLFS 7.8.2).
        HvX64RegisterPat = 0x0008_0004,
        /// SYSENTER_CS (x64, TLFS 7.8.2).
        HvX64RegisterSysenterCs = 0x0008_0005,
        /// SYSENTER_EIP (x64, TLFS 7.8.2).
        HvX64RegisterSysenterRip = 0x0008_0006,
        /// SYSENTER_ESP (x64, TLFS 7.8.2).
        HvX64RegisterSysenterRsp = 0x0008_0007,
        /// STAR (x64, TLFS 7.8.2).
        HvX64RegisterStar = 0x0008_0008,
        /// LSTAR (x64, TLFS 7.8.2).
        HvX64RegisterLstar = 0x0008_0009,
        /// CSTAR (x64, TLFS 7.8.2).
        HvX64RegisterCstar = 0x0008_000A,
        /// SFMASK (x64, TLFS 7.8.2).
        HvX64RegisterSfmask = 0x0008_000B,
        /// the initial APIC id (x64, TLFS 7.8.2).
        HvX64RegisterInitialApicId = 0x0008_000C,
        /// MTRRCAP (x64, TLFS 7.8.2).
        HvX64RegisterMtrrCap = 0x0008_000D,
        /// MTRR_DEF_TYPE (x64, TLFS 7.8.2).
        HvX64RegisterMtrrDefType = 0x0008_000E,
        /// MTRR_PHYSBASE0 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBase0 = 0x0008_0010,
        /// MTRR_PHYSBASE1 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBase1 = 0x0008_0011,
        /// MTRR_PHYSBASE2 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBase2 = 0x0008_0012,
        /// MTRR_PHYSBASE3 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBase3 = 0x0008_0013,
        /// MTRR_PHYSBASE4 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBase4 = 0x0008_0014,
        /// MTRR_PHYSBASE5 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBase5 = 0x0008_0015,
        /// MTRR_PHYSBASE6 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBase6 = 0x0008_0016,
        /// MTRR_PHYSBASE7 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBase7 = 0x0008_0017,
        /// MTRR_PHYSBASE8 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBase8 = 0x0008_0018,
        /// MTRR_PHYSBASE9 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBase9 = 0x0008_0019,
        /// MTRR_PHYSBASE10 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBaseA = 0x0008_001A,
        /// MTRR_PHYSBASE11 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBaseB = 0x0008_001B,
        /// MTRR_PHYSBASE12 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBaseC = 0x0008_001C,
        /// MTRR_PHYSBASE13 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBaseD = 0x0008_001D,
        /// MTRR_PHYSBASE14 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBaseE = 0x0008_001E,
        /// MTRR_PHYSBASE15 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysBaseF = 0x0008_001F,
        /// MTRR_PHYSMASK0 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMask0 = 0x0008_0040,
        /// MTRR_PHYSMASK1 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMask1 = 0x0008_0041,
        /// MTRR_PHYSMASK2 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMask2 = 0x0008_0042,
        /// MTRR_PHYSMASK3 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMask3 = 0x0008_0043,
        /// MTRR_PHYSMASK4 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMask4 = 0x0008_0044,
        /// MTRR_PHYSMASK5 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMask5 = 0x0008_0045,
        /// MTRR_PHYSMASK6 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMask6 = 0x0008_0046,
        /// MTRR_PHYSMASK7 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMask7 = 0x0008_0047,
        /// MTRR_PHYSMASK8 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMask8 = 0x0008_0048,
        /// MTRR_PHYSMASK9 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMask9 = 0x0008_0049,
        /// MTRR_PHYSMASK10 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMaskA = 0x0008_004A,
        /// MTRR_PHYSMASK11 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMaskB = 0x0008_004B,
        /// MTRR_PHYSMASK12 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMaskC = 0x0008_004C,
        /// MTRR_PHYSMASK13 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMaskD = 0x0008_004D,
        /// MTRR_PHYSMASK14 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMaskE = 0x0008_004E,
        /// MTRR_PHYSMASK15 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrPhysMaskF = 0x0008_004F,
        /// Fixed-range MTRR 64k00000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix64k00000 = 0x0008_0070,
        /// Fixed-range MTRR 16k80000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix16k80000 = 0x0008_0071,
        /// Fixed-range MTRR 16kA0000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix16kA0000 = 0x0008_0072,
        /// Fixed-range MTRR 4kC0000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix4kC0000 = 0x0008_0073,
        /// Fixed-range MTRR 4kC8000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix4kC8000 = 0x0008_0074,
        /// Fixed-range MTRR 4kD0000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix4kD0000 = 0x0008_0075,
        /// Fixed-range MTRR 4kD8000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix4kD8000 = 0x0008_0076,
        /// Fixed-range MTRR 4kE0000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix4kE0000 = 0x0008_0077,
        /// Fixed-range MTRR 4kE8000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix4kE8000 = 0x0008_0078,
        /// Fixed-range MTRR 4kF0000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix4kF0000 = 0x0008_0079,
        /// Fixed-range MTRR 4kF8000 (x64, TLFS 7.8.2).
        HvX64RegisterMtrrFix4kF8000 = 0x0008_007A,
        /// TSC_AUX (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterTscAux = 0x0008_007B,
        /// BNDCFGS (x64, TLFS 7.8.2).
        HvX64RegisterBndcfgs = 0x0008_007C,
        /// DEBUGCTL (x64, TLFS 7.8.2).
        HvX64RegisterDebugCtl = 0x0008_007D,
        /// MPERF count (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterMCount = 0x0008_007E,
        /// APERF count (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterACount = 0x0008_007F,
        /// SGX launch control 0 (x64, TLFS 7.8.2).
        HvX64RegisterSgxLaunchControl0 = 0x0008_0080,
        /// SGX launch control 1 (x64, TLFS 7.8.2).
        HvX64RegisterSgxLaunchControl1 = 0x0008_0081,
        /// SGX launch control 2 (x64, TLFS 7.8.2).
        HvX64RegisterSgxLaunchControl2 = 0x0008_0082,
        /// SGX launch control 3 (x64, TLFS 7.8.2).
        HvX64RegisterSgxLaunchControl3 = 0x0008_0083,
        /// SPEC_CTRL (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterSpecCtrl = 0x0008_0084,
        /// PRED_CMD (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterPredCmd = 0x0008_0085,
        /// VIRT_SPEC_CTRL (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterVirtSpecCtrl = 0x0008_0086,
        /// the virtual TSC offset (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterTscVirtualOffset = 0x0008_0087,
        /// TSX_CTRL (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterTsxCtrl = 0x0008_0088,
        /// the microcode patch level (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterMsrMcUpdatePatchLevel = 0x0008_0089,
        /// XSS (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterXss = 0x0008_008B,
        /// U_CET (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterUCet = 0x0008_008C,
        /// S_CET (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterSCet = 0x0008_008D,
        /// SSP (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterSsp = 0x0008_008E,
        /// PL0_SSP (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterPl0Ssp = 0x0008_008F,
        /// PL1_SSP (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterPl1Ssp = 0x0008_0090,
        /// PL2_SSP (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterPl2Ssp = 0x0008_0091,
        /// PL3_SSP (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterPl3Ssp = 0x0008_0092,
        /// INTERRUPT_SSP_TABLE_ADDR (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterInterruptSspTableAddr = 0x0008_0093,
        /// the virtual TSC multiplier (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterTscVirtualMultiplier = 0x0008_0094,
        /// TSC_DEADLINE (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterTscDeadline = 0x0008_0095,
        /// TSC_ADJUST (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterTscAdjust = 0x0008_0096,
        /// PASID (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterPasid = 0x0008_0097,
        /// UMWAIT_CONTROL (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterUmwaitControl = 0x0008_0098,
        /// XFD (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterXfd = 0x0008_0099,
        /// XFD_ERR (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterXfdErr = 0x0008_009A,
        /// IA32_MISC_ENABLE (x64, TLFS 7.8.2).
        HvX64RegisterMsrIa32MiscEnable = 0x0008_00A0,
        /// IA32_FEATURE_CONTROL (x64, TLFS 7.8.2).
        HvX64RegisterIa32FeatureControl = 0x0008_00A1,
        /// PERF_GLOBAL_CTRL (x64, TLFS 7.8.2).
        HvX64RegisterPerfGlobalCtrl = 0x0008_1000,
        /// PERF_GLOBAL_STATUS (x64, TLFS 7.8.2).
        HvX64RegisterPerfGlobalStatus = 0x0008_1001,
        /// PERF_GLOBAL_INUSE (x64, TLFS 7.8.2).
        HvX64RegisterPerfGlobalInUse = 0x0008_1002,
        /// FIXED_CTR_CTRL (x64, TLFS 7.8.2).
        HvX64RegisterFixedCtrCtrl = 0x0008_1003,
        /// DS_AREA (x64, TLFS 7.8.2).
        HvX64RegisterDsArea = 0x0008_1004,
        /// PEBS_ENABLE (x64, TLFS 7.8.2).
        HvX64RegisterPebsEnable = 0x0008_1005,
        /// PEBS_LD_LAT (x64, TLFS 7.8.2).
        HvX64RegisterPebsLdLat = 0x0008_1006,
        /// PEBS_FRONTEND (x64, TLFS 7.8.2).
        HvX64RegisterPebsFrontend = 0x0008_1007,
        /// PERFEVTSEL0 (x64, TLFS 7.8.2).
        HvX64RegisterPerfEvtSel0 = 0x0008_1100,
        /// PMC0 (x64, TLFS 7.8.2).
        HvX64RegisterPmc0 = 0x0008_1200,
        /// FIXED_CTR0 (x64, TLFS 7.8.2).
        HvX64RegisterFixedCtr0 = 0x0008_1300,
        /// LBR_TOS (x64, TLFS 7.8.2).
        HvX64RegisterLbrTos = 0x0008_2000,
        /// LBR_SELECT (x64, TLFS 7.8.2).
        HvX64RegisterLbrSelect = 0x0008_2001,
        /// LER_FROM_LIP (x64, TLFS 7.8.2).
        HvX64RegisterLerFromLip = 0x0008_2002,
        /// LER_TO_LIP (x64, TLFS 7.8.2).
        HvX64RegisterLerToLip = 0x0008_2003,
        /// LBR_FROM_0 (x64, TLFS 7.8.2).
        HvX64RegisterLbrFrom0 = 0x0008_2100,
        /// LBR_TO_0 (x64, TLFS 7.8.2).
        HvX64RegisterLbrTo0 = 0x0008_2200,
        /// LBR_INFO_0 (x64, TLFS 7.8.2).
        HvX64RegisterLbrInfo0 = 0x0008_3300,
        /// VP run time, 100 ns units (TLFS 7.8.2; x64 MSR 0x4000_0010; also valid on arm64, Linux
        /// `HV_REGISTER_VP_RUNTIME`).
        HvX64RegisterVpRuntime = 0x0009_0000,
        /// Hypercall page MSR (TLFS 3.13, TLFS 7.8.2; x64 only).
        HvX64RegisterHypercall = 0x0009_0001,
        /// APIC EOI MSR (TLFS 10, TLFS 7.8.2; x64 only).
        HvX64RegisterEoi = 0x0009_0010,
        /// APIC ICR MSR (TLFS 10, TLFS 7.8.2; x64 only).
        HvX64RegisterIcr = 0x0009_0011,
        /// APIC TPR MSR (TLFS 10, TLFS 7.8.2; x64 only).
        HvX64RegisterTpr = 0x0009_0012,
        /// Register page (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterRegisterPage = 0x0009_001C,
        /// Emulated timer period (x64, TLFS 7.8.2).
        HvX64RegisterEmulatedTimerPeriod = 0x0009_0030,
        /// Emulated timer control (x64, TLFS 7.8.2).
        HvX64RegisterEmulatedTimerControl = 0x0009_0031,
        /// PM timer assist (x64, TLFS 7.8.2).
        HvX64RegisterPmTimerAssist = 0x0009_0032,
        /// AMD SEV control (x64; post-TLFS 6.0, OpenVMM).
        HvX64RegisterSevControl = 0x0009_0040,
        /// Low 128 bits of YMM0 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm0Low = 0x000C_0000,
        /// Low 128 bits of YMM1 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm1Low = 0x000C_0001,
        /// Low 128 bits of YMM2 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm2Low = 0x000C_0002,
        /// Low 128 bits of YMM3 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm3Low = 0x000C_0003,
        /// Low 128 bits of YMM4 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm4Low = 0x000C_0004,
        /// Low 128 bits of YMM5 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm5Low = 0x000C_0005,
        /// Low 128 bits of YMM6 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm6Low = 0x000C_0006,
        /// Low 128 bits of YMM7 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm7Low = 0x000C_0007,
        /// Low 128 bits of YMM8 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm8Low = 0x000C_0008,
        /// Low 128 bits of YMM9 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm9Low = 0x000C_0009,
        /// Low 128 bits of YMM10 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm10Low = 0x000C_000A,
        /// Low 128 bits of YMM11 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm11Low = 0x000C_000B,
        /// Low 128 bits of YMM12 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm12Low = 0x000C_000C,
        /// Low 128 bits of YMM13 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm13Low = 0x000C_000D,
        /// Low 128 bits of YMM14 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm14Low = 0x000C_000E,
        /// Low 128 bits of YMM15 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm15Low = 0x000C_000F,
        /// High 128 bits of YMM0 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm0High = 0x000C_0010,
        /// High 128 bits of YMM1 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm1High = 0x000C_0011,
        /// High 128 bits of YMM2 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm2High = 0x000C_0012,
        /// High 128 bits of YMM3 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm3High = 0x000C_0013,
        /// High 128 bits of YMM4 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm4High = 0x000C_0014,
        /// High 128 bits of YMM5 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm5High = 0x000C_0015,
        /// High 128 bits of YMM6 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm6High = 0x000C_0016,
        /// High 128 bits of YMM7 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm7High = 0x000C_0017,
        /// High 128 bits of YMM8 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm8High = 0x000C_0018,
        /// High 128 bits of YMM9 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm9High = 0x000C_0019,
        /// High 128 bits of YMM10 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm10High = 0x000C_001A,
        /// High 128 bits of YMM11 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm11High = 0x000C_001B,
        /// High 128 bits of YMM12 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm12High = 0x000C_001C,
        /// High 128 bits of YMM13 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm13High = 0x000C_001D,
        /// High 128 bits of YMM14 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm14High = 0x000C_001E,
        /// High 128 bits of YMM15 upper state, XSAVE (x64, TLFS 7.8.2).
        HvX64RegisterYmm15High = 0x000C_001F,
        // arm64 registers; numbers may equal x64 ones (the name space is per architecture).
        /// X0 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX0 = 0x0002_0000,
        /// X1 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX1 = 0x0002_0001,
        /// X2 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX2 = 0x0002_0002,
        /// X3 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX3 = 0x0002_0003,
        /// X4 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX4 = 0x0002_0004,
        /// X5 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX5 = 0x0002_0005,
        /// X6 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX6 = 0x0002_0006,
        /// X7 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX7 = 0x0002_0007,
        /// X8 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX8 = 0x0002_0008,
        /// X9 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX9 = 0x0002_0009,
        /// X10 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX10 = 0x0002_000A,
        /// X11 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX11 = 0x0002_000B,
        /// X12 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX12 = 0x0002_000C,
        /// X13 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX13 = 0x0002_000D,
        /// X14 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX14 = 0x0002_000E,
        /// X15 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX15 = 0x0002_000F,
        /// X16 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX16 = 0x0002_0010,
        /// X17 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX17 = 0x0002_0011,
        /// X18 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX18 = 0x0002_0012,
        /// X19 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX19 = 0x0002_0013,
        /// X20 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX20 = 0x0002_0014,
        /// X21 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX21 = 0x0002_0015,
        /// X22 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX22 = 0x0002_0016,
        /// X23 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX23 = 0x0002_0017,
        /// X24 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX24 = 0x0002_0018,
        /// X25 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX25 = 0x0002_0019,
        /// X26 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX26 = 0x0002_001A,
        /// X27 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX27 = 0x0002_001B,
        /// X28 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterX28 = 0x0002_001C,
        /// X29, the frame pointer (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterXFp = 0x0002_001D,
        /// X30, the link register (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterXLr = 0x0002_001E,
        /// SP, SP_EL0 or SP_ELx as selected by PSTATE.SP (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterXSp = 0x0002_001F,
        /// SP_EL0 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterXSpEl0 = 0x0002_0020,
        /// SP_ELx (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterXSpElx = 0x0002_0021,
        /// PC (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterXPc = 0x0002_0022,
        /// CPSR/PSTATE (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterCpsr = 0x0002_0023,
        /// SPSR_EL2 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterSpsrEl2 = 0x0002_1002,
        /// Q0 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ0 = 0x0003_0000,
        /// Q1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ1 = 0x0003_0001,
        /// Q2 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ2 = 0x0003_0002,
        /// Q3 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ3 = 0x0003_0003,
        /// Q4 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ4 = 0x0003_0004,
        /// Q5 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ5 = 0x0003_0005,
        /// Q6 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ6 = 0x0003_0006,
        /// Q7 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ7 = 0x0003_0007,
        /// Q8 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ8 = 0x0003_0008,
        /// Q9 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ9 = 0x0003_0009,
        /// Q10 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ10 = 0x0003_000A,
        /// Q11 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ11 = 0x0003_000B,
        /// Q12 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ12 = 0x0003_000C,
        /// Q13 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ13 = 0x0003_000D,
        /// Q14 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ14 = 0x0003_000E,
        /// Q15 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ15 = 0x0003_000F,
        /// Q16 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ16 = 0x0003_0010,
        /// Q17 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ17 = 0x0003_0011,
        /// Q18 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ18 = 0x0003_0012,
        /// Q19 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ19 = 0x0003_0013,
        /// Q20 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ20 = 0x0003_0014,
        /// Q21 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ21 = 0x0003_0015,
        /// Q22 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ22 = 0x0003_0016,
        /// Q23 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ23 = 0x0003_0017,
        /// Q24 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ24 = 0x0003_0018,
        /// Q25 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ25 = 0x0003_0019,
        /// Q26 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ26 = 0x0003_001A,
        /// Q27 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ27 = 0x0003_001B,
        /// Q28 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ28 = 0x0003_001C,
        /// Q29 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ29 = 0x0003_001D,
        /// Q30 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ30 = 0x0003_001E,
        /// Q31 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterQ31 = 0x0003_001F,
        /// FPCR (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterFpControl = 0x0003_0020,
        /// FPSR (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterFpStatus = 0x0003_0021,
        /// MIDR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterMidr = 0x0004_0000,
        /// MPIDR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterMpidr = 0x0004_0001,
        /// SCTLR_EL1 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterSctlrEl1 = 0x0004_0002,
        /// ACTLR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterActlr = 0x0004_0003,
        /// CPACR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCpacr = 0x0004_0004,
        /// TTBR0_EL1 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterTtbr0El1 = 0x0004_0005,
        /// TTBR1_EL1 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterTtbr1El1 = 0x0004_0006,
        /// TCR_EL1 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterTcrEl1 = 0x0004_0007,
        /// ESR_EL1 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterEsrEl1 = 0x0004_0008,
        /// FAR_EL1 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterFarEl1 = 0x0004_0009,
        /// PAR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterParEl1 = 0x0004_000A,
        /// MAIR_EL1 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterMairEl1 = 0x0004_000B,
        /// VBAR_EL1 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterVbarEl1 = 0x0004_000C,
        /// CONTEXTIDR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterContextIdr = 0x0004_000D,
        /// TPIDR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterTpidr = 0x0004_000E,
        /// TPIDRRO_EL0 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterTpidrroEl0 = 0x0004_0010,
        /// TPIDR_EL0 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterTpidrEl0 = 0x0004_0011,
        /// FPCR (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterFpcrEl1 = 0x0004_0012,
        /// FPSR (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterFpsrEl1 = 0x0004_0013,
        /// SPSR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterSpsrEl1 = 0x0004_0014,
        /// ELR_EL1 (arm64; post-TLFS 6.0; OpenVMM).
        HvArm64RegisterElrEl1 = 0x0004_0015,
        /// AFSR0_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterAfsr0 = 0x0004_0016,
        /// AFSR1_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterAfsr1 = 0x0004_0017,
        /// AMAIR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterAMair = 0x0004_0018,
        /// MDSCR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterMdscr = 0x0004_0019,
        /// MDCR_EL2 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterMdcr = 0x0004_0101,
        /// CPTR_EL2 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCptr = 0x0004_0102,
        /// HSTR_EL2 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterHstr = 0x0004_0103,
        /// HACR_EL2 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterHacr = 0x0004_0104,
        /// CTR_EL0 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCtr = 0x0004_0300,
        /// DCZID_EL0 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterDczid = 0x0004_0301,
        /// REVIDR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterRevidr = 0x0004_0302,
        /// ID_AA64PFR0_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterIdAa64pfr0 = 0x0004_0303,
        /// ID_AA64PFR1_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterIdAa64pfr1 = 0x0004_0304,
        /// ID_AA64DFR0_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterIdAa64dfr0 = 0x0004_0305,
        /// ID_AA64DFR1_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterIdAa64dfr1 = 0x0004_0306,
        /// ID_AA64AFR0_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterIdAa64afr0 = 0x0004_0307,
        /// ID_AA64AFR1_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterIdAa64afr1 = 0x0004_0308,
        /// ID_AA64ISAR0_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterIdAa64isar0 = 0x0004_0309,
        /// ID_AA64ISAR1_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterIdAa64isar1 = 0x0004_030A,
        /// ID_AA64MMFR0_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterIdAa64mmfr0 = 0x0004_030B,
        /// ID_AA64MMFR1_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterIdAa64mmfr1 = 0x0004_030C,
        /// CLIDR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterClidr = 0x0004_030D,
        /// AIDR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterAidr = 0x0004_030E,
        /// CSSELR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCsselr = 0x0004_030F,
        /// CCSIDR_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCcsidr = 0x0004_0310,
        /// Address used for synthetic exceptions (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterSyntheticException = 0x0004_0400,
        /// DBGBCR0_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr0 = 0x0005_0000,
        /// DBGBCR1_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr1 = 0x0005_0001,
        /// DBGBCR2_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr2 = 0x0005_0002,
        /// DBGBCR3_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr3 = 0x0005_0003,
        /// DBGBCR4_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr4 = 0x0005_0004,
        /// DBGBCR5_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr5 = 0x0005_0005,
        /// DBGBCR6_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr6 = 0x0005_0006,
        /// DBGBCR7_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr7 = 0x0005_0007,
        /// DBGBCR8_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr8 = 0x0005_0008,
        /// DBGBCR9_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr9 = 0x0005_0009,
        /// DBGBCR10_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr10 = 0x0005_000A,
        /// DBGBCR11_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr11 = 0x0005_000B,
        /// DBGBCR12_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr12 = 0x0005_000C,
        /// DBGBCR13_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr13 = 0x0005_000D,
        /// DBGBCR14_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr14 = 0x0005_000E,
        /// DBGBCR15_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBcr15 = 0x0005_000F,
        /// DBGWCR0_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr0 = 0x0005_0010,
        /// DBGWCR1_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr1 = 0x0005_0011,
        /// DBGWCR2_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr2 = 0x0005_0012,
        /// DBGWCR3_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr3 = 0x0005_0013,
        /// DBGWCR4_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr4 = 0x0005_0014,
        /// DBGWCR5_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr5 = 0x0005_0015,
        /// DBGWCR6_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr6 = 0x0005_0016,
        /// DBGWCR7_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr7 = 0x0005_0017,
        /// DBGWCR8_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr8 = 0x0005_0018,
        /// DBGWCR9_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr9 = 0x0005_0019,
        /// DBGWCR10_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr10 = 0x0005_001A,
        /// DBGWCR11_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr11 = 0x0005_001B,
        /// DBGWCR12_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr12 = 0x0005_001C,
        /// DBGWCR13_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr13 = 0x0005_001D,
        /// DBGWCR14_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr14 = 0x0005_001E,
        /// DBGWCR15_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWcr15 = 0x0005_001F,
        /// DBGBVR0_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr0 = 0x0005_0020,
        /// DBGBVR1_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr1 = 0x0005_0021,
        /// DBGBVR2_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr2 = 0x0005_0022,
        /// DBGBVR3_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr3 = 0x0005_0023,
        /// DBGBVR4_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr4 = 0x0005_0024,
        /// DBGBVR5_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr5 = 0x0005_0025,
        /// DBGBVR6_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr6 = 0x0005_0026,
        /// DBGBVR7_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr7 = 0x0005_0027,
        /// DBGBVR8_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr8 = 0x0005_0028,
        /// DBGBVR9_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr9 = 0x0005_0029,
        /// DBGBVR10_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr10 = 0x0005_002A,
        /// DBGBVR11_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr11 = 0x0005_002B,
        /// DBGBVR12_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr12 = 0x0005_002C,
        /// DBGBVR13_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr13 = 0x0005_002D,
        /// DBGBVR14_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr14 = 0x0005_002E,
        /// DBGBVR15_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterBvr15 = 0x0005_002F,
        /// DBGWVR0_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr0 = 0x0005_0030,
        /// DBGWVR1_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr1 = 0x0005_0031,
        /// DBGWVR2_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr2 = 0x0005_0032,
        /// DBGWVR3_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr3 = 0x0005_0033,
        /// DBGWVR4_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr4 = 0x0005_0034,
        /// DBGWVR5_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr5 = 0x0005_0035,
        /// DBGWVR6_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr6 = 0x0005_0036,
        /// DBGWVR7_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr7 = 0x0005_0037,
        /// DBGWVR8_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr8 = 0x0005_0038,
        /// DBGWVR9_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr9 = 0x0005_0039,
        /// DBGWVR10_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr10 = 0x0005_003A,
        /// DBGWVR11_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr11 = 0x0005_003B,
        /// DBGWVR12_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr12 = 0x0005_003C,
        /// DBGWVR13_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr13 = 0x0005_003D,
        /// DBGWVR14_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr14 = 0x0005_003E,
        /// DBGWVR15_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterWvr15 = 0x0005_003F,
        /// GICR base GPA (arm64; post-TLFS 6.0, OpenVMM).
        HvArm64RegisterGicrBaseGpa = 0x0006_3000,
        /// Interface version; low 32 bits as CPUID 0x4000_0001 EAX (arm64; post-TLFS 6.0;
        /// Mile.HyperV).
        HvArm64RegisterInterfaceVersion = 0x0009_0006,
        /// Partition info page (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterPartitionInfoPage = 0x0009_0015,
        /// TLBI control (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterTlbiControl = 0x0009_0016,
        /// CNTHCTL_EL2 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCnthCtl = 0x000B_0400,
        /// CNTKCTL_EL1 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCntkCtl = 0x000B_0401,
        /// CNTP_CTL_EL0 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCntpCtl = 0x000B_0402,
        /// CNTP_CVAL_EL0 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCntpCval = 0x000B_0403,
        /// CNTVOFF_EL2 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCntvOffset = 0x000B_0404,
        /// CNTV_CTL_EL0 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCntvCtl = 0x000B_0405,
        /// CNTV_CVAL_EL0 (arm64; post-TLFS 6.0; Mile.HyperV).
        HvArm64RegisterCntvCval = 0x000B_0406,
    }
}

/// A register value: 16 bytes, interpreted according to the register
/// (TLFS 7.8.3 `HV_REGISTER_VALUE`).
///
/// Stored as two little-endian quadwords so the type has no padding and 8-byte alignment,
/// which is what the hypercall input and output pages guarantee.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvRegisterValue {
    /// Bits 63:0.
    pub low: u64,
    /// Bits 127:64.
    pub high: u64,
}

const _: () = assert!(size_of::<HvRegisterValue>() == 16);

impl HvRegisterValue {
    /// A value whose low 64 bits are `value` (TLFS 7.8.3 `Reg64`).
    #[must_use]
    pub const fn from_u64(value: u64) -> Self {
        Self {
            low: value,
            high: 0,
        }
    }

    /// A 128-bit value (TLFS 7.8.3 `Reg128`).
    #[must_use]
    pub const fn from_u128(value: u128) -> Self {
        Self {
            low: value as u64,
            high: (value >> 64) as u64,
        }
    }

    /// The low 64 bits (TLFS 7.8.3 `Reg64`).
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.low
    }

    /// All 128 bits (TLFS 7.8.3 `Reg128`).
    #[must_use]
    pub const fn as_u128(self) -> u128 {
        (self.high as u128) << 64 | self.low as u128
    }
}

impl From<u64> for HvRegisterValue {
    fn from(value: u64) -> Self {
        Self::from_u64(value)
    }
}

impl From<u128> for HvRegisterValue {
    fn from(value: u128) -> Self {
        Self::from_u128(value)
    }
}
