//! Ring-buffer packets: building the ones the guest sends, checking the ones it receives.
//!
//! A packet is a [`VmbusPacketDescriptor`], the extra header its type needs, and the payload
//! padded to a multiple of 8 bytes (hv-defs `vmbus::packet`). This module builds four kinds
//! for sending (in-band data, completions, GPA-direct and transfer-page packets) and, on
//! receipt, checks every offset and count against the packet's own length before handing out
//! views of the parts.

use hv_defs::vmbus::{
    VMBUS_PACKET_ALIGNMENT, VMBUS_PFN_SIZE, VMBUS_RING_TRAILER_SIZE, VmbusGpaDirectHeader,
    VmbusGpaRange, VmbusPacketDescriptor, VmbusPacketFlags, VmbusPacketType,
    VmbusTransferPageHeader, VmbusTransferPageRange,
};
use zerocopy::IntoBytes;

use super::shared::{OutOfBounds, SharedBytes};

const DESCRIPTOR_SIZE: usize = size_of::<VmbusPacketDescriptor>();
const ZERO_PAD: [u8; VMBUS_PACKET_ALIGNMENT] = [0; VMBUS_PACKET_ALIGNMENT];

/// One GPA range of a GPA-direct packet to send: the range and its page numbers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GpaDirectRange<'p> {
    /// Byte count and offset into the first page.
    pub range: VmbusGpaRange,
    /// The page numbers; exactly [`VmbusGpaRange::pfn_count`] of them.
    pub pfns: &'p [u64],
}

/// The kind of a packet to send, with the extra header it carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SendKind<'p> {
    /// [`VmbusPacketType::DATA_IN_BAND`]: the payload is the data.
    InBand,
    /// [`VmbusPacketType::COMPLETION`]: answers the packet with the same transaction id.
    Completion,
    /// [`VmbusPacketType::DATA_USING_GPA_DIRECT`]: data in guest pages named by the ranges.
    GpaDirect(&'p [GpaDirectRange<'p>]),
    /// [`VmbusPacketType::DATA_USING_TRANSFER_PAGES`]: data in ranges of a transfer page set.
    TransferPages {
        /// The transfer page set.
        set_id: u16,
        /// Whether the sender owns the set.
        sender_owns_set: bool,
        /// The ranges.
        ranges: &'p [VmbusTransferPageRange],
    },
}

/// A packet to write to a ring.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutgoingPacket<'p> {
    /// Kind and extra header.
    pub kind: SendKind<'p>,
    /// Packet flags (completion requested).
    pub flags: VmbusPacketFlags,
    /// Transaction id, echoed by a completion.
    pub transaction_id: u64,
    /// The payload; padded with zeros to a multiple of 8 bytes in the ring.
    pub payload: &'p [u8],
}

/// Sizes of a packet in the ring, computed once and checked.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Layout {
    header_len: usize,
    payload_pad: usize,
    length8: u16,
}

impl Layout {
    /// Bytes of ring the packet takes, trailer included.
    pub(crate) const fn ring_size(&self) -> u32 {
        self.length8 as u32 * VMBUS_PACKET_ALIGNMENT as u32 + VMBUS_RING_TRAILER_SIZE as u32
    }
}

impl<'p> OutgoingPacket<'p> {
    /// An in-band data packet.
    #[must_use]
    pub const fn in_band(
        payload: &'p [u8],
        transaction_id: u64,
        completion_requested: bool,
    ) -> Self {
        Self {
            kind: SendKind::InBand,
            flags: VmbusPacketFlags::new().with_completion_requested(completion_requested),
            transaction_id,
            payload,
        }
    }

    /// A completion of the packet with `transaction_id`.
    #[must_use]
    pub const fn completion(payload: &'p [u8], transaction_id: u64) -> Self {
        Self {
            kind: SendKind::Completion,
            flags: VmbusPacketFlags::new(),
            transaction_id,
            payload,
        }
    }

