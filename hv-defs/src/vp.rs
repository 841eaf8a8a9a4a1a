//! Virtual processor management: VP register hypercalls, VP sets, the initial VP context and
//! the VP assist page (TLFS 7), and the long spin-wait notification (TLFS 14).
//!
//! | TLFS | items |
//! | --- | --- |
//! | 7.8.7.1 | [`HvVpAssistPageMsr`] |
//! | 7.8.7.2, 10.3.5, 15.8.2 | [`HvVpAssistPage`] and its parts |
//! | 7.8.7.3–7.8.7.5 | [`HvVpSetHeader`], [`HvGenericSetFormat`], [`hv_vp_set_bank`] |
//! | 7.9.1 | [`HvVpRuntime`] |
//! | 7.10.1, 7.10.2 | [`HvVpRegistersInputHeader`], [`HvSetVpRegistersElement`] |
//! | 7.10.3 | [`HvStartVirtualProcessorInput`], [`HvInitialVpContext`] |
//! | 7.10.4 | [`HvGetVpIndexFromApicIdInputHeader`] |
//! | 14.4, 14.5.1 | [`HvNotifyLongSpinWaitInput`] |
//!
//! Section numbers are those of the TLFS 6.0 text this crate follows; the TLFS web edition
//! files VP sets under the hypercall data types instead.

use bitfield_struct::bitfield;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::nested::HvNestedEnlightenmentsControl;
use crate::register::{HvRegisterName, HvRegisterValue};
use crate::vsm::HvVpVtlControl;
use crate::{HV_PAGE_SIZE, HvGpa, HvPartitionId, HvVpIndex, HvVtl};

/// The target-VTL selector used by hypercalls that can act on another VTL
/// (TLFS 7.10.1, 15.x `HV_INPUT_VTL`).
#[bitfield(u8)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvInputVtl {
    /// The VTL to act on, bits 3:0; used only when `use_target_vtl` is set.
    #[bits(4)]
    pub target_vtl: u8,
    /// Act on `target_vtl` instead of the caller's VTL, bit 4.
    pub use_target_vtl: bool,
    /// RsvdZ, bits 7:5.
    #[bits(3)]
    _rsvd: u8,
}

impl HvInputVtl {
    /// Mask of the RsvdZ bits 7:5.
    pub const RESERVED_MASK: u8 = 0xE0;

    /// "The caller's own VTL": no target VTL.
    pub const CURRENT: Self = Self::new();

    /// Selects `vtl` as the target.
    #[must_use]
    pub const fn target(vtl: HvVtl) -> Self {
        Self::new().with_target_vtl(vtl).with_use_target_vtl(true)
    }
}

/// A segment register with its hidden state (TLFS 7.9.5 `HV_X64_SEGMENT_REGISTER`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvX64SegmentRegister {
    /// Segment base.
    pub base: u64,
    /// Segment limit (ignored for 64-bit segments).
    pub limit: u32,
    /// Selector.
    pub selector: u16,
    /// Attributes: type 3:0, S 4, DPL 6:5, P 7, reserved 11:8, AVL 12, L 13, D/B 14, G 15.
    pub attributes: u16,
}

const _: () = assert!(size_of::<HvX64SegmentRegister>() == 16);

/// A descriptor table register (TLFS 7.9.6 `HV_X64_TABLE_REGISTER`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvX64TableRegister {
    /// Padding (TLFS `Pad[3]`).
    pub pad: [u16; 3],
    /// Table limit.
    pub limit: u16,
    /// Table base.
    pub base: u64,
}

const _: () = assert!(size_of::<HvX64TableRegister>() == 16);

