//! Channel messages: the control protocol carried in SynIC message payloads.

use bitfield_struct::bitfield;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::gpa::{VMBUS_PFN_SIZE, VmbusGpaRange};
use super::guid::Guid;
use super::version::{VmbusConnectionState, VmbusFeatureFlags, VmbusVersion};

/// The largest channel message: the SynIC message payload (TLFS 11.10.4
/// `HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT`; Linux `MAX_SIZE_CHANNEL_MESSAGE`; OpenVMM
/// `MAX_MESSAGE_SIZE`).
pub const VMBUS_MAX_MESSAGE_SIZE: usize = 240;

/// Bytes of user-defined data in an offer or open message (Linux `hyperv.h`
/// `MAX_USER_DEFINED_BYTES`; QEMU `VMBUS_CHANNEL_USER_DATA_SIZE`).
pub const VMBUS_MAX_USER_DEFINED_BYTES: usize = 120;

/// Bytes of user-defined data left to a pipe offer after its 4-byte pipe mode (Linux
/// `hyperv.h` `MAX_PIPE_USER_DEFINED_BYTES`).
pub const VMBUS_MAX_PIPE_USER_DEFINED_BYTES: usize = 116;

/// Page numbers that fit in a [`VmbusGpadlHeader`] message after one [`VmbusGpaRange`]:
/// `(240 - 20 - 8) / 8` = 26 (Linux `channel.c` `create_gpadl_header`; OpenVMM
/// `GpadlHeader::MAX_DATA_VALUES` counts the range header as one more value, 27).
pub const VMBUS_GPADL_HEADER_MAX_PFNS: usize =
    (VMBUS_MAX_MESSAGE_SIZE - size_of::<VmbusGpadlHeader>() - size_of::<VmbusGpaRange>())
        / VMBUS_PFN_SIZE;

/// Page numbers that fit in one [`VmbusGpadlBody`] message: `(240 - 16) / 8` = 28 (Linux
/// `channel.c` `create_gpadl_header`; OpenVMM `GpadlBody::MAX_DATA_VALUES`).
pub const VMBUS_GPADL_BODY_MAX_PFNS: usize =
    (VMBUS_MAX_MESSAGE_SIZE - size_of::<VmbusGpadlBody>()) / VMBUS_PFN_SIZE;

/// The relid no channel has: relids start at 1 (Linux `hyperv.h` `INVALID_RELID`; QEMU
/// `vmbus.c` `VMBUS_FIRST_CHANID`: "Hyper-V devices never use channel #0").
pub const VMBUS_INVALID_RELID: u32 = u32::MAX;

/// The highest child relid: a relid names one of the 2048 SynIC event flags of the VMBus
/// SINT (TLFS 11.10.5 `HV_EVENT_FLAGS_COUNT`), and relid 0 is never used (Linux
/// `hyperv_vmbus.h` `MAX_CHANNEL_RELIDS`, the larger of 256 and `HV_EVENT_FLAGS_COUNT`;
/// QEMU `vmbus.c` allocates relids from 1 up to the event flag count).
pub const VMBUS_MAX_CHILD_RELID: u32 = 2047;

/// The target VP that disables host-to-guest interrupts for a channel (OpenVMM
/// `protocol.rs` `VP_INDEX_DISABLE_INTERRUPT`).
pub const VMBUS_VP_INDEX_DISABLE_INTERRUPT: u32 = u32::MAX;

