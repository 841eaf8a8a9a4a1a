//! Microsoft hypervisor CPUID leaves (TLFS 2.4) and their arm64 register form.
//!
//! On x64 a guest detects the hypervisor with CPUID leaf 1 ECX bit 31
//! ([`HV_CPUID_1_ECX_HYPERVISOR_PRESENT`]), then reads leaves 0x4000_0000 and up. Each leaf is
//! a `#[bitfield(u128)]` whose bits 31:0 are EAX, 63:32 EBX, 95:64 ECX and 127:96 EDX, built
//! with `from_cpuid([eax, ebx, ecx, edx])` and turned back with `into_cpuid()`.
//!
//! # arm64
//!
//! arm64 has no CPUID instruction. The same 128-bit values are read with
//! `HvCallGetVpRegisters` from the synthetic registers that [`cpuid_leaf_register`] names
//! (for example `HvRegisterPrivilegesAndFeaturesInfo` for leaf 0x4000_0003); word 0 of the
//! register is "EAX", word 1 "EBX" and so on, so every type here also decodes a register value
//! with `from_register`.
//!
//! The privilege words (0 and 1) and the recommendation words mean the same on both
//! architectures, but the *miscellaneous feature* flags do not: Linux reads them from word 3
//! (EDX) on x64 and from word 2 (ECX) on arm64, at different bit positions (guest crash
//! registers: x64 EDX bit 10, arm64 word 2 bit 8; direct synthetic timers: x64 EDX bit 19,
//! arm64 word 2 bit 13 — Linux `arch/arm64/include/asm/hyperv-tlfs.h`, `hvgdk_mini.h`,
//! `arch/arm64/hyperv/mshyperv.c`). [`HvFeatures`] is the x64 layout, [`HvArm64Features`] the
//! arm64 one, and [`HvFeaturesInfo`] answers the common questions ("are the crash registers
//! available?") for either.
//!
//! # Sources
//!
//! Bit positions are from TLFS 6.0 2.4; bits that TLFS 6.0 marks reserved but later public
//! sources name are cited on each field (Linux `include/hyperv/hvgdk_mini.h`, OpenVMM
//! `vm/hv1/hvdef` `HvFeatures`, `HvEnlightenmentInformation`, `HvHardwareFeatures`,
//! `HvIsolationConfiguration`).

use bitfield_struct::bitfield;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::partition::HvPartitionPrivilegeMask;
use crate::register::{HvRegisterName, HvRegisterValue};

/// CPUID leaf 1 ECX bit 31: a hypervisor is present (TLFS 3.13 step 1).
pub const HV_CPUID_1_ECX_HYPERVISOR_PRESENT: u32 = 1 << 31;

/// Leaf 0x4000_0000: maximum hypervisor leaf and vendor id (TLFS 2.4.1).
pub const HV_CPUID_VENDOR_AND_MAX_FUNCTION: u32 = 0x4000_0000;
/// Leaf 0x4000_0001: vendor-neutral interface signature (TLFS 2.4.2).
pub const HV_CPUID_INTERFACE: u32 = 0x4000_0001;
/// Leaf 0x4000_0002: hypervisor system identity (version) (TLFS 2.4.3).
pub const HV_CPUID_VERSION: u32 = 0x4000_0002;
/// Leaf 0x4000_0003: privileges and features (TLFS 2.4.4).
pub const HV_CPUID_FEATURES: u32 = 0x4000_0003;
/// Leaf 0x4000_0004: implementation recommendations (TLFS 2.4.5).
pub const HV_CPUID_ENLIGHTENMENT_INFO: u32 = 0x4000_0004;
/// Leaf 0x4000_0005: implementation limits (TLFS 2.4.6).
pub const HV_CPUID_IMPLEMENTATION_LIMITS: u32 = 0x4000_0005;
/// Leaf 0x4000_0006: hardware features in use (TLFS 2.4.7).
pub const HV_CPUID_HARDWARE_FEATURES: u32 = 0x4000_0006;
/// Leaf 0x4000_0007: CPU management features, root partition only (TLFS 2.4.8).
pub const HV_CPUID_CPU_MANAGEMENT_FEATURES: u32 = 0x4000_0007;
/// Leaf 0x4000_0008: shared virtual memory (SVM) features (TLFS 2.4.9).
pub const HV_CPUID_SVM_FEATURES: u32 = 0x4000_0008;
/// Leaf 0x4000_0009: features of the hypervisor seen when running nested (TLFS 2.4.10).
pub const HV_CPUID_NESTED_HYPERVISOR_FEATURES: u32 = 0x4000_0009;
/// Leaf 0x4000_000A: nested virtualization features (TLFS 2.4.11).
pub const HV_CPUID_NESTED_FEATURES: u32 = 0x4000_000A;
/// Leaf 0x4000_000C: isolation configuration (post-TLFS 6.0; Linux `hvgdk_mini.h`
/// `HYPERV_CPUID_ISOLATION_CONFIG`, OpenVMM
/// `HV_CPUID_FUNCTION_MS_HV_ISOLATION_CONFIGURATION`).
pub const HV_CPUID_ISOLATION_CONFIGURATION: u32 = 0x4000_000C;

/// The smallest maximum leaf a Microsoft hypervisor reports (TLFS 2.4.1, 3.13 step 2).
pub const HV_CPUID_MIN_MAX_FUNCTION: u32 = 0x4000_0005;

/// The vendor id of the Microsoft hypervisor, EBX:ECX:EDX of leaf 0x4000_0000 (TLFS 2.4.1).
pub const HV_CPUID_VENDOR_MICROSOFT: [u8; 12] = *b"Microsoft Hv";
/// EBX of leaf 0x4000_0000 on a Microsoft hypervisor, "Micr" (TLFS 2.4.1).
pub const HV_CPUID_VENDOR_MICROSOFT_EBX: u32 = 0x7263_694D;
/// ECX of leaf 0x4000_0000 on a Microsoft hypervisor, "osof" (TLFS 2.4.1).
pub const HV_CPUID_VENDOR_MICROSOFT_ECX: u32 = 0x666F_736F;
/// EDX of leaf 0x4000_0000 on a Microsoft hypervisor, "t Hv" (TLFS 2.4.1).
pub const HV_CPUID_VENDOR_MICROSOFT_EDX: u32 = 0x7648_2074;

