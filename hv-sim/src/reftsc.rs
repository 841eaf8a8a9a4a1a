//! The reference TSC page (TLFS 12.7): an overlay holding `TscSequence`, `TscScale` and
//! `TscOffset` such that `((tsc × scale) >> 64) + offset` is the partition reference time.
//!
//! The virtual TSC runs at [`TSC_HZ`] and the reference counter at 10 MHz on the same
//! clock, so the page's scale is `⌈2^64 × 10 MHz / TSC_HZ⌉`, which reproduces the counter
//! exactly (the fraction it adds stays below one unit for the first 170 days of TSC), and
//! the offset is 0 until the guest writes `IA32_TSC` (then it is the TSC shift in whole
//! reference units, so the page may read one unit ahead of the counter).
//!
//! # Updates while the guest reads
//!
//! To exercise the sequence protocol (TLFS 12.7.3) deterministically, the model republishes
//! the page every [`Config::reftsc_update_ns`](crate::Config) of virtual time: the scale
//! alternates between the value above and one more (both give the same time), the offset is
//! recomputed, and the sequence is incremented (skipping 0). A due update is applied at the
//! guest's next RDTSC, that is inside a page reader's window between its two sequence
//! reads, the worst moment for the reader: every update costs a reader one retry. With
//! [`Config::reftsc_invalid_every`](crate::Config) = N, every Nth update publishes sequence
//! 0 instead ("not a reliable source now", TLFS 12.7.3.2) until the next update, so readers
//! fall back to the reference counter MSR; readers of an invalid page read no TSC, so the
//! update that ends it is applied when its time comes. A guest write of `IA32_TSC` republishes the page
//! at once with the new offset.

use hv_defs::timer::{HV_REFERENCE_TSC_SEQUENCE_INVALID, HvReferenceTscMsr};

use crate::machine::{TSC_HZ, Vm};
use crate::mem::GuestMemory;
use crate::synic::page_fits;

/// The page-number part of the MSR (bits 63:12).
const GPFN_MASK: u64 = !0xFFF;

/// `⌈2^64 × 10^7 / TSC_HZ⌉`.
const BASE_SCALE: u64 = ((1u128 << 64) * 10_000_000).div_ceil(TSC_HZ as u128) as u64;

/// The partition's reference TSC page state.
#[derive(Clone, Debug, Default)]
pub(crate) struct RefTsc {
    pub(crate) msr: HvReferenceTscMsr,
    /// The last valid sequence published.
    sequence: u32,
    /// Whether the alternate scale (one more) is published.
    alternate: bool,
    /// Whether the page currently says "invalid".
    invalid: bool,
    /// Virtual time of the next scheduled update, in ns.
    next_update_ns: Option<u64>,
    /// Scheduled updates so far.
    updates: u64,
}

impl RefTsc {
    /// Whether the page says "invalid" (sequence 0) now.
    pub(crate) fn is_invalid(&self) -> bool {
        self.invalid
    }

    /// The GPA of the page while enabled.
    fn gpa(&self) -> Option<u64> {
        self.msr.enable().then(|| self.msr.into_bits() & GPFN_MASK)
    }

    /// The next valid sequence number.
    fn bump(&mut self) -> u32 {
        self.sequence = self.sequence.wrapping_add(1);
        if self.sequence == HV_REFERENCE_TSC_SEQUENCE_INVALID {
            self.sequence = 1;
        }
        self.sequence
    }

    /// The 24 bytes the page starts with: sequence, reserved, scale, offset.
    fn header(&self, tsc_offset: i128) -> [u8; 24] {
        let sequence = if self.invalid {
            HV_REFERENCE_TSC_SEQUENCE_INVALID
        } else {
            self.sequence
        };
        let scale = BASE_SCALE + u64::from(self.alternate);
        let ticks_per_unit = i128::from(TSC_HZ / 10_000_000);
        let offset = -(tsc_offset.div_euclid(ticks_per_unit)) as i64;
        let mut bytes = [0u8; 24];
        bytes[0..4].copy_from_slice(&sequence.to_le_bytes());
        bytes[8..16].copy_from_slice(&scale.to_le_bytes());
        bytes[16..24].copy_from_slice(&offset.to_le_bytes());
        bytes
    }
}

/// Why the MSR write was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct OutsideRam;