open_enum! {
    /// The type of a channel message, the first field of every message (Linux `hyperv.h`
    /// `enum vmbus_channel_message_type`; OpenVMM `protocol.rs` `MessageType`; QEMU
    /// `vmbus-proto.h` `VMBUS_MSG_*`).
    ///
    /// "Guest" and "host" below are the usual directions; the version is the one that
    /// introduced the message where a source says so.
    pub struct VmbusMessageType(u32) {
        /// Not a message (Linux `CHANNELMSG_INVALID`).
        INVALID = 0,
        /// Host: a channel exists ([`VmbusOfferChannel`]).
        OFFER_CHANNEL = 1,
        /// Host: a channel was withdrawn ([`VmbusRescindChannelOffer`]).
        RESCIND_CHANNEL_OFFER = 2,
        /// Guest: send the offers ([`VmbusRequestOffers`]).
        REQUEST_OFFERS = 3,
        /// Host: the last offer was sent ([`VmbusAllOffersDelivered`]).
        ALL_OFFERS_DELIVERED = 4,
        /// Guest: open a channel on a ring-buffer GPADL ([`VmbusOpenChannel`]).
        OPEN_CHANNEL = 5,
        /// Host: outcome of an open ([`VmbusOpenResult`]).
        OPEN_CHANNEL_RESULT = 6,
        /// Guest: close a channel ([`VmbusCloseChannel`]).
        CLOSE_CHANNEL = 7,
        /// Guest: first message describing a GPADL ([`VmbusGpadlHeader`]).
        GPADL_HEADER = 8,
        /// Guest: further page numbers of a GPADL ([`VmbusGpadlBody`]).
        GPADL_BODY = 9,
        /// Host: outcome of a GPADL creation ([`VmbusGpadlCreated`]).
        GPADL_CREATED = 10,
        /// Guest: release a GPADL ([`VmbusGpadlTeardown`]).
        GPADL_TEARDOWN = 11,
        /// Host: the GPADL is released ([`VmbusGpadlTorndown`]).
        GPADL_TORNDOWN = 12,
        /// Guest: a rescinded channel's relid may be reused ([`VmbusRelIdReleased`]).
        REL_ID_RELEASED = 13,
        /// Guest: connect with a protocol version ([`VmbusInitiateContact`]).
        INITIATE_CONTACT = 14,
        /// Host: answer to an initiate contact ([`VmbusVersionResponse`]).
        VERSION_RESPONSE = 15,
        /// Guest: disconnect ([`VmbusUnload`]).
        UNLOAD = 16,
        /// Host: disconnected (Linux `CHANNELMSG_UNLOAD_RESPONSE`; OpenVMM
        /// `UNLOAD_COMPLETE`) ([`VmbusUnloadResponse`]).
        UNLOAD_RESPONSE = 17,
        /// Open a reserved channel, 4.0 (OpenVMM; Linux leaves 18 unnamed as
        /// `CHANNELMSG_18`) ([`VmbusOpenReservedChannel`]).
        OPEN_RESERVED_CHANNEL = 18,
        /// Close a reserved channel (OpenVMM; Linux `CHANNELMSG_19`)
        /// ([`VmbusCloseReservedChannel`]).
        CLOSE_RESERVED_CHANNEL = 19,
        /// Reserved channel closed, 4.0 (OpenVMM; Linux `CHANNELMSG_20`)
        /// ([`VmbusCloseReservedChannelResponse`]).
        CLOSE_RESERVED_RESPONSE = 20,
        /// Guest: connect a Hyper-V socket, 4.0 ([`VmbusTlConnectRequest`]).
        TL_CONNECT_REQUEST = 21,
        /// Guest: move a channel's interrupt to another VP, 4.1 ([`VmbusModifyChannel`]).
        MODIFY_CHANNEL = 22,
        /// Host: outcome of a Hyper-V socket connect, 4.1 ([`VmbusTlConnectResult`]).
        TL_CONNECT_RESULT = 23,
        /// Host: acknowledges `MODIFY_CHANNEL`, 5.3 ([`VmbusModifyChannelResponse`]).
        MODIFY_CHANNEL_RESPONSE = 24,
        /// Guest: replace the monitor pages, 6.0 with the `modify_connection` feature
        /// (OpenVMM) ([`VmbusModifyConnection`]).
        MODIFY_CONNECTION = 25,
        /// Host: outcome of `MODIFY_CONNECTION` (OpenVMM) ([`VmbusModifyConnectionResponse`]).
        MODIFY_CONNECTION_RESPONSE = 26,
        /// Guest: stop sending control messages, 6.0 with the `pause_resume` feature
        /// (OpenVMM) ([`VmbusPause`]).
        PAUSE = 27,
        /// Host: paused (OpenVMM) ([`VmbusPauseResponse`]).
        PAUSE_RESPONSE = 28,
        /// Guest: resume control messages (OpenVMM) ([`VmbusResume`]).
        RESUME = 29,
    }
}

/// The header of every channel message (Linux `hyperv.h` `vmbus_channel_message_header`;
/// QEMU `vmbus_message_header`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VmbusMessageHeader {
    /// What follows.
    pub message_type: VmbusMessageType,
    /// Zero.
    pub padding: u32,
}

impl VmbusMessageHeader {
    /// A header for `message_type`.
    #[must_use]
    pub const fn new(message_type: VmbusMessageType) -> Self {
        Self {
            message_type,
            padding: 0,
        }
    }
}

/// A channel message structure: its type and the header it starts with.
///
/// Every implementor is `#[repr(C)]`, begins with a [`VmbusMessageHeader`], has no padding
/// and fits in [`VMBUS_MAX_MESSAGE_SIZE`]; a sender posts `size_of::<Self>()` bytes (plus
/// any trailing GPA range and page numbers for the GPADL messages).
pub trait VmbusChannelMessage: FromBytes + IntoBytes + Immutable + KnownLayout + Copy {
    /// The message type this structure carries.
    const MESSAGE_TYPE: VmbusMessageType;

    /// The header for [`Self::MESSAGE_TYPE`].
    const HEADER: VmbusMessageHeader = VmbusMessageHeader::new(Self::MESSAGE_TYPE);
}

/// Implements [`VmbusChannelMessage`] and checks the size against the sources and the
/// 240-byte limit at compile time.
macro_rules! channel_message {
    ($type:ty, $message_type:ident, $size:expr) => {
        impl VmbusChannelMessage for $type {
            const MESSAGE_TYPE: VmbusMessageType = VmbusMessageType::$message_type;
        }
        const _: () = assert!(size_of::<$type>() == $size);
        const _: () = assert!(size_of::<$type>() <= VMBUS_MAX_MESSAGE_SIZE);
        const _: () = assert!(offset_of!($type, header) == 0);
    };
}

