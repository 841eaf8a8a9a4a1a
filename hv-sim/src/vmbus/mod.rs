//! A VMBus server (the host side of VMBus) on the SynIC model, with an echo device.
//!
//! VMBus is not in the TLFS; the wire format is `hv_defs::vmbus`, whose docs cite the public
//! sources (Linux `include/linux/hyperv.h`, `drivers/hv/connection.c`, `channel_mgmt.c`,
//! `channel.c`, `ring_buffer.c`; QEMU `hw/hyperv/vmbus.c`; OpenVMM `vmbus_server`). What this
//! server does:
//!
//! * **Control messages.** The guest posts with `HvCallPostMessage` to a *message connection*
//!   ([`VmbusServer::message_connections`]); the server answers by queueing SynIC messages
//!   (type 1, origination id = the message port id 1) to the SINT the guest named, 2 by
//!   default, of the VP it named in `INITIATE_CONTACT`, through the SynIC queues (so busy
//!   slots, the pending flag and EOM work as for every other message). `INITIATE_CONTACT` is
//!   answered with a version response that accepts exactly the known versions up to
//!   [`VmbusServer::top_version`] and only on the connection the version requires (1 before
//!   5.0, 4 from 5.0); anything else gets "not supported" so the guest falls back.
//!   `REQUEST_OFFERS` gets one offer per device and `ALL_OFFERS_DELIVERED`; GPADL header and
//!   body messages get `GPADL_CREATED` once every page number arrived (status 0, or
//!   `STATUS_UNSUCCESSFUL` for a bad GPADL); `OPEN_CHANNEL` gets `OPEN_CHANNEL_RESULT`;
//!   `CLOSE_CHANNEL` closes silently; `GPADL_TEARDOWN` gets `GPADL_TORNDOWN`;
//!   `REL_ID_RELEASED` forgets a rescinded channel; `UNLOAD` gets `UNLOAD_RESPONSE`. A
//!   message the server cannot parse, or that does not fit its state, is dropped and counted
//!   (`bad_messages`): the post itself succeeded, as it does on Hyper-V.
//! * **Channel signals.** The guest signals a channel with `HvCallSignalEvent` (flag 0) on the
//!   offer's connection id (QEMU-like: 16 + relid, as QEMU; Hyper-V-like: relid | SINT 2 <<
//!   12, as OpenVMM). Before 5.0 a channel without a dedicated interrupt also sets its bit in
//!   the send half of the interrupt page; the server clears it. The host does the work
//!   [`HOST_LATENCY_NS`] of virtual time later (a host worker thread waking up), so packets the
//!   guest writes meanwhile are handled in one batch, as on a real host. It signals the guest
//!   by setting event flag *relid* in the SIEF area of SINT 2 of the channel's target VP (from
//!   2.4; before, the interrupt page's receive half and flag 0), which raises the SINT when
//!   the flag was clear.
//! * **The echo device** ([`HV_ENLIGHTENMENTS_ECHO_GUID`]): reads every packet of the
//!   guest-to-host ring and answers each in-band packet with a completion packet carrying
//!   the same transaction id and payload in the host-to-guest ring; other packet types are
//!   consumed without an answer. It signals the guest only if the host-to-guest ring was
//!   empty before its writes and the guest's interrupt mask is clear, or if the guest set
//!   `pending_send_size` in the guest-to-host ring (with its feature bit) and the space
//!   freed reached it (Linux `hv_signal_on_write`, `hv_pkt_iter_close`). When the
//!   host-to-guest ring is full it stops, sets `pending_send_size` there and waits for the
//!   guest's signal. A ring the guest corrupted stops the channel (`ring_errors`).
//! * **Inert devices**: a synthetic network adapter and a synthetic SCSI controller are
//!   offered so the guest's offer list shows well-known classes; they can be opened but
//!   never answer.
//!
//! Monitor pages are never allocated to a channel (`monitor_allocated` = 0), so guests signal
//! with `HvCallSignalEvent` only; the model does not read the monitor pages.

mod ring;

use std::fmt;

use hv_defs::HV_PAGE_SIZE;
use hv_defs::status::HvStatus;
use hv_defs::synic::{HV_SYNIC_SINT_COUNT, HvMessage, HvMessageType, HvPostMessageInput};
use hv_defs::vmbus::{
    Guid, HV_ENLIGHTENMENTS_ECHO_GUID, HV_NIC_GUID, HV_SCSI_GUID, VMBUS_MAX_MESSAGE_SIZE,
    VMBUS_MESSAGE_CONNECTION_ID, VMBUS_MESSAGE_CONNECTION_ID_4, VMBUS_MESSAGE_PORT_ID,
    VMBUS_MESSAGE_SINT, VMBUS_PACKET_DESCRIPTOR_SIZE8, VMBUS_RING_TRAILER_SIZE,
    VMBUS_SYNIC_MESSAGE_TYPE, VmbusAllOffersDelivered, VmbusChannelMessage, VmbusConnectionState,
    VmbusGpaRange, VmbusGpadlBody, VmbusGpadlCreated, VmbusGpadlHeader, VmbusGpadlTeardown,
    VmbusGpadlTorndown, VmbusInitiateContact, VmbusMessageHeader, VmbusMessageType,
    VmbusOfferChannel, VmbusOfferFlags, VmbusOfferInterruptFlags, VmbusOfferMonitorFlags,
    VmbusOpenChannel, VmbusOpenResult, VmbusPacketDescriptor, VmbusPacketFlags, VmbusPacketType,
    VmbusRescindChannelOffer, VmbusTargetInfo, VmbusUnloadResponse, VmbusVersion,
    VmbusVersionResponse,
};
use zerocopy::{FromBytes, Immutable, IntoBytes};

