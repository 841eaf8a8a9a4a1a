//! The guest side of VMBus: version negotiation, offers, GPADLs, channels and ring buffers,
//! hardened against a host that lies.
//!
//! VMBus is not in the TLFS; the wire format is in `hv_defs::vmbus`, whose docs cite the
//! public sources for every fact. This module builds the client on it:
//!
//! * [`VmbusTransport`]: what the client needs from the SynIC (post a message, signal an
//!   event). The SynIC code implements it; tests use scripted hosts.
//! * [`VmbusClient`]: a poll-driven state machine. Operations ([`initiate_contact`],
//!   [`request_offers`], [`create_gpadl`], [`open_channel`], [`send`], ...) post messages;
//!   the caller feeds each host message to [`handle_message`], which updates the state and
//!   returns an [`Event`] without calling out. Channels and GPADLs are kept in
//!   caller-provided slot arrays ([`ChannelSlot`], [`GpadlSlot`]); no allocator is needed.
//! * [`ring`]: the ring buffers ([`RingWriter`], [`RingReader`]), usable on their own (a host
//!   model uses them in the opposite roles).
//! * [`packet`]: building the packets the guest sends and checking the ones it receives.
//!
//! # Connecting
//!
//! [`initiate_contact`] asks for the newest version of [`ConnectConfig::versions`]; from 5.0 on
//! it posts to connection 4 and names the message SINT, before 5.0 to connection 1 with the
//! interrupt page. A host that rejects connection 4 with `HV_STATUS_INVALID_CONNECTION_ID` (as
//! QEMU, which speaks up to 4.0, does) makes the client move straight to 4.1; a host that
//! answers "unsupported" yields [`Event::VersionRejected`], after which the caller calls
//! `initiate_contact` again for the next version. From 5.0 on later messages go to the
//! connection id the host returns (Hyper-V 5.x answers 4), before 5.0 to connection 1.
//!
//! # Channel life cycle
//!
//! 1. [`Event::Offer`] records the channel ([`VmbusClient::channel`]).
//! 2. [`create_gpadl`] lends the ring pages ([`RingBufferMemory::pfns`]); wait for
//!    [`Event::GpadlCreated`].
//! 3. [`open_channel`] resets the rings and opens; wait for [`Event::Opened`].
//! 4. [`send`] and [`receive`] move packets; the guest signals the host only when the ring
//!    rules say the host can be waiting (see [`ring`]).
//! 5. [`close_channel`], then [`teardown_gpadl`] and wait for [`Event::GpadlTornDown`]: the
//!    pages are the guest's again.
//!
//! A rescind ([`Event::Rescinded`]) stops the channel's I/O and abandons an open in progress;
//! the guest closes the channel if it was open, then [`release_channel`] tells the host the
//! relid may be reused and forgets the channel's GPADLs. [`unload`] ends the connection.
//!
//! # A hostile host
//!
//! Every value the host controls is checked before use: message lengths against their type
//! ([`parse_message`]), relids against 1 ..= [`VMBUS_MAX_CHILD_RELID`], responses against the
//! state and the request they answer (a version response nobody asked for, an open result
//! with the wrong open id, `GPADL_CREATED` for a handle never sent), ring indices (inside the
//! data area, 8-byte aligned), packet lengths against the published bytes, descriptor offsets
//! and extra-header counts against the packet. A bad message yields an [`Error`] and leaves
//! the client unchanged; a bad ring stops that channel ([`ChannelStatus::Failed`]). Nothing
//! the host writes can cause a panic, an out-of-bounds access or an unbounded loop; shared
//! memory is only accessed through raw pointers with volatile or atomic accesses.
//!
//! # Signalling on versions before 5.0
//!
//! Before 5.0 the guest passes an interrupt page. To signal a channel without a dedicated
//! interrupt it sets bit *relid* in the page's second half before `HvSignalEvent` (Linux
//! `vmbus_set_event`); the client does this itself, so [`VmbusTransport::signal_event`] is
//! always just the hypercall. Before 2.4 the host signals the guest through the first half
//! and SynIC event flag 0; [`InterruptPage::take_signalled`] reads it.
//!
//! [`initiate_contact`]: VmbusClient::initiate_contact
//! [`request_offers`]: VmbusClient::request_offers
//! [`create_gpadl`]: VmbusClient::create_gpadl
//! [`open_channel`]: VmbusClient::open_channel
//! [`send`]: VmbusClient::send
//! [`receive`]: VmbusClient::receive
//! [`close_channel`]: VmbusClient::close_channel
//! [`teardown_gpadl`]: VmbusClient::teardown_gpadl
//! [`release_channel`]: VmbusClient::release_channel
//! [`unload`]: VmbusClient::unload
//! [`handle_message`]: VmbusClient::handle_message
//! [`VMBUS_MAX_CHILD_RELID`]: hv_defs::vmbus::VMBUS_MAX_CHILD_RELID

mod channel;
mod connection;
mod gpadl;
mod message;
pub mod packet;
pub mod ring;
mod shared;
mod transport;

pub use channel::{
    ChannelInfo, ChannelSlot, ChannelStatus, InterruptPage, RingBufferMemory, SignalledRelids,
};
pub use connection::{
    ConnectConfig, ConnectionState, DEFAULT_VERSIONS, Error, Event, MonitorPages, OpenError,
    Receiver, VmbusClient,
};
pub use gpadl::{GPADL_MAX_PAGES, GpadlSlot, GpadlState};
pub use message::{HostMessage, MessageError, VersionResponse, parse_message};
pub use packet::{GpaDirectRange, OutgoingPacket, Packet, PacketKind, SendKind};
pub use ring::{
    RING_MAX_DATA_SIZE, ReadBatch, Ring, RingCorruption, RingError, RingReader, RingSetupError,
    RingWriter, WriteOutcome,
};
pub use shared::{OutOfBounds, SharedBytes};
pub use transport::VmbusTransport;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
