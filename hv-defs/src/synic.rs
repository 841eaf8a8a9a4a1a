//! Synthetic interrupt controller: SINTs, the SynIC MSR contents, message and event flag
//! pages, messages, ports and connections, the monitored notification page and the message
//! payloads the hypervisor writes (TLFS 11, 13).
//!
//! # Reserved bits
//!
//! The SynIC MSRs (SCONTROL, SIMP, SIEFP, SINTx) have *RsvdP* bits: software must write back
//! the value it read (TLFS 11.8). The bitfields here keep every bit they were built from, so
//! the read-modify-write `HvSynicSint::from_bits(read).with_masked(false)` preserves them; a
//! value built from `new()` has them clear. Each register's `RESERVED_MASK` names the bits
//! that have no public field.
//!
//! # Messages
//!
//! A message slot of the SIM page is owned by the hypervisor until the guest sets its type
//! back to [`HvMessageType::HvMessageTypeNone`] (TLFS 11.4). The payload size in a slot is
//! written by the hypervisor or by the sending guest and is untrusted:
//! [`HvMessage::payload`] and [`HvMessage::read_payload`] bound it by the 240-byte payload
//! area and return an error instead of panicking.

use bitfield_struct::bitfield;
use core::fmt;
use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::vp::HvX64SegmentRegister;
use crate::{HvGpaPageNumber, HvPartitionId};

/// Number of synthetic interrupt sources per virtual processor (TLFS 11.10.1
/// `HV_SYNIC_SINT_COUNT`).
pub const HV_SYNIC_SINT_COUNT: usize = 16;

/// A synthetic interrupt source index as it appears on the wire, 0 to 15 (TLFS 11.10.1
/// `HV_SYNIC_SINT_INDEX`).
pub type HvSynicSintIndex = u32;

/// The SINT that receives intercept messages (TLFS 11.4.2: intercepts are queued to SINT0).
pub const HV_SYNIC_INTERCEPTION_SINT_INDEX: HvSynicSintIndex = 0;

/// The SynIC version that SVERSION reports (TLFS 11.8.2).
pub const HV_SYNIC_VERSION_1: u32 = 0x0000_0001;

/// The lowest vector a SINT may use; vectors 16 to 255 are valid and anything lower makes
/// the MSR write fail with #GP (TLFS 11.8.5).
pub const HV_SYNIC_FIRST_VALID_VECTOR: u8 = 16;

/// Size of one message and of one SIM page slot, in bytes (TLFS 11.10.4 `HV_MESSAGE_SIZE`).
pub const HV_MESSAGE_SIZE: usize = 256;

/// Largest message payload, in bytes (TLFS 11.10.4 `HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT`).
pub const HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT: usize = 240;

/// Largest message payload, in quadwords (TLFS 11.10.4
/// `HV_MESSAGE_MAX_PAYLOAD_QWORD_COUNT`).
pub const HV_MESSAGE_MAX_PAYLOAD_QWORD_COUNT: usize = 30;

/// Number of event flags per SINT (TLFS 11.10.5 `HV_EVENT_FLAGS_COUNT`).
pub const HV_EVENT_FLAGS_COUNT: usize = 256 * 8;

/// Bytes of event flags per SINT (TLFS 11.10.5 `HV_EVENT_FLAGS_BYTE_COUNT`).
pub const HV_EVENT_FLAGS_BYTE_COUNT: usize = 256;

/// Message types with this bit set are reserved for the hypervisor; a guest cannot post
/// them (TLFS 11.10.2 `HV_MESSAGE_TYPE_HYPERVISOR_MASK`).
pub const HV_MESSAGE_TYPE_HYPERVISOR_MASK: u32 = 0x8000_0000;

/// Number of monitored notification trigger groups in a monitor page (TLFS 11.10.9).
pub const HV_MONITOR_TRIGGER_GROUP_COUNT: usize = 4;

/// Number of triggers in one monitored notification trigger group (TLFS 11.10.8.1).
pub const HV_MONITOR_TRIGGERS_PER_GROUP: usize = 32;

/// Why a SynIC value was rejected.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HvSynicError {
    /// A SINT index of 16 or more (TLFS 11.10.1).
    SintOutOfRange(u32),
    /// A SINT vector below 16 (TLFS 11.8.5).
    InvalidVector(u8),
    /// A payload size above 240 bytes (TLFS 11.10.4, 11.11.1).
    PayloadTooLarge(usize),
    /// A payload shorter than the structure asked for.
    PayloadTooSmall {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes the message carries.
        size: usize,
    },
    /// A message type a guest may not post: zero, or one with the hypervisor bit set
    /// (TLFS 11.11.1).
    InvalidPostedMessageType(HvMessageType),
    /// An event flag number of 2048 or more (TLFS 11.10.5).
    EventFlagOutOfRange(u32),
    /// A monitor trigger group of 4 or more, or a trigger of 32 or more (TLFS 11.10.9).
    MonitorTriggerOutOfRange {
        /// The trigger group asked for.
        group: usize,
        /// The trigger within the group asked for.
        trigger: usize,
    },
}

impl fmt::Display for HvSynicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::SintOutOfRange(index) => {
                write!(f, "SINT index {index} is not below {HV_SYNIC_SINT_COUNT}")
            }
            Self::InvalidVector(vector) => write!(
                f,
                "SINT vector {vector} is below the first valid vector {HV_SYNIC_FIRST_VALID_VECTOR}"
            ),
            Self::PayloadTooLarge(size) => write!(
                f,
                "message payload of {size} bytes exceeds {HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT} bytes"
            ),
            Self::PayloadTooSmall { needed, size } => write!(
                f,
                "message payload of {size} bytes is shorter than the {needed} bytes needed"
            ),
            Self::InvalidPostedMessageType(message_type) => write!(
                f,
                "message type {:#x} cannot be posted by a guest",
                message_type.get()
            ),
            Self::EventFlagOutOfRange(flag) => {
                write!(f, "event flag {flag} is not below {HV_EVENT_FLAGS_COUNT}")
            }
            Self::MonitorTriggerOutOfRange { group, trigger } => write!(
                f,
                "monitor trigger {group}/{trigger} is outside {HV_MONITOR_TRIGGER_GROUP_COUNT} groups of {HV_MONITOR_TRIGGERS_PER_GROUP}"
            ),
        }
    }
}