/// The "Hv#1" interface signature in EAX of leaf 0x4000_0001 (TLFS 2.4.2).
pub const HV_CPUID_INTERFACE_SIGNATURE_HV1: u32 = 0x3123_7648;

/// EBX of leaf 0x4000_0004 meaning "never notify the hypervisor about spinlock failures"
/// (TLFS 2.4.5).
pub const HV_SPINLOCK_RETRY_NEVER_NOTIFY: u32 = 0xFFFF_FFFF;

/// Packs `[eax, ebx, ecx, edx]` into a 128-bit leaf value.
const fn regs_to_bits(regs: [u32; 4]) -> u128 {
    (regs[3] as u128) << 96 | (regs[2] as u128) << 64 | (regs[1] as u128) << 32 | regs[0] as u128
}

/// Splits a 128-bit leaf value into `[eax, ebx, ecx, edx]`.
const fn bits_to_regs(bits: u128) -> [u32; 4] {
    [
        bits as u32,
        (bits >> 32) as u32,
        (bits >> 64) as u32,
        (bits >> 96) as u32,
    ]
}

/// Adds the CPUID and register conversions to a 128-bit leaf bitfield.
macro_rules! cpuid_leaf {
    ($ty:ident, $leaf:expr) => {
        impl $ty {
            /// The CPUID leaf this type decodes.
            pub const LEAF: u32 = $leaf;

            /// Decodes the leaf from `[eax, ebx, ecx, edx]`.
            #[must_use]
            pub const fn from_cpuid(regs: [u32; 4]) -> Self {
                Self::from_bits(regs_to_bits(regs))
            }

            /// The leaf as `[eax, ebx, ecx, edx]`.
            #[must_use]
            pub const fn into_cpuid(self) -> [u32; 4] {
                bits_to_regs(self.into_bits())
            }

            /// Decodes the leaf from the 128-bit value of the matching synthetic register
            /// (see [`cpuid_leaf_register`]); word 0 is EAX.
            #[must_use]
            pub const fn from_register(value: HvRegisterValue) -> Self {
                Self::from_bits(value.as_u128())
            }
        }
    };
}

/// The synthetic register that holds the same 128-bit value as a hypervisor CPUID leaf, for
/// architectures without CPUID (post-TLFS 6.0; TLFS 7.8.2 comments name 0x4000_0002–0006,
/// Linux `hvgdk_mini.h` and OpenVMM `HvArm64RegisterName` the rest).
///
/// Leaf 0x4000_0001 maps to `HvArm64RegisterInterfaceVersion`, whose low 32 bits are the
/// interface signature. Leaves without a register return `None`.
#[must_use]
pub const fn cpuid_leaf_register(leaf: u32) -> Option<HvRegisterName> {
    Some(match leaf {
        HV_CPUID_INTERFACE => HvRegisterName::HvArm64RegisterInterfaceVersion,
        HV_CPUID_VERSION => HvRegisterName::HvRegisterHypervisorVersion,
        HV_CPUID_FEATURES => HvRegisterName::HvRegisterPrivilegesAndFeaturesInfo,
        HV_CPUID_ENLIGHTENMENT_INFO => HvRegisterName::HvRegisterFeaturesInfo,
        HV_CPUID_IMPLEMENTATION_LIMITS => HvRegisterName::HvRegisterImplementationLimitsInfo,
        HV_CPUID_HARDWARE_FEATURES => HvRegisterName::HvRegisterHardwareFeaturesInfo,
        HV_CPUID_CPU_MANAGEMENT_FEATURES => HvRegisterName::HvRegisterCpuManagementFeaturesInfo,
        HV_CPUID_SVM_FEATURES => HvRegisterName::HvRegisterSvmFeaturesInfo,
        HV_CPUID_NESTED_HYPERVISOR_FEATURES => HvRegisterName::HvRegisterSkipLevelFeaturesInfo,
        HV_CPUID_NESTED_FEATURES => HvRegisterName::HvRegisterNestedVirtFeaturesInfo,
        HV_CPUID_ISOLATION_CONFIGURATION => HvRegisterName::HvRegisterIsolationConfiguration,
        _ => return None,
    })
}

/// Leaf 0x4000_0000: the maximum hypervisor leaf and the vendor id (TLFS 2.4.1).
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvCpuidVendorAndMax {
    /// EAX: the highest hypervisor leaf; at least [`HV_CPUID_MIN_MAX_FUNCTION`] on a
    /// Microsoft hypervisor.
    pub max_function: u32,
    /// EBX: vendor id bytes 0–3.
    pub vendor_ebx: u32,
    /// ECX: vendor id bytes 4–7.
    pub vendor_ecx: u32,
    /// EDX: vendor id bytes 8–11.
    pub vendor_edx: u32,
}

cpuid_leaf!(HvCpuidVendorAndMax, HV_CPUID_VENDOR_AND_MAX_FUNCTION);

impl HvCpuidVendorAndMax {
    /// The 12-byte vendor id, EBX then ECX then EDX, little-endian (TLFS 2.4.1). For
    /// reporting only; compatibility decisions use the interface signature (TLFS 2.4).
    #[must_use]
    pub const fn vendor(self) -> [u8; 12] {
        let b = self.vendor_ebx().to_le_bytes();
        let c = self.vendor_ecx().to_le_bytes();
        let d = self.vendor_edx().to_le_bytes();
        [
            b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3], d[0], d[1], d[2], d[3],
        ]
    }

    /// The leaf with `max_function` and a 12-byte vendor id.
    #[must_use]
    pub const fn with_vendor(self, vendor: [u8; 12]) -> Self {
        self.with_vendor_ebx(u32::from_le_bytes([
            vendor[0], vendor[1], vendor[2], vendor[3],
        ]))
        .with_vendor_ecx(u32::from_le_bytes([
            vendor[4], vendor[5], vendor[6], vendor[7],
        ]))
        .with_vendor_edx(u32::from_le_bytes([
            vendor[8], vendor[9], vendor[10], vendor[11],
        ]))
    }

    /// Whether the vendor id is "Microsoft Hv" (TLFS 2.4.1).
    #[must_use]
    pub const fn is_microsoft(self) -> bool {
        self.vendor_ebx() == HV_CPUID_VENDOR_MICROSOFT_EBX
            && self.vendor_ecx() == HV_CPUID_VENDOR_MICROSOFT_ECX
            && self.vendor_edx() == HV_CPUID_VENDOR_MICROSOFT_EDX
    }

    /// Whether `leaf` is within the hypervisor range this leaf reports.
    #[must_use]
    pub const fn has_leaf(self, leaf: u32) -> bool {
        leaf >= HV_CPUID_VENDOR_AND_MAX_FUNCTION && leaf <= self.max_function()
    }
}