/// Offer flags, the `chn_flags` field of an offer (Linux `hyperv.h` and QEMU
/// `vmbus-proto.h` `VMBUS_CHANNEL_*`; OpenVMM `protocol.rs` `OfferFlags`).
///
/// Bits 1 and 2 changed meaning: Linux before 6.0 and QEMU call them "server supports
/// transfer pages" and "server supports GPADLs" (QEMU's network device sets both); OpenVMM
/// and the Linux 6.0 patches call them "confidential ring buffer" and "confidential
/// external memory", meaningful once
/// [`VmbusFeatureFlags::confidential_channels`] is negotiated. The field names follow
/// the older meaning; [`VmbusOfferFlags::confidential_ring_buffer`] and
/// [`VmbusOfferFlags::confidential_external_memory`] read the same bits.
#[bitfield(u16)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct VmbusOfferFlags {
    /// The guest should expose a device interface for the channel, bit 0 (0x1).
    pub enumerate_device_interface: bool,
    /// The server supports transfer pages (before 6.0), bit 1 (0x2).
    pub server_supports_transfer_pages: bool,
    /// The server supports GPADLs (before 6.0), bit 2 (0x4).
    pub server_supports_gpadls: bool,
    /// Reserved, bit 3.
    #[bits(1)]
    _rsvd0: u8,
    /// The channel is a named pipe; the user-defined data starts with a
    /// [`VmbusPipeMode`], bit 4 (0x10).
    pub named_pipe_mode: bool,
    /// Reserved, bits 7:5.
    #[bits(3)]
    _rsvd1: u8,
    /// Loopback offer, bit 8 (0x100; Linux and QEMU only).
    pub loopback_offer: bool,
    /// Parent offer, bit 9 (0x200; Linux and QEMU only).
    pub parent_offer: bool,
    /// The offer asks for monitored notification, bit 10 (0x400; Linux and QEMU only).
    pub request_monitored_notification: bool,
    /// Reserved, bits 12:11.
    #[bits(2)]
    _rsvd2: u8,
    /// A Hyper-V socket endpoint ("TL NPI provider"); the user-defined data holds socket
    /// parameters, bit 13 (0x2000).
    pub tlnpi_provider_offer: bool,
    /// Reserved, bits 15:14.
    #[bits(2)]
    _rsvd3: u8,
}

impl VmbusOfferFlags {
    /// Mask of the bits no source names: 3, 7:5, 12:11, 15:14.
    pub const RESERVED_MASK: u16 = 0xD8E8;

    /// Bit 1 read with its 6.0 meaning: the ring buffer must be in encrypted memory (Linux
    /// 6.0 patches `VMBUS_CHANNEL_CONFIDENTIAL_RING_BUFFER`).
    #[must_use]
    pub const fn confidential_ring_buffer(self) -> bool {
        self.server_supports_transfer_pages()
    }

    /// Bit 1 set with its 6.0 meaning.
    #[must_use]
    pub const fn with_confidential_ring_buffer(self, value: bool) -> Self {
        self.with_server_supports_transfer_pages(value)
    }

    /// Bit 2 read with its 6.0 meaning: GPA-direct ranges and additional GPADLs must be in
    /// encrypted memory (Linux 6.0 patches `VMBUS_CHANNEL_CONFIDENTIAL_EXTERNAL_MEMORY`).
    #[must_use]
    pub const fn confidential_external_memory(self) -> bool {
        self.server_supports_gpadls()
    }

    /// Bit 2 set with its 6.0 meaning.
    #[must_use]
    pub const fn with_confidential_external_memory(self, value: bool) -> Self {
        self.with_server_supports_gpadls(value)
    }
}

open_enum! {
    /// The pipe mode in the first 4 bytes of a named-pipe offer's user-defined data (Linux
    /// `hyperv.h` `VMBUS_PIPE_TYPE_*`; OpenVMM `PipeType`).
    pub struct VmbusPipeMode(u32) {
        /// Byte stream.
        BYTE = 0,
        /// Message stream.
        MESSAGE = 4,
    }
}

/// Monitor flags of an offer (Linux `hyperv.h` `monitor_allocated:1`; QEMU
/// `VMBUS_OFFER_MONITOR_ALLOCATED`).
#[bitfield(u8)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct VmbusOfferMonitorFlags {
    /// `monitor_id` is valid: the guest may signal the host through the monitor page
    /// instead of a hypercall, bit 0.
    pub monitor_allocated: bool,
    /// Reserved, bits 7:1.
    #[bits(7)]
    _rsvd: u8,
}

impl VmbusOfferMonitorFlags {
    /// Mask of the reserved bits 7:1.
    pub const RESERVED_MASK: u8 = 0xFE;
}