impl core::error::Error for HvSynicError {}

/// A validated synthetic interrupt source number, 0 to 15 (TLFS 11.10.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HvSint(u8);

impl HvSint {
    /// SINT0, which receives intercept messages (TLFS 11.4.2).
    pub const SINT0: Self = Self(0);

    /// Validates a wire SINT index.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::SintOutOfRange`] when `index` is 16 or more.
    pub const fn new(index: HvSynicSintIndex) -> Result<Self, HvSynicError> {
        if index < HV_SYNIC_SINT_COUNT as u32 {
            Ok(Self(index as u8))
        } else {
            Err(HvSynicError::SintOutOfRange(index))
        }
    }

    /// The index, usable for the SIM and SIEF page arrays.
    #[must_use]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The wire form (TLFS 11.10.1 `HV_SYNIC_SINT_INDEX`).
    #[must_use]
    pub const fn get(self) -> HvSynicSintIndex {
        self.0 as u32
    }

    /// Every SINT, in order.
    pub fn all() -> impl Iterator<Item = Self> {
        (0..HV_SYNIC_SINT_COUNT as u8).map(Self)
    }
}

/// Whether `vector` may be programmed into a SINT (TLFS 11.8.5: 16–255).
#[must_use]
pub const fn is_valid_sint_vector(vector: u8) -> bool {
    vector >= HV_SYNIC_FIRST_VALID_VECTOR
}

/// Contents of the SCONTROL MSR (TLFS 11.8.1).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvSynicScontrol {
    /// Allow messages and event flags to be delivered to this VP's SynIC, bit 0.
    pub enable: bool,
    /// RsvdP, bits 63:1.
    #[bits(63)]
    _rsvdp: u64,
}

impl HvSynicScontrol {
    /// Mask of the RsvdP bits 63:1 (TLFS 11.8.1).
    pub const RESERVED_MASK: u64 = !0x1;
}

/// Contents of the SVERSION MSR (TLFS 11.8.2). Read-only; a write raises #GP.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvSynicSversion {
    /// SynIC version, bits 31:0; [`HV_SYNIC_VERSION_1`] for the first version.
    pub version: u32,
    /// Reserved, bits 63:32.
    #[bits(32)]
    _rsvd: u32,
}

impl HvSynicSversion {
    /// Mask of the reserved bits 63:32 (TLFS 11.8.2).
    pub const RESERVED_MASK: u64 = 0xFFFF_FFFF_0000_0000;
}

/// Contents of the SIMP MSR: the synthetic interrupt message page (TLFS 11.8.4).
///
/// Zero at VP creation and reset, so the SIM page starts disabled.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvSynicSimp {
    /// Enable the SIM page overlay, bit 0.
    pub enable: bool,
    /// RsvdP, bits 11:1: preserve on write.
    #[bits(11)]
    _rsvdp: u16,
    /// GPA page number of the SIM page, bits 63:12 (the address's low 12 bits are zero).
    #[bits(52)]
    pub base_gpfn: u64,
}

impl HvSynicSimp {
    /// Mask of the RsvdP bits 11:1 (TLFS 11.8.4).
    pub const RESERVED_MASK: u64 = 0x0000_0000_0000_0FFE;

    /// Largest page number the 52-bit field can hold.
    pub const MAX_GPFN: HvGpaPageNumber = (1 << 52) - 1;
}

/// Contents of the SIEFP MSR: the synthetic interrupt event flags page (TLFS 11.8.3).
///
/// Zero at VP creation and reset, so the SIEF page starts disabled.
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvSynicSiefp {
    /// Enable the SIEF page overlay, bit 0.
    pub enable: bool,
    /// RsvdP, bits 11:1: preserve on write.
    #[bits(11)]
    _rsvdp: u16,
    /// GPA page number of the SIEF page, bits 63:12 (the address's low 12 bits are zero).
    #[bits(52)]
    pub base_gpfn: u64,
}

impl HvSynicSiefp {
    /// Mask of the RsvdP bits 11:1 (TLFS 11.8.3).
    pub const RESERVED_MASK: u64 = 0x0000_0000_0000_0FFE;

    /// Largest page number the 52-bit field can hold.
    pub const MAX_GPFN: HvGpaPageNumber = (1 << 52) - 1;
}

/// The value to write to the EOM MSR: all bits are RsvdZ and any write is the trigger
/// (TLFS 11.8.6). Reads return zero.
pub const HV_SYNIC_EOM_VALUE: u64 = 0;

/// Contents of a SINTx MSR (TLFS 11.8.5; bits 19 and 20 post-TLFS 6.0, Linux
/// `hvgdk_mini.h` `union hv_synic_sint`).
///
/// All zero at VP creation, which leaves the SINT masked with vector 0; the guest must
/// program a vector of 16 or more before unmasking (see [`HvSynicSint::for_vector`]).
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvSynicSint {
    /// Interrupt vector, bits 7:0; 16–255 are valid (TLFS 11.8.5).
    pub vector: u8,
    /// RsvdP, bits 15:8.
    #[bits(8)]
    _rsvdp0: u8,
    /// The SINT is masked, bit 16.
    pub masked: bool,
    /// Perform an implicit EOI on delivery, bit 17; the guest must then not EOI.
    pub auto_eoi: bool,
    /// Unmask the source without generating interrupts, bit 18 (TLFS 11.8.5 "Polling").
    pub polling: bool,
    /// Deliver notifications for this SINT as intercepts, bit 19 (post-TLFS 6.0; Linux
    /// `hvgdk_mini.h` `as_intercept`).
    pub as_intercept: bool,
    /// Proxy the SINT's interrupts to the paravisor, bit 20 (post-TLFS 6.0; Linux
    /// `hvgdk_mini.h`, OpenVMM `hvdef` `proxy`).
    pub proxy: bool,
    /// RsvdP, bits 63:21.
    #[bits(43)]
    _rsvdp1: u64,
}

impl HvSynicSint {
    /// Mask of the RsvdP bits 15:8 and 63:21.
    pub const RESERVED_MASK: u64 = 0xFFFF_FFFF_FFE0_FF00;

    /// An unmasked SINT delivering `vector`, everything else clear.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::InvalidVector`] when `vector` is below 16 (TLFS 11.8.5).
    pub const fn for_vector(vector: u8) -> Result<Self, HvSynicError> {
        if is_valid_sint_vector(vector) {
            Ok(Self::new().with_vector(vector))
        } else {
            Err(HvSynicError::InvalidVector(vector))
        }
    }

