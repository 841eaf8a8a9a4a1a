//! Virtual MMU: address-space switch, TLB flush and GVA translation hypercall inputs
//! (TLFS 9), and the output of `HvExtCallGetBootZeroedMemory` (TLFS 9.4.7).
//!
//! # Flush calls
//!
//! | call | code | input |
//! | --- | --- | --- |
//! | `HvCallFlushVirtualAddressSpace` | 0x0002 | [`HvFlushVirtualAddressSpaceInput`] |
//! | `HvCallFlushVirtualAddressList` (rep) | 0x0003 | the same header, then one GVA range per rep |
//! | `HvCallFlushVirtualAddressSpaceEx` | 0x0013 | [`HvFlushVirtualAddressSpaceExInput`], then the VP set's bank masks |
//! | `HvCallFlushVirtualAddressListEx` (rep) | 0x0014 | the same, then one GVA range per rep |
//!
//! In the `Ex` forms the bank masks are the variable header: its size (TLFS 3.7.1) is the
//! number of banks ([`crate::vp::HvVpSetHeader::bank_count`]), and the rep list starts after
//! them.
//!
//! # GVA ranges
//!
//! A list element names a page-aligned GVA and a count of additional pages in its low bits.
//! Two formats exist, selected per call by [`HvFlushFlags::use_extended_range_format`]:
//!
//! * basic (TLFS 9.4.4): [`HvGvaRange`], page number in 63:12, 0–4095 additional pages;
//! * extended (post-TLFS 6.0; Linux `HV_FLUSH_USE_EXTENDED_RANGE_FORMAT`, OpenVMM `hvdef`
//!   `HvGvaRangeExtended`): bit 11 says whether the entry is a large-page range. Small:
//!   [`HvGvaRangeExtended`], page number in 63:12, 0–2047 additional 4 KiB pages. Large:
//!   [`HvGvaRangeExtendedLargePage`], bit 12 selects 2 MiB (0) or 1 GiB (1) pages, 20:13
//!   reserved, large-page number in 63:21, 0–2047 additional large pages. The extended format
//!   is available when CPUID 0x40000003 EDX bit 14 (`ExtendedGvaRangesForFlushVirtualAddressListAvailable`,
//!   TLFS 2.4.4) is set.

use bitfield_struct::bitfield;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::vp::HvVpSetHeader;
use crate::{HV_PAGE_SHIFT, HvGpa, HvGpaPageNumber, HvGva, HvPartitionId, HvVpIndex};

/// A virtual address space id: on x64 the CR3 value (TLFS 9.3.1 `HV_ADDRESS_SPACE_ID`).
pub type HvAddressSpaceId = u64;

/// A guest virtual page number: a GVA shifted right by [`HV_PAGE_SHIFT`]
/// (TLFS 9.4.6 `HV_GVA_PAGE_NUMBER`).
pub type HvGvaPageNumber = u64;

/// Flags of the virtual address flush hypercalls (TLFS 9.3.2 `HV_FLUSH_FLAGS`, 9.4.2, 9.4.4).
///
/// The TLFS 6.0 text lost the values of 9.3.2; they are bits 0–2 as in the TLFS web
/// edition and Linux `hyperv-tlfs.h`. Bit 3 is post-TLFS 6.0 (Linux). All other bits are
/// reserved and must be zero.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvFlushFlags {
    /// `HV_FLUSH_ALL_PROCESSORS`, bit 0: flush every VP; the processor mask or set is
    /// ignored.
    pub all_processors: bool,
    /// `HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES`, bit 1: flush every address space; the address
    /// space id is ignored.
    pub all_virtual_address_spaces: bool,
    /// `HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY`, bit 2: only non-global mappings need flushing.
    /// Only for the address-space calls; the list calls treat it as invalid (TLFS 9.4.4).
    pub non_global_mappings_only: bool,
    /// `HV_FLUSH_USE_EXTENDED_RANGE_FORMAT`, bit 3: the list elements use the extended GVA
    /// range format (post-TLFS 6.0; Linux `hyperv-tlfs.h`).
    pub use_extended_range_format: bool,
    /// Reserved, bits 63:4.
    #[bits(60)]
    _rsvd: u64,
}

impl HvFlushFlags {
    /// Mask of the reserved bits 63:4.
    pub const RESERVED_MASK: u64 = !0xF;
}

