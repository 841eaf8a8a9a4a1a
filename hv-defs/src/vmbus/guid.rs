//! GUIDs in the Windows layout, and the well-known VMBus device classes.

use core::fmt;
use core::str::FromStr;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A GUID in the Windows (mixed-endian) layout that VMBus puts on the wire: a 32-bit, two
/// 16-bit and eight 8-bit fields, the integers little-endian (Linux `guid_t` /
/// `GUID_INIT`; QEMU `vmbus.c` byte-swaps its big-endian `QemuUUID` before sending "because
/// Hyper-V wants LE GUIDs").
///
/// The canonical text `f8615163-df3e-46c5-913f-f2d2f965ed0e` prints `data1`, `data2` and
/// `data3` as numbers and `data4` byte by byte, so on the wire that GUID is
/// `63 51 61 f8 3e df c5 46 91 3f f2 d2 f9 65 ed 0e`.
///
/// `Display` and `Debug` print the lowercase canonical text; [`Guid::parse`] (usable in
/// `const` items) and `FromStr` read it back, with or without surrounding braces.
#[repr(C)]
#[derive(
    Copy,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    FromBytes,
    IntoBytes,
    Immutable,
    KnownLayout,
)]
pub struct Guid {
    /// The first group: 8 hex digits.
    pub data1: u32,
    /// The second group: 4 hex digits.
    pub data2: u16,
    /// The third group: 4 hex digits.
    pub data3: u16,
    /// The fourth group (2 bytes) then the fifth (6 bytes), in text order.
    pub data4: [u8; 8],
}

const _: () = assert!(size_of::<Guid>() == 16);

/// Why a string is not a GUID (see [`Guid::parse`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum GuidParseError {
    /// The text is neither 36 characters nor 38 with braces.
    InvalidLength,
    /// A hyphen or brace is missing or misplaced at this byte index.
    InvalidSeparator(usize),
    /// The byte at this index is not a hex digit.
    InvalidDigit(usize),
}

impl fmt::Display for GuidParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidLength => f.write_str("a GUID has 36 characters, or 38 with braces"),
            Self::InvalidSeparator(at) => write!(f, "expected a GUID separator at byte {at}"),
            Self::InvalidDigit(at) => write!(f, "expected a hex digit at byte {at}"),
        }
    }
}

impl core::error::Error for GuidParseError {}

/// Byte index of each of the 32 hex digits within the 36-character form.
const DIGIT_POSITIONS: [usize; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 27, 28, 29,
    30, 31, 32, 33, 34, 35,
];

/// Byte index of the four hyphens within the 36-character form.
const HYPHEN_POSITIONS: [usize; 4] = [8, 13, 18, 23];

const fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

impl Guid {
    /// The all-zero GUID.
    pub const ZERO: Self = Self::new(0, 0, 0, [0; 8]);