use self::ring::{
    FEATURE_BITS, HostRing, INTERRUPT_MASK, PENDING_SEND_SIZE, READ_INDEX, RingFault, WRITE_INDEX,
};
use crate::machine::Vm;
use crate::mem::GuestMemory;
use crate::profile::Profile;
use crate::synic::{Env, Source, check_post, read_signal};

/// Virtual time between a guest's channel signal and the host's work on the channel.
pub const HOST_LATENCY_NS: u64 = 20_000;

/// `STATUS_UNSUCCESSFUL`, the NTSTATUS failure code the server puts in refused GPADLs and
/// opens.
pub const STATUS_UNSUCCESSFUL: u32 = 0xC000_0001;

/// The most pages a GPADL may lend (bounds what a guest can make the model store).
pub const MAX_GPADL_PAGES: usize = 8192;

/// The relid of the echo device's channel.
pub const ECHO_RELID: u32 = 1;

/// Which VMBus host the server imitates.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VmbusServer {
    /// QEMU's `vmbus-bridge`: versions up to 4.0, message connection 1 only, channel
    /// connection ids 16 + relid (QEMU `hw/hyperv/vmbus.c`).
    Qemu,
    /// Hyper-V: versions up to 5.3, message connections 1 (before 5.0) and 4 (from 5.0, and
    /// the id returned in the version response), channel connection ids relid | SINT << 12
    /// (OpenVMM `ConnectionId::new`).
    HyperV,
}

impl VmbusServer {
    /// The newest version the server accepts.
    #[must_use]
    pub const fn top_version(self) -> VmbusVersion {
        match self {
            Self::Qemu => VmbusVersion::WIN10,
            Self::HyperV => VmbusVersion::WIN10_V5_3,
        }
    }

    /// The connection ids guest messages may be posted to.
    #[must_use]
    pub const fn message_connections(self) -> &'static [u32] {
        match self {
            Self::Qemu => &[VMBUS_MESSAGE_CONNECTION_ID],
            Self::HyperV => &[VMBUS_MESSAGE_CONNECTION_ID, VMBUS_MESSAGE_CONNECTION_ID_4],
        }
    }

    /// The connection id the guest signals channel `relid` on.
    #[must_use]
    pub const fn channel_connection_id(self, relid: u32) -> u32 {
        match self {
            Self::Qemu => 16 + relid,
            Self::HyperV => relid | (VMBUS_MESSAGE_SINT as u32) << 12,
        }
    }

    /// The `--vmbus` spelling.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Qemu => "qemu",
            Self::HyperV => "hyperv",
        }
    }
}

/// A way the server breaks the protocol on purpose, for tests of the guest's defences.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// The first echo batch publishes a write index outside the host-to-guest data area, and
    /// the channel does nothing more.
    BadIndices,
    /// The echo device's offer is delivered with a SynIC payload size of 255 (above the
    /// 240-byte maximum, TLFS 11.10.4).
    OversizeMessage,
    /// Opening the echo channel is answered with `RESCIND_CHANNEL_OFFER` instead of an open
    /// result.
    RescindOnOpen,
}

impl Misbehaviour {
    /// Every misbehaviour.
    pub const ALL: [Self; 3] = [Self::BadIndices, Self::OversizeMessage, Self::RescindOnOpen];

    /// The `--vmbus-misbehave` spelling.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::BadIndices => "bad-indices",
            Self::OversizeMessage => "oversize-message",
            Self::RescindOnOpen => "rescind-on-open",
        }
    }
}

/// Whether and which VMBus server runs.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum VmbusChoice {
    /// The profile's default ([`VmbusChoice::for_profile`]).
    #[default]
    Default,
    /// No VMBus: every message connection is unknown.
    Off,
    /// This server.
    Server(VmbusServer),
}

