//! The VP assist page and EOI assist (TLFS 7.8.7, 10.3.5).
//!
//! Each VP may place one assist page, an overlay the hypervisor and the VP share
//! (`HvRegisterVpAssistPage`, x64 MSR 0x4000_0073; needs `AccessIntrCtrlRegs`). Its first
//! 32 bits are the EOI assist field: when the hypervisor injects an edge-triggered
//! interrupt with no lower-priority one pending, it sets "No EOI required", and the guest
//! may then skip the EOI that would otherwise exit to the hypervisor (TLFS 10.3.5). The
//! guest must clear the bit atomically as it decides:
//!
//! ```no_run
//! # use hv_guest::platform::X64Platform;
//! # use hv_guest::assist::VpAssistPage;
//! # fn on_interrupt<P: X64Platform>(assist: &VpAssistPage<'_, P>, apic_eoi: impl Fn()) {
//! // At the end of an interrupt handler, on the VP that owns `assist`:
//! if !assist.take_no_eoi_required() {
//!     apic_eoi(); // the usual EOI: x2APIC MSR 0x80B, or HV_X64_MSR_EOI (crate::apic)
//! }
//! # }
//! ```
//!
//! EOI assist concerns the x64 APIC; the page itself exists on arm64 too (VTL and nested
//! state), where [`VpAssistPage::as_ptr`] gives access to the rest of the layout
//! ([`HvVpAssistPage`]).
//!
//! The handle is per VP: enable it on the VP it is for, keep it in that VP's per-CPU data.
//! It is neither `Send` nor `Sync`.

use core::sync::atomic::{AtomicU32, Ordering};

use hv_defs::HvGpa;
use hv_defs::partition::HvPartitionPrivilegeMask;
use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;
use hv_defs::vp::{HvVirtualApicAssist, HvVpAssistPage};

use crate::gate::Unavailable;
use crate::overlay::{Overlay, OverlayError, OverlayErrorReason};
use crate::page::PhysPage;
use crate::platform::Platform;

/// An enabled VP assist page (TLFS 7.8.7).
#[derive(Debug)]
pub struct VpAssistPage<'p, P: Platform> {
    platform: &'p P,
    overlay: Overlay,
}

impl<'p, P: Platform> VpAssistPage<'p, P> {
    /// Enables the calling VP's assist page at `page`: zeroes it, writes the register (RsvdP
    /// bits preserved) and checks the read-back (TLFS 7.8.7.1). Needs `AccessIntrCtrlRegs`
    /// (TLFS 4.2.2).
    ///
    /// # Errors
    ///
    /// [`OverlayError`] with the page given back: the privilege is missing (nothing
    /// touched), or the host did not accept the page.
    pub fn enable(
        platform: &'p P,
        privileges: HvPartitionPrivilegeMask,
        page: PhysPage<'static>,
    ) -> Result<Self, OverlayError> {
        if !privileges.access_intr_ctrl_regs() {
            let reason = OverlayErrorReason::Unavailable(Unavailable::AccessIntrCtrlRegs);
            return Err(OverlayError { page, reason });
        }
        // SAFETY: the VP assist page register exists with the privilege just checked and has
        // the overlay layout (TLFS 7.8.7.1).
        let overlay =
            unsafe { Overlay::enable(platform, HvRegisterName::HvRegisterVpAssistPage, page) }?;
        Ok(Self { platform, overlay })
    }

    /// The guest physical address of the page.
    #[must_use]
    pub const fn gpa(&self) -> HvGpa {
        self.overlay.gpa()
    }

    /// The page, for code that uses its other fields. The hypervisor writes it at any time:
    /// access it only with volatile or atomic operations, never through a reference.
    #[must_use]
    pub const fn as_ptr(&self) -> *mut HvVpAssistPage {
        self.overlay.page().as_ptr().cast()
    }

    /// Atomically clears the EOI assist field and returns whether "No EOI required" was set
    /// (TLFS 10.3.5). `true`: the EOI may be skipped. `false`: perform the EOI as usual.
    #[must_use]
    pub fn take_no_eoi_required(&self) -> bool {
        // SAFETY: the EOI assist field is the naturally aligned first `u32` of the live
        // overlay page, which is reached only with atomic or volatile accesses.
        let field = unsafe { AtomicU32::from_ptr(self.overlay.page().as_ptr().cast()) };
        HvVirtualApicAssist::from_bits(field.swap(0, Ordering::AcqRel)).no_eoi_required()
    }

    /// Disables the page (clears its enable bit) and gives it back.
    ///
    /// # Errors
    ///
    /// The handle, still enabled, and the platform's error when the register could not be
    /// written.
    pub fn disable(self) -> Result<PhysPage<'static>, (Self, HvError)> {
        let platform = self.platform;
        self.overlay
            .disable(platform)
            .map_err(|(overlay, error)| (Self { platform, overlay }, error))
    }
}

#[cfg(test)]
mod tests {
    use hv_defs::msr::HV_X64_MSR_VP_ASSIST_PAGE;

    use super::*;
    use crate::testing::{Event, FakePlatform, MsrAccess};

    fn privileged() -> HvPartitionPrivilegeMask {
        HvPartitionPrivilegeMask::new().with_access_intr_ctrl_regs(true)
    }

    /// The hypervisor sets "No EOI required" through the exposed GPA.
    fn hypervisor_sets_no_eoi(gpa: HvGpa) {
        let field = core::ptr::with_exposed_provenance_mut::<u32>(gpa as usize);
        // SAFETY: the live overlay the handle exposed, reached only atomically.
        unsafe { AtomicU32::from_ptr(field) }.store(1, Ordering::Release);
    }

    #[test]
    fn enable_take_and_disable() {
        let fake = FakePlatform::new();
        fake.define_msr(HV_X64_MSR_VP_ASSIST_PAGE, 0x800, MsrAccess::ReadWrite);
        let mut page = fake.page();
        page.bytes_mut()[0] = 1; // stale contents are cleared before enabling
        let gpa = page.gpa();
        let assist = VpAssistPage::enable(&fake, privileged(), page).unwrap();
        assert_eq!(assist.gpa(), gpa);
        assert!(!assist.take_no_eoi_required());
        hypervisor_sets_no_eoi(gpa);
        assert!(assist.take_no_eoi_required());
        assert!(
            !assist.take_no_eoi_required(),
            "the bit is cleared by the take"
        );
        let page = assist.disable().map_err(|(_, e)| e).unwrap();
        assert_eq!(page.bytes()[..4], [0; 4]);
        assert_eq!(
            fake.log(),
            [
                Event::ReadMsr(HV_X64_MSR_VP_ASSIST_PAGE, 0x800),
                Event::WriteMsr(HV_X64_MSR_VP_ASSIST_PAGE, gpa | 0x801),
                Event::ReadMsr(HV_X64_MSR_VP_ASSIST_PAGE, gpa | 0x801),
                Event::ReadMsr(HV_X64_MSR_VP_ASSIST_PAGE, gpa | 0x801),
                Event::WriteMsr(HV_X64_MSR_VP_ASSIST_PAGE, gpa | 0x800),
            ]
        );
    }

    #[test]
    fn without_the_privilege_nothing_is_touched() {
        let fake = FakePlatform::new();
        let err = VpAssistPage::enable(&fake, HvPartitionPrivilegeMask::new(), fake.page())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            err.reason,
            OverlayErrorReason::Unavailable(Unavailable::AccessIntrCtrlRegs)
        );
        assert!(fake.log().is_empty());
    }
}