/// `HV_FLUSH_ALL_PROCESSORS` (TLFS 9.3.2).
pub const HV_FLUSH_ALL_PROCESSORS: u64 = 1 << 0;
/// `HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES` (TLFS 9.3.2).
pub const HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES: u64 = 1 << 1;
/// `HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY` (TLFS 9.3.2).
pub const HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY: u64 = 1 << 2;
/// `HV_FLUSH_USE_EXTENDED_RANGE_FORMAT` (post-TLFS 6.0; Linux `hyperv-tlfs.h`).
pub const HV_FLUSH_USE_EXTENDED_RANGE_FORMAT: u64 = 1 << 3;

/// The input of `HvCallSwitchVirtualAddressSpace` (TLFS 9.4.1): the new CR3; the call is
/// fast, so the value travels in RDX.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvSwitchVirtualAddressSpaceInput {
    /// The new address space.
    pub address_space: HvAddressSpaceId,
}

const _: () = assert!(size_of::<HvSwitchVirtualAddressSpaceInput>() == 8);

/// The input of `HvCallFlushVirtualAddressSpace` and the input header of
/// `HvCallFlushVirtualAddressList` (TLFS 9.4.2, 9.4.4).
///
/// Bit `i` of the processor mask selects VP index `i`, so this form reaches VPs 0–63 only;
/// the `Ex` forms take a VP set.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvFlushVirtualAddressSpaceInput {
    /// The address space (CR3) to flush, offset 0.
    pub address_space: HvAddressSpaceId,
    /// Flush flags, offset 8.
    pub flags: HvFlushFlags,
    /// The VPs to flush, offset 16.
    pub processor_mask: u64,
}

const _: () = assert!(size_of::<HvFlushVirtualAddressSpaceInput>() == 24);
const _: () = assert!(offset_of!(HvFlushVirtualAddressSpaceInput, flags) == 8);
const _: () = assert!(offset_of!(HvFlushVirtualAddressSpaceInput, processor_mask) == 16);

/// The fixed input header of `HvCallFlushVirtualAddressSpaceEx` and
/// `HvCallFlushVirtualAddressListEx` (TLFS 9.4.3, 9.4.5).
///
/// The VP set starts at offset 16; its bank masks follow this header as the variable
/// header, then (list form) the GVA ranges.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable)]
pub struct HvFlushVirtualAddressSpaceExInput {
    /// The address space (CR3) to flush, offset 0.
    pub address_space: HvAddressSpaceId,
    /// Flush flags, offset 8.
    pub flags: HvFlushFlags,
    /// Format and valid-banks mask of the VP set, offset 16.
    pub processor_set: HvVpSetHeader,
}

const _: () = assert!(size_of::<HvFlushVirtualAddressSpaceExInput>() == 32);
const _: () = assert!(offset_of!(HvFlushVirtualAddressSpaceExInput, flags) == 8);
const _: () = assert!(offset_of!(HvFlushVirtualAddressSpaceExInput, processor_set) == 16);

/// A GVA range list element in the basic format (TLFS 9.4.4 `HV_GVA_RANGE`): the GVA page
/// number in bits 63:12 and the number of pages beyond the first in bits 11:0, so one entry
/// covers 1 to 4096 pages.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvGvaRange {
    /// Pages in the range beyond the first, bits 11:0.
    #[bits(12)]
    pub additional_pages: u16,
    /// GVA page number of the first page, bits 63:12.
    #[bits(52)]
    pub gva_page_number: u64,
}

/// The most 4 KiB pages one basic-format range covers (TLFS 9.4.4).
pub const HV_GVA_RANGE_MAX_PAGES: u64 = 4096;

impl HvGvaRange {
    /// The range of `pages` pages starting at the page that holds `gva`; `None` when `pages`
    /// is 0 or above [`HV_GVA_RANGE_MAX_PAGES`].
    #[must_use]
    pub const fn pages(gva: HvGva, pages: u64) -> Option<Self> {
        if pages == 0 || pages > HV_GVA_RANGE_MAX_PAGES {
            return None;
        }
        Some(Self::from_bits(
            (gva >> HV_PAGE_SHIFT) << HV_PAGE_SHIFT | (pages - 1),
        ))
    }

    /// Number of pages the range covers (1–4096).
    #[must_use]
    pub const fn page_count(self) -> u64 {
        self.additional_pages() as u64 + 1
    }
}

/// A small-page GVA range list element in the extended format: bit 11 clear, GVA page
/// number in 63:12, additional 4 KiB pages in 10:0 (post-TLFS 6.0; OpenVMM `hvdef`
/// `HvGvaRangeExtended`, used with [`HvFlushFlags::use_extended_range_format`]).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvGvaRangeExtended {
    /// Pages in the range beyond the first, bits 10:0.
    #[bits(11)]
    pub additional_pages: u16,
    /// The entry is a large-page range ([`HvGvaRangeExtendedLargePage`]), bit 11.
    pub large_page: bool,
    /// GVA page number of the first page, bits 63:12.
    #[bits(52)]
    pub gva_page_number: u64,
}