    /// Whether the vector field holds a valid SINT vector (TLFS 11.8.5).
    #[must_use]
    pub const fn has_valid_vector(self) -> bool {
        is_valid_sint_vector(self.vector())
    }
}

open_enum! {
    /// A SynIC message type (TLFS 11.10.2 `HV_MESSAGE_TYPE`).
    ///
    /// Types with [`HV_MESSAGE_TYPE_HYPERVISOR_MASK`] set are sent only by the hypervisor.
    /// Names follow the TLFS spelling, with `HvMessageTimerExpired` normalised to the
    /// `HvMessageType` prefix. 0x8001_0005 and 0x8001_0006 keep their TLFS 6.0 names: Linux
    /// `hvgdk_mini.h` calls 0x8001_0006 `HVMSG_X64_IOMMU_PRQ` while OpenVMM `hvdef` calls
    /// 0x8001_0005 `HvMessageTypeX64IommuPrq`, so the later sources disagree with each other.
    pub struct HvMessageType(u32) {
        /// The slot is empty (TLFS 11.10.2).
        HvMessageTypeNone = 0x0000_0000,
        /// An access to an unmapped GPA (TLFS 11.10.2, 13.1).
        HvMessageTypeUnmappedGpa = 0x8000_0000,
        /// A GPA access intercept, including a VTL protection violation (TLFS 11.10.2, 15.9.2).
        HvMessageTypeGpaIntercept = 0x8000_0001,
        /// An access to an unaccepted GPA of an isolated partition (post-TLFS 6.0; OpenVMM
        /// `hvdef`).
        HvMessageTypeUnacceptedGpa = 0x8000_0003,
        /// A GPA attribute intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeGpaAttributeIntercept = 0x8000_0004,
        /// A lower VTL called `HvCallEnablePartitionVtl` (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeEnablePartitionVtlIntercept = 0x8000_0005,
        /// A synthetic timer expired (TLFS 11.10.2 `HvMessageTimerExpired`, 13.3.1).
        HvMessageTypeTimerExpired = 0x8000_0010,
        /// A register value became invalid when the VP resumed (TLFS 11.10.2, 7.8).
        HvMessageTypeInvalidVpRegisterValue = 0x8000_0020,
        /// The VP hit an unrecoverable exception (TLFS 11.10.2).
        HvMessageTypeUnrecoverableException = 0x8000_0021,
        /// The guest used an unsupported feature (TLFS 11.10.2).
        HvMessageTypeUnsupportedFeature = 0x8000_0022,
        /// A TLB page size mismatch (TLFS 11.10.2).
        HvMessageTypeTlbPageSizeMismatch = 0x8000_0023,
        /// An IOMMU fault (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeIommuFault = 0x8000_0024,
        /// Opaque intercept: the message is only in the mapped intercept page (post-TLFS 6.0;
        /// Linux `hvgdk_mini.h`).
        HvMessageTypeOpaqueIntercept = 0x8000_003F,
        /// One or more event log buffers are full (TLFS 11.10.2).
        HvMessageTypeEventLogBuffersComplete = 0x8000_0040,
        /// A hypercall intercept (TLFS 11.10.2).
        HvMessageTypeHypercallIntercept = 0x8000_0050,
        /// A SynIC event intercept (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvMessageTypeSynicEventIntercept = 0x8000_0060,
        /// A SynIC SINT intercept (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvMessageTypeSynicSintIntercept = 0x8000_0061,
        /// A SynIC SINT became deliverable (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvMessageTypeSynicSintDeliverable = 0x8000_0062,
        /// An asynchronous hypercall completed (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvMessageTypeAsyncCallCompletion = 0x8000_0070,
        /// Root scheduler: VP signal bitset (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvMessageTypeSchedulerVpSignalBitset = 0x8000_0100,
        /// Root scheduler: VP signal pair (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvMessageTypeSchedulerVpSignalPair = 0x8000_0101,
        /// An x64 I/O port access intercept (TLFS 11.10.2).
        HvMessageTypeX64IoPortIntercept = 0x8001_0000,
        /// An MSR access intercept (TLFS 11.10.2).
        HvMessageTypeMsrIntercept = 0x8001_0001,
        /// An x64 CPUID intercept (TLFS 11.10.2).
        HvMessageTypeX64CpuidIntercept = 0x8001_0002,
        /// An exception intercept (TLFS 11.10.2).
        HvMessageTypeExceptionIntercept = 0x8001_0003,
        /// An x64 APIC EOI (TLFS 11.10.2).
        HvMessageTypeX64ApicEoi = 0x8001_0004,
        /// An x64 legacy floating-point error (TLFS 11.10.2).
        HvMessageTypeX64LegacyFpError = 0x8001_0005,
        /// A register intercept, e.g. a VSM secure register intercept (TLFS 11.10.2, 15.13.4).
        HvMessageTypeRegisterIntercept = 0x8001_0006,
        /// An x64 HLT (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvMessageTypeX64Halt = 0x8001_0007,
        /// An x64 interruption became deliverable (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvMessageTypeX64InterruptionDeliverable = 0x8001_0008,
        /// An x64 SIPI intercept (post-TLFS 6.0; Linux `hvgdk_mini.h`).
        HvMessageTypeX64SipiIntercept = 0x8001_0009,
        /// An x64 RDTSC intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeX64RdtscIntercept = 0x8001_000A,
        /// An x64 APIC SMI intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeX64ApicSmiIntercept = 0x8001_000B,
        /// An arm64 reset intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeArm64ResetIntercept = 0x8001_000C,
        /// An x64 APIC INIT/SIPI intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeX64ApicInitSipiIntercept = 0x8001_000D,
        /// An x64 APIC write intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeX64ApicWriteIntercept = 0x8001_000E,
        /// An x64 proxy interrupt intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeX64ProxyInterruptIntercept = 0x8001_000F,
        /// An x64 isolation control register intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeX64IsolationCtrlRegIntercept = 0x8001_0010,
        /// An x64 SNP guest request intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeX64SnpGuestRequestIntercept = 0x8001_0011,
        /// An x64 exception trap intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeX64ExceptionTrapIntercept = 0x8001_0012,
        /// An x64 SEV VMGEXIT intercept (post-TLFS 6.0; OpenVMM `hvdef`).
        HvMessageTypeX64SevVmgexitIntercept = 0x8001_0013,
    }
}

