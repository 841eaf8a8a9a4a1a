//! From the entry points to the kernel's main function: the set-up order and the boot
//! report lines.
//!
//! [`start`] continues the PVH and 64-bit entries, [`start_uefi`] the UEFI entry once it
//! has left the firmware; both set the machine up the same way ([`init_machine`]) and end
//! in the same [`run`].

use crate::arch::x86_64::{apic, cpu, exit::exit, gdt, idt, paging, pic};
use crate::bootinfo::{BootInfo, MemoryMapSource, PhysMemory, Unreadable};
use crate::{console, frames, println};

/// The type of a kernel's main function (see [`entry!`](crate::entry)).
pub type KernelMain = fn(&'static BootInfo) -> !;

// SAFETY: `entry!` defines `rt_kernel_main` with exactly this signature (it type-checks
// the kernel's function against `KernelMain`); a kernel without `entry!` fails to link.
unsafe extern "Rust" {
    safe fn rt_kernel_main(boot: &'static BootInfo) -> !;
}

/// Physical memory as the boot information and ACPI parsers read it: the runtime's
/// identity map (page 0 still mapped), or the firmware's, which identity-maps at least as
/// much, before the UEFI entry leaves it.
pub(crate) struct IdentityMemory;

impl PhysMemory for IdentityMemory {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), Unreadable> {
        let end = paddr.checked_add(buf.len() as u64).ok_or(Unreadable)?;
        if end > paging::IDENTITY_MAP_END {
            return Err(Unreadable);
        }
        for (i, byte) in buf.iter_mut().enumerate() {
            let ptr = core::ptr::with_exposed_provenance::<u8>(paddr as usize + i);
            // SAFETY: the address is identity-mapped (checked above against the map's
            // bounds); a volatile byte read of memory the host may have written cannot tear
            // or be assumed stable.
            *byte = unsafe { ptr.read_volatile() };
        }
        Ok(())
    }
}

/// Switches to the runtime's page tables, enables SSE, sets the console up on the 16550
/// at I/O port `serial_port`, loads the GDT and IDT and masks the legacy PICs. Returns the
/// mapping of page 0, to be unmapped once the boot information has been read.
fn init_machine(serial_port: u16) -> paging::PageZero {
    let page_zero = paging::init();
    cpu::enable_sse();
    console::init(serial_port);
    gdt::init();
    idt::init();
    pic::disable();
    page_zero
}

/// The PVH and 64-bit entries: sets the machine up, reads the `hvm_start_info` and calls
/// the kernel.
#[cfg(not(target_os = "uefi"))]
pub(crate) fn start(start_info: u64, entry: crate::bootinfo::EntryKind) -> ! {
    static BOOT_INFO: crate::sync::StaticCell<BootInfo> = crate::sync::StaticCell::new();
    unsafe extern "C" {
        static __kernel_start: u8;
        static __kernel_end: u8;
    }

    let page_zero = init_machine(crate::arch::x86_64::serial::COM1);
    let parsed = BootInfo::parse(&IdentityMemory, entry, start_info);
    page_zero.unmap();
    let boot = match parsed {
        Ok(boot) => BOOT_INFO.init(boot).expect("start runs once"),
        Err(e) => {
            println!("[rt] boot: FAILED ({e})");
            exit(false)
        }
    };
    println!(
        "[rt] boot: {} entry (hvm_start_info at {:#x}, command line \"{}\"{})",
        boot.entry(),
        boot.start_info(),
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
    run(boot, kernel, &[(0, 1 << 20), kernel])
}

/// The UEFI entry, after ExitBootServices, on the runtime's stack: sets the machine up with
/// the console the entry chose and calls the kernel with the boot information built from
/// the UEFI memory map.
#[cfg(target_os = "uefi")]
pub(crate) fn start_uefi(uefi: &'static crate::uefi_entry::UefiBoot) -> ! {
    let page_zero = init_machine(uefi.console.port);
    page_zero.unmap();
    let boot = match &uefi.boot {
        Ok(boot) => boot,
        Err(e) => {
            println!("[rt] boot: FAILED ({e})");
            exit(false)
        }
    };
    println!("[rt] boot: {} entry ({})", boot.entry(), uefi.firmware);
    println!("[rt] console: {}", uefi.console);
    let rsdp = boot.rsdp().map_or((0, 0), |at| (at, at.saturating_add(36)));
    run(boot, uefi.image, &[(0, 1 << 20), uefi.image, rsdp])
}

/// What every entry does last: builds the page allocator from the memory map without the
/// `reserved` ranges, prints the memory and x2APIC lines and calls the kernel, whose image
/// spans `kernel`.
fn run(boot: &'static BootInfo, kernel: (u64, u64), reserved: &[(u64, u64)]) -> ! {
    frames::init(boot, reserved);
    let source = match boot.memory_map_source() {
        MemoryMapSource::StartInfo => "map from hvm_start_info",
        MemoryMapSource::AssumedNoStartInfo => "assumed, no hvm_start_info",
        MemoryMapSource::AssumedVersion0 => "assumed, hvm_start_info version 0",
        MemoryMapSource::Uefi => "map from UEFI",
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

    match apic::init() {
        apic::ApicState::X2Apic { id } => println!("[rt] x2apic: enabled (apic id {id})"),
        apic::ApicState::Absent => println!("[rt] x2apic: absent (CPUID.1:ECX[21] clear)"),
    }
    rt_kernel_main(boot)
}