/// A large-page GVA range list element in the extended format: bit 11 set, page size in
/// bit 12, large-page number in 63:21 (post-TLFS 6.0; OpenVMM `hvdef`
/// `HvGvaRangeExtendedLargePage`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvGvaRangeExtendedLargePage {
    /// Large pages in the range beyond the first, bits 10:0.
    #[bits(11)]
    pub additional_pages: u16,
    /// Set: this is a large-page range, bit 11.
    pub large_page: bool,
    /// Page size: clear for 2 MiB, set for 1 GiB, bit 12.
    pub page_size_1gb: bool,
    /// Reserved, bits 20:13.
    #[bits(8)]
    _rsvd: u8,
    /// GVA of the first page shifted right by 21 (2 MiB units), bits 63:21.
    #[bits(43)]
    pub gva_large_page_number: u64,
}

impl HvGvaRangeExtendedLargePage {
    /// Mask of the reserved bits 20:13.
    pub const RESERVED_MASK: u64 = 0x1F_E000;
}

/// The most pages (4 KiB or large) one extended-format range covers: 11 bits of additional
/// pages (post-TLFS 6.0; OpenVMM `hvdef`).
pub const HV_GVA_RANGE_EXTENDED_MAX_PAGES: u64 = 2048;

/// Bytes covered by the largest basic range: 4096 pages of 4 KiB, 16 MiB (TLFS 9.4.4).
pub const HV_GVA_RANGE_MAX_BYTES: u64 = HV_GVA_RANGE_MAX_PAGES << HV_PAGE_SHIFT;

/// Bytes covered by the largest extended small-page range: 2048 pages of 4 KiB, 8 MiB.
pub const HV_GVA_RANGE_EXTENDED_MAX_BYTES: u64 = HV_GVA_RANGE_EXTENDED_MAX_PAGES << HV_PAGE_SHIFT;

/// Bytes covered by the largest extended large-page range: 2048 pages of 1 GiB, 2 TiB.
pub const HV_GVA_RANGE_EXTENDED_LARGE_MAX_BYTES: u64 = HV_GVA_RANGE_EXTENDED_MAX_PAGES << 30;

/// Number of list elements that fit an input page after the 24-byte header of
/// `HvCallFlushVirtualAddressList` (TLFS 3.6, 9.4.4).
pub const HV_FLUSH_VIRTUAL_ADDRESS_LIST_MAX_REPS_PER_PAGE: usize =
    (crate::HV_PAGE_SIZE - size_of::<HvFlushVirtualAddressSpaceInput>()) / 8;

const _: () = assert!(HV_FLUSH_VIRTUAL_ADDRESS_LIST_MAX_REPS_PER_PAGE == 509);

// ---------------------------------------------------------------------------------------
// HvCallTranslateVirtualAddress (TLFS 9.3.4, 9.4.6)
// ---------------------------------------------------------------------------------------

/// The control flags of `HvCallTranslateVirtualAddress` (TLFS 9.3.4
/// `HV_TRANSLATE_GVA_CONTROL_FLAGS`).
///
/// The TLFS 6.0 text lost the value of `HV_TRANSLATE_GVA_VALIDATE_READ` and shifted the
/// others one line; the values are 0x01, 0x02, 0x04, 0x08, 0x10, 0x20 as the control mask
/// 0x3F and the TLFS web edition give.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvTranslateGvaControlFlags {
    /// `HV_TRANSLATE_GVA_VALIDATE_READ`, bit 0.
    pub validate_read: bool,
    /// `HV_TRANSLATE_GVA_VALIDATE_WRITE`, bit 1.
    pub validate_write: bool,
    /// `HV_TRANSLATE_GVA_VALIDATE_EXECUTE`, bit 2.
    pub validate_execute: bool,
    /// `HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT`, bit 3: walk as if at CPL 0.
    pub privilege_exempt: bool,
    /// `HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS`, bit 4: set accessed/dirty bits.
    pub set_page_table_bits: bool,
    /// `HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT`, bit 5: set `TlbFlushInhibit` on success.
    pub tlb_flush_inhibit: bool,
    /// Reserved, bits 55:6.
    #[bits(50)]
    _rsvd: u64,
    /// The VTL whose translation is used, bits 63:56 (`HV_TRANSLATE_GVA_INPUT_VTL_MASK`).
    #[bits(8, from = crate::vp::HvInputVtl::from_bits, into = crate::vp::HvInputVtl::into_bits)]
    pub input_vtl: crate::vp::HvInputVtl,
}

