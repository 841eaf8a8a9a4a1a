//! Protocol versions, connection ids, the SINT and the connection-level feature flags.

use bitfield_struct::bitfield;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

open_enum! {
    /// A VMBus protocol version: the major number in bits 31:16, the minor number in bits
    /// 15:0 (Linux `hyperv.h` `VMBUS_MAKE_VERSION`; OpenVMM `protocol.rs` `make_version`).
    ///
    /// The guest names the version it wants in [`VmbusInitiateContact`]; versions compare
    /// numerically, so `Ord` orders them oldest first.
    ///
    /// The names follow Linux `hyperv.h` (`VERSION_WS2008` ... `VERSION_WIN10_V5_3`). The
    /// Windows releases in the docs are the ones Linux's comment gives; OpenVMM names the
    /// same numbers `V1`, `Win7`, `Win8`, `Win8_1`, `Win10`, `Win10Rs3_0`, `Win10Rs3_1`,
    /// `Win10Rs4`, `Win10Rs5`, `Iron` and `Copper`.
    ///
    /// [`VmbusInitiateContact`]: super::VmbusInitiateContact
    pub struct VmbusVersion(u32) {
        /// 0.13, Windows Server 2008 (Linux `VERSION_WS2008`; OpenVMM `V1`).
        WS2008 = 0x0000_000D,
        /// 1.1, Windows 7 / Windows Server 2008 R2 (Linux `VERSION_WIN7`). Adds the
        /// per-channel connection id and the dedicated-interrupt flag to the offer.
        WIN7 = 0x0001_0001,
        /// 2.4, Windows 8 / Windows Server 2012 (Linux `VERSION_WIN8`). Adds sub-channels,
        /// the open message's target VP and per-VP channel interrupts through the SynIC
        /// event flags.
        WIN8 = 0x0002_0004,
        /// 3.0, Windows 8.1 / Windows Server 2012 R2 (Linux `VERSION_WIN8_1`).
        WIN8_1 = 0x0003_0000,
        /// 4.0, Windows 10 (Linux `VERSION_WIN10`). Adds Hyper-V sockets
        /// ([`TL_CONNECT_REQUEST`](super::VmbusMessageType::TL_CONNECT_REQUEST)). The newest
        /// version QEMU's host model offers (QEMU `vmbus-proto.h` `VMBUS_VERSION_CURRENT`).
        WIN10 = 0x0004_0000,
        /// 4.1, Windows 10 RS3 (Linux `VERSION_WIN10_V4_1`; OpenVMM `Win10Rs3_0`). Adds
        /// [`MODIFY_CHANNEL`](super::VmbusMessageType::MODIFY_CHANNEL).
        WIN10_V4_1 = 0x0004_0001,
        /// 5.0, newer Windows 10 (Linux `VERSION_WIN10_V5`; OpenVMM `Win10Rs3_1`). The
        /// initiate-contact message goes to [`VMBUS_MESSAGE_CONNECTION_ID_4`], names the
        /// message SINT instead of an interrupt page, and the host answers with the
        /// connection id for all later messages.
        WIN10_V5 = 0x0005_0000,
        /// 5.1, Windows 10 RS4 (Linux `VERSION_WIN10_V5_1`; OpenVMM `Win10Rs4`).
        WIN10_V5_1 = 0x0005_0001,
        /// 5.2, Windows Server 2019 / RS5 (Linux `VERSION_WIN10_V5_2`; OpenVMM `Win10Rs5`).
        /// Adds the silo id of [`VmbusTlConnectRequest2`](super::VmbusTlConnectRequest2).
        WIN10_V5_2 = 0x0005_0002,
        /// 5.3, Windows Server 2022 (Linux `VERSION_WIN10_V5_3`; OpenVMM `Iron`). The host
        /// acknowledges `MODIFY_CHANNEL` with
        /// [`MODIFY_CHANNEL_RESPONSE`](super::VmbusMessageType::MODIFY_CHANNEL_RESPONSE).
        WIN10_V5_3 = 0x0005_0003,
        /// 6.0 (OpenVMM `Copper`; the 2025 Linux confidential-VMBus patches call it
        /// `VERSION_WIN_COPPER`). Adds [`VmbusFeatureFlags`], exchanged in the initiate-contact
        /// target info and [`VmbusVersionResponse2`](super::VmbusVersionResponse2).
        V6_0 = 0x0006_0000,
    }
}

impl VmbusVersion {
    /// The version `major.minor` (Linux `VMBUS_MAKE_VERSION`).
    #[must_use]
    pub const fn from_parts(major: u16, minor: u16) -> Self {
        Self(((major as u32) << 16) | minor as u32)
    }

