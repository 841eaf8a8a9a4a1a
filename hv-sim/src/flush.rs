//! The virtual TLB flush hypercalls (TLFS 9.4.2–9.4.5): `HvCallFlushVirtualAddressSpace`,
//! `HvCallFlushVirtualAddressList` and their `Ex` forms, in memory and XMM fast form.
//!
//! # Checks (TLFS 9.4.2, 9.4.4, and where the TLFS is open)
//!
//! Each one fails the call with `HV_STATUS_INVALID_PARAMETER` before anything is flushed:
//!
//! * reserved flags (bits 63:4);
//! * `HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY` on a list call (TLFS 9.4.4 calls it an invalid
//!   option there; OpenVMM accepts it);
//! * `HV_FLUSH_USE_EXTENDED_RANGE_FORMAT` on an address-space call, or on a list call when
//!   the partition does not offer the extended format (CPUID 0x4000_0003 EDX bit 14), as
//!   OpenVMM does;
//! * an address space (CR3) with a bit of 63:52 set, unless
//!   `HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES` is set;
//! * no processor: a zero mask or an empty sparse set without `HV_FLUSH_ALL_PROCESSORS`
//!   (TLFS 9.4.2 for the mask; the model applies it to sets too, as OpenVMM does);
//! * VP-set encoding errors (see [`crate::vpset`]);
//! * in the extended format, a large-page entry with a reserved bit (20:13) set.
//!
//! VPs named in a mask or set that the partition does not have are ignored (TLFS 9.4.2
//! gives no error for them; KVM and OpenVMM skip them too). GVAs are not checked: TLFS
//! 9.4.4 says GVAs beyond the partition's address space are ignored.
//!
//! # Reps
//!
//! The list calls are rep calls: each exit processes at most `Config::reps_per_call`
//! entries and returns for continuation (TLFS 3.3); a bad entry ends the call with its
//! index as reps completed.
//!
//! # What a flush does, and what is counted
//!
//! Only the running VP can hold translations in the emulator's TLB (the model flushes it
//! whenever it switches VPs), so every flush empties it. The counters of `--stats json`
//! (`tlb_flush`, by call code) count per guest hypercall (an exit with rep start index 0):
//! `calls`, and `vps`, the existing VPs flushed; and per entry processed: `entries`, and
//! `pages`, the 4 KiB pages those entries cover (a large-page entry counts its 2 MiB or
//! 1 GiB pages as 512 or 262,144 small ones).

use hv_defs::hypercall::{HvCallCode, HvHypercallInput};
use hv_defs::mmu::{
    HvFlushFlags, HvFlushVirtualAddressSpaceExInput, HvFlushVirtualAddressSpaceInput, HvGvaRange,
    HvGvaRangeExtended, HvGvaRangeExtendedLargePage,
};
use hv_defs::status::HvStatus;
use zerocopy::FromBytes;

use crate::hv::HcEnd;
use crate::machine::Vm;
use crate::uc::Cpu;
use crate::vpset::{Targets, parse_vp_set};

/// CR3 bits no x64 processor accepts (above the 52-bit physical address limit).
const CR3_RESERVED: u64 = !((1 << 52) - 1);

/// 4 KiB pages per 2 MiB and per 1 GiB page.
const PAGES_PER_2MIB: u64 = 512;
const PAGES_PER_1GIB: u64 = 512 * 512;

/// The 4 KiB pages one list entry covers, or `None` for an invalid entry.
fn entry_pages(entry: u64, extended: bool) -> Option<u64> {
    if !extended {
        return Some(u64::from(HvGvaRange::from_bits(entry).additional_pages()) + 1);
    }
    if !HvGvaRangeExtended::from_bits(entry).large_page() {
        return Some(u64::from(HvGvaRangeExtended::from_bits(entry).additional_pages()) + 1);
    }
    if entry & HvGvaRangeExtendedLargePage::RESERVED_MASK != 0 {
        return None;
    }
    let large = HvGvaRangeExtendedLargePage::from_bits(entry);
    let per_page = if large.page_size_1gb() {
        PAGES_PER_1GIB
    } else {
        PAGES_PER_2MIB
    };
    Some((u64::from(large.additional_pages()) + 1) * per_page)
}