impl VmbusChoice {
    /// Parses a `--vmbus` value: `qemu`, `hyperv` or `off`.
    ///
    /// # Errors
    ///
    /// Any other value.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "qemu" => Ok(Self::Server(VmbusServer::Qemu)),
            "hyperv" => Ok(Self::Server(VmbusServer::HyperV)),
            "off" => Ok(Self::Off),
            other => Err(format!(
                "unknown VMBus server `{other}` (expected qemu, hyperv or off)"
            )),
        }
    }

    /// The server that runs with `profile`: the choice, or by default Hyper-V-like for
    /// `hyperv`, QEMU-like for `kvm` (QEMU with its VMBus bridge, like the `hyperv-testdev`
    /// connections that profile has) and none for `--hv` flags alone or `none`. A server
    /// needs the SynIC: without the `hv-synic` privileges there is none.
    #[must_use]
    pub fn resolve(self, profile: &Profile) -> Option<VmbusServer> {
        let privileges = profile.privileges();
        if !(privileges.post_messages() && privileges.signal_events()) {
            return None;
        }
        match self {
            Self::Default => Self::for_profile(profile),
            Self::Off => None,
            Self::Server(server) => Some(server),
        }
    }

    /// The default server of `profile` (see [`VmbusChoice::resolve`]).
    #[must_use]
    pub fn for_profile(profile: &Profile) -> Option<VmbusServer> {
        match profile.name.as_str() {
            "hyperv" => Some(VmbusServer::HyperV),
            "kvm" | "kvm+hv" => Some(VmbusServer::Qemu),
            _ => None,
        }
    }
}

/// What a device does with its channel.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Device {
    /// Answers every in-band packet with a completion carrying the same bytes.
    Echo,
    /// Offered, openable, silent.
    Inert,
}

/// An open channel's rings and where it interrupts.
#[derive(Clone, Debug)]
struct Open {
    gpadl: u32,
    target_vp: u32,
    /// The guest-to-host ring (the host reads).
    upstream: HostRing,
    /// The host-to-guest ring (the host writes).
    downstream: HostRing,
    /// The host's read index in the upstream ring.
    read: u32,
    /// The host's write index in the downstream ring.
    write: u32,
    /// A ring was found corrupt: the channel does nothing more.
    failed: bool,
    /// A signal arrived; the work is due at this virtual time (ns).
    due: Option<u64>,
}

#[derive(Clone, Debug)]
struct Channel {
    offer: VmbusOfferChannel,
    device: Device,
    rescinded: bool,
    open: Option<Open>,
}

#[derive(Clone, Debug)]
struct Gpadl {
    id: u32,
    relid: u32,
    /// The ranges announced in the header.
    ranges: usize,
    /// The 8-byte words of the range list announced in the header.
    words_expected: usize,
    /// The words received so far (range headers and page numbers).
    words: Vec<u64>,
    /// The page numbers, once complete and valid.
    pfns: Option<Vec<u64>>,
}

#[derive(Copy, Clone, Debug)]
struct Connected {
    version: VmbusVersion,
    vp: u32,
    sint: u8,
    /// Before 5.0: the interrupt page.
    interrupt_page: Option<u64>,
}

/// A message for the guest: its bytes and where it goes.
#[derive(Clone, Debug)]
struct Outgoing {
    vp: u32,
    sint: u8,
    bytes: Vec<u8>,
    /// Claim a payload size above 240 ([`Misbehaviour::OversizeMessage`]).
    oversize: bool,
}

/// The server state.
#[derive(Clone, Debug)]
pub(crate) struct Server {
    kind: VmbusServer,
    misbehaviour: Option<Misbehaviour>,
    connected: Option<Connected>,
    channels: Vec<Channel>,
    gpadls: Vec<Gpadl>,
    /// Messages waiting to be queued (filled while handling one guest message).
    outbox: Vec<Outgoing>,
    bad_indices_done: bool,
}

/// The offer of `class` as channel `relid` of `kind`.
fn offer(kind: VmbusServer, relid: u32, class: Guid) -> VmbusOfferChannel {
    VmbusOfferChannel {
        header: VmbusOfferChannel::HEADER,
        interface_type: class,
        // A fixed instance per relid keeps runs reproducible.
        interface_instance: Guid::from_u128(
            0x6876_7369_6d00_0000_0000_0000_0000_0000 | u128::from(relid),
        ),
        rsvd: [0; 4],
        flags: VmbusOfferFlags::new(),
        mmio_megabytes: 0,
        user_defined: [0; 120],
        sub_channel_index: 0,
        mmio_megabytes_optional: 0,
        child_relid: relid,
        monitor_id: 0,
        monitor_flags: VmbusOfferMonitorFlags::new(),
        interrupt_flags: VmbusOfferInterruptFlags::new(),
        connection_id: kind.channel_connection_id(relid),
    }
}

/// The message type of a guest message, if it has the 8-byte header.
fn message_type(bytes: &[u8]) -> Option<VmbusMessageType> {
    VmbusMessageHeader::read_from_prefix(bytes)
        .ok()
        .map(|(h, _)| h.message_type)
}

/// Reads a fixed-size message, which must be at least `size_of::<T>()` bytes.
fn read<T: VmbusChannelMessage>(bytes: &[u8]) -> Option<T> {
    T::read_from_prefix(bytes).ok().map(|(m, _)| m)
}

/// The known versions (Linux `connection.c` `vmbus_versions`).
const KNOWN_VERSIONS: [VmbusVersion; 10] = [
    VmbusVersion::WS2008,
    VmbusVersion::WIN7,
    VmbusVersion::WIN8,
    VmbusVersion::WIN8_1,
    VmbusVersion::WIN10,
    VmbusVersion::WIN10_V4_1,
    VmbusVersion::WIN10_V5,
    VmbusVersion::WIN10_V5_1,
    VmbusVersion::WIN10_V5_2,
    VmbusVersion::WIN10_V5_3,
];

