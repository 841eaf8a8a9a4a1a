//! Bringing up the hypercall interface, in the order the TLFS requires (TLFS 3.13):
//!
//! 1. [`Hyperv::detect`]: CPUID discovery (no MSR touched);
//! 2. [`Hyperv::set_guest_os_id`]: write the guest OS identity (TLFS 2.6) → [`GuestOs`];
//! 3. [`GuestOs::enable_hypercall_page`]: place the hypercall page at a caller-provided page →
//!    [`HypercallPage`], from which [`HypercallPage::hypercalls`] hands out the
//!    [`Hypercalls`] handle.
//!
//! Each step consumes the previous one and teardown walks back: [`HypercallPage::disable`]
//! returns the page, [`GuestOs::clear`] writes a zero identity. The types make the illegal
//! orders (a hypercall before the identity, clearing the identity under an enabled page)
//! unrepresentable. All three are plain values, so a kernel can keep them in a `static`.

use hv_defs::guest_id::HvGuestOsId;
use hv_defs::msr::{HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL, HvHypercallMsr};

use crate::discovery::{self, HvInfo, NoHyperV};
use crate::hypercall::Hypercalls;
use crate::page::PhysPage;
use crate::platform::{HypercallEntry, X64Platform};

/// A partition that offers the Hyper-V interface, with what it reported.
#[derive(Debug)]
pub struct Hyperv<P: X64Platform> {
    platform: P,
    info: HvInfo,
}

impl<P: X64Platform> Hyperv<P> {
    /// Discovers the Hyper-V interface (see [`discovery::detect`]).
    ///
    /// # Errors
    ///
    /// [`NoHyperV`] says what was found instead.
    pub fn detect(platform: P) -> Result<Self, NoHyperV> {
        let info = discovery::detect(&platform)?;
        Ok(Self { platform, info })
    }

    /// What the CPUID leaves reported.
    #[must_use]
    pub const fn info(&self) -> &HvInfo {
        &self.info
    }

    /// The platform.
    #[must_use]
    pub const fn platform(&self) -> &P {
        &self.platform
    }

    /// Reports the guest OS identity (TLFS 2.6, 3.13 step 3). Writes the MSR, checks the
    /// read-back, and re-reads the version leaf, which is zero until now (TLFS 2.4.3).
    ///
    /// # Errors
    ///
    /// [`IdentityError`]: the partition lacks `AccessHypercallMsrs`, the identity is zero, or
    /// the hypervisor did not keep the value. The [`Hyperv`] comes back with the error.
    #[expect(
        clippy::result_large_err,
        reason = "no allocator to box into; the error hands the partition back by value"
    )]
    pub fn set_guest_os_id(mut self, id: HvGuestOsId) -> Result<GuestOs<P>, (Self, IdentityError)> {
        if !self.info.features.privileges().access_hypercall_msrs() {
            return Err((self, IdentityError::NoPrivilege));
        }
        if !id.is_set() {
            return Err((self, IdentityError::Zero));
        }
        // SAFETY: HV_X64_MSR_GUEST_OS_ID exists with the AccessHypercallMsrs privilege just
        // checked (TLFS appendix C); the identity makes the hypervisor touch no memory.
        unsafe {
            self.platform
                .write_msr(HV_X64_MSR_GUEST_OS_ID, id.into_bits())
        };
        // SAFETY: as above; reading has no side effect.
        let readback = unsafe { self.platform.read_msr(HV_X64_MSR_GUEST_OS_ID) };
        if readback != id.into_bits() {
            return Err((self, IdentityError::NotAccepted { readback }));
        }
        self.info.read_version(&self.platform);
        Ok(GuestOs { hv: self, id })
    }
}

/// Why the guest OS identity was not set.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IdentityError {
    /// The partition lacks the `AccessHypercallMsrs` privilege (TLFS 4.2.2, appendix C), so
    /// the identity MSR does not exist.
    NoPrivilege,
    /// A zero identity means "none" (TLFS 2.6).
    Zero,
    /// The MSR read back a different value.
    NotAccepted {
        /// What the MSR read back.
        readback: u64,
    },
}

impl core::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoPrivilege => {
                f.write_str("the partition lacks the AccessHypercallMsrs privilege")
            }
            Self::Zero => f.write_str("a zero guest OS identity means none"),
            Self::NotAccepted { readback } => {
                write!(f, "the guest OS identity read back as {readback:#018x}")
            }
        }
    }
}