/// The register state a VP starts with (TLFS 7.10.3 `HV_INITIAL_VP_CONTEXT`); used by
/// `HvCallStartVirtualProcessor` and `HvCallEnableVpVtl`.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvInitialVpContext {
    /// RIP.
    pub rip: u64,
    /// RSP.
    pub rsp: u64,
    /// RFLAGS.
    pub rflags: u64,
    /// CS with hidden state.
    pub cs: HvX64SegmentRegister,
    /// DS with hidden state.
    pub ds: HvX64SegmentRegister,
    /// ES with hidden state.
    pub es: HvX64SegmentRegister,
    /// FS with hidden state.
    pub fs: HvX64SegmentRegister,
    /// GS with hidden state.
    pub gs: HvX64SegmentRegister,
    /// SS with hidden state.
    pub ss: HvX64SegmentRegister,
    /// TR with hidden state.
    pub tr: HvX64SegmentRegister,
    /// LDTR with hidden state.
    pub ldtr: HvX64SegmentRegister,
    /// IDTR.
    pub idtr: HvX64TableRegister,
    /// GDTR.
    pub gdtr: HvX64TableRegister,
    /// EFER.
    pub efer: u64,
    /// CR0.
    pub cr0: u64,
    /// CR3.
    pub cr3: u64,
    /// CR4.
    pub cr4: u64,
    /// IA32_PAT.
    pub msr_cr_pat: u64,
}

// TLFS 7.10.3 native interface: the context starts at input offset 16 with RIP, CS at 40,
// so relative offsets are RIP 0, CS 24, IDTR 152, EFER 184; 224 bytes in all.
const _: () = assert!(size_of::<HvInitialVpContext>() == 224);
const _: () = assert!(offset_of!(HvInitialVpContext, cs) == 24);
const _: () = assert!(offset_of!(HvInitialVpContext, idtr) == 152);
const _: () = assert!(offset_of!(HvInitialVpContext, efer) == 184);

// ---------------------------------------------------------------------------------------
// HvCallSetVpRegisters / HvCallGetVpRegisters (TLFS 7.10.1, 7.10.2)
// ---------------------------------------------------------------------------------------

/// The input parameter header shared by `HvCallSetVpRegisters` and `HvCallGetVpRegisters`
/// (TLFS 7.10.1, 7.10.2).
///
/// | offset | field |
/// | --- | --- |
/// | 0 | PartitionId (8 bytes) |
/// | 8 | VpIndex (4 bytes) |
/// | 12 | TargetVtl (`HV_INPUT_VTL`, 1 byte) |
/// | 13 | RsvdZ (3 bytes) |
///
/// The rep list follows at offset 16: [`HvSetVpRegistersElement`] for the set call, one
/// [`HvRegisterName`] (4 bytes, packed) per rep for the get call, whose output list holds one
/// [`HvRegisterValue`] per rep.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvVpRegistersInputHeader {
    /// The partition ([`crate::HV_PARTITION_ID_SELF`] for the caller's own).
    pub partition_id: HvPartitionId,
    /// The virtual processor ([`crate::HV_VP_INDEX_SELF`] for the caller).
    pub vp_index: HvVpIndex,
    /// The VTL whose registers are accessed.
    pub input_vtl: HvInputVtl,
    /// RsvdZ.
    pub rsvd: [u8; 3],
}

const _: () = assert!(size_of::<HvVpRegistersInputHeader>() == 16);
const _: () = assert!(offset_of!(HvVpRegistersInputHeader, partition_id) == 0);
const _: () = assert!(offset_of!(HvVpRegistersInputHeader, vp_index) == 8);
const _: () = assert!(offset_of!(HvVpRegistersInputHeader, input_vtl) == 12);
const _: () = assert!(offset_of!(HvVpRegistersInputHeader, rsvd) == 13);

/// One input list element of `HvCallSetVpRegisters`: a register name and its new value
/// (TLFS 7.10.1).
///
/// | offset | field |
/// | --- | --- |
/// | 0 | RegisterName (4 bytes) |
/// | 4 | Padding (4 bytes) |
/// | 8 | Padding (8 bytes) |
/// | 16 | RegisterValue, low then high 8 bytes |
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable)]
pub struct HvSetVpRegistersElement {
    /// The register to write.
    pub name: HvRegisterName,
    /// Padding.
    pub rsvd0: u32,
    /// Padding; the value is 16-byte aligned within the element.
    pub rsvd1: u64,
    /// The value to write.
    pub value: HvRegisterValue,
}

const _: () = assert!(size_of::<HvSetVpRegistersElement>() == 32);
const _: () = assert!(offset_of!(HvSetVpRegistersElement, name) == 0);
const _: () = assert!(offset_of!(HvSetVpRegistersElement, value) == 16);

