//! Virtual Secure Mode: VTLs, the VSM registers, the VTL control area of the VP assist
//! page, the VSM hypercall inputs, VTL memory protections and the rules for which VP state
//! each VTL keeps private (TLFS 15).
//!
//! # Register access
//!
//! The VSM registers are synthetic registers read and written with `HvCallGetVpRegisters`
//! and `HvCallSetVpRegisters` (TLFS 7.10); their names (`HvRegisterVsmCapabilities`
//! 0x000D_0006 and so on) are in [`crate::register`]. This module defines their contents.
//!
//! # Corrections to the TLFS 6.0 text
//!
//! * 15.3.2 draws `HvRegisterVsmCapabilities` with `Dr6Shared` at bit 63, `MbecVtlMask` at
//!   62:47 and `DenyLowerVtlStartup` at 46: the C bitfield order read from the wrong end.
//!   The shipped layout (Linux `hvhdk.h` `union hv_register_vsm_capabilities`, OpenVMM
//!   `hvdef`) is `Dr6Shared` bit 0, `MbecVtlMask` 16:1, `DenyLowerVtlStartup` 17, which
//!   [`HvRegisterVsmCapabilities`] follows. The table also calls the register an "MSR at
//!   0x000D0006"; 0x000D_0006 is its register name, it has no MSR address.
//! * 15.5.1.2 numbers the default protection mask bits as 2 = user execute, 3 = kernel
//!   execute. Every public definition of the same mask (Linux `hvhdk_mini.h`
//!   `HV_MAP_GPA_KERNEL_EXECUTABLE` = 0x4, `HV_MAP_GPA_USER_EXECUTABLE` = 0x8; OpenVMM)
//!   has kernel execute at bit 2 and user execute at bit 3; [`HvMapGpaFlags`] follows them.
//! * 15.15.4 labels the `HvCallEnableVpVtl` context rows `Ts`, `Ltdr`, `Itdr`, `Gtdr`;
//!   they are TR, LDTR, IDTR and GDTR of `HV_INITIAL_VP_CONTEXT` in the same section.

use bitfield_struct::bitfield;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::vp::{HvInitialVpContext, HvInputVtl};
use crate::{HvPartitionId, HvVpIndex, HvVtl};

/// VTL 0, the normal, least privileged VTL (TLFS 15.2).
pub const HV_VTL0: HvVtl = 0;

/// VTL 1, the first secure VTL (TLFS 15.2).
pub const HV_VTL1: HvVtl = 1;

/// VTL 2, used by paravisors on hypervisors that implement three VTLs (TLFS 15.2;
/// post-TLFS 6.0 hypervisors, OpenVMM).
pub const HV_VTL2: HvVtl = 2;

/// The highest VTL the architecture allows: up to 16 VTLs, 0 to 15 (TLFS 15.2).
pub const HV_MAX_VTL: HvVtl = 15;

/// Number of VTLs the TLFS 6.0 hypervisor implements (TLFS 15.2 `HV_NUM_VTLS`). Read
/// `HvRegisterVsmPartitionStatus.maximum_vtl` for the running hypervisor's limit.
pub const HV_NUM_VTLS: usize = 2;

/// An invalid VTL (TLFS 15.2 `HV_INVALID_VTL`).
pub const HV_INVALID_VTL: HvVtl = 0xFF;

/// "All VTLs" (TLFS 15.2 `HV_VTL_ALL`).
pub const HV_VTL_ALL: HvVtl = 0xF;

/// The VTL call control value passed in RCX: all bits RsvdZ (TLFS 15.6.1).
pub const HV_VTL_CALL_CONTROL: u64 = 0;

/// `HvRegisterVsmCapabilities` (TLFS 15.3.2; bits 18 and up post-TLFS 6.0, OpenVMM
/// `hvdef`). See the module docs for the bit order correction.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvRegisterVsmCapabilities {
    /// DR6 is shared between VTLs, bit 0; otherwise it is private (TLFS 15.11).
    pub dr6_shared: bool,
    /// VTLs for which MBEC can be enabled, bits 16:1.
    pub mbec_vtl_mask: u16,
    /// A VTL can deny VP startup by lower VTLs, bit 17 (TLFS 15.5.1.4).
    pub deny_lower_vtl_startup: bool,
    /// Supervisor shadow stacks are supported, bit 18 (post-TLFS 6.0).
    pub supervisor_shadow_stack: bool,
    /// Hardware HVPT is available, bit 19 (post-TLFS 6.0).
    pub hardware_hvpt_available: bool,
    /// Software HVPT is available, bit 20 (post-TLFS 6.0).
    pub software_hvpt_available: bool,
    /// Address bits covered by hardware HVPT, bits 26:21 (post-TLFS 6.0).
    #[bits(6)]
    pub hardware_hvpt_range_bits: u8,
    /// Intercepts can be delivered through the intercept page, bit 27 (post-TLFS 6.0).
    pub intercept_page_available: bool,
    /// VTL return actions are available, bit 28 (post-TLFS 6.0).
    pub return_action_available: bool,
    /// The VTL0 alias map is available (VTL2 only), bit 29 (post-TLFS 6.0).
    pub vtl0_alias_map_available: bool,
    /// `intercept_not_present` is supported (VTL2 only), bit 30 (post-TLFS 6.0).
    pub intercept_not_present_available: bool,
    /// `HvCallInstallInterceptEx` is supported, bit 31 (post-TLFS 6.0).
    pub install_intercept_ex: bool,
    /// `intercept_system_reset` is supported (VTL2 only), bit 32 (post-TLFS 6.0).
    pub intercept_system_reset_available: bool,
    /// ReservedZ, bits 63:33.
    #[bits(31)]
    _rsvd: u32,
}

