//! The runtime's page tables: an identity map (virtual = physical) of the first 4 GiB.
//!
//! 2 MiB pages everywhere except the first 2 MiB, which uses 4 KiB pages so that page 0
//! can be unmapped once the boot information (which hosts may place there) has been read:
//! from then on a null pointer access faults (#PF). 1 GiB pages are not used (not every CPU or host has them). Memory above
//! 4 GiB is not mapped; the page allocator does not hand it out.

use x86_64::PhysAddr;
use x86_64::VirtAddr;
use x86_64::instructions::tlb;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags, PhysFrame};

use crate::sync::StaticCell;

/// One past the last identity-mapped byte (4 GiB).
pub const IDENTITY_MAP_END: u64 = 4 << 30;

const PAGE_2M: u64 = 2 << 20;

/// The runtime's tables: one PML4, one PDPT, four page directories (4 x 1 GiB) and one
/// page table for the first 2 MiB.
#[repr(C)]
struct Tables {
    pml4: PageTable,
    pdpt: PageTable,
    pd: [PageTable; 4],
    pt0: PageTable,
}

static TABLES: StaticCell<Tables> = StaticCell::new();

/// The physical (= virtual) address of a table inside the kernel image.
fn phys(table: &PageTable) -> PhysAddr {
    PhysAddr::new(core::ptr::from_ref(table).addr() as u64)
}

/// The mapping of page 0, which [`init`] leaves in place for reading the boot information.
#[derive(Debug)]
pub struct PageZero(&'static mut PageTableEntry);

impl PageZero {
    /// Unmaps page 0, so null pointer accesses fault from now on.
    pub fn unmap(self) {
        self.0.set_unused();
        tlb::flush(VirtAddr::zero());
    }
}

/// Builds the identity map and switches CR3 to it. Called once, first thing at boot.
///
/// # Panics
///
/// If called twice.
pub fn init() -> PageZero {
    // SAFETY: a page table of zero bytes is a valid table with every entry unused.
    let tables = unsafe { TABLES.init_zeroed() }.expect("paging::init runs once");
    let table = PageTableFlags::PRESENT | PageTableFlags::WRITABLE;
    let huge = table | PageTableFlags::HUGE_PAGE;

    for (i, entry) in tables.pt0.iter_mut().enumerate() {
        entry.set_addr(PhysAddr::new(i as u64 * 4096), table);
    }
    let pt0 = phys(&tables.pt0);
    for (g, pd) in tables.pd.iter_mut().enumerate() {
        for (i, entry) in pd.iter_mut().enumerate() {
            let addr = (g as u64 * 512 + i as u64) * PAGE_2M;
            if addr == 0 {
                entry.set_addr(pt0, table);
            } else {
                entry.set_addr(PhysAddr::new(addr), huge);
            }
        }
    }
    for (g, pd) in tables.pd.iter().enumerate() {
        tables.pdpt[g].set_addr(phys(pd), table);
    }
    tables.pml4[0].set_addr(phys(&tables.pdpt), table);

    let frame =
        PhysFrame::from_start_address(phys(&tables.pml4)).expect("page tables are 4 KiB aligned");
    // SAFETY: the new tables identity-map the first 4 GiB with the same
    // attributes the boot tables (PVH entry) or the host's identity map (64-bit entry) give
    // the kernel image, its stack and the boot structures, so every address in use stays
    // valid across the switch; the tables are 'static and never modified again.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    PageZero(&mut tables.pt0[0])
}

/// This processor's CR3: the physical address of its PML4 and the PWT/PCD bits (the
/// runtime does not use PCIDs). Hyper-V names an address space by this value (TLFS 9.3.1).
pub fn cr3() -> u64 {
    let (frame, flags) = Cr3::read_raw();
    frame.start_address().as_u64() | u64::from(flags)
}