    /// A GUID from its four fields, as written in text order (Linux `GUID_INIT`).
    #[must_use]
    pub const fn new(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> Self {
        Self {
            data1,
            data2,
            data3,
            data4,
        }
    }

    /// Parses the canonical text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, in either case,
    /// optionally enclosed in `{}`. Usable in `const` items.
    ///
    /// # Errors
    ///
    /// [`GuidParseError`] names the first length, separator or digit problem.
    pub const fn parse(text: &str) -> Result<Self, GuidParseError> {
        let bytes = text.as_bytes();
        let base = match bytes.len() {
            36 => 0,
            38 => {
                if bytes[0] != b'{' {
                    return Err(GuidParseError::InvalidSeparator(0));
                }
                if bytes[37] != b'}' {
                    return Err(GuidParseError::InvalidSeparator(37));
                }
                1
            }
            _ => return Err(GuidParseError::InvalidLength),
        };
        let mut i = 0;
        while i < HYPHEN_POSITIONS.len() {
            let at = base + HYPHEN_POSITIONS[i];
            if bytes[at] != b'-' {
                return Err(GuidParseError::InvalidSeparator(at));
            }
            i += 1;
        }
        // The 32 digits form one 128-bit big-endian number: data1, data2, data3, data4.
        let mut value: u128 = 0;
        let mut i = 0;
        while i < DIGIT_POSITIONS.len() {
            let at = base + DIGIT_POSITIONS[i];
            match hex_value(bytes[at]) {
                Some(digit) => value = (value << 4) | digit as u128,
                None => return Err(GuidParseError::InvalidDigit(at)),
            }
            i += 1;
        }
        Ok(Self::from_u128(value))
    }

    /// The GUID whose text form, read as one 128-bit hex number, is `value`
    /// (`0xf8615163_df3e_46c5_913f_f2d2f965ed0e` for the network class).
    #[must_use]
    pub const fn from_u128(value: u128) -> Self {
        Self {
            data1: (value >> 96) as u32,
            data2: (value >> 80) as u16,
            data3: (value >> 64) as u16,
            data4: (value as u64).to_be_bytes(),
        }
    }

    /// The inverse of [`Guid::from_u128`].
    #[must_use]
    pub const fn to_u128(self) -> u128 {
        (self.data1 as u128) << 96
            | (self.data2 as u128) << 80
            | (self.data3 as u128) << 64
            | u64::from_be_bytes(self.data4) as u128
    }

    /// The 16 wire bytes: `data1`, `data2` and `data3` little-endian, then `data4`.
    #[must_use]
    pub const fn to_le_bytes(self) -> [u8; 16] {
        let d1 = self.data1.to_le_bytes();
        let d2 = self.data2.to_le_bytes();
        let d3 = self.data3.to_le_bytes();
        let d4 = self.data4;
        [
            d1[0], d1[1], d1[2], d1[3], d2[0], d2[1], d3[0], d3[1], d4[0], d4[1], d4[2], d4[3],
            d4[4], d4[5], d4[6], d4[7],
        ]
    }

    /// The GUID whose wire bytes are `bytes` (inverse of [`Guid::to_le_bytes`]).
    #[must_use]
    pub const fn from_le_bytes(bytes: [u8; 16]) -> Self {
        Self {
            data1: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            data2: u16::from_le_bytes([bytes[4], bytes[5]]),
            data3: u16::from_le_bytes([bytes[6], bytes[7]]),
            data4: [
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14],
                bytes[15],
            ],
        }
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.data4;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            self.data1, self.data2, self.data3, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Guid {
    type Err = GuidParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Parses a GUID literal at compile time; a malformed literal fails the build.
macro_rules! guid {
    ($text:literal) => {{
        const GUID: Guid = match Guid::parse($text) {
            Ok(guid) => guid,
            Err(_) => panic!(concat!("malformed GUID literal ", $text)),
        };
        GUID
    }};
}

/// Synthetic network adapter, netvsc (Linux `hyperv.h` `HV_NIC_GUID`; QEMU `hv-net`).
pub const HV_NIC_GUID: Guid = guid!("f8615163-df3e-46c5-913f-f2d2f965ed0e");
/// Synthetic IDE disk, the accelerated path of an emulated IDE drive (Linux `HV_IDE_GUID`).
pub const HV_IDE_GUID: Guid = guid!("32412632-86cb-44a2-9b5c-50d1417354f5");
/// Synthetic SCSI controller, storvsc (Linux `HV_SCSI_GUID`; OpenVMM `SCSI`).
pub const HV_SCSI_GUID: Guid = guid!("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
/// Shutdown integration component (Linux `HV_SHUTDOWN_GUID`; OpenVMM `SHUTDOWN_IC`).
pub const HV_SHUTDOWN_GUID: Guid = guid!("0e0b6031-5213-4934-818b-38d90ced39db");
/// Time synchronization integration component (Linux `HV_TS_GUID`; OpenVMM `TIMESYNC_IC`).
pub const HV_TS_GUID: Guid = guid!("9527e630-d0ae-497b-adce-e80ab0175caf");
/// Heartbeat integration component (Linux `HV_HEART_BEAT_GUID`; OpenVMM `HEARTBEAT_IC`).
pub const HV_HEART_BEAT_GUID: Guid = guid!("57164f39-9115-4e78-ab55-382f3bd5422d");
/// Key-value pair exchange integration component (Linux `HV_KVP_GUID`; OpenVMM `KVP_IC`).
pub const HV_KVP_GUID: Guid = guid!("a9a0f4e7-5a45-4d96-b827-8a841e8c03e6");
/// Dynamic memory (balloon) (Linux `HV_DM_GUID`; QEMU `hv-balloon` `HV_BALLOON_GUID`).
pub const HV_DM_GUID: Guid = guid!("525074dc-8985-46e2-8057-a307dc18a502");
/// Synthetic mouse (Linux `HV_MOUSE_GUID`).
pub const HV_MOUSE_GUID: Guid = guid!("cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a");
/// Synthetic keyboard (Linux `HV_KBD_GUID`).
pub const HV_KBD_GUID: Guid = guid!("f912ad6d-2b17-48ea-bd65-f927a61c7684");
/// Volume shadow copy (backup) integration component (Linux `HV_VSS_GUID`; OpenVMM
/// `VSS_IC`).
pub const HV_VSS_GUID: Guid = guid!("35fa2e29-ea23-4236-96ae-3a6ebacba440");
/// Synthetic video (Linux `HV_SYNTHVID_GUID`).
pub const HV_SYNTHVID_GUID: Guid = guid!("da0a7802-e377-4aac-8e77-0558eb1073f8");
/// Synthetic Fibre Channel (Linux `HV_SYNTHFC_GUID`).
pub const HV_SYNTHFC_GUID: Guid = guid!("2f9bcc4a-0069-4af3-b76b-6fd0be528cda");
/// Guest file copy service (Linux `HV_FCOPY_GUID`).
pub const HV_FCOPY_GUID: Guid = guid!("34d14be3-dee4-41c8-9ae7-6b174977c192");
/// NetworkDirect, the guest RDMA service (Linux `HV_ND_GUID`).
pub const HV_ND_GUID: Guid = guid!("8c2eaf3d-32a7-4b09-ab99-bd1f1c86b501");
/// PCI Express pass-through, vPCI (Linux `HV_PCIE_GUID`; OpenVMM `VPCI`).
pub const HV_PCIE_GUID: Guid = guid!("44c4f61d-4444-4400-9d52-802e27ede19f");
/// Automatic Virtual Machine Activation, first channel (Linux `HV_AVMA1_GUID`).
pub const HV_AVMA1_GUID: Guid = guid!("f8e65716-3cb3-4a06-9a60-1889c5cccab5");
/// Automatic Virtual Machine Activation, second channel (Linux `HV_AVMA2_GUID`; OpenVMM
/// names the same GUID `INHERITED_ACTIVATION`).
pub const HV_AVMA2_GUID: Guid = guid!("3375baf4-9e15-4b30-b765-67acb10d607b");
/// Remote Desktop Virtualization (Linux `HV_RDV_GUID`; OpenVMM `RDV_IC`).
pub const HV_RDV_GUID: Guid = guid!("276aacf4-ac15-426c-98dd-7521ad3f01fe");
/// Initial Machine Configuration, used by Windows guests only (Linux `HV_IMC_GUID`).
pub const HV_IMC_GUID: Guid = guid!("c376c1c3-d276-48d2-90a9-c04748072c60");

/// The class of the *hv-enlightenments echo device*: a device of this project's host model
/// (`hv-sim`) that answers every in-band packet with a completion carrying the same bytes.
///
/// This is not a Microsoft GUID: it is a random (version 4) GUID reserved by this project,
/// so it cannot collide with a real Hyper-V device class. No public VMBus host defines an
/// echo or test device class (QEMU's `hw/hyperv` devices are network, balloon and video).
pub const HV_ENLIGHTENMENTS_ECHO_GUID: Guid = guid!("1c3ee94e-de83-469c-9340-4a04a28c28f9");

/// Every device class this module names, with a short human-readable name, in the order of
/// Linux `hyperv.h` followed by this project's echo device.
pub const VMBUS_DEVICE_CLASSES: &[(Guid, &str)] = &[
    (HV_NIC_GUID, "network"),
    (HV_IDE_GUID, "IDE"),
    (HV_SCSI_GUID, "storage (SCSI)"),
    (HV_SHUTDOWN_GUID, "shutdown"),
    (HV_TS_GUID, "time sync"),
    (HV_HEART_BEAT_GUID, "heartbeat"),
    (HV_KVP_GUID, "key-value pair exchange"),
    (HV_DM_GUID, "dynamic memory"),
    (HV_MOUSE_GUID, "mouse"),
    (HV_KBD_GUID, "keyboard"),
    (HV_VSS_GUID, "volume shadow copy"),
    (HV_SYNTHVID_GUID, "synthetic video"),
    (HV_SYNTHFC_GUID, "Fibre Channel"),
    (HV_FCOPY_GUID, "file copy"),
    (HV_ND_GUID, "NetworkDirect (RDMA)"),
    (HV_PCIE_GUID, "PCI pass-through"),
    (HV_AVMA1_GUID, "activation (AVMA 1)"),
    (HV_AVMA2_GUID, "activation (AVMA 2)"),
    (HV_RDV_GUID, "remote desktop virtualization"),
    (HV_IMC_GUID, "initial machine configuration"),
    (HV_ENLIGHTENMENTS_ECHO_GUID, "hv-enlightenments echo device"),
];

/// The short name of a device class from [`VMBUS_DEVICE_CLASSES`], or `None` for a class
/// this module does not know.
#[must_use]
pub const fn class_name(class: Guid) -> Option<&'static str> {
    let mut i = 0;
    while i < VMBUS_DEVICE_CLASSES.len() {
        let (known, name) = VMBUS_DEVICE_CLASSES[i];
        if known.to_u128() == class.to_u128() {
            return Some(name);
        }
        i += 1;
    }
    None
}
