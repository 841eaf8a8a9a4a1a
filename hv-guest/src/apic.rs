//! The Hyper-V APIC MSRs: EOI, ICR and TPR (TLFS 10.2.3). x64 only: they alias registers of
//! the x64 local APIC, so [`ApicMsrs`] takes an [`X64Platform`].
//!
//! They need `AccessIntrCtrlRegs` (TLFS 4.2.2); the hypervisor recommends them over the
//! memory-mapped APIC with CPUID 0x4000_0004 EAX bit 3 (TLFS 2.4.5, 10.2.3). A kernel that
//! already runs its APIC in x2APIC mode reaches the same registers through the architectural
//! x2APIC MSRs; these are for xAPIC-mode kernels, where each MMIO access would trap.
//!
//! ```no_run
//! # use hv_guest::platform::X64Platform;
//! # use hv_guest::assist::VpAssistPage;
//! # fn end_of_interrupt<P: X64Platform>(apic: &hv_guest::apic::ApicMsrs<'_, P>,
//! #     assist: &VpAssistPage) {
//! // Skips the EOI (and its exit) when the hypervisor said none is needed (TLFS 10.3.5).
//! apic.eoi_unless_assisted(assist);
//! # }
//! ```

use hv_defs::cpuid::HvEnlightenmentInformation;
use hv_defs::interrupt::{HvX64MsrEoi, HvX64MsrIcr, HvX64MsrTpr};
use hv_defs::msr::{HV_X64_MSR_EOI, HV_X64_MSR_ICR, HV_X64_MSR_TPR};
use hv_defs::partition::HvPartitionPrivilegeMask;

use crate::assist::VpAssistPage;
use crate::gate::Unavailable;
use crate::platform::X64Platform;

/// Access to the Hyper-V APIC MSRs of the calling VP.
#[derive(Debug)]
pub struct ApicMsrs<'p, P: X64Platform> {
    platform: &'p P,
    recommended: bool,
}

impl<'p, P: X64Platform> ApicMsrs<'p, P> {
    /// The APIC MSRs, when the partition has `AccessIntrCtrlRegs`.
    ///
    /// # Errors
    ///
    /// [`Unavailable::AccessIntrCtrlRegs`].
    pub const fn new(
        platform: &'p P,
        privileges: HvPartitionPrivilegeMask,
        recommendations: HvEnlightenmentInformation,
    ) -> Result<Self, Unavailable> {
        if !privileges.access_intr_ctrl_regs() {
            return Err(Unavailable::AccessIntrCtrlRegs);
        }
        Ok(Self {
            platform,
            recommended: recommendations.use_apic_msrs(),
        })
    }

    /// Whether the hypervisor recommends these MSRs over the memory-mapped APIC
    /// (CPUID 0x4000_0004 EAX bit 3).
    #[must_use]
    pub const fn recommended(&self) -> bool {
        self.recommended
    }

    /// Signals end of interrupt: writes 0 to the write-only `HV_X64_MSR_EOI` (TLFS 10.2.3.1).
    pub fn eoi(&self) {
        // SAFETY: the MSR exists with `AccessIntrCtrlRegs`, checked in `new`; the value sets
        // no RsvdZ bit, and the write touches no guest memory.
        unsafe {
            self.platform
                .write_msr(HV_X64_MSR_EOI, HvX64MsrEoi::new().into_bits());
        }
    }

    /// [`ApicMsrs::eoi`] unless the VP assist page says no EOI is required (TLFS 10.3.5);
    /// returns whether the EOI was written. `assist` must be the calling VP's.
    pub fn eoi_unless_assisted(&self, assist: &VpAssistPage) -> bool {
        if assist.take_no_eoi_required() {
            return false;
        }
        self.eoi();
        true
    }

    /// Reads the ICR, high and low halves in one MSR (TLFS 10.2.3.2).
    #[must_use]
    pub fn icr(&self) -> HvX64MsrIcr {
        // SAFETY: the MSR exists (privilege checked in `new`); reading has no effect.
        HvX64MsrIcr::from_bits(unsafe { self.platform.read_msr(HV_X64_MSR_ICR) })
    }

    /// Writes the ICR, which sends the IPI it describes (TLFS 10.2.3.2).
    pub fn set_icr(&self, icr: HvX64MsrIcr) {
        // SAFETY: the MSR exists (privilege checked in `new`); every bit is defined, and the
        // write touches no guest memory.
        unsafe { self.platform.write_msr(HV_X64_MSR_ICR, icr.into_bits()) };
    }