/// Interrupt flags of an offer, 1.1 and later (Linux `hyperv.h` `is_dedicated_interrupt:1`;
/// QEMU `VMBUS_OFFER_INTERRUPT_DEDICATED`).
#[bitfield(u16)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct VmbusOfferInterruptFlags {
    /// The channel has its own connection: the guest must not set the channel's bit in the
    /// send half of the interrupt page before signalling, bit 0.
    pub dedicated_interrupt: bool,
    /// Reserved, bits 15:1.
    #[bits(15)]
    _rsvd: u16,
}

impl VmbusOfferInterruptFlags {
    /// Mask of the reserved bits 15:1.
    pub const RESERVED_MASK: u16 = 0xFFFE;
}

/// `OFFER_CHANNEL`: the host offers a channel (Linux `hyperv.h`
/// `vmbus_channel_offer_channel`; QEMU `vmbus_message_offer_channel`; OpenVMM
/// `OfferChannel`). 196 bytes: the 188-byte body after the header.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusOfferChannel {
    /// [`VmbusMessageType::OFFER_CHANNEL`].
    pub header: VmbusMessageHeader,
    /// The device class (see [`class_name`](super::class_name)).
    pub interface_type: Guid,
    /// The device instance; sub-channels repeat their primary channel's.
    pub interface_instance: Guid,
    /// Reserved, 16 bytes (Linux two `u64`s; OpenVMM four `u32`s).
    pub rsvd: [u32; 4],
    /// Offer flags.
    pub flags: VmbusOfferFlags,
    /// MMIO space the device needs, in MiB.
    pub mmio_megabytes: u16,
    /// Device-defined data; for pipes a [`VmbusPipeMode`] then 116 bytes.
    pub user_defined: [u8; VMBUS_MAX_USER_DEFINED_BYTES],
    /// 0 for a primary channel, otherwise the sub-channel's index (2.4 and later; reserved
    /// before).
    pub sub_channel_index: u16,
    /// Optional MMIO space in MiB (OpenVMM `mmio_megabytes_optional`; Linux `reserved3`
    /// and QEMU `_reserved3` treat it as reserved).
    pub mmio_megabytes_optional: u16,
    /// The channel's relid ("child relid"), the key of every later message about it.
    pub child_relid: u32,
    /// Monitor id: trigger group `monitor_id / 32`, bit `monitor_id % 32` (Linux
    /// `channel_mgmt.c` `vmbus_setup_channel_state`).
    pub monitor_id: u8,
    /// Monitor flags.
    pub monitor_flags: VmbusOfferMonitorFlags,
    /// Interrupt flags (1.1 and later).
    pub interrupt_flags: VmbusOfferInterruptFlags,
    /// Connection id the guest signals the channel on with `HvSignalEvent` (1.1 and later;
    /// 0.13 uses [`VMBUS_EVENT_CONNECTION_ID`](super::VMBUS_EVENT_CONNECTION_ID)).
    pub connection_id: u32,
}

channel_message!(VmbusOfferChannel, OFFER_CHANNEL, 196);
const _: () = assert!(offset_of!(VmbusOfferChannel, interface_type) == 8);
const _: () = assert!(offset_of!(VmbusOfferChannel, interface_instance) == 24);
const _: () = assert!(offset_of!(VmbusOfferChannel, rsvd) == 40);
const _: () = assert!(offset_of!(VmbusOfferChannel, flags) == 56);
const _: () = assert!(offset_of!(VmbusOfferChannel, mmio_megabytes) == 58);
const _: () = assert!(offset_of!(VmbusOfferChannel, user_defined) == 60);
const _: () = assert!(offset_of!(VmbusOfferChannel, sub_channel_index) == 180);
const _: () = assert!(offset_of!(VmbusOfferChannel, mmio_megabytes_optional) == 182);
const _: () = assert!(offset_of!(VmbusOfferChannel, child_relid) == 184);
const _: () = assert!(offset_of!(VmbusOfferChannel, monitor_id) == 188);
const _: () = assert!(offset_of!(VmbusOfferChannel, monitor_flags) == 189);
const _: () = assert!(offset_of!(VmbusOfferChannel, interrupt_flags) == 190);
const _: () = assert!(offset_of!(VmbusOfferChannel, connection_id) == 192);

impl VmbusOfferChannel {
    /// The pipe mode: the first 4 user-defined bytes, little-endian. Meaningful only when
    /// [`VmbusOfferFlags::named_pipe_mode`] is set.
    #[must_use]
    pub const fn pipe_mode(&self) -> VmbusPipeMode {
        let u = &self.user_defined;
        VmbusPipeMode::new(u32::from_le_bytes([u[0], u[1], u[2], u[3]]))
    }
}

/// `RESCIND_CHANNEL_OFFER`: the host withdraws a channel (Linux `hyperv.h`
/// `vmbus_channel_rescind_offer`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusRescindChannelOffer {
    /// [`VmbusMessageType::RESCIND_CHANNEL_OFFER`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
}

