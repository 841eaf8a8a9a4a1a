//! From the entry points to the kernel's main function: the set-up order and the boot
//! report lines.
//!
//! `rt_start_aarch64` continues the `Image` entry (the platform from the device tree),
//! `start_uefi` the UEFI entry (the platform from the ACPI tables the entry read); both
//! end in the same `run`.

use super::gic::{self, GicInfo, IntId};
use super::{exit, mmu, timer};
use crate::bootinfo::{BootInfo, MemoryMapSource};
use crate::fdt::{Gic, PsciConduit};
use crate::sync::SpinLock;
use crate::{console, frames, println};

/// The type of a kernel's main function (see [`entry!`](crate::entry)).
pub type KernelMain = fn(&'static BootInfo) -> !;

/// Size of the boot stack, which the kernel's main function runs on.
pub const STACK_SIZE: usize = 256 * 1024;

// SAFETY: `entry!` defines `rt_kernel_main` with exactly this signature (it type-checks
// the kernel's function against `KernelMain`); a kernel without `entry!` fails to link.
unsafe extern "Rust" {
    safe fn rt_kernel_main(boot: &'static BootInfo) -> !;
}

/// What the arm64 runtime found at boot, beyond the [`BootInfo`].
#[derive(Clone, Copy, Debug)]
pub struct Machine {
    /// The exception level the kernel was entered at (1, or 2 when the runtime dropped to
    /// EL1: then no hypervisor is below the kernel).
    pub entry_el: u64,
    /// The PSCI conduit from the device tree (or the ACPI FADT): `Hvc` means EL2 takes `HVC` (a hypervisor or
    /// firmware emulating one), which SMCCC hypervisor discovery needs.
    pub psci: Option<PsciConduit>,
    /// The GICv3, when the device tree (or the ACPI MADT) has one and it is set up.
    pub gic: Option<GicInfo>,
    /// The virtual timer's interrupt.
    pub virtual_timer: Option<IntId>,
}

static MACHINE: SpinLock<Option<Machine>> = SpinLock::new(None);

/// What the runtime found at boot (`None` before the kernel's main function runs).
pub fn machine() -> Option<Machine> {
    super::cpu::without_interrupts(|| *MACHINE.lock())
}

/// What the runtime sets up besides memory, and where the description came from.
struct Platform {
    psci: Option<PsciConduit>,
    gic: Option<Gic>,
    virtual_timer_intid: Option<u32>,
    /// How the report lines name the source when something is missing.
    source: &'static Source,
}

/// The wording of the boot lines for one source of the platform description.
struct Source {
    /// Why the GIC is not driven when the source describes a [`Gic::V2`].
    gic_v2: &'static str,
    /// Why there is no GIC when the source describes none.
    no_gic: &'static str,
    /// Where the virtual timer interrupt was looked for.
    timer: &'static str,
}

/// The `Image` entry's wording.
#[cfg(not(target_os = "uefi"))]
const DEVICE_TREE: Source = Source {
    gic_v2: "the device tree describes a GICv2",
    no_gic: "no interrupt controller in the device tree",
    timer: "the device tree",
};

/// The UEFI entry's wording.
#[cfg(target_os = "uefi")]
const ACPI: Source = Source {
    gic_v2: "the ACPI MADT describes a GICv2 or a GIC version the runtime does not drive",
    no_gic: "no GIC distributor in the ACPI MADT",
    timer: "the ACPI GTDT",
};

/// Reads the device tree at `dtb` (a physical address in the identity-mapped RAM).
#[cfg(not(target_os = "uefi"))]
fn read_device_tree(dtb: u64) -> Result<(crate::fdt::DeviceTree, usize), crate::fdt::FdtError> {
    use crate::fdt::{self, DeviceTree, Fdt, FdtError};
    let out = FdtError::OutOfBounds {
        what: "blob",
        offset: 0,
    };
    if !dtb.is_multiple_of(8)
        || dtb < mmu::NORMAL_START
        || dtb >= mmu::IDENTITY_MAP_END - fdt::MAX_DTB_SIZE as u64
    {
        return Err(out);
    }
    let base = core::ptr::with_exposed_provenance::<u8>(dtb as usize);
    // SAFETY: `dtb` is 8-byte aligned in identity-mapped RAM with room for the largest blob
    // (checked above). The host wrote the blob before entry and nothing writes it while the
    // kernel runs (one processor; the host does not change guest RAM on its own), so shared
    // byte slices over it are sound.
    let header: &[u8; fdt::FDT_HEADER_SIZE] = unsafe { &*base.cast() };
    let size = fdt::total_size(header)?;
    // SAFETY: as above, for `size` <= MAX_DTB_SIZE bytes.
    let blob = unsafe { core::slice::from_raw_parts(base, size) };
    Ok((DeviceTree::parse(&Fdt::new(blob)?)?, size))
}

/// Sets the machine up and calls the kernel. Called by the `Image` entry code with the
/// device tree's address and the exception level the kernel was entered at.
#[cfg(not(target_os = "uefi"))]
#[unsafe(no_mangle)]
extern "C" fn rt_start_aarch64(dtb: u64, entry_el: u64) -> ! {
    use crate::bootinfo::EntryKind;
    use crate::sync::StaticCell;

    static BOOT_INFO: StaticCell<BootInfo> = StaticCell::new();
    unsafe extern "C" {
        static __kernel_start: u8;
        static __kernel_end: u8;
    }

    // SAFETY: first thing at boot, at EL1 with interrupts masked and the MMU off.
    unsafe { mmu::init() };
    console::init(super::pl011::QEMU_VIRT_PL011);

    let (dt, dtb_size) = match read_device_tree(dtb) {
        Ok(dt) => dt,
        Err(e) => {
            println!("[rt] boot: FAILED (device tree at {dtb:#x}: {e})");
            exit::exit(false)
        }
    };
    exit::set_psci_conduit(dt.psci);
    let boot = BootInfo::from_parts(
        EntryKind::Arm64Image,
        dtb,
        MemoryMapSource::DeviceTree,
        dt.regions(),
        dt.regions_dropped(),
        dt.bootargs(),
    );
    let boot = BOOT_INFO.init(boot).expect("start runs once");
    println!(
        "[rt] boot: {} entry at EL{entry_el}{} (device tree at {dtb:#x}, command line \"{}\"{})",
        boot.entry(),
        if entry_el == 2 {
            ", dropped to EL1"
        } else {
            ""
        },
        boot.cmdline_bytes().escape_ascii(),
        if boot.cmdline_truncated() {
            ", cut"
        } else {
            ""
        },
    );

    let kernel = (
        core::ptr::addr_of!(__kernel_start).addr() as u64,
        core::ptr::addr_of!(__kernel_end).addr() as u64,
    );
    let platform = Platform {
        psci: dt.psci,
        gic: dt.gic,
        virtual_timer_intid: dt.virtual_timer_intid,
        source: &DEVICE_TREE,
    };
    run(
        boot,
        entry_el,
        &platform,
        kernel,
        &[kernel, (dtb, dtb + dtb_size as u64)],
    )
}

/// The UEFI entry, after its hand-over (every exception masked, the runtime's map, vector
/// table and stack in place): sets the machine up with the console and the ACPI platform
/// the entry chose and calls the kernel with the boot information built from the UEFI
/// memory map.
#[cfg(target_os = "uefi")]
pub(crate) fn start_uefi(uefi: &'static crate::uefi_entry::UefiBoot) -> ! {
    console::init_configured(uefi.console.base as usize);
    let arm = uefi.platform.arm();
    exit::set_psci_conduit(arm.psci);
    let boot = match &uefi.boot {
        Ok(boot) => boot,
        Err(e) => {
            println!("[rt] boot: FAILED ({e})");
            exit::exit(false)
        }
    };
    println!(
        "[rt] boot: {} entry at EL1 ({})",
        boot.entry(),
        uefi.firmware
    );
    println!("[rt] console: {}", uefi.console);
    let platform = Platform {
        psci: arm.psci,
        gic: arm.gic,
        virtual_timer_intid: arm.virtual_timer_intid,
        source: &ACPI,
    };
    let rsdp = boot.rsdp().map_or((0, 0), |at| (at, at.saturating_add(36)));
    // RAM below 1 GiB is device memory in the runtime's map: never allocated.
    let below_normal = (0, mmu::NORMAL_START);
    run(
        boot,
        1,
        &platform,
        uefi.image,
        &[below_normal, uefi.image, rsdp],
    )
}

/// What every entry does last: builds the page allocator from the memory map without the
/// `reserved` ranges, sets up the GIC and the timer, prints their lines and calls the
/// kernel, whose image spans `kernel`.
fn run(
    boot: &'static BootInfo,
    entry_el: u64,
    platform: &Platform,
    kernel: (u64, u64),
    reserved: &[(u64, u64)],
) -> ! {
    frames::init(boot, reserved);
    let source = match boot.memory_map_source() {
        MemoryMapSource::Uefi => "map from UEFI",
        _ => "map from the device tree",
    };
    println!(
        "[rt] memory: {source} ({} entries{}, {} MiB RAM, {} KiB kernel, {} pages free)",
        boot.regions().len(),
        if boot.regions_dropped() > 0 {
            " and more dropped"
        } else {
            ""
        },
        boot.ram_bytes() >> 20,
        (kernel.1 - kernel.0) >> 10,
        frames::free_pages(),
    );

    let gic = match platform.gic {
        Some(Gic::V3 {
            distributor,
            redistributors,
        }) => match gic::init(distributor, redistributors) {
            Ok(info) => {
                println!(
                    "[rt] gicv3: enabled (distributor at {:#x}, redistributor at {:#x})",
                    info.distributor, info.redistributor
                );
                Some(info)
            }
            Err(e) => {
                println!("[rt] gicv3: FAILED ({e})");
                exit::exit(false)
            }
        },
        Some(Gic::V2) => {
            println!("[rt] gicv3: unavailable ({})", platform.source.gic_v2);
            None
        }
        None => {
            println!("[rt] gicv3: unavailable ({})", platform.source.no_gic);
            None
        }
    };
    let virtual_timer = platform.virtual_timer_intid.and_then(IntId::new);
    match virtual_timer {
        Some(id) => println!(
            "[rt] timer: enabled (virtual counter at {} Hz, virtual timer interrupt {id})",
            timer::frequency()
        ),
        None => println!(
            "[rt] timer: enabled (virtual counter at {} Hz, no virtual timer interrupt in {})",
            timer::frequency(),
            platform.source.timer
        ),
    }
    let machine = Machine {
        entry_el,
        psci: platform.psci,
        gic,
        virtual_timer,
    };
    super::cpu::without_interrupts(|| *MACHINE.lock() = Some(machine));
    rt_kernel_main(boot)
}
