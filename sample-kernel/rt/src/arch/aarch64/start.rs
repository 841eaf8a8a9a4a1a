//! From the entry point to the kernel's main function: the set-up order and the boot
//! report lines.

use super::gic::{self, GicInfo, IntId};
use super::mmu::{self, IDENTITY_MAP_END};
use super::{exit, timer};
use crate::bootinfo::{BootInfo, EntryKind, MemoryMapSource};
use crate::fdt::{self, DeviceTree, Fdt, FdtError, Gic, PsciConduit};
use crate::sync::{SpinLock, StaticCell};
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

unsafe extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// What the arm64 runtime found at boot, beyond the [`BootInfo`].
#[derive(Clone, Copy, Debug)]
pub struct Machine {
    /// The exception level the kernel was entered at (1, or 2 when the runtime dropped to
    /// EL1: then no hypervisor is below the kernel).
    pub entry_el: u64,
    /// The PSCI conduit from the device tree: `Hvc` means EL2 takes `HVC` (a hypervisor or
    /// firmware emulating one), which SMCCC hypervisor discovery needs.
    pub psci: Option<PsciConduit>,
    /// The GICv3, when the device tree has one and it is set up.
    pub gic: Option<GicInfo>,
    /// The virtual timer's interrupt.
    pub virtual_timer: Option<IntId>,
}

static BOOT_INFO: StaticCell<BootInfo> = StaticCell::new();
static MACHINE: SpinLock<Option<Machine>> = SpinLock::new(None);

/// What the runtime found at boot (`None` before the kernel's main function runs).
pub fn machine() -> Option<Machine> {
    super::cpu::without_interrupts(|| *MACHINE.lock())
}

/// Reads the device tree at `dtb` (a physical address in the identity-mapped RAM).
fn read_device_tree(dtb: u64) -> Result<(DeviceTree, usize), FdtError> {
    let out = FdtError::OutOfBounds {
        what: "blob",
        offset: 0,
    };
    if !dtb.is_multiple_of(8) || dtb < 1 << 30 || dtb >= IDENTITY_MAP_END - fdt::MAX_DTB_SIZE as u64
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

/// Sets the machine up and calls the kernel. Called by the entry code with the device
/// tree's address and the exception level the kernel was entered at.
#[unsafe(no_mangle)]
extern "C" fn rt_start_aarch64(dtb: u64, entry_el: u64) -> ! {
    // SAFETY: first thing at boot, at EL1 with interrupts masked.
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
    frames::init(boot, &[kernel, (dtb, dtb + dtb_size as u64)]);
    println!(
        "[rt] memory: map from the device tree ({} entries{}, {} MiB RAM, {} KiB kernel, {} pages free)",
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

    let gic = match dt.gic {
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
            println!("[rt] gicv3: unavailable (the device tree describes a GICv2)");
            None
        }
        None => {
            println!("[rt] gicv3: unavailable (no interrupt controller in the device tree)");
            None
        }
    };
    let virtual_timer = dt.virtual_timer_intid.and_then(IntId::new);
    match virtual_timer {
        Some(id) => println!(
            "[rt] timer: enabled (virtual counter at {} Hz, virtual timer interrupt {id})",
            timer::frequency()
        ),
        None => println!(
            "[rt] timer: enabled (virtual counter at {} Hz, no virtual timer interrupt in the \
             device tree)",
            timer::frequency()
        ),
    }
    let machine = Machine {
        entry_el,
        psci: dt.psci,
        gic,
        virtual_timer,
    };
    super::cpu::without_interrupts(|| *MACHINE.lock() = Some(machine));
    rt_kernel_main(boot)
}
