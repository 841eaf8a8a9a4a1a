//! EOI assist through the VP assist page (TLFS 10.3.5).
//!
//! The first 32 bits of a VP's assist page ([`VpAssistPage`], TLFS 7.8.7; enabled with
//! [`VpAssistPage::enable`], which needs `AccessIntrCtrlRegs`) are the EOI assist field.
//! When the hypervisor injects an edge-triggered interrupt with no lower-priority one
//! pending, it sets "No EOI required", and the guest may then skip the EOI that would
//! otherwise exit to the hypervisor. The guest clears the field atomically as it decides
//! ([`VpAssistPage::take_no_eoi_required`]); if the bit was clear it performs the EOI as
//! usual:
//!
//! ```no_run
//! # fn on_interrupt(assist: &hv_guest::assist::VpAssistPage, apic_eoi: impl Fn()) {
//! // At the end of an interrupt handler, on the VP that owns `assist`:
//! if !assist.take_no_eoi_required() {
//!     apic_eoi(); // the usual EOI: x2APIC MSR 0x80B, or HV_X64_MSR_EOI (crate::apic)
//! }
//! # }
//! ```
//!
//! Enable the page on each VP (the register is per VP) at boot and keep the handle in that
//! VP's per-CPU data; the same page serves VSM's VTL control area
//! ([`VpAssistPage::vtl_control`]). EOI assist concerns the x64 APIC; the page itself also
//! exists on arm64.

use core::sync::atomic::{AtomicU32, Ordering};

use hv_defs::vp::HvVirtualApicAssist;

pub use crate::vsm::VpAssistPage;

impl VpAssistPage {
    /// Atomically clears the EOI assist field and returns whether "No EOI required" was set
    /// (TLFS 10.3.5: "atomically writing zero to the EOI Assist field"). `true`: the EOI
    /// may be skipped. `false`: perform the EOI as usual.
    #[must_use]
    pub fn take_no_eoi_required(&self) -> bool {
        // SAFETY: the EOI assist field is the naturally aligned first `u32` of the live
        // overlay page (TLFS 10.3.5: offset 0, 32 bits), which is reached only with atomic or
        // volatile accesses.
        let field = unsafe { AtomicU32::from_ptr(self.page().as_ptr().cast()) };
        HvVirtualApicAssist::from_bits(field.swap(0, Ordering::AcqRel)).no_eoi_required()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use hv_defs::HvGpa;
    use hv_defs::msr::HV_X64_MSR_VP_ASSIST_PAGE;
    use hv_defs::partition::HvPartitionPrivilegeMask;

    use super::*;
    use crate::testing::{Event, FakePlatform, MsrAccess};

    /// The hypervisor writes the EOI assist field through the exposed GPA.
    pub(crate) fn hypervisor_sets_no_eoi(gpa: HvGpa, value: u32) {
        let field = core::ptr::with_exposed_provenance_mut::<u32>(gpa as usize);
        // SAFETY: the live overlay the handle exposed, reached only atomically.
        unsafe { AtomicU32::from_ptr(field) }.store(value, Ordering::Release);
    }

    #[test]
    fn the_bit_is_taken_once_and_only_when_the_hypervisor_set_it() {
        let fake = FakePlatform::new();
        fake.define_msr(HV_X64_MSR_VP_ASSIST_PAGE, 0, MsrAccess::ReadWrite);
        let privileges = HvPartitionPrivilegeMask::new().with_access_intr_ctrl_regs(true);
        let assist = VpAssistPage::enable(&fake, privileges, fake.page())
            .map_err(|(_, e)| e)
            .unwrap();
        let gpa = assist.gpa();
        hypervisor_sets_no_eoi(gpa, 0);
        assert!(!assist.take_no_eoi_required());
        hypervisor_sets_no_eoi(gpa, 1);
        assert!(assist.take_no_eoi_required());
        assert!(!assist.take_no_eoi_required(), "the take clears the bit");
        // Reserved bits a host might set are cleared too but do not count as the bit.
        hypervisor_sets_no_eoi(gpa, 0xFFFF_FFFE);
        assert!(!assist.take_no_eoi_required());
        let page = assist.disable(&fake).map_err(|(_, e)| e).unwrap();
        assert_eq!(page.bytes()[..4], [0; 4]);
        // Taking the bit touches no register: only the enable/disable traffic is logged.
        assert!(fake.log().iter().all(|e| matches!(
            e,
            Event::ReadMsr(HV_X64_MSR_VP_ASSIST_PAGE, _)
                | Event::WriteMsr(HV_X64_MSR_VP_ASSIST_PAGE, _)
        )));
        assert_eq!(fake.log().len(), 5);
    }
}
