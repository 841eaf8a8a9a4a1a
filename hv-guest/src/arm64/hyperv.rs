//! Bringing up the arm64 hypercall interface, in the order the TLFS and Linux use:
//!
//! 1. [`Hyperv::detect`]: the SMCCC UID query (no hypercall);
//! 2. [`Hyperv::set_guest_os_id`]: the first hypercall writes `HvRegisterGuestOsId`
//!    (TLFS 2.6), reads it back, then reads the feature registers → [`GuestOs`];
//! 3. [`GuestOs::hypercalls`]: the [`Hypercalls`] handle. There is no hypercall page to
//!    enable: `HVC` reaches the hypervisor directly.
//!
//! [`GuestOs::clear`] writes a zero identity and returns to the discovered state. Like the
//! x64 bring-up, each step consumes the previous one, so a hypercall before the identity
//! cannot be expressed.

use hv_defs::HV_VP_INDEX_SELF;
use hv_defs::arm64::SmcccUid;
use hv_defs::guest_id::HvGuestOsId;
use hv_defs::register::{HvRegisterName, HvRegisterValue};
use hv_defs::vp::HvInputVtl;

use super::discovery::{self, HvInfo, NoHyperV};
use super::{Arm64Platform, get_vp_register, set_vp_register};
use crate::hypercall::{CallError, Hypercalls};
use crate::platform::HypercallEntry;

/// A partition that offers the Hyper-V interface (its SMCCC UID is the Microsoft
/// hypervisor's).
#[derive(Debug)]
pub struct Hyperv<P: Arm64Platform> {
    platform: P,
    uid: SmcccUid,
}

impl<P: Arm64Platform> Hyperv<P> {
    /// Discovers the Hyper-V interface (see [`discovery::detect`]).
    ///
    /// # Errors
    ///
    /// [`NoHyperV`] says what answered instead.
    pub fn detect(platform: P) -> Result<Self, NoHyperV> {
        let uid = discovery::detect(&platform)?;
        Ok(Self { platform, uid })
    }

    /// The UID the hypervisor answered.
    #[must_use]
    pub const fn uid(&self) -> SmcccUid {
        self.uid
    }

    /// The platform.
    #[must_use]
    pub const fn platform(&self) -> &P {
        &self.platform
    }

    /// Reports the guest OS identity (TLFS 2.6): writes `HvRegisterGuestOsId` with a fast
    /// `HvCallSetVpRegisters`, checks the read-back, then reads the feature registers
    /// ([`HvInfo::read`]).
    ///
    /// # Errors
    ///
    /// [`IdentityError`]; the [`Hyperv`] comes back with it. After a failed read-back or
    /// feature read the identity may stay set.
    pub fn set_guest_os_id(self, id: HvGuestOsId) -> Result<GuestOs<P>, (Self, IdentityError)> {
        if !id.is_set() {
            return Err((self, IdentityError::Zero));
        }
        let name = HvRegisterName::HvRegisterGuestOsId;
        // SAFETY: the identity register makes the hypervisor touch no memory, and a non-zero
        // identity sets no reserved bit (every bit of both encodings is defined, TLFS 2.6).
        let written = unsafe {
            set_vp_register(
                &self.platform,
                HV_VP_INDEX_SELF,
                HvInputVtl::CURRENT,
                name,
                HvRegisterValue::from_u64(id.into_bits()),
            )
        };
        if let Err(error) = written {
            return Err((self, IdentityError::Write(error)));
        }
        let readback = get_vp_register(&self.platform, HV_VP_INDEX_SELF, HvInputVtl::CURRENT, name);
        match readback {
            Ok(value) if value.as_u64() == id.into_bits() => {}
            Ok(value) => {
                let readback = value.as_u64();
                return Err((self, IdentityError::NotAccepted { readback }));
            }
            Err(error) => return Err((self, IdentityError::Read(error))),
        }
        let info = match HvInfo::read(&self.platform, self.uid) {
            Ok(info) => info,
            Err(error) => return Err((self, IdentityError::Features(error))),
        };
        // SAFETY: the identity is set; `GuestOs` keeps it set until `clear` consumes it,
        // which cannot happen while a `Hypercalls` borrows the `GuestOs`.
        let entry = unsafe { HypercallEntry::hvc() };
        Ok(GuestOs {
            hv: self,
            id,
            info,
            entry,
        })
    }
}

/// Why the guest OS identity was not set.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IdentityError {
    /// A zero identity means "none" (TLFS 2.6).
    Zero,
    /// The `HvCallSetVpRegisters` failed.
    Write(CallError),
    /// Reading the identity back failed.
    Read(CallError),
    /// The register read back a different value.
    NotAccepted {
        /// What the register read back.
        readback: u64,
    },
    /// Reading the feature registers failed.
    Features(CallError),
}

impl core::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Zero => f.write_str("a zero guest OS identity means none"),
            Self::Write(e) => write!(f, "writing HvRegisterGuestOsId: {e}"),
            Self::Read(e) => write!(f, "reading HvRegisterGuestOsId back: {e}"),
            Self::NotAccepted { readback } => {
                write!(f, "HvRegisterGuestOsId read back as {readback:#018x}")
            }
            Self::Features(e) => write!(f, "reading the feature registers: {e}"),
        }
    }
}

impl core::error::Error for IdentityError {}

/// A partition whose guest OS identity is set: hypercalls may be made (TLFS 2.6).
#[derive(Debug)]
pub struct GuestOs<P: Arm64Platform> {
    hv: Hyperv<P>,
    id: HvGuestOsId,
    info: HvInfo,
    entry: HypercallEntry,
}

impl<P: Arm64Platform> GuestOs<P> {
    /// What the feature registers reported.
    #[must_use]
    pub const fn info(&self) -> &HvInfo {
        &self.info
    }

    /// The platform.
    #[must_use]
    pub const fn platform(&self) -> &P {
        &self.hv.platform
    }

    /// The identity that was reported.
    #[must_use]
    pub const fn id(&self) -> HvGuestOsId {
        self.id
    }

    /// The hypercall handle. arm64 has no XMM fast convention, so the handle has no XMM
    /// methods.
    #[must_use]
    pub fn hypercalls(&self) -> Hypercalls<'_, P> {
        // SAFETY: the identity stays set until `clear` consumes `self`, which cannot happen
        // while the returned handle borrows `self`.
        unsafe { Hypercalls::hvc(&self.hv.platform, self.entry) }
    }

    /// Clears the identity (writes zero) and returns to the discovered state (TLFS 2.6).
    ///
    /// # Errors
    ///
    /// The failed `HvCallSetVpRegisters`, with `self` (the identity is still set).
    #[allow(
        clippy::result_large_err,
        reason = "no allocator to box into; the error hands the identity back by value (its \
                  size depends on the platform type and the target)"
    )]
    pub fn clear(self) -> Result<Hyperv<P>, (Self, CallError)> {
        // SAFETY: a zero identity makes the hypervisor touch no memory.
        let cleared = unsafe {
            set_vp_register(
                &self.hv.platform,
                HV_VP_INDEX_SELF,
                HvInputVtl::CURRENT,
                HvRegisterName::HvRegisterGuestOsId,
                HvRegisterValue::from_u64(0),
            )
        };
        match cleared {
            Ok(()) => Ok(self.hv),
            Err(error) => Err((self, error)),
        }
    }
}
