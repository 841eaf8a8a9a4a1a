//! Ring buffers: the control page, the data area and the per-packet trailer.

use bitfield_struct::bitfield;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::HV_PAGE_SIZE;

/// Offset of a ring's data area from the start of the ring: the control page comes first
/// (Linux `hyperv.h` `hv_ring_buffer`: "Pad it to PAGE_SIZE so that data starts on page
/// boundary"; OpenVMM `vmbus_ring` "a 4KB control page").
pub const VMBUS_RING_DATA_OFFSET: usize = HV_PAGE_SIZE;

/// Alignment of every packet, of the ring indices and of packet lengths (Linux
/// `ring_buffer.c` rounds packets up to `sizeof(u64)`; OpenVMM: "Each packet is a multiple
/// of 8 bytes").
pub const VMBUS_PACKET_ALIGNMENT: usize = 8;

/// Size of the trailer a writer appends after each packet ([`VmbusRingTrailer`]).
pub const VMBUS_RING_TRAILER_SIZE: usize = 8;

/// Ring feature bits, the `feature_bits` word of the control page (Linux `hyperv.h`
/// `hv_ring_buffer.feature_bits`; QEMU `VMBUS_RING_BUFFER_FEAT_PENDING_SZ`; OpenVMM
/// `FEATURE_SUPPORTS_PENDING_SEND_SIZE`).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct VmbusRingFeatureBits {
    /// The endpoint that owns this bit honours `pending_send_size`, bit 0. The host sets it
    /// in the host-to-guest ring and the guest in the guest-to-host ring; each promises to
    /// set `pending_send_size` in the ring it writes when that ring is full, and to signal
    /// the other side once enough space is free in the ring it reads (Linux `hyperv.h`
    /// comment on `feat_pending_send_sz`).
    pub pending_send_size: bool,
    /// Reserved, bits 31:1.
    #[bits(31)]
    _rsvd: u32,
}

impl VmbusRingFeatureBits {
    /// Mask of the reserved bits 31:1.
    pub const RESERVED_MASK: u32 = 0xFFFF_FFFE;
}

/// The control page at the start of each ring (Linux `hyperv.h` `struct hv_ring_buffer`;
/// QEMU `vmbus_ring_buffer`; OpenVMM `Control`, words 0–3 and 16).
///
/// Both sides map this page and update it concurrently: a driver reads and writes the
/// fields one at a time with atomic or volatile accesses; this structure gives the layout.
/// The indices are byte offsets into the data area, multiples of 8 and below the data
/// area's size; the ring is empty when they are equal, and a writer never fills it
/// completely (Linux `ring_buffer.c` `hv_ringbuffer_write`: "If there is only room for the
/// packet, assume it is full").
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusRingControl {
    /// Where the writer puts the next packet; written only by the writer.
    pub write_index: u32,
    /// Where the reader takes the next packet; written only by the reader.
    pub read_index: u32,
    /// Nonzero while the reader asks the writer not to signal it (it is draining the ring
    /// and will look again before sleeping).
    pub interrupt_mask: u32,
    /// Bytes of free space the writer of this ring waits for; zero when it is not waiting.
    pub pending_send_size: u32,
    /// Reserved.
    pub rsvd1: [u32; 12],
    /// Feature bits.
    pub feature_bits: VmbusRingFeatureBits,
    /// Reserved up to the end of the page.
    pub rsvd2: [u8; 4028],
}

const _: () = assert!(size_of::<VmbusRingControl>() == VMBUS_RING_DATA_OFFSET);
const _: () = assert!(offset_of!(VmbusRingControl, write_index) == 0);
const _: () = assert!(offset_of!(VmbusRingControl, read_index) == 4);
const _: () = assert!(offset_of!(VmbusRingControl, interrupt_mask) == 8);
const _: () = assert!(offset_of!(VmbusRingControl, pending_send_size) == 12);
const _: () = assert!(offset_of!(VmbusRingControl, rsvd1) == 16);
const _: () = assert!(offset_of!(VmbusRingControl, feature_bits) == 64);
const _: () = assert!(offset_of!(VmbusRingControl, rsvd2) == 68);

/// The 8 bytes a writer appends after each packet: as a little-endian `u64`, the packet's
/// start offset in the upper 32 bits and zero in the lower (Linux `ring_buffer.c`
/// `hv_get_ring_bufferindices` returns `write_index << 32`; OpenVMM `Footer { reserved,
/// offset }`). Readers skip it; it lets a reader walk back to the previous packet.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VmbusRingTrailer {
    /// Zero (the low half of the `u64`).
    pub rsvd: u32,
    /// Offset in the data area at which the packet starts.
    pub packet_start: u32,
}

const _: () = assert!(size_of::<VmbusRingTrailer>() == VMBUS_RING_TRAILER_SIZE);

impl VmbusRingTrailer {
    /// The trailer of a packet that starts at `packet_start`.
    #[must_use]
    pub const fn new(packet_start: u32) -> Self {
        Self {
            rsvd: 0,
            packet_start,
        }
    }

    /// The trailer as the `u64` Linux writes.
    #[must_use]
    pub const fn to_u64(self) -> u64 {
        (self.packet_start as u64) << 32 | self.rsvd as u64
    }
}