    /// Reads the task priority (TLFS 10.2.3.3); RsvdZ bits the host may return are dropped.
    #[must_use]
    pub fn tpr(&self) -> u8 {
        // SAFETY: the MSR exists (privilege checked in `new`); reading has no effect.
        HvX64MsrTpr::from_bits(unsafe { self.platform.read_msr(HV_X64_MSR_TPR) }).tpr()
    }

    /// Writes the task priority (TLFS 10.2.3.3). 64-bit kernels should prefer CR8.
    pub fn set_tpr(&self, tpr: u8) {
        let value = HvX64MsrTpr::new().with_tpr(tpr).into_bits();
        // SAFETY: the MSR exists (privilege checked in `new`); the value sets no RsvdZ bit.
        unsafe { self.platform.write_msr(HV_X64_MSR_TPR, value) };
    }
}

#[cfg(test)]
mod tests {
    use hv_defs::msr::HV_X64_MSR_VP_ASSIST_PAGE;

    use super::*;
    use crate::testing::{Event, FakePlatform, MsrAccess};

    fn partition() -> FakePlatform {
        let fake = FakePlatform::new();
        fake.define_msr(HV_X64_MSR_EOI, 0, MsrAccess::WriteOnly);
        fake.define_msr(HV_X64_MSR_ICR, 0, MsrAccess::ReadWrite);
        fake.define_msr(HV_X64_MSR_TPR, 0xFFFF_FF00 | 0x20, MsrAccess::ReadWrite);
        fake.define_msr(HV_X64_MSR_VP_ASSIST_PAGE, 0, MsrAccess::ReadWrite);
        fake
    }

    fn privileged() -> HvPartitionPrivilegeMask {
        HvPartitionPrivilegeMask::new().with_access_intr_ctrl_regs(true)
    }

    #[test]
    fn registers_map_to_their_msrs() {
        let fake = partition();
        let recommend = HvEnlightenmentInformation::new().with_use_apic_msrs(true);
        let apic = ApicMsrs::new(&fake, privileged(), recommend).unwrap();
        assert!(apic.recommended());
        apic.eoi();
        let icr = HvX64MsrIcr::new()
            .with_icr_low(0x40F0)
            .with_icr_high(0x0300_0000);
        apic.set_icr(icr);
        assert_eq!(apic.icr(), icr);
        assert_eq!(apic.tpr(), 0x20);
        apic.set_tpr(0x30);
        assert_eq!(
            fake.log(),
            [
                Event::WriteMsr(HV_X64_MSR_EOI, 0),
                Event::WriteMsr(HV_X64_MSR_ICR, 0x0300_0000_0000_40F0),
                Event::ReadMsr(HV_X64_MSR_ICR, 0x0300_0000_0000_40F0),
                Event::ReadMsr(HV_X64_MSR_TPR, 0xFFFF_FF20),
                Event::WriteMsr(HV_X64_MSR_TPR, 0x30),
            ]
        );
    }

    #[test]
    fn eoi_is_skipped_only_when_the_hypervisor_set_the_bit() {
        let fake = partition();
        let apic = ApicMsrs::new(&fake, privileged(), HvEnlightenmentInformation::new()).unwrap();
        let assist = VpAssistPage::enable(&fake, privileged(), fake.page())
            .map_err(|(_, e)| e)
            .unwrap();
        crate::assist::tests::hypervisor_sets_no_eoi(assist.gpa(), 0);
        fake.clear_log();
        assert!(apic.eoi_unless_assisted(&assist));
        assert_eq!(fake.log(), [Event::WriteMsr(HV_X64_MSR_EOI, 0)]);
        crate::assist::tests::hypervisor_sets_no_eoi(assist.gpa(), 1);
        fake.clear_log();
        assert!(!apic.eoi_unless_assisted(&assist));
        assert!(fake.log().is_empty());
    }

    #[test]
    fn without_the_privilege_there_is_no_handle() {
        let fake = partition();
        assert_eq!(
            ApicMsrs::new(
                &fake,
                HvPartitionPrivilegeMask::new(),
                HvEnlightenmentInformation::new().with_use_apic_msrs(true)
            )
            .map(|_| ()),
            Err(Unavailable::AccessIntrCtrlRegs)
        );
        assert!(fake.log().is_empty());
    }
}
