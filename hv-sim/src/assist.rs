//! EOI assist through the VP assist page (TLFS 10.3.5, 7.8.7).
//!
//! When the model injects an edge-triggered interrupt and, once it is in service, no other
//! interrupt is pending or in service (so no lower-priority interrupt waits for the EOI,
//! TLFS 10.3.4), it sets "No EOI required" (bit 0 at offset 0 of the VP's assist page) and
//! arms the assist for that vector. The guest either clears the bit and skips its EOI, or
//! performs the EOI. The model settles an armed assist before the next interrupt is
//! delivered, before an x2APIC register is read and on an explicit EOI:
//!
//! * bit clear: the guest took it, so the model ends the interrupt itself (a "skipped EOI",
//!   counted in the stats) and scans the SynIC queues as for any EOI;
//! * bit still set when another interrupt is about to be delivered: the model clears it
//!   (the guest has not reached its EOI yet and must now perform it), so a nested handler
//!   never takes the outer interrupt's assist;
//! * explicit EOI of the armed vector: the bit is cleared with it.
//!
//! Auto-EOI interrupts have nothing to end and never arm the assist.

use hv_defs::vp::HvVirtualApicAssist;

use crate::machine::Vm;
use crate::mem::GuestMemory;

/// The page-number part of the MSR (bits 63:12).
const GPFN_MASK: u64 = !0xFFF;

impl Vm {
    /// The VP assist page of `vp`, if enabled.
    fn assist_gpa(&self, vp: usize) -> Option<u64> {
        let msr = self.vps.get(vp)?.vp_assist;
        msr.enable().then(|| msr.into_bits() & GPFN_MASK)
    }

    /// Settles an armed assist whose bit the guest cleared: ends the interrupt for it.
    pub(crate) fn assist_sync(&mut self, mem: &mut dyn GuestMemory, vp: usize) {
        let (Some(_), Some(gpa)) = (self.vps[vp].eoi_assist, self.assist_gpa(vp)) else {
            return;
        };
        let field = mem.read_u32(gpa).unwrap_or(0);
        if !HvVirtualApicAssist::from_bits(field).no_eoi_required() {
            self.vps[vp].eoi_assist = None;
            self.vps[vp].apic.eoi();
            self.stats.synic.eoi_assist_skipped += 1;
            self.synic_scan(mem, vp);
        }
    }

    /// Withdraws an armed assist the guest has not taken (before another delivery or an
    /// explicit EOI).
    pub(crate) fn assist_withdraw(&mut self, mem: &mut dyn GuestMemory, vp: usize) {
        if self.vps[vp].eoi_assist.take().is_some()
            && let Some(gpa) = self.assist_gpa(vp)
        {
            mem.write_phys(gpa, &0u32.to_le_bytes());
        }
    }

    /// Arms the assist for `vector`, just delivered and in service, when nothing else is
    /// pending or in service.
    pub(crate) fn assist_arm(&mut self, mem: &mut dyn GuestMemory, vp: usize, vector: u8) {
        let Some(gpa) = self.assist_gpa(vp) else {
            return;
        };
        let apic = &self.vps[vp].apic;
        if apic.has_pending() || !apic.only_in_service(vector) {
            return;
        }
        let field = HvVirtualApicAssist::new().with_no_eoi_required(true);
        if mem.write_phys(gpa, &field.into_bits().to_le_bytes()) {
            self.vps[vp].eoi_assist = Some(vector);
            self.stats.synic.eoi_assist_set += 1;
        }
    }

    /// An explicit EOI (x2APIC EOI register or `HV_X64_MSR_EOI`): ends the highest
    /// in-service interrupt, withdraws an assist armed for it, and scans the SynIC queues
    /// (TLFS 11.4).
    pub(crate) fn end_of_interrupt(&mut self, mem: &mut dyn GuestMemory, vp: usize) {
        let ended = self.vps[vp].apic.eoi();
        if ended.is_some() && ended == self.vps[vp].eoi_assist {
            self.assist_withdraw(mem, vp);
        }
        self.synic_scan(mem, vp);
    }
}