    /// The packet type this kind is sent as.
    #[must_use]
    pub const fn packet_type(&self) -> VmbusPacketType {
        match self.kind {
            SendKind::InBand => VmbusPacketType::DATA_IN_BAND,
            SendKind::Completion => VmbusPacketType::COMPLETION,
            SendKind::GpaDirect(_) => VmbusPacketType::DATA_USING_GPA_DIRECT,
            SendKind::TransferPages { .. } => VmbusPacketType::DATA_USING_TRANSFER_PAGES,
        }
    }

    /// Checks the packet and computes its sizes; `None` when it cannot be encoded (too long
    /// for the 16-bit length in 8-byte units, or a GPA range whose page list has the wrong
    /// length).
    pub(crate) fn layout(&self) -> Option<Layout> {
        let header_len = match self.kind {
            SendKind::InBand | SendKind::Completion => 0,
            SendKind::GpaDirect(ranges) => {
                u32::try_from(ranges.len()).ok()?;
                let mut len = size_of::<VmbusGpaDirectHeader>();
                for r in ranges {
                    if r.range.pfn_count()? != r.pfns.len() as u64 {
                        return None;
                    }
                    len = len
                        .checked_add(size_of::<VmbusGpaRange>())?
                        .checked_add(r.pfns.len().checked_mul(VMBUS_PFN_SIZE)?)?;
                }
                len
            }
            SendKind::TransferPages { ranges, .. } => {
                u32::try_from(ranges.len()).ok()?;
                size_of::<VmbusTransferPageHeader>().checked_add(
                    ranges
                        .len()
                        .checked_mul(size_of::<VmbusTransferPageRange>())?,
                )?
            }
        };
        let payload_pad =
            self.payload.len().next_multiple_of(VMBUS_PACKET_ALIGNMENT) - self.payload.len();
        let total = DESCRIPTOR_SIZE
            .checked_add(header_len)?
            .checked_add(self.payload.len())?
            .checked_add(payload_pad)?;
        let length8 = u16::try_from(total / VMBUS_PACKET_ALIGNMENT).ok()?;
        // The extra headers are whole 8-byte units, so the payload offset is too.
        u16::try_from((DESCRIPTOR_SIZE + header_len) / VMBUS_PACKET_ALIGNMENT).ok()?;
        Some(Layout {
            header_len,
            payload_pad,
            length8,
        })
    }

    /// Hands the packet's bytes, in order, to `put` (the ring appends the trailer).
    pub(crate) fn for_each_piece(&self, layout: &Layout, mut put: impl FnMut(&[u8])) {
        let descriptor = VmbusPacketDescriptor {
            packet_type: self.packet_type(),
            data_offset8: ((DESCRIPTOR_SIZE + layout.header_len) / VMBUS_PACKET_ALIGNMENT) as u16,
            length8: layout.length8,
            flags: self.flags,
            transaction_id: self.transaction_id,
        };
        put(descriptor.as_bytes());
        match self.kind {
            SendKind::InBand | SendKind::Completion => {}
            SendKind::GpaDirect(ranges) => {
                let header = VmbusGpaDirectHeader {
                    rsvd: 0,
                    range_count: ranges.len() as u32,
                };
                put(header.as_bytes());
                for r in ranges {
                    put(r.range.as_bytes());
                    put(r.pfns.as_bytes());
                }
            }
            SendKind::TransferPages {
                set_id,
                sender_owns_set,
                ranges,
            } => {
                let header = VmbusTransferPageHeader {
                    transfer_page_set_id: set_id,
                    sender_owns_set: u8::from(sender_owns_set),
                    rsvd: 0,
                    range_count: ranges.len() as u32,
                };
                put(header.as_bytes());
                put(ranges.as_bytes());
            }
        }
        put(self.payload);
        put(&ZERO_PAD[..layout.payload_pad]);
    }
}

