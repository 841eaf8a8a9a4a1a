//! The VMBus client: a poll-driven state machine for the control protocol and the channels.

use hv_defs::status::HvError;
use hv_defs::vmbus::{
    VMBUS_MAX_CHILD_RELID, VMBUS_MAX_USER_DEFINED_BYTES, VMBUS_MESSAGE_CONNECTION_ID,
    VMBUS_MESSAGE_SINT, VMBUS_SYNIC_MESSAGE_TYPE, VmbusChannelMessage, VmbusCloseChannel,
    VmbusConnectionState, VmbusGpadlCreated, VmbusGpadlTeardown, VmbusInitiateContact,
    VmbusMessageType, VmbusOfferChannel, VmbusOpenChannel, VmbusOpenResult, VmbusRelIdReleased,
    VmbusRequestOffers, VmbusTargetInfo, VmbusUnload, VmbusVersion,
};
use zerocopy::IntoBytes;

use super::channel::{
    Channel, ChannelInfo, ChannelSlot, ChannelState, ChannelStatus, InterruptPage,
    RingBufferMemory, dedicated_interrupt, signal_connection_id,
};
use super::gpadl::{GPADL_MAX_PAGES, Gpadl, GpadlSlot, GpadlState, next_message};
use super::message::{HostMessage, MessageError, VersionResponse, parse_message};
use super::packet::{OutgoingPacket, Packet};
use super::ring::{ReadBatch, RingError, RingReader, RingWriter};
use super::transport::VmbusTransport;

/// The versions [`VmbusClient::initiate_contact`] tries by default, newest first, down to
/// WS2008 (Linux `connection.c` `vmbus_versions` lists 5.3 down to 0.13; 6.0 is OpenVMM's
/// `Copper`, asked for here without feature flags).
pub const DEFAULT_VERSIONS: &[VmbusVersion] = &[
    VmbusVersion::V6_0,
    VmbusVersion::WIN10_V5_3,
    VmbusVersion::WIN10_V5_2,
    VmbusVersion::WIN10_V5_1,
    VmbusVersion::WIN10_V5,
    VmbusVersion::WIN10_V4_1,
    VmbusVersion::WIN10,
    VmbusVersion::WIN8_1,
    VmbusVersion::WIN8,
    VmbusVersion::WIN7,
    VmbusVersion::WS2008,
];

/// The two monitor pages named in the initiate-contact message (TLFS 11.7.4 layout).
///
/// This client signals with `HvSignalEvent` only, so it never touches the pages; the host
/// may write them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MonitorPages {
    host_to_guest: u64,
    guest_to_host: u64,
}

impl MonitorPages {
    /// The monitor pages at these guest physical addresses (Linux `monitor_pages[0]` and
    /// `[1]`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when an address is not page aligned.
    ///
    /// # Safety
    ///
    /// Each GPA is a zeroed page the guest uses for nothing else while connected (from the
    /// initiate-contact message until the unload response): the host may write both.
    pub unsafe fn new(host_to_guest_gpa: u64, guest_to_host_gpa: u64) -> Result<Self, Error> {
        let page = hv_defs::HV_PAGE_SIZE as u64;
        if host_to_guest_gpa % page != 0 || guest_to_host_gpa % page != 0 {
            return Err(Error::InvalidArgument(
                "monitor page GPAs must be page aligned",
            ));
        }
        Ok(Self {
            host_to_guest: host_to_guest_gpa,
            guest_to_host: guest_to_host_gpa,
        })
    }
}

/// How the client connects.
#[derive(Debug)]
pub struct ConnectConfig<'a> {
    /// Versions to ask for, newest first ([`DEFAULT_VERSIONS`]).
    pub versions: &'a [VmbusVersion],
    /// VP index that receives the host's messages (and, before 2.4, channel interrupts).
    pub target_vp: u32,
    /// SINT for host messages, named to the host from 5.0 on ([`VMBUS_MESSAGE_SINT`];
    /// before 5.0 the host always uses that one).
    pub message_sint: u8,
    /// VTL for host messages (from 5.0 on).
    pub message_vtl: u8,
    /// The monitor pages.
    pub monitor_pages: MonitorPages,
    /// The interrupt page; versions before 5.0 need one and are skipped without it.
    pub interrupt_page: Option<InterruptPage<'a>>,
}

impl<'a> ConnectConfig<'a> {
    /// [`DEFAULT_VERSIONS`], messages to SINT [`VMBUS_MESSAGE_SINT`] of VTL 0 on
    /// `target_vp`.
    #[must_use]
    pub const fn new(
        target_vp: u32,
        monitor_pages: MonitorPages,
        interrupt_page: Option<InterruptPage<'a>>,
    ) -> Self {
        Self {
            versions: DEFAULT_VERSIONS,
            target_vp,
            message_sint: VMBUS_MESSAGE_SINT,
            message_vtl: 0,
            monitor_pages,
            interrupt_page,
        }
    }
}

/// Where the connection is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connected: [`VmbusClient::initiate_contact`] tries the next version.
    Disconnected,
    /// `INITIATE_CONTACT` for this version posted; waiting for the version response.
    Contacting(VmbusVersion),
    /// Connected with this version.
    Connected(VmbusVersion),
    /// `UNLOAD` posted; waiting for the unload response.
    Unloading(VmbusVersion),
}