impl HvMessageType {
    /// Whether this type is reserved for the hypervisor (TLFS 11.10.2).
    #[must_use]
    pub const fn is_hypervisor(self) -> bool {
        self.0 & HV_MESSAGE_TYPE_HYPERVISOR_MASK != 0
    }

    /// Whether a guest may post a message of this type: nonzero with the high bit clear
    /// (TLFS 11.11.1).
    #[must_use]
    pub const fn is_guest_postable(self) -> bool {
        self.0 != 0 && !self.is_hypervisor()
    }
}

/// Message flags (TLFS 11.10.3 `HV_MESSAGE_FLAGS`).
#[bitfield(u8)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvMessageFlags {
    /// More messages are queued for this SINT, bit 0: after emptying the slot the guest
    /// must write EOM (TLFS 11.10.3).
    pub message_pending: bool,
    /// Reserved (set to zero), bits 7:1.
    #[bits(7)]
    _rsvd: u8,
}

impl HvMessageFlags {
    /// Mask of the reserved bits 7:1 (TLFS 11.10.3).
    pub const RESERVED_MASK: u8 = 0xFE;
}

/// A port id (TLFS 11.10.6 `HV_PORT_ID`).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvPortId {
    /// The id, bits 23:0.
    #[bits(24)]
    pub id: u32,
    /// Reserved, must be zero, bits 31:24.
    #[bits(8)]
    _rsvd: u8,
}

impl HvPortId {
    /// Mask of the reserved bits 31:24 (TLFS 11.10.6).
    pub const RESERVED_MASK: u32 = 0xFF00_0000;
}

/// A connection id (TLFS 11.10.7 `HV_CONNECTION_ID`).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvConnectionId {
    /// The id, bits 23:0.
    #[bits(24)]
    pub id: u32,
    /// Reserved, must be zero, bits 31:24.
    #[bits(8)]
    _rsvd: u8,
}

impl HvConnectionId {
    /// Mask of the reserved bits 31:24 (TLFS 11.10.7).
    pub const RESERVED_MASK: u32 = 0xFF00_0000;
}

open_enum! {
    /// The kind of a port (TLFS 11.10.6 `HV_PORT_TYPE`).
    pub struct HvPortType(u32) {
        /// A message port, for `HvCallPostMessage` (TLFS 11.10.6).
        HvPortTypeMessage = 1,
        /// An event port, for `HvCallSignalEvent` (TLFS 11.10.6).
        HvPortTypeEvent = 2,
        /// A monitor port, for monitored notifications (TLFS 11.10.6).
        HvPortTypeMonitor = 3,
    }
}

/// The message header (TLFS 11.10.4 `HV_MESSAGE_HEADER`).
///
/// # Correction to the TLFS 6.0 text
///
/// The TLFS 6.0 C declaration lists `Reserved` (2 bytes) before `MessageFlags` and
/// `PayloadSize`, and the 13.3.1 table shows `Rsvd (3 bytes)` then `PayloadSize` at byte
/// 7. The hypervisor as shipped, Linux `struct hv_message_header` and OpenVMM
/// `HvMessageHeader` put the payload size at byte 4 and the flags at byte 5, then 2
/// reserved bytes; this type follows the shipped layout.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvMessageHeader {
    /// Message type; [`HvMessageType::HvMessageTypeNone`] marks an empty slot.
    pub message_type: HvMessageType,
    /// Bytes of payload, not counting the header (TLFS 13.2.1).
    pub payload_size: u8,
    /// Message flags.
    pub message_flags: HvMessageFlags,
    /// Reserved.
    pub rsvd: u16,
    /// Origination id: the sender partition id for intercepts, the port id (low 32 bits)
    /// for posted messages, zero for timer messages (TLFS 11.10.4).
    pub origination_id: u64,
}

const _: () = assert!(size_of::<HvMessageHeader>() == 16);
const _: () = assert!(offset_of!(HvMessageHeader, message_type) == 0);
const _: () = assert!(offset_of!(HvMessageHeader, payload_size) == 4);
const _: () = assert!(offset_of!(HvMessageHeader, message_flags) == 5);
const _: () = assert!(offset_of!(HvMessageHeader, rsvd) == 6);
const _: () = assert!(offset_of!(HvMessageHeader, origination_id) == 8);

impl HvMessageHeader {
    /// The origination id read as a sender partition id (intercept messages).
    #[must_use]
    pub const fn sender(&self) -> HvPartitionId {
        self.origination_id
    }

    /// The origination id read as a port id (posted messages).
    #[must_use]
    pub const fn port(&self) -> HvPortId {
        HvPortId::from_bits(self.origination_id as u32)
    }
}

/// A SynIC message: header and 240-byte payload, 256 bytes (TLFS 11.10.4 `HV_MESSAGE`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvMessage {
    /// The header.
    pub header: HvMessageHeader,
    /// The payload area; only `header.payload_size` bytes are meaningful.
    pub payload: [u8; HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT],
}

const _: () = assert!(size_of::<HvMessage>() == HV_MESSAGE_SIZE);
const _: () = assert!(align_of::<HvMessage>() == 8);
const _: () = assert!(offset_of!(HvMessage, payload) == 16);

impl Default for HvMessage {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl HvMessage {
    /// An empty slot: type `HvMessageTypeNone`, everything zero.
    pub const EMPTY: Self = Self {
        header: HvMessageHeader {
            message_type: HvMessageType::HvMessageTypeNone,
            payload_size: 0,
            message_flags: HvMessageFlags::new(),
            rsvd: 0,
            origination_id: 0,
        },
        payload: [0; HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT],
    };

    /// A message with `payload` copied in and the rest of the payload area zero.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::PayloadTooLarge`] when `payload` is longer than 240 bytes.
    pub fn new(
        message_type: HvMessageType,
        origination_id: u64,
        payload: &[u8],
    ) -> Result<Self, HvSynicError> {
        let size = checked_payload_size(payload.len())?;
        let mut message = Self::EMPTY;
        message.header.message_type = message_type;
        message.header.payload_size = size;
        message.header.origination_id = origination_id;
        message.payload[..payload.len()].copy_from_slice(payload);
        Ok(message)
    }