impl HvRegisterVsmCapabilities {
    /// Mask of the reserved bits 63:33.
    pub const RESERVED_MASK: u64 = 0xFFFF_FFFE_0000_0000;
}

/// `HvRegisterVsmPartitionConfig`: one instance per VTL above 0; a VTL may write its own
/// and lower VTLs' instances (TLFS 15.5.1; bits 13 to 15 post-TLFS 6.0, OpenVMM `hvdef`;
/// layout of bits 12:0 also Linux `hvhdk.h`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvRegisterVsmPartitionConfig {
    /// Allow this VTL to apply memory protections, bit 0; write-once (TLFS 15.5.1.1).
    pub enable_vtl_protection: bool,
    /// Protection applied to all lower-VTL pages by default, bits 4:1, in the encoding of
    /// [`HvMapGpaFlags`] bits 3:0; set when the VTL is enabled (TLFS 15.5.1.2).
    #[bits(4)]
    pub default_vtl_protection_mask: u8,
    /// Zero partition memory on reset, bit 5 (TLFS 15.5.1.3).
    pub zero_memory_on_reset: bool,
    /// Lower VTLs cannot start or reset VPs, bit 6 (TLFS 15.5.1.4).
    pub deny_lower_vtl_startup: bool,
    /// Intercept page acceptance by lower VTLs, bit 7.
    pub intercept_acceptance: bool,
    /// Intercept a lower VTL enabling VTL protection, bit 8.
    pub intercept_enable_vtl_protection: bool,
    /// Intercept VP startup and reset, bit 9 (TLFS 15.5.1.5).
    pub intercept_vp_startup: bool,
    /// Intercept unimplemented CPUID leaves, bit 10.
    pub intercept_cpuid_unimplemented: bool,
    /// Intercept unrecoverable exceptions, bit 11.
    pub intercept_unrecoverable_exception: bool,
    /// Deliver intercepts through the intercept page, bit 12.
    pub intercept_page: bool,
    /// Intercept partition time restore, bit 13 (post-TLFS 6.0).
    pub intercept_restore_partition_time: bool,
    /// Send unmapped GPA intercepts to this VTL instead of the host (VTL2), bit 14
    /// (post-TLFS 6.0).
    pub intercept_not_present: bool,
    /// Intercept system reset, bit 15 (post-TLFS 6.0).
    pub intercept_system_reset: bool,
    /// Reserved, bits 63:16.
    #[bits(48)]
    _rsvd: u64,
}

impl HvRegisterVsmPartitionConfig {
    /// Mask of the reserved bits 63:16.
    pub const RESERVED_MASK: u64 = 0xFFFF_FFFF_FFFF_0000;

    /// The default protection as map flags (TLFS 15.5.1.2).
    #[must_use]
    pub const fn default_protection(self) -> HvMapGpaFlags {
        HvMapGpaFlags::from_bits(self.default_vtl_protection_mask() as u32)
    }

    /// Sets the default protection from the permission bits (3:0) of `flags`; other bits of
    /// `flags` do not fit the field and are ignored (TLFS 15.5.1.2).
    #[must_use]
    pub const fn with_default_protection(self, flags: HvMapGpaFlags) -> Self {
        self.with_default_vtl_protection_mask(
            (flags.into_bits() & HvMapGpaFlags::PERMISSIONS_MASK) as u8,
        )
    }
}

/// `HvRegisterVsmPartitionStatus`: per partition, read-only, shared by all VTLs
/// (TLFS 15.3.3.1; bits 39:36 post-TLFS 6.0, OpenVMM `hvdef`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvRegisterVsmPartitionStatus {
    /// Bitmap of the VTLs enabled for the partition, bits 15:0.
    pub enabled_vtl_set: u16,
    /// Highest VTL the partition may enable, bits 19:16.
    #[bits(4)]
    pub maximum_vtl: u8,
    /// Bitmap of the VTLs with MBEC enabled, bits 35:20.
    pub mbec_enabled_vtl_set: u16,
    /// Bitmap of the VTLs with supervisor shadow stacks enabled, bits 39:36 (post-TLFS 6.0).
    #[bits(4)]
    pub supervisor_shadow_stack_enabled_vtl_set: u8,
    /// ReservedZ, bits 63:40.
    #[bits(24)]
    _rsvd: u32,
}

impl HvRegisterVsmPartitionStatus {
    /// Mask of the reserved bits 63:40.
    pub const RESERVED_MASK: u64 = 0xFFFF_FF00_0000_0000;

    /// Whether `vtl` is enabled for the partition.
    #[must_use]
    pub const fn is_vtl_enabled(self, vtl: HvVtl) -> bool {
        vtl <= HV_MAX_VTL && self.enabled_vtl_set() & (1 << vtl) != 0
    }
}

