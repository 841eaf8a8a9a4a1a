//! Packets: what travels in the ring buffers.

use bitfield_struct::bitfield;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::ring::{VMBUS_PACKET_ALIGNMENT, VMBUS_RING_TRAILER_SIZE};

open_enum! {
    /// The type of a ring-buffer packet (Linux `hyperv.h` `enum vmbus_packet_type`; QEMU
    /// `vmbus-proto.h` `VMBUS_PACKET_*`; OpenVMM accepts only 6, 7, 9 and 11).
    pub struct VmbusPacketType(u16) {
        /// Not a packet (Linux `VM_PKT_INVALID`).
        INVALID = 0x0,
        /// Synchronization (Linux `VM_PKT_SYNCH`).
        SYNCH = 0x1,
        /// Add a transfer page set ([`VmbusTransferPageSetHeader`]) (Linux
        /// `VM_PKT_ADD_XFER_PAGESET`).
        ADD_TRANSFER_PAGE_SET = 0x2,
        /// Remove a transfer page set ([`VmbusTransferPageSetHeader`]) (Linux
        /// `VM_PKT_RM_XFER_PAGESET`).
        REMOVE_TRANSFER_PAGE_SET = 0x3,
        /// Establish a GPADL in-band (Linux `VM_PKT_ESTABLISH_GPADL`): a
        /// [`VmbusGpadlPacketHeader`] whose second word is the range count, then GPA ranges.
        ESTABLISH_GPADL = 0x4,
        /// Tear down an in-band GPADL ([`VmbusGpadlPacketHeader`]) (Linux
        /// `VM_PKT_TEARDOWN_GPADL`).
        TEARDOWN_GPADL = 0x5,
        /// Data in the packet itself (Linux `VM_PKT_DATA_INBAND`).
        DATA_IN_BAND = 0x6,
        /// Data in ranges of a transfer page set ([`VmbusTransferPageHeader`]) (Linux
        /// `VM_PKT_DATA_USING_XFER_PAGES`); netvsc's receive path.
        DATA_USING_TRANSFER_PAGES = 0x7,
        /// Data in a GPADL ([`VmbusGpadlPacketHeader`]) (Linux `VM_PKT_DATA_USING_GPADL`).
        DATA_USING_GPADL = 0x8,
        /// Data in guest pages named in the packet ([`VmbusGpaDirectHeader`]) (Linux
        /// `VM_PKT_DATA_USING_GPA_DIRECT`); storvsc's and netvsc's send path.
        DATA_USING_GPA_DIRECT = 0x9,
        /// Cancel a request (Linux `VM_PKT_CANCEL_REQUEST`).
        CANCEL_REQUEST = 0xA,
        /// Completion of the request with the same transaction id (Linux `VM_PKT_COMP`).
        COMPLETION = 0xB,
        /// Data continued in additional packets (Linux `VM_PKT_DATA_USING_ADDITIONAL_PKT`).
        DATA_USING_ADDITIONAL_PACKETS = 0xC,
        /// A continuation ([`VmbusAdditionalDataHeader`]) (Linux `VM_PKT_ADDITIONAL_DATA`).
        ADDITIONAL_DATA = 0xD,
    }
}

/// Packet flags (Linux `hyperv.h` `VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED`; QEMU
/// `VMBUS_PACKET_FLAG_REQUEST_COMPLETION`; OpenVMM rejects any other bit).
#[bitfield(u16)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct VmbusPacketFlags {
    /// The receiver must answer with a [`VmbusPacketType::COMPLETION`] packet carrying the
    /// same transaction id, bit 0.
    pub completion_requested: bool,
    /// Reserved, bits 15:1.
    #[bits(15)]
    _rsvd: u16,
}

impl VmbusPacketFlags {
    /// Mask of the reserved bits 15:1.
    pub const RESERVED_MASK: u16 = 0xFFFE;
}

/// The descriptor at the start of every packet (Linux `hyperv.h` `vmpacket_descriptor`;
/// QEMU `vmbus_packet_hdr`; OpenVMM `PacketDescriptor`).
///
/// Offsets and lengths count 8-byte units from the start of the descriptor. Bytes
/// `16 .. data_offset8 * 8` hold the type's extra header (if any); the payload is
/// `data_offset8 * 8 .. length8 * 8`; the packet then takes `length8 * 8` bytes of the
/// ring plus the 8-byte trailer.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VmbusPacketDescriptor {
    /// Packet type.
    pub packet_type: VmbusPacketType,
    /// Offset of the payload, in 8-byte units; at least 2 (the descriptor).
    pub data_offset8: u16,
    /// Length of the packet without the trailer, in 8-byte units; at least `data_offset8`.
    pub length8: u16,
    /// Flags.
    pub flags: VmbusPacketFlags,
    /// Sender-chosen id, echoed by the completion.
    pub transaction_id: u64,
}

const _: () = assert!(size_of::<VmbusPacketDescriptor>() == 16);
const _: () = assert!(offset_of!(VmbusPacketDescriptor, flags) == 6);
const _: () = assert!(offset_of!(VmbusPacketDescriptor, transaction_id) == 8);

