//! Starting one application processor (AP): finding it in the ACPI MADT, its per-CPU
//! state, and the two ways to start it.
//!
//! The runtime supports one AP besides the boot processor. [`prepare`] gives it a stack
//! from the page allocator ([`AP_STACK_PAGES`] pages) and records the kernel function it
//! runs; the AP then shares the boot processor's page tables, GDT and IDT and has its own
//! TSS (its own double-fault stack) and local APIC. It can be started
//!
//! * by a hypervisor call that sets its registers directly (Hyper-V's
//!   `HvCallStartVirtualProcessor`): the caller builds a 64-bit context with RIP
//!   [`Ap::entry`], RSP from [`Ap::stack_top`] and this processor's CR3, GDT and IDT; or
//! * architecturally, with INIT and a start-up IPI ([`Ap::start_with_init_sipi`]): the AP
//!   begins in real mode on a page below 1 MiB ([`BootInfo::ap_start_page`]), to which the
//!   runtime copies a trampoline that loads a temporary GDT, enters protected mode, turns on
//!   PAE, long mode and paging with this processor's CR3 and jumps to the same entry.
//!
//! The entry loads the GDT, the AP's TSS and the IDT, enables SSE and the AP's x2APIC, marks
//! the AP online and calls the kernel's function, which never returns. The AP prints
//! nothing: the console belongs to the boot processor.
//!
//! No delay follows INIT: the 10 ms of the MultiProcessor Specification are for physical
//! processors; hypervisors (Hyper-V, KVM, `hv-sim`) take INIT and SIPI at once. A second
//! start-up IPI is sent when the AP is not online after [`ONLINE_POLLS`] polls.

use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::registers::control::Cr3;

use super::{apic, cpu, gdt, idt};
use crate::acpi::{AcpiError, Madt};
use crate::bootinfo::BootInfo;
use crate::entry::IdentityMemory;
use crate::frames::{AllocError, alloc_pages_forever};
use crate::sync::SpinLock;

/// Pages of the AP's stack (64 KiB).
pub const AP_STACK_PAGES: usize = 16;

/// How often [`Ap::wait_online`] polls after each start-up IPI.
pub const ONLINE_POLLS: u64 = 10_000_000;

/// The kernel function an AP runs.
pub type ApMain = fn() -> !;

/// Why the AP could not be found or started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmpError {
    /// The boot information has no ACPI root pointer.
    NoAcpi,
    /// The ACPI tables are broken.
    Acpi(AcpiError),
    /// The ACPI tables have no MADT.
    NoMadt,
    /// The processor has no x2APIC, which the runtime needs to send IPIs.
    NoX2Apic,
    /// An AP was prepared already; the runtime supports one.
    AlreadyPrepared,
    /// No stack for the AP.
    Alloc(AllocError),
    /// The memory map has no free page below 1 MiB for the start-up code.
    NoStartPage,
    /// The AP did not come online after two start-up IPIs.
    NotOnline,
}

impl core::fmt::Display for SmpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoAcpi => f.write_str("no ACPI tables (no RSDP)"),
            Self::Acpi(e) => write!(f, "ACPI: {e}"),
            Self::NoMadt => f.write_str("the ACPI tables have no MADT"),
            Self::NoX2Apic => f.write_str("no x2APIC to send IPIs with"),
            Self::AlreadyPrepared => f.write_str("an application processor was prepared already"),
            Self::Alloc(e) => write!(f, "no stack for the application processor: {e}"),
            Self::NoStartPage => f.write_str("no free RAM page below 1 MiB for the start-up code"),
            Self::NotOnline => {
                f.write_str("the application processor did not come online after INIT-SIPI-SIPI")
            }
        }
    }
}

impl core::error::Error for SmpError {}

impl From<AcpiError> for SmpError {
    fn from(e: AcpiError) -> Self {
        Self::Acpi(e)
    }
}

