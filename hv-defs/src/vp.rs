//! Virtual processor management: VP register hypercalls, VP sets, the initial VP context and
//! the VP assist page (TLFS 7).

use bitfield_struct::bitfield;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::HvVtl;

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