/// Leaf 0x4000_0001: the vendor-neutral interface signature (TLFS 2.4.2).
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvCpuidInterface {
    /// EAX: the interface signature; [`HV_CPUID_INTERFACE_SIGNATURE_HV1`] for the
    /// Microsoft interface.
    pub signature: u32,
    /// EBX, ECX, EDX: reserved.
    #[bits(96)]
    _rsvd: u128,
}

cpuid_leaf!(HvCpuidInterface, HV_CPUID_INTERFACE);

impl HvCpuidInterface {
    /// Mask of the reserved registers EBX, ECX and EDX.
    pub const RESERVED_MASK: u128 = !0xFFFF_FFFF;

    /// Whether the signature is "Hv#1", which promises the Guest OS ID, hypercall and VP
    /// index MSRs (TLFS 2.4.2, 3.13 step 2).
    #[must_use]
    pub const fn is_hv1(self) -> bool {
        self.signature() == HV_CPUID_INTERFACE_SIGNATURE_HV1
    }
}

/// Leaf 0x4000_0002 / `HvRegisterHypervisorVersion`: the hypervisor version (TLFS 2.4.3,
/// 2.5). All zero until the guest writes its OS identity (TLFS 2.6).
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvHypervisorVersion {
    /// EAX: build number.
    pub build_number: u32,
    /// EBX bits 15:0: minor version.
    pub minor_version: u16,
    /// EBX bits 31:16: major version.
    pub major_version: u16,
    /// ECX: service pack.
    pub service_pack: u32,
    /// EDX bits 23:0: service number.
    #[bits(24)]
    pub service_number: u32,
    /// EDX bits 31:24: service branch.
    pub service_branch: u8,
}

cpuid_leaf!(HvHypervisorVersion, HV_CPUID_VERSION);

/// Leaf 0x4000_0003, x64 layout (and `HvRegisterPrivilegesAndFeaturesInfo` on x64): the
/// partition privileges and the features available to the partition (TLFS 2.4.4).
///
/// EAX:EBX are the [`HvPartitionPrivilegeMask`]. ECX holds power-management and other
/// features, EDX the miscellaneous feature flags. For arm64 use [`HvArm64Features`].
///
/// # Corrections to the TLFS 6.0 text
///
/// TLFS 6.0 marks ECX reserved and EDX bits 16, 22, 24, 25 and 27–31 reserved; OpenVMM
/// `HvFeatures` and Linux `hvgdk_mini.h` name them (cited per field). Bit 0 of EDX is the
/// deprecated MWAIT flag.
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvFeatures {
    /// EAX:EBX: the partition privilege mask (TLFS 2.4.4, 4.2.2).
    #[bits(64)]
    pub privileges: HvPartitionPrivilegeMask,

    /// ECX bits 3:0: deepest processor C-state supported (OpenVMM
    /// `max_supported_cstate`).
    #[bits(4)]
    pub max_supported_cstate: u8,
    /// ECX bit 4: HPET needed for C3, deprecated (OpenVMM
    /// `hpet_needed_for_c3_power_state_deprecated`).
    pub hpet_needed_for_c3_deprecated: bool,
    /// ECX bit 5: invariant MPERF available (OpenVMM `invariant_mperf_available`).
    pub invariant_mperf_available: bool,
    /// ECX bit 6: supervisor shadow stack available (OpenVMM
    /// `supervisor_shadow_stack_available`).
    pub supervisor_shadow_stack_available: bool,
    /// ECX bit 7: architectural PMU available (OpenVMM `arch_pmu_available`).
    pub arch_pmu_available: bool,
    /// ECX bit 8: exception trap intercept available (OpenVMM
    /// `exception_trap_intercept_available`).
    pub exception_trap_intercept_available: bool,
    /// ECX bit 9: VP dispatch interrupt injection available (Linux `hvgdk_mini.h`
    /// `HV_VP_DISPATCH_INTERRUPT_INJECTION_AVAILABLE`).
    pub vp_dispatch_interrupt_injection_available: bool,
    /// ECX bit 10: GHCB root mapping available (Linux `hvgdk_mini.h`
    /// `HV_VP_GHCB_ROOT_MAPPING_AVAILABLE`).
    pub vp_ghcb_root_mapping_available: bool,
    /// ECX bits 31:11: reserved.
    #[bits(21)]
    _rsvd_ecx: u32,

    /// EDX bit 0: MWAIT available, deprecated (TLFS 2.4.4).
    pub mwait_available_deprecated: bool,
    /// EDX bit 1: guest debugging support (TLFS 2.4.4).
    pub guest_debugging_available: bool,
    /// EDX bit 2: performance monitor support (TLFS 2.4.4).
    pub performance_monitors_available: bool,
    /// EDX bit 3: physical CPU dynamic partitioning events (TLFS 2.4.4).
    pub cpu_dynamic_partitioning_available: bool,
    /// EDX bit 4: hypercall input in XMM registers (TLFS 2.4.4, 3.7.2).
    pub xmm_registers_for_fast_hypercall_available: bool,
    /// EDX bit 5: virtual guest idle state (TLFS 2.4.4, 7.5).
    pub guest_idle_available: bool,
    /// EDX bit 6: hypervisor sleep state (TLFS 2.4.4).
    pub hypervisor_sleep_state_available: bool,
    /// EDX bit 7: NUMA distance queries (TLFS 2.4.4).
    pub numa_distance_query_available: bool,
    /// EDX bit 8: timer frequency MSRs (TLFS 2.4.4).
    pub frequency_regs_available: bool,
    /// EDX bit 9: synthetic machine check injection (TLFS 2.4.4).
    pub synthetic_machine_check_available: bool,
    /// EDX bit 10: guest crash MSRs (TLFS 2.4.4, 4.3; Linux
    /// `HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE`).
    pub guest_crash_regs_available: bool,
    /// EDX bit 11: debug MSRs (TLFS 2.4.4).
    pub debug_regs_available: bool,
    /// EDX bit 12: non-privileged instruction execution prevention (TLFS 2.4.4, 8.12).
    pub npiep_available: bool,
    /// EDX bit 13: `DisableHypervisorAvailable` (TLFS 2.4.4).
    pub disable_hypervisor_available: bool,
    /// EDX bit 14: extended GVA ranges for `HvCallFlushVirtualAddressList` (TLFS 2.4.4).
    pub extended_gva_ranges_for_flush_virtual_address_list_available: bool,
    /// EDX bit 15: hypercall output in XMM registers (TLFS 2.4.4).
    pub fast_hypercall_output_available: bool,
    /// EDX bit 16: SVM features leaf available (OpenVMM `svm_features_available`; reserved in
    /// TLFS 6.0).
    pub svm_features_available: bool,
    /// EDX bit 17: `SintPollingModeAvailable` (TLFS 2.4.4).
    pub sint_polling_mode_available: bool,
    /// EDX bit 18: `HypercallMsrLockAvailable` (TLFS 2.4.4, 3.13).
    pub hypercall_msr_lock_available: bool,
    /// EDX bit 19: direct synthetic timers (TLFS 2.4.4, 12.2; Linux
    /// `HV_STIMER_DIRECT_MODE_AVAILABLE`).
    pub direct_synthetic_timers: bool,
    /// EDX bit 20: PAT register available for VSM (TLFS 2.4.4).
    pub register_pat_available: bool,
    /// EDX bit 21: BNDCFGS register available for VSM (TLFS 2.4.4).
    pub register_bndcfgs_available: bool,
    /// EDX bit 22: watchdog timer (OpenVMM `watchdog_timer_available`; reserved in TLFS 6.0).
    pub watchdog_timer_available: bool,
    /// EDX bit 23: synthetic time-unhalted timer (TLFS 2.4.4, 12.6).
    pub synthetic_time_unhalted_timer_available: bool,
    /// EDX bit 24: device domains (OpenVMM `device_domains_available`; reserved in TLFS 6.0).
    pub device_domains_available: bool,
    /// EDX bit 25: stage-1 device domains (OpenVMM `s1_device_domains_available`; reserved in
    /// TLFS 6.0).
    pub s1_device_domains_available: bool,
    /// EDX bit 26: Intel Last Branch Record (TLFS 2.4.4).
    pub lbr_available: bool,
    /// EDX bit 27: Intel Processor Trace (OpenVMM `ipt_available`; reserved in TLFS 6.0).
    pub ipt_available: bool,
    /// EDX bit 28: cross-VTL flush (OpenVMM `cross_vtl_flush_available`; reserved in
    /// TLFS 6.0).
    pub cross_vtl_flush_available: bool,
    /// EDX bit 29: idle SPEC_CTRL (OpenVMM `idle_spec_ctrl_available`; reserved in TLFS 6.0).
    pub idle_spec_ctrl_available: bool,
    /// EDX bit 30: translate-GVA flags (OpenVMM `translate_gva_flags_available`; reserved in
    /// TLFS 6.0).
    pub translate_gva_flags_available: bool,
    /// EDX bit 31: APIC EOI intercept (OpenVMM `apic_eoi_intercept_available`; reserved in
    /// TLFS 6.0).
    pub apic_eoi_intercept_available: bool,
}

