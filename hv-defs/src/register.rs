//! Virtual processor register names for x64 and arm64 (TLFS 7.8.2, 7.8.3).
//!
//! Registers are read and written with `HvCallGetVpRegisters` / `HvCallSetVpRegisters`
//! (TLFS 7.10) by name; each value travels as a 16-byte [`HvRegisterValue`].

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

open_enum! {
    /// A virtual processor register name (TLFS 7.8.2 `HV_REGISTER_NAME`).
    ///
    /// Synthetic registers (0x0009_xxxx and up) are shared by x64 and arm64; architectural
    /// registers carry an `HvX64Register` or `HvArm64Register` prefix.
    pub struct HvRegisterName(u32) {
        /// The guest OS identity (TLFS 2.6, 7.8.2; x64 MSR 0x4000_0000).
        HvRegisterGuestOsId = 0x0009_0002,
        /// The VP index (TLFS 7.8.1, 7.8.2; x64 MSR 0x4000_0002).
        HvRegisterVpIndex = 0x0009_0003,
        /// The partition reference counter (TLFS 12.4, 7.8.2; x64 MSR 0x4000_0020).
        HvRegisterTimeRefCount = 0x0009_0004,
    }
}

/// A register value: 16 bytes, interpreted according to the register
/// (TLFS 7.8.3 `HV_REGISTER_VALUE`).
///
/// Stored as two little-endian quadwords so the type has no padding and 8-byte alignment,
/// which is what the hypercall input and output pages guarantee.
#[repr(C)]
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct HvRegisterValue {
    /// Bits 63:0.
    pub low: u64,
    /// Bits 127:64.
    pub high: u64,
}

const _: () = assert!(size_of::<HvRegisterValue>() == 16);

impl HvRegisterValue {
    /// A value whose low 64 bits are `value` (TLFS 7.8.3 `Reg64`).
    #[must_use]
    pub const fn from_u64(value: u64) -> Self {
        Self {
            low: value,
            high: 0,
        }
    }

    /// A 128-bit value (TLFS 7.8.3 `Reg128`).
    #[must_use]
    pub const fn from_u128(value: u128) -> Self {
        Self {
            low: value as u64,
            high: (value >> 64) as u64,
        }
    }

    /// The low 64 bits (TLFS 7.8.3 `Reg64`).
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.low
    }

    /// All 128 bits (TLFS 7.8.3 `Reg128`).
    #[must_use]
    pub const fn as_u128(self) -> u128 {
        (self.high as u128) << 64 | self.low as u128
    }
}

impl From<u64> for HvRegisterValue {
    fn from(value: u64) -> Self {
        Self::from_u64(value)
    }
}

impl From<u128> for HvRegisterValue {
    fn from(value: u128) -> Self {
        Self::from_u128(value)
    }
}