    /// Whether the slot is empty (TLFS 11.9: its type is `HvMessageTypeNone`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.header.message_type == HvMessageType::HvMessageTypeNone
    }

    /// The meaningful payload bytes.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::PayloadTooLarge`] when the header claims more than 240 bytes.
    pub fn payload(&self) -> Result<&[u8], HvSynicError> {
        let size = usize::from(self.header.payload_size);
        self.payload
            .get(..size)
            .ok_or(HvSynicError::PayloadTooLarge(size))
    }

    /// Reads a payload structure `T` (for example [`HvTimerMessagePayload`]) from the start
    /// of the payload.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::PayloadTooLarge`] when the header claims more than 240 bytes;
    /// [`HvSynicError::PayloadTooSmall`] when it claims fewer bytes than `T` has.
    pub fn read_payload<T: FromBytes + KnownLayout + Immutable>(&self) -> Result<T, HvSynicError> {
        let payload = self.payload()?;
        T::read_from_prefix(payload)
            .map(|(value, _)| value)
            .map_err(|_| HvSynicError::PayloadTooSmall {
                needed: size_of::<T>(),
                size: payload.len(),
            })
    }
}

/// Converts a payload length to the header's one-byte size, rejecting more than 240 bytes.
fn checked_payload_size(len: usize) -> Result<u8, HvSynicError> {
    if len <= HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT {
        Ok(len as u8)
    } else {
        Err(HvSynicError::PayloadTooLarge(len))
    }
}

/// The SIM page: one message slot per SINT, 4096 bytes (TLFS 11.9).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvMessagePage {
    /// Message slots, indexed by SINT.
    pub sint_message: [HvMessage; HV_SYNIC_SINT_COUNT],
}

const _: () = assert!(size_of::<HvMessagePage>() == crate::HV_PAGE_SIZE);

impl HvMessagePage {
    /// The slot of `sint`.
    #[must_use]
    pub const fn slot(&self, sint: HvSint) -> &HvMessage {
        &self.sint_message[sint.index()]
    }

    /// The slot of `sint`, writable.
    pub const fn slot_mut(&mut self, sint: HvSint) -> &mut HvMessage {
        &mut self.sint_message[sint.index()]
    }
}

/// The event flags of one SINT: 2048 bits, flag `n` at bit `n % 8` of byte `n / 8`
/// (TLFS 11.10.5 `HV_SYNIC_EVENT_FLAGS`).
///
/// Guests sharing the page with the hypervisor must clear flags with locked operations
/// (TLFS 11.5.2); these methods are for owned copies and host models.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvSynicEventFlags {
    /// The flag bytes.
    pub flags: [u8; HV_EVENT_FLAGS_BYTE_COUNT],
}

const _: () = assert!(size_of::<HvSynicEventFlags>() == 256);

impl Default for HvSynicEventFlags {
    fn default() -> Self {
        Self {
            flags: [0; HV_EVENT_FLAGS_BYTE_COUNT],
        }
    }
}

impl HvSynicEventFlags {
    /// Byte index and bit mask of `flag`.
    const fn locate(flag: u32) -> Result<(usize, u8), HvSynicError> {
        if (flag as usize) < HV_EVENT_FLAGS_COUNT {
            Ok(((flag / 8) as usize, 1 << (flag % 8)))
        } else {
            Err(HvSynicError::EventFlagOutOfRange(flag))
        }
    }

    /// Whether `flag` is set.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::EventFlagOutOfRange`] when `flag` is 2048 or more.
    pub const fn is_set(&self, flag: u32) -> Result<bool, HvSynicError> {
        match Self::locate(flag) {
            Ok((byte, mask)) => Ok(self.flags[byte] & mask != 0),
            Err(e) => Err(e),
        }
    }

    /// Sets `flag`; returns whether it was already set (the hypervisor interrupts only on
    /// a clear-to-set change, TLFS 11.5.1).
    ///
    /// # Errors
    ///
    /// [`HvSynicError::EventFlagOutOfRange`] when `flag` is 2048 or more.
    pub const fn set(&mut self, flag: u32) -> Result<bool, HvSynicError> {
        match Self::locate(flag) {
            Ok((byte, mask)) => {
                let was_set = self.flags[byte] & mask != 0;
                self.flags[byte] |= mask;
                Ok(was_set)
            }
            Err(e) => Err(e),
        }
    }

    /// Clears `flag`; returns whether it was set.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::EventFlagOutOfRange`] when `flag` is 2048 or more.
    pub const fn clear(&mut self, flag: u32) -> Result<bool, HvSynicError> {
        match Self::locate(flag) {
            Ok((byte, mask)) => {
                let was_set = self.flags[byte] & mask != 0;
                self.flags[byte] &= !mask;
                Ok(was_set)
            }
            Err(e) => Err(e),
        }
    }
}

/// The SIEF page: one event flags block per SINT, 4096 bytes (TLFS 11.9).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvSynicEventFlagsPage {
    /// Event flags, indexed by SINT.
    pub sint_event_flags: [HvSynicEventFlags; HV_SYNIC_SINT_COUNT],
}

const _: () = assert!(size_of::<HvSynicEventFlagsPage>() == crate::HV_PAGE_SIZE);

impl HvSynicEventFlagsPage {
    /// The event flags of `sint`.
    #[must_use]
    pub const fn flags(&self, sint: HvSint) -> &HvSynicEventFlags {
        &self.sint_event_flags[sint.index()]
    }

    /// The event flags of `sint`, writable.
    pub const fn flags_mut(&mut self, sint: HvSint) -> &mut HvSynicEventFlags {
        &mut self.sint_event_flags[sint.index()]
    }
}

/// Input of `HvCallPostMessage` (call code 0x005C), 256 bytes (TLFS 11.11.1).
///
/// Like every hypercall input it must be 8-byte aligned and must not cross a page
/// (TLFS 3.7); the type's alignment guarantees the first. The hypervisor fails the call
/// with `HV_STATUS_INVALID_PARAMETER` if the message type is zero or has the high bit set,
/// or if the payload size exceeds 240 bytes; [`HvPostMessageInput::new`] rejects the same
/// inputs before the call.
#[repr(C, align(8))]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvPostMessageInput {
    /// The connection to post to (created by `HvConnectPort`), offset 0.
    pub connection_id: HvConnectionId,
    /// Padding, offset 4.
    pub rsvd: u32,
    /// The message type the receiver will see, offset 8.
    pub message_type: HvMessageType,
    /// Bytes of `payload` to send, at most 240, offset 12.
    pub payload_size: u32,
    /// The payload, offset 16; only the first `payload_size` bytes are sent.
    pub payload: [u8; HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT],
}