/// What is wrong with a received packet's extra header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PacketError {
    /// The payload offset is inside the descriptor or beyond the packet, or the length does
    /// not match the bytes.
    BadOffsets {
        /// Payload offset in 8-byte units.
        data_offset8: u16,
        /// Packet length in 8-byte units.
        length8: u16,
    },
    /// The extra header is shorter than its fixed part.
    HeaderTooShort {
        /// The packet type.
        packet_type: VmbusPacketType,
        /// Bytes between the descriptor and the payload.
        header_len: u32,
    },
    /// The ranges the header announces do not fit between the descriptor and the payload.
    RangesOverflow {
        /// The packet type.
        packet_type: VmbusPacketType,
        /// The announced range count.
        range_count: u32,
    },
    /// A GPA range's byte offset is not inside its first page.
    BadGpaRange(VmbusGpaRange),
}

impl core::fmt::Display for PacketError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadOffsets {
                data_offset8,
                length8,
            } => write!(
                f,
                "payload offset {data_offset8} and length {length8} (8-byte units) are inconsistent"
            ),
            Self::HeaderTooShort {
                packet_type,
                header_len,
            } => write!(
                f,
                "{packet_type:?} packet has a {header_len}-byte extra header, too short"
            ),
            Self::RangesOverflow {
                packet_type,
                range_count,
            } => write!(
                f,
                "{packet_type:?} packet announces {range_count} ranges that overflow its header"
            ),
            Self::BadGpaRange(r) => write!(
                f,
                "GPA range offset {} is not inside the first page",
                r.byte_offset
            ),
        }
    }
}

impl core::error::Error for PacketError {}

/// A received packet, checked: its parts are views into the ring (or the scratch copy).
#[derive(Copy, Clone, Debug)]
pub struct Packet<'r> {
    descriptor: VmbusPacketDescriptor,
    header: SharedBytes<'r>,
    payload: SharedBytes<'r>,
    kind: PacketKind<'r>,
}

/// The type-specific part of a received packet.
#[derive(Copy, Clone, Debug)]
pub enum PacketKind<'r> {
    /// [`VmbusPacketType::DATA_IN_BAND`].
    InBand,
    /// [`VmbusPacketType::COMPLETION`].
    Completion,
    /// [`VmbusPacketType::DATA_USING_GPA_DIRECT`] with its ranges.
    GpaDirect(GpaRanges<'r>),
    /// [`VmbusPacketType::DATA_USING_TRANSFER_PAGES`] with its header and ranges.
    TransferPages(TransferPages<'r>),
    /// Any other type; the extra header is available raw from [`Packet::extra_header`].
    Other,
}

impl<'r> Packet<'r> {
    /// Checks `bytes` (the whole packet, trailer excluded) against `descriptor`, which the
    /// caller copied out of the ring once.
    pub(crate) fn parse(
        descriptor: VmbusPacketDescriptor,
        bytes: SharedBytes<'r>,
    ) -> Result<Self, PacketError> {
        let data_offset = descriptor.data_offset() as usize;
        let bad_offsets = PacketError::BadOffsets {
            data_offset8: descriptor.data_offset8,
            length8: descriptor.length8,
        };
        if descriptor.payload_length().is_none() || descriptor.length() as usize != bytes.len() {
            return Err(bad_offsets);
        }
        let header = bytes
            .slice(DESCRIPTOR_SIZE, data_offset - DESCRIPTOR_SIZE)
            .map_err(|_| bad_offsets)?;
        let payload = bytes
            .slice(data_offset, bytes.len() - data_offset)
            .map_err(|_| bad_offsets)?;
        let kind = match descriptor.packet_type {
            VmbusPacketType::DATA_IN_BAND => PacketKind::InBand,
            VmbusPacketType::COMPLETION => PacketKind::Completion,
            VmbusPacketType::DATA_USING_GPA_DIRECT => {
                PacketKind::GpaDirect(GpaRanges::parse(descriptor.packet_type, header)?)
            }
            VmbusPacketType::DATA_USING_TRANSFER_PAGES => {
                PacketKind::TransferPages(TransferPages::parse(descriptor.packet_type, header)?)
            }
            _ => PacketKind::Other,
        };
        Ok(Self {
            descriptor,
            header,
            payload,
            kind,
        })
    }

    /// The descriptor, as read (once) from the ring.
    #[must_use]
    pub const fn descriptor(&self) -> &VmbusPacketDescriptor {
        &self.descriptor
    }

    /// The packet type.
    #[must_use]
    pub const fn packet_type(&self) -> VmbusPacketType {
        self.descriptor.packet_type
    }

    /// The transaction id.
    #[must_use]
    pub const fn transaction_id(&self) -> u64 {
        self.descriptor.transaction_id
    }

    /// The flags.
    #[must_use]
    pub const fn flags(&self) -> VmbusPacketFlags {
        self.descriptor.flags
    }

    /// The type-specific part.
    #[must_use]
    pub const fn kind(&self) -> &PacketKind<'r> {
        &self.kind
    }

    /// The bytes between the descriptor and the payload.
    #[must_use]
    pub const fn extra_header(&self) -> SharedBytes<'r> {
        self.header
    }

    /// The payload, including the sender's padding to 8 bytes.
    #[must_use]
    pub const fn payload(&self) -> SharedBytes<'r> {
        self.payload
    }
}