/// Bytes of one `HvCallGetVpRegisters` input list element: a packed [`HvRegisterName`]
/// (TLFS 7.10.2).
pub const HV_GET_VP_REGISTERS_INPUT_ELEMENT_SIZE: usize = size_of::<HvRegisterName>();

/// Bytes of one `HvCallGetVpRegisters` output list element: an [`HvRegisterValue`]
/// (TLFS 7.10.2).
pub const HV_GET_VP_REGISTERS_OUTPUT_ELEMENT_SIZE: usize = size_of::<HvRegisterValue>();

const _: () = assert!(HV_GET_VP_REGISTERS_INPUT_ELEMENT_SIZE == 4);
const _: () = assert!(HV_GET_VP_REGISTERS_OUTPUT_ELEMENT_SIZE == 16);

/// The most registers one `HvCallSetVpRegisters` can write when its input fits one page:
/// (4096 − 16) / 32 (TLFS 3.6, 7.10.1).
pub const HV_SET_VP_REGISTERS_MAX_REPS_PER_PAGE: usize =
    (HV_PAGE_SIZE - size_of::<HvVpRegistersInputHeader>()) / size_of::<HvSetVpRegistersElement>();

/// The most registers one `HvCallGetVpRegisters` can read when input and output each fit
/// one page: the output page holds 4096 / 16 values (TLFS 3.6, 7.10.2).
pub const HV_GET_VP_REGISTERS_MAX_REPS_PER_PAGE: usize = min_usize(
    (HV_PAGE_SIZE - size_of::<HvVpRegistersInputHeader>()) / HV_GET_VP_REGISTERS_INPUT_ELEMENT_SIZE,
    HV_PAGE_SIZE / HV_GET_VP_REGISTERS_OUTPUT_ELEMENT_SIZE,
);

const _: () = assert!(HV_SET_VP_REGISTERS_MAX_REPS_PER_PAGE == 127);
const _: () = assert!(HV_GET_VP_REGISTERS_MAX_REPS_PER_PAGE == 256);

const fn min_usize(a: usize, b: usize) -> usize {
    if a < b { a } else { b }
}

// ---------------------------------------------------------------------------------------
// HvCallGetVpIndexFromApicId (TLFS 7.10.4)
// ---------------------------------------------------------------------------------------

/// The input parameter header of `HvCallGetVpIndexFromApicId` (TLFS 7.10.4).
///
/// The input list that follows at offset 16 holds one APIC id (`u32`) per rep; the output
/// list holds one [`HvVpIndex`] (`u32`) per rep. The TLFS 6.0 text lost the native-interface
/// table; the layout is the one of the public TLFS web edition and Linux
/// (`hv_get_vp_from_apic_id_in`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvGetVpIndexFromApicIdInputHeader {
    /// The partition.
    pub partition_id: HvPartitionId,
    /// The VTL of the target VPs.
    pub target_vtl: HvInputVtl,
    /// RsvdZ.
    pub rsvd: [u8; 7],
}

const _: () = assert!(size_of::<HvGetVpIndexFromApicIdInputHeader>() == 16);
const _: () = assert!(offset_of!(HvGetVpIndexFromApicIdInputHeader, partition_id) == 0);
const _: () = assert!(offset_of!(HvGetVpIndexFromApicIdInputHeader, target_vtl) == 8);

/// Bytes of one input list element (an APIC id) and of one output list element (a VP index)
/// of `HvCallGetVpIndexFromApicId` (TLFS 7.10.4).
pub const HV_GET_VP_INDEX_FROM_APIC_ID_ELEMENT_SIZE: usize = 4;

/// The most APIC ids one `HvCallGetVpIndexFromApicId` can translate when input and output
/// each fit one page: (4096 − 16) / 4 (TLFS 3.6, 7.10.4).
pub const HV_GET_VP_INDEX_FROM_APIC_ID_MAX_REPS_PER_PAGE: usize = (HV_PAGE_SIZE
    - size_of::<HvGetVpIndexFromApicIdInputHeader>())
    / HV_GET_VP_INDEX_FROM_APIC_ID_ELEMENT_SIZE;