const _: () = assert!(size_of::<HvPostMessageInput>() == 256);
const _: () = assert!(align_of::<HvPostMessageInput>() == 8);
const _: () = assert!(offset_of!(HvPostMessageInput, connection_id) == 0);
const _: () = assert!(offset_of!(HvPostMessageInput, rsvd) == 4);
const _: () = assert!(offset_of!(HvPostMessageInput, message_type) == 8);
const _: () = assert!(offset_of!(HvPostMessageInput, payload_size) == 12);
const _: () = assert!(offset_of!(HvPostMessageInput, payload) == 16);

impl HvPostMessageInput {
    /// Builds the input for posting `payload` as a message of `message_type`.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::InvalidPostedMessageType`] when the type is zero or reserved for the
    /// hypervisor; [`HvSynicError::PayloadTooLarge`] when `payload` exceeds 240 bytes.
    pub fn new(
        connection_id: HvConnectionId,
        message_type: HvMessageType,
        payload: &[u8],
    ) -> Result<Self, HvSynicError> {
        if !message_type.is_guest_postable() {
            return Err(HvSynicError::InvalidPostedMessageType(message_type));
        }
        let size = checked_payload_size(payload.len())?;
        let mut input = Self {
            connection_id,
            rsvd: 0,
            message_type,
            payload_size: u32::from(size),
            payload: [0; HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT],
        };
        input.payload[..payload.len()].copy_from_slice(payload);
        Ok(input)
    }

    /// The payload bytes to send, as a host reads them from a guest's input page.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::PayloadTooLarge`] when `payload_size` exceeds 240.
    pub fn payload(&self) -> Result<&[u8], HvSynicError> {
        let size = self.payload_size as usize;
        self.payload
            .get(..size)
            .ok_or(HvSynicError::PayloadTooLarge(size))
    }
}

/// Input of `HvCallSignalEvent` (call code 0x005D), 8 bytes (TLFS 11.11.2).
///
/// The call is usually made as a fast hypercall with the whole input in RDX
/// ([`HvSignalEventInput::to_fast`]). The flag number is relative to the port's base flag
/// number and must be below the port's flag count, else the call fails with
/// `HV_STATUS_INVALID_PARAMETER`.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvSignalEventInput {
    /// The connection to signal, offset 0.
    pub connection_id: HvConnectionId,
    /// Relative event flag number, offset 4.
    pub flag_number: u16,
    /// RsvdZ, offset 6.
    pub rsvd: u16,
}

const _: () = assert!(size_of::<HvSignalEventInput>() == 8);
const _: () = assert!(offset_of!(HvSignalEventInput, connection_id) == 0);
const _: () = assert!(offset_of!(HvSignalEventInput, flag_number) == 4);
const _: () = assert!(offset_of!(HvSignalEventInput, rsvd) == 6);

impl HvSignalEventInput {
    /// The fast-call form: the input as the quadword passed in RDX (TLFS 3.7).
    #[must_use]
    pub const fn to_fast(self) -> u64 {
        self.connection_id.into_bits() as u64
            | (self.flag_number as u64) << 32
            | (self.rsvd as u64) << 48
    }

    /// Decodes the fast-call form from RDX.
    #[must_use]
    pub const fn from_fast(rdx: u64) -> Self {
        Self {
            connection_id: HvConnectionId::from_bits(rdx as u32),
            flag_number: (rdx >> 32) as u16,
            rsvd: (rdx >> 48) as u16,
        }
    }
}

/// Payload of an `HvMessageTypeTimerExpired` message, 24 bytes (TLFS 13.3.1).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvTimerMessagePayload {
    /// The synthetic timer (0 to 3) that expired.
    pub timer_index: u32,
    /// Reserved.
    pub rsvd: u32,
    /// When the timer was due, in 100 ns units of the partition reference counter.
    pub expiration_time: u64,
    /// When the message was put in the SIM slot, in the same units.
    pub delivery_time: u64,
}

const _: () = assert!(size_of::<HvTimerMessagePayload>() == 24);
const _: () = assert!(offset_of!(HvTimerMessagePayload, timer_index) == 0);
const _: () = assert!(offset_of!(HvTimerMessagePayload, expiration_time) == 8);
const _: () = assert!(offset_of!(HvTimerMessagePayload, delivery_time) == 16);

/// The trigger state of a monitor page (TLFS 11.10.9 `HV_MONITOR_TRIGGER_STATE`).
#[bitfield(u32)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvMonitorTriggerState {
    /// One enable bit per trigger group, bits 3:0.
    #[bits(4)]
    pub group_enable: u8,
    /// RsvdZ, bits 31:4.
    #[bits(28)]
    _rsvd: u32,
}

impl HvMonitorTriggerState {
    /// Mask of the reserved bits 31:4.
    pub const RESERVED_MASK: u32 = 0xFFFF_FFF0;
}

/// One group of 32 monitored notification triggers (TLFS 11.10.8.1
/// `HV_MONITOR_TRIGGER_GROUP`). A pending bit and its armed bit must be updated together,
/// atomically.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvMonitorTriggerGroup {
    /// Triggers whose notification should eventually be signalled.
    pub pending: u32,
    /// Triggers whose latency has started; cleared when the pending bit changes.
    pub armed: u32,
}

const _: () = assert!(size_of::<HvMonitorTriggerGroup>() == 8);

/// The `HvCallSignalEvent` parameters of one trigger (TLFS 11.10.8.2
/// `HV_MONITOR_PARAMETER`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvMonitorParameter {
    /// The connection the hypervisor signals.
    pub connection_id: HvConnectionId,
    /// The flag number it signals.
    pub flag_number: u16,
    /// RsvdZ.
    pub rsvd: u16,
}

const _: () = assert!(size_of::<HvMonitorParameter>() == 8);

