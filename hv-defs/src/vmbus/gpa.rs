//! GPA ranges: how VMBus describes guest memory, in GPADL messages and GPA-direct packets.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::HV_PAGE_SIZE;

/// The fixed part of a GPA range (Linux `hyperv.h` `struct gpa_range`; QEMU `vmbus-proto.h`
/// `vmbus_gpa_range`; OpenVMM `vmbus_ring::gparange`).
///
/// A range describes `byte_count` bytes that start `byte_offset` bytes into the first of
/// the pages whose page numbers (`HV_GPA_PAGE_NUMBER`, TLFS 1.7) follow it as little-endian
/// `u64`s. The number of page numbers is not stored: it is the number of pages the bytes
/// span, [`VmbusGpaRange::pfn_count`].
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VmbusGpaRange {
    /// Length of the described memory in bytes.
    pub byte_count: u32,
    /// Offset of the first byte within the first page; below [`HV_PAGE_SIZE`].
    pub byte_offset: u32,
}

const _: () = assert!(size_of::<VmbusGpaRange>() == 8);

/// Size of one page number in a PFN array.
pub const VMBUS_PFN_SIZE: usize = size_of::<u64>();

impl VmbusGpaRange {
    /// A range of `byte_count` bytes starting `byte_offset` bytes into its first page.
    #[must_use]
    pub const fn new(byte_count: u32, byte_offset: u32) -> Self {
        Self {
            byte_count,
            byte_offset,
        }
    }

    /// How many page numbers follow this header: the pages spanned by `byte_offset ..
    /// byte_offset + byte_count`, zero for an empty range (Linux `hyperv.h`: "the number of
    /// PFNs ... is defined by the number of pages that would be spanned by ByteCount and
    /// ByteOffset").
    ///
    /// `None` when `byte_offset` is not within the first page, which no sender produces.
    #[must_use]
    pub const fn pfn_count(self) -> Option<u64> {
        if self.byte_offset as usize >= HV_PAGE_SIZE {
            return None;
        }
        if self.byte_count == 0 {
            return Some(0);
        }
        let end = self.byte_offset as u64 + self.byte_count as u64;
        Some(end.div_ceil(HV_PAGE_SIZE as u64))
    }

    /// Encoded size of a range with `pfn_count` page numbers: the 8-byte header plus 8 bytes
    /// per page number (Linux `channel.c` `create_gpadl_header` sets `range_buflen` to this
    /// for a single range).
    #[must_use]
    pub const fn encoded_size(pfn_count: u32) -> u64 {
        size_of::<Self>() as u64 + pfn_count as u64 * VMBUS_PFN_SIZE as u64
    }
}