/// What a host message did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The host refused `version`. Call [`VmbusClient::initiate_contact`] to try `next`;
    /// `None` means no version is left.
    VersionRejected {
        /// The refused version.
        version: VmbusVersion,
        /// The next version `initiate_contact` will ask for.
        next: Option<VmbusVersion>,
    },
    /// The host accepted the version but reported a failed connection (low resources, or
    /// another failure). The client is disconnected; `initiate_contact` asks for the same
    /// version again.
    ConnectionRefused {
        /// The version.
        version: VmbusVersion,
        /// The state the host reported.
        state: VmbusConnectionState,
    },
    /// Connected. Call [`VmbusClient::request_offers`] next.
    Connected {
        /// The negotiated version.
        version: VmbusVersion,
        /// The connection id of every later message.
        message_connection_id: u32,
    },
    /// A channel was offered ([`VmbusClient::channel`] has the details).
    Offer {
        /// Its relid.
        relid: u32,
    },
    /// Every initial offer has been delivered.
    AllOffersDelivered,
    /// The host withdrew a channel: it refuses I/O. Close it if open, then release it with
    /// [`VmbusClient::release_channel`].
    Rescinded {
        /// Its relid.
        relid: u32,
        /// An open in progress was abandoned (Linux `vmbus_open` fails with `-ENODEV`).
        open_cancelled: bool,
    },
    /// The host accepted a GPADL.
    GpadlCreated {
        /// The channel.
        relid: u32,
        /// The GPADL.
        gpadl: u32,
    },
    /// The host refused a GPADL; it is forgotten and its pages are the guest's again.
    GpadlFailed {
        /// The channel.
        relid: u32,
        /// The GPADL.
        gpadl: u32,
        /// The host's (NTSTATUS) code.
        status: u32,
    },
    /// A GPADL was torn down; its pages are the guest's again.
    GpadlTornDown {
        /// The GPADL.
        gpadl: u32,
    },
    /// A channel is open.
    Opened {
        /// Its relid.
        relid: u32,
    },
    /// The host refused to open a channel.
    OpenFailed {
        /// Its relid.
        relid: u32,
        /// The host's (NTSTATUS) code.
        status: u32,
    },
    /// The connection is closed; every channel and GPADL is forgotten.
    Unloaded,
    /// A well-formed message that no longer matters: anything but the unload response while
    /// unloading, or the open result of a channel rescinded while opening.
    Discarded(VmbusMessageType),
}

/// Why an operation or a host message was refused. The client's state is unchanged (except
/// for the part of a GPADL already posted, see [`Error::GpadlIncomplete`], and a ring found
/// corrupt, which stays stopped).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Posting a message failed (see [`Error::is_retryable`]).
    Transport(HvError),
    /// Some messages of a GPADL were posted, then a post failed; the GPADL stays in
    /// [`GpadlState::Sending`]: resume with [`VmbusClient::continue_gpadl`].
    GpadlIncomplete {
        /// The GPADL.
        gpadl: u32,
        /// The failure.
        error: HvError,
    },
    /// A packet was written but signalling the host failed; retry the signal with
    /// [`VmbusClient::signal_channel`], not the send.
    Signal(HvError),
    /// The host message is malformed.
    Message(MessageError),
    /// The host message is not expected now.
    Unexpected {
        /// Its type.
        message_type: VmbusMessageType,
        /// The connection state.
        state: ConnectionState,
    },
    /// The operation is not allowed in this connection state.
    InvalidState(ConnectionState),
    /// The host refused every version.
    NoCommonVersion,
    /// The negotiated version does not support the operation (unload before 3.0).
    NotSupported(VmbusVersion),
    /// An offer names a relid outside 1 ..= 2047.
    InvalidRelid(u32),
    /// An offer repeats a relid that is still in use.
    DuplicateRelid(u32),
    /// No channel has this relid.
    UnknownRelid(u32),
    /// The channel table is full; the offer was not recorded.
    ChannelTableFull {
        /// The offer's relid.
        relid: u32,
    },
    /// The channel was rescinded.
    ChannelRescinded(u32),
    /// The channel is not in the state the operation needs.
    ChannelState {
        /// The channel.
        relid: u32,
        /// Its state.
        status: ChannelStatus,
    },
    /// The channel was not rescinded (only rescinded channels are released).
    NotRescinded(u32),
    /// An open result names the wrong open id.
    UnexpectedOpenResult(VmbusOpenResult),
    /// The GPADL table is full.
    GpadlTableFull,
    /// No GPADL has this handle.
    UnknownGpadl(u32),
    /// A GPADL message from the host does not match the GPADL (wrong channel or state).
    UnexpectedGpadlCreated(VmbusGpadlCreated),
    /// The GPADL is not in the state the operation needs (or holds an open channel's rings).
    GpadlState {
        /// The GPADL.
        gpadl: u32,
        /// Its state.
        state: GpadlState,
    },
    /// The GPADL would be empty or larger than [`GPADL_MAX_PAGES`].
    GpadlSize(usize),
    /// An argument is invalid.
    InvalidArgument(&'static str),
    /// A ring operation failed; after [`RingError::Corrupt`] the channel refuses all I/O.
    Ring(RingError),
}

impl Error {
    /// Whether the operation may succeed if simply retried later: posting failed because the
    /// host's message buffers were full (`HV_STATUS_INSUFFICIENT_BUFFERS`, or
    /// `HV_STATUS_INSUFFICIENT_MEMORY`; Linux `vmbus_post_msg` retries both), or the ring was
    /// full.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        let busy =
            |e: &HvError| *e == HvError::INSUFFICIENT_BUFFERS || *e == HvError::INSUFFICIENT_MEMORY;
        match self {
            Self::Transport(e) | Self::GpadlIncomplete { error: e, .. } => busy(e),
            Self::Ring(RingError::Full { .. }) => true,
            _ => false,
        }
    }
}