/// `HvRegisterVsmVpStatus`: per VP, read-only, shared by all VTLs (TLFS 15.3.3.2; layout
/// from Linux `hvhdk.h` `union hv_register_vsm_vp_status` and OpenVMM `hvdef`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvRegisterVsmVpStatus {
    /// The VTL whose context is active on the VP, bits 3:0.
    #[bits(4)]
    pub active_vtl: u8,
    /// MBEC is active on the VP, bit 4.
    pub active_mbec_enabled: bool,
    /// ReservedZ, bits 15:5.
    #[bits(11)]
    _rsvd0: u16,
    /// Bitmap of the VTLs enabled on the VP, bits 31:16.
    pub enabled_vtl_set: u16,
    /// ReservedZ, bits 63:32.
    _rsvd1: u32,
}

impl HvRegisterVsmVpStatus {
    /// Mask of the reserved bits 15:5 and 63:32.
    pub const RESERVED_MASK: u64 = 0xFFFF_FFFF_0000_FFE0;

    /// Whether `vtl` is enabled on the VP.
    #[must_use]
    pub const fn is_vtl_enabled(self, vtl: HvVtl) -> bool {
        vtl <= HV_MAX_VTL && self.enabled_vtl_set() & (1 << vtl) != 0
    }
}

/// `HvRegisterVsmVpSecureConfigVtlN`: a higher VTL's configuration of lower VTL `N` on one
/// VP (TLFS 15.5.2 `HV_REGISTER_VSM_VP_SECURE_VTL_CONFIG`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvRegisterVsmVpSecureVtlConfig {
    /// Enable MBEC for the lower VTL, bit 0 (TLFS 15.5.2.1).
    pub mbec_enabled: bool,
    /// Lock the lower VTL's TLB, bit 1 (TLFS 15.5.2.2).
    pub tlb_locked: bool,
    /// ReservedZ, bits 63:2.
    #[bits(62)]
    _rsvd: u64,
}

impl HvRegisterVsmVpSecureVtlConfig {
    /// Mask of the reserved bits 63:2.
    pub const RESERVED_MASK: u64 = !0x3;
}

/// `HvRegisterVsmCodePageOffsets`: where the VTL call and return sequences sit in the
/// hypercall page; read-only, per VTL (TLFS 15.8 `HV_REGISTER_VSM_CODE_PAGE_OFFSETS`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvRegisterVsmCodePageOffsets {
    /// Offset of the VTL call sequence, bits 11:0.
    #[bits(12)]
    pub vtl_call_offset: u16,
    /// Offset of the VTL return sequence, bits 23:12.
    #[bits(12)]
    pub vtl_return_offset: u16,
    /// ReservedZ, bits 63:24.
    #[bits(40)]
    _rsvd: u64,
}

impl HvRegisterVsmCodePageOffsets {
    /// Mask of the reserved bits 63:24.
    pub const RESERVED_MASK: u64 = 0xFFFF_FFFF_FF00_0000;
}

/// `HvRegisterVsmVina`: virtual interrupt notification assist, per VTL and VP (TLFS
/// 15.12.4; the TLFS 6.0 layout table is lost, fields from OpenVMM `hvdef`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvRegisterVsmVina {
    /// Vector of the notification interrupt, bits 7:0.
    pub vector: u8,
    /// VINA is enabled, bit 8.
    pub enabled: bool,
    /// Clear the asserted state on each entry to the VTL, bit 9.
    pub auto_reset: bool,
    /// Deliver the notification with auto-EOI, bit 10.
    pub auto_eoi: bool,
    /// Reserved, bits 63:11.
    #[bits(53)]
    _rsvd: u64,
}

impl HvRegisterVsmVina {
    /// Mask of the reserved bits 63:11.
    pub const RESERVED_MASK: u64 = !0x7FF;
}

open_enum! {
    /// Why a VTL was entered, as the hypervisor writes it into the VTL control area of the
    /// VP assist page (TLFS 15.6.1.2 `HV_VTL_ENTRY_REASON`; the TLFS 6.0 value table is
    /// lost, values from OpenVMM `hvdef`).
    pub struct HvVtlEntryReason(u32) {
        /// Reserved; not used.
        HvVtlEntryReserved = 0,
        /// A VTL call from a lower VTL (TLFS 15.6.1).
        HvVtlEntryVtlCall = 1,
        /// An interrupt targeted at this VTL (TLFS 15.12.2).
        HvVtlEntryInterrupt = 2,
        /// An intercept delivered through the intercept page (TLFS 15.13; post-TLFS 6.0).
        HvVtlEntryIntercept = 3,
    }
}

/// The VINA status byte of the VTL control area (TLFS 15.8.2).
#[bitfield(u8)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvVinaStatus {
    /// The VINA interrupt line is asserted, bit 0; clear it to be notified again
    /// (TLFS 15.12.4).
    pub vina_asserted: bool,
    /// ReservedZ, bits 7:1.
    #[bits(7)]
    _rsvd: u8,
}

impl HvVinaStatus {
    /// Mask of the reserved bits 7:1.
    pub const RESERVED_MASK: u8 = 0xFE;
}

