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

/// The address of the console UART: an I/O port on x86_64.
#[cfg(target_arch = "x86_64")]
pub(crate) type ConsoleAddress = u16;

/// An atomic holding a [`ConsoleAddress`].
#[cfg(target_arch = "x86_64")]
pub(crate) type ConsoleAddressCell = core::sync::atomic::AtomicU16;

/// The console UART until the boot code says otherwise: COM1.
#[cfg(target_arch = "x86_64")]
pub(crate) const CONSOLE_DEFAULT: ConsoleAddress = self::x86_64::serial::COM1;

/// The address of the console UART: an MMIO base on aarch64.
#[cfg(target_arch = "aarch64")]
pub(crate) type ConsoleAddress = usize;

/// An atomic holding a [`ConsoleAddress`].
#[cfg(target_arch = "aarch64")]
pub(crate) type ConsoleAddressCell = core::sync::atomic::AtomicUsize;

/// The console UART: the PL011 of QEMU `virt`.
#[cfg(target_arch = "aarch64")]
pub(crate) const CONSOLE_DEFAULT: ConsoleAddress = self::aarch64::pl011::QEMU_VIRT_PL011;