impl From<MessageError> for Error {
    fn from(e: MessageError) -> Self {
        Self::Message(e)
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "posting a message failed: {e}"),
            Self::GpadlIncomplete { gpadl, error } => {
                write!(f, "GPADL {gpadl:#x} partly posted: {error}")
            }
            Self::Signal(e) => write!(f, "signalling the host failed: {e}"),
            Self::Message(e) => write!(f, "malformed host message: {e}"),
            Self::Unexpected {
                message_type,
                state,
            } => write!(f, "unexpected {message_type:?} while {state:?}"),
            Self::InvalidState(state) => write!(f, "not allowed while {state:?}"),
            Self::NoCommonVersion => f.write_str("the host refused every VMBus version"),
            Self::NotSupported(v) => write!(f, "not supported by VMBus {v:?}"),
            Self::InvalidRelid(r) => write!(f, "relid {r} is outside 1..={VMBUS_MAX_CHILD_RELID}"),
            Self::DuplicateRelid(r) => write!(f, "relid {r} offered twice"),
            Self::UnknownRelid(r) => write!(f, "no channel has relid {r}"),
            Self::ChannelTableFull { relid } => {
                write!(f, "no free channel slot for the offer of relid {relid}")
            }
            Self::ChannelRescinded(r) => write!(f, "channel {r} was rescinded"),
            Self::ChannelState { relid, status } => write!(f, "channel {relid} is {status:?}"),
            Self::NotRescinded(r) => write!(f, "channel {r} was not rescinded"),
            Self::UnexpectedOpenResult(r) => write!(
                f,
                "open result for channel {} with open id {:#x} matches no open",
                r.child_relid, r.open_id
            ),
            Self::GpadlTableFull => f.write_str("no free GPADL slot"),
            Self::UnknownGpadl(g) => write!(f, "no GPADL has handle {g:#x}"),
            Self::UnexpectedGpadlCreated(m) => write!(
                f,
                "GPADL {:#x} created for channel {} does not match a GPADL being created",
                m.gpadl, m.child_relid
            ),
            Self::GpadlState { gpadl, state } => write!(f, "GPADL {gpadl:#x} is {state:?}"),
            Self::GpadlSize(n) => {
                write!(f, "a GPADL of {n} pages is not in 1..={GPADL_MAX_PAGES}")
            }
            Self::InvalidArgument(what) => f.write_str(what),
            Self::Ring(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for Error {}

/// [`VmbusClient::open_channel`] failed: the error and the ring memory, handed back.
#[derive(Debug)]
pub struct OpenError<'a> {
    /// Why.
    pub error: Error,
    /// The memory passed in.
    pub memory: RingBufferMemory<'a>,
}

impl From<OpenError<'_>> for Error {
    fn from(e: OpenError<'_>) -> Self {
        e.error
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Offers {
    NotRequested,
    Requested,
    AllDelivered,
}

#[derive(Copy, Clone, Debug)]
enum State {
    /// Not connected; `initiate_contact` starts at `versions[next]`.
    Idle {
        next: usize,
    },
    Contacting {
        index: usize,
    },
    Connected {
        version: VmbusVersion,
        offers: Offers,
    },
    Unloading {
        version: VmbusVersion,
    },
}

/// The guest side of VMBus.
///
/// A poll-driven state machine: the caller calls an operation (which posts messages through
/// a [`VmbusTransport`]), then feeds each host message to [`VmbusClient::handle_message`],
/// which only updates state and reports an [`Event`]; it never calls out. Channels and
/// GPADLs live in caller-provided slot arrays.
#[derive(Debug)]
pub struct VmbusClient<'s, 'a> {
    config: ConnectConfig<'a>,
    state: State,
    message_connection_id: u32,
    channels: &'s mut [ChannelSlot<'a>],
    gpadls: &'s mut [GpadlSlot<'a>],
    next_gpadl: u32,
    next_open_id: u32,
}

/// Posts `bytes` as a VMBus channel message.
fn post(
    transport: &mut impl VmbusTransport,
    connection_id: u32,
    bytes: &[u8],
) -> Result<(), HvError> {
    transport.post_message(connection_id, VMBUS_SYNIC_MESSAGE_TYPE, bytes)
}

/// Signals the host about `offer`'s channel: the interrupt-page bit first where the version
/// and the offer need it, then `HvSignalEvent` (Linux `connection.c` `vmbus_set_event`).
fn signal(
    transport: &mut impl VmbusTransport,
    version: VmbusVersion,
    interrupt_page: Option<&InterruptPage<'_>>,
    offer: &VmbusOfferChannel,
) -> Result<(), Error> {
    if !version.uses_target_info() && !dedicated_interrupt(offer, version) {
        if let Some(page) = interrupt_page {
            page.set_send_bit(offer.child_relid);
        }
    }
    transport
        .signal_event(signal_connection_id(offer, version))
        .map_err(Error::Signal)
}