/// What the guest's message did, for the counters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Handled {
    Ok,
    Bad,
}

impl Server {
    pub(crate) fn new(kind: VmbusServer, misbehaviour: Option<Misbehaviour>) -> Self {
        let channels = [
            (ECHO_RELID, HV_ENLIGHTENMENTS_ECHO_GUID, Device::Echo),
            (2, HV_NIC_GUID, Device::Inert),
            (3, HV_SCSI_GUID, Device::Inert),
        ]
        .into_iter()
        .map(|(relid, class, device)| Channel {
            offer: offer(kind, relid, class),
            device,
            rescinded: false,
            open: None,
        })
        .collect();
        Self {
            kind,
            misbehaviour,
            connected: None,
            channels,
            gpadls: Vec::new(),
            outbox: Vec::new(),
            bad_indices_done: false,
        }
    }

    fn channel_mut(&mut self, relid: u32) -> Option<&mut Channel> {
        self.channels
            .iter_mut()
            .find(|c| c.offer.child_relid == relid)
    }

    /// Queues `message` for the connected guest.
    fn send(&mut self, message: &(impl IntoBytes + Immutable)) {
        self.send_bytes(message.as_bytes(), false);
    }

    fn send_bytes(&mut self, bytes: &[u8], oversize: bool) {
        if let Some(c) = self.connected {
            self.outbox.push(Outgoing {
                vp: c.vp,
                sint: c.sint,
                bytes: bytes.to_vec(),
                oversize,
            });
        }
    }

    /// Handles one guest message posted to `connection_id`.
    fn handle(&mut self, connection_id: u32, bytes: &[u8], vps: u32, ram_bytes: u64) -> Handled {
        let Some(message_type) = message_type(bytes) else {
            return Handled::Bad;
        };
        if message_type == VmbusMessageType::INITIATE_CONTACT {
            return self.initiate_contact(connection_id, bytes, vps);
        }
        if self.connected.is_none() {
            return Handled::Bad;
        }
        match message_type {
            VmbusMessageType::REQUEST_OFFERS => {
                let offers: Vec<_> = self
                    .channels
                    .iter()
                    .filter(|c| !c.rescinded)
                    .map(|c| c.offer)
                    .collect();
                for offer in offers {
                    let oversize = self.misbehaviour == Some(Misbehaviour::OversizeMessage)
                        && offer.child_relid == ECHO_RELID;
                    self.send_bytes(offer.as_bytes(), oversize);
                }
                self.send(&VmbusAllOffersDelivered {
                    header: VmbusAllOffersDelivered::HEADER,
                });
                Handled::Ok
            }
            VmbusMessageType::GPADL_HEADER => self.gpadl_header(bytes, ram_bytes),
            VmbusMessageType::GPADL_BODY => self.gpadl_body(bytes, ram_bytes),
            VmbusMessageType::OPEN_CHANNEL => self.open_channel(bytes, vps),
            VmbusMessageType::CLOSE_CHANNEL => {
                let Some(m) = read::<hv_defs::vmbus::VmbusCloseChannel>(bytes) else {
                    return Handled::Bad;
                };
                match self.channel_mut(m.child_relid) {
                    Some(channel) if channel.open.is_some() => {
                        channel.open = None;
                        Handled::Ok
                    }
                    _ => Handled::Bad,
                }
            }
            VmbusMessageType::GPADL_TEARDOWN => {
                let Some(m) = read::<VmbusGpadlTeardown>(bytes) else {
                    return Handled::Bad;
                };
                let Some(index) = self.gpadls.iter().position(|g| g.id == m.gpadl) else {
                    return Handled::Bad;
                };
                // The host stops using the pages: a channel still open on them is closed.
                for channel in &mut self.channels {
                    if channel.open.as_ref().is_some_and(|o| o.gpadl == m.gpadl) {
                        channel.open = None;
                    }
                }
                self.gpadls.remove(index);
                self.send(&VmbusGpadlTorndown {
                    header: VmbusGpadlTorndown::HEADER,
                    gpadl: m.gpadl,
                });
                Handled::Ok
            }
            VmbusMessageType::REL_ID_RELEASED => {
                let Some(m) = read::<hv_defs::vmbus::VmbusRelIdReleased>(bytes) else {
                    return Handled::Bad;
                };
                let before = self.channels.len();
                self.channels
                    .retain(|c| !(c.rescinded && c.offer.child_relid == m.child_relid));
                self.gpadls.retain(|g| g.relid != m.child_relid);
                if self.channels.len() < before {
                    Handled::Ok
                } else {
                    Handled::Bad
                }
            }
            VmbusMessageType::UNLOAD => {
                self.send(&VmbusUnloadResponse {
                    header: VmbusUnloadResponse::HEADER,
                });
                self.connected = None;
                self.gpadls.clear();
                for channel in &mut self.channels {
                    channel.open = None;
                }
                Handled::Ok
            }
            _ => Handled::Bad,
        }
    }