channel_message!(VmbusRescindChannelOffer, RESCIND_CHANNEL_OFFER, 12);

/// `REQUEST_OFFERS`: the guest asks for the offers; it carries no body (Linux `hyperv.h`
/// comment "Request Offer -- no parameters").
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusRequestOffers {
    /// [`VmbusMessageType::REQUEST_OFFERS`].
    pub header: VmbusMessageHeader,
}

channel_message!(VmbusRequestOffers, REQUEST_OFFERS, 8);

/// `ALL_OFFERS_DELIVERED`: the host has sent every offer; no body.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusAllOffersDelivered {
    /// [`VmbusMessageType::ALL_OFFERS_DELIVERED`].
    pub header: VmbusMessageHeader,
}

channel_message!(VmbusAllOffersDelivered, ALL_OFFERS_DELIVERED, 8);

/// `OPEN_CHANNEL`: the guest opens a channel on its ring buffers (Linux `hyperv.h`
/// `vmbus_channel_open_channel`; QEMU `vmbus_message_open_channel`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusOpenChannel {
    /// [`VmbusMessageType::OPEN_CHANNEL`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
    /// Guest-chosen id, echoed in the result.
    pub open_id: u32,
    /// GPADL covering both rings: guest-to-host at page 0, host-to-guest at
    /// `downstream_ring_buffer_page_offset`.
    pub ring_buffer_gpadl: u32,
    /// VP index the host interrupts for this channel (2.4 and later; 0 before).
    pub target_vp: u32,
    /// Page offset of the host-to-guest ring within the GPADL.
    pub downstream_ring_buffer_page_offset: u32,
    /// Data passed to the device.
    pub user_data: [u8; VMBUS_MAX_USER_DEFINED_BYTES],
}

channel_message!(VmbusOpenChannel, OPEN_CHANNEL, 148);
const _: () = assert!(offset_of!(VmbusOpenChannel, downstream_ring_buffer_page_offset) == 24);
const _: () = assert!(offset_of!(VmbusOpenChannel, user_data) == 28);

/// Open-channel flags of [`VmbusOpenChannel2`] (OpenVMM `OpenChannelFlags`).
#[bitfield(u16)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct VmbusOpenChannelFlags {
    /// Send this channel's host-to-guest interrupt to the redirected VTL and SINT, bit 0.
    pub redirect_interrupt: bool,
    /// Reserved, bits 15:1.
    #[bits(15)]
    _rsvd: u16,
}

impl VmbusOpenChannelFlags {
    /// Mask of the reserved bits 15:1.
    pub const RESERVED_MASK: u16 = 0xFFFE;
}

/// `OPEN_CHANNEL` with guest-chosen signal parameters, sent when
/// [`VmbusFeatureFlags::guest_specified_signal_parameters`] or
/// [`VmbusFeatureFlags::channel_interrupt_redirection`] was negotiated (6.0; OpenVMM
/// `OpenChannel2`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusOpenChannel2 {
    /// [`VmbusMessageType::OPEN_CHANNEL`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
    /// Guest-chosen id, echoed in the result.
    pub open_id: u32,
    /// GPADL covering both rings.
    pub ring_buffer_gpadl: u32,
    /// VP index the host interrupts for this channel.
    pub target_vp: u32,
    /// Page offset of the host-to-guest ring within the GPADL.
    pub downstream_ring_buffer_page_offset: u32,
    /// Data passed to the device.
    pub user_data: [u8; VMBUS_MAX_USER_DEFINED_BYTES],
    /// Connection id the guest will signal on (with `guest_specified_signal_parameters`).
    pub connection_id: u32,
    /// Event flag the host sets for the channel (with `guest_specified_signal_parameters`).
    pub event_flag: u16,
    /// Open flags (with `channel_interrupt_redirection`).
    pub flags: VmbusOpenChannelFlags,
}

channel_message!(VmbusOpenChannel2, OPEN_CHANNEL, 156);
const _: () = assert!(offset_of!(VmbusOpenChannel2, connection_id) == 148);

/// `OPEN_CHANNEL_RESULT`: outcome of an open (Linux `hyperv.h` `vmbus_channel_open_result`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusOpenResult {
    /// [`VmbusMessageType::OPEN_CHANNEL_RESULT`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
    /// The open id of the request.
    pub open_id: u32,
    /// 0 on success, otherwise an NTSTATUS failure code.
    pub status: u32,
}

channel_message!(VmbusOpenResult, OPEN_CHANNEL_RESULT, 20);

/// `CLOSE_CHANNEL`: the guest closes a channel (Linux `hyperv.h`
/// `vmbus_channel_close_channel`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusCloseChannel {
    /// [`VmbusMessageType::CLOSE_CHANNEL`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
}

channel_message!(VmbusCloseChannel, CLOSE_CHANNEL, 12);