impl<'s, 'a> VmbusClient<'s, 'a> {
    /// A disconnected client that records channels in `channels` and GPADLs in `gpadls`
    /// (pass arrays of [`ChannelSlot::EMPTY`] and [`GpadlSlot::EMPTY`]).
    pub fn new(
        config: ConnectConfig<'a>,
        channels: &'s mut [ChannelSlot<'a>],
        gpadls: &'s mut [GpadlSlot<'a>],
    ) -> Self {
        for slot in channels.iter_mut() {
            slot.0 = None;
        }
        for slot in gpadls.iter_mut() {
            slot.0 = None;
        }
        Self {
            config,
            state: State::Idle { next: 0 },
            message_connection_id: VMBUS_MESSAGE_CONNECTION_ID,
            channels,
            gpadls,
            next_gpadl: 1,
            next_open_id: 1,
        }
    }

    /// The connection state.
    #[must_use]
    pub fn state(&self) -> ConnectionState {
        match self.state {
            State::Idle { .. } => ConnectionState::Disconnected,
            State::Contacting { index } => ConnectionState::Contacting(self.config.versions[index]),
            State::Connected { version, .. } => ConnectionState::Connected(version),
            State::Unloading { version } => ConnectionState::Unloading(version),
        }
    }

    /// The negotiated version, while connected.
    #[must_use]
    pub fn version(&self) -> Option<VmbusVersion> {
        match self.state {
            State::Connected { version, .. } => Some(version),
            _ => None,
        }
    }

    /// The connection id guest messages go to, while connected.
    #[must_use]
    pub fn message_connection_id(&self) -> Option<u32> {
        self.version().map(|_| self.message_connection_id)
    }

    /// Whether the host has sent `ALL_OFFERS_DELIVERED`.
    #[must_use]
    pub fn all_offers_delivered(&self) -> bool {
        matches!(
            self.state,
            State::Connected {
                offers: Offers::AllDelivered,
                ..
            }
        )
    }

    /// The interrupt page, if one was configured (before 2.4 the caller reads signalled
    /// channels from it).
    #[must_use]
    pub const fn interrupt_page(&self) -> Option<&InterruptPage<'a>> {
        self.config.interrupt_page.as_ref()
    }

    fn connected(&self) -> Result<VmbusVersion, Error> {
        match self.state {
            State::Connected { version, .. } => Ok(version),
            _ => Err(Error::InvalidState(self.state())),
        }
    }

    fn channel_index(&self, relid: u32) -> Option<usize> {
        self.channels
            .iter()
            .position(|s| s.0.as_ref().is_some_and(|c| c.offer.child_relid == relid))
    }

    fn gpadl_index(&self, handle: u32) -> Option<usize> {
        self.gpadls
            .iter()
            .position(|s| s.0.as_ref().is_some_and(|g| g.handle == handle))
    }

    /// The channel with `relid`.
    #[must_use]
    pub fn channel(&self, relid: u32) -> Option<ChannelInfo<'_>> {
        let version = self.version()?;
        let channel = self.channels[self.channel_index(relid)?].0.as_ref()?;
        Some(Self::info(channel, version))
    }

    fn info<'c>(channel: &'c Channel<'a>, version: VmbusVersion) -> ChannelInfo<'c> {
        ChannelInfo {
            offer: &channel.offer,
            version,
            rescinded: channel.rescinded,
            status: channel.status(),
        }
    }

    /// Every recorded channel, in slot order.
    pub fn channels(&self) -> impl Iterator<Item = ChannelInfo<'_>> {
        let version = self.version();
        self.channels.iter().filter_map(move |slot| {
            let channel = slot.0.as_ref()?;
            Some(Self::info(channel, version?))
        })
    }

    /// The state of GPADL `handle`, or `None` when the client does not know it (never
    /// created, refused, torn down or released).
    #[must_use]
    pub fn gpadl_state(&self, handle: u32) -> Option<GpadlState> {
        Some(self.gpadls[self.gpadl_index(handle)?].0.as_ref()?.state)
    }

    /// Posts `INITIATE_CONTACT` for the next version to try: from the newest after a fresh
    /// start or an unload, else the one after the last refused. Versions before 5.0 are
    /// skipped without an interrupt page; a 5.0-or-later version whose connection (4) the
    /// host rejects with `HV_STATUS_INVALID_CONNECTION_ID` is skipped at once, as Linux does
    /// (QEMU has no connection 4). Returns the version asked for.
    ///
    /// The interrupt page, if any, is zeroed first.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless disconnected; [`Error::NoCommonVersion`] when no
    /// version is left; [`Error::Transport`] when posting fails (the same version is asked
    /// for next time).
    pub fn initiate_contact(
        &mut self,
        transport: &mut impl VmbusTransport,
    ) -> Result<VmbusVersion, Error> {
        let State::Idle { next } = self.state else {
            return Err(Error::InvalidState(self.state()));
        };
        if let Some(page) = &self.config.interrupt_page {
            page.clear();
        }
        let mut index = next;
        while let Some(&version) = self.config.versions.get(index) {
            let interrupt_page_or_target_info = if version.uses_target_info() {
                VmbusTargetInfo::new()
                    .with_sint(self.config.message_sint)
                    .with_vtl(self.config.message_vtl)
                    .into_bits()
            } else if let Some(page) = &self.config.interrupt_page {
                page.gpa()
            } else {
                index += 1;
                continue;
            };
            let message = VmbusInitiateContact {
                header: VmbusInitiateContact::HEADER,
                version_requested: version,
                target_vcpu: self.config.target_vp,
                interrupt_page_or_target_info,
                monitor_page1: self.config.monitor_pages.host_to_guest,
                monitor_page2: self.config.monitor_pages.guest_to_host,
            };
            let connection_id = version.initiate_contact_connection_id();
            match post(transport, connection_id, message.as_bytes()) {
                Ok(()) => {
                    self.state = State::Contacting { index };
                    return Ok(version);
                }
                Err(HvError::INVALID_CONNECTION_ID)
                    if connection_id != VMBUS_MESSAGE_CONNECTION_ID =>
                {
                    index += 1;
                }
                Err(e) => {
                    self.state = State::Idle { next: index };
                    return Err(Error::Transport(e));
                }
            }
        }
        self.state = State::Idle { next: index };
        Err(Error::NoCommonVersion)
    }

    /// Posts `REQUEST_OFFERS`; the offers then arrive as [`Event::Offer`]s.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless connected and not asked before; [`Error::Transport`].
    pub fn request_offers(&mut self, transport: &mut impl VmbusTransport) -> Result<(), Error> {
        let State::Connected {
            version,
            offers: Offers::NotRequested,
        } = self.state
        else {
            return Err(Error::InvalidState(self.state()));
        };
        let message = VmbusRequestOffers {
            header: VmbusRequestOffers::HEADER,
        };
        post(transport, self.message_connection_id, message.as_bytes())
            .map_err(Error::Transport)?;
        self.state = State::Connected {
            version,
            offers: Offers::Requested,
        };
        Ok(())
    }

    /// Posts `UNLOAD` (3.0 and later, as Linux `vmbus_initiate_unload`); every channel and
    /// GPADL is forgotten when [`Event::Unloaded`] arrives.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless connected; [`Error::NotSupported`] before 3.0;
    /// [`Error::Transport`].
    pub fn unload(&mut self, transport: &mut impl VmbusTransport) -> Result<(), Error> {
        let version = self.connected()?;
        if version < VmbusVersion::WIN8_1 {
            return Err(Error::NotSupported(version));
        }
        let message = VmbusUnload {
            header: VmbusUnload::HEADER,
        };
        post(transport, self.message_connection_id, message.as_bytes())
            .map_err(Error::Transport)?;
        self.state = State::Unloading { version };
        Ok(())
    }

    /// Processes one host message: a copy of the payload of a SynIC message of type
    /// [`VMBUS_SYNIC_MESSAGE_TYPE`], `payload_size` bytes long.
    ///
    /// # Errors
    ///
    /// A malformed message, or one that does not fit the state (see [`Error`]); the state
    /// is then unchanged.
    pub fn handle_message(&mut self, bytes: &[u8]) -> Result<Event, Error> {
        let message = parse_message(bytes)?;
        // `parse_message` succeeded, so the 4-byte type is there.
        let message_type =
            VmbusMessageType::new(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
        let unexpected = Error::Unexpected {
            message_type,
            state: self.state(),
        };
        match (self.state, message) {
            (State::Contacting { index }, HostMessage::VersionResponse(r)) => {
                self.on_version_response(index, r)
            }
            (State::Unloading { .. }, HostMessage::UnloadResponse) => {
                for slot in self.channels.iter_mut() {
                    slot.0 = None;
                }
                for slot in self.gpadls.iter_mut() {
                    slot.0 = None;
                }
                self.state = State::Idle { next: 0 };
                Ok(Event::Unloaded)
            }
            (State::Unloading { .. }, _) => Ok(Event::Discarded(message_type)),
            (State::Connected { version, offers }, message) => match message {
                HostMessage::OfferChannel(offer) if offers != Offers::NotRequested => {
                    self.on_offer(offer)
                }
                HostMessage::AllOffersDelivered if offers == Offers::Requested => {
                    self.state = State::Connected {
                        version,
                        offers: Offers::AllDelivered,
                    };
                    Ok(Event::AllOffersDelivered)
                }
                HostMessage::RescindChannelOffer(r) => self.on_rescind(r.child_relid),
                HostMessage::OpenResult(r) => self.on_open_result(r),
                HostMessage::GpadlCreated(c) => self.on_gpadl_created(c),
                HostMessage::GpadlTorndown(t) => {
                    let index = self
                        .gpadl_index(t.gpadl)
                        .ok_or(Error::UnknownGpadl(t.gpadl))?;
                    let slot = &mut self.gpadls[index].0;
                    match slot {
                        Some(g) if g.state == GpadlState::TearingDown => {
                            *slot = None;
                            Ok(Event::GpadlTornDown { gpadl: t.gpadl })
                        }
                        Some(g) => Err(Error::GpadlState {
                            gpadl: t.gpadl,
                            state: g.state,
                        }),
                        None => Err(Error::UnknownGpadl(t.gpadl)),
                    }
                }
                _ => Err(unexpected),
            },
            _ => Err(unexpected),
        }
    }

    fn on_version_response(&mut self, index: usize, r: VersionResponse) -> Result<Event, Error> {
        let version = self.config.versions[index];
        if !r.version_supported {
            self.state = State::Idle { next: index + 1 };
            let next = self.config.versions[index + 1..]
                .iter()
                .copied()
                .find(|v| v.uses_target_info() || self.config.interrupt_page.is_some());
            return Ok(Event::VersionRejected { version, next });
        }
        if r.connection_state != VmbusConnectionState::SUCCESSFUL {
            self.state = State::Idle { next: index };
            return Ok(Event::ConnectionRefused {
                version,
                state: r.connection_state,
            });
        }
        let message_connection_id = if version.uses_target_info() {
            // From 5.0 the response must carry the connection id (bytes 12..16).
            r.message_connection_id
                .ok_or(Error::Message(MessageError::TooShort {
                    message_type: Some(VmbusMessageType::VERSION_RESPONSE),
                    len: 12,
                    min: 16,
                }))?
        } else {
            VMBUS_MESSAGE_CONNECTION_ID
        };
        self.message_connection_id = message_connection_id;
        self.state = State::Connected {
            version,
            offers: Offers::NotRequested,
        };
        Ok(Event::Connected {
            version,
            message_connection_id,
        })
    }

    fn on_offer(&mut self, offer: VmbusOfferChannel) -> Result<Event, Error> {
        let relid = offer.child_relid;
        if relid == 0 || relid > VMBUS_MAX_CHILD_RELID {
            return Err(Error::InvalidRelid(relid));
        }
        if self.channel_index(relid).is_some() {
            return Err(Error::DuplicateRelid(relid));
        }
        let slot = self
            .channels
            .iter_mut()
            .find(|s| s.0.is_none())
            .ok_or(Error::ChannelTableFull { relid })?;
        slot.0 = Some(Channel {
            offer,
            rescinded: false,
            state: ChannelState::Closed,
        });
        Ok(Event::Offer { relid })
    }

    fn on_rescind(&mut self, relid: u32) -> Result<Event, Error> {
        let index = self
            .channel_index(relid)
            .ok_or(Error::UnknownRelid(relid))?;
        let Some(channel) = &mut self.channels[index].0 else {
            return Err(Error::UnknownRelid(relid));
        };
        if channel.rescinded {
            return Err(Error::ChannelRescinded(relid));
        }
        channel.rescinded = true;
        let open_cancelled = matches!(channel.state, ChannelState::Opening { .. });
        if open_cancelled {
            channel.state = ChannelState::Closed;
        }
        Ok(Event::Rescinded {
            relid,
            open_cancelled,
        })
    }

    fn on_open_result(&mut self, r: VmbusOpenResult) -> Result<Event, Error> {
        let index = self
            .channel_index(r.child_relid)
            .ok_or(Error::UnknownRelid(r.child_relid))?;
        let Some(channel) = &mut self.channels[index].0 else {
            return Err(Error::UnknownRelid(r.child_relid));
        };
        let (gpadl, send, recv) = match core::mem::replace(&mut channel.state, ChannelState::Closed)
        {
            ChannelState::Opening {
                open_id,
                gpadl,
                send,
                recv,
            } if open_id == r.open_id => (gpadl, send, recv),
            other => {
                channel.state = other;
                if channel.rescinded && matches!(channel.state, ChannelState::Closed) {
                    return Ok(Event::Discarded(VmbusMessageType::OPEN_CHANNEL_RESULT));
                }
                return Err(Error::UnexpectedOpenResult(r));
            }
        };
        if r.status != 0 {
            return Ok(Event::OpenFailed {
                relid: r.child_relid,
                status: r.status,
            });
        }
        channel.state = ChannelState::Open { gpadl, send, recv };
        Ok(Event::Opened {
            relid: r.child_relid,
        })
    }

    fn on_gpadl_created(&mut self, c: VmbusGpadlCreated) -> Result<Event, Error> {
        let index = self
            .gpadl_index(c.gpadl)
            .ok_or(Error::UnknownGpadl(c.gpadl))?;
        let slot = &mut self.gpadls[index].0;
        let Some(gpadl) = slot else {
            return Err(Error::UnknownGpadl(c.gpadl));
        };
        if gpadl.state != GpadlState::Creating || gpadl.relid != c.child_relid {
            return Err(Error::UnexpectedGpadlCreated(c));
        }
        if c.creation_status != 0 {
            *slot = None;
            return Ok(Event::GpadlFailed {
                relid: c.child_relid,
                gpadl: c.gpadl,
                status: c.creation_status,
            });
        }
        gpadl.state = GpadlState::Created;
        Ok(Event::GpadlCreated {
            relid: c.child_relid,
            gpadl: c.gpadl,
        })
    }

    /// The open channel `relid` with its rings, checked usable.
    fn open_channel_mut(
        &mut self,
        relid: u32,
    ) -> Result<(VmbusVersion, &mut Channel<'a>, Option<&InterruptPage<'a>>), Error> {
        let version = self.connected()?;
        let index = self
            .channel_index(relid)
            .ok_or(Error::UnknownRelid(relid))?;
        let page = self.config.interrupt_page.as_ref();
        let Some(channel) = &mut self.channels[index].0 else {
            return Err(Error::UnknownRelid(relid));
        };
        if channel.rescinded {
            return Err(Error::ChannelRescinded(relid));
        }
        match channel.status() {
            ChannelStatus::Open => Ok((version, channel, page)),
            ChannelStatus::Failed(c) => Err(Error::Ring(RingError::Corrupt(c))),
            status => Err(Error::ChannelState { relid, status }),
        }
    }

    /// Lends the pages `pfns` to the host for channel `relid` as one GPADL and posts its
    /// messages; returns the GPADL handle. [`Event::GpadlCreated`] (or
    /// [`Event::GpadlFailed`]) follows.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless connected; [`Error::UnknownRelid`],
    /// [`Error::ChannelRescinded`]; [`Error::GpadlSize`] for an empty or too long list;
    /// [`Error::GpadlTableFull`]; [`Error::Transport`] when the first post fails (nothing
    /// was sent, no GPADL recorded); [`Error::GpadlIncomplete`] when a later one fails.
    ///
    /// # Safety
    ///
    /// The pages are the caller's, used for nothing the host must not see or change, until
    /// the GPADL is gone: [`Event::GpadlFailed`], [`Event::GpadlTornDown`], the channel's
    /// release after a rescind ([`VmbusClient::release_channel`]), or [`Event::Unloaded`].
    pub unsafe fn create_gpadl(
        &mut self,
        transport: &mut impl VmbusTransport,
        relid: u32,
        pfns: &'a [u64],
    ) -> Result<u32, Error> {
        self.connected()?;
        let index = self
            .channel_index(relid)
            .ok_or(Error::UnknownRelid(relid))?;
        if self.channels[index].0.as_ref().is_some_and(|c| c.rescinded) {
            return Err(Error::ChannelRescinded(relid));
        }
        if pfns.is_empty() || pfns.len() > GPADL_MAX_PAGES {
            return Err(Error::GpadlSize(pfns.len()));
        }
        let slot = self
            .gpadls
            .iter()
            .position(|s| s.0.is_none())
            .ok_or(Error::GpadlTableFull)?;
        let handle = self.allocate_gpadl_handle();
        self.gpadls[slot].0 = Some(Gpadl {
            handle,
            relid,
            pfns,
            state: GpadlState::Sending { pfns_sent: 0 },
        });
        match self.send_gpadl(transport, slot) {
            Ok(()) => Ok(handle),
            Err(error) => {
                let gpadl = self.gpadls[slot].0.as_ref();
                if gpadl.is_some_and(|g| g.state == GpadlState::Sending { pfns_sent: 0 }) {
                    self.gpadls[slot].0 = None;
                    Err(Error::Transport(error))
                } else {
                    Err(Error::GpadlIncomplete {
                        gpadl: handle,
                        error,
                    })
                }
            }
        }
    }

    /// A nonzero handle no tracked GPADL uses (Linux counts up from `0xE1E10`; any unused
    /// value works, as the guest chooses).
    fn allocate_gpadl_handle(&mut self) -> u32 {
        loop {
            let handle = self.next_gpadl;
            self.next_gpadl = self.next_gpadl.wrapping_add(1).max(1);
            if self.gpadl_index(handle).is_none() {
                return handle;
            }
        }
    }

    /// Posts the unsent messages of the GPADL in `slot`.
    fn send_gpadl(
        &mut self,
        transport: &mut impl VmbusTransport,
        slot: usize,
    ) -> Result<(), HvError> {
        let connection_id = self.message_connection_id;
        let Some(gpadl) = &mut self.gpadls[slot].0 else {
            return Ok(());
        };
        while let GpadlState::Sending { pfns_sent } = gpadl.state {
            if pfns_sent == gpadl.pfns.len() {
                gpadl.state = GpadlState::Creating;
                break;
            }
            let (message, n) = next_message(gpadl, pfns_sent);
            post(transport, connection_id, message.bytes())?;
            gpadl.state = GpadlState::Sending {
                pfns_sent: pfns_sent + n,
            };
        }
        Ok(())
    }

    /// Posts the rest of a GPADL whose creation stopped with [`Error::GpadlIncomplete`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless connected; [`Error::UnknownGpadl`];
    /// [`Error::GpadlState`] unless it is [`GpadlState::Sending`]; [`Error::GpadlIncomplete`]
    /// when a post fails again.
    pub fn continue_gpadl(
        &mut self,
        transport: &mut impl VmbusTransport,
        handle: u32,
    ) -> Result<(), Error> {
        self.connected()?;
        let slot = self
            .gpadl_index(handle)
            .ok_or(Error::UnknownGpadl(handle))?;
        match self.gpadls[slot].0.as_ref().map(|g| g.state) {
            Some(GpadlState::Sending { .. }) => {}
            Some(state) => {
                return Err(Error::GpadlState {
                    gpadl: handle,
                    state,
                });
            }
            None => return Err(Error::UnknownGpadl(handle)),
        }
        self.send_gpadl(transport, slot)
            .map_err(|error| Error::GpadlIncomplete {
                gpadl: handle,
                error,
            })
    }

    /// Posts `GPADL_TEARDOWN`; [`Event::GpadlTornDown`] follows.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless connected; [`Error::UnknownGpadl`];
    /// [`Error::GpadlState`] unless it is created and holds no open or opening channel's
    /// rings; [`Error::Transport`].
    pub fn teardown_gpadl(
        &mut self,
        transport: &mut impl VmbusTransport,
        handle: u32,
    ) -> Result<(), Error> {
        self.connected()?;
        let slot = self
            .gpadl_index(handle)
            .ok_or(Error::UnknownGpadl(handle))?;
        let Some(gpadl) = self.gpadls[slot].0.as_ref() else {
            return Err(Error::UnknownGpadl(handle));
        };
        let in_use = self
            .channels
            .iter()
            .filter_map(|s| s.0.as_ref())
            .any(|c| c.ring_gpadl() == Some(handle));
        if gpadl.state != GpadlState::Created || in_use {
            return Err(Error::GpadlState {
                gpadl: handle,
                state: gpadl.state,
            });
        }
        let message = VmbusGpadlTeardown {
            header: VmbusGpadlTeardown::HEADER,
            child_relid: gpadl.relid,
            gpadl: handle,
        };
        post(transport, self.message_connection_id, message.as_bytes())
            .map_err(Error::Transport)?;
        if let Some(g) = &mut self.gpadls[slot].0 {
            g.state = GpadlState::TearingDown;
        }
        Ok(())
    }

    /// Opens channel `relid` on `memory`, which GPADL `gpadl` (created for this channel from
    /// `memory.pfns()`) lends to the host: resets both rings' control pages, then posts
    /// `OPEN_CHANNEL` with the host-to-guest ring at page `memory.send_pages()`, interrupts to
    /// `target_vp` and `user_data` (zero-padded to 120 bytes). Returns the open id;
    /// [`Event::Opened`] or [`Event::OpenFailed`] follows (the memory is dropped on failure:
    /// tear the GPADL down before reusing it).
    ///
    /// # Errors
    ///
    /// The memory comes back in the [`OpenError`], with [`Error::InvalidState`] unless
    /// connected; [`Error::UnknownRelid`], [`Error::ChannelRescinded`],
    /// [`Error::ChannelState`] unless closed; [`Error::InvalidArgument`] for more than 120
    /// bytes of user data; [`Error::UnknownGpadl`] or [`Error::GpadlState`] unless the GPADL
    /// is created, belongs to the channel and lends exactly `memory.pfns()`;
    /// [`Error::Transport`].
    pub fn open_channel(
        &mut self,
        transport: &mut impl VmbusTransport,
        relid: u32,
        memory: RingBufferMemory<'a>,
        gpadl: u32,
        target_vp: u32,
        user_data: &[u8],
    ) -> Result<u32, OpenError<'a>> {
        if let Err(error) = self.check_open(relid, &memory, gpadl, user_data) {
            return Err(OpenError { error, memory });
        }
        let open_id = self.next_open_id;
        let mut message = VmbusOpenChannel {
            header: VmbusOpenChannel::HEADER,
            child_relid: relid,
            open_id,
            ring_buffer_gpadl: gpadl,
            target_vp,
            downstream_ring_buffer_page_offset: memory.send_pages() as u32,
            user_data: [0; VMBUS_MAX_USER_DEFINED_BYTES],
        };
        message.user_data[..user_data.len()].copy_from_slice(user_data);
        // The host may use the rings as soon as it has the message: reset them first.
        memory.reset();
        if let Err(e) = post(transport, self.message_connection_id, message.as_bytes()) {
            return Err(OpenError {
                error: Error::Transport(e),
                memory,
            });
        }
        self.next_open_id = self.next_open_id.wrapping_add(1).max(1);
        let (send, recv) = memory.into_rings();
        if let Some(index) = self.channel_index(relid) {
            if let Some(channel) = &mut self.channels[index].0 {
                channel.state = ChannelState::Opening {
                    open_id,
                    gpadl,
                    send: RingWriter::after_reset(send),
                    recv: RingReader::after_reset(recv),
                };
            }
        }
        Ok(open_id)
    }

    fn check_open(
        &self,
        relid: u32,
        memory: &RingBufferMemory<'a>,
        gpadl: u32,
        user_data: &[u8],
    ) -> Result<(), Error> {
        self.connected()?;
        let index = self
            .channel_index(relid)
            .ok_or(Error::UnknownRelid(relid))?;
        let channel = self.channels[index]
            .0
            .as_ref()
            .ok_or(Error::UnknownRelid(relid))?;
        if channel.rescinded {
            return Err(Error::ChannelRescinded(relid));
        }
        if !matches!(channel.state, ChannelState::Closed) {
            return Err(Error::ChannelState {
                relid,
                status: channel.status(),
            });
        }
        if user_data.len() > VMBUS_MAX_USER_DEFINED_BYTES {
            return Err(Error::InvalidArgument("open user data exceeds 120 bytes"));
        }
        let g = self
            .gpadl_index(gpadl)
            .and_then(|i| self.gpadls[i].0.as_ref())
            .ok_or(Error::UnknownGpadl(gpadl))?;
        if g.state != GpadlState::Created || g.relid != relid || g.pfns != memory.pfns() {
            return Err(Error::GpadlState {
                gpadl,
                state: g.state,
            });
        }
        Ok(())
    }

    /// Posts `CLOSE_CHANNEL` for an open channel (also after a rescind or a ring failure) and
    /// drops its rings. The host does not answer; tear the ring GPADL down next (Linux
    /// `vmbus_close_internal`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless connected; [`Error::UnknownRelid`];
    /// [`Error::ChannelState`] unless open; [`Error::Transport`].
    pub fn close_channel(
        &mut self,
        transport: &mut impl VmbusTransport,
        relid: u32,
    ) -> Result<(), Error> {
        self.connected()?;
        let index = self
            .channel_index(relid)
            .ok_or(Error::UnknownRelid(relid))?;
        let connection_id = self.message_connection_id;
        let Some(channel) = &mut self.channels[index].0 else {
            return Err(Error::UnknownRelid(relid));
        };
        if !matches!(channel.state, ChannelState::Open { .. }) {
            return Err(Error::ChannelState {
                relid,
                status: channel.status(),
            });
        }
        let message = VmbusCloseChannel {
            header: VmbusCloseChannel::HEADER,
            child_relid: relid,
        };
        post(transport, connection_id, message.as_bytes()).map_err(Error::Transport)?;
        channel.state = ChannelState::Closed;
        Ok(())
    }

    /// Posts `REL_ID_RELEASED` for a rescinded, closed channel and forgets it together with
    /// every GPADL still recorded for it. Like Linux (`channel.c` `vmbus_teardown_gpadl`
    /// treats the pages of a rescinded channel's GPADL as free even when no torndown
    /// arrives), this takes the rescind to mean the host no longer uses the channel's GPADLs.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless connected; [`Error::UnknownRelid`];
    /// [`Error::NotRescinded`]; [`Error::ChannelState`] while open; [`Error::Transport`].
    pub fn release_channel(
        &mut self,
        transport: &mut impl VmbusTransport,
        relid: u32,
    ) -> Result<(), Error> {
        self.connected()?;
        let index = self
            .channel_index(relid)
            .ok_or(Error::UnknownRelid(relid))?;
        let Some(channel) = self.channels[index].0.as_ref() else {
            return Err(Error::UnknownRelid(relid));
        };
        if !channel.rescinded {
            return Err(Error::NotRescinded(relid));
        }
        if !matches!(channel.state, ChannelState::Closed) {
            return Err(Error::ChannelState {
                relid,
                status: channel.status(),
            });
        }
        let message = VmbusRelIdReleased {
            header: VmbusRelIdReleased::HEADER,
            child_relid: relid,
        };
        post(transport, self.message_connection_id, message.as_bytes())
            .map_err(Error::Transport)?;
        self.channels[index].0 = None;
        for slot in self.gpadls.iter_mut() {
            if slot.0.as_ref().is_some_and(|g| g.relid == relid) {
                slot.0 = None;
            }
        }
        Ok(())
    }

    /// Writes a packet to channel `relid`'s guest-to-host ring and signals the host if the
    /// ring rules say it may be waiting (see the `ring` module docs).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`], [`Error::UnknownRelid`], [`Error::ChannelRescinded`],
    /// [`Error::ChannelState`] unless the channel is open; [`Error::Ring`] (a full ring is
    /// retryable; a corrupt one stops the channel); [`Error::Signal`] when the packet was
    /// written but the signal failed.
    pub fn send(
        &mut self,
        transport: &mut impl VmbusTransport,
        relid: u32,
        packet: &OutgoingPacket<'_>,
    ) -> Result<(), Error> {
        let (version, channel, page) = self.open_channel_mut(relid)?;
        let ChannelState::Open { send, .. } = &mut channel.state else {
            return Err(Error::ChannelState {
                relid,
                status: channel.status(),
            });
        };
        let outcome = send.write(packet).map_err(Error::Ring)?;
        if outcome.signal {
            signal(transport, version, page, &channel.offer)?;
        }
        Ok(())
    }

    /// Asks the host to signal channel `relid` once more than `needed` bytes are free in
    /// its guest-to-host ring (sets `pending_send_size`, Linux `hv_ringbuffer_write` callers'
    /// flow control). Returns whether that much is free already.
    ///
    /// # Errors
    ///
    /// As for [`VmbusClient::send`].
    pub fn request_send_space(&mut self, relid: u32, needed: u32) -> Result<bool, Error> {
        let (_, channel, _) = self.open_channel_mut(relid)?;
        match &mut channel.state {
            ChannelState::Open { send, .. } => send.request_space(needed).map_err(Error::Ring),
            _ => Err(Error::ChannelState {
                relid,
                status: channel.status(),
            }),
        }
    }

    /// Signals the host about channel `relid` (to retry after [`Error::Signal`]).
    ///
    /// # Errors
    ///
    /// As for [`VmbusClient::send`].
    pub fn signal_channel(
        &mut self,
        transport: &mut impl VmbusTransport,
        relid: u32,
    ) -> Result<(), Error> {
        let (version, channel, page) = self.open_channel_mut(relid)?;
        signal(transport, version, page, &channel.offer)
    }

    /// Starts reading the packets channel `relid`'s host-to-guest ring holds now.
    ///
    /// # Errors
    ///
    /// As for [`VmbusClient::send`], and [`Error::Ring`] when the ring is corrupt.
    pub fn receive(&mut self, relid: u32) -> Result<Receiver<'_, 'a>, Error> {
        let (version, channel, interrupt_page) = self.open_channel_mut(relid)?;
        let Channel { offer, state, .. } = channel;
        let ChannelState::Open { recv, .. } = state else {
            return Err(Error::UnknownRelid(relid));
        };
        let batch = recv.batch().map_err(Error::Ring)?;
        Ok(Receiver {
            batch,
            offer,
            version,
            interrupt_page,
        })
    }

    /// Asks the host not to signal channel `relid` while the guest drains it (Linux
    /// `hv_begin_read`).
    ///
    /// # Errors
    ///
    /// As for [`VmbusClient::send`].
    pub fn mask_interrupts(&mut self, relid: u32) -> Result<(), Error> {
        let (_, channel, _) = self.open_channel_mut(relid)?;
        if let ChannelState::Open { recv, .. } = &channel.state {
            recv.mask_interrupts();
        }
        Ok(())
    }

    /// Lets the host signal channel `relid` again and returns whether packets arrived
    /// meanwhile (read them: the host may not have signalled; Linux `hv_end_read`).
    ///
    /// # Errors
    ///
    /// As for [`VmbusClient::receive`].
    pub fn unmask_interrupts(&mut self, relid: u32) -> Result<bool, Error> {
        let (_, channel, _) = self.open_channel_mut(relid)?;
        match &mut channel.state {
            ChannelState::Open { recv, .. } => recv.unmask_interrupts().map_err(Error::Ring),
            _ => Err(Error::ChannelState {
                relid,
                status: channel.status(),
            }),
        }
    }
}