/// The VTL control area of the VP assist page, for VTLs above 0, 24 bytes
/// (TLFS 15.8.2 `HV_VP_VTL_CONTROL`; it sits at offset 8 of the assist page, TLFS 7.8.7.2).
///
/// A 32-bit VTL uses the return registers as EAX, ECX, EDX and a RsvdZ dword: see
/// [`HvVpVtlControl::x86_return_registers`].
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvVpVtlControl {
    /// Why the VTL was entered, offset 0.
    pub entry_reason: HvVtlEntryReason,
    /// VINA status, offset 4.
    pub vina_status: HvVinaStatus,
    /// ReservedZ, offset 5.
    pub rsvd0: u8,
    /// ReservedZ, offset 6.
    pub rsvd1: u16,
    /// RAX to load on a (non-fast) VTL return, offset 8.
    pub vtl_return_x64_rax: u64,
    /// RCX to load on a (non-fast) VTL return, offset 16.
    pub vtl_return_x64_rcx: u64,
}

const _: () = assert!(size_of::<HvVpVtlControl>() == 24);
const _: () = assert!(offset_of!(HvVpVtlControl, vina_status) == 4);
const _: () = assert!(offset_of!(HvVpVtlControl, vtl_return_x64_rax) == 8);
const _: () = assert!(offset_of!(HvVpVtlControl, vtl_return_x64_rcx) == 16);

impl HvVpVtlControl {
    /// The return registers of a 32-bit VTL: EAX, ECX, EDX (TLFS 15.8.2).
    #[must_use]
    pub const fn x86_return_registers(&self) -> [u32; 3] {
        [
            self.vtl_return_x64_rax as u32,
            (self.vtl_return_x64_rax >> 32) as u32,
            self.vtl_return_x64_rcx as u32,
        ]
    }
}

/// The VTL return control value passed in RCX (TLFS 15.7.1).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvVtlReturnControl {
    /// Fast return, bit 0: do not reload the lower VTL's RAX/RCX from the VTL control area
    /// (TLFS 15.7.1.1).
    pub fast_return: bool,
    /// RsvdZ, bits 63:1.
    #[bits(63)]
    _rsvd: u64,
}

impl HvVtlReturnControl {
    /// Mask of the RsvdZ bits 63:1; a return with any set raises #UD (TLFS 15.7.2).
    pub const RESERVED_MASK: u64 = !0x1;
}

/// Flags of `HvCallEnablePartitionVtl` (TLFS 15.15.3 `HV_ENABLE_PARTITION_VTL_FLAGS`;
/// bits 1 and 2 post-TLFS 6.0, OpenVMM `hvdef`).
#[bitfield(u8)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvEnablePartitionVtlFlags {
    /// Enable MBEC for the VTL, bit 0 (TLFS 15.10.2).
    pub enable_mbec: bool,
    /// Enable supervisor shadow stacks, bit 1 (post-TLFS 6.0).
    pub enable_supervisor_shadow_stack: bool,
    /// Enable hardware HVPT, bit 2 (post-TLFS 6.0).
    pub enable_hardware_hvpt: bool,
    /// Reserved, bits 7:3.
    #[bits(5)]
    _rsvd: u8,
}

impl HvEnablePartitionVtlFlags {
    /// Mask of the reserved bits 7:3.
    pub const RESERVED_MASK: u8 = 0xF8;
}

/// Input of `HvCallEnablePartitionVtl` (call code 0x000D), 16 bytes (TLFS 15.15.3; the
/// native layout table is lost in TLFS 6.0, offsets from Linux `hvhdk.h`
/// `struct hv_enable_partition_vtl` and OpenVMM `hvdef`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvEnablePartitionVtlInput {
    /// The partition, offset 0.
    pub target_partition_id: HvPartitionId,
    /// The VTL to enable, offset 8.
    pub target_vtl: HvVtl,
    /// Feature flags, offset 9.
    pub flags: HvEnablePartitionVtlFlags,
    /// RsvdZ, offset 10.
    pub rsvd0: u16,
    /// RsvdZ, offset 12.
    pub rsvd1: u32,
}

const _: () = assert!(size_of::<HvEnablePartitionVtlInput>() == 16);
const _: () = assert!(offset_of!(HvEnablePartitionVtlInput, target_vtl) == 8);
const _: () = assert!(offset_of!(HvEnablePartitionVtlInput, flags) == 9);
const _: () = assert!(offset_of!(HvEnablePartitionVtlInput, rsvd0) == 10);
const _: () = assert!(offset_of!(HvEnablePartitionVtlInput, rsvd1) == 12);

/// Input of `HvCallEnableVpVtl` (call code 0x000F), 240 bytes (TLFS 15.15.4).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvEnableVpVtlInput {
    /// The partition, offset 0.
    pub target_partition_id: HvPartitionId,
    /// The VP, offset 8.
    pub vp_index: HvVpIndex,
    /// The VTL to enable, offset 12.
    pub target_vtl: HvVtl,
    /// RsvdZ, offset 13.
    pub rsvd: [u8; 3],
    /// The context the VP starts with on its first entry to the VTL, offset 16.
    pub vp_vtl_context: HvInitialVpContext,
}