cpuid_leaf!(HvFeatures, HV_CPUID_FEATURES);

impl HvFeatures {
    /// Mask of the reserved bits: those of the privilege mask and ECX bits 31:11.
    pub const RESERVED_MASK: u128 =
        0xFFFF_F800_u128 << 64 | HvPartitionPrivilegeMask::RESERVED_MASK as u128;

    /// Whether every bit set in `required` is also set in `self`.
    #[must_use]
    pub const fn contains(self, required: Self) -> bool {
        self.into_bits() & required.into_bits() == required.into_bits()
    }
}

/// `HvRegisterPrivilegesAndFeaturesInfo` on arm64: the arm64 layout of the features value
/// (post-TLFS 6.0; Linux `arch/arm64/include/asm/hyperv-tlfs.h`, `hvgdk_mini.h`,
/// `arch/arm64/hyperv/mshyperv.c`).
///
/// Words 0 and 1 are the privilege mask, as on x64. The miscellaneous feature flags are in
/// word 2 (the x64 "ECX" position), and only two of them have public positions. The other
/// bits are not published, so this type names them neither reserved nor anything else and has
/// no `RESERVED_MASK`.
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvArm64Features {
    /// Words 0 and 1: the partition privilege mask (TLFS 4.2.2).
    #[bits(64)]
    pub privileges: HvPartitionPrivilegeMask,
    /// Word 2 bits 7:0: not published.
    #[bits(8)]
    _unpublished0: u8,
    /// Word 2 bit 8: guest crash registers available (Linux arm64
    /// `HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE`).
    pub guest_crash_regs_available: bool,
    /// Word 2 bits 12:9: not published.
    #[bits(4)]
    _unpublished1: u8,
    /// Word 2 bit 13: direct synthetic timers (Linux arm64
    /// `HV_STIMER_DIRECT_MODE_AVAILABLE`).
    pub direct_synthetic_timers: bool,
    /// Word 2 bits 31:14: not published.
    #[bits(18)]
    _unpublished2: u32,
    /// Word 3: not published.
    _unpublished3: u32,
}

impl HvArm64Features {
    /// Decodes the value of `HvRegisterPrivilegesAndFeaturesInfo`.
    #[must_use]
    pub const fn from_register(value: HvRegisterValue) -> Self {
        Self::from_bits(value.as_u128())
    }
}

/// A processor architecture the hypervisor interface exists on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HvArch {
    /// x86-64: features from CPUID, synthetic registers as MSRs.
    X64,
    /// AArch64: features and synthetic registers through `HvCallGetVpRegisters`.
    Arm64,
}

/// The features value of either architecture, for questions whose answer sits at different
/// bits on x64 and arm64 (see the module docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HvFeaturesInfo {
    /// CPUID 0x4000_0003 / `HvRegisterPrivilegesAndFeaturesInfo` on x64.
    X64(HvFeatures),
    /// `HvRegisterPrivilegesAndFeaturesInfo` on arm64.
    Arm64(HvArm64Features),
}