impl Vm {
    /// A write of `HV_X64_MSR_REFERENCE_TSC` (TLFS 12.7.1).
    pub(crate) fn set_reference_tsc(
        &mut self,
        mem: &mut dyn GuestMemory,
        value: u64,
    ) -> Result<(), OutsideRam> {
        let old = self.part.reftsc.msr;
        let new = HvReferenceTscMsr::from_bits(
            (value & !HvReferenceTscMsr::RESERVED_MASK)
                | (old.into_bits() & HvReferenceTscMsr::RESERVED_MASK),
        );
        let gpa = new.into_bits() & GPFN_MASK;
        if new.enable() && !page_fits(gpa, self.ram_bytes) {
            return Err(OutsideRam);
        }
        if let Some(old_gpa) = self.part.reftsc.gpa() {
            self.unmap_overlay(mem, old_gpa);
        }
        self.part.reftsc.msr = new;
        if new.enable() {
            let state = &mut self.part.reftsc;
            state.bump();
            state.invalid = false;
            state.next_update_ns = self
                .reftsc_update_ns
                .map(|period| self.now_ns.saturating_add(period));
            let mut page = vec![0u8; hv_defs::HV_PAGE_SIZE];
            page[..24].copy_from_slice(&state.header(self.tsc_offset));
            self.map_overlay(mem, gpa, &page);
        }
        Ok(())
    }

    /// Rewrites the page header with a new sequence (after a TSC change or an update).
    fn republish(&mut self, mem: &mut dyn GuestMemory) {
        let Some(gpa) = self.part.reftsc.gpa() else {
            return;
        };
        let header = self.part.reftsc.header(self.tsc_offset);
        if mem.write_phys(gpa, &header) {
            self.stats.synic.reftsc_updates += 1;
        }
    }

    /// The guest changed its TSC: the page gets the new offset and a new sequence.
    pub(crate) fn reftsc_tsc_changed(&mut self, mem: &mut dyn GuestMemory) {
        if self.part.reftsc.gpa().is_some() {
            self.part.reftsc.bump();
            self.republish(mem);
        }
    }

    /// Applies a scheduled update that is due at virtual time `at_ns` (the time of the
    /// guest's RDTSC; see the module docs).
    pub(crate) fn reftsc_tick(&mut self, mem: &mut dyn GuestMemory, at_ns: u64) {
        let (Some(period), Some(due)) = (self.reftsc_update_ns, self.part.reftsc.next_update_ns)
        else {
            return;
        };
        if at_ns < due || self.part.reftsc.gpa().is_none() {
            return;
        }
        let state = &mut self.part.reftsc;
        state.updates += 1;
        state.alternate = !state.alternate;
        state.invalid = self.reftsc_invalid_every != 0
            && state.updates % u64::from(self.reftsc_invalid_every) == 0;
        if !state.invalid {
            state.bump();
        }
        let missed = (at_ns - due) / period;
        state.next_update_ns = Some(due + (missed + 1) * period);
        self.republish(mem);
    }
}

#[cfg(test)]
mod tests {
    use hv_defs::timer::hv_reference_time;

    use super::*;

    #[test]
    fn both_scales_reproduce_the_counter_exactly() {
        for alternate in [false, true] {
            let state = RefTsc {
                sequence: 1,
                alternate,
                ..RefTsc::default()
            };
            let header = state.header(0);
            let scale = u64::from_le_bytes(header[8..16].try_into().unwrap());
            let offset = i64::from_le_bytes(header[16..24].try_into().unwrap());
            for ns in [
                0u64,
                1,
                99,
                100,
                101,
                12_345_678,
                3_600_000_000_000,
                86_400 * 10u64.pow(9),
            ] {
                let tsc = ns * 5 / 2;
                assert_eq!(hv_reference_time(tsc, scale, offset), ns / 100, "{ns} ns");
            }
        }
    }

    #[test]
    fn a_tsc_shift_moves_the_offset_and_sequences_skip_zero() {
        let mut state = RefTsc {
            sequence: u32::MAX,
            ..RefTsc::default()
        };
        assert_eq!(state.bump(), 1);
        let header = state.header(2500);
        assert_eq!(i64::from_le_bytes(header[16..24].try_into().unwrap()), -10);
        state.invalid = true;
        assert_eq!(state.header(0)[0..4], [0; 4]);
    }
}