const _: () = assert!(size_of::<HvEnableVpVtlInput>() == 240);
const _: () = assert!(offset_of!(HvEnableVpVtlInput, vp_index) == 8);
const _: () = assert!(offset_of!(HvEnableVpVtlInput, target_vtl) == 12);
const _: () = assert!(offset_of!(HvEnableVpVtlInput, rsvd) == 13);
const _: () = assert!(offset_of!(HvEnableVpVtlInput, vp_vtl_context) == 16);
// The TLFS 15.15.4 table places RIP at 16, CS at 40, TR at 136, LDTR at 152, IDTR at 168,
// GDTR at 184, EFER at 200 and MsrCrPat at 232.
const _: () = assert!(
    offset_of!(HvEnableVpVtlInput, vp_vtl_context) + offset_of!(HvInitialVpContext, cs) == 40
);
const _: () = assert!(
    offset_of!(HvEnableVpVtlInput, vp_vtl_context) + offset_of!(HvInitialVpContext, tr) == 136
);
const _: () = assert!(
    offset_of!(HvEnableVpVtlInput, vp_vtl_context) + offset_of!(HvInitialVpContext, ldtr) == 152
);
const _: () = assert!(
    offset_of!(HvEnableVpVtlInput, vp_vtl_context) + offset_of!(HvInitialVpContext, idtr) == 168
);
const _: () = assert!(
    offset_of!(HvEnableVpVtlInput, vp_vtl_context) + offset_of!(HvInitialVpContext, gdtr) == 184
);
const _: () = assert!(
    offset_of!(HvEnableVpVtlInput, vp_vtl_context) + offset_of!(HvInitialVpContext, efer) == 200
);
const _: () = assert!(
    offset_of!(HvEnableVpVtlInput, vp_vtl_context) + offset_of!(HvInitialVpContext, msr_cr_pat)
        == 232
);

/// GPA mapping and protection flags (TLFS 15.9, 15.10; `HV_MAP_GPA_*`, values from Linux
/// `hvhdk_mini.h`). `HvCallModifyVtlProtectionMask` uses the permission bits 3:0.
///
/// Without MBEC, kernel execute governs all instruction fetches and user execute is
/// ignored; with MBEC, kernel execute without user execute is undefined (TLFS 15.10).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvMapGpaFlags {
    /// Reads allowed, bit 0.
    pub readable: bool,
    /// Writes allowed, bit 1.
    pub writable: bool,
    /// Kernel-mode instruction fetches allowed (KMX), bit 2.
    pub kernel_executable: bool,
    /// User-mode instruction fetches allowed (UMX), bit 3 (MBEC only).
    pub user_executable: bool,
    /// Reserved, bits 14:4.
    #[bits(11)]
    _rsvd0: u16,
    /// The mapping may be adjusted, bit 15 (`HV_MAP_GPA_ADJUSTABLE`; `HvCallMapGpaPages`).
    pub adjustable: bool,
    /// No access, bit 16 (`HV_MAP_GPA_NO_ACCESS`; `HvCallMapGpaPages`).
    pub no_access: bool,
    /// Reserved, bits 20:17.
    #[bits(4)]
    _rsvd1: u8,
    /// Map uncached, bit 21 (`HV_MAP_GPA_NOT_CACHED`; `HvCallMapGpaPages`).
    pub not_cached: bool,
    /// Reserved, bits 30:22.
    #[bits(9)]
    _rsvd2: u16,
    /// Map a large page, bit 31 (`HV_MAP_GPA_LARGE_PAGE`; `HvCallMapGpaPages`).
    pub large_page: bool,
}

impl HvMapGpaFlags {
    /// Mask of the reserved bits 14:4, 20:17 and 30:22.
    pub const RESERVED_MASK: u32 = 0x7FDE_7FF0;

    /// The permission bits 3:0 (`HV_MAP_GPA_PERMISSIONS_MASK`).
    pub const PERMISSIONS_MASK: u32 = 0xF;

    /// No access: all permission bits clear (`HV_MAP_GPA_PERMISSIONS_NONE`).
    pub const NONE: Self = Self::new();

    /// Read, write, kernel and user execute: the default protection (TLFS 15.5.1.2).
    pub const FULL_ACCESS: Self = Self::new()
        .with_readable(true)
        .with_writable(true)
        .with_kernel_executable(true)
        .with_user_executable(true);
}

/// Header of the `HvCallModifyVtlProtectionMask` input (call code 0x000C, rep), 16 bytes,
/// followed by one GPA page number (`u64`) per rep (TLFS 15.15.2; native layout from
/// Linux `struct hv_input_modify_vtl_protection_mask` and OpenVMM `hvdef`).
///
/// A VTL can protect pages only for lower VTLs; protecting non-RAM fails with
/// `HV_STATUS_INVALID_PARAMETER` (TLFS 15.15.2).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvModifyVtlProtectionMaskInput {
    /// The partition, offset 0.
    pub target_partition_id: HvPartitionId,
    /// The protection to apply, offset 8.
    pub map_flags: HvMapGpaFlags,
    /// The VTL whose protection of lower VTLs is changed, offset 12.
    pub target_vtl: HvInputVtl,
    /// RsvdZ, offset 13.
    pub rsvd: [u8; 3],
}

const _: () = assert!(size_of::<HvModifyVtlProtectionMaskInput>() == 16);
const _: () = assert!(offset_of!(HvModifyVtlProtectionMaskInput, map_flags) == 8);
const _: () = assert!(offset_of!(HvModifyVtlProtectionMaskInput, target_vtl) == 12);
const _: () = assert!(offset_of!(HvModifyVtlProtectionMaskInput, rsvd) == 13);

/// Most GPA page numbers one `HvCallModifyVtlProtectionMask` call can carry in a single
/// input page after the 16-byte header: (4096 − 16) / 8.
pub const HV_MODIFY_VTL_PROTECTION_MASK_MAX_REPS: usize =
    (crate::HV_PAGE_SIZE - size_of::<HvModifyVtlProtectionMaskInput>()) / size_of::<u64>();