impl HvTranslateGvaControlFlags {
    /// Mask of the reserved bits: 55:6, and 63:61, the RsvdZ bits 7:5 of the input VTL.
    pub const RESERVED_MASK: u64 = 0xE0FF_FFFF_FFFF_FFC0;
}

/// `HV_TRANSLATE_GVA_CONTROL_MASK`: the defined control flag bits (TLFS 9.3.4).
pub const HV_TRANSLATE_GVA_CONTROL_MASK: u64 = 0x3F;

/// `HV_TRANSLATE_GVA_INPUT_VTL_MASK`: the input VTL byte (TLFS 9.3.4).
pub const HV_TRANSLATE_GVA_INPUT_VTL_MASK: u64 = 0xFF00_0000_0000_0000;

open_enum! {
    /// The result code of a GVA translation (TLFS 9.3.4 `HV_TRANSLATE_GVA_RESULT_CODE`).
    pub struct HvTranslateGvaResultCode(u32) {
        /// The translation succeeded; the GPA page is valid.
        HvTranslateGvaSuccess = 0,
        /// A table entry is not present, or the GVA is out of range for the paging mode.
        HvTranslateGvaPageNotPresent = 1,
        /// The access violates the page protections or the privilege level.
        HvTranslateGvaPrivilegeViolation = 2,
        /// A reserved bit is set in a table entry.
        HvTranslateGvaInvalidPageTableFlags = 3,
        /// A page table GPA is unmapped; the GPA page names it.
        HvTranslateGvaGpaUnmapped = 4,
        /// A page table GPA is not readable; the GPA page names it.
        HvTranslateGvaGpaNoReadAccess = 5,
        /// A page table GPA is not writable; the GPA page names it.
        HvTranslateGvaGpaNoWriteAccess = 6,
        /// The access hits an overlay page that does not allow it; the GPA page names it.
        HvTranslateGvaGpaIllegalOverlayAccess = 7,
        /// A higher VTL or a nested hypervisor intercepted the access.
        HvTranslateGvaIntercept = 8,
    }
}

impl HvTranslateGvaResultCode {
    /// Whether the GPA page output names the page that could not be accessed (codes 4–7,
    /// TLFS 9.4.6).
    #[must_use]
    pub const fn reports_failing_gpa(self) -> bool {
        matches!(self.0, 4..=7)
    }
}

open_enum! {
    /// A memory cache type (TLFS 9.3.3 `HV_CACHE_TYPE`).
    pub struct HvCacheType(u8) {
        /// Uncached (UC).
        HvCacheTypeX64Uncached = 0,
        /// Write combining (WC).
        HvCacheTypeX64WriteCombining = 1,
        /// Write through (WT).
        HvCacheTypeX64WriteThrough = 4,
        /// Write protected (WP).
        HvCacheTypeX64WriteProtected = 5,
        /// Write back (WB).
        HvCacheTypeX64WriteBack = 6,
    }
}

/// The translation result of `HvCallTranslateVirtualAddress` (TLFS 9.3.4
/// `HV_TRANSLATE_GVA_RESULT`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvTranslateGvaResult {
    /// The result code, bits 31:0.
    #[bits(32, from = HvTranslateGvaResultCode::new, into = HvTranslateGvaResultCode::get)]
    pub result_code: HvTranslateGvaResultCode,
    /// Effective cache type of the access, bits 39:32.
    #[bits(8, from = HvCacheType::new, into = HvCacheType::get)]
    pub cache_type: HvCacheType,
    /// The GPA is a hypervisor overlay page, bit 40.
    pub overlay_page: bool,
    /// Reserved, bits 63:41.
    #[bits(23)]
    _rsvd: u32,
}

impl HvTranslateGvaResult {
    /// Mask of the reserved bits 63:41.
    pub const RESERVED_MASK: u64 = 0xFFFF_FE00_0000_0000;
}

/// The input of `HvCallTranslateVirtualAddress` (TLFS 9.4.6).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvTranslateVirtualAddressInput {
    /// The partition, offset 0.
    pub partition_id: HvPartitionId,
    /// The VP whose state is used, offset 8.
    pub vp_index: HvVpIndex,
    /// Padding, offset 12.
    pub rsvd: u32,
    /// Control flags, offset 16.
    pub control_flags: HvTranslateGvaControlFlags,
    /// The GVA page to translate, offset 24.
    pub gva_page: HvGvaPageNumber,
}

const _: () = assert!(size_of::<HvTranslateVirtualAddressInput>() == 32);
const _: () = assert!(offset_of!(HvTranslateVirtualAddressInput, vp_index) == 8);
const _: () = assert!(offset_of!(HvTranslateVirtualAddressInput, control_flags) == 16);
const _: () = assert!(offset_of!(HvTranslateVirtualAddressInput, gva_page) == 24);