    /// The major number, bits 31:16.
    #[must_use]
    pub const fn major(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The minor number, bits 15:0.
    #[must_use]
    pub const fn minor(self) -> u16 {
        self.0 as u16
    }

    /// The connection id the guest posts [`VmbusInitiateContact`] to when requesting this
    /// version: [`VMBUS_MESSAGE_CONNECTION_ID_4`] from 5.0 on, [`VMBUS_MESSAGE_CONNECTION_ID`]
    /// before (Linux `connection.c` `vmbus_negotiate_version`).
    ///
    /// From 5.0 on every later message goes to the id the host returns in
    /// [`VmbusVersionResponse::message_connection_id`]; before 5.0 they all go to
    /// [`VMBUS_MESSAGE_CONNECTION_ID`].
    ///
    /// [`VmbusInitiateContact`]: super::VmbusInitiateContact
    /// [`VmbusVersionResponse::message_connection_id`]: super::VmbusVersionResponse::message_connection_id
    #[must_use]
    pub const fn initiate_contact_connection_id(self) -> u32 {
        if self.0 >= Self::WIN10_V5.0 {
            VMBUS_MESSAGE_CONNECTION_ID_4
        } else {
            VMBUS_MESSAGE_CONNECTION_ID
        }
    }

    /// Whether [`VmbusInitiateContact::interrupt_page_or_target_info`] holds
    /// [`VmbusTargetInfo`] (5.0 and later) rather than the GPA of the interrupt page
    /// (Linux `connection.c` `vmbus_negotiate_version`).
    ///
    /// [`VmbusInitiateContact::interrupt_page_or_target_info`]: super::VmbusInitiateContact::interrupt_page_or_target_info
    #[must_use]
    pub const fn uses_target_info(self) -> bool {
        self.0 >= Self::WIN10_V5.0
    }

    /// Whether offers carry a per-channel connection id and dedicated-interrupt flag (1.1 and
    /// later). On 0.13 the guest signals every channel on [`VMBUS_EVENT_CONNECTION_ID`]
    /// (Linux `channel_mgmt.c` `vmbus_setup_channel_state`).
    #[must_use]
    pub const fn has_channel_connection_id(self) -> bool {
        self.0 >= Self::WIN7.0
    }

    /// Whether the host signals a channel by setting event flag *child relid* in the SIEF
    /// page of SINT [`VMBUS_MESSAGE_SINT`] on the channel's target VP (2.4 and later), rather
    /// than through the receive half of the interrupt page (Linux `vmbus_drv.c`
    /// `vmbus_chan_sched`).
    #[must_use]
    pub const fn has_per_channel_event_flags(self) -> bool {
        self.0 >= Self::WIN8.0
    }
}

/// Connection id of the VMBus message port for versions before 5.0, and of every message
/// after the version response on those versions (Linux `hyperv_vmbus.h`
/// `VMBUS_MESSAGE_CONNECTION_ID`; QEMU `vmbus-proto.h`).
pub const VMBUS_MESSAGE_CONNECTION_ID: u32 = 1;

/// Connection id the guest posts the 5.0-and-later initiate-contact message to (Linux
/// `hyperv_vmbus.h` `VMBUS_MESSAGE_CONNECTION_ID_4`). A host that answers
/// `HV_STATUS_INVALID_CONNECTION_ID` does not support 5.0 (Linux `connection.c`
/// `vmbus_post_msg`).
pub const VMBUS_MESSAGE_CONNECTION_ID_4: u32 = 4;

/// Port id of the VMBus message port on the host side (Linux `hyperv_vmbus.h`
/// `VMBUS_MESSAGE_PORT_ID`).
pub const VMBUS_MESSAGE_PORT_ID: u32 = 1;

/// Connection id a 0.13 guest signals every channel on with `HvSignalEvent` (Linux
/// `hyperv_vmbus.h` `VMBUS_EVENT_CONNECTION_ID`; QEMU `vmbus-proto.h`). From 1.1 on each
/// offer carries its own [`connection_id`](super::VmbusOfferChannel::connection_id).
pub const VMBUS_EVENT_CONNECTION_ID: u32 = 2;

/// Port id of the VMBus event port on the host side (Linux `hyperv_vmbus.h`
/// `VMBUS_EVENT_PORT_ID`).
pub const VMBUS_EVENT_PORT_ID: u32 = 2;

/// Connection id of the monitored-notification connection (Linux `hyperv_vmbus.h`
/// `VMBUS_MONITOR_CONNECTION_ID`; QEMU `vmbus-proto.h`).
pub const VMBUS_MONITOR_CONNECTION_ID: u32 = 3;

/// Port id of the monitored-notification port (Linux `hyperv_vmbus.h`
/// `VMBUS_MONITOR_PORT_ID`).
pub const VMBUS_MONITOR_PORT_ID: u32 = 3;

/// The synthetic interrupt source VMBus uses: host messages arrive in this SINT's SIM slot
/// and, from 2.4 on, channel events in this SINT's SIEF flags (Linux `hyperv_vmbus.h`
/// `VMBUS_MESSAGE_SINT`; QEMU `vmbus-proto.h` `VMBUS_SINT`). From 5.0 on the guest states
/// the SINT in [`VmbusTargetInfo::sint`]; Linux always names this one.
pub const VMBUS_MESSAGE_SINT: u8 = 2;

/// The SynIC message type (TLFS 11.10.2 `HV_MESSAGE_TYPE`, a value below the hypervisor
/// range) of every VMBus channel message, both in `HvPostMessage` input and in the SIM
/// slot (QEMU `hyperv-proto.h` `HV_MESSAGE_VMBUS`; Linux `connection.c` `vmbus_post_msg`
/// passes 1).
pub const VMBUS_SYNIC_MESSAGE_TYPE: u32 = 1;

/// Bit `n` of the connection-level feature flags negotiated from 6.0 on (OpenVMM
/// `protocol.rs` `FeatureFlags`; Linux 6.0 patches `VMBUS_FEATURE_FLAG_*`).
///
/// The guest offers flags in [`VmbusTargetInfo::feature_flags`]; the host answers with the
/// subset it supports in [`VmbusVersionResponse2::supported_features`].
///
/// [`VmbusVersionResponse2::supported_features`]: super::VmbusVersionResponse2::supported_features
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct VmbusFeatureFlags {
    /// The guest may choose the connection id and event flag of a channel in
    /// [`VmbusOpenChannel2`](super::VmbusOpenChannel2), bit 0.
    pub guest_specified_signal_parameters: bool,
    /// [`VmbusOpenChannelFlags::redirect_interrupt`](super::VmbusOpenChannelFlags) is
    /// honoured, bit 1.
    pub channel_interrupt_redirection: bool,
    /// `MODIFY_CONNECTION` and its response are supported, bit 2.
    pub modify_connection: bool,
    /// The guest identifies itself with
    /// [`VmbusInitiateContact2::client_id`](super::VmbusInitiateContact2), bit 3.
    pub client_id: bool,
    /// The confidential offer flags are supported (Linux
    /// `VMBUS_FEATURE_FLAG_CONFIDENTIAL_CHANNELS` = 0x10), bit 4.
    pub confidential_channels: bool,
    /// `PAUSE`, `PAUSE_RESPONSE` and `RESUME` are supported, bit 5.
    pub pause_resume: bool,
    /// Reserved, bits 31:6.
    #[bits(26)]
    _rsvd: u32,
}

impl VmbusFeatureFlags {
    /// Mask of the reserved bits 31:6.
    pub const RESERVED_MASK: u32 = 0xFFFF_FFC0;
}

/// How the guest tells a 5.0-or-later host where to send messages: the 64-bit field that
/// holds the interrupt page GPA before 5.0 (Linux `hyperv.h` `vmbus_channel_initiate_contact`
/// `msg_sint`/`msg_vtl`; OpenVMM `protocol.rs` `TargetInfo`).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct VmbusTargetInfo {
    /// The SINT host messages are delivered to, normally [`VMBUS_MESSAGE_SINT`], bits 7:0.
    pub sint: u8,
    /// The VTL host messages are delivered to, bits 15:8.
    pub vtl: u8,
    /// Reserved, bits 31:16.
    #[bits(16)]
    _rsvd: u16,
    /// Feature flags the guest asks for (6.0 and later; zero before), bits 63:32.
    #[bits(32, from = VmbusFeatureFlags::from_bits, into = VmbusFeatureFlags::into_bits)]
    pub feature_flags: VmbusFeatureFlags,
}

impl VmbusTargetInfo {
    /// Mask of the reserved bits 31:16.
    pub const RESERVED_MASK: u64 = 0x0000_0000_FFFF_0000;
}

open_enum! {
    /// The connection state in [`VmbusVersionResponse`](super::VmbusVersionResponse) and the
    /// modify-connection response (OpenVMM `protocol.rs` `ConnectionState`; Linux reads the
    /// byte as `connection_state` and only checks `version_supported`).
    pub struct VmbusConnectionState(u8) {
        /// The connection was made.
        SUCCESSFUL = 0,
        /// The host lacked resources.
        FAILED_LOW_RESOURCES = 1,
        /// The host failed for another reason.
        FAILED_UNKNOWN_FAILURE = 2,
    }
}
