//! Parsing the channel messages the host sends.
//!
//! A message is accepted when it is at most [`VMBUS_MAX_MESSAGE_SIZE`] bytes and at least as
//! long as its type's structure; extra bytes are ignored. That is Linux's rule
//! (`vmbus_drv.c` `vmbus_on_msg_dpc` checks `min_payload_len`), and it is needed: QEMU rounds
//! every message up to a multiple of 8 bytes (`vmbus.c` `post_msg`), and sends a 12-byte
//! version response (two body bytes and C padding), so a version response needs only its two
//! body bytes unless the connection id or feature flags are wanted.

use hv_defs::vmbus::{
    VMBUS_MAX_MESSAGE_SIZE, VmbusAllOffersDelivered, VmbusChannelMessage,
    VmbusCloseReservedChannelResponse, VmbusConnectionState, VmbusFeatureFlags, VmbusGpadlCreated,
    VmbusGpadlTorndown, VmbusMessageHeader, VmbusMessageType, VmbusModifyChannelResponse,
    VmbusOfferChannel, VmbusOpenResult, VmbusPauseResponse, VmbusRescindChannelOffer,
    VmbusTlConnectResult, VmbusUnloadResponse, VmbusVersionResponse, VmbusVersionResponse2,
};
use zerocopy::FromBytes;

/// A channel message from the host, parsed and size-checked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HostMessage {
    /// `OFFER_CHANNEL`.
    OfferChannel(VmbusOfferChannel),
    /// `RESCIND_CHANNEL_OFFER`.
    RescindChannelOffer(VmbusRescindChannelOffer),
    /// `ALL_OFFERS_DELIVERED`.
    AllOffersDelivered,
    /// `OPEN_CHANNEL_RESULT`.
    OpenResult(VmbusOpenResult),
    /// `GPADL_CREATED`.
    GpadlCreated(VmbusGpadlCreated),
    /// `GPADL_TORNDOWN`.
    GpadlTorndown(VmbusGpadlTorndown),
    /// `VERSION_RESPONSE`, with the optional parts the message was long enough to carry.
    VersionResponse(VersionResponse),
    /// `UNLOAD_RESPONSE`.
    UnloadResponse,
    /// `CLOSE_RESERVED_RESPONSE`.
    CloseReservedResponse(VmbusCloseReservedChannelResponse),
    /// `TL_CONNECT_RESULT`.
    TlConnectResult(VmbusTlConnectResult),
    /// `MODIFY_CHANNEL_RESPONSE`.
    ModifyChannelResponse(VmbusModifyChannelResponse),
    /// `MODIFY_CONNECTION_RESPONSE` (its 9 meaningful bytes).
    ModifyConnectionResponse(VmbusConnectionState),
    /// `PAUSE_RESPONSE`.
    PauseResponse,
}

/// A version response. The fields after the first two body bytes are present only when the
/// message was long enough (see the module docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VersionResponse {
    /// The requested version is accepted.
    pub version_supported: bool,
    /// The connection state byte.
    pub connection_state: VmbusConnectionState,
    /// The connection id for later messages (bytes 12..16), if the message has them.
    pub message_connection_id: Option<u32>,
    /// The features the host grants (bytes 16..20, 6.0), if the message has them.
    pub supported_features: Option<VmbusFeatureFlags>,
}

/// Why a message was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MessageError {
    /// Longer than [`VMBUS_MAX_MESSAGE_SIZE`].
    TooLong(usize),
    /// Shorter than the header or than its type's structure.
    TooShort {
        /// The type, when the header was complete.
        message_type: Option<VmbusMessageType>,
        /// The length received.
        len: usize,
        /// The length required.
        min: usize,
    },
    /// A type no source defines.
    UnknownType(VmbusMessageType),
    /// A type only the guest sends.
    GuestMessage(VmbusMessageType),
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLong(len) => {
                write!(
                    f,
                    "{len}-byte message exceeds {VMBUS_MAX_MESSAGE_SIZE} bytes"
                )
            }
            Self::TooShort {
                message_type: Some(t),
                len,
                min,
            } => write!(f, "{t:?} message of {len} bytes is shorter than {min}"),
            Self::TooShort { len, min, .. } => {
                write!(
                    f,
                    "{len}-byte message is shorter than its {min}-byte header"
                )
            }
            Self::UnknownType(t) => write!(f, "unknown message type {t:?}"),
            Self::GuestMessage(t) => write!(f, "{t:?} is sent by guests, not hosts"),
        }
    }
}

impl core::error::Error for MessageError {}

/// Bytes of a version response up to and including the connection state.
const VERSION_RESPONSE_MIN: usize = size_of::<VmbusMessageHeader>() + 2;

fn read<T: VmbusChannelMessage>(bytes: &[u8]) -> Result<T, MessageError> {
    T::read_from_prefix(bytes)
        .map(|(message, _)| message)
        .map_err(|_| MessageError::TooShort {
            message_type: Some(T::MESSAGE_TYPE),
            len: bytes.len(),
            min: size_of::<T>(),
        })
}