/// The monitored notification (MNF) overlay page, 4096 bytes (TLFS 11.10.9
/// `HV_MONITOR_PAGE`).
///
/// The reserved areas belong to the hypervisor: changing them is boundedly undefined. Linux
/// (`struct hv_monitor_page`) names the last 512 bytes of `rsvd2` `next_checktime`, the
/// hypervisor's per-trigger bookkeeping.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct HvMonitorPage {
    /// Group enable flags, offset 0.
    pub trigger_state: HvMonitorTriggerState,
    /// Reserved, offset 4.
    pub rsvd1: u32,
    /// The four trigger groups, offset 8.
    pub trigger_group: [HvMonitorTriggerGroup; HV_MONITOR_TRIGGER_GROUP_COUNT],
    /// Reserved, offset 40.
    pub rsvd2: [u8; 536],
    /// Latency hint per trigger in 100 ns units, offset 576.
    pub latency: [[u16; HV_MONITOR_TRIGGERS_PER_GROUP]; HV_MONITOR_TRIGGER_GROUP_COUNT],
    /// Reserved, offset 832.
    pub rsvd3: [u8; 256],
    /// Signal parameters per trigger, offset 1088.
    pub parameter:
        [[HvMonitorParameter; HV_MONITOR_TRIGGERS_PER_GROUP]; HV_MONITOR_TRIGGER_GROUP_COUNT],
    /// Reserved, offset 2112.
    pub rsvd4: [u8; 1984],
}

const _: () = assert!(size_of::<HvMonitorPage>() == crate::HV_PAGE_SIZE);
const _: () = assert!(offset_of!(HvMonitorPage, trigger_group) == 8);
const _: () = assert!(offset_of!(HvMonitorPage, rsvd2) == 40);
const _: () = assert!(offset_of!(HvMonitorPage, latency) == 576);
const _: () = assert!(offset_of!(HvMonitorPage, rsvd3) == 832);
const _: () = assert!(offset_of!(HvMonitorPage, parameter) == 1088);
const _: () = assert!(offset_of!(HvMonitorPage, rsvd4) == 2112);

impl HvMonitorPage {
    /// Checks a (group, trigger) pair.
    const fn check(group: usize, trigger: usize) -> Result<(), HvSynicError> {
        if group < HV_MONITOR_TRIGGER_GROUP_COUNT && trigger < HV_MONITOR_TRIGGERS_PER_GROUP {
            Ok(())
        } else {
            Err(HvSynicError::MonitorTriggerOutOfRange { group, trigger })
        }
    }

    /// The signal parameters of trigger `trigger` in group `group`.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::MonitorTriggerOutOfRange`] when `group` ≥ 4 or `trigger` ≥ 32.
    pub const fn parameter(
        &self,
        group: usize,
        trigger: usize,
    ) -> Result<HvMonitorParameter, HvSynicError> {
        match Self::check(group, trigger) {
            Ok(()) => Ok(self.parameter[group][trigger]),
            Err(e) => Err(e),
        }
    }

    /// The latency hint of trigger `trigger` in group `group`, in 100 ns units.
    ///
    /// # Errors
    ///
    /// [`HvSynicError::MonitorTriggerOutOfRange`] when `group` ≥ 4 or `trigger` ≥ 32.
    pub const fn latency(&self, group: usize, trigger: usize) -> Result<u16, HvSynicError> {
        match Self::check(group, trigger) {
            Ok(()) => Ok(self.latency[group][trigger]),
            Err(e) => Err(e),
        }
    }
}

open_enum! {
    /// The access that caused an intercept (TLFS 13.2.2 `HV_INTERCEPT_ACCESS_TYPE`).
    pub struct HvInterceptAccessType(u8) {
        /// A read.
        HvInterceptAccessRead = 0,
        /// A write.
        HvInterceptAccessWrite = 1,
        /// An instruction fetch.
        HvInterceptAccessExecute = 2,
    }
}

/// The VP execution state in an intercept message (TLFS 13.2.3
/// `HV_X64_VP_EXECUTION_STATE`; bits 13:7 post-TLFS 6.0, OpenVMM `hvdef`).
#[bitfield(u16)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvX64VpExecutionState {
    /// Current privilege level, bits 1:0.
    #[bits(2)]
    pub cpl: u8,
    /// CR0.PE: protected mode, bit 2.
    pub cr0_pe: bool,
    /// CR0.AM: alignment checks, bit 3.
    pub cr0_am: bool,
    /// EFER.LMA: long mode, bit 4.
    pub efer_lma: bool,
    /// A debug register is active, bit 5.
    pub debug_active: bool,
    /// The intercept happened while delivering an interruption, bit 6.
    pub interruption_pending: bool,
    /// The VTL that was running, bits 10:7 (post-TLFS 6.0).
    #[bits(4)]
    pub vtl: u8,
    /// The VP was in enclave mode, bit 11 (post-TLFS 6.0).
    pub enclave_mode: bool,
    /// An interrupt shadow was active, bit 12 (post-TLFS 6.0).
    pub interrupt_shadow: bool,
    /// A virtualization fault was active, bit 13 (post-TLFS 6.0).
    pub virtualization_fault_active: bool,
    /// Reserved, bits 15:14.
    #[bits(2)]
    _rsvd: u8,
}

impl HvX64VpExecutionState {
    /// Mask of the reserved bits 15:14.
    pub const RESERVED_MASK: u16 = 0xC000;
}

/// The instruction length byte of the x64 intercept header (TLFS 13.2.2; the CR8 nibble
/// post-TLFS 6.0, OpenVMM `hvdef`).
#[bitfield(u8)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvX64InterceptInstructionInfo {
    /// Length of the intercepted instruction, 0 if unknown, bits 3:0 (TLFS 13.2.2).
    #[bits(4)]
    pub instruction_length: u8,
    /// CR8 at the time of the intercept, bits 7:4.
    #[bits(4)]
    pub cr8: u8,
}

/// The header that starts every x64 memory access and processor intercept message
/// payload, 40 bytes (TLFS 13.2.2 `HV_X64_INTERCEPT_MESSAGE_HEADER`).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvX64InterceptMessageHeader {
    /// The VP that intercepted.
    pub vp_index: u32,
    /// Instruction length (and CR8).
    pub instruction_info: HvX64InterceptInstructionInfo,
    /// Read, write or execute.
    pub intercept_access_type: HvInterceptAccessType,
    /// Execution state flags.
    pub execution_state: HvX64VpExecutionState,
    /// CS with its hidden state.
    pub cs_segment: HvX64SegmentRegister,
    /// RIP of the intercepted instruction.
    pub rip: u64,
    /// RFLAGS.
    pub rflags: u64,
}

