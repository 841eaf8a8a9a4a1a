//! The runtime's identity map, with the MMU and caches on.
//!
//! The translation regime is EL1&0 stage 1 through TTBR0_EL1 with 4 KiB granules and a 32-bit
//! virtual address space (T0SZ = 32, so the walk starts at level 1), mapping every address to
//! itself:
//!
//! | range | mapping |
//! | --- | --- |
//! | 0 – 2 MiB | not mapped: null accesses fault (QEMU `virt` has flash there) |
//! | 2 MiB – 1 GiB | device memory (Device-nGnRnE), never executable: GIC, UART, ... |
//! | 1 GiB – 4 GiB | normal memory, write-back cacheable, inner shareable: RAM |
//!
//! Device memory uses 2 MiB blocks, RAM 1 GiB blocks. Memory above 4 GiB is neither mapped
//! nor used (as on x86_64). Turning the MMU on makes RAM normal memory, which the compiler's
//! code needs (exclusive loads and stores for atomics are only defined on normal memory) and
//! which makes memory the hypervisor writes coherent with the kernel's cached view.

use core::cell::UnsafeCell;

#[cfg(not(target_os = "uefi"))]
use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{MAIR_EL1, TCR_EL1, TTBR0_EL1};
#[cfg(not(target_os = "uefi"))]
use aarch64_cpu::registers::{ReadWriteable, SCTLR_EL1, Writeable};

/// One past the highest identity-mapped address: the page allocator's limit.
pub const IDENTITY_MAP_END: u64 = 4 << 30;

/// Where the device memory part of the map starts (2 MiB).
pub const DEVICE_START: u64 = 2 << 20;

/// Where the normal memory part of the map starts, and the device memory part ends
/// (1 GiB): only RAM from here to [`IDENTITY_MAP_END`] can hold code and data.
pub const NORMAL_START: u64 = 1 << 30;

const BLOCK: u64 = 0b01;
const TABLE: u64 = 0b11;
/// MAIR index 0: Device-nGnRnE.
const ATTR_DEVICE: u64 = 0 << 2;
/// MAIR index 1: normal, write-back read/write-allocate.
const ATTR_NORMAL: u64 = 1 << 2;
const INNER_SHAREABLE: u64 = 3 << 8;
const ACCESS_FLAG: u64 = 1 << 10;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;

#[repr(C, align(4096))]
struct Table([u64; 512]);

#[repr(C)]
struct Tables {
    level1: Table,
    low: Table,
}

/// The page tables, in `.bss` (zero: every entry invalid).
struct TablesCell(UnsafeCell<Tables>);

// SAFETY: the tables are written once, by `init`, before anything else runs and with
// interrupts masked; afterwards only the MMU reads them.
unsafe impl Sync for TablesCell {}

static TABLES: TablesCell = TablesCell(UnsafeCell::new(Tables {
    level1: Table([0; 512]),
    low: Table([0; 512]),
}));

/// The translation register values of the runtime's map.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Translation {
    /// MAIR_EL1: attribute 0 Device-nGnRnE, attribute 1 normal write-back.
    pub(crate) mair: u64,
    /// TCR_EL1: T0SZ 32, 4 KiB granule, cacheable inner shareable walks, no TTBR1 walks,
    /// 32-bit physical addresses.
    pub(crate) tcr: u64,
    /// TTBR0_EL1: the level 1 table, ASID 0.
    pub(crate) ttbr0: u64,
}

/// The SCTLR_EL1 bits that turn the translation on: M (MMU), C (data cache), I
/// (instruction cache).
#[cfg(target_os = "uefi")]
pub(crate) const SCTLR_MMU_AND_CACHES: u64 = 1 << 0 | 1 << 2 | 1 << 12;

/// Writes the identity map into the runtime's tables and returns the register values that
/// select it.
///
/// Uses no atomics (exclusive accesses are not defined while memory is still device memory,
/// as it is with the MMU off).
///
/// # Safety
///
/// Call once, with the tables not in use (the processor does not translate through them
/// yet).
pub(crate) unsafe fn build() -> Translation {
    let tables = TABLES.0.get();
    // SAFETY: the caller's contract: nothing else uses the tables; the pointer is the static's
    // own, valid and aligned.
    let tables = unsafe { &mut *tables };
    let low = core::ptr::from_ref(&tables.low).addr() as u64;
    tables.level1.0[0] = low | TABLE;
    for (i, entry) in tables.low.0.iter_mut().enumerate().skip(1) {
        *entry = (i as u64) << 21 | BLOCK | ATTR_DEVICE | ACCESS_FLAG | PXN | UXN;
    }
    for (i, entry) in tables.level1.0.iter_mut().enumerate().take(4).skip(1) {
        let base = (i as u64) << 30;
        *entry = base | BLOCK | ATTR_NORMAL | INNER_SHAREABLE | ACCESS_FLAG | UXN;
    }
    let level1 = core::ptr::from_ref(&tables.level1).addr() as u64;
    let mair = MAIR_EL1::Attr0_Device::nonGathering_nonReordering_noEarlyWriteAck
        + MAIR_EL1::Attr1_Normal_Outer::WriteBack_NonTransient_ReadWriteAlloc
        + MAIR_EL1::Attr1_Normal_Inner::WriteBack_NonTransient_ReadWriteAlloc;
    let tcr = TCR_EL1::T0SZ.val(32)
        + TCR_EL1::TG0::KiB_4
        + TCR_EL1::IRGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
        + TCR_EL1::ORGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
        + TCR_EL1::SH0::Inner
        + TCR_EL1::EPD1::DisableTTBR1Walks
        + TCR_EL1::IPS::Bits_32;
    Translation {
        mair: mair.value,
        tcr: tcr.value,
        ttbr0: TTBR0_EL1::BADDR.val(level1 >> 1).value,
    }
}

/// Builds the identity map and turns on the MMU and the caches.
///
/// # Safety
///
/// Call once, first thing at boot, at EL1 with interrupts masked and the MMU off (the
/// `Image` entry's state): the map replaces whatever translation was in place, and the
/// tables must not be in use.
#[cfg(not(target_os = "uefi"))]
pub(crate) unsafe fn init() {
    // SAFETY: the caller's contract.
    let translation = unsafe { build() };
    MAIR_EL1.set(translation.mair);
    TCR_EL1.set(translation.tcr);
    TTBR0_EL1.set(translation.ttbr0);
    barrier::dsb(barrier::ISHST);
    barrier::isb(barrier::SY);
    // SAFETY: invalidating the EL1 TLB entries of a translation not yet enabled changes no
    // memory.
    unsafe { core::arch::asm!("tlbi vmalle1", "dsb nsh", "isb", options(nostack)) };
    SCTLR_EL1.modify(
        SCTLR_EL1::M::Enable
            + SCTLR_EL1::C::Cacheable
            + SCTLR_EL1::I::Cacheable
            + SCTLR_EL1::A::Disable,
    );
    barrier::isb(barrier::SY);
}