/// `HvX64RegisterCrInterceptControl`: which control register and MSR accesses of a lower
/// VTL raise a secure intercept (TLFS 15.13.4 `HV_REGISTER_CR_INTERCEPT_CONTROL`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvRegisterCrInterceptControl {
    /// CR0 writes, bit 0.
    pub cr0_write: bool,
    /// CR4 writes, bit 1.
    pub cr4_write: bool,
    /// XCR0 writes, bit 2.
    pub xcr0_write: bool,
    /// IA32_MISC_ENABLE reads, bit 3.
    pub ia32_misc_enable_read: bool,
    /// IA32_MISC_ENABLE writes, bit 4.
    pub ia32_misc_enable_write: bool,
    /// LSTAR reads, bit 5.
    pub msr_lstar_read: bool,
    /// LSTAR writes, bit 6.
    pub msr_lstar_write: bool,
    /// STAR reads, bit 7.
    pub msr_star_read: bool,
    /// STAR writes, bit 8.
    pub msr_star_write: bool,
    /// CSTAR reads, bit 9.
    pub msr_cstar_read: bool,
    /// CSTAR writes, bit 10.
    pub msr_cstar_write: bool,
    /// APIC base MSR reads, bit 11.
    pub apic_base_msr_read: bool,
    /// APIC base MSR writes, bit 12.
    pub apic_base_msr_write: bool,
    /// EFER reads, bit 13.
    pub msr_efer_read: bool,
    /// EFER writes, bit 14.
    pub msr_efer_write: bool,
    /// GDTR writes, bit 15.
    pub gdtr_write: bool,
    /// IDTR writes, bit 16.
    pub idtr_write: bool,
    /// LDTR writes, bit 17.
    pub ldtr_write: bool,
    /// TR writes, bit 18.
    pub tr_write: bool,
    /// SYSENTER_CS writes, bit 19.
    pub msr_sysenter_cs_write: bool,
    /// SYSENTER_EIP writes, bit 20.
    pub msr_sysenter_eip_write: bool,
    /// SYSENTER_ESP writes, bit 21.
    pub msr_sysenter_esp_write: bool,
    /// SFMASK writes, bit 22.
    pub msr_sfmask_write: bool,
    /// TSC_AUX writes, bit 23.
    pub msr_tsc_aux_write: bool,
    /// SGX launch control writes, bit 24.
    pub msr_sgx_launch_control_write: bool,
    /// RsvdZ, bits 63:25.
    #[bits(39)]
    _rsvd: u64,
}

impl HvRegisterCrInterceptControl {
    /// Mask of the RsvdZ bits 63:25.
    pub const RESERVED_MASK: u64 = 0xFFFF_FFFF_FE00_0000;
}

/// Whether a piece of VP state is kept per VTL or shared by all VTLs (TLFS 15.11).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HvVtlStateScope {
    /// Saved and restored on every VTL switch (TLFS 15.11.1).
    Private,
    /// The same for all VTLs (TLFS 15.11.2).
    Shared,
    /// DR6: shared when [`HvRegisterVsmCapabilities::dr6_shared`] says so, else private
    /// (TLFS 15.11.1.2, 15.11.2.2).
    Dr6,
}

impl HvVtlStateScope {
    /// Whether the state is shared, given the partition's VSM capabilities.
    #[must_use]
    pub const fn is_shared(self, capabilities: HvRegisterVsmCapabilities) -> bool {
        match self {
            Self::Private => false,
            Self::Shared => true,
            Self::Dr6 => capabilities.dr6_shared(),
        }
    }
}

/// The x64 VP state (other than MSRs) that TLFS 15.11 classifies as private or shared.
///
/// DR4 and DR5, which TLFS 15.11.2.2 lists with DR0–DR3, are architectural aliases of DR6
/// and DR7 (or undefined with CR4.DE set) and have no entry of their own.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HvX64VtlRegister {
    /// RIP (private).
    Rip,
    /// RSP (private).
    Rsp,
    /// RFLAGS (private).
    Rflags,
    /// CR0 (private).
    Cr0,
    /// CR3 (private).
    Cr3,
    /// CR4 (private).
    Cr4,
    /// CR8/TPR, part of the local APIC (private).
    Cr8,
    /// DR7 (private).
    Dr7,
    /// IDTR (private).
    Idtr,
    /// GDTR (private).
    Gdtr,
    /// CS (private).
    Cs,
    /// DS (private).
    Ds,
    /// ES (private).
    Es,
    /// FS (private).
    Fs,
    /// GS (private).
    Gs,
    /// SS (private).
    Ss,
    /// TR (private).
    Tr,
    /// LDTR (private).
    Ldtr,
    /// The TSC (private).
    Tsc,
    /// DR6 (processor dependent).
    Dr6,
    /// RAX (shared).
    Rax,
    /// RBX (shared).
    Rbx,
    /// RCX (shared).
    Rcx,
    /// RDX (shared).
    Rdx,
    /// RSI (shared).
    Rsi,
    /// RDI (shared).
    Rdi,
    /// RBP (shared).
    Rbp,
    /// CR2 (shared).
    Cr2,
    /// R8 (shared).
    R8,
    /// R9 (shared).
    R9,
    /// R10 (shared).
    R10,
    /// R11 (shared).
    R11,
    /// R12 (shared).
    R12,
    /// R13 (shared).
    R13,
    /// R14 (shared).
    R14,
    /// R15 (shared).
    R15,
    /// DR0 (shared).
    Dr0,
    /// DR1 (shared).
    Dr1,
    /// DR2 (shared).
    Dr2,
    /// DR3 (shared).
    Dr3,
    /// x87 floating point state (shared).
    X87,
    /// XMM state (shared).
    Xmm,
    /// AVX state (shared).
    Avx,
    /// XCR0, the XSAVE feature enable mask (shared).
    Xcr0,
}