/// Reads one batch of packets from a channel ([`VmbusClient::receive`]).
#[derive(Debug)]
pub struct Receiver<'c, 'a> {
    batch: ReadBatch<'c, 'a>,
    offer: &'c VmbusOfferChannel,
    version: VmbusVersion,
    interrupt_page: Option<&'c InterruptPage<'a>>,
}

impl Receiver<'_, '_> {
    /// The next packet of the batch (see [`ReadBatch::next`]).
    ///
    /// # Errors
    ///
    /// [`Error::Ring`]: a wrapped packet longer than `scratch`, or a corrupt ring (the
    /// channel then refuses all I/O).
    pub fn next<'p>(&'p mut self, scratch: &'p mut [u8]) -> Result<Option<Packet<'p>>, Error> {
        self.batch.next(scratch).map_err(Error::Ring)
    }

    /// Releases the packets read to the host and signals it if it waits for that space.
    ///
    /// # Errors
    ///
    /// [`Error::Ring`] when the ring is corrupt; [`Error::Signal`].
    pub fn finish(self, transport: &mut impl VmbusTransport) -> Result<(), Error> {
        if self.batch.finish().map_err(Error::Ring)? {
            signal(transport, self.version, self.interrupt_page, self.offer)?;
        }
        Ok(())
    }
}
