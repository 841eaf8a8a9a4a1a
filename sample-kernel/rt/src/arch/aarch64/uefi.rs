//! The aarch64 half of the UEFI entry (`crate::uefi_entry`): the console PL011, the
//! platform description from ACPI, the image's address range, and the hand-over from the
//! firmware's translation regime to the runtime's.
//!
//! The firmware runs the processor at EL1 with its own page tables, the MMU and the caches
//! on. [`enter`] writes the runtime's identity map into its tables while that is still so
//! (normal, cacheable memory, so the compiled code's accesses of any alignment work and the
//! table walker, whose walks are cacheable too, sees the writes), then, in a few
//! instructions that touch no memory, turns the MMU and data cache off (so no translation
//! of the old tables and the new ones are ever mixed in the TLB), selects the runtime's
//! tables and attributes, invalidates the TLB, turns the MMU and caches on again, installs
//! the runtime's vector table and stack and continues in
//! [`start_uefi`](super::start::start_uefi) with the runtime's map in place. Both maps
//! identity-map the image and both treat RAM as write-back memory, so the instructions
//! after each switch are the ones that were fetched before, and what the caches hold stays
//! valid.

use core::fmt;

use super::mmu::{self, DEVICE_START, IDENTITY_MAP_END, NORMAL_START, SCTLR_MMU_AND_CACHES};
use crate::acpi::{AcpiError, ArmPlatform};
use crate::bootinfo::{PhysMemory, Unreadable};
use crate::sync::StaticCell;
use crate::uart::{PL011_FRAME, Pl011Choice, SpcrLookup};
use crate::uefi_entry::UefiBoot;

/// The console the UEFI entry chooses on aarch64: a PL011 in system memory.
pub(crate) type Console = Pl011Choice;

/// The EFI image must lie in this range: the part of the runtime's identity map that is
/// normal (cacheable, executable) memory.
pub(crate) const IMAGE_RANGE: (u64, u64) = (NORMAL_START, IDENTITY_MAP_END);

/// Size of the runtime's stack, which the kernel's main function runs on (as large as the
/// `Image` entry's).
const STACK_SIZE: usize = 256 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

static STACK: StaticCell<Stack> = StaticCell::new();

/// SCTLR_EL1 during the hand-over: the RES1 bits of ARMv8.0 (29, 28, 23, 22, 20, 11) and
/// the instruction cache (12); MMU, data cache, alignment checks, write-implies-never-execute
/// and everything else the firmware may have set off. The runtime's map is then turned on
/// with [`SCTLR_MMU_AND_CACHES`] added.
const SCTLR_EL1_HANDOVER: u64 = 0x30d0_1800;

/// The PrimeCell component ID every PL011 reads at offsets 0xFF0-0xFFC (one byte in each
/// word): 0x0D, 0xF0, 0x05, 0xB1 (Arm DDI 0183, 3.3.14).
const PRIMECELL_ID: [u32; 4] = [0x0d, 0xf0, 0x05, 0xb1];

/// The PL011's part number in its peripheral ID registers 0xFE0-0xFE4 (Arm DDI 0183,
/// 3.3.13): 0x011.
const PL011_PART: u32 = 0x011;

/// Whether the firmware's translation maps `va` for reads at EL1 (an `AT S1E1R` address
/// translation, which reports a fault in PAR_EL1 instead of taking it).
fn firmware_maps(va: u64) -> bool {
    let par: u64;
    // SAFETY: an address translation instruction and a read of its result register change
    // no memory and take no exception; PAR_EL1 is not used by anything else.
    unsafe {
        core::arch::asm!(
            "at s1e1r, {va}",
            "isb",
            "mrs {par}, par_el1",
            va = in(reg) va,
            par = out(reg) par,
            options(nostack, preserves_flags),
        );
    }
    par & 1 == 0
}

/// Whether the firmware maps every page of `[start, start + len)`.
fn firmware_maps_range(start: u64, len: u64) -> bool {
    let Some(end) = start.checked_add(len) else {
        return false;
    };
    let mut page = start & !0xfff;
    while page < end {
        if !firmware_maps(page) {
            return false;
        }
        page += 0x1000;
    }
    true
}