impl HvX64VtlRegister {
    /// Every item, private ones first.
    pub const ALL: &'static [Self] = &[
        Self::Rip,
        Self::Rsp,
        Self::Rflags,
        Self::Cr0,
        Self::Cr3,
        Self::Cr4,
        Self::Cr8,
        Self::Dr7,
        Self::Idtr,
        Self::Gdtr,
        Self::Cs,
        Self::Ds,
        Self::Es,
        Self::Fs,
        Self::Gs,
        Self::Ss,
        Self::Tr,
        Self::Ldtr,
        Self::Tsc,
        Self::Dr6,
        Self::Rax,
        Self::Rbx,
        Self::Rcx,
        Self::Rdx,
        Self::Rsi,
        Self::Rdi,
        Self::Rbp,
        Self::Cr2,
        Self::R8,
        Self::R9,
        Self::R10,
        Self::R11,
        Self::R12,
        Self::R13,
        Self::R14,
        Self::R15,
        Self::Dr0,
        Self::Dr1,
        Self::Dr2,
        Self::Dr3,
        Self::X87,
        Self::Xmm,
        Self::Avx,
        Self::Xcr0,
    ];

    /// Private or shared (TLFS 15.11.1.2, 15.11.2.2).
    #[must_use]
    pub const fn scope(self) -> HvVtlStateScope {
        match self {
            Self::Rip
            | Self::Rsp
            | Self::Rflags
            | Self::Cr0
            | Self::Cr3
            | Self::Cr4
            | Self::Cr8
            | Self::Dr7
            | Self::Idtr
            | Self::Gdtr
            | Self::Cs
            | Self::Ds
            | Self::Es
            | Self::Fs
            | Self::Gs
            | Self::Ss
            | Self::Tr
            | Self::Ldtr
            | Self::Tsc => HvVtlStateScope::Private,
            Self::Dr6 => HvVtlStateScope::Dr6,
            Self::Rax
            | Self::Rbx
            | Self::Rcx
            | Self::Rdx
            | Self::Rsi
            | Self::Rdi
            | Self::Rbp
            | Self::Cr2
            | Self::R8
            | Self::R9
            | Self::R10
            | Self::R11
            | Self::R12
            | Self::R13
            | Self::R14
            | Self::R15
            | Self::Dr0
            | Self::Dr1
            | Self::Dr2
            | Self::Dr3
            | Self::X87
            | Self::Xmm
            | Self::Avx
            | Self::Xcr0 => HvVtlStateScope::Shared,
        }
    }
}

/// A range of x64 MSR indices with one VTL scope (TLFS 15.11.1.1, 15.11.2.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct HvVtlMsrRange {
    /// First MSR index of the range.
    pub first: u32,
    /// Last MSR index of the range, inclusive.
    pub last: u32,
    /// The TLFS name of the MSR or group.
    pub name: &'static str,
    /// Private or shared.
    pub scope: HvVtlStateScope,
}

/// Builds a one-MSR or multi-MSR table entry.
const fn msr_range(
    first: u32,
    last: u32,
    name: &'static str,
    scope: HvVtlStateScope,
) -> HvVtlMsrRange {
    HvVtlMsrRange {
        first,
        last,
        name,
        scope,
    }
}