/// Size of [`VmbusPacketDescriptor`] in 8-byte units: the smallest valid `data_offset8`.
pub const VMBUS_PACKET_DESCRIPTOR_SIZE8: u16 =
    (size_of::<VmbusPacketDescriptor>() / VMBUS_PACKET_ALIGNMENT) as u16;

impl VmbusPacketDescriptor {
    /// Offset of the payload in bytes.
    #[must_use]
    pub const fn data_offset(&self) -> u32 {
        self.data_offset8 as u32 * VMBUS_PACKET_ALIGNMENT as u32
    }

    /// Length of the packet in bytes, without the trailer.
    #[must_use]
    pub const fn length(&self) -> u32 {
        self.length8 as u32 * VMBUS_PACKET_ALIGNMENT as u32
    }

    /// Length of the payload in bytes, or `None` when the descriptor is malformed (payload
    /// offset inside the descriptor, or beyond the packet's end).
    #[must_use]
    pub const fn payload_length(&self) -> Option<u32> {
        if self.data_offset8 < VMBUS_PACKET_DESCRIPTOR_SIZE8 || self.length8 < self.data_offset8 {
            return None;
        }
        Some(self.length() - self.data_offset())
    }

    /// Bytes of ring the packet occupies: its length plus the trailer.
    #[must_use]
    pub const fn ring_size(&self) -> u32 {
        self.length() + VMBUS_RING_TRAILER_SIZE as u32
    }
}

/// One range of a transfer page set (Linux `hyperv.h` `vmtransfer_page_range`; QEMU
/// `vmbus_xferpg_range`; OpenVMM `TransferPageRange`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VmbusTransferPageRange {
    /// Length in bytes.
    pub byte_count: u32,
    /// Offset in bytes from the start of the transfer page set.
    pub byte_offset: u32,
}

const _: () = assert!(size_of::<VmbusTransferPageRange>() == 8);

/// The extra header of a [`VmbusPacketType::DATA_USING_TRANSFER_PAGES`] packet, after the
/// descriptor; `range_count` [`VmbusTransferPageRange`]s follow (Linux `hyperv.h`
/// `vmtransfer_page_packet_header`; QEMU `vmbus_pkt_xferpg`; OpenVMM `TransferPageHeader`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VmbusTransferPageHeader {
    /// The transfer page set.
    pub transfer_page_set_id: u16,
    /// Nonzero when the sender owns the set (OpenVMM folds this byte into a `u16`
    /// `reserved` that "may have garbage").
    pub sender_owns_set: u8,
    /// Reserved.
    pub rsvd: u8,
    /// Number of ranges that follow.
    pub range_count: u32,
}

const _: () = assert!(size_of::<VmbusTransferPageHeader>() == 8);

/// The extra header of a [`VmbusPacketType::DATA_USING_GPA_DIRECT`] packet, after the
/// descriptor; `range_count` GPA ranges ([`VmbusGpaRange`](super::VmbusGpaRange) then its
/// page numbers) follow (Linux `hyperv.h` `vmdata_gpa_direct`; QEMU `vmbus_pkt_gpa_direct`;
/// OpenVMM `GpaDirectHeader`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VmbusGpaDirectHeader {
    /// Reserved (OpenVMM: "may have garbage non-zero values").
    pub rsvd: u32,
    /// Number of ranges that follow.
    pub range_count: u32,
}

const _: () = assert!(size_of::<VmbusGpaDirectHeader>() == 8);

/// The extra header of the GPADL packets after the descriptor: [`VmbusPacketType::DATA_USING_GPADL`]
/// and [`VmbusPacketType::TEARDOWN_GPADL`] (`gpadl`, reserved word), and
/// [`VmbusPacketType::ESTABLISH_GPADL`] (`gpadl`, range count, then GPA ranges) (Linux
/// `hyperv.h` `vmgpadl_packet_header`, `vmteardown_gpadl`, `vmestablish_gpadl`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VmbusGpadlPacketHeader {
    /// The GPADL id.
    pub gpadl: u32,
    /// Reserved, or the range count of an establish packet.
    pub rsvd_or_range_count: u32,
}

const _: () = assert!(size_of::<VmbusGpadlPacketHeader>() == 8);

/// The extra header of [`VmbusPacketType::ADD_TRANSFER_PAGE_SET`] and
/// [`VmbusPacketType::REMOVE_TRANSFER_PAGE_SET`] packets after the descriptor (Linux
/// `hyperv.h` `vmadd_remove_transfer_page_set`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VmbusTransferPageSetHeader {
    /// The GPADL backing the set.
    pub gpadl: u32,
    /// The transfer page set.
    pub transfer_page_set_id: u16,
    /// Reserved.
    pub rsvd: u16,
}

const _: () = assert!(size_of::<VmbusTransferPageSetHeader>() == 8);

/// The extra header of a [`VmbusPacketType::ADDITIONAL_DATA`] packet after the descriptor;
/// `byte_count` bytes of data follow (Linux `hyperv.h` `vmadditional_data`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VmbusAdditionalDataHeader {
    /// Total bytes of the whole transfer.
    pub total_bytes: u64,
    /// Offset of this piece within the transfer.
    pub offset: u32,
    /// Bytes in this packet.
    pub byte_count: u32,
}

const _: () = assert!(size_of::<VmbusAdditionalDataHeader>() == 16);