impl HvFeaturesInfo {
    /// Interprets a raw 128-bit features value for `arch`.
    #[must_use]
    pub const fn new(arch: HvArch, raw: u128) -> Self {
        match arch {
            HvArch::X64 => Self::X64(HvFeatures::from_bits(raw)),
            HvArch::Arm64 => Self::Arm64(HvArm64Features::from_bits(raw)),
        }
    }

    /// The architecture of this value.
    #[must_use]
    pub const fn arch(self) -> HvArch {
        match self {
            Self::X64(_) => HvArch::X64,
            Self::Arm64(_) => HvArch::Arm64,
        }
    }

    /// The raw 128-bit value.
    #[must_use]
    pub const fn raw(self) -> u128 {
        match self {
            Self::X64(f) => f.into_bits(),
            Self::Arm64(f) => f.into_bits(),
        }
    }

    /// The partition privileges (same position on both architectures).
    #[must_use]
    pub const fn privileges(self) -> HvPartitionPrivilegeMask {
        match self {
            Self::X64(f) => f.privileges(),
            Self::Arm64(f) => f.privileges(),
        }
    }

    /// Whether the guest crash registers are available (x64 EDX bit 10, arm64 word 2 bit 8;
    /// TLFS 4.3).
    #[must_use]
    pub const fn guest_crash_regs_available(self) -> bool {
        match self {
            Self::X64(f) => f.guest_crash_regs_available(),
            Self::Arm64(f) => f.guest_crash_regs_available(),
        }
    }

    /// Whether synthetic timers may use direct mode (x64 EDX bit 19, arm64 word 2 bit 13;
    /// TLFS 12.2).
    #[must_use]
    pub const fn direct_synthetic_timers(self) -> bool {
        match self {
            Self::X64(f) => f.direct_synthetic_timers(),
            Self::Arm64(f) => f.direct_synthetic_timers(),
        }
    }
}

/// Leaf 0x4000_0004 / `HvRegisterFeaturesInfo`: implementation recommendations (TLFS 2.4.5).
///
/// # Corrections to the TLFS 6.0 text
///
/// TLFS 6.0 marks EAX bits 8, 16 and 19–31 reserved; OpenVMM `HvEnlightenmentInformation`
/// names bits 8, 16 and 19–23, and Linux `hvgdk_mini.h` confirms bit 21
/// (`HV_X64_USE_MMIO_HYPERCALLS`). The TLFS text "OxFFFFFFF" for "never notify" lost a digit
/// and a zero-for-O; the value is 0xFFFF_FFFF (all ones in the 32-bit EBX).
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvEnlightenmentInformation {
    /// EAX bit 0: use a hypercall for address space switches instead of MOV CR3
    /// (TLFS 2.4.5).
    pub use_hypercall_for_address_space_switch: bool,
    /// EAX bit 1: use a hypercall for local TLB flushes (TLFS 2.4.5).
    pub use_hypercall_for_local_flush: bool,
    /// EAX bit 2: use a hypercall for remote TLB flushes instead of IPIs (TLFS 2.4.5).
    pub use_hypercall_for_remote_flush: bool,
    /// EAX bit 3: use the EOI/ICR/TPR MSRs instead of the memory-mapped APIC (TLFS 2.4.5).
    pub use_apic_msrs: bool,
    /// EAX bit 4: use `HV_X64_MSR_RESET` to reset the system (TLFS 2.4.5).
    pub use_hv_register_for_reset: bool,
    /// EAX bit 5: use relaxed timing; disable watchdogs that rely on timely interrupts
    /// (TLFS 2.4.5).
    pub use_relaxed_timing: bool,
    /// EAX bit 6: use DMA remapping (TLFS 2.4.5; deprecated per OpenVMM).
    pub use_dma_remapping: bool,
    /// EAX bit 7: use interrupt remapping (TLFS 2.4.5; deprecated per OpenVMM).
    pub use_interrupt_remapping: bool,
    /// EAX bit 8: use the x2APIC MSRs (OpenVMM `use_x2_apic_msrs`; reserved in TLFS 6.0).
    pub use_x2apic_msrs: bool,
    /// EAX bit 9: deprecate auto-EOI (TLFS 2.4.5; Linux `HV_DEPRECATING_AEOI_RECOMMENDED`).
    pub deprecate_auto_eoi: bool,
    /// EAX bit 10: use `HvCallSendSyntheticClusterIpi` (TLFS 2.4.5).
    pub use_synthetic_cluster_ipi: bool,
    /// EAX bit 11: use the `Ex` processor-set hypercalls (TLFS 2.4.5).
    pub use_ex_processor_masks: bool,
    /// EAX bit 12: the hypervisor is nested within a Hyper-V partition (TLFS 2.4.5).
    pub nested: bool,
    /// EAX bit 13: use INT for MBEC system calls (TLFS 2.4.5).
    pub use_int_for_mbec_system_calls: bool,
    /// EAX bit 14: a nested hypervisor should use the enlightened VMCS; see leaf 0x4000_000A
    /// (TLFS 2.4.5).
    pub use_vmcs_enlightenments: bool,
    /// EAX bit 15: `UseSyncedTimeline`, consume the root's QueryPerformanceCounter bias
    /// (TLFS 2.4.5).
    pub use_synced_timeline: bool,
    /// EAX bit 16: core scheduler requested (OpenVMM `core_scheduler_requested`; reserved in
    /// TLFS 6.0).
    pub core_scheduler_requested: bool,
    /// EAX bit 17: `UseDirectLocalFlushEntire`, toggle CR4.PGE instead of a hypercall
    /// (TLFS 2.4.5).
    pub use_direct_local_flush_entire: bool,
    /// EAX bit 18: `NoNonArchitecturalCoreSharing` (TLFS 2.4.5; Linux
    /// `HV_X64_NO_NONARCH_CORESHARING`).
    pub no_non_architectural_core_sharing: bool,
    /// EAX bit 19: use x2APIC (OpenVMM `use_x2_apic`; reserved in TLFS 6.0).
    pub use_x2apic: bool,
    /// EAX bit 20: restore time on resume (OpenVMM `restore_time_on_resume`).
    pub restore_time_on_resume: bool,
    /// EAX bit 21: use hypercalls for MMIO access (OpenVMM `use_hypercall_for_mmio_access`,
    /// Linux `HV_X64_USE_MMIO_HYPERCALLS`).
    pub use_hypercall_for_mmio_access: bool,
    /// EAX bit 22: use the GPA pinning hypercall (OpenVMM `use_gpa_pinning_hypercall`).
    pub use_gpa_pinning_hypercall: bool,
    /// EAX bit 23: wake VPs (OpenVMM `wake_vps`).
    pub wake_vps: bool,
    /// EAX bits 31:24: reserved.
    _rsvd_eax: u8,
    /// EBX: spinlock retries before notifying the hypervisor;
    /// [`HV_SPINLOCK_RETRY_NEVER_NOTIFY`] means never (TLFS 2.4.5).
    pub long_spin_wait_count: u32,
    /// ECX bits 6:0: `ImplementedPhysicalAddressBits`, the physical address width
    /// (MAXPHYADDR) of the physical processors; 0 when not reported (TLFS 2.4.5).
    #[bits(7)]
    pub implemented_physical_address_bits: u8,
    /// ECX bits 31:7: reserved.
    #[bits(25)]
    _rsvd_ecx: u32,
    /// EDX: reserved.
    _rsvd_edx: u32,
}