const _: () = assert!(HV_GET_VP_INDEX_FROM_APIC_ID_MAX_REPS_PER_PAGE == 1020);

// ---------------------------------------------------------------------------------------
// HvCallStartVirtualProcessor (TLFS 7.10.3)
// ---------------------------------------------------------------------------------------

/// The input of `HvCallStartVirtualProcessor` (TLFS 7.10.3).
///
/// | offset | field |
/// | --- | --- |
/// | 0 | PartitionId |
/// | 8 | VpIndex |
/// | 12 | TargetVtl (`HV_VTL`, 1 byte) |
/// | 13 | Padding (3 bytes) |
/// | 16 | VpContext: RIP 16, RSP 24, RFLAGS 32, CS 40 … LDTR 152, IDTR 168, GDTR 184, EFER 200, CR0 208, CR3 216, CR4 224, PAT 232 |
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvStartVirtualProcessorInput {
    /// The partition.
    pub partition_id: HvPartitionId,
    /// The VP to start.
    pub vp_index: HvVpIndex,
    /// The VTL to start the VP in.
    pub target_vtl: HvVtl,
    /// Padding.
    pub rsvd: [u8; 3],
    /// The register state the VP starts with.
    pub vp_context: HvInitialVpContext,
}

const _: () = assert!(size_of::<HvStartVirtualProcessorInput>() == 240);
const _: () = assert!(offset_of!(HvStartVirtualProcessorInput, vp_index) == 8);
const _: () = assert!(offset_of!(HvStartVirtualProcessorInput, target_vtl) == 12);
const _: () = assert!(offset_of!(HvStartVirtualProcessorInput, vp_context) == 16);
const _: () = assert!(
    offset_of!(HvStartVirtualProcessorInput, vp_context) + offset_of!(HvInitialVpContext, cs) == 40
);
const _: () = assert!(
    offset_of!(HvStartVirtualProcessorInput, vp_context) + offset_of!(HvInitialVpContext, ldtr)
        == 152
);
const _: () = assert!(
    offset_of!(HvStartVirtualProcessorInput, vp_context) + offset_of!(HvInitialVpContext, idtr)
        == 168
);
const _: () = assert!(
    offset_of!(HvStartVirtualProcessorInput, vp_context) + offset_of!(HvInitialVpContext, gdtr)
        == 184
);
const _: () = assert!(
    offset_of!(HvStartVirtualProcessorInput, vp_context) + offset_of!(HvInitialVpContext, efer)
        == 200
);
const _: () = assert!(
    offset_of!(HvStartVirtualProcessorInput, vp_context)
        + offset_of!(HvInitialVpContext, msr_cr_pat)
        == 232
);

// ---------------------------------------------------------------------------------------
// Virtual processor sets (TLFS 7.8.7.3 – 7.8.7.5)
// ---------------------------------------------------------------------------------------

open_enum! {
    /// The format of a generic set such as a VP set (TLFS 7.8.7.3 `HV_GENERIC_SET_FORMAT`).
    pub struct HvGenericSetFormat(u64) {
        /// A sparse set: a valid-banks mask followed by one 64-bit mask per valid bank
        /// (`HvGenericSetSparse4k`).
        HV_GENERIC_SET_SPARSE_4K = 0,
        /// Every VP of the partition; no bank follows (`HvGenericSetAll`).
        HV_GENERIC_SET_ALL = 1,
    }
}

/// Number of VPs in one bank of a sparse VP set (TLFS 7.8.7.4).
pub const HV_VP_SET_BANK_SIZE: u32 = 64;

/// Most banks a sparse VP set can describe: one per bit of the valid-banks mask
/// (TLFS 7.8.7.4).
pub const HV_VP_SET_MAX_BANKS: usize = 64;

/// Number of VP indices a sparse VP set can describe: 64 banks of 64 (TLFS 7.8.7.4).
pub const HV_VP_SET_MAX_VPS: u32 = HV_VP_SET_BANK_SIZE * HV_VP_SET_MAX_BANKS as u32;

/// Largest encoded VP set: the header and 64 bank masks (TLFS 7.8.7.3).
pub const HV_VP_SET_MAX_BYTES: usize = size_of::<HvVpSetHeader>() + 8 * HV_VP_SET_MAX_BANKS;