/// The APIC id of the first processor the MADT lists, other than this one, that is enabled
/// or can be brought online; `None` when there is none.
///
/// # Errors
///
/// [`SmpError::NoAcpi`], [`SmpError::NoMadt`], [`SmpError::Acpi`], [`SmpError::NoX2Apic`].
pub fn find_ap(boot: &BootInfo) -> Result<Option<u32>, SmpError> {
    let own = apic::id().map_err(|_| SmpError::NoX2Apic)?;
    let rsdp = boot.rsdp().ok_or(SmpError::NoAcpi)?;
    let madt = Madt::find(&IdentityMemory, rsdp)?.ok_or(SmpError::NoMadt)?;
    for cpu in madt.processors(&IdentityMemory) {
        let cpu = cpu?;
        if cpu.apic_id != own && (cpu.enabled || cpu.online_capable) {
            return Ok(Some(cpu.apic_id));
        }
    }
    Ok(None)
}

/// Set once an AP has been prepared.
static PREPARED: AtomicBool = AtomicBool::new(false);
/// Set by the AP once it runs the kernel's function.
static ONLINE: AtomicBool = AtomicBool::new(false);
/// The kernel's function for the AP.
static MAIN: SpinLock<Option<ApMain>> = SpinLock::new(None);

/// The prepared AP.
#[derive(Debug)]
pub struct Ap {
    apic_id: u32,
    stack_top: u64,
}

/// Prepares the AP with x2APIC id `apic_id` to run `main`: allocates its stack. Once.
///
/// # Errors
///
/// [`SmpError::AlreadyPrepared`], [`SmpError::Alloc`].
pub fn prepare(apic_id: u32, main: ApMain) -> Result<Ap, SmpError> {
    if PREPARED.swap(true, Ordering::AcqRel) {
        return Err(SmpError::AlreadyPrepared);
    }
    let stack = alloc_pages_forever(AP_STACK_PAGES).map_err(SmpError::Alloc)?;
    let stack_top = stack.as_ptr_range().end.addr() as u64;
    *MAIN.lock() = Some(main);
    Ok(Ap { apic_id, stack_top })
}

impl Ap {
    /// The AP's x2APIC id.
    pub const fn apic_id(&self) -> u32 {
        self.apic_id
    }

    /// Where the AP starts in 64-bit mode: the runtime's AP entry, a function called with
    /// an empty stack (RSP = [`Ap::stack_top`] − 8, 16-byte aligned plus a return address
    /// slot, as after a CALL), interrupts off, in this processor's address space and GDT.
    pub fn entry(&self) -> u64 {
        entry_address()
    }

    /// One past the top of the AP's stack (16-byte aligned).
    pub const fn stack_top(&self) -> u64 {
        self.stack_top
    }

    /// Whether the AP runs the kernel's function.
    pub fn online(&self) -> bool {
        ONLINE.load(Ordering::Acquire)
    }

    /// Polls up to `polls` times for the AP to come online.
    pub fn wait_online(&self, polls: u64) -> bool {
        for _ in 0..polls {
            if self.online() {
                return true;
            }
            core::hint::spin_loop();
        }
        self.online()
    }

    /// Starts the AP with INIT and start-up IPIs (see the module docs) and waits for it.
    ///
    /// # Errors
    ///
    /// [`SmpError::NoStartPage`], [`SmpError::NoX2Apic`], [`SmpError::NotOnline`].
    pub fn start_with_init_sipi(&self, boot: &BootInfo) -> Result<(), SmpError> {
        let page = boot.ap_start_page().ok_or(SmpError::NoStartPage)?;
        copy_trampoline(page, self.stack_top);
        // The page is below 1 MiB (`ap_start_page`), so its number fits the vector.
        let vector = (page >> 12) as u8;
        apic::send_init(self.apic_id).map_err(|_| SmpError::NoX2Apic)?;
        for _ in 0..2 {
            apic::send_startup(self.apic_id, vector).map_err(|_| SmpError::NoX2Apic)?;
            if self.wait_online(ONLINE_POLLS) {
                return Ok(());
            }
        }
        Err(SmpError::NotOnline)
    }
}

