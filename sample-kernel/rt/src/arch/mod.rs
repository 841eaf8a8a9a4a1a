//! Everything that executes privileged instructions, one module per architecture.
//!
//! The portable modules (console, panic handler, page allocator) reach the architecture only
//! through the few names re-exported here.

#[cfg(target_arch = "x86_64")]
pub mod x86_64;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;

#[cfg(target_arch = "x86_64")]
pub(crate) use self::x86_64::{exit, paging::IDENTITY_MAP_END, serial::Serial as ConsoleUart};
#[cfg(target_arch = "x86_64")]
pub(crate) use ::x86_64::instructions::interrupts::without_interrupts;

#[cfg(target_arch = "aarch64")]
pub(crate) use self::aarch64::{
    cpu::without_interrupts, exit, mmu::IDENTITY_MAP_END, pl011::Pl011 as ConsoleUart,
};

/// The console UART (x86_64: COM1).
#[cfg(target_arch = "x86_64")]
pub(crate) const fn console_uart() -> ConsoleUart {
    ConsoleUart::com1()
}

/// The console UART (aarch64: the PL011 of QEMU `virt`).
#[cfg(target_arch = "aarch64")]
pub(crate) const fn console_uart() -> ConsoleUart {
    ConsoleUart::qemu_virt()
}