/// The x64 MSRs TLFS 15.11 names, with their scope, sorted by index and non-overlapping.
///
/// The local APIC is private, so its x2APIC MSR range and `IA32_APIC_BASE` are listed as
/// private (TLFS 15.11.1.1 "Local APIC registers"); the TSC is a private register and so
/// is `IA32_TIME_STAMP_COUNTER`. The MTRRs are the ranges of the x64 register names of
/// TLFS 7.8.2 (16 variable pairs, the fixed-range MSRs, capability and default type).
/// Four shared MSRs of TLFS 15.11.2.1 (`HV_X64_MSR_DEBUG_DEVICE_OPTIONS`,
/// `HV_X64_MSR_BELOW_1MB_PAGE`, `HV_X64_MSR_STATS_PARTITION_RETAIL_PAGE`,
/// `HV_X64_MSR_STATS_VP_RETAIL_PAGE`) have no index in TLFS 6.0 appendix C and are not
/// listed. MSRs the TLFS does not name are not listed either; TLFS 15.11.2 says "most
/// architectural MSRs are shared".
pub const HV_X64_VTL_MSRS: &[HvVtlMsrRange] = {
    use HvVtlStateScope::{Private, Shared};
    &[
        msr_range(0x0000_0010, 0x0000_0010, "IA32_TIME_STAMP_COUNTER", Private),
        msr_range(0x0000_001B, 0x0000_001B, "IA32_APIC_BASE", Private),
        msr_range(0x0000_00FE, 0x0000_00FE, "IA32_MTRRCAP", Shared),
        msr_range(0x0000_0174, 0x0000_0174, "SYSENTER_CS", Private),
        msr_range(0x0000_0175, 0x0000_0175, "SYSENTER_ESP", Private),
        msr_range(0x0000_0176, 0x0000_0176, "SYSENTER_EIP", Private),
        msr_range(0x0000_0179, 0x0000_0179, "MCG_CAP", Shared),
        msr_range(0x0000_017A, 0x0000_017A, "MCG_STATUS", Shared),
        msr_range(
            0x0000_0200,
            0x0000_021F,
            "IA32_MTRR_PHYSBASE/PHYSMASK0-15",
            Shared,
        ),
        msr_range(0x0000_0250, 0x0000_0250, "IA32_MTRR_FIX64K_00000", Shared),
        msr_range(
            0x0000_0258,
            0x0000_0259,
            "IA32_MTRR_FIX16K_80000/A0000",
            Shared,
        ),
        msr_range(
            0x0000_0268,
            0x0000_026F,
            "IA32_MTRR_FIX4K_C0000-F8000",
            Shared,
        ),
        msr_range(0x0000_0277, 0x0000_0277, "PAT", Private),
        msr_range(0x0000_02FF, 0x0000_02FF, "IA32_MTRR_DEF_TYPE", Shared),
        msr_range(0x0000_0800, 0x0000_08FF, "x2APIC registers", Private),
        msr_range(0x4000_0000, 0x4000_0000, "HV_X64_MSR_GUEST_OS_ID", Private),
        msr_range(0x4000_0001, 0x4000_0001, "HV_X64_MSR_HYPERCALL", Private),
        msr_range(0x4000_0002, 0x4000_0002, "HV_X64_MSR_VP_INDEX", Shared),
        msr_range(0x4000_0003, 0x4000_0003, "HV_X64_MSR_RESET", Shared),
        msr_range(0x4000_0010, 0x4000_0010, "HV_X64_MSR_VP_RUNTIME", Shared),
        msr_range(
            0x4000_0020,
            0x4000_0020,
            "HV_X64_MSR_TIME_REF_COUNT",
            Shared,
        ),
        msr_range(
            0x4000_0021,
            0x4000_0021,
            "HV_X64_MSR_REFERENCE_TSC",
            Private,
        ),
        msr_range(0x4000_0022, 0x4000_0022, "HV_X64_MSR_TSC_FREQUENCY", Shared),
        msr_range(
            0x4000_0023,
            0x4000_0023,
            "HV_X64_MSR_APIC_FREQUENCY",
            Private,
        ),
        msr_range(0x4000_0040, 0x4000_0040, "HV_X64_MSR_NPIEP_CONFIG", Private),
        msr_range(0x4000_0070, 0x4000_0070, "HV_X64_MSR_EOI", Private),
        msr_range(0x4000_0071, 0x4000_0071, "HV_X64_MSR_ICR", Private),
        msr_range(0x4000_0072, 0x4000_0072, "HV_X64_MSR_TPR", Private),
        msr_range(
            0x4000_0073,
            0x4000_0073,
            "HV_X64_MSR_APIC_ASSIST_PAGE",
            Private,
        ),
        msr_range(0x4000_0080, 0x4000_0080, "HV_X64_MSR_SCONTROL", Private),
        msr_range(0x4000_0081, 0x4000_0081, "HV_X64_MSR_SVERSION", Private),
        msr_range(0x4000_0082, 0x4000_0082, "HV_X64_MSR_SIEFP", Private),
        msr_range(0x4000_0083, 0x4000_0083, "HV_X64_MSR_SIMP", Private),
        msr_range(0x4000_0084, 0x4000_0084, "HV_X64_MSR_EOM", Private),
        msr_range(0x4000_0085, 0x4000_0085, "HV_X64_MSR_SIRBP", Private),
        msr_range(0x4000_0090, 0x4000_009F, "HV_X64_MSR_SINT0-15", Private),
        msr_range(
            0x4000_00B0,
            0x4000_00B7,
            "HV_X64_MSR_STIMER0-3_CONFIG/COUNT",
            Private,
        ),
        msr_range(0x4000_00F0, 0x4000_00F0, "HV_X64_MSR_GUEST_IDLE", Shared),
        msr_range(0xC000_0080, 0xC000_0080, "EFER", Private),
        msr_range(0xC000_0081, 0xC000_0081, "STAR", Private),
        msr_range(0xC000_0082, 0xC000_0082, "LSTAR", Private),
        msr_range(0xC000_0083, 0xC000_0083, "CSTAR", Private),
        msr_range(0xC000_0084, 0xC000_0084, "SFMASK", Private),
        msr_range(0xC000_0100, 0xC000_0100, "FS.BASE", Private),
        msr_range(0xC000_0101, 0xC000_0101, "GS.BASE", Private),
        msr_range(0xC000_0102, 0xC000_0102, "KERNEL_GSBASE", Private),
        msr_range(0xC000_0103, 0xC000_0103, "TSC_AUX", Private),
    ]
};

/// The TLFS 15.11 scope of x64 MSR `msr`, or `None` for an MSR the TLFS does not name.
#[must_use]
pub fn x64_msr_vtl_scope(msr: u32) -> Option<HvVtlStateScope> {
    HV_X64_VTL_MSRS
        .iter()
        .find(|range| range.first <= msr && msr <= range.last)
        .map(|range| range.scope)
}