    fn initiate_contact(&mut self, connection_id: u32, bytes: &[u8], vps: u32) -> Handled {
        let Some(m) = read::<VmbusInitiateContact>(bytes) else {
            return Handled::Bad;
        };
        let version = m.version_requested;
        let (sint, interrupt_page) = if version.uses_target_info() {
            let info = VmbusTargetInfo::from_bits(m.interrupt_page_or_target_info);
            (info.sint(), None)
        } else {
            (VMBUS_MESSAGE_SINT, Some(m.interrupt_page_or_target_info))
        };
        if m.target_vcpu >= vps || usize::from(sint) >= HV_SYNIC_SINT_COUNT {
            return Handled::Bad;
        }
        let accepted = self.connected.is_none()
            && KNOWN_VERSIONS.contains(&version)
            && version <= self.kind.top_version()
            && connection_id == version.initiate_contact_connection_id()
            && interrupt_page.is_none_or(|gpa| gpa % HV_PAGE_SIZE as u64 == 0);
        let reply_to = Connected {
            version,
            vp: m.target_vcpu,
            sint,
            interrupt_page,
        };
        let response = VmbusVersionResponse {
            header: VmbusVersionResponse::HEADER,
            version_supported: u8::from(accepted),
            connection_state: VmbusConnectionState::SUCCESSFUL,
            padding: 0,
            message_connection_id: if accepted && version.uses_target_info() {
                VMBUS_MESSAGE_CONNECTION_ID_4
            } else {
                0
            },
        };
        // QEMU's response structure ends after the state byte (12 bytes with padding).
        let len = match self.kind {
            VmbusServer::Qemu => 12,
            VmbusServer::HyperV => size_of::<VmbusVersionResponse>(),
        };
        let previous = self.connected.replace(reply_to);
        self.send_bytes(&response.as_bytes()[..len], false);
        if !accepted {
            self.connected = previous;
        }
        Handled::Ok
    }

    fn gpadl_header(&mut self, bytes: &[u8], ram_bytes: u64) -> Handled {
        let Some(m) = read::<VmbusGpadlHeader>(bytes) else {
            return Handled::Bad;
        };
        let known = self
            .channels
            .iter()
            .any(|c| c.offer.child_relid == m.child_relid && !c.rescinded);
        if !known || self.gpadls.iter().any(|g| g.id == m.gpadl) {
            self.gpadl_created(m.child_relid, m.gpadl, STATUS_UNSUCCESSFUL);
            return Handled::Bad;
        }
        let words_expected = usize::from(m.range_buf_len) / 8;
        if m.range_count == 0
            || usize::from(m.range_buf_len) % 8 != 0
            || words_expected > MAX_GPADL_PAGES + usize::from(m.range_count)
        {
            self.gpadl_created(m.child_relid, m.gpadl, STATUS_UNSUCCESSFUL);
            return Handled::Bad;
        }
        let mut gpadl = Gpadl {
            id: m.gpadl,
            relid: m.child_relid,
            ranges: usize::from(m.range_count),
            words_expected,
            words: Vec::new(),
            pfns: None,
        };
        let ok = append_words(&mut gpadl, &bytes[size_of::<VmbusGpadlHeader>()..]);
        self.gpadls.push(gpadl);
        self.gpadl_progress(m.gpadl, ok, ram_bytes)
    }

    fn gpadl_body(&mut self, bytes: &[u8], ram_bytes: u64) -> Handled {
        let Some(m) = read::<VmbusGpadlBody>(bytes) else {
            return Handled::Bad;
        };
        let Some(gpadl) = self
            .gpadls
            .iter_mut()
            .find(|g| g.id == m.gpadl && g.pfns.is_none())
        else {
            return Handled::Bad;
        };
        let ok = append_words(gpadl, &bytes[size_of::<VmbusGpadlBody>()..]);
        self.gpadl_progress(m.gpadl, ok, ram_bytes)
    }

    /// After words arrived: when complete, checks the ranges and answers.
    fn gpadl_progress(&mut self, id: u32, ok: bool, ram_bytes: u64) -> Handled {
        let Some(index) = self.gpadls.iter().position(|g| g.id == id) else {
            return Handled::Bad;
        };
        let gpadl = &mut self.gpadls[index];
        if ok && gpadl.words.len() < gpadl.words_expected {
            return Handled::Ok;
        }
        let pfns = if ok {
            parse_ranges(&gpadl.words, ram_bytes).filter(|(_, ranges)| *ranges == gpadl.ranges)
        } else {
            None
        };
        let relid = gpadl.relid;
        match pfns {
            Some((pfns, _)) => {
                gpadl.pfns = Some(pfns);
                self.gpadl_created(relid, id, 0);
                Handled::Ok
            }
            None => {
                self.gpadls.remove(index);
                self.gpadl_created(relid, id, STATUS_UNSUCCESSFUL);
                Handled::Bad
            }
        }
    }