/// The fixed part of a virtual processor set (TLFS 7.8.7.3 `HV_VP_SET`).
///
/// # Encoding
///
/// ```text
/// u64 Format          HV_GENERIC_SET_SPARSE_4K (0) or HV_GENERIC_SET_ALL (1)
/// u64 ValidBanksMask  bit b set: bank b (VPs 64b .. 64b+63) has an entry below
/// u64 BankContents[]  one mask per set bit of ValidBanksMask, in increasing bank order;
///                     bit i of the entry for bank b selects VP 64b + i
/// ```
///
/// VP index `v` lives in bank `v / 64` at bit `v % 64` ([`hv_vp_set_bank`]). A bank whose
/// bit is clear has no entry; a present entry may be zero. With format
/// `HV_GENERIC_SET_ALL` the set is every VP and the mask and banks are not used. Example
/// (TLFS 7.8.7.5): VPs {0, 5, 130} encode as format 0, ValidBanksMask 0x5, BankContents
/// {0x21, 0x4}.
///
/// In the `Ex` hypercalls the header sits in the fixed input header and the bank masks form
/// the variable header, so the variable header size (TLFS 3.7.1) is the bank count
/// ([`HvVpSetHeader::bank_count`]).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable)]
pub struct HvVpSetHeader {
    /// The set format.
    pub format: HvGenericSetFormat,
    /// Which banks have an entry in the bank contents that follow.
    pub valid_banks_mask: u64,
}

const _: () = assert!(size_of::<HvVpSetHeader>() == 16);
const _: () = assert!(offset_of!(HvVpSetHeader, valid_banks_mask) == 8);

impl HvVpSetHeader {
    /// The header of a set holding every VP of the partition (TLFS 7.8.7.3).
    pub const ALL: Self = Self {
        format: HvGenericSetFormat::HV_GENERIC_SET_ALL,
        valid_banks_mask: 0,
    };

    /// The header of a sparse set whose banks are those set in `valid_banks_mask`.
    #[must_use]
    pub const fn sparse(valid_banks_mask: u64) -> Self {
        Self {
            format: HvGenericSetFormat::HV_GENERIC_SET_SPARSE_4K,
            valid_banks_mask,
        }
    }

    /// Number of bank masks that follow the header: the set bits of the valid-banks mask for
    /// a sparse set, 0 for any other format (TLFS 7.8.7.4).
    #[must_use]
    pub const fn bank_count(self) -> usize {
        if self.format.get() == HvGenericSetFormat::HV_GENERIC_SET_SPARSE_4K.get() {
            self.valid_banks_mask.count_ones() as usize
        } else {
            0
        }
    }
}

/// The bank and the bit within the bank's mask that select VP `vp_index` in a sparse VP
/// set, or `None` when the index is beyond [`HV_VP_SET_MAX_VPS`] (TLFS 7.8.7.4).
#[must_use]
pub const fn hv_vp_set_bank(vp_index: HvVpIndex) -> Option<(usize, u64)> {
    if vp_index >= HV_VP_SET_MAX_VPS {
        return None;
    }
    Some((
        (vp_index / HV_VP_SET_BANK_SIZE) as usize,
        1 << (vp_index % HV_VP_SET_BANK_SIZE),
    ))
}

// ---------------------------------------------------------------------------------------
// VP assist page (TLFS 7.8.7, 10.3.5, 15.8.2)
// ---------------------------------------------------------------------------------------

/// The contents of the VP assist page MSR `HV_X64_MSR_VP_ASSIST_PAGE` (0x4000_0073) and of
/// `HvRegisterVpAssistPage` (TLFS 7.8.7.1).
///
/// Bits 11:1 are RsvdP: keep the value read when writing.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvVpAssistPageMsr {
    /// Enable the overlay, bit 0.
    pub enable: bool,
    /// RsvdP, bits 11:1.
    #[bits(11)]
    _rsvd: u16,
    /// Guest physical page number of the overlay, bits 63:12.
    #[bits(52)]
    pub gpa_page_number: u64,
}

impl HvVpAssistPageMsr {
    /// Mask of the RsvdP bits 11:1 (TLFS 7.8.7.1).
    pub const RESERVED_MASK: u64 = 0xFFE;