/// The output of `HvCallTranslateVirtualAddress` (TLFS 9.4.6).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvTranslateVirtualAddressOutput {
    /// Result code and flags, offset 0.
    pub translation_result: HvTranslateGvaResult,
    /// The translated GPA page, or the page that could not be accessed, offset 8.
    pub gpa_page: HvGpaPageNumber,
}

const _: () = assert!(size_of::<HvTranslateVirtualAddressOutput>() == 16);
const _: () = assert!(offset_of!(HvTranslateVirtualAddressOutput, gpa_page) == 8);

/// The output of `HvExtCallGetBootZeroedMemory`: a region of guest memory the hypervisor
/// zeroed when it created the partition (TLFS 9.4.7).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvExtGetBootZeroedMemoryOutput {
    /// GPA where the zeroed region starts, offset 0.
    pub start_gpa: HvGpa,
    /// Number of pages in the region, offset 8.
    pub page_count: u64,
}

const _: () = assert!(size_of::<HvExtGetBootZeroedMemoryOutput>() == 16);
const _: () = assert!(offset_of!(HvExtGetBootZeroedMemoryOutput, page_count) == 8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_flag_constants_match_the_bitfield() {
        let all = HvFlushFlags::new()
            .with_all_processors(true)
            .with_all_virtual_address_spaces(true)
            .with_non_global_mappings_only(true)
            .with_use_extended_range_format(true);
        assert_eq!(
            all.into_bits(),
            HV_FLUSH_ALL_PROCESSORS
                | HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES
                | HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY
                | HV_FLUSH_USE_EXTENDED_RANGE_FORMAT
        );
    }

    #[test]
    fn basic_gva_range_encodes_page_and_count() {
        let range = HvGvaRange::pages(0xFFFF_A789_D401_2345, 3).unwrap();
        assert_eq!(range.into_bits(), 0xFFFF_A789_D401_2002);
        assert_eq!(range.page_count(), 3);
        assert_eq!(range.gva_page_number(), 0xF_FFFA_789D_4012);
        assert!(HvGvaRange::pages(0, 0).is_none());
        assert!(HvGvaRange::pages(0, 4097).is_none());
        assert_eq!(HvGvaRange::pages(0, 4096).unwrap().into_bits(), 0xFFF);
    }

    #[test]
    fn extended_ranges_share_the_large_page_bit() {
        let large = HvGvaRangeExtendedLargePage::new()
            .with_large_page(true)
            .with_page_size_1gb(true)
            .with_additional_pages(1)
            .with_gva_large_page_number(0x4000_0000 >> 21);
        assert_eq!(large.into_bits(), 0x4000_0000 | 1 << 12 | 1 << 11 | 1);
        assert!(HvGvaRangeExtended::from_bits(large.into_bits()).large_page());
        assert_eq!(HV_GVA_RANGE_EXTENDED_LARGE_MAX_BYTES, 2 << 40);
        assert_eq!(HV_GVA_RANGE_MAX_BYTES, 16 << 20);
    }

    #[test]
    fn translate_result_decodes_code_cache_type_and_overlay() {
        let result = HvTranslateGvaResult::from_bits(0x0000_0106_0000_0005);
        assert_eq!(
            result.result_code(),
            HvTranslateGvaResultCode::HvTranslateGvaGpaNoReadAccess
        );
        assert_eq!(result.cache_type(), HvCacheType::HvCacheTypeX64WriteBack);
        assert!(result.overlay_page());
        assert!(result.result_code().reports_failing_gpa());
        assert!(!HvTranslateGvaResultCode::HvTranslateGvaIntercept.reports_failing_gpa());
    }

    #[test]
    fn translate_control_masks_match_the_bitfield() {
        let flags = HvTranslateGvaControlFlags::new()
            .with_validate_read(true)
            .with_validate_write(true)
            .with_validate_execute(true)
            .with_privilege_exempt(true)
            .with_set_page_table_bits(true)
            .with_tlb_flush_inhibit(true);
        assert_eq!(flags.into_bits(), HV_TRANSLATE_GVA_CONTROL_MASK);
        let vtl =
            HvTranslateGvaControlFlags::new().with_input_vtl(crate::vp::HvInputVtl::target(1));
        assert_eq!(vtl.into_bits(), 0x1100_0000_0000_0000);
        assert_eq!(vtl.into_bits() & !HV_TRANSLATE_GVA_INPUT_VTL_MASK, 0);
    }
}
