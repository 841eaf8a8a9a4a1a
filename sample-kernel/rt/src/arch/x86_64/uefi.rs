//! The x86_64 half of the UEFI entry (`crate::uefi_entry`): the console UART, the
//! address range of the image, and the switch from the firmware's stack to the runtime's.

use super::paging;
use super::serial::Serial;
use crate::sync::StaticCell;
use crate::uart::{SpcrLookup, Uart16550Choice};
use crate::uefi_entry::UefiBoot;

/// The console the UEFI entry chooses on x86_64: a 16550 in I/O port space.
pub(crate) type Console = Uart16550Choice;

/// The EFI image must lie in this range: the runtime's identity map (which replaces the
/// firmware's page tables) covers nothing above it.
pub(crate) const IMAGE_RANGE: (u64, u64) = (0, paging::IDENTITY_MAP_END);

/// Physical memory while boot services run: the firmware identity-maps at least the first
/// 4 GiB, which is what [`IdentityMemory`](crate::entry::IdentityMemory) reads.
pub(crate) use crate::entry::IdentityMemory as FirmwareMemory;

/// Size of the runtime's stack, which the kernel's main function runs on (as large as the
/// PVH entry's).
const STACK_SIZE: usize = 256 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

static STACK: StaticCell<Stack> = StaticCell::new();

/// Chooses the console UART from what the SPCR lookup found ([`Uart16550Choice`]), and says
/// whether a UART answers at its port (see [`Serial::answers`]).
pub(crate) fn choose_console(lookup: SpcrLookup) -> (Console, bool) {
    let choice = Uart16550Choice::from_spcr(lookup);
    let answers = Serial::at(choice.port).answers();
    (choice, answers)
}

/// Why the runtime cannot take the processor over from the firmware, if it cannot: the
/// runtime builds 4-level page tables, which a processor in 5-level paging (CR4.LA57, which
/// can change only while paging is off) would misread.
pub(crate) fn unsupported_processor_state() -> Option<&'static str> {
    x86_64::registers::control::Cr4::read()
        .contains(x86_64::registers::control::Cr4Flags::L5_PAGING)
        .then_some(
            "the firmware runs with 5-level paging (CR4.LA57) and the runtime builds 4-level \
             page tables",
        )
}

/// Disables interrupts: once boot services are gone, the firmware's interrupt handlers
/// must not run, and the runtime's IDT is not loaded yet.
pub(crate) fn disable_interrupts() {
    x86_64::instructions::interrupts::disable();
}

/// Leaves the firmware's stack (boot services data, which the page allocator hands out)
/// for the runtime's own, in the image's `.bss`, and continues in
/// [`crate::entry::start_uefi`].
///
/// # Panics
///
/// If called twice.
pub(crate) fn enter(boot: &'static UefiBoot) -> ! {
    // SAFETY: a stack of zero bytes is a valid byte array.
    let stack = unsafe { STACK.init_zeroed() }.expect("the UEFI entry runs once");
    let top = stack.0.as_mut_ptr_range().end;
    // SAFETY: `top` is the 16-byte aligned end of a 256 KiB stack that nothing else uses
    // ('static, claimed once above); `rt_uefi_start` takes the boot information in RDI
    // (System V) and never returns, so nothing on the firmware's stack is used again.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "call {start}",
            "ud2",
            top = in(reg) top,
            start = sym rt_uefi_start,
            in("rdi") boot,
            options(noreturn),
        )
    }
}

/// The first function on the runtime's stack.
extern "sysv64" fn rt_uefi_start(boot: &'static UefiBoot) -> ! {
    crate::entry::start_uefi(boot)
}