/// Copies the trampoline to `page` and fills in its data: CR3, the stack, the entry.
fn copy_trampoline(page: u64, stack_top: u64) {
    unsafe extern "C" {
        static rt_ap_trampoline_start: u8;
        static rt_ap_trampoline_data: u8;
        static rt_ap_trampoline_end: u8;
    }
    let start = core::ptr::addr_of!(rt_ap_trampoline_start);
    let data = core::ptr::addr_of!(rt_ap_trampoline_data).addr() - start.addr();
    let len = core::ptr::addr_of!(rt_ap_trampoline_end).addr() - start.addr();
    // SAFETY: the assembler places `len` bytes of trampoline between the two symbols in
    // the kernel image's read-only data, which nothing writes.
    let code = unsafe { core::slice::from_raw_parts(start, len) };
    let dst = core::ptr::with_exposed_provenance_mut::<[u8; 0x1000]>(page as usize);
    // SAFETY: `page` is a whole RAM page below 1 MiB that the memory map gives to no one
    // else and the page allocator never hands out (it keeps below 1 MiB to itself); the
    // runtime's identity map covers it, and only this function writes it, once.
    let copy = unsafe { &mut *dst };
    assert!(len <= copy.len(), "the AP trampoline fits a page");
    copy[..len].copy_from_slice(code);
    let cr3 = Cr3::read_raw().0.start_address().as_u64();
    for (i, word) in [cr3, stack_top, entry_address()].into_iter().enumerate() {
        copy[data + 8 * i..data + 8 * i + 8].copy_from_slice(&word.to_le_bytes());
    }
    // The AP reads the copy after the start-up IPI; a write to the x2APIC ICR is not
    // serializing (Intel SDM vol. 3, 10.12.3), so order the copy before it.
    core::sync::atomic::fence(Ordering::SeqCst);
}

/// The address of [`rt_ap_start`].
fn entry_address() -> u64 {
    (rt_ap_start as *const ()).addr() as u64
}

/// The AP's first Rust code, in 64-bit mode on its own stack.
extern "sysv64" fn rt_ap_start() -> ! {
    gdt::init_ap();
    idt::init_ap();
    cpu::enable_sse();
    let _ = apic::init();
    let main = *MAIN.lock();
    ONLINE.store(true, Ordering::Release);
    match main {
        Some(main) => main(),
        None => super::exit::halt_forever(),
    }
}

// The real-mode trampoline, copied to a page below 1 MiB. It runs from that copy, so it
// addresses itself relative to its start: in real mode through DS = CS, later through
// EBX = its linear address; the far pointers and the GDT base are relocated by the
// trampoline itself before use. The data words are filled in by `copy_trampoline`.
core::arch::global_asm!(
    r#"
    .section .rodata.rt_ap_trampoline, "a"
    .balign 16
    .global rt_ap_trampoline_start
    .global rt_ap_trampoline_data
    .global rt_ap_trampoline_end
rt_ap_trampoline_start:
    .code16
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    xorl %ebx, %ebx
    movw %ax, %bx
    shll $4, %ebx
    addl %ebx, (3f - rt_ap_trampoline_start + 2)
    addl %ebx, (4f - rt_ap_trampoline_start)
    addl %ebx, (5f - rt_ap_trampoline_start)
    lgdtl (3f - rt_ap_trampoline_start)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl *(4f - rt_ap_trampoline_start)

    .code32
1:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $0x620, %eax
    movl %eax, %cr4
    movl (rt_ap_trampoline_data - rt_ap_trampoline_start)(%ebx), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    andl $0xFFFFFFFB, %eax
    orl $0x80010022, %eax
    movl %eax, %cr0
    ljmpl *(5f - rt_ap_trampoline_start)(%ebx)

    .code64
2:
    movl %ebx, %ebx
    movq (rt_ap_trampoline_data - rt_ap_trampoline_start + 8)(%rbx), %rsp
    movq (rt_ap_trampoline_data - rt_ap_trampoline_start + 16)(%rbx), %rax
    callq *%rax
    ud2

    .balign 8
6:
    .quad 0
    .quad 0x00CF9A000000FFFF
    .quad 0x00CF92000000FFFF
    .quad 0x00AF9A000000FFFF
3:
    .word 3b - 6b - 1
    .long 6b - rt_ap_trampoline_start
4:
    .long 1b - rt_ap_trampoline_start
    .word 0x08
5:
    .long 2b - rt_ap_trampoline_start
    .word 0x18
    .balign 8
rt_ap_trampoline_data:
    .quad 0
    .quad 0
    .quad 0
rt_ap_trampoline_end:
    .code64
    "#,
    options(att_syntax)
);