    fn gpadl_created(&mut self, relid: u32, gpadl: u32, status: u32) {
        self.send(&VmbusGpadlCreated {
            header: VmbusGpadlCreated::HEADER,
            child_relid: relid,
            gpadl,
            creation_status: status,
        });
    }

    fn open_channel(&mut self, bytes: &[u8], vps: u32) -> Handled {
        let Some(m) = read::<VmbusOpenChannel>(bytes) else {
            return Handled::Bad;
        };
        let result = |status| VmbusOpenResult {
            header: VmbusOpenResult::HEADER,
            child_relid: m.child_relid,
            open_id: m.open_id,
            status,
        };
        let pfns = self
            .gpadls
            .iter()
            .find(|g| g.id == m.ring_buffer_gpadl && g.relid == m.child_relid)
            .and_then(|g| g.pfns.clone());
        let misbehave = self.misbehaviour;
        let Some(channel) = self.channel_mut(m.child_relid) else {
            return Handled::Bad;
        };
        if channel.rescinded {
            return Handled::Bad;
        }
        if channel.device == Device::Echo && misbehave == Some(Misbehaviour::RescindOnOpen) {
            channel.rescinded = true;
            channel.open = None;
            self.send(&VmbusRescindChannelOffer {
                header: VmbusRescindChannelOffer::HEADER,
                child_relid: m.child_relid,
            });
            return Handled::Ok;
        }
        let split = m.downstream_ring_buffer_page_offset as usize;
        let rings = pfns.as_ref().and_then(|pfns| {
            if split == 0 || split >= pfns.len() {
                return None;
            }
            Some((
                HostRing::new(&pfns[..split])?,
                HostRing::new(&pfns[split..])?,
            ))
        });
        let (status, handled) = match rings {
            Some((upstream, downstream)) if channel.open.is_none() && m.target_vp < vps => {
                channel.open = Some(Open {
                    gpadl: m.ring_buffer_gpadl,
                    target_vp: m.target_vp,
                    upstream,
                    downstream,
                    read: 0,
                    write: 0,
                    failed: false,
                    due: None,
                });
                (0, Handled::Ok)
            }
            _ => (STATUS_UNSUCCESSFUL, Handled::Bad),
        };
        self.send(&result(status));
        handled
    }
}

/// Appends the little-endian words of `bytes` (whole words only) up to the expected count;
/// `false` when the guest sent more than announced.
fn append_words(gpadl: &mut Gpadl, bytes: &[u8]) -> bool {
    for chunk in bytes.chunks_exact(8) {
        if gpadl.words.len() == gpadl.words_expected {
            return false;
        }
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        gpadl.words.push(u64::from_le_bytes(word));
    }
    true
}

/// The page numbers of a complete range list: each range is a `VmbusGpaRange` word followed
/// by its page numbers. Returns the page numbers and the number of ranges; `None` for a
/// malformed list or a page outside RAM.
fn parse_ranges(words: &[u64], ram_bytes: u64) -> Option<(Vec<u64>, usize)> {
    let mut pfns = Vec::new();
    let mut ranges = 0;
    let mut at = 0;
    while at < words.len() {
        let range = VmbusGpaRange::read_from_bytes(words[at].as_bytes()).ok()?;
        let count = usize::try_from(range.pfn_count()?).ok()?;
        let list = words.get(at + 1..at + 1 + count)?;
        for &pfn in list {
            if pfn >= ram_bytes / HV_PAGE_SIZE as u64 {
                return None;
            }
            pfns.push(pfn);
        }
        at += 1 + count;
        ranges += 1;
    }
    (!pfns.is_empty() && pfns.len() <= MAX_GPADL_PAGES).then_some((pfns, ranges))
}

/// What one round of echo work did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct EchoRound {
    packets: u64,
    signal: bool,
    fault: Option<RingFault>,
}

impl Open {
    /// Echoes every complete packet of the upstream ring it has room for (see the module
    /// docs for the signalling rules).
    fn echo(&mut self, mem: &mut dyn GuestMemory, bad_indices: bool) -> EchoRound {
        match self.echo_inner(mem, bad_indices) {
            Ok(round) => round,
            Err(fault) => {
                self.failed = true;
                EchoRound {
                    fault: Some(fault),
                    ..EchoRound::default()
                }
            }
        }
    }