/// Physical memory while boot services run, through the firmware's identity map: every
/// page is checked with an address translation first, so a table pointing at memory the
/// firmware does not map is [`Unreadable`] instead of an abort inside the firmware.
pub(crate) struct FirmwareMemory;

impl PhysMemory for FirmwareMemory {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), Unreadable> {
        if buf.is_empty() {
            return Ok(());
        }
        if !firmware_maps_range(paddr, buf.len() as u64) {
            return Err(Unreadable);
        }
        for (i, byte) in buf.iter_mut().enumerate() {
            let ptr = core::ptr::with_exposed_provenance::<u8>(paddr as usize + i);
            // SAFETY: the firmware maps the page (checked above) and identity-maps what it
            // maps; a volatile byte read of memory the firmware wrote cannot tear.
            *byte = unsafe { ptr.read_volatile() };
        }
        Ok(())
    }
}

/// Chooses the console UART from what the SPCR lookup found ([`Pl011Choice`]: the SPCR's
/// PL011 when it lies in the runtime's device memory, else QEMU `virt`'s), and says whether
/// a PL011 answers there: the firmware maps its registers and they read the PrimeCell
/// component ID and the PL011 part number. (An SBSA generic UART need not have the ID
/// registers; it is still used, with the warning.)
pub(crate) fn choose_console(lookup: SpcrLookup) -> (Console, bool) {
    let choice = Pl011Choice::from_spcr(lookup, (DEVICE_START, NORMAL_START));
    let id_base = choice.base + PL011_FRAME - 0x20;
    if !firmware_maps_range(id_base, 0x20) {
        return (choice, false);
    }
    let read = |offset: u64| {
        let reg = core::ptr::with_exposed_provenance::<u32>((id_base + offset) as usize);
        // SAFETY: the firmware maps the UART's register frame (checked above), as device
        // memory since it drives the UART there; reading the ID registers has no effect.
        unsafe { reg.read_volatile() & 0xff }
    };
    let cell = [read(0x10), read(0x14), read(0x18), read(0x1c)];
    let part = read(0) | (read(4) & 0xf) << 8;
    (choice, cell == PRIMECELL_ID && part == PL011_PART)
}

/// Why the runtime cannot take the processor over from the firmware, if it cannot: the
/// UEFI entry hands over at EL1 only (firmware running at EL2, as AAVMF does on QEMU
/// `virt` with `virtualization=on`, would need the runtime to drop to EL1 with the MMU on).
pub(crate) fn unsupported_processor_state() -> Option<&'static str> {
    (super::cpu::current_el() != 1)
        .then_some("the firmware runs at EL2 and the runtime's UEFI entry takes over at EL1 only")
}

/// Masks every exception (debug, SError, IRQ, FIQ): once boot services are gone the
/// firmware's handlers must not run, and the runtime's vector table is not installed yet.
pub(crate) fn disable_interrupts() {
    // SAFETY: masking exceptions changes no memory.
    unsafe { core::arch::asm!("msr daifset, #0xf", options(nomem, nostack)) };
}

/// What the firmware's ACPI tables say about the machine (read before ExitBootServices).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Platform {
    /// The firmware gave no ACPI root pointer.
    NoAcpi,
    /// The MADT, FADT and GTDT (each may be absent).
    Acpi(ArmPlatform),
    /// The ACPI tables are broken.
    Broken(AcpiError),
}

impl Platform {
    /// The platform as the runtime uses it: nothing when the tables are missing or broken.
    pub(crate) fn arm(&self) -> ArmPlatform {
        match *self {
            Self::Acpi(platform) => platform,
            Self::NoAcpi | Self::Broken(_) => ArmPlatform {
                gic: None,
                psci: None,
                virtual_timer_intid: None,
            },
        }
    }
}