impl core::error::Error for IdentityError {}

/// A partition whose guest OS identity is set (TLFS 2.6).
#[derive(Debug)]
pub struct GuestOs<P: X64Platform> {
    hv: Hyperv<P>,
    id: HvGuestOsId,
}

impl<P: X64Platform> GuestOs<P> {
    /// What the CPUID leaves reported (the version leaf read after the identity was set).
    #[must_use]
    pub const fn info(&self) -> &HvInfo {
        &self.hv.info
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

    /// Clears the identity (writes zero) and returns to the discovered state (TLFS 2.6).
    #[must_use]
    pub fn clear(self) -> Hyperv<P> {
        // SAFETY: the MSR exists (the identity was written with the privilege checked in
        // `set_guest_os_id`); no hypercall page is enabled, because enabling consumes `self`.
        unsafe { self.hv.platform.write_msr(HV_X64_MSR_GUEST_OS_ID, 0) };
        self.hv
    }

    /// Enables the hypercall page at `page` (TLFS 3.13 steps 4–7), preserving the MSR's RsvdP
    /// bits, and verifies the read-back.
    ///
    /// If the page is already enabled at this GPA it is reused; if it is enabled elsewhere it
    /// is moved here unless the MSR is locked.
    ///
    /// The page must be mapped executable at its virtual address (TLFS 3.13 step 8): the
    /// hypervisor fills it with code and [`Hypercalls`] calls into it.
    ///
    /// # Errors
    ///
    /// [`EnableError`] with the reason; the identity and the page come back with it.
    #[expect(
        clippy::result_large_err,
        reason = "no allocator to box into; the error hands the identity and page back by value"
    )]
    pub fn enable_hypercall_page(
        self,
        page: PhysPage<'static>,
    ) -> Result<HypercallPage<P>, EnableError<P>> {
        let fail = |guest, page, reason| EnableError {
            guest,
            page,
            reason,
        };
        // The identity was written, so AccessHypercallMsrs is held and the MSR exists.
        // SAFETY: see above; reading the MSR has no side effect.
        let current =
            HvHypercallMsr::from_bits(unsafe { self.hv.platform.read_msr(HV_X64_MSR_HYPERCALL) });
        let wanted_gpn = page.gpn();
        let in_place = current.enable() && current.gpa_page_number() == wanted_gpn;
        if current.locked() && !in_place {
            let reason = EnableErrorReason::Locked {
                gpn: current.gpa_page_number(),
            };
            return Err(fail(self, page, reason));
        }
        if !in_place {
            let value =
                HvHypercallMsr::from_bits(current.into_bits() & HvHypercallMsr::RESERVED_MASK)
                    .with_gpa_page_number(wanted_gpn)
                    .with_enable(true);
            // SAFETY: the MSR exists (above). The value keeps the RsvdP bits as read and sets
            // only enable and the GPN (TLFS 3.13). The overlay it creates covers `page`, which
            // is `'static` and owned by the `HypercallPage` built below for as long as the
            // overlay is enabled; nothing reads or writes it through Rust meanwhile.
            unsafe {
                self.hv
                    .platform
                    .write_msr(HV_X64_MSR_HYPERCALL, value.into_bits())
            };
        }
        // SAFETY: as above.
        let readback =
            HvHypercallMsr::from_bits(unsafe { self.hv.platform.read_msr(HV_X64_MSR_HYPERCALL) });
        if !readback.enable() || readback.gpa_page_number() != wanted_gpn {
            let reason = EnableErrorReason::NotAccepted {
                readback: readback.into_bits(),
            };
            return Err(fail(self, page, reason));
        }
        let mut page = page;
        let va = core::ptr::NonNull::new(page.as_mut_ptr().cast::<u8>())
            .unwrap_or(core::ptr::NonNull::dangling());
        // SAFETY: the MSR read back enabled at this page's GPA, so the hypervisor has filled
        // the page (TLFS 3.13); it stays enabled until `disable` consumes the
        // `HypercallPage`, which outlives every `Hypercalls` (they borrow it). The caller maps
        // the page executable (documented contract of this function).
        let entry = unsafe { HypercallEntry::new(va) };
        Ok(HypercallPage {
            guest: self,
            page,
            entry,
        })
    }
}