/// `GPADL_HEADER`, the fixed part: the guest describes a buffer (Linux `hyperv.h`
/// `vmbus_channel_gpadl_header`; QEMU `vmbus_message_gpadl_header`).
///
/// `range_count` [`VmbusGpaRange`]s, each followed by its page numbers, start at byte 20 and
/// take `range_buf_len` bytes in all. What does not fit in this message
/// ([`VMBUS_GPADL_HEADER_MAX_PFNS`] page numbers for one range) follows in
/// [`VmbusGpadlBody`] messages. The ranges are 4-byte aligned, so the page numbers after
/// them are not 8-byte aligned within the message.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusGpadlHeader {
    /// [`VmbusMessageType::GPADL_HEADER`].
    pub header: VmbusMessageHeader,
    /// The channel the GPADL belongs to.
    pub child_relid: u32,
    /// Guest-chosen GPADL id.
    pub gpadl: u32,
    /// Bytes of all ranges and their page numbers, across this and the body messages.
    pub range_buf_len: u16,
    /// Number of ranges.
    pub range_count: u16,
}

channel_message!(VmbusGpadlHeader, GPADL_HEADER, 20);
const _: () = assert!(offset_of!(VmbusGpadlHeader, range_count) == 18);

/// `GPADL_BODY`, the fixed part: more page numbers of a GPADL, up to
/// [`VMBUS_GPADL_BODY_MAX_PFNS`], follow from byte 16 (Linux `hyperv.h`
/// `vmbus_channel_gpadl_body`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusGpadlBody {
    /// [`VmbusMessageType::GPADL_BODY`].
    pub header: VmbusMessageHeader,
    /// Message number (Linux `msgnumber`, QEMU `message_number`; Linux leaves it zero in
    /// its zeroed buffers, OpenVMM names it `rsvd`). Zero.
    pub message_number: u32,
    /// The GPADL id of the header message.
    pub gpadl: u32,
}

channel_message!(VmbusGpadlBody, GPADL_BODY, 16);

/// `GPADL_CREATED`: outcome of a GPADL creation (Linux `hyperv.h`
/// `vmbus_channel_gpadl_created`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusGpadlCreated {
    /// [`VmbusMessageType::GPADL_CREATED`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
    /// The GPADL id.
    pub gpadl: u32,
    /// 0 on success, otherwise an NTSTATUS failure code.
    pub creation_status: u32,
}

channel_message!(VmbusGpadlCreated, GPADL_CREATED, 20);

/// `GPADL_TEARDOWN`: the guest releases a GPADL (Linux `hyperv.h`
/// `vmbus_channel_gpadl_teardown`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusGpadlTeardown {
    /// [`VmbusMessageType::GPADL_TEARDOWN`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
    /// The GPADL id.
    pub gpadl: u32,
}

channel_message!(VmbusGpadlTeardown, GPADL_TEARDOWN, 16);

/// `GPADL_TORNDOWN`: the host no longer uses the GPADL (Linux `hyperv.h`
/// `vmbus_channel_gpadl_torndown`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusGpadlTorndown {
    /// [`VmbusMessageType::GPADL_TORNDOWN`].
    pub header: VmbusMessageHeader,
    /// The GPADL id.
    pub gpadl: u32,
}

channel_message!(VmbusGpadlTorndown, GPADL_TORNDOWN, 12);

/// `REL_ID_RELEASED`: the guest is done with a rescinded channel (Linux `hyperv.h`
/// `vmbus_channel_relid_released`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusRelIdReleased {
    /// [`VmbusMessageType::REL_ID_RELEASED`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
}

channel_message!(VmbusRelIdReleased, REL_ID_RELEASED, 12);

/// `INITIATE_CONTACT`: the guest connects (Linux `hyperv.h`
/// `vmbus_channel_initiate_contact`; QEMU `vmbus_message_initiate_contact`; OpenVMM
/// `InitiateContact`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusInitiateContact {
    /// [`VmbusMessageType::INITIATE_CONTACT`].
    pub header: VmbusMessageHeader,
    /// The version the guest asks for.
    pub version_requested: VmbusVersion,
    /// VP index that receives the host's messages.
    pub target_vcpu: u32,
    /// Before 5.0: GPA of the interrupt page (first half host-to-guest channel bits, second
    /// half guest-to-host). From 5.0: a [`VmbusTargetInfo`](super::VmbusTargetInfo) (see
    /// [`VmbusVersion::uses_target_info`]).
    pub interrupt_page_or_target_info: u64,
    /// GPA of the host-to-guest ("parent to child") monitor page (TLFS 11.7.4 layout).
    pub monitor_page1: u64,
    /// GPA of the guest-to-host ("child to parent") monitor page (TLFS 11.7.4 layout).
    pub monitor_page2: u64,
}

channel_message!(VmbusInitiateContact, INITIATE_CONTACT, 40);
const _: () = assert!(offset_of!(VmbusInitiateContact, interrupt_page_or_target_info) == 16);
const _: () = assert!(offset_of!(VmbusInitiateContact, monitor_page2) == 32);