impl fmt::Display for Platform {
    /// `platform from ACPI: GICv3 (MADT), PSCI via hvc (FADT), virtual timer interrupt 27
    /// (GTDT)`, or a warning.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NOTHING: &str = "; continuing without GIC, PSCI conduit and timer interrupt";
        let platform = match self {
            Self::Acpi(platform) => platform,
            Self::NoAcpi => return write!(f, "WARNING: no ACPI tables{NOTHING}"),
            Self::Broken(e) => return write!(f, "WARNING: ACPI tables unusable: {e}{NOTHING}"),
        };
        f.write_str("platform from ACPI: ")?;
        match platform.gic {
            Some(crate::fdt::Gic::V3 { .. }) => f.write_str("GICv3 (MADT), ")?,
            Some(crate::fdt::Gic::V2) => f.write_str("a GIC other than GICv3 (MADT), ")?,
            None => f.write_str("no GIC (MADT), ")?,
        }
        match platform.psci {
            Some(conduit) => write!(f, "PSCI via {conduit} (FADT), ")?,
            None => f.write_str("no PSCI (FADT), ")?,
        }
        match platform.virtual_timer_intid {
            Some(id) => write!(f, "virtual timer interrupt {id} (GTDT)"),
            None => f.write_str("no virtual timer interrupt (GTDT)"),
        }
    }
}

/// Reads the platform description from the ACPI tables at `rsdp`.
pub(crate) fn platform(rsdp: Option<u64>) -> Platform {
    let Some(rsdp) = rsdp else {
        return Platform::NoAcpi;
    };
    match ArmPlatform::find(&FirmwareMemory, rsdp, super::cpu::affinity()) {
        Ok(platform) => Platform::Acpi(platform),
        Err(e) => Platform::Broken(e),
    }
}

unsafe extern "C" {
    /// The runtime's EL1 vector table (`exceptions`).
    static rt_vectors: u8;
}

/// Leaves the firmware's translation regime and stack for the runtime's (see the module
/// documentation) and continues in [`start_uefi`](super::start::start_uefi). Called with
/// every exception masked, after ExitBootServices.
///
/// # Panics
///
/// If called twice.
pub(crate) fn enter(boot: &'static UefiBoot) -> ! {
    // SAFETY: a stack of zero bytes is a valid byte array.
    let stack = unsafe { STACK.init_zeroed() }.expect("the UEFI entry runs once");
    let top = stack.0.as_mut_ptr_range().end;
    // SAFETY: called once (the stack claim above succeeded only once); the processor
    // translates through the firmware's tables, not the runtime's.
    let translation = unsafe { mmu::build() };
    let vectors = core::ptr::addr_of!(rt_vectors);
    // SAFETY: both the firmware's map and the runtime's identity-map the image, so the
    // instructions after each SCTLR write are the same ones; between the two writes no
    // memory is accessed, so nothing depends on the translation being off. The table
    // writes are complete (DSB) before the walker may use them. `top` is the 16-byte
    // aligned end of a 256 KiB stack in the image that nothing else uses; `rt_uefi_start`
    // takes `boot` in X0 and never returns, so nothing on the firmware's stack is used again.
    unsafe {
        core::arch::asm!(
            "dsb ish",
            "msr sctlr_el1, x1",
            "isb",
            "msr mair_el1, x2",
            "msr tcr_el1, x3",
            "msr ttbr0_el1, x4",
            "isb",
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            "msr sctlr_el1, x7",
            "isb",
            "msr vbar_el1, x5",
            "isb",
            "mov sp, x6",
            "mov x29, xzr",
            "mov x30, xzr",
            "bl {start}",
            "brk #0",
            start = sym rt_uefi_start,
            in("x0") boot,
            in("x1") SCTLR_EL1_HANDOVER,
            in("x2") translation.mair,
            in("x3") translation.tcr,
            in("x4") translation.ttbr0,
            in("x5") vectors,
            in("x6") top,
            in("x7") SCTLR_EL1_HANDOVER | SCTLR_MMU_AND_CACHES,
            options(noreturn),
        )
    }
}

/// The first function on the runtime's stack, with the runtime's map in place.
extern "C" fn rt_uefi_start(boot: &'static UefiBoot) -> ! {
    super::start::start_uefi(boot)
}