    /// `self` with the RsvdP bits taken from `current`, the value last read (TLFS 1.2:
    /// preserve RsvdP bits).
    #[must_use]
    pub const fn preserving_reserved(self, current: Self) -> Self {
        Self::from_bits(
            (self.into_bits() & !Self::RESERVED_MASK) | (current.into_bits() & Self::RESERVED_MASK),
        )
    }
}

/// The APIC assist field at offset 0 of the VP assist page (TLFS 10.3.5 EOI assist,
/// `HV_VIRTUAL_APIC_ASSIST`).
///
/// The guest performs an EOI by atomically clearing bit 0; if it was set, no EOI write to
/// the APIC is needed.
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvVirtualApicAssist {
    /// "No EOI required", bit 0: set by the hypervisor when it injects an edge-triggered
    /// interrupt with no lower-priority interrupt pending.
    pub no_eoi_required: bool,
    /// Reserved to zero, bits 31:1.
    #[bits(31)]
    _rsvd: u32,
}

impl HvVirtualApicAssist {
    /// Mask of the reserved bits 31:1 (TLFS 10.3.5).
    pub const RESERVED_MASK: u32 = !1;
}

/// The current virtualization fault code and parameters of a VP (TLFS 7.8.7.2
/// `HV_VIRTUALIZATION_FAULT_INFORMATION`; 16-byte aligned in the VP assist page).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvVirtualizationFaultInformation {
    /// Parameter 0.
    pub parameter0: u16,
    /// Reserved.
    pub rsvd0: u16,
    /// The fault code.
    pub code: u32,
    /// Parameter 1.
    pub parameter1: u64,
}

const _: () = assert!(size_of::<HvVirtualizationFaultInformation>() == 16);

/// The VP assist page: one 4 KiB overlay per VP for EOI assist, VTL control, nested
/// enlightenments and fault information (TLFS 7.8.7.2; offsets from 112 on are post-TLFS
/// 6.0, Linux `hv_vp_assist_page`).
///
/// The hypervisor writes this page concurrently with the guest: read fields of a live page
/// with volatile or atomic accesses; this type describes the layout.
///
/// | offset | field | source |
/// | --- | --- | --- |
/// | 0 | APIC assist | TLFS 10.3.5 |
/// | 4 | RsvdZ | |
/// | 8 | VTL control: entry reason (4), VINA status (1), RsvdZ (3), return RAX (8), return RCX (8) | TLFS 15.8.2 |
/// | 32 | nested enlightenments control | TLFS 7.8.7.2 |
/// | 40 | enlighten VM entry (BOOLEAN), RsvdZ (7) | TLFS 7.8.7.2 |
/// | 48 | current nested VMCS (GPA) | TLFS 7.8.7.2 |
/// | 56 | synthetic time-unhalted timer expired (BOOLEAN), RsvdZ (7) | TLFS 7.8.7.2, 12.6 |
/// | 64 | virtualization fault information (16), RsvdZ to 112 | TLFS 7.8.7.2; Linux reserves 40 + 8 bytes |
/// | 112 | intercept message (256, an `HV_MESSAGE`) | Linux |
/// | 368 | VTL return actions (256) | Linux |
/// | 624 | RsvdZ to 4096 | |
///
/// The x86 (32-bit) alternative of the VTL return fields (EAX, ECX, EDX at 16, 20, 24) shares
/// the bytes of the VTL control area's return RAX and RCX (TLFS 15.8.2).
#[repr(C)]
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvVpAssistPage {
    /// APIC assist for EOI avoidance (TLFS 10.3.5).
    pub apic_assist: HvVirtualApicAssist,
    /// RsvdZ.
    pub rsvd_z0: u32,
    /// The VTL control area: entry reason, VINA status, VTL return RAX/RCX (TLFS 15.8.2).
    pub vtl_control: HvVpVtlControl,
    /// Nested enlightenments the parent should grant the current nested guest
    /// (TLFS 7.8.7.2).
    pub nested_enlightenments_control: HvNestedEnlightenmentsControl,
    /// Enlightened VM entry (BOOLEAN: 0 or 1) (TLFS 7.8.7.2, 16.5).
    pub enlighten_vm_entry: u8,
    /// RsvdZ.
    pub rsvd_z1: [u8; 7],
    /// GPA of the current nested enlightened VMCS (TLFS 7.8.7.2, 16.5).
    pub current_nested_vmcs: HvGpa,
    /// The synthetic time-unhalted timer expired (BOOLEAN) (TLFS 7.8.7.2, 12.6).
    pub synthetic_time_unhalted_timer_expired: u8,
    /// RsvdZ.
    pub rsvd_z2: [u8; 7],
    /// The current virtualization fault (TLFS 7.8.7.2).
    pub virtualization_fault_information: HvVirtualizationFaultInformation,
    /// RsvdZ: the rest of Linux's 40-byte fault area and its 8 reserved bytes.
    pub rsvd_z3: [u8; 32],
    /// Intercept message delivered to a higher VTL (post-TLFS 6.0; Linux).
    pub intercept_message: [u8; 256],
    /// VTL return actions (post-TLFS 6.0; Linux).
    pub vtl_return_actions: [u8; 256],
    /// RsvdZ up to the end of the page.
    pub rsvd_z4: [u8; 3472],
}

