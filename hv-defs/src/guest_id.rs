//! The guest OS identity (TLFS 2.6).
//!
//! Before it may enable the hypercall page, a guest writes a non-zero identity to
//! `HV_X64_MSR_GUEST_OS_ID` (x64, [`crate::msr::HV_X64_MSR_GUEST_OS_ID`]) or
//! `HvRegisterGuestOsId` (arm64). Clearing it later disables the hypercall page (TLFS 2.6,
//! 3.13). Bit 63 selects one of two encodings:
//!
//! | bit 63 | encoding | type |
//! | --- | --- | --- |
//! | 0 | proprietary OS (TLFS 2.6.1) | [`HvGuestOsIdProprietary`] |
//! | 1 | open source OS (TLFS 2.6.2) | [`HvGuestOsIdOpenSource`] |
//!
//! [`HvGuestOsId`] decodes either from a raw value.

use bitfield_struct::bitfield;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

open_enum! {
    /// A guest OS vendor id of the proprietary encoding, bits 62:48 (TLFS 2.6.1.1 "Known
    /// Vendors"). Vendor values are allocated by Microsoft; 0 is reserved.
    pub struct HvGuestOsVendor(u16) {
        /// Microsoft (TLFS 2.6.1.1).
        MICROSOFT = 0x0001,
        /// HPE (TLFS 2.6.1.1).
        HPE = 0x0002,
        /// LANCOM (TLFS 2.6.1.1).
        LANCOM = 0x0200,
    }
}

open_enum! {
    /// The OS id of the proprietary encoding when the vendor is Microsoft, bits 47:40
    /// (TLFS 2.6.1).
    pub struct HvGuestOsMicrosoftId(u8) {
        /// Undefined (TLFS 2.6.1).
        UNDEFINED = 0,
        /// MS-DOS (TLFS 2.6.1).
        MSDOS = 1,
        /// Windows 3.x (TLFS 2.6.1).
        WINDOWS_3X = 2,
        /// Windows 9x (TLFS 2.6.1).
        WINDOWS_9X = 3,
        /// Windows NT and derivatives (TLFS 2.6.1).
        WINDOWS_NT = 4,
        /// Windows CE (TLFS 2.6.1).
        WINDOWS_CE = 5,
    }
}

open_enum! {
    /// The OS type of the open source encoding, bits 62:56 (TLFS 2.6.2.1 "Known OS Types").
    /// OS type values are allocated by Microsoft.
    pub struct HvGuestOsType(u8) {
        /// Linux (TLFS 2.6.2.1; Linux `HV_LINUX_VENDOR_ID` = 0x8100 is bit 63 plus this type).
        LINUX = 0x1,
        /// FreeBSD (TLFS 2.6.2.1).
        FREEBSD = 0x2,
        /// Xen (TLFS 2.6.2.1).
        XEN = 0x3,
        /// Illumos (TLFS 2.6.2.1).
        ILLUMOS = 0x4,
    }
}

/// Why a guest OS identity could not be built.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HvGuestOsIdError {
    /// The proprietary vendor id is 0, which TLFS 2.6.1 reserves.
    ReservedVendor,
    /// The proprietary vendor id does not fit in 15 bits (TLFS 2.6.1, bits 62:48).
    VendorOutOfRange(u16),
    /// The open source OS type does not fit in 7 bits (TLFS 2.6.2, bits 62:56).
    OsTypeOutOfRange(u8),
}

impl core::fmt::Display for HvGuestOsIdError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::ReservedVendor => f.write_str("guest OS vendor id 0 is reserved"),
            Self::VendorOutOfRange(v) => {
                write!(f, "guest OS vendor id {v:#x} does not fit in 15 bits")
            }
            Self::OsTypeOutOfRange(t) => write!(f, "guest OS type {t:#x} does not fit in 7 bits"),
        }
    }
}

impl core::error::Error for HvGuestOsIdError {}

/// The guest OS identity of a proprietary (closed source) OS (TLFS 2.6.1).
///
/// | 63 | 62:48 | 47:40 | 39:32 | 31:24 | 23:16 | 15:0 |
/// | --- | --- | --- | --- | --- | --- | --- |
/// | OS type = 0 | vendor id | OS id | major | minor | service version | build |
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvGuestOsIdProprietary {
    /// Bits 15:0: build number.
    pub build_number: u16,
    /// Bits 23:16: service version (for example the service pack number).
    pub service_version: u8,
    /// Bits 31:24: minor version.
    pub minor_version: u8,
    /// Bits 39:32: major version.
    pub major_version: u8,
    /// Bits 47:40: OS variant, vendor-specific; for Microsoft see [`HvGuestOsMicrosoftId`].
    pub os_id: u8,
    /// Bits 62:48: vendor id.
    #[bits(15, from = HvGuestOsVendor::new, into = HvGuestOsVendor::get)]
    pub vendor_id: HvGuestOsVendor,
    /// Bit 63: OS type; 0 for this encoding.
    pub open_source: bool,
}