/// The GPA ranges of a received GPA-direct packet.
///
/// The ranges were checked to fit the extra header when the packet was read. Iterating reads
/// them again from the packet; if the host rewrote them meanwhile, an item is an error rather
/// than a read outside the header.
#[derive(Copy, Clone, Debug)]
pub struct GpaRanges<'r> {
    range_count: u32,
    ranges: SharedBytes<'r>,
}

/// One range of a received GPA-direct packet.
#[derive(Copy, Clone, Debug)]
pub struct GpaRangeView<'r> {
    /// Byte count and offset into the first page.
    pub range: VmbusGpaRange,
    /// The page numbers, [`VmbusGpaRange::pfn_count`] little-endian `u64`s.
    pub pfns: SharedBytes<'r>,
}

impl GpaRangeView<'_> {
    /// Number of page numbers.
    #[must_use]
    pub const fn pfn_count(&self) -> usize {
        self.pfns.len() / VMBUS_PFN_SIZE
    }

    /// Page number `index`.
    ///
    /// # Errors
    ///
    /// [`OutOfBounds`] when `index >= self.pfn_count()`.
    pub fn pfn(&self, index: usize) -> Result<u64, OutOfBounds> {
        let offset = index.saturating_mul(VMBUS_PFN_SIZE);
        self.pfns.read_obj::<u64>(offset).map(u64::from_le)
    }
}

/// Walks `count` ranges in `bytes`; returns the bytes they take.
fn walk_gpa_ranges(
    packet_type: VmbusPacketType,
    bytes: SharedBytes<'_>,
    count: u32,
) -> Result<usize, PacketError> {
    let overflow = PacketError::RangesOverflow {
        packet_type,
        range_count: count,
    };
    let mut at = 0usize;
    for _ in 0..count {
        // Each range takes at least 8 bytes, so the loop ends once `bytes` is used up.
        let range: VmbusGpaRange = bytes.read_obj(at).map_err(|_| overflow)?;
        let pfns = range.pfn_count().ok_or(PacketError::BadGpaRange(range))?;
        at = (pfns as usize)
            .checked_mul(VMBUS_PFN_SIZE)
            .and_then(|n| n.checked_add(at + size_of::<VmbusGpaRange>()))
            .filter(|&end| end <= bytes.len())
            .ok_or(overflow)?;
    }
    Ok(at)
}