const _: () = assert!(size_of::<HvX64InterceptMessageHeader>() == 40);
const _: () = assert!(offset_of!(HvX64InterceptMessageHeader, instruction_info) == 4);
const _: () = assert!(offset_of!(HvX64InterceptMessageHeader, intercept_access_type) == 5);
const _: () = assert!(offset_of!(HvX64InterceptMessageHeader, execution_state) == 6);
const _: () = assert!(offset_of!(HvX64InterceptMessageHeader, cs_segment) == 8);
const _: () = assert!(offset_of!(HvX64InterceptMessageHeader, rip) == 24);
const _: () = assert!(offset_of!(HvX64InterceptMessageHeader, rflags) == 32);

/// Memory access flags of a memory intercept message (TLFS 13.2.6
/// `HV_X64_MEMORY_ACCESS_INFO`; bits 4:1 post-TLFS 6.0, OpenVMM `hvdef`).
#[bitfield(u8)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvX64MemoryAccessInfo {
    /// The GVA field is valid, bit 0 (TLFS 13.2.6).
    pub gva_valid: bool,
    /// The GVA and GPA fields both are valid, bit 1.
    pub gva_gpa_valid: bool,
    /// Hypercall output is pending, bit 2.
    pub hypercall_output_pending: bool,
    /// The TLB was locked, bit 3.
    pub tlb_locked: bool,
    /// A supervisor shadow stack access, bit 4.
    pub supervisor_shadow_stack: bool,
    /// Reserved, bits 7:5.
    #[bits(3)]
    _rsvd: u8,
}

impl HvX64MemoryAccessInfo {
    /// Mask of the reserved bits 7:5.
    pub const RESERVED_MASK: u8 = 0xE0;
}

open_enum! {
    /// A memory cache type (TLFS 13 memory intercepts, `HV_CACHE_TYPE`; values from
    /// OpenVMM `hvdef`, equal to the x86 memory types).
    pub struct HvCacheType(u32) {
        /// Uncached.
        HvCacheTypeUncached = 0,
        /// Write combining.
        HvCacheTypeWriteCombining = 1,
        /// Write through.
        HvCacheTypeWriteThrough = 4,
        /// Write protected.
        HvCacheTypeWriteProtected = 5,
        /// Write back.
        HvCacheTypeWriteBack = 6,
    }
}

/// Payload of an x64 `HvMessageTypeGpaIntercept` or `HvMessageTypeUnmappedGpa` message,
/// 80 bytes (TLFS 13.1, 13.2.6 `HV_X64_MEMORY_INTERCEPT_MESSAGE`; layout from OpenVMM
/// `hvdef`). A VTL protection violation by a lower VTL reaches the higher VTL as this
/// message (TLFS 15.9.2).
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvX64MemoryInterceptMessage {
    /// The common intercept header.
    pub header: HvX64InterceptMessageHeader,
    /// Cache type of the access.
    pub cache_type: HvCacheType,
    /// Valid bytes in `instruction_bytes`.
    pub instruction_byte_count: u8,
    /// Access flags.
    pub memory_access_info: HvX64MemoryAccessInfo,
    /// TPR priority.
    pub tpr_priority: u8,
    /// Reserved.
    pub rsvd: u8,
    /// Faulting GVA, valid when `memory_access_info.gva_valid`.
    pub guest_virtual_address: u64,
    /// Faulting GPA.
    pub guest_physical_address: u64,
    /// The first bytes of the instruction.
    pub instruction_bytes: [u8; 16],
}

const _: () = assert!(size_of::<HvX64MemoryInterceptMessage>() == 80);
const _: () = assert!(offset_of!(HvX64MemoryInterceptMessage, cache_type) == 40);
const _: () = assert!(offset_of!(HvX64MemoryInterceptMessage, instruction_byte_count) == 44);
const _: () = assert!(offset_of!(HvX64MemoryInterceptMessage, memory_access_info) == 45);
const _: () = assert!(offset_of!(HvX64MemoryInterceptMessage, tpr_priority) == 46);
const _: () = assert!(offset_of!(HvX64MemoryInterceptMessage, guest_virtual_address) == 48);
const _: () = assert!(offset_of!(HvX64MemoryInterceptMessage, guest_physical_address) == 56);
const _: () = assert!(offset_of!(HvX64MemoryInterceptMessage, instruction_bytes) == 64);

impl HvX64MemoryInterceptMessage {
    /// The valid instruction bytes, bounded by the 16-byte array whatever the count says.
    #[must_use]
    pub fn instruction(&self) -> &[u8] {
        let count = usize::from(self.instruction_byte_count).min(self.instruction_bytes.len());
        &self.instruction_bytes[..count]
    }
}

/// I/O port access flags of an I/O port intercept message (TLFS 13.2.4
/// `HV_X64_IO_PORT_ACCESS_INFO`).
#[bitfield(u8)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvX64IoPortAccessInfo {
    /// Access size, bits 2:0: 001b = 8, 010b = 16, 100b = 32 bits; others reserved.
    #[bits(3)]
    pub access_size: u8,
    /// A string instruction (INS/OUTS), bit 3.
    pub string_op: bool,
    /// A REP prefix, bit 4 (string operations only).
    pub rep_prefix: bool,
    /// Reserved, bits 7:5.
    #[bits(3)]
    _rsvd: u8,
}

impl HvX64IoPortAccessInfo {
    /// Mask of the reserved bits 7:5.
    pub const RESERVED_MASK: u8 = 0xE0;
}

/// Exception flags of an exception intercept message (TLFS 13.2.5 `HV_X64_EXCEPTION_INFO`;
/// bit 1 post-TLFS 6.0, OpenVMM `hvdef`).
#[bitfield(u8)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvX64ExceptionInfo {
    /// The message's error code field is valid, bit 0.
    pub error_code_valid: bool,
    /// The exception was raised by a software instruction, bit 1.
    pub software_exception: bool,
    /// Reserved, bits 7:2.
    #[bits(6)]
    _rsvd: u8,
}

impl HvX64ExceptionInfo {
    /// Mask of the reserved bits 7:2.
    pub const RESERVED_MASK: u8 = 0xFC;
}