const _: () = assert!(size_of::<HvVpAssistPage>() == HV_PAGE_SIZE);
const _: () = assert!(offset_of!(HvVpAssistPage, apic_assist) == 0);
const _: () = assert!(offset_of!(HvVpAssistPage, vtl_control) == 8);
const _: () = assert!(offset_of!(HvVpAssistPage, nested_enlightenments_control) == 32);
const _: () = assert!(offset_of!(HvVpAssistPage, enlighten_vm_entry) == 40);
const _: () = assert!(offset_of!(HvVpAssistPage, current_nested_vmcs) == 48);
const _: () = assert!(offset_of!(HvVpAssistPage, synthetic_time_unhalted_timer_expired) == 56);
const _: () = assert!(offset_of!(HvVpAssistPage, virtualization_fault_information) == 64);
const _: () = assert!(offset_of!(HvVpAssistPage, virtualization_fault_information) % 16 == 0);
const _: () = assert!(offset_of!(HvVpAssistPage, intercept_message) == 112);
const _: () = assert!(offset_of!(HvVpAssistPage, vtl_return_actions) == 368);
const _: () = assert!(offset_of!(HvVpAssistPage, rsvd_z4) == 624);

// ---------------------------------------------------------------------------------------
// VP runtime register (TLFS 7.9.1)
// ---------------------------------------------------------------------------------------

/// The VP runtime register `HV_X64_MSR_VP_RUNTIME` / `HvRegisterVpRuntime`: time the VP has
/// consumed, guest plus hypervisor time on its behalf, in 100 ns units; read-only
/// (TLFS 7.9.1).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvVpRuntime {
    /// The run time in 100 ns units, bits 63:0.
    #[bits(64)]
    pub time_100ns: u64,
}

impl HvVpRuntime {
    /// The run time in nanoseconds, saturating at `u64::MAX`.
    #[must_use]
    pub const fn as_nanos(self) -> u64 {
        self.time_100ns().saturating_mul(100)
    }
}

// ---------------------------------------------------------------------------------------
// HvCallNotifyLongSpinWait (TLFS 14.4, 14.5.1)
// ---------------------------------------------------------------------------------------

/// The input of `HvCallNotifyLongSpinWait`: how long the caller has spun, as the count of
/// spin iterations (TLFS 14.4 `HV_INPUT_NOTIFY_LONG_SPINWAIT`, 14.5.1).
///
/// Eight bytes, so it is passed in RDX by the fast form. The guest should call it on every
/// multiple of the spin count recommended in CPUID 0x40000004 EBX (TLFS 14.3.1).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvNotifyLongSpinWaitInput {
    /// The accumulated spin count.
    pub long_spin_wait_count: u32,
    /// RsvdZ.
    pub rsvd_z: u32,
}

const _: () = assert!(size_of::<HvNotifyLongSpinWaitInput>() == 8);
const _: () = assert!(offset_of!(HvNotifyLongSpinWaitInput, rsvd_z) == 4);