/// `INITIATE_CONTACT` with a client id, sent when the guest asks for
/// [`VmbusFeatureFlags::client_id`] (6.0; OpenVMM `InitiateContact2`). The host tells the
/// two forms apart by length.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusInitiateContact2 {
    /// [`VmbusMessageType::INITIATE_CONTACT`].
    pub header: VmbusMessageHeader,
    /// The version the guest asks for.
    pub version_requested: VmbusVersion,
    /// VP index that receives the host's messages.
    pub target_vcpu: u32,
    /// A [`VmbusTargetInfo`](super::VmbusTargetInfo).
    pub interrupt_page_or_target_info: u64,
    /// GPA of the host-to-guest monitor page.
    pub monitor_page1: u64,
    /// GPA of the guest-to-host monitor page.
    pub monitor_page2: u64,
    /// Well-known GUID naming the guest's VMBus client implementation.
    pub client_id: Guid,
}

channel_message!(VmbusInitiateContact2, INITIATE_CONTACT, 56);

/// `VERSION_RESPONSE`: the host's answer to an initiate contact (Linux `hyperv.h`
/// `vmbus_channel_version_response`; OpenVMM `VersionResponse`).
///
/// QEMU, which offers at most 4.0, declares only the first two body bytes (a 12-byte
/// structure with C padding), so a receiver must accept a shorter message before 5.0; the
/// connection id is meaningful from 5.0 on.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusVersionResponse {
    /// [`VmbusMessageType::VERSION_RESPONSE`].
    pub header: VmbusMessageHeader,
    /// Nonzero when the requested version is accepted.
    pub version_supported: u8,
    /// Connection state.
    pub connection_state: VmbusConnectionState,
    /// Zero.
    pub padding: u16,
    /// From 5.0: the connection id of every later guest message (OpenVMM names the field
    /// `selected_version_or_connection_id`: it may carry a version instead).
    pub message_connection_id: u32,
}

channel_message!(VmbusVersionResponse, VERSION_RESPONSE, 16);
const _: () = assert!(offset_of!(VmbusVersionResponse, message_connection_id) == 12);

/// `VERSION_RESPONSE` with the supported features, sent only when 6.0 or later was asked
/// for and accepted (OpenVMM `VersionResponse2`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusVersionResponse2 {
    /// [`VmbusMessageType::VERSION_RESPONSE`].
    pub header: VmbusMessageHeader,
    /// Nonzero when the requested version is accepted.
    pub version_supported: u8,
    /// Connection state.
    pub connection_state: VmbusConnectionState,
    /// Zero.
    pub padding: u16,
    /// The connection id of every later guest message.
    pub message_connection_id: u32,
    /// The features the host grants, a subset of those asked for.
    pub supported_features: VmbusFeatureFlags,
}

channel_message!(VmbusVersionResponse2, VERSION_RESPONSE, 20);

/// `UNLOAD`: the guest disconnects; no body. Linux sends it only from 3.0 on
/// (`channel_mgmt.c` `vmbus_initiate_unload`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusUnload {
    /// [`VmbusMessageType::UNLOAD`].
    pub header: VmbusMessageHeader,
}

channel_message!(VmbusUnload, UNLOAD, 8);

/// `UNLOAD_RESPONSE`: the host has disconnected; no body.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusUnloadResponse {
    /// [`VmbusMessageType::UNLOAD_RESPONSE`].
    pub header: VmbusMessageHeader,
}

channel_message!(VmbusUnloadResponse, UNLOAD_RESPONSE, 8);

/// `OPEN_RESERVED_CHANNEL` (OpenVMM `OpenReservedChannel`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusOpenReservedChannel {
    /// [`VmbusMessageType::OPEN_RESERVED_CHANNEL`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
    /// VP index to interrupt.
    pub target_vp: u32,
    /// SINT to interrupt.
    pub target_sint: u32,
    /// GPADL covering both rings.
    pub ring_buffer_gpadl: u32,
    /// Page offset of the host-to-guest ring within the GPADL.
    pub downstream_page_offset: u32,
}

channel_message!(VmbusOpenReservedChannel, OPEN_RESERVED_CHANNEL, 28);

/// `CLOSE_RESERVED_CHANNEL` (OpenVMM `CloseReservedChannel`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusCloseReservedChannel {
    /// [`VmbusMessageType::CLOSE_RESERVED_CHANNEL`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
    /// VP index to interrupt with the response.
    pub target_vp: u32,
    /// SINT to interrupt with the response.
    pub target_sint: u32,
}

channel_message!(VmbusCloseReservedChannel, CLOSE_RESERVED_CHANNEL, 20);

/// `CLOSE_RESERVED_RESPONSE` (OpenVMM `CloseReservedChannelResponse`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusCloseReservedChannelResponse {
    /// [`VmbusMessageType::CLOSE_RESERVED_RESPONSE`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
}

channel_message!(
    VmbusCloseReservedChannelResponse,
    CLOSE_RESERVED_RESPONSE,
    12
);

