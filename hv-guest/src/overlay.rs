//! Overlay pages placed by a register whose layout is bit 0 enable, bits 11:1 RsvdP, bits
//! 63:12 the guest physical page number: here the reference TSC page (TLFS 12.7.1). The VP
//! assist page register (TLFS 7.8.7.1) has the same layout; its page is
//! `crate::vsm::VpAssistPage` (x64).
//!
//! The protocol:
//!
//! 1. the caller hands over a `'static` page ([`PhysPage`]); it is zeroed, so a host that
//!    never fills it leaves a page that reads as "nothing" (TSC sequence 0: invalid);
//! 2. the register is read, the GPN and enable bit are set with the RsvdP bits preserved
//!    (TLFS 1.2), the value is written and read back;
//! 3. from then on the page is reached only through a raw pointer with volatile or atomic
//!    accesses — the hypervisor writes it at any time — and its address is exposed, as the
//!    hypervisor reaches it by GPA;
//! 4. disabling clears the enable bit (RsvdP and GPN kept) and gives the page back.
//!
//! A handle dropped while enabled leaves the overlay in place and the page with it: the page
//! is `'static`, so nothing else can use it and nothing is unsound.

use core::ptr::NonNull;

use hv_defs::HvGpa;
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;
use hv_defs::timer::HvReferenceTscMsr;

use crate::gate::Unavailable;
use crate::page::{HvPage, PhysPage};
use crate::platform::Platform;

/// The RsvdP bits 11:1 of an overlay register.
const RSVDP_MASK: u64 = HvReferenceTscMsr::RESERVED_MASK;

/// Bit 0 of an overlay register.
const ENABLE: u64 = 1;

/// Why an overlay page was not enabled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OverlayErrorReason {
    /// The partition lacks what the register needs; nothing was touched.
    Unavailable(Unavailable),
    /// This handle already has its page enabled.
    AlreadyEnabled,
    /// The platform could not reach the register.
    Register(HvError),
    /// The register did not read back as enabled at the page (a host that ignores the
    /// write, or a page beyond the partition's GPA space, TLFS 12.7.1).
    NotAccepted {
        /// What the register read back.
        readback: u64,
    },
}

impl core::fmt::Display for OverlayErrorReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unavailable(missing) => missing.fmt(f),
            Self::AlreadyEnabled => f.write_str("the overlay page is already enabled"),
            Self::Register(error) => write!(f, "overlay register access failed: {error}"),
            Self::NotAccepted { readback } => {
                write!(f, "the overlay register read back as {readback:#018x}")
            }
        }
    }
}

/// A failed enable, with the page given back (not in use).
#[derive(Debug)]
pub struct OverlayError {
    /// The page, still the caller's.
    pub page: PhysPage<'static>,
    /// Why.
    pub reason: OverlayErrorReason,
}

impl core::fmt::Display for OverlayError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.reason.fmt(f)
    }
}

impl core::error::Error for OverlayError {}

/// An enabled overlay: its register and its page, held only by raw pointer.
#[derive(Debug)]
pub(crate) struct Overlay {
    register: HvRegisterName,
    page: NonNull<HvPage>,
    gpa: HvGpa,
}

impl Overlay {
    /// Enables the overlay of `register` at `page` (steps 1–3 of the module docs).
    ///
    /// # Safety
    ///
    /// `register` must be an overlay register with the layout of the module docs (the
    /// reference TSC register) that exists in this partition: the caller checked the
    /// privilege that gates it.
    pub(crate) unsafe fn enable<P: Platform>(
        platform: &P,
        register: HvRegisterName,
        mut page: PhysPage<'static>,
    ) -> Result<Self, OverlayError> {
        page.bytes_mut().fill(0);
        let fail = |page, reason| Err(OverlayError { page, reason });
        // SAFETY: the register exists (the caller's contract); reading it has no effect.
        let current = match unsafe { platform.read_register(register) } {
            Ok(value) => value,
            Err(error) => return fail(page, OverlayErrorReason::Register(error)),
        };
        let value = (current & RSVDP_MASK) | page.gpa() | ENABLE;
        // SAFETY: the register exists; the value keeps the RsvdP bits as read and sets only
        // the GPN and enable. The overlay it creates covers `page`, which is `'static` and,
        // from here on, owned by the returned `Overlay` (or handed back on failure, once the
        // register says the overlay is not there).
        if let Err(error) = unsafe { platform.write_register(register, value) } {
            return fail(page, OverlayErrorReason::Register(error));
        }
        // SAFETY: as for the first read.
        let readback = match unsafe { platform.read_register(register) } {
            Ok(value) => value,
            Err(error) => return fail(page, OverlayErrorReason::Register(error)),
        };
        if readback & ENABLE == 0 || readback & !0xFFF != page.gpa() {
            return fail(page, OverlayErrorReason::NotAccepted { readback });
        }
        let gpa = page.gpa();
        let page = NonNull::from(page.into_inner());
        // The hypervisor reaches the page through its GPA, which Rust cannot see.
        let _ = page.as_ptr().expose_provenance();
        Ok(Self {
            register,
            page,
            gpa,
        })
    }

    /// The page, for volatile or atomic accesses only.
    pub(crate) const fn page(&self) -> NonNull<HvPage> {
        self.page
    }

    /// The guest physical address of the page.
    pub(crate) const fn gpa(&self) -> HvGpa {
        self.gpa
    }

    /// Clears the enable bit and gives the page back (step 4 of the module docs).
    ///
    /// # Errors
    ///
    /// The overlay, still enabled, and the platform's error when the register could not be
    /// reached.
    pub(crate) fn disable<P: Platform>(
        self,
        platform: &P,
    ) -> Result<PhysPage<'static>, (Self, HvError)> {
        // SAFETY: the register exists: enabling it succeeded.
        let current = match unsafe { platform.read_register(self.register) } {
            Ok(value) => value,
            Err(error) => return Err((self, error)),
        };
        // SAFETY: as above; clearing enable (RsvdP and GPN kept) removes the overlay and makes
        // the hypervisor touch no memory.
        if let Err(error) = unsafe { platform.write_register(self.register, current & !ENABLE) } {
            return Err((self, error));
        }
        let mut page = self.page;
        // SAFETY: the pointer came from the `&'static mut HvPage` this overlay took over; no
        // reference to the page was made since, and the hypervisor no longer writes it, so
        // the exclusive reference can be rebuilt.
        let page = unsafe { page.as_mut() };
        // SAFETY: the GPA is the page's, as when it was handed over.
        Ok(unsafe { PhysPage::new(page, self.gpa) })
    }
}
