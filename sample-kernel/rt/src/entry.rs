//! From the entry points to the kernel's main function: the set-up order and the boot
//! report lines.

use crate::arch::x86_64::{apic, cpu, exit::exit, gdt, idt, paging, pic};
use crate::bootinfo::{BootInfo, EntryKind, MemoryMapSource, PhysMemory, Unreadable};
use crate::sync::StaticCell;
use crate::{console, frames, println};

/// The type of a kernel's main function (see [`entry!`](crate::entry)).
pub type KernelMain = fn(&'static BootInfo) -> !;

// SAFETY: `entry!` defines `rt_kernel_main` with exactly this signature (it type-checks
// the kernel's function against `KernelMain`); a kernel without `entry!` fails to link.
unsafe extern "Rust" {
    safe fn rt_kernel_main(boot: &'static BootInfo) -> !;
}

/// Physical memory as the boot information parser reads it: the runtime's identity map
/// (page 0 still mapped).
struct IdentityMemory;

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

static BOOT_INFO: StaticCell<BootInfo> = StaticCell::new();

unsafe extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// Sets the machine up and calls the kernel.
pub(crate) fn start(start_info: u64, entry: EntryKind) -> ! {
    let page_zero = paging::init();
    cpu::enable_sse();
    console::init();
    gdt::init();
    idt::init();
    pic::disable();

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
    frames::init(boot, &[(0, 1 << 20), kernel]);
    let source = match boot.memory_map_source() {
        MemoryMapSource::StartInfo => "map from hvm_start_info",
        MemoryMapSource::AssumedNoStartInfo => "assumed, no hvm_start_info",
        MemoryMapSource::AssumedVersion0 => "assumed, hvm_start_info version 0",
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