    fn echo_inner(
        &mut self,
        mem: &mut dyn GuestMemory,
        bad_indices: bool,
    ) -> Result<EchoRound, RingFault> {
        let up = &self.upstream;
        let down = &self.downstream;
        let written = up.index(mem, WRITE_INDEX)?;
        let guest_read = down.index(mem, READ_INDEX)?;
        let up_len = up.data_len();
        let down_len = down.data_len();
        let free_before = up_len - up.distance(self.read, written);
        let down_was_empty = self.write == guest_read;
        let mut round = EchoRound::default();
        let mut blocked = None;
        while self.read != written {
            let available = up.distance(self.read, written);
            let mut descriptor = [0u8; 16];
            if (available as usize) < descriptor.len() + VMBUS_RING_TRAILER_SIZE {
                return Err(RingFault::Packet);
            }
            up.read(mem, self.read, &mut descriptor)?;
            let Ok(d) = VmbusPacketDescriptor::read_from_bytes(&descriptor) else {
                return Err(RingFault::Packet);
            };
            let len = u32::from(d.length8) * 8;
            let offset = u32::from(d.data_offset8) * 8;
            if d.data_offset8 < VMBUS_PACKET_DESCRIPTOR_SIZE8
                || offset > len
                || len + VMBUS_RING_TRAILER_SIZE as u32 > available
            {
                return Err(RingFault::Packet);
            }
            if d.packet_type == VmbusPacketType::DATA_IN_BAND {
                let mut payload = vec![0; (len - offset) as usize];
                up.read(mem, up.advance(self.read, offset), &mut payload)?;
                let reply = completion(d.transaction_id, &payload);
                let need = (reply.len() + VMBUS_RING_TRAILER_SIZE) as u32;
                let free = down_len - down.distance(guest_read, self.write);
                if need >= free {
                    blocked = Some(need);
                    break;
                }
                self.write = down.put_packet(mem, self.write, &reply)?;
                round.packets += 1;
            }
            self.read = up.advance(self.read, len + VMBUS_RING_TRAILER_SIZE as u32);
        }
        let published = if bad_indices && round.packets > 0 {
            // A broken host: it publishes the bad index and does nothing more.
            self.failed = true;
            down_len + 8
        } else {
            self.write
        };
        down.set_control(mem, WRITE_INDEX, published)?;
        up.set_control(mem, READ_INDEX, self.read)?;
        down.set_control(mem, PENDING_SEND_SIZE, blocked.unwrap_or(0))?;
        if round.packets > 0 && down_was_empty && down.control(mem, INTERRUPT_MASK)? == 0 {
            round.signal = true;
        }
        let pending = up.control(mem, PENDING_SEND_SIZE)?;
        let honours = up.control(mem, FEATURE_BITS)? & 1 != 0;
        let free_after = up_len - up.distance(self.read, written);
        if honours && pending != 0 && free_before <= pending && free_after > pending {
            round.signal = true;
        }
        Ok(round)
    }
}

/// A completion packet with `transaction_id` carrying `payload`, padded to 8 bytes.
fn completion(transaction_id: u64, payload: &[u8]) -> Vec<u8> {
    let padded = payload.len().next_multiple_of(8);
    let descriptor = VmbusPacketDescriptor {
        packet_type: VmbusPacketType::COMPLETION,
        data_offset8: VMBUS_PACKET_DESCRIPTOR_SIZE8,
        length8: VMBUS_PACKET_DESCRIPTOR_SIZE8 + (padded / 8) as u16,
        flags: VmbusPacketFlags::new(),
        transaction_id,
    };
    let mut bytes = descriptor.as_bytes().to_vec();
    bytes.extend_from_slice(payload);
    bytes.resize(16 + padded, 0);
    bytes
}

impl fmt::Display for VmbusServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Vm {
    /// `HvCallPostMessage`: to the VMBus server when the connection is one of its message
    /// connections, else to the SynIC's ports.
    pub(crate) fn post_message_or_vmbus(
        &mut self,
        mem: &mut dyn GuestMemory,
        input: &[u8],
    ) -> HvStatus {
        let Ok(post) = check_post(input) else {
            return self.post_message(mem, input);
        };
        let id = post.connection_id.into_bits();
        match &self.vmbus {
            Some(server) if server.kind.message_connections().contains(&id) => {
                self.vmbus_post(mem, id, &post)
            }
            _ => self.post_message(mem, input),
        }
    }

    fn vmbus_post(
        &mut self,
        mem: &mut dyn GuestMemory,
        id: u32,
        post: &HvPostMessageInput,
    ) -> HvStatus {
        let vps = self.vps.len() as u32;
        let ram_bytes = self.ram_bytes;
        let Some(server) = self.vmbus.as_mut() else {
            return HvStatus::INVALID_CONNECTION_ID;
        };
        let stats = &mut self.stats.vmbus;
        stats.messages_from_guest += 1;
        let bytes = &post.payload[..(post.payload_size as usize).min(VMBUS_MAX_MESSAGE_SIZE)];
        if post.message_type != HvMessageType::new(VMBUS_SYNIC_MESSAGE_TYPE)
            || server.handle(id, bytes, vps, ram_bytes) == Handled::Bad
        {
            stats.bad_messages += 1;
        }
        self.vmbus_flush(mem);
        HvStatus::SUCCESS
    }

    /// Queues the server's outgoing messages at their VPs.
    fn vmbus_flush(&mut self, mem: &mut dyn GuestMemory) {
        let Some(server) = self.vmbus.as_mut() else {
            return;
        };
        let outbox = std::mem::take(&mut server.outbox);
        let now = self.ref_time();
        for out in outbox {
            let Ok(mut message) = HvMessage::new(
                HvMessageType::new(VMBUS_SYNIC_MESSAGE_TYPE),
                u64::from(VMBUS_MESSAGE_PORT_ID),
                &out.bytes,
            ) else {
                continue;
            };
            if out.oversize {
                message.header.payload_size = u8::MAX;
            }
            let Some(vp) = self.vps.get_mut(out.vp as usize) else {
                continue;
            };
            self.stats.vmbus.messages_to_guest += 1;
            let mut env = Env {
                mem: &mut *mem,
                stats: &mut self.stats,
                now,
            };
            vp.synic.enqueue(
                &mut env,
                &mut vp.apic,
                usize::from(out.sint),
                Source::Port(VMBUS_MESSAGE_PORT_ID),
                message,
            );
        }
    }