/// `TL_CONNECT_REQUEST`: the guest connects a Hyper-V socket (Linux `hyperv.h`
/// `vmbus_channel_tl_connect_request`; OpenVMM `TlConnectRequest`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusTlConnectRequest {
    /// [`VmbusMessageType::TL_CONNECT_REQUEST`].
    pub header: VmbusMessageHeader,
    /// The guest's endpoint id.
    pub guest_endpoint_id: Guid,
    /// The host service id.
    pub host_service_id: Guid,
}

channel_message!(VmbusTlConnectRequest, TL_CONNECT_REQUEST, 40);

/// `TL_CONNECT_REQUEST` with a silo id, 5.2 and later (OpenVMM `TlConnectRequest2`; the
/// host accepts the shorter form too).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusTlConnectRequest2 {
    /// [`VmbusMessageType::TL_CONNECT_REQUEST`].
    pub header: VmbusMessageHeader,
    /// The guest's endpoint id.
    pub guest_endpoint_id: Guid,
    /// The host service id.
    pub host_service_id: Guid,
    /// The silo (container) id, zero for none.
    pub silo_id: Guid,
}

channel_message!(VmbusTlConnectRequest2, TL_CONNECT_REQUEST, 56);

/// `MODIFY_CHANNEL`: the guest moves a channel's interrupt to another VP, 4.1 and later
/// (Linux `hyperv.h` `vmbus_channel_modifychannel`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusModifyChannel {
    /// [`VmbusMessageType::MODIFY_CHANNEL`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
    /// The new target VP index.
    pub target_vp: u32,
}

channel_message!(VmbusModifyChannel, MODIFY_CHANNEL, 16);

/// `TL_CONNECT_RESULT`: outcome of a Hyper-V socket connect (OpenVMM `TlConnectResult`;
/// Linux names the type only).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusTlConnectResult {
    /// [`VmbusMessageType::TL_CONNECT_RESULT`].
    pub header: VmbusMessageHeader,
    /// The guest's endpoint id.
    pub guest_endpoint_id: Guid,
    /// The host service id.
    pub host_service_id: Guid,
    /// 0 on success, otherwise an NTSTATUS failure code.
    pub status: u32,
}

channel_message!(VmbusTlConnectResult, TL_CONNECT_RESULT, 44);

/// `MODIFY_CHANNEL_RESPONSE`: the host has moved the interrupt, 5.3 and later (Linux
/// `hyperv.h` `vmbus_channel_modifychannel_response`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusModifyChannelResponse {
    /// [`VmbusMessageType::MODIFY_CHANNEL_RESPONSE`].
    pub header: VmbusMessageHeader,
    /// The channel.
    pub child_relid: u32,
    /// 0 on success, otherwise an NTSTATUS failure code.
    pub status: u32,
}

channel_message!(VmbusModifyChannelResponse, MODIFY_CHANNEL_RESPONSE, 16);

/// `MODIFY_CONNECTION`: the guest replaces the monitor pages, 6.0 with
/// [`VmbusFeatureFlags::modify_connection`] (OpenVMM `ModifyConnection`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusModifyConnection {
    /// [`VmbusMessageType::MODIFY_CONNECTION`].
    pub header: VmbusMessageHeader,
    /// GPA of the new host-to-guest monitor page.
    pub monitor_page1: u64,
    /// GPA of the new guest-to-host monitor page.
    pub monitor_page2: u64,
}

channel_message!(VmbusModifyConnection, MODIFY_CONNECTION, 24);

/// `MODIFY_CONNECTION_RESPONSE` (OpenVMM `ModifyConnectionResponse`).
///
/// OpenVMM's body is the one state byte, so it sends a 9-byte message; the three reserved
/// bytes here only make the structure a whole number of words. A receiver needs 9 bytes.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusModifyConnectionResponse {
    /// [`VmbusMessageType::MODIFY_CONNECTION_RESPONSE`].
    pub header: VmbusMessageHeader,
    /// Outcome.
    pub connection_state: VmbusConnectionState,
    /// Not part of OpenVMM's message; zero.
    pub rsvd: [u8; 3],
}

channel_message!(
    VmbusModifyConnectionResponse,
    MODIFY_CONNECTION_RESPONSE,
    12
);

/// `PAUSE`: the guest asks the host to stop sending control messages; no body (OpenVMM
/// `Pause`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusPause {
    /// [`VmbusMessageType::PAUSE`].
    pub header: VmbusMessageHeader,
}

channel_message!(VmbusPause, PAUSE, 8);

/// `PAUSE_RESPONSE`: the host has paused; no body (OpenVMM `PauseResponse`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusPauseResponse {
    /// [`VmbusMessageType::PAUSE_RESPONSE`].
    pub header: VmbusMessageHeader,
}

channel_message!(VmbusPauseResponse, PAUSE_RESPONSE, 8);

/// `RESUME`: the guest lets the host send control messages again; no body (OpenVMM
/// `Resume`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct VmbusResume {
    /// [`VmbusMessageType::RESUME`].
    pub header: VmbusMessageHeader,
}

channel_message!(VmbusResume, RESUME, 8);