cpuid_leaf!(HvEnlightenmentInformation, HV_CPUID_ENLIGHTENMENT_INFO);

impl HvEnlightenmentInformation {
    /// Mask of the reserved bits: EAX 31:24, ECX 31:7, EDX.
    pub const RESERVED_MASK: u128 = 0xFFFF_FFFF_u128 << 96 | 0xFFFF_FF80_u128 << 64 | 0xFF00_0000;

    /// The recommended spinlock retry count, or `None` for "never notify" (TLFS 2.4.5).
    #[must_use]
    pub const fn spinlock_retries(self) -> Option<u32> {
        match self.long_spin_wait_count() {
            HV_SPINLOCK_RETRY_NEVER_NOTIFY => None,
            n => Some(n),
        }
    }

    /// The physical address width, or `None` when the hypervisor does not report it
    /// (TLFS 2.4.5).
    #[must_use]
    pub const fn physical_address_bits(self) -> Option<u8> {
        match self.implemented_physical_address_bits() {
            0 => None,
            n => Some(n),
        }
    }
}

/// Leaf 0x4000_0005 / `HvRegisterImplementationLimitsInfo`: scale limits; 0 means "not
/// reported" (TLFS 2.4.6).
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvImplementationLimits {
    /// EAX: maximum number of virtual processors.
    pub max_virtual_processors: u32,
    /// EBX: maximum number of logical processors.
    pub max_logical_processors: u32,
    /// ECX: maximum number of physical interrupt vectors for interrupt remapping.
    pub max_interrupt_remapping_vectors: u32,
    /// EDX: reserved.
    _rsvd: u32,
}

cpuid_leaf!(HvImplementationLimits, HV_CPUID_IMPLEMENTATION_LIMITS);

impl HvImplementationLimits {
    /// Mask of the reserved register EDX.
    pub const RESERVED_MASK: u128 = 0xFFFF_FFFF_u128 << 96;
}

/// Leaf 0x4000_0006 / `HvRegisterHardwareFeaturesInfo`: hardware features detected and in
/// use (TLFS 2.4.7).
///
/// TLFS 6.0 defines EAX bits 9:0 and marks the rest reserved; the later bits are from OpenVMM
/// `HvHardwareFeatures` (bit 25, "hardware watchdog reserved" there, stays reserved).
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvHardwareFeatures {
    /// EAX bit 0: APIC overlay assist (TLFS 2.4.7).
    pub apic_overlay_assist_in_use: bool,
    /// EAX bit 1: MSR bitmaps (TLFS 2.4.7).
    pub msr_bitmaps_in_use: bool,
    /// EAX bit 2: architectural performance counters (TLFS 2.4.7).
    pub architectural_performance_counters_in_use: bool,
    /// EAX bit 3: second level address translation (TLFS 2.4.7).
    pub second_level_address_translation_in_use: bool,
    /// EAX bit 4: DMA remapping (TLFS 2.4.7).
    pub dma_remapping_in_use: bool,
    /// EAX bit 5: interrupt remapping (TLFS 2.4.7).
    pub interrupt_remapping_in_use: bool,
    /// EAX bit 6: a memory patrol scrubber is present (TLFS 2.4.7).
    pub memory_patrol_scrubber_present: bool,
    /// EAX bit 7: DMA protection in use (TLFS 2.4.7).
    pub dma_protection_in_use: bool,
    /// EAX bit 8: HPET requested (TLFS 2.4.7).
    pub hpet_requested: bool,
    /// EAX bit 9: synthetic timers are volatile (TLFS 2.4.7).
    pub synthetic_timers_volatile: bool,
    /// EAX bits 13:10: hypervisor nesting level (OpenVMM `hypervisor_level`).
    #[bits(4)]
    pub hypervisor_level: u8,
    /// EAX bit 14: physical destination mode required (OpenVMM).
    pub physical_destination_mode_required: bool,
    /// EAX bit 15: VMFUNC used for alias map switches (OpenVMM).
    pub use_vmfunc_for_alias_map_switch: bool,
    /// EAX bit 16: hypervisor register for memory zeroing supported (OpenVMM).
    pub hv_register_for_memory_zeroing_supported: bool,
    /// EAX bit 17: unrestricted guest supported (OpenVMM).
    pub unrestricted_guest_supported: bool,
    /// EAX bit 18: RDT allocation features supported (OpenVMM `rdt_afeatures_supported`).
    pub rdt_afeatures_supported: bool,
    /// EAX bit 19: RDT monitoring features supported (OpenVMM `rdt_mfeatures_supported`).
    pub rdt_mfeatures_supported: bool,
    /// EAX bit 20: child performance monitoring PMU supported (OpenVMM).
    pub child_perfmon_pmu_supported: bool,
    /// EAX bit 21: child performance monitoring LBR supported (OpenVMM).
    pub child_perfmon_lbr_supported: bool,
    /// EAX bit 22: child performance monitoring IPT supported (OpenVMM).
    pub child_perfmon_ipt_supported: bool,
    /// EAX bit 23: APIC emulation supported (OpenVMM).
    pub apic_emulation_supported: bool,
    /// EAX bit 24: x2APIC recommended for children (OpenVMM `child_x2_apic_recommended`).
    pub child_x2apic_recommended: bool,
    /// EAX bit 25: reserved (OpenVMM `hardware_watchdog_reserved`).
    _rsvd_watchdog: bool,
    /// EAX bit 26: device access tracking supported (OpenVMM).
    pub device_access_tracking_supported: bool,
    /// EAX bit 27: hardware GPA access tracking supported (OpenVMM).
    pub hardware_gpa_access_tracking_supported: bool,
    /// EAX bits 31:28: reserved.
    #[bits(4)]
    _rsvd_eax: u8,
    /// EBX bits 7:0: device domain input width (OpenVMM `device_domain_input_width`).
    pub device_domain_input_width: u8,
    /// EBX bits 31:8: reserved.
    #[bits(24)]
    _rsvd_ebx: u32,
    /// ECX and EDX: reserved.
    _rsvd_ecx_edx: u64,
}