impl<'r> GpaRanges<'r> {
    fn parse(packet_type: VmbusPacketType, header: SharedBytes<'r>) -> Result<Self, PacketError> {
        let fixed: VmbusGpaDirectHeader =
            header
                .read_obj(0)
                .map_err(|_| PacketError::HeaderTooShort {
                    packet_type,
                    header_len: header.len() as u32,
                })?;
        let rest = header
            .slice(
                size_of::<VmbusGpaDirectHeader>(),
                header.len() - size_of::<VmbusGpaDirectHeader>(),
            )
            .map_err(|_| PacketError::HeaderTooShort {
                packet_type,
                header_len: header.len() as u32,
            })?;
        let used = walk_gpa_ranges(packet_type, rest, fixed.range_count)?;
        let ranges = rest
            .slice(0, used)
            .map_err(|_| PacketError::RangesOverflow {
                packet_type,
                range_count: fixed.range_count,
            })?;
        Ok(Self {
            range_count: fixed.range_count,
            ranges,
        })
    }

    /// Number of ranges.
    #[must_use]
    pub const fn len(&self) -> u32 {
        self.range_count
    }

    /// Whether there are no ranges.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.range_count == 0
    }

    /// The ranges in order.
    #[must_use]
    pub const fn iter(&self) -> GpaRangeIter<'r> {
        GpaRangeIter {
            left: self.range_count,
            at: 0,
            ranges: self.ranges,
        }
    }
}

/// Iterator over [`GpaRanges`].
#[derive(Clone, Debug)]
pub struct GpaRangeIter<'r> {
    left: u32,
    at: usize,
    ranges: SharedBytes<'r>,
}

impl<'r> Iterator for GpaRangeIter<'r> {
    type Item = Result<GpaRangeView<'r>, PacketError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let overflow = PacketError::RangesOverflow {
            packet_type: VmbusPacketType::DATA_USING_GPA_DIRECT,
            range_count: self.left,
        };
        let item = (|| {
            let range: VmbusGpaRange = self.ranges.read_obj(self.at).map_err(|_| overflow)?;
            let count = range.pfn_count().ok_or(PacketError::BadGpaRange(range))?;
            let start = self.at + size_of::<VmbusGpaRange>();
            let len = (count as usize)
                .checked_mul(VMBUS_PFN_SIZE)
                .ok_or(overflow)?;
            let pfns = self.ranges.slice(start, len).map_err(|_| overflow)?;
            self.at = start + len;
            Ok(GpaRangeView { range, pfns })
        })();
        if item.is_err() {
            self.left = 0;
        }
        Some(item)
    }
}

/// The transfer-page header and ranges of a received packet.
#[derive(Copy, Clone, Debug)]
pub struct TransferPages<'r> {
    /// The fixed header (set id, ownership, range count).
    pub header: VmbusTransferPageHeader,
    ranges: SharedBytes<'r>,
}

impl<'r> TransferPages<'r> {
    fn parse(packet_type: VmbusPacketType, bytes: SharedBytes<'r>) -> Result<Self, PacketError> {
        let header: VmbusTransferPageHeader =
            bytes.read_obj(0).map_err(|_| PacketError::HeaderTooShort {
                packet_type,
                header_len: bytes.len() as u32,
            })?;
        let overflow = PacketError::RangesOverflow {
            packet_type,
            range_count: header.range_count,
        };
        let len = (header.range_count as usize)
            .checked_mul(size_of::<VmbusTransferPageRange>())
            .ok_or(overflow)?;
        let ranges = bytes
            .slice(size_of::<VmbusTransferPageHeader>(), len)
            .map_err(|_| overflow)?;
        Ok(Self { header, ranges })
    }

    /// Number of ranges.
    #[must_use]
    pub const fn len(&self) -> u32 {
        self.header.range_count
    }

    /// Whether there are no ranges.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.header.range_count == 0
    }

    /// Range `index`.
    ///
    /// # Errors
    ///
    /// [`OutOfBounds`] when `index >= self.len()`.
    pub fn range(&self, index: usize) -> Result<VmbusTransferPageRange, OutOfBounds> {
        let offset = index.saturating_mul(size_of::<VmbusTransferPageRange>());
        self.ranges.read_obj(offset)
    }
}