    /// `HvCallSignalEvent`: to a VMBus channel when the connection is one of an offered
    /// channel's, else to the SynIC's ports.
    pub(crate) fn signal_event_or_vmbus(
        &mut self,
        mem: &mut dyn GuestMemory,
        input: &[u8],
    ) -> HvStatus {
        let Ok(signal) = read_signal(input) else {
            return self.signal_event(mem, input);
        };
        let id = signal.connection_id.into_bits();
        let now = self.now_ns;
        let Some(server) = self.vmbus.as_mut() else {
            return self.signal_event(mem, input);
        };
        let kind = server.kind;
        let connected = server.connected;
        let Some(channel) = server
            .channels
            .iter_mut()
            .find(|c| kind.channel_connection_id(c.offer.child_relid) == id)
        else {
            return self.signal_event(mem, input);
        };
        // The channel's port has one flag (Linux always signals flag 0).
        if signal.flag_number != 0 {
            return HvStatus::INVALID_PARAMETER;
        }
        self.stats.vmbus.guest_signals += 1;
        // Before 5.0 the guest also set the channel's bit in the interrupt page's send half.
        if let Some(page) = connected.and_then(|c| c.interrupt_page) {
            let relid = channel.offer.child_relid;
            let at = page + HV_PAGE_SIZE as u64 / 2 + u64::from(relid / 8);
            let mut byte = [0u8];
            if mem.read_phys(at, &mut byte) && byte[0] & 1 << (relid % 8) != 0 {
                byte[0] &= !(1 << (relid % 8));
                let _ = mem.write_phys(at, &byte);
            }
        }
        if let Some(open) = &mut channel.open
            && channel.device == Device::Echo
            && open.due.is_none()
        {
            open.due = Some(now + HOST_LATENCY_NS);
        }
        HvStatus::SUCCESS
    }

    /// The earliest time the VMBus host has channel work due, in ns.
    pub(crate) fn vmbus_deadline_ns(&self) -> Option<u64> {
        self.vmbus
            .as_ref()?
            .channels
            .iter()
            .filter_map(|c| c.open.as_ref()?.due)
            .min()
    }

    /// Does the channel work that is due: echoes, then signals the guest where the ring rules
    /// say so.
    pub(crate) fn vmbus_run(&mut self, mem: &mut dyn GuestMemory) {
        let now = self.now_ns;
        let Some(server) = self.vmbus.as_mut() else {
            return;
        };
        let Some(connected) = server.connected else {
            return;
        };
        let mut signals = Vec::new();
        let mut bad_indices =
            server.misbehaviour == Some(Misbehaviour::BadIndices) && !server.bad_indices_done;
        for channel in &mut server.channels {
            let relid = channel.offer.child_relid;
            let Some(open) = &mut channel.open else {
                continue;
            };
            if open.due.is_none_or(|due| due > now) {
                continue;
            }
            open.due = None;
            if open.failed {
                continue;
            }
            let round = open.echo(mem, bad_indices);
            if round.packets > 0 && bad_indices {
                bad_indices = false;
                server.bad_indices_done = true;
            }
            self.stats.vmbus.packets_echoed += round.packets;
            if round.fault.is_some() {
                self.stats.vmbus.ring_errors += 1;
            }
            if round.signal {
                signals.push((open.target_vp, relid));
            }
        }
        for (vp, relid) in signals {
            self.vmbus_signal_guest(mem, connected, vp, relid);
        }
    }

    /// Signals channel `relid` on VP `vp` (see the module docs).
    fn vmbus_signal_guest(
        &mut self,
        mem: &mut dyn GuestMemory,
        connected: Connected,
        vp: u32,
        relid: u32,
    ) {
        let flag = if connected.version >= VmbusVersion::WIN8 {
            relid
        } else {
            if let Some(page) = connected.interrupt_page {
                let at = page + u64::from(relid / 8);
                let mut byte = [0u8];
                if mem.read_phys(at, &mut byte) {
                    byte[0] |= 1 << (relid % 8);
                    let _ = mem.write_phys(at, &byte);
                }
            }
            0
        };
        let now = self.ref_time();
        let Some(v) = self.vps.get_mut(vp as usize) else {
            return;
        };
        self.stats.vmbus.host_signals += 1;
        let mut env = Env {
            mem,
            stats: &mut self.stats,
            now,
        };
        let _ = v
            .synic
            .signal(&mut env, &mut v.apic, usize::from(VMBUS_MESSAGE_SINT), flag);
    }
}

#[cfg(test)]
mod tests;
