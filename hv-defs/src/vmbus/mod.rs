//! The VMBus protocol: channel messages, ring buffers and packets.
//!
//! VMBus is how Hyper-V's synthetic devices (network, storage, integration services) talk
//! to a guest. It is not in the TLFS: it is built on the TLFS's SynIC messages and events
//! (TLFS 11) and monitored notifications (TLFS 11.7). No Microsoft specification is public;
//! this module spells out the ABI from the public implementations, citing each fact:
//!
//! * Linux: `include/linux/hyperv.h` (wire structures), `drivers/hv/hyperv_vmbus.h`
//!   (connection ids), `drivers/hv/connection.c` (version negotiation, signalling),
//!   `drivers/hv/channel_mgmt.c` (offers), `drivers/hv/channel.c` (GPADLs, open),
//!   `drivers/hv/ring_buffer.c` (rings), `drivers/hv/vmbus_drv.c` (event dispatch);
//! * OpenVMM (Microsoft's Rust VMM): `vm/devices/vmbus/vmbus_core/src/protocol.rs` and
//!   `vm/devices/vmbus/vmbus_ring/src/lib.rs`;
//! * QEMU: `include/hw/hyperv/vmbus-proto.h` and `hw/hyperv/vmbus.c`.
//!
//! All multi-byte fields are little-endian. Where the sources disagree, the item's docs say
//! so and which reading this crate takes.
//!
//! # Transport (control path)
//!
//! Channel messages are SynIC message payloads of at most [`VMBUS_MAX_MESSAGE_SIZE`] = 240
//! bytes (TLFS 11.10.4), each starting with a [`VmbusMessageHeader`] (a
//! [`VmbusMessageType`] and a zero word).
//!
//! * Guest to host: `HvPostMessage` (TLFS 11.11.1) with SynIC message type
//!   [`VMBUS_SYNIC_MESSAGE_TYPE`] (1) and payload size = the message structure's size, to
//!   the *message connection id*: [`VMBUS_MESSAGE_CONNECTION_ID`] (1) before 5.0; from 5.0
//!   the initiate-contact message goes to [`VMBUS_MESSAGE_CONNECTION_ID_4`] (4) and every
//!   later message to [`VmbusVersionResponse::message_connection_id`]
//!   ([`VmbusVersion::initiate_contact_connection_id`]; Linux `connection.c`).
//! * Host to guest: a SynIC message in the SIM slot of SINT [`VMBUS_MESSAGE_SINT`] (2) of
//!   the VP named in [`VmbusInitiateContact::target_vcpu`] (Linux `hyperv_vmbus.h`; QEMU
//!   `VMBUS_SINT`). From 5.0 the guest names the SINT and VTL explicitly in a
//!   [`VmbusTargetInfo`].
//!
//! # Connecting
//!
//! 1. The guest sends [`VmbusInitiateContact`] with a [`VmbusVersion`], the target VP, and
//!    the GPAs of two monitor pages (TLFS 11.7.4 layout: `monitor_page1` host-to-guest,
//!    `monitor_page2` guest-to-host). Before 5.0 it also passes an *interrupt page*: the
//!    first half holds host-to-guest channel bits, the second half guest-to-host (Linux
//!    `connection.c` `vmbus_connect`).
//! 2. The host answers [`VmbusVersionResponse`]; `version_supported == 0` means "try an
//!    older version". Guests try newest first (Linux `connection.c` `vmbus_versions`).
//! 3. The guest sends [`VmbusRequestOffers`]; the host sends one [`VmbusOfferChannel`]
//!    per channel, then [`VmbusAllOffersDelivered`]. Offers can also arrive, and be
//!    rescinded with [`VmbusRescindChannelOffer`], at any later time; after cleaning up a
//!    rescinded channel the guest sends [`VmbusRelIdReleased`].
//! 4. [`VmbusUnload`] / [`VmbusUnloadResponse`] end the connection.
//!
//! Each channel is named by its *child relid*, assigned by the host, starting at 1
//! ([`VMBUS_INVALID_RELID`]); a channel's class is its offer's `interface_type`
//! ([`class_name`]). Sub-channels (2.4 and later) repeat their primary's instance GUID with
//! a nonzero `sub_channel_index`.
//!
//! # GPADLs
//!
//! A *guest physical address descriptor list* lends guest pages to the host. The guest
//! picks a GPADL id and sends [`VmbusGpadlHeader`] followed by [`VmbusGpaRange`]s, each
//! with its page numbers; page numbers that do not fit
//! ([`VMBUS_GPADL_HEADER_MAX_PFNS`] = 26 with one range) continue in [`VmbusGpadlBody`]
//! messages of up to [`VMBUS_GPADL_BODY_MAX_PFNS`] = 28. The host answers
//! [`VmbusGpadlCreated`]. [`VmbusGpadlTeardown`] / [`VmbusGpadlTorndown`] release it (Linux
//! `channel.c` `create_gpadl_header`, `__vmbus_establish_gpadl`).
//!
//! # Opening a channel
//!
//! The guest allocates one buffer holding two rings, lends it as a GPADL, and sends
//! [`VmbusOpenChannel`]: the guest-to-host ("upstream") ring starts at page 0 of the GPADL,
//! the host-to-guest ring at `downstream_ring_buffer_page_offset`. The host answers
//! [`VmbusOpenResult`] (status 0 = success). [`VmbusModifyChannel`] (4.1) moves the
//! channel's interrupt to another VP, acknowledged from 5.3 by
//! [`VmbusModifyChannelResponse`]; [`VmbusCloseChannel`] closes it.
//!
//! # Signalling
//!
//! * Guest to host, after writing to a ring that was empty (or freeing space a blocked
//!   writer waits for): `HvSignalEvent` (TLFS 11.11.2) on the offer's `connection_id`
//!   (1.1 and later; [`VMBUS_EVENT_CONNECTION_ID`] on 0.13). Unless the offer has
//!   [`VmbusOfferInterruptFlags::dedicated_interrupt`], the guest first sets bit *relid*
//!   in the send half of the interrupt page. A channel with
//!   [`VmbusOfferMonitorFlags::monitor_allocated`] may instead set bit `monitor_id % 32` of
//!   trigger group `monitor_id / 32` in monitor page 2 (TLFS 11.7) and let the hypervisor
//!   signal later (Linux `channel.c` `vmbus_setevent`, `connection.c` `vmbus_set_event`).
//! * Host to guest: from 2.4 the host sets event flag *relid* in the SIEF page (TLFS 11.9)
//!   of SINT 2 on the channel's target VP; before 2.4 it sets bit *relid* in the receive half
//!   of the interrupt page and event flag 0 (Linux `vmbus_drv.c` `vmbus_chan_sched`). The
//!   event-flag space limits relids to [`VMBUS_MAX_CHILD_RELID`] = 2047 (TLFS 11.10.5
//!   `HV_EVENT_FLAGS_COUNT`; QEMU `VMBUS_CHANID_COUNT`).
//!
//! The connection ids in offers are the host's choice; the guest only echoes them. QEMU
//! uses 16 + relid (`vmbus.c` `VMBUS_CHAN_CONNECTION_OFFSET`); OpenVMM packs relid, SINT
//! and VTL (`protocol.rs` `ConnectionId::new`: `relid | sint << 12 | vtl << 16`).
//!
//! # Ring buffers
//!
//! Each ring is a 4 KiB [`VmbusRingControl`] page followed by the data area
//! ([`VMBUS_RING_DATA_OFFSET`]), used as a circular byte buffer. The writer copies a packet
//! at `write_index` (wrapping at the end of the data area), appends a
//! [`VmbusRingTrailer`] naming where the packet started, then publishes the new
//! `write_index` after a full barrier. Everything is 8-byte aligned
//! ([`VMBUS_PACKET_ALIGNMENT`]). The writer signals only if the reader's `interrupt_mask` is
//! clear and the ring was empty before the write (Linux `ring_buffer.c`
//! `hv_signal_on_write`). A reader that frees space signals a waiting writer once the free
//! space reaches the writer's `pending_send_size`, when
//! [`VmbusRingFeatureBits::pending_send_size`] is set (Linux `hyperv.h`).
//!
//! # Packets
//!
//! Every packet starts with a [`VmbusPacketDescriptor`]: a [`VmbusPacketType`], the payload
//! offset and the total length in 8-byte units, [`VmbusPacketFlags`] and a transaction id.
//! Some types put an extra header between descriptor and payload:
//! [`VmbusTransferPageHeader`], [`VmbusGpaDirectHeader`], [`VmbusGpadlPacketHeader`],
//! [`VmbusTransferPageSetHeader`], [`VmbusAdditionalDataHeader`]. A packet with
//! `completion_requested` is answered by a [`VmbusPacketType::COMPLETION`] packet with the
//! same transaction id.

mod gpa;
mod guid;
mod message;
mod packet;
mod ring;
mod version;

pub use gpa::*;
pub use guid::*;
pub use message::*;
pub use packet::*;
pub use ring::*;
pub use version::*;