/// Why the hypercall page was not enabled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EnableErrorReason {
    /// The hypercall MSR is locked at another page (TLFS 3.13 "Locked").
    Locked {
        /// The page number it is locked at.
        gpn: u64,
    },
    /// The MSR did not read back as enabled at the requested page (for example because the
    /// host ignored the write).
    NotAccepted {
        /// What the MSR read back.
        readback: u64,
    },
}

/// A failed [`GuestOs::enable_hypercall_page`], with what it was given.
#[derive(Debug)]
pub struct EnableError<P: X64Platform> {
    /// The identity, still set.
    pub guest: GuestOs<P>,
    /// The page, not in use.
    pub page: PhysPage<'static>,
    /// Why.
    pub reason: EnableErrorReason,
}

impl core::fmt::Display for EnableErrorReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Locked { gpn } => write!(f, "the hypercall MSR is locked at page {gpn:#x}"),
            Self::NotAccepted { readback } => {
                write!(f, "the hypercall MSR read back as {readback:#018x}")
            }
        }
    }
}

/// An enabled hypercall page (TLFS 3.13).
#[derive(Debug)]
pub struct HypercallPage<P: X64Platform> {
    guest: GuestOs<P>,
    page: PhysPage<'static>,
    entry: HypercallEntry,
}

impl<P: X64Platform> HypercallPage<P> {
    /// What the CPUID leaves reported.
    #[must_use]
    pub const fn info(&self) -> &HvInfo {
        self.guest.info()
    }

    /// The platform.
    #[must_use]
    pub const fn platform(&self) -> &P {
        self.guest.platform()
    }

    /// The guest physical address of the page.
    #[must_use]
    pub const fn gpa(&self) -> u64 {
        self.page.gpa()
    }