cpuid_leaf!(HvHardwareFeatures, HV_CPUID_HARDWARE_FEATURES);

impl HvHardwareFeatures {
    /// Mask of the reserved bits: EAX 25 and 31:28, EBX 31:8, ECX, EDX.
    pub const RESERVED_MASK: u128 = 0xFFFF_FFFF_FFFF_FFFF_u128 << 64 | 0xFFFF_FF00_F200_0000;
}

/// Leaf 0x4000_0007 / `HvRegisterCpuManagementFeaturesInfo`: enlightenments for the root
/// partition (TLFS 2.4.8).
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvCpuManagementFeatures {
    /// EAX bit 0: `StartLogicalProcessor`.
    pub start_logical_processor: bool,
    /// EAX bit 1: `CreateRootVirtualProcessor`.
    pub create_root_virtual_processor: bool,
    /// EAX bit 2: `PerformanceCounterSync`.
    pub performance_counter_sync: bool,
    /// EAX bits 30:3: reserved.
    #[bits(28)]
    _rsvd_eax: u32,
    /// EAX bit 31: `ReservedIdentityBit`.
    pub reserved_identity_bit: bool,
    /// EBX bit 0: `ProcessorPowerManagement`.
    pub processor_power_management: bool,
    /// EBX bit 1: `MwaitIdleStates`.
    pub mwait_idle_states: bool,
    /// EBX bit 2: `LogicalProcessorIdling`.
    pub logical_processor_idling: bool,
    /// EBX bits 31:3: reserved.
    #[bits(29)]
    _rsvd_ebx: u32,
    /// ECX bit 0: `RemapGuestUncached`.
    pub remap_guest_uncached: bool,
    /// ECX bits 31:1: reserved.
    #[bits(31)]
    _rsvd_ecx: u32,
    /// EDX: reserved.
    _rsvd_edx: u32,
}

cpuid_leaf!(HvCpuManagementFeatures, HV_CPUID_CPU_MANAGEMENT_FEATURES);

impl HvCpuManagementFeatures {
    /// Mask of the reserved bits: EAX 30:3, EBX 31:3, ECX 31:1, EDX.
    pub const RESERVED_MASK: u128 = 0xFFFF_FFFF_FFFF_FFFE_u128 << 64 | 0xFFFF_FFF8_7FFF_FFF8;
}

/// Leaf 0x4000_0008 / `HvRegisterSvmFeaturesInfo`: shared virtual memory support
/// (TLFS 2.4.9).
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvSvmFeatures {
    /// EAX bit 0: `SvmSupported`.
    pub svm_supported: bool,
    /// EAX bits 10:1: `Reserved0`.
    #[bits(10)]
    _rsvd0: u16,
    /// EAX bits 31:11: `MaxPasidSpacePasidCount`.
    #[bits(21)]
    pub max_pasid_space_pasid_count: u32,
    /// EBX, ECX, EDX: reserved.
    #[bits(96)]
    _rsvd1: u128,
}

cpuid_leaf!(HvSvmFeatures, HV_CPUID_SVM_FEATURES);

impl HvSvmFeatures {
    /// Mask of the reserved bits: EAX 10:1, EBX, ECX, EDX.
    pub const RESERVED_MASK: u128 = !0xFFFF_FFFF_u128 | 0x7FE;
}

/// Leaf 0x4000_0009 / `HvRegisterSkipLevelFeaturesInfo`: the features the hypervisor exposes
/// to the partition when running nested; EAX mirrors privilege bits for virtual MSRs, EDX
/// feature bits for hypercalls (TLFS 2.4.10).
///
/// The TLFS 6.0 text of the EDX row is garbled ("Bit 4: 2) Bits 14-5 Bit 15: F ..."); its
/// second column gives the bits used here: 4, 15 and 17.
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvNestedHypervisorFeatures {
    /// EAX bits 1:0: reserved.
    #[bits(2)]
    _rsvd0: u8,
    /// EAX bit 2: `AccessSynicRegs`.
    pub access_synic_regs: bool,
    /// EAX bit 3: reserved.
    _rsvd1: bool,
    /// EAX bit 4: `AccessIntrCtrlRegs`.
    pub access_intr_ctrl_regs: bool,
    /// EAX bit 5: `AccessHypercallMsrs`.
    pub access_hypercall_msrs: bool,
    /// EAX bit 6: `AccessVpIndex`.
    pub access_vp_index: bool,
    /// EAX bits 11:7: reserved.
    #[bits(5)]
    _rsvd2: u8,
    /// EAX bit 12: `AccessReenlightenmentControls`.
    pub access_reenlightenment_controls: bool,
    /// EAX bits 31:13, EBX, ECX: reserved.
    #[bits(83)]
    _rsvd3: u128,
    /// EDX bits 3:0: reserved.
    #[bits(4)]
    _rsvd4: u8,
    /// EDX bit 4: `XmmRegistersForFastHypercallAvailable`.
    pub xmm_registers_for_fast_hypercall_available: bool,
    /// EDX bits 14:5: reserved.
    #[bits(10)]
    _rsvd5: u16,
    /// EDX bit 15: `FastHypercallOutputAvailable`.
    pub fast_hypercall_output_available: bool,
    /// EDX bit 16: reserved.
    _rsvd6: bool,
    /// EDX bit 17: `SintPollingModeAvailable`.
    pub sint_polling_mode_available: bool,
    /// EDX bits 31:18: reserved.
    #[bits(14)]
    _rsvd7: u16,
}