impl Vm {
    /// One exit of a flush hypercall; `input` is the whole input (fixed header, variable
    /// header, list).
    pub(crate) fn flush_virtual_address(
        &mut self,
        cpu: &mut Cpu<'_>,
        control: HvHypercallInput,
        input: &[u8],
    ) -> HcEnd {
        let code = control.call_code();
        let ex = matches!(
            code,
            HvCallCode::HvCallFlushVirtualAddressSpaceEx
                | HvCallCode::HvCallFlushVirtualAddressListEx
        );
        let list = matches!(
            code,
            HvCallCode::HvCallFlushVirtualAddressList | HvCallCode::HvCallFlushVirtualAddressListEx
        );
        let var_bytes = 8 * usize::from(control.variable_header_size());
        let parsed = if ex {
            HvFlushVirtualAddressSpaceExInput::read_from_prefix(input)
                .ok()
                .and_then(|(fixed, rest)| {
                    let targets = parse_vp_set(fixed.processor_set, rest.get(..var_bytes)?);
                    let header_len = size_of::<HvFlushVirtualAddressSpaceExInput>() + var_bytes;
                    Some((fixed.address_space, fixed.flags, targets, header_len))
                })
        } else {
            HvFlushVirtualAddressSpaceInput::read_from_prefix(input)
                .ok()
                .map(|(fixed, _)| {
                    let mask = fixed.processor_mask;
                    let set = (0..64).filter(|vp| mask & (1 << vp) != 0).collect();
                    let header_len = size_of::<HvFlushVirtualAddressSpaceInput>();
                    (
                        fixed.address_space,
                        fixed.flags,
                        Ok(Targets::Set(set)),
                        header_len,
                    )
                })
        };
        let Some((space, flags, targets, header_len)) = parsed else {
            return HcEnd::Done(HvStatus::INVALID_HYPERCALL_INPUT, 0);
        };
        let targets = match targets {
            Ok(targets) => targets,
            Err(status) => return HcEnd::Done(status, 0),
        };
        let invalid = HcEnd::Done(HvStatus::INVALID_PARAMETER, 0);
        let extended = flags.use_extended_range_format();
        let extended_offered = self
            .profile
            .features()
            .extended_gva_ranges_for_flush_virtual_address_list_available();
        if flags.into_bits() & HvFlushFlags::RESERVED_MASK != 0
            || (list && flags.non_global_mappings_only())
            || (extended && !(list && extended_offered))
            || (!flags.all_virtual_address_spaces() && space & CR3_RESERVED != 0)
        {
            return invalid;
        }
        let vps = match (flags.all_processors(), targets) {
            (true, _) | (false, Targets::All) => self.vps.len() as u64,
            (false, Targets::Set(set)) if set.is_empty() => return invalid,
            (false, Targets::Set(set)) => set
                .iter()
                .filter(|&&vp| (vp as usize) < self.vps.len())
                .count() as u64,
        };
        let start = control.rep_start_index();
        let (end, done) = if list {
            let count = control.rep_count();
            let end = count.min(start.saturating_add(self.reps_per_call));
            let mut pages = 0;
            let mut failed = None;
            for i in start..end {
                let at = header_len + 8 * usize::from(i);
                let entry = input
                    .get(at..at + 8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_le_bytes);
                match entry.and_then(|e| entry_pages(e, extended)) {
                    Some(n) => pages += n,
                    None => {
                        failed = Some(i);
                        break;
                    }
                }
            }
            let processed = failed.unwrap_or(end);
            let counts = self.stats.tlb_flush.entry(code.get()).or_default();
            counts.entries += u64::from(processed - start);
            counts.pages += pages;
            match failed {
                Some(i) => (i, HcEnd::Done(HvStatus::INVALID_PARAMETER, i)),
                None if end == count => (end, HcEnd::Done(HvStatus::SUCCESS, count)),
                None => (end, HcEnd::Continue(end)),
            }
        } else {
            (0, HcEnd::Done(HvStatus::SUCCESS, 0))
        };
        let counts = self.stats.tlb_flush.entry(code.get()).or_default();
        if start == 0 {
            counts.calls += 1;
            counts.vps += vps;
        }
        if !list || end > start {
            let _ = cpu.flush_tlb();
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_count_the_small_pages_they_cover() {
        assert_eq!(entry_pages(0x7F00_0000_0FFF, false), Some(4096));
        assert_eq!(entry_pages(0x1000, false), Some(1));
        // Extended small: 11 bits of additional pages; bit 11 clear.
        assert_eq!(entry_pages(0x5000 | 0x7FF, true), Some(2048));
        // Extended 2 MiB: bit 11; three pages.
        assert_eq!(entry_pages(0x4020_0000 | 1 << 11 | 2, true), Some(3 * 512));
        // Extended 1 GiB: bits 11 and 12; one page.
        assert_eq!(
            entry_pages(0x4000_0000 | 1 << 12 | 1 << 11, true),
            Some(512 * 512)
        );
        // Reserved bits 20:13 of a large-page entry.
        assert_eq!(entry_pages(1 << 11 | 1 << 13, true), None);
        // The same bits are page-number bits of a small entry.
        assert_eq!(entry_pages(1 << 13, true), Some(1));
    }
}