    /// The hypercall handle. XMM fast input and output are offered as CPUID 0x4000_0003
    /// EDX bits 4 and 15 say (TLFS 3.7.2.1, 3.8.1.1).
    #[must_use]
    pub fn hypercalls(&self) -> Hypercalls<'_, P> {
        let features = self.info().features;
        // SAFETY: the entry is enabled until `disable` consumes `self`, which cannot happen
        // while the returned handle borrows `self`; the XMM flags come from CPUID.
        unsafe {
            Hypercalls::new(
                self.platform(),
                self.entry,
                features.xmm_registers_for_fast_hypercall_available(),
                features.fast_hypercall_output_available(),
            )
        }
    }

    /// Disables the hypercall page (clears the enable bit, preserving the rest) and gives
    /// the page back (TLFS 3.13).
    #[must_use]
    pub fn disable(self) -> (GuestOs<P>, PhysPage<'static>) {
        let platform = &self.guest.hv.platform;
        // SAFETY: the MSR exists (it was enabled through it); reading has no side effect.
        let value = HvHypercallMsr::from_bits(unsafe { platform.read_msr(HV_X64_MSR_HYPERCALL) });
        // SAFETY: clearing enable (and nothing else) removes the overlay, after which the page
        // is ordinary memory again and can be handed back.
        unsafe { platform.write_msr(HV_X64_MSR_HYPERCALL, value.with_enable(false).into_bits()) };
        (self.guest, self.page)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use hv_defs::guest_id::{HvGuestOsIdOpenSource, HvGuestOsType};

    use super::*;
    use crate::testing::{Event, FakePlatform, MsrAccess};

    fn linux_id() -> HvGuestOsId {
        HvGuestOsIdOpenSource::build(HvGuestOsType::LINUX, 0, 0x0006_0100, 0)
            .unwrap()
            .into()
    }

    /// A partition with the hypercall MSRs (privileges bit 5) and the two MSRs defined.
    fn partition() -> FakePlatform {
        let fake = FakePlatform::new();
        fake.set_cpuid(1, 0, [0, 0, 1 << 31, 0]);
        fake.set_cpuid(
            0x4000_0000,
            0,
            [0x4000_0005, 0x7263_694D, 0x666F_736F, 0x7648_2074],
        );
        fake.set_cpuid(0x4000_0001, 0, [0x3123_7648, 0, 0, 0]);
        fake.set_cpuid(0x4000_0003, 0, [1 << 5, 0, 0, 1 << 4]);
        fake.define_msr(HV_X64_MSR_GUEST_OS_ID, 0, MsrAccess::ReadWrite);
        fake.define_msr(
            HV_X64_MSR_HYPERCALL,
            0x0000_0000_0000_0FFC,
            MsrAccess::ReadWrite,
        );
        fake
    }

    #[test]
    fn bring_up_and_teardown_write_the_msrs_in_tlfs_order() {
        let fake = partition();
        let page = fake.page();
        let gpa = page.gpa();
        let hv = Hyperv::detect(&fake).unwrap();
        fake.clear_log();
        let guest = hv.set_guest_os_id(linux_id()).map_err(|(_, e)| e).unwrap();
        let hcp = guest
            .enable_hypercall_page(page)
            .map_err(|e| e.reason)
            .unwrap();
        assert!(hcp.hypercalls().xmm_input_available());
        assert!(!hcp.hypercalls().xmm_output_available());
        let (guest, _page) = hcp.disable();
        let _ = guest.clear();
        let msr_events: std::vec::Vec<_> = fake
            .log()
            .into_iter()
            .filter(|e| !matches!(e, Event::Cpuid(..)))
            .collect();
        assert_eq!(
            msr_events,
            [
                Event::WriteMsr(HV_X64_MSR_GUEST_OS_ID, 0x8100_0006_0100_0000),
                Event::ReadMsr(HV_X64_MSR_GUEST_OS_ID, 0x8100_0006_0100_0000),
                Event::ReadMsr(HV_X64_MSR_HYPERCALL, 0xFFC),
                // RsvdP bits preserved, GPN and enable set.
                Event::WriteMsr(HV_X64_MSR_HYPERCALL, gpa | 0xFFC | 1),
                Event::ReadMsr(HV_X64_MSR_HYPERCALL, gpa | 0xFFC | 1),
                Event::ReadMsr(HV_X64_MSR_HYPERCALL, gpa | 0xFFC | 1),
                Event::WriteMsr(HV_X64_MSR_HYPERCALL, gpa | 0xFFC),
                Event::WriteMsr(HV_X64_MSR_GUEST_OS_ID, 0),
            ]
        );
        // The version leaf is read again once the identity is set (TLFS 2.4.3).
        assert!(fake.log().contains(&Event::Cpuid(0x4000_0002, 0)));
    }

    #[test]
    fn no_hypercall_privilege_means_no_msr_access() {
        let fake = partition();
        fake.set_cpuid(0x4000_0003, 0, [0, 0, 0, 0]);
        let hv = Hyperv::detect(&fake).unwrap();
        fake.clear_log();
        let (_, err) = hv.set_guest_os_id(linux_id()).unwrap_err();
        assert_eq!(err, IdentityError::NoPrivilege);
        assert!(fake.log().is_empty());
    }

    #[test]
    fn zero_identity_is_refused() {
        let fake = partition();
        let hv = Hyperv::detect(&fake).unwrap();
        let (_, err) = hv.set_guest_os_id(HvGuestOsId::from_bits(0)).unwrap_err();
        assert_eq!(err, IdentityError::Zero);
    }

    #[test]
    fn a_host_that_ignores_the_enable_is_reported() {
        let fake = partition();
        let guest = Hyperv::detect(&fake)
            .unwrap()
            .set_guest_os_id(linux_id())
            .map_err(|(_, e)| e)
            .unwrap();
        // The enable bit stays zero, as when the host does not accept the identity (TLFS 3.13).
        fake.define_msr(HV_X64_MSR_HYPERCALL, 0, MsrAccess::DropsWrites);
        let err = guest
            .enable_hypercall_page(fake.page())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.reason, EnableErrorReason::NotAccepted { readback: 0 });
        // The identity is still set and usable: clearing it works.
        let _ = err.guest.clear();
    }

    #[test]
    fn a_locked_page_elsewhere_is_an_error_without_a_write() {
        let fake = partition();
        fake.define_msr(HV_X64_MSR_HYPERCALL, 0x7_7000 | 0b11, MsrAccess::ReadWrite);
        let guest = Hyperv::detect(&fake)
            .unwrap()
            .set_guest_os_id(linux_id())
            .map_err(|(_, e)| e)
            .unwrap();
        fake.clear_log();
        let err = guest
            .enable_hypercall_page(fake.page())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.reason, EnableErrorReason::Locked { gpn: 0x77 });
        assert_eq!(fake.log(), [Event::ReadMsr(HV_X64_MSR_HYPERCALL, 0x7_7003)]);
    }
}