cpuid_leaf!(
    HvNestedHypervisorFeatures,
    HV_CPUID_NESTED_HYPERVISOR_FEATURES
);

impl HvNestedHypervisorFeatures {
    /// Mask of the reserved bits: all but EAX 2, 4, 5, 6, 12 and EDX 4, 15, 17.
    pub const RESERVED_MASK: u128 = 0xFFFD_7FEF_u128 << 96 | 0xFFFF_FFFF_FFFF_FFFF_FFFF_EF8B;
}

/// Leaf 0x4000_000A / `HvRegisterNestedVirtFeaturesInfo`: nested virtualization
/// optimizations for a nested hypervisor (TLFS 2.4.11).
///
/// EAX bit 22 and EBX bit 0 are reserved in TLFS 6.0 and named by Linux `hvgdk_mini.h`.
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvNestedVirtFeatures {
    /// EAX bits 7:0: enlightened VMCS version, low (TLFS 2.4.11; Linux
    /// `HV_X64_ENLIGHTENED_VMCS_VERSION` = 0xFF).
    pub enlightened_vmcs_version_low: u8,
    /// EAX bits 15:8: enlightened VMCS version, high.
    pub enlightened_vmcs_version_high: u8,
    /// EAX bit 16: reserved.
    _rsvd0: bool,
    /// EAX bit 17: direct virtual flush hypercalls (Linux `HV_X64_NESTED_DIRECT_FLUSH`).
    pub direct_virtual_flush: bool,
    /// EAX bit 18: `HvCallFlushGuestPhysicalAddressSpace`/`List` (Linux
    /// `HV_X64_NESTED_GUEST_MAPPING_FLUSH`).
    pub guest_mapping_flush: bool,
    /// EAX bit 19: enlightened MSR bitmap (Linux `HV_X64_NESTED_MSR_BITMAP`).
    pub enlightened_msr_bitmap: bool,
    /// EAX bit 20: virtualization exceptions combined into the page fault class.
    pub virtualization_exception: bool,
    /// EAX bit 21: reserved.
    _rsvd1: bool,
    /// EAX bit 22: enlightened TLB on AMD (post-TLFS 6.0; Linux
    /// `HV_X64_NESTED_ENLIGHTENED_TLB`).
    pub enlightened_tlb: bool,
    /// EAX bits 31:23: reserved.
    #[bits(9)]
    _rsvd2: u16,
    /// EBX bit 0: enlightened VMCS v1 supports PERF_GLOBAL_CTRL (post-TLFS 6.0; Linux
    /// `HV_X64_NESTED_EVMCS1_PERF_GLOBAL_CTRL`).
    pub evmcs1_perf_global_ctrl: bool,
    /// EBX bits 31:1, ECX, EDX: reserved.
    #[bits(95)]
    _rsvd3: u128,
}

cpuid_leaf!(HvNestedVirtFeatures, HV_CPUID_NESTED_FEATURES);

impl HvNestedVirtFeatures {
    /// Mask of the reserved bits: EAX 16, 21, 31:23; EBX 31:1; ECX; EDX.
    pub const RESERVED_MASK: u128 = !0xFFFF_FFFF_u128 << 32 | 0xFFFF_FFFE_FFA1_0000;

    /// The enlightened VMCS version range as (low, high).
    #[must_use]
    pub const fn enlightened_vmcs_versions(self) -> (u8, u8) {
        (
            self.enlightened_vmcs_version_low(),
            self.enlightened_vmcs_version_high(),
        )
    }
}

open_enum! {
    /// The isolation type of a partition (post-TLFS 6.0; Linux `hvgdk_mini.h`
    /// `enum hv_isolation_type`, OpenVMM `HvPartitionIsolationType`).
    pub struct HvIsolationType(u8) {
        /// No isolation.
        NONE = 0,
        /// Virtualization-based security (VBS) isolation.
        VBS = 1,
        /// AMD SEV-SNP isolation.
        SNP = 2,
        /// Intel TDX isolation.
        TDX = 3,
    }
}

/// Leaf 0x4000_000C / `HvRegisterIsolationConfiguration`: isolation configuration
/// (post-TLFS 6.0; Linux `hvgdk_mini.h` `HYPERV_CPUID_ISOLATION_CONFIG`, OpenVMM
/// `HvIsolationConfiguration`).
#[bitfield(u128)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvIsolationConfiguration {
    /// EAX bit 0: a paravisor is present (Linux `HV_PARAVISOR_PRESENT`).
    pub paravisor_present: bool,
    /// EAX bits 31:1: reserved.
    #[bits(31)]
    _rsvd0: u32,
    /// EBX bits 3:0: the isolation type (Linux `HV_ISOLATION_TYPE`).
    #[bits(4, from = HvIsolationType::new, into = HvIsolationType::get)]
    pub isolation_type: HvIsolationType,
    /// EBX bit 4: reserved.
    _rsvd1: bool,
    /// EBX bit 5: the shared GPA boundary is active (Linux `HV_SHARED_GPA_BOUNDARY_ACTIVE`).
    pub shared_gpa_boundary_active: bool,
    /// EBX bits 11:6: log2 of the shared GPA boundary (Linux `HV_SHARED_GPA_BOUNDARY_BITS`).
    #[bits(6)]
    pub shared_gpa_boundary_bits: u8,
    /// EBX bits 31:12, ECX, EDX: reserved.
    #[bits(84)]
    _rsvd2: u128,
}

cpuid_leaf!(HvIsolationConfiguration, HV_CPUID_ISOLATION_CONFIGURATION);

impl HvIsolationConfiguration {
    /// Mask of the reserved bits: EAX 31:1, EBX 4 and 31:12, ECX, EDX.
    pub const RESERVED_MASK: u128 = !0xFFFF_FFFF_FFFF_u128 | 0xFFFF_F010_FFFF_FFFE;

    /// The shared GPA boundary (guest physical addresses at or above it are shared with the
    /// host), or `None` when inactive.
    #[must_use]
    pub const fn shared_gpa_boundary(self) -> Option<u64> {
        if self.shared_gpa_boundary_active() {
            Some(1 << self.shared_gpa_boundary_bits())
        } else {
            None
        }
    }
}