/// Parses one host message (a copy of the SynIC message payload, `payload_size` bytes).
///
/// # Errors
///
/// [`MessageError`] for a message that is too long or too short for its type, of an unknown
/// type, or of a type only guests send.
pub fn parse_message(bytes: &[u8]) -> Result<HostMessage, MessageError> {
    if bytes.len() > VMBUS_MAX_MESSAGE_SIZE {
        return Err(MessageError::TooLong(bytes.len()));
    }
    let (header, _) =
        VmbusMessageHeader::read_from_prefix(bytes).map_err(|_| MessageError::TooShort {
            message_type: None,
            len: bytes.len(),
            min: size_of::<VmbusMessageHeader>(),
        })?;
    let message_type = header.message_type;
    Ok(match message_type {
        VmbusMessageType::OFFER_CHANNEL => HostMessage::OfferChannel(read(bytes)?),
        VmbusMessageType::RESCIND_CHANNEL_OFFER => HostMessage::RescindChannelOffer(read(bytes)?),
        VmbusMessageType::ALL_OFFERS_DELIVERED => {
            read::<VmbusAllOffersDelivered>(bytes)?;
            HostMessage::AllOffersDelivered
        }
        VmbusMessageType::OPEN_CHANNEL_RESULT => HostMessage::OpenResult(read(bytes)?),
        VmbusMessageType::GPADL_CREATED => HostMessage::GpadlCreated(read(bytes)?),
        VmbusMessageType::GPADL_TORNDOWN => HostMessage::GpadlTorndown(read(bytes)?),
        VmbusMessageType::VERSION_RESPONSE => {
            if bytes.len() < VERSION_RESPONSE_MIN {
                return Err(MessageError::TooShort {
                    message_type: Some(message_type),
                    len: bytes.len(),
                    min: VERSION_RESPONSE_MIN,
                });
            }
            let full = VmbusVersionResponse::read_from_prefix(bytes).ok();
            let v2 = VmbusVersionResponse2::read_from_prefix(bytes).ok();
            HostMessage::VersionResponse(VersionResponse {
                version_supported: bytes[VERSION_RESPONSE_MIN - 2] != 0,
                connection_state: VmbusConnectionState::new(bytes[VERSION_RESPONSE_MIN - 1]),
                message_connection_id: full.map(|(m, _)| m.message_connection_id),
                supported_features: v2.map(|(m, _)| m.supported_features),
            })
        }
        VmbusMessageType::UNLOAD_RESPONSE => {
            read::<VmbusUnloadResponse>(bytes)?;
            HostMessage::UnloadResponse
        }
        VmbusMessageType::CLOSE_RESERVED_RESPONSE => {
            HostMessage::CloseReservedResponse(read(bytes)?)
        }
        VmbusMessageType::TL_CONNECT_RESULT => HostMessage::TlConnectResult(read(bytes)?),
        VmbusMessageType::MODIFY_CHANNEL_RESPONSE => {
            HostMessage::ModifyChannelResponse(read(bytes)?)
        }
        VmbusMessageType::MODIFY_CONNECTION_RESPONSE => {
            // OpenVMM sends the header and one state byte (hv-defs
            // `VmbusModifyConnectionResponse` docs).
            let min = size_of::<VmbusMessageHeader>() + 1;
            let Some(&state) = bytes.get(min - 1) else {
                return Err(MessageError::TooShort {
                    message_type: Some(message_type),
                    len: bytes.len(),
                    min,
                });
            };
            HostMessage::ModifyConnectionResponse(VmbusConnectionState::new(state))
        }
        VmbusMessageType::PAUSE_RESPONSE => {
            read::<VmbusPauseResponse>(bytes)?;
            HostMessage::PauseResponse
        }
        VmbusMessageType::REQUEST_OFFERS
        | VmbusMessageType::OPEN_CHANNEL
        | VmbusMessageType::CLOSE_CHANNEL
        | VmbusMessageType::GPADL_HEADER
        | VmbusMessageType::GPADL_BODY
        | VmbusMessageType::GPADL_TEARDOWN
        | VmbusMessageType::REL_ID_RELEASED
        | VmbusMessageType::INITIATE_CONTACT
        | VmbusMessageType::UNLOAD
        | VmbusMessageType::OPEN_RESERVED_CHANNEL
        | VmbusMessageType::CLOSE_RESERVED_CHANNEL
        | VmbusMessageType::TL_CONNECT_REQUEST
        | VmbusMessageType::MODIFY_CHANNEL
        | VmbusMessageType::MODIFY_CONNECTION
        | VmbusMessageType::PAUSE
        | VmbusMessageType::RESUME => return Err(MessageError::GuestMessage(message_type)),
        _ => return Err(MessageError::UnknownType(message_type)),
    })
}