impl HvGuestOsIdProprietary {
    /// Builds a proprietary identity (bit 63 clear).
    ///
    /// # Errors
    ///
    /// [`HvGuestOsIdError::ReservedVendor`] for vendor 0 and
    /// [`HvGuestOsIdError::VendorOutOfRange`] for a vendor id above 0x7FFF.
    pub const fn build(
        vendor: HvGuestOsVendor,
        os_id: u8,
        major_version: u8,
        minor_version: u8,
        service_version: u8,
        build_number: u16,
    ) -> Result<Self, HvGuestOsIdError> {
        if vendor.get() == 0 {
            return Err(HvGuestOsIdError::ReservedVendor);
        }
        match Self::new()
            .with_build_number(build_number)
            .with_service_version(service_version)
            .with_minor_version(minor_version)
            .with_major_version(major_version)
            .with_os_id(os_id)
            .with_vendor_id_checked(vendor)
        {
            Ok(id) => Ok(id),
            Err(()) => Err(HvGuestOsIdError::VendorOutOfRange(vendor.get())),
        }
    }
}

/// The guest OS identity of an open source OS (TLFS 2.6.2).
///
/// | 63 | 62:56 | 55:48 | 47:16 | 15:0 |
/// | --- | --- | --- | --- | --- |
/// | open source = 1 | OS type | OS id | version | build |
#[bitfield(u64)]
#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, PartialEq, Eq, Hash)]
pub struct HvGuestOsIdOpenSource {
    /// Bits 15:0: additional identification (build number).
    pub build_number: u16,
    /// Bits 47:16: upstream kernel version (Linux puts `LINUX_VERSION_CODE` here).
    pub version: u32,
    /// Bits 55:48: distribution-specific identification.
    pub os_id: u8,
    /// Bits 62:56: OS type.
    #[bits(7, from = HvGuestOsType::new, into = HvGuestOsType::get)]
    pub os_type: HvGuestOsType,
    /// Bit 63: open source; 1 for this encoding.
    pub open_source: bool,
}

impl HvGuestOsIdOpenSource {
    /// Builds an open source identity (bit 63 set).
    ///
    /// # Errors
    ///
    /// [`HvGuestOsIdError::OsTypeOutOfRange`] for an OS type above 0x7F.
    pub const fn build(
        os_type: HvGuestOsType,
        os_id: u8,
        version: u32,
        build_number: u16,
    ) -> Result<Self, HvGuestOsIdError> {
        match Self::new()
            .with_open_source(true)
            .with_os_id(os_id)
            .with_version(version)
            .with_build_number(build_number)
            .with_os_type_checked(os_type)
        {
            Ok(id) => Ok(id),
            Err(()) => Err(HvGuestOsIdError::OsTypeOutOfRange(os_type.get())),
        }
    }
}

/// A guest OS identity in either encoding, chosen by bit 63 (TLFS 2.6).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HvGuestOsId {
    /// Bit 63 clear: proprietary OS (TLFS 2.6.1).
    Proprietary(HvGuestOsIdProprietary),
    /// Bit 63 set: open source OS (TLFS 2.6.2).
    OpenSource(HvGuestOsIdOpenSource),
}

impl HvGuestOsId {
    /// Decodes a raw identity. Every value decodes; 0 means "no identity reported".
    #[must_use]
    pub const fn from_bits(bits: u64) -> Self {
        if bits >> 63 == 1 {
            Self::OpenSource(HvGuestOsIdOpenSource::from_bits(bits))
        } else {
            Self::Proprietary(HvGuestOsIdProprietary::from_bits(bits))
        }
    }

    /// The raw identity.
    #[must_use]
    pub const fn into_bits(self) -> u64 {
        match self {
            Self::Proprietary(id) => id.into_bits(),
            Self::OpenSource(id) => id.into_bits(),
        }
    }

    /// Whether the identity is set; the hypercall page needs a non-zero identity
    /// (TLFS 2.6, 3.13).
    #[must_use]
    pub const fn is_set(self) -> bool {
        self.into_bits() != 0
    }
}

impl From<HvGuestOsIdProprietary> for HvGuestOsId {
    fn from(id: HvGuestOsIdProprietary) -> Self {
        Self::Proprietary(id)
    }
}

impl From<HvGuestOsIdOpenSource> for HvGuestOsId {
    fn from(id: HvGuestOsIdOpenSource) -> Self {
        Self::OpenSource(id)
    }
}
